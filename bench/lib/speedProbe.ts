/**
 * How fast the machine runs a fixed piece of work right now: a child process (speedProbeChild.ts) times SRTP-like
 * work (AES-128-CTR and HMAC-SHA1 over 1,200-byte packets, what a worker does to every packet it forwards) in its own
 * CPU time, four times a second, at ~0.4 % of a core.
 *
 * On a shared VM the same work costs more CPU time in some minutes than in others (other tenants' load on the
 * caches, memory and sibling threads; this VM shows no steal time): one server's µs per forwarded packet moved by
 * ±10 % between runs with nothing changed, and the load generator's µs per packet moved with it. Dividing a run's
 * µs per packet by the probe's µs per unit over the same window is meant to take that drift out of a comparison
 * between runs; on the test VM it did not narrow the spread of octobridge / raw pairs (docs/performance.md), so the
 * reports print it beside the plain ratios, not instead of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'speedProbeChild.ts');

/** A running speed probe. */
export interface SpeedProbe {
  /** The probe's pid (its CPU is the harness's, not the server's). */
  readonly pid: number | undefined;
  /** The mean µs of CPU per unit of work since the last call (undefined: no measurement since). */
  take(): number | undefined;
  stop(): void;
}

/** Start the probe process. */
export function startSpeedProbe(): SpeedProbe {
  const child: ChildProcess = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'ignore'] });
  let sum = 0;
  let n = 0;
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const us = Number(line);
    if (Number.isFinite(us) && us > 0) {
      sum += us;
      n++;
    }
  });
  return {
    pid: child.pid,
    take: () => {
      if (n === 0) return undefined;
      const mean = sum / n;
      sum = 0;
      n = 0;
      return mean;
    },
    stop: () => {
      child.stdin?.end();
      child.kill();
    },
  };
}
