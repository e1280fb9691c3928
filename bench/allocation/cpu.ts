/**
 * Allocation CPU of the allocation benchmark, in this process, no media:
 *  - `measureReceiver`: one receiver's computation as ConferenceAllocator.#run does it, minus
 *    applying the result: selectedOrder + prioritize + effectiveConstraints + allocate
 *    (src/allocation/BandwidthAllocator.ts) over N simulcast camera sources;
 *  - `measureConference`: a ConferenceAllocator with N endpoints (audio + one simulcast camera
 *    each) and no-op sinks, every receiver re-allocated by one trigger and `flush()`: what the
 *    bridge's JavaScript spends per conference-wide re-allocation, including building each
 *    receiver's candidate list, scheduling (timers), applying to the sinks (the change check per
 *    source) and the sender constraints.
 * CPU is process.cpuUsage() (user + system, all threads of this process, so GC threads count),
 * next to the wall time of the same window.
 */
import { allocate, effectiveConstraints, prioritize, selectedOrder } from '../../src/allocation/BandwidthAllocator.ts';
import { ConferenceAllocator, type ReceiverSink } from '../../src/allocation/ConferenceAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG, ReceiverSettings, type AllocationConfig, type ConstraintsUpdate } from '../../src/allocation/settings.ts';
import type { Allocation, Layer, VideoSource } from '../../src/allocation/types.ts';

/** Heights of the three simulcast encodings (scale 4/2/1 of 720p). */
export const HEIGHTS = [180, 360, 720] as const;
/** Frame rates of the three temporal layers (VP8 L1T3 at 30 fps). */
export const FRAME_RATES = [7.5, 15, 30] as const;
/** Cumulative bitrates per encoding and temporal layer, kbps (Chrome VP8 simulcast at 200/500/1500 kbps caps). */
export const KBPS = [
  [50, 100, 150],
  [200, 350, 500],
  [700, 1100, 1500],
] as const;

/**
 * The 9 layers of a 3 × 3 simulcast camera, in quality order. `scale` varies the bitrates per
 * source (measured bitrates are never identical across senders).
 */
export function simulcastLayers(scale = 1): Layer[] {
  const out: Layer[] = [];
  HEIGHTS.forEach((height, spatial) => {
    FRAME_RATES.forEach((frameRate, temporal) => {
      out.push({ spatial, temporal, height, frameRate, bitrateBps: Math.round((KBPS[spatial]?.[temporal] ?? 0) * 1000 * scale) });
    });
  });
  return out;
}

/** A deterministic ±10 % bitrate scale for source `i`. */
const scaleOf = (i: number): number => 0.9 + (((i * 37) % 50) / 50) * 0.2;

const endpointId = (i: number): string => `ep${String(i).padStart(2, '0')}`;
const videoName = (i: number): string => `${endpointId(i)}-v0`;

/** The receiver's message: all sources (lastN -1), thumbnails at 180p, `stage` on stage at 720p. */
function constraintsUpdate(stage: string): ConstraintsUpdate {
  return { lastN: -1, defaultConstraints: { maxHeight: 180 }, onStageSources: [stage], constraints: { [stage]: { maxHeight: 720 } } };
}

/** Call `fn` for about `ms` after a warm-up of `warmupMs`: calls, CPU and wall time per call. */
function timeLoop(fn: () => void, warmupMs: number, ms: number): { calls: number; cpuUsPerCall: number; wallUsPerCall: number } {
  const until = (limit: number): number => {
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < limit) {
      fn();
      calls++;
    }
    return calls;
  };
  until(warmupMs);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const calls = until(ms);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return { calls, cpuUsPerCall: (cpu.user + cpu.system) / calls, wallUsPerCall: wallUs / calls };
}

/** Result of {@link measureReceiver}. */
export interface ReceiverCpuResult {
  sources: number;
  bweBps: number;
  allocations: number;
  /** CPU per allocation, µs (process.cpuUsage). */
  cpuUs: number;
  /** Wall time per allocation, µs. */
  wallUs: number;
  /** Allocations one fully busy core would compute per second (1e6 / cpuUs). */
  perCoreSecond: number;
  /** What the allocation decided (a sanity check of the input). */
  outcome: { forwarded: number; suspended: number; targetMbps: number; idealMbps: number; onStage: string; thumbnails: string };
}

/** Describe a layer as `720p30` (or `-` when none). */
export function layerName(l: Layer | undefined): string {
  return l ? `${l.height}p${l.frameRate}` : '-';
}

/** Most common target of the thumbnails, e.g. `180p30 ×40, 180p15 ×9`. */
function thumbnailSummary(a: Allocation, stage: string): string {
  const counts = new Map<string, number>();
  for (const s of a.sources) if (s.source !== stage) counts.set(layerName(s.target), (counts.get(layerName(s.target)) ?? 0) + 1);
  return [...counts]
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `${k} x${n}`)
    .join(', ');
}

