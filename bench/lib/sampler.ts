/**
 * The torture harness's per-second measurements: CPU and memory of groups of processes from
 * /proc (the bridge's Node process, each mediasoup worker, the client agents, the Chromium
 * processes, Janus), and the participants' counters turned into rolling quality figures.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpuSeconds, pssKiB, rssKiB } from './measure.ts';
import type { ParticipantSample } from './light/types.ts';

/**
 * CPU use of a changing set of processes between calls of {@link percent}: % of one core over
 * the interval, per pid. A pid first seen counts all its CPU time (it started within the
 * interval), except on the first call, which only sets the baseline (returns 0s).
 */
export class CpuMeter {
  #last = new Map<number, number>();
  #at: number | undefined;

  /** % of one core of each of `pids` since the previous call (same order). */
  percent(pids: readonly number[]): number[] {
    const now = performance.now();
    const next = new Map(pids.map((pid) => [pid, cpuSeconds(pid)] as const));
    const wall = this.#at === undefined ? 0 : (now - this.#at) / 1000;
    const first = this.#at === undefined;
    const out = pids.map((pid) => {
      if (first || wall <= 0) return 0;
      const before = this.#last.get(pid) ?? 0;
      return Math.max(0, (((next.get(pid) ?? 0) - before) / wall) * 100);
    });
    this.#last = next;
    this.#at = now;
    return out;
  }
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Busy and total jiffies of all CPUs (first line of /proc/stat). */
function cpuJiffies(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = sum(f);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** The whole machine's CPU use between calls: % of one core (so up to 100 x cores). */
export class MachineCpu {
  #last = cpuJiffies();
  readonly #cores: number;

  constructor(cores: number) {
    this.#cores = cores;
  }

  /** % of one core used by everything on the machine since the previous call. */
  percent(): number {
    const now = cpuJiffies();
    const dt = now.total - this.#last.total;
    const busy = dt > 0 ? ((now.busy - this.#last.busy) / dt) * 100 * this.#cores : 0;
    this.#last = now;
    return busy;
  }
}

/** Inodes of the sockets `pids` hold (their `/proc/<pid>/fd` links `socket:[inode]`). */
function socketInodes(pids: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/**
 * UDP datagrams the kernel dropped on the sockets of `pids` (their receive buffer was full, or
 * memory ran out): the `drops` column of /proc/net/udp and /proc/net/udp6 (this network namespace),
 * summed over the sockets open now. Cumulative per socket; a closed socket's count is gone.
 */
export function udpDrops(pids: readonly number[]): number {
  const inodes = socketInodes(pids);
  if (inodes.size === 0) return 0;
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 13 && inodes.has(cols[9] as string)) drops += Number(cols[12]) || 0;
    }
  }
  return drops;
}

/** Total RSS of `pids`, MiB. */
export const rssMiB = (pids: readonly number[]): number => sum(pids.map(rssKiB)) / 1024;
/** Total PSS of `pids`, MiB (shared pages split between the processes that map them). */
export const pssMiB = (pids: readonly number[]): number => sum(pids.map(pssKiB)) / 1024;

/** Sums of all participants' cumulative counters at one instant. */
export interface Totals {
  at: number;
  freezes: number;
  freezesMs: number;
  streamMs: number;
  packets: number;
  expected: number;
  bytes: number;
  frames: number;
}

/** Quality over a window: freezes per stream-minute, % of stream time frozen, % packets lost, received kbps, frames/s. */
export interface WindowQuality {
  seconds: number;
  freezesPerMin: number;
  frozenPct: number;
  lossPct: number;
  kbps: number;
  fps: number;
}

/** Add up the latest sample of every participant. */
export function totalsOf(samples: Iterable<ParticipantSample>, at: number): Totals {
  const t: Totals = { at, freezes: 0, freezesMs: 0, streamMs: 0, packets: 0, expected: 0, bytes: 0, frames: 0 };
  for (const s of samples) {
    t.freezes += s.freezeCount;
    t.freezesMs += s.freezesMs;
    t.streamMs += s.streamMs;
    t.packets += s.packets;
    t.expected += s.expected;
    t.bytes += s.bytes;
    t.frames += s.framesDecoded;
  }
  return t;
}

/** Quality between two totals (`a` earlier than `b`). */
export function windowQuality(a: Totals, b: Totals): WindowQuality {
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const streamMin = (b.streamMs - a.streamMs) / 60_000;
  const expected = b.expected - a.expected;
  return {
    seconds,
    freezesPerMin: streamMin > 0 ? Math.max(0, b.freezes - a.freezes) / streamMin : 0,
    frozenPct: streamMin > 0 ? Math.min(100, Math.max(0, (100 * (b.freezesMs - a.freezesMs)) / (streamMin * 60_000))) : 0,
    lossPct: expected > 0 ? Math.max(0, (100 * (expected - (b.packets - a.packets))) / expected) : 0,
    kbps: ((b.bytes - a.bytes) * 8) / 1000 / seconds,
    fps: (b.frames - a.frames) / seconds,
  };
}

/** A history of totals, for rolling windows. */
export class TotalsHistory {
  readonly #items: Totals[] = [];

  push(t: Totals): void {
    this.#items.push(t);
  }

  /** The latest totals, or undefined. */
  get last(): Totals | undefined {
    return this.#items.at(-1);
  }

  /** The first totals at or after `at` (ms), else the latest. */
  at(at: number): Totals | undefined {
    return this.#items.find((t) => t.at >= at) ?? this.last;
  }

  /** Quality over the last `seconds` (from the totals closest to that long ago). */
  rolling(seconds: number): WindowQuality | undefined {
    const last = this.last;
    if (!last) return undefined;
    const from = this.at(last.at - seconds * 1000);
    return from && from !== last ? windowQuality(from, last) : undefined;
  }
}
