/**
 * A test bridge ({@link startTestBridge}) in a child process of its own, for benches that time the bridge while their
 * own clients load the parent's event loop: the parent's requests, answers and XMPP parsing no longer share the
 * bridge's Node thread, as Jicofo's do not in a deployment.
 *
 * The child reports over the IPC channel: `ready` once started; when asked with `mark`, the stretch since the last
 * mark: the bridge process's user + system CPU (µs) and each colibri2 IQ's bridge time (ms, parse to serialise, as
 * `BreweryConnection` measures it; kept in the child, so that reporting them costs the bridge nothing meanwhile).
 * `stop` closes the bridge and ends the child. With `BENCH_BRIDGE_PROFILE_DIR` set, the child also writes a V8 CPU
 * profile of each stretch between marks there (`bridge-<n>.cpuprofile`, 50 µs sampling), to show where the bridge's
 * time between two marks went.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestBridge } from './bridge.ts';

type ToChild = { type: 'mark' } | { type: 'stop' };
/** The bridge since the previous mark (or its start). */
export interface Stretch {
  /** The bridge process's CPU time, µs (user + system). */
  cpuUs: number;
  /** The bridge time of each colibri2 IQ answered, ms. */
  colibri2Ms: number[];
}
type FromChild = { type: 'ready' } | ({ type: 'stretch' } & Stretch);

/** The parent's handle on the child bridge. */
export interface ChildBridge {
  /** End the current stretch and start the next. */
  mark(): Promise<Stretch>;
  /** Close the bridge and wait for the child to exit. */
  close(): Promise<void>;
}

/**
 * Start the child bridge with `env` (as {@link startTestBridge} takes it); resolves when it is in service.
 * @throws Error when the child exits before it is ready.
 */
export function startChildBridge(env: Record<string, string>): Promise<ChildBridge> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, OCTOBRIDGE_CHILD_BRIDGE_ENV: JSON.stringify(env) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let waiter: ((s: Stretch) => void) | undefined;
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`bench bridge exited (${code ?? signal}) before it was ready`)));
    child.on('message', (m: FromChild) => {
      if (m.type === 'stretch') waiter?.({ cpuUs: m.cpuUs, colibri2Ms: m.colibri2Ms });
      else if (m.type === 'ready')
        resolve({
          mark: () =>
            new Promise((r) => {
              waiter = r;
              child.send({ type: 'mark' } satisfies ToChild);
            }),
          close: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.send({ type: 'stop' } satisfies ToChild);
            }),
        });
    });
  });
}

if (process.env.OCTOBRIDGE_CHILD_BRIDGE_ENV !== undefined && process.send) {
  const send = (m: FromChild): void => void process.send?.(m);
  const bridge = await startTestBridge(JSON.parse(process.env.OCTOBRIDGE_CHILD_BRIDGE_ENV) as Record<string, string>);
  let colibri2Ms: number[] = [];
  for (const x of bridge.xmpp) x.on('conferenceModify', (ms: number) => colibri2Ms.push(ms));
  const profileDir = process.env.BENCH_BRIDGE_PROFILE_DIR;
  const profiler = profileDir ? new Session() : undefined;
  let profiles = 0;
  const profileStretch = async (): Promise<void> => {
    if (!profiler || !profileDir) return;
    if (profiles > 0) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.mkdirSync(profileDir, { recursive: true });
      fs.writeFileSync(path.join(profileDir, `bridge-${profiles}.cpuprofile`), JSON.stringify(profile));
    }
    profiles += 1;
    await profiler.post('Profiler.start');
  };
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 50 });
    await profileStretch();
  }
  let last = process.cpuUsage();
  process.on('message', async (m: ToChild) => {
    if (m.type === 'mark') {
      const cpu = process.cpuUsage(last);
      const stretch: Stretch = { cpuUs: cpu.user + cpu.system, colibri2Ms };
      colibri2Ms = [];
      await profileStretch();
      last = process.cpuUsage();
      send({ type: 'stretch', ...stretch });
    } else if (m.type === 'stop') {
      void bridge.close().finally(() => process.exit(0));
    }
  });
  send({ type: 'ready' });
}