/** One receiver, `n` sources of other endpoints (one on stage), estimate `bweBps`. */
export function measureReceiver(
  n: number,
  bweBps: number,
  warmupMs: number,
  ms: number,
  config: AllocationConfig = DEFAULT_ALLOCATION_CONFIG,
): ReceiverCpuResult {
  // Sources in speech-activity order; the on-stage one is somewhere in the middle, as after a click.
  const sources: VideoSource[] = Array.from({ length: n }, (_, i) => ({
    name: videoName(i),
    owner: endpointId(i),
    videoType: 'CAMERA',
    layers: simulcastLayers(scaleOf(i)),
  }));
  const stage = videoName(Math.floor(n / 3));
  const receiverSettings = new ReceiverSettings(config);
  receiverSettings.apply(constraintsUpdate(stage));
  const settings = receiverSettings.get();
  let last: Allocation | undefined;
  const once = (): void => {
    const sorted = prioritize(sources, selectedOrder(settings));
    const effective = effectiveConstraints(sorted, settings, config);
    last = allocate({ sorted, effective, settings, bweBps, trustBwe: config.trustBwe }, config);
  };
  const t = timeLoop(once, warmupMs, ms);
  const a = last as Allocation;
  return {
    sources: n,
    bweBps,
    allocations: t.calls,
    cpuUs: t.cpuUsPerCall,
    wallUs: t.wallUsPerCall,
    perCoreSecond: 1e6 / t.cpuUsPerCall,
    outcome: {
      forwarded: a.sources.filter((s) => s.target).length,
      suspended: a.suspended.length,
      targetMbps: a.targetBps / 1e6,
      idealMbps: a.idealBps / 1e6,
      onStage: layerName(a.sources.find((s) => s.source === stage)?.target),
      thumbnails: thumbnailSummary(a, stage),
    },
  };
}

/** How the conference is made to re-allocate every receiver (see {@link measureConference}). */
export type Trigger = 'dominant-speaker' | 'dominant-speaker-pair' | 'bandwidth';

/** Result of {@link measureConference}. */
export interface ConferenceCpuResult {
  endpoints: number;
  trigger: Trigger;
  /** The estimate of every receiver (for `bandwidth`: the two it alternates between). */
  bweBps: number[];
  rounds: number;
  /** CPU per conference-wide re-allocation (all receivers), ms. */
  cpuMsPerRound: number;
  wallMsPerRound: number;
  /** CPU per receiver allocation, µs. */
  cpuUsPerReceiver: number;
  /** Sink calls (consumer changes + ForwardedSources) per round. */
  sinkCallsPerRound: number;
}

/**
 * A ConferenceAllocator with `n` endpoints, each sending audio + one 3 × 3 simulcast camera and
 * receiving everyone else's (every source announced), every receiver watching one source on stage
 * at 720p (endpoint 0's; endpoint 0 watches endpoint 1's) with 180p thumbnails. One round = one
 * trigger that re-allocates all receivers, then `flush()` (the runs happen synchronously there
 * instead of on their timers):
 *  - `dominant-speaker`: `dominantSpeakerChanged` to the next endpoint, round robin: the new
 *    dominant speaker is always the least recent one, so every other source moves down one rank
 *    (its consumer priority changes for every receiver: the most sink calls);
 *  - `dominant-speaker-pair`: `dominantSpeakerChanged` alternating between endpoints 2 and 3 (a
 *    dialogue, neither on stage): only those two swap ranks;
 *  - `bandwidth`: `bandwidthChanged` on every receiver, alternating between the two estimates.
 */
export function measureConference(
  n: number,
  trigger: Trigger,
  bweBps: number[],
  warmupMs: number,
  ms: number,
  config: AllocationConfig = DEFAULT_ALLOCATION_CONFIG,
): ConferenceCpuResult {
  const allocator = new ConferenceAllocator({ ...config });
  try {
    let sinkCalls = 0;
    const sink: ReceiverSink = {
      video: () => void sinkCalls++,
      audio: () => undefined,
      forwardedSources: () => void sinkCalls++,
      idealBitrate: () => void sinkCalls++,
    };
    const ids = Array.from({ length: n }, (_, i) => endpointId(i));
    for (const id of ids) allocator.addEndpoint(id, sink);
    ids.forEach((id, i) => {
      allocator.addSource(`${id}-a0`, id, 'audio');
      allocator.addSource(videoName(i), id, 'video', 'CAMERA');
      allocator.setLayers(videoName(i), simulcastLayers(scaleOf(i)));
    });
    for (const r of ids) {
      for (const s of ids) {
        if (s === r) continue;
        allocator.sourceReady(r, `${s}-a0`);
        allocator.sourceReady(r, `${s}-v0`);
      }
    }
    const first = bweBps[0] ?? -1;
    ids.forEach((r, i) => {
      allocator.setConstraints(r, constraintsUpdate(videoName(i === 0 ? 1 : 0)));
      allocator.bandwidthChanged(r, first);
    });
    allocator.flush();

    let round = 0;
    const once = (): void => {
      round++;
      if (trigger === 'dominant-speaker' || trigger === 'dominant-speaker-pair') {
        const next = ids[trigger === 'dominant-speaker' ? round % n : 2 + (round % 2)] as string;
        if (!allocator.dominantSpeakerChanged(next)) throw new Error('dominant speaker did not change');
      } else {
        const bps = bweBps[round % bweBps.length] ?? -1;
        for (const r of ids) allocator.bandwidthChanged(r, bps);
      }
      allocator.flush();
    };
    const calls0 = sinkCalls;
    const rounds0 = round;
    const t = timeLoop(once, warmupMs, ms);
    // Sink calls counted over warm-up and measurement alike (the pattern repeats).
    const sinkCallsPerRound = (sinkCalls - calls0) / (round - rounds0);
    return {
      endpoints: n,
      trigger,
      bweBps,
      rounds: t.calls,
      cpuMsPerRound: t.cpuUsPerCall / 1000,
      wallMsPerRound: t.wallUsPerCall / 1000,
      cpuUsPerReceiver: t.cpuUsPerCall / n,
      sinkCallsPerRound,
    };
  } finally {
    allocator.close();
  }
}
