/**
 * The raw mediasoup target of `--raw`: rawSfu.ts started as its own child process (`node
 * bench/torture/rawSfu.ts`), on loopback with a free port parsed from its "raw started" line, its
 * output appended to a log file in the results folder. Its Node process and mediasoup workers (its
 * children) are measured from /proc as octobridge's are (bridge.ts); it has no statistics to poll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { capped, mediasoupWorkers, stopChild, type ServerUnderTest } from '../lib/bridgeProcess.ts';
import type { CpuCap } from '../lib/cpuCap.ts';

const SFU = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rawSfu.ts');

/**
 * Start the raw SFU with `workers` mediasoup workers (default: one per core), logging to
 * `logFile`, inside `cap` (its Node process and workers) when there is one. Resolves once it listens.
 * @throws Error when it exits or does not start within `timeoutMs` (the log file has why).
 */
export async function startRawServer(
  logFile: string,
  workers?: number,
  { timeoutMs = 30_000, cap }: { timeoutMs?: number; cap?: CpuCap } = {},
): Promise<ServerUnderTest> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const run = capped(cap, process.execPath, [SFU]);
  const child: ChildProcess = spawn(run.cmd, run.args, {
    env: { ...process.env, ...(workers ? { RAW_WORKERS: String(workers) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`raw SFU did not start within ${timeoutMs} ms (see ${logFile})`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`raw SFU exited with ${code} at start (see ${logFile})`));
    });
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('raw started')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  const pid = child.pid as number;
  return {
    name: 'raw',
    clientUrl: `ws://127.0.0.1:${port}/`,
    localAddress: '127.0.0.1',
    processes: () => [{ name: 'node', pid }, ...mediasoupWorkers(pid).map((w, i) => ({ name: `worker${i}`, pid: w }))],
    stats: async () => undefined,
    close: () => stopChild(child, log),
  };
}
