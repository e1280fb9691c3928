/**
 * A full garbage collection in the bridge child process before the soak benchmark reads its heap:
 * the child runs with the inspector on a free loopback port (`--inspect=127.0.0.1:0`, which prints
 * "Debugger listening on ws://…" to stderr, i.e. the bridge log) and the benchmark sends the Chrome
 * DevTools Protocol's `HeapProfiler.collectGarbage` over that WebSocket. Without it the heap in use
 * is wherever V8's last collection left it.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The child's Node option that turns the inspector on (append to NODE_OPTIONS). */
export const INSPECT_OPTION = '--inspect=127.0.0.1:0';

/**
 * The inspector's WebSocket URL from the bridge log (waits up to `timeoutMs`).
 * @throws Error when the log does not name one in time.
 */
export async function inspectorUrl(logFile: string, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
    if (m?.[1]) return m[1];
    if (Date.now() > end) throw new Error(`no inspector URL in ${logFile}`);
    await sleep(100);
  }
}

/**
 * Ask the process behind `url` for a full garbage collection and wait until it is done.
 * @throws Error when the inspector does not answer within `timeoutMs`.
 */
export async function collectGarbage(url: string, timeoutMs = 10_000): Promise<void> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the inspector did not answer HeapProfiler.collectGarbage')), timeoutMs);
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`inspector ${url}: WebSocket error`));
      };
      ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
      ws.onmessage = (e) => {
        if ((JSON.parse(String(e.data)) as { id?: number }).id !== 1) return;
        clearTimeout(timer);
        resolve();
      };
    });
  } finally {
    ws.close();
  }
}
