/**
 * Measuring helpers of the benchmarks: process CPU time and memory from /proc, process trees,
 * delay samples and their percentiles.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ on Linux (clock ticks in /proc/<pid>/stat). */
const CLK_TCK = 100;

/** utime + stime of a process, in seconds (from /proc/<pid>/stat). 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Parent pid of every process, from one scan of /proc. */
function parentPids(): Map<number, number> {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // process went away
    }
  }
  return parent;
}

/** Pids whose parent is `pid` (the mediasoup workers of this process are its children). */
export function childrenOf(pid: number): number[] {
  return [...parentPids()].filter(([, ppid]) => ppid === pid).map(([child]) => child);
}

/**
 * Every descendant of `pid` (children, their children ...), from one scan of /proc. A browser's
 * renderer and GPU processes are descendants of the process that launched it.
 */
export function descendantsOf(pid: number): number[] {
  const parent = parentPids();
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    for (const [child, ppid] of parent) {
      if (ppid === p) {
        out.push(child);
        todo.push(child);
      }
    }
  }
  return out;
}

/** Resident set size of a process, KiB (`VmRSS` of /proc/<pid>/status); 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Proportional set size of a process, KiB (`Pss` of /proc/<pid>/smaps_rollup): its private pages
 * plus its share of pages shared with other processes, so the PSS of a browser's processes adds
 * up to what the browser costs (their RSS would count shared libraries once per process).
 * 0 when it is gone.
 */
export function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The command name of a process (`comm`, 15 chars), '' when it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** CPU use of a set of processes over a window: start it, then read % of one core per process. */
export class CpuWindow {
  readonly #pids: number[];
  readonly #start: number[];
  readonly #t0 = performance.now();

  constructor(pids: readonly number[]) {
    this.#pids = [...pids];
    this.#start = this.#pids.map(cpuSeconds);
  }

  /** % of one core used by each pid since construction, in the order given. */
  percent(): number[] {
    const wall = (performance.now() - this.#t0) / 1000;
    return this.#pids.map((pid, i) => ((cpuSeconds(pid) - (this.#start[i] ?? 0)) / wall) * 100);
  }
}

/** A growable list of delay samples, ms. */
export class Samples {
  #data = new Float64Array(1 << 16);
  #n = 0;

  add(v: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = v;
  }

  get count(): number {
    return this.#n;
  }

  /** The samples, sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.#data.slice(0, this.#n).sort();
  }
}

/** The p-th percentile (0..100) of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}
