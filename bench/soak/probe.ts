/**
 * What the soak benchmark measures of a bridge child process at a point in time: the Node
 * process's RSS (`VmRSS`, /proc/<pid>/status), its V8 heap in use (prom-client's default
 * `nodejs_heap_size_used_bytes` on the private server's `/metrics`), its open file descriptors
 * (entries of /proc/<pid>/fd), the RSS of its mediasoup workers (its children), and the
 * conference and endpoint counts of `/colibri/stats` (JVB's `conferences`, `endpoints`).
 */
import fs from 'node:fs';
import { rssKiB } from '../lib/measure.ts';
import type { BridgeUnderTest } from '../lib/bridgeProcess.ts';

/** One measurement. Sizes in MiB; NaN when a figure could not be read. */
export interface SoakSample {
  /** ms since the epoch. */
  at: number;
  rssMiB: number;
  heapUsedMiB: number;
  fds: number;
  /** Summed RSS of the bridge's mediasoup workers. */
  workersRssMiB: number;
  conferences: number;
  endpoints: number;
}

const MIB = 1024 * 1024;

/** The value of an unlabelled sample `name` in a Prometheus text exposition, NaN when absent. */
export function promValue(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * Measure `bridge` now.
 * @throws Error when the bridge's pid or private server is unknown (a bridge this harness did not start).
 */
export async function probe(bridge: BridgeUnderTest): Promise<SoakSample> {
  const pid = bridge.pid;
  if (!pid || !bridge.privateUrl) throw new Error('the soak benchmark needs a bridge child process (pid and private server)');
  let heap = Number.NaN;
  try {
    const res = await fetch(`${bridge.privateUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    heap = promValue(await res.text(), 'nodejs_heap_size_used_bytes') / MIB;
  } catch {
    // reported as NaN
  }
  const stats = await bridge.stats();
  let fds = Number.NaN;
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // gone
  }
  return {
    at: Date.now(),
    rssMiB: rssKiB(pid) / 1024,
    heapUsedMiB: heap,
    fds,
    workersRssMiB: bridge.workerPids().reduce((n, w) => n + rssKiB(w), 0) / 1024,
    conferences: Number(stats?.conferences ?? Number.NaN),
    endpoints: Number(stats?.endpoints ?? Number.NaN),
  };
}
