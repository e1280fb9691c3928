/**
 * From per-source counters to what the reports show: a participant's per-second sample, and a
 * source's derived figures (bitrate, frame rate, freeze rate, % frozen, loss, fault recovery).
 * Used for both kinds of participant: the light clients' own counters and Chromium's getStats.
 */
import type { SourceCounters } from './receive.ts';
import type { ParticipantSample, SourceReport } from './types.ts';

/** A video source counts as live when it decoded a frame within this long, ms. */
const LIVE_MS = 2000;

/**
 * The cumulative sample of a participant at `t` from its sources' counters. `openFreezeMs(c)`:
 * the freeze a source is in right now (ms, 0 if none), added to `freezesMs`.
 */
export function sampleOf(
  id: string,
  connected: boolean,
  sources: readonly SourceCounters[],
  t: number,
  openFreezeMs: (c: SourceCounters) => number = () => 0,
): ParticipantSample {
  const s: ParticipantSample = {
    id,
    at: t,
    connected,
    videoStreams: 0,
    audioStreams: 0,
    liveVideoStreams: 0,
    framesDecoded: 0,
    freezeCount: 0,
    freezesMs: 0,
    streamMs: 0,
    packets: 0,
    expected: 0,
    bytes: 0,
  };
  for (const c of sources) {
    if (c.packets === 0 && c.framesDecoded === 0) continue;
    s.packets += c.packets;
    s.expected += Math.max(c.expected, c.packets);
    s.bytes += c.bytes;
    if (c.kind === 'audio') {
      s.audioStreams += 1;
      continue;
    }
    s.videoStreams += 1;
    if (c.lastFrameAt !== undefined && t - c.lastFrameAt < LIVE_MS) s.liveVideoStreams += 1;
    s.framesDecoded += c.framesDecoded;
    const open = openFreezeMs(c);
    s.freezeCount += c.freezeCount + (open > 0 ? 1 : 0);
    s.freezesMs += c.totalFreezesDurationMs + open;
    if (c.firstFrameAt !== undefined) s.streamMs += t - c.firstFrameAt;
  }
  return s;
}

/**
 * A source's report at the end of the run (`end`, ms). `openFreezeMs`: the freeze it is in at the
 * end (counted as one more freeze). `recoveryMs`: per fault of the run, from {@link FaultWatch}.
 */
export function sourceReport(c: SourceCounters, end: number, openFreezeMs = 0, recoveryMs: (number | null | undefined)[] = []): SourceReport {
  const since = c.firstPacketAt ?? end;
  const seconds = Math.max(0.001, (end - since) / 1000);
  const observedMin = c.firstFrameAt !== undefined ? (end - c.firstFrameAt) / 60_000 : 0;
  const freezes = c.freezeCount + (openFreezeMs > 0 ? 1 : 0);
  const frozenMs = c.totalFreezesDurationMs + openFreezeMs;
  const expected = Math.max(c.expected, c.packets);
  const frameSpan = c.firstFrameAt !== undefined && c.lastFrameAt !== undefined ? (c.lastFrameAt - c.firstFrameAt) / 1000 : 0;
  return {
    ...c,
    freezeCount: freezes,
    totalFreezesDurationMs: frozenMs,
    kbps: (c.bytes * 8) / 1000 / seconds,
    fps: frameSpan > 0 ? (c.framesDecoded - 1) / frameSpan : 0,
    freezesPerMin: observedMin > 0 ? freezes / observedMin : 0,
    frozenPct: observedMin > 0 ? (100 * frozenMs) / (observedMin * 60_000) : 0,
    lossPct: expected > 0 ? (100 * (expected - c.packets)) / expected : 0,
    lossBeforeRtxPct: expected > 0 ? (100 * (expected - c.firstArrivals)) / expected : 0,
    ...(recoveryMs.length > 0 ? { recoveryMs: recoveryMs.map((r) => (r === undefined ? -1 : r)) } : {}),
  };
}

/**
 * Bookkeeping of a fault for one video source, from `at` until `until` (the fault's end; `at` for
 * an instant one such as a killed worker): the last frame before `until` (the last one before the
 * fault, or one still in flight during it) and the first at or after it. The source froze across
 * the fault when the gap between these two is longer than `freezeMs`; `recoveryMs` is then the
 * first frame − `until`: how long after the fault's end frames flowed again. 0 when it did not
 * freeze (frames were flowing at the end); null when no frame came at or after `until` (never
 * recovered); undefined when none came before `at` (the source was not flowing).
 */
export class FaultWatch {
  readonly at: number;
  readonly until: number;
  readonly #before: number | undefined;
  /** The last frame before `until`. */
  #prev: number | undefined;
  /** The first frame at or after `until` (closes the watch). */
  #after: number | undefined;

  constructor(at: number, lastFrameBefore: number | undefined, until = at) {
    this.at = at;
    this.until = Math.max(at, until);
    this.#before = lastFrameBefore;
    this.#prev = lastFrameBefore;
  }

  /** A frame decoded at `t`. */
  onFrame(t: number): void {
    if (t < this.at || this.#after !== undefined) return;
    if (t >= this.until) this.#after = t;
    else this.#prev = t;
  }

  /** See the class docstring. `freezeMs`: the freeze threshold of the source (ms). */
  recoveryMs(freezeMs: number): number | null | undefined {
    if (this.#before === undefined) return undefined;
    if (this.#after === undefined) return null;
    return this.#prev !== undefined && this.#after - this.#prev > freezeMs ? this.#after - this.until : 0;
  }
}
