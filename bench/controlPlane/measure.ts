/**
 * One steady-phase measurement of the control-plane benchmark: over a window, the bridge's
 * event-loop delay and the CPU of the bridge's Node process, of its mediasoup workers, of the
 * client processes, of this process and of the whole machine.
 *
 * Event-loop delay comes from the bridge's own `/metrics` (private server): prom-client's
 * default `nodejs_eventloop_lag_{p50,p99,max,mean}_seconds` (src/metrics/Metrics.ts
 * `collectDefaultMetrics`), a `perf_hooks.monitorEventLoopDelay` histogram that prom-client
 * resets at every collect, so a scrape at the start of the window and one at the end give the
 * figures of the window. Its resolution is 10 ms: the benchmark starts the bridge with
 * `OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS` = {@link ELD_RESOLUTION_MS} (prom-client's default,
 * finer than the bridge's 100 ms, so that short delays count). Node's histogram records the time
 * between two runs of its 10 ms timer (node_perf.cc `ELDHistogram`), so an idle loop reads
 * ≈ 10 ms: the benchmark subtracts that resolution and reports the delay beyond it.
 *
 * CPU is utime + stime from /proc/<pid>/stat (bench/lib/measure.ts `cpuSeconds`), as % of
 * one core over the window; the machine's from /proc/stat (bench/lib/sampler.ts `MachineCpu`).
 */
import os from 'node:os';
import { cpuSeconds, rssKiB } from '../lib/measure.ts';
import { MachineCpu } from '../lib/sampler.ts';

/** monitorEventLoopDelay resolution the benchmark gives the bridge (prom-client's default `eventLoopMonitoringPrecision`), ms. */
export const ELD_RESOLUTION_MS = 10;

/** Event-loop delay beyond the monitor's resolution, ms. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** The figures of one window. CPU in % of one core; memory in MiB. */
export interface WindowFigures {
  seconds: number;
  delay: LoopDelay;
  /** The bridge's Node process only. */
  nodeCpuPct: number;
  /** All the bridge's mediasoup workers. */
  workersCpuPct: number;
  /** The client processes (werift endpoints). */
  clientsCpuPct: number;
  /** This (orchestrating) process. */
  benchCpuPct: number;
  /** Everything on the machine. */
  machineCpuPct: number;
  /** The machine minus all of the above: load not from this benchmark. */
  otherCpuPct: number;
  nodeRssMiB: number;
  /** 1-minute load average at the end. */
  load1: number;
}

/** The `nodejs_eventloop_lag_*_seconds` gauges of a Prometheus text exposition, ms (NaN when absent). */
export function parseLoopDelay(text: string): LoopDelay {
  const gauge = (name: string): number => {
    const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
    return m ? Math.max(0, Number(m[1]) * 1000 - ELD_RESOLUTION_MS) : Number.NaN;
  };
  return { p50: gauge('p50'), p99: gauge('p99'), max: gauge('max'), mean: gauge('mean') };
}

/** GET `metricsUrl` (Prometheus text). @throws Error when the bridge does not answer 200. */
async function scrape(metricsUrl: string): Promise<string> {
  const res = await fetch(metricsUrl, { headers: { accept: 'text/plain' }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${metricsUrl}: ${res.status}`);
  return res.text();
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The processes a window measures. `workers` is read at both ends (a worker may be replaced). */
export interface Processes {
  node: number;
  workers: () => number[];
  clients: number[];
}

/**
 * Measure a window of `seconds`: scrape `metricsUrl` (resets the delay histogram), wait, read CPU
 * and scrape again.
 */
export async function measureWindow(metricsUrl: string, procs: Processes, seconds: number): Promise<WindowFigures> {
  await scrape(metricsUrl);
  const machine = new MachineCpu(os.cpus().length);
  const pids = (): { node: number[]; workers: number[]; clients: number[]; bench: number[] } => ({
    node: [procs.node],
    workers: procs.workers(),
    clients: procs.clients,
    bench: [process.pid],
  });
  const cpuOf = (p: ReturnType<typeof pids>): Record<keyof typeof p, number> => ({
    node: sum(p.node.map(cpuSeconds)),
    workers: sum(p.workers.map(cpuSeconds)),
    clients: sum(p.clients.map(cpuSeconds)),
    bench: sum(p.bench.map(cpuSeconds)),
  });
  const before = cpuOf(pids());
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = cpuOf(pids());
  const machineCpuPct = machine.percent();
  const wall = (performance.now() - t0) / 1000;
  const text = await scrape(metricsUrl);
  const pct = (k: keyof typeof before): number => (Math.max(0, after[k] - before[k]) / wall) * 100;
  const nodeCpuPct = pct('node');
  const workersCpuPct = pct('workers');
  const clientsCpuPct = pct('clients');
  const benchCpuPct = pct('bench');
  return {
    seconds: wall,
    delay: parseLoopDelay(text),
    nodeCpuPct,
    workersCpuPct,
    clientsCpuPct,
    benchCpuPct,
    machineCpuPct,
    otherCpuPct: Math.max(0, machineCpuPct - nodeCpuPct - workersCpuPct - clientsCpuPct - benchCpuPct),
    nodeRssMiB: rssKiB(procs.node) / 1024,
    load1: os.loadavg()[0] ?? Number.NaN,
  };
}
