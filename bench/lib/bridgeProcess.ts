/**
 * The server under test: a standalone octobridge the harness starts as its own child process
 * (`node src/main.ts`, exactly what `npm start` runs), or one already running at a URL. The child
 * listens on loopback with free ports (parsed from its "octobridge started" log line), logs to a
 * file in the results folder, and its Node process and mediasoup workers (its children) are
 * measured from /proc; its private REST server gives `/colibri/stats`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { childrenOf, commandOf } from './measure.ts';
import type { CpuCap } from './cpuCap.ts';

/** A server to torture, as the sampler and the clients see it (octobridge; Janus: janusServer.ts; raw mediasoup: rawServer.ts). */
export interface ServerUnderTest {
  readonly name: 'octobridge' | 'janus' | 'raw';
  /** Where the light clients connect: the focus WebSocket base, the Janus HTTP API, or the raw SFU's WebSocket base. */
  readonly clientUrl: string;
  /** The address light clients use for ICE (127.0.0.1, or the host side of Janus's veth). */
  readonly localAddress: string;
  /** Its processes now, named (`node`, `worker0`, `worker1` ...; `janus`); empty when not local. */
  processes(): { name: string; pid: number }[];
  /** Its statistics (`/colibri/stats`), or undefined. */
  stats(): Promise<Record<string, unknown> | undefined>;
  /** Stop it if the harness started it. */
  close(): Promise<void>;
}

/** A bridge to torture. */
export interface BridgeUnderTest extends ServerUnderTest {
  readonly name: 'octobridge';
  /** Page base URL, `http://host:port`. */
  readonly publicUrl: string;
  /** Focus WebSocket base, `ws://host:port/focus/` (the room name follows). */
  readonly focusBase: string;
  /** `/colibri/stats` URL, when known. */
  readonly statsUrl: string | undefined;
  /** Its private server, `http://host:port` (colibri2 REST, debug routes), when known. */
  readonly privateUrl: string | undefined;
  /** The bridge's Node process, when known (local child or `--bridge-pid`). */
  readonly pid: number | undefined;
  /** Its mediasoup worker processes now (they change when one dies and is replaced). */
  workerPids(): number[];
}

/** The bridge's Node process and its workers, named for the reports. */
function bridgeProcesses(pid: number | undefined): { name: string; pid: number }[] {
  if (!pid) return [];
  return [{ name: 'node', pid }, ...mediasoupWorkers(pid).map((w, i) => ({ name: `worker${i}`, pid: w }))];
}

/**
 * Stop a server child process now: SIGINT (SIGTERM is octobridge's graceful shutdown, which waits for the calls to
 * end), SIGKILL after 5 s if it has not exited, then close its log stream. Resolves when it has exited (at once if
 * it already had).
 */
export async function stopChild(child: ChildProcess, log: { end(): unknown }): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  log.end();
}

/** The mediasoup workers among `pid`'s children (`comm` is cut to 15 characters). */
export function mediasoupWorkers(pid: number): number[] {
  return childrenOf(pid)
    .filter((c) => commandOf(c).startsWith('mediasoup-worke'))
    .sort((a, b) => a - b);
}

async function fetchStats(url: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (!url) return undefined;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(800) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `cmd args`, inside `cap` when there is one. */
export function capped(cap: CpuCap | undefined, cmd: string, args: string[]): { cmd: string; args: string[] } {
  return cap ? cap.command(cmd, args) : { cmd, args };
}

/**
 * Start `node src/main.ts` with the standalone page on loopback and free ports, XMPP off, its
 * output (JSON logs at `info`) appended to `logFile`, with the joins-per-address limit off (every participant
 * comes from loopback) and the debug routes on (fault injection). `env`: more bridge settings (e.g.
 * `OCTOBRIDGE_WORKERS`). `cap`: run it (its Node process and workers) inside that CPU cap.
 * Resolves once it logged "octobridge started".
 * @throws Error when it exits or does not start within `timeoutMs` (the log file has why).
 */
export async function startBridgeProcess(
  logFile: string,
  env: Record<string, string> = {},
  { timeoutMs = 30_000, cap }: { timeoutMs?: number; cap?: CpuCap } = {},
): Promise<BridgeUnderTest> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const run = capped(cap, process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts')]);
  const child: ChildProcess = spawn(run.cmd, run.args, {
    env: {
      ...process.env,
      OCTOBRIDGE_PUBLIC_HOST: '127.0.0.1',
      OCTOBRIDGE_PUBLIC_PORT: '0',
      OCTOBRIDGE_PRIVATE_PORT: '0',
      OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
      JVB_PORT: '0',
      JVB_DISABLE_XMPP: '1',
      LOG_LEVEL: 'info',
      // The harness's participants all come from loopback, and its faults use the debug routes.
      OCTOBRIDGE_JOINS_PER_ADDRESS: '0',
      OCTOBRIDGE_REST_DEBUG: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log);
  const ports = await new Promise<{ publicPort: number; privatePort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`octobridge did not start within ${timeoutMs} ms (see ${logFile})`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`octobridge exited with ${code} at start (see ${logFile})`));
    });
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('octobridge started')) return;
      try {
        const m = JSON.parse(line) as { publicPort: number; privatePort: number };
        clearTimeout(timer);
        resolve({ publicPort: m.publicPort, privatePort: m.privatePort });
      } catch {
        // not the JSON line
      }
    });
  });
  const pid = child.pid as number;
  const privateUrl = `http://127.0.0.1:${ports.privatePort}`;
  const statsUrl = `${privateUrl}/colibri/stats`;
  return {
    name: 'octobridge',
    publicUrl: `http://127.0.0.1:${ports.publicPort}`,
    focusBase: `ws://127.0.0.1:${ports.publicPort}/focus/`,
    clientUrl: `ws://127.0.0.1:${ports.publicPort}/focus/`,
    localAddress: '127.0.0.1',
    statsUrl,
    privateUrl,
    pid,
    workerPids: () => mediasoupWorkers(pid),
    processes: () => bridgeProcesses(pid),
    stats: () => fetchStats(statsUrl),
    close: () => stopChild(child, log),
  };
}

/**
 * A bridge already running at `url` (`http://host:port`, its public server). `statsUrl`: its
 * `/colibri/stats` (private server); `pid`: its Node process on this machine, for CPU and memory
 * (its mediasoup workers are found as its children). The light clients use 127.0.0.1 for ICE, so
 * the bridge must be on this machine and offer a loopback candidate.
 */
export function bridgeAt(url: string, statsUrl?: string, pid?: number): BridgeUnderTest {
  const u = new URL(url);
  const base = `${u.protocol}//${u.host}`;
  const focusBase = `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/focus/`;
  return {
    name: 'octobridge',
    publicUrl: base,
    focusBase,
    clientUrl: focusBase,
    localAddress: '127.0.0.1',
    statsUrl,
    privateUrl: statsUrl ? new URL(statsUrl).origin : undefined,
    pid,
    workerPids: () => (pid ? mediasoupWorkers(pid) : []),
    processes: () => bridgeProcesses(pid),
    stats: () => fetchStats(statsUrl),
    async close() {
      // not ours to stop
    },
  };
}
