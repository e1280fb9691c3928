/**
 * The bandwidth allocation algorithm for one receiver: which layer of which source to forward
 * within the receiver's bandwidth. A pure function of its inputs (sources with measured layer
 * bitrates, the receiver's settings, the estimate), so it is unit-tested on recorded inputs.
 *
 * Follows jitsi-videobridge `doc/allocation.md` and `cc/allocation/BandwidthAllocator.kt`,
 * `Prioritize.kt`, `SingleSourceAllocation.kt` (read, not copied):
 *  1. **Prioritize**: sources in speech-activity order (dominant speaker first, endpoints without
 *     video last), then the on-stage and selected sources moved to the top in the order the
 *     receiver listed them (on-stage first); sources whose video type is DISABLED go last.
 *  2. **Last-N**: the effective constraints are the receiver's, with every source past the first
 *     last-N (counting only sources with non-zero constraints) set to 0. Senders are told the
 *     highest effective height anyone wants (SenderSourceConstraints).
 *  3. **Allocate**: per source, the layers worth considering (within the constraints; above the
 *     on-stage preferred height only full frame rate; inactive layers dropped), then loop over
 *     the sources in priority order improving each by one layer while the budget allows. On-stage
 *     sources jump straight to their preferred layer (360p), and nothing further down the list
 *     gets bandwidth until they reach it. An on-stage screen share may oversend its lowest
 *     full-resolution layer by `max-oversend-bitrate`.
 *
 * Where octobridge differs from JVB (docs/allocation.md): `maxFrameRate` constraints
 * prune layers above that frame rate (JVB's doc says so; its code ignores them).
 */
import { constraintsOf, type AllocationConfig, type AllocationSettings } from './settings.ts';
import {
  isDisabled,
  NOTHING,
  UNLIMITED_HEIGHT,
  type Allocation,
  type Layer,
  type SourceAllocation,
  type VideoConstraints,
  type VideoSource,
  type VideoType,
} from './types.ts';

/** Constraints at or below this height get no on-stage preference (JVB `getPreferred`: 180p thumbnails). */
const THUMBNAIL_HEIGHT = 180;

/**
 * Step 1: the allocation order (JVB `prioritize`).
 * @param sources every other endpoint's video sources, in their owners' speech-activity order.
 * @param selected on-stage sources then selected sources, as the receiver listed them.
 */
export function prioritize<S extends VideoSource>(sources: readonly S[], selected: readonly string[]): S[] {
  const rank = new Map<string, number>();
  selected.forEach((s, i) => {
    if (!rank.has(s)) rank.set(s, i);
  });
  const chosen: S[] = [];
  const rest: S[] = [];
  const disabled: S[] = [];
  for (const s of sources) {
    if (s.videoType === 'DISABLED') disabled.push(s);
    else if (rank.has(s.name)) chosen.push(s);
    else rest.push(s);
  }
  chosen.sort((a, b) => (rank.get(a.name) ?? 0) - (rank.get(b.name) ?? 0));
  return [...chosen, ...rest, ...disabled];
}

/** On-stage sources, then selected ones not already on stage (JVB `BandwidthAllocator.selectedSources`). */
export function selectedOrder(settings: AllocationSettings): string[] {
  const out = [...settings.onStageSources];
  const seen = new Set(out);
  for (const s of settings.selectedSources) {
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(s);
  }
  return out;
}

/** The last-N in force: the smallest non-negative of the receiver's and the bridge's; MAX_SAFE_INTEGER for none. */
export function effectiveLastN(receiverLastN: number, jvbLastN: number): number {
  const limits = [receiverLastN, jvbLastN].filter((n) => n >= 0);
  return limits.length === 0 ? Number.MAX_SAFE_INTEGER : Math.min(...limits);
}

/**
 * Step 2: effective constraints of each source (JVB `getEffectiveConstraints`), as an array aligned with `sorted`
 * (element i is `sorted[i]`'s): a run reads them by position, not by name.
 * @param sorted the output of {@link prioritize}.
 * @param into an array to overwrite and return instead of a new one (a receiver's, reused between its runs).
 */
export function effectiveConstraints(
  sorted: readonly VideoSource[],
  settings: AllocationSettings,
  config: Pick<AllocationConfig, 'jvbLastN'>,
  into: VideoConstraints[] = [],
): VideoConstraints[] {
  const lastN = effectiveLastN(settings.lastN, config.jvbLastN);
  let enabled = 0;
  // Shortened, never refilled from empty: written in order below, the array stays packed.
  if (into.length > sorted.length) into.length = sorted.length;
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i] as VideoSource;
    if (s.videoType === 'DISABLED' || enabled >= lastN) {
      into[i] = NOTHING;
      continue;
    }
    const c = constraintsOf(settings, s.name);
    if (!isDisabled(c)) enabled++;
    into[i] = c;
  }
  return into;
}

/** The layers worth considering for a source, with the preferred and oversend indexes (JVB `Layers`). */
export interface ConsideredLayers {
  readonly layers: readonly Layer[];
  /** Up to this index an on-stage source is allocated at once; -1 none. */
  readonly preferredIndex: number;
  /** The layer an on-stage screen share may oversend to; -1 none. */
  readonly oversendIndex: number;
}

const NO_LAYERS: ConsideredLayers = { layers: [], preferredIndex: -1, oversendIndex: -1 };

/** Drop layers above a frame-rate cap (octobridge; keeps the cheapest layer when all exceed it). */
function capFrameRate(layers: readonly Layer[], c: VideoConstraints): readonly Layer[] {
  if (c.maxFrameRate < 0) return layers;
  const kept = layers.filter((l) => l.frameRate < 0 || l.frameRate <= c.maxFrameRate);
  return kept.length > 0 || layers.length === 0 ? kept : [layers[0] as Layer];
}

/**
 * octobridge: frame rates are measured from the bitstream (VideoLayerMonitor), not JVB's nominal 7.5/15/30, so
 * encodings of one camera differ by a few percent (15.3 vs 14.9 fps). A layer counts as reaching the preferred
 * frame rate within 10 %; temporal layers are a factor 2 apart, so this changes nothing for JVB's inputs.
 */
const MEASURED_FPS_TOLERANCE = 0.9;

/** Camera layers (JVB `selectLayersForCamera`): frame rate first once the preferred height is reached. */
function cameraLayers(all: readonly Layer[], c: VideoConstraints, config: AllocationConfig): ConsideredLayers {
  if (all.length === 0) return NO_LAYERS;
  const minHeight = Math.min(...all.map((l) => l.height));
  const noneActive = all.every((l) => l.bitrateBps <= 0);
  // octobridge: the highest frame rate among the layers being sent (JVB: among all layers, whose rates are nominal).
  const maxFps = Math.max(...all.filter((l) => noneActive || l.bitrateBps > 0).map((l) => l.frameRate));
  const wantsMore = c.maxHeight > THUMBNAIL_HEIGHT || c.maxHeight === UNLIMITED_HEIGHT;
  const preferredHeight = wantsMore ? config.onstagePreferredHeightPx : -1;
  let preferredFps = wantsMore ? config.onstagePreferredFramerate : -1;
  if (maxFps > 0) preferredFps = Math.min(maxFps, preferredFps);
  if (c.maxFrameRate > 0) preferredFps = Math.min(preferredFps, c.maxFrameRate);
  const picked = all.filter((l) => {
    const belowPreferred = l.height < preferredHeight;
    const withinHeight = c.maxHeight === UNLIMITED_HEIGHT || l.height <= c.maxHeight;
    const enoughFps = l.frameRate < 0 || l.frameRate >= preferredFps * MEASURED_FPS_TOLERANCE;
    const considered = belowPreferred || (withinHeight && enoughFps) || l.height === minHeight;
    return considered && (noneActive || l.bitrateBps > 0);
  });
  const layers = capFrameRate(picked, c);
  const effectivePreferredHeight = Math.max(preferredHeight, minHeight);
  let preferredIndex = -1;
  layers.forEach((l, i) => {
    if (l.height <= effectivePreferredHeight) preferredIndex = i;
  });
  return { layers, preferredIndex, oversendIndex: -1 };
}

/**
 * Screen-share layers (JVB `selectLayersForScreensharing`): resolution over frame rate; the top
 * layer is preferred (an on-stage share takes it before any other source), and on stage the
 * cheapest full-resolution layer may be oversent.
 */
function screenShareLayers(all: readonly Layer[], c: VideoConstraints, onStage: boolean, config: AllocationConfig): ConsideredLayers {
  let active = all.filter((l) => l.bitrateBps > 0);
  if (active.length === 0) active = [...all];
  let picked = c.maxHeight === UNLIMITED_HEIGHT ? active : active.filter((l) => l.height <= c.maxHeight);
  if (picked.length === 0) {
    if (active.length === 0) return NO_LAYERS;
    const minHeight = Math.min(...active.map((l) => l.height));
    picked = active.filter((l) => l.height === minHeight);
    // Several encodings of one resolution with unknown frame rates (VP9): off stage, only the lowest.
    if (!onStage && picked.length > 0 && (picked[0] as Layer).frameRate < 0) picked = [picked[0] as Layer];
  }
  const layers = capFrameRate(picked, c);
  if (layers.length === 0) return NO_LAYERS;
  let oversendIndex = -1;
  if (onStage && config.allowOversendOnstage) {
    const maxHeight = Math.max(...layers.map((l) => l.height));
    let best: Layer | undefined;
    for (const l of layers) if (l.height === maxHeight && (best === undefined || l.bitrateBps < best.bitrateBps)) best = l;
    oversendIndex = best ? layers.indexOf(best) : -1;
  }
  return { layers, preferredIndex: layers.length - 1, oversendIndex };
}

/** A {@link considerLayers} result and everything it was computed from besides the layers. */
interface ConsideredEntry {
  readonly videoType: VideoType;
  readonly onStage: boolean;
  readonly maxHeight: number;
  readonly maxFrameRate: number;
  readonly preferredHeight: number;
  readonly preferredFramerate: number;
  readonly allowOversend: boolean;
  readonly result: Considered;
}

/**
 * A {@link considerLayers} result with each considered layer's bitrate (bps) packed in one array: what the
 * allocation loop reads, without going through the Layer objects (at 500 sources those no longer fit in the cache).
 */
interface Considered {
  readonly layers: ConsideredLayers;
  readonly bitrates: Float64Array;
}

const NOTHING_CONSIDERED: Considered = { layers: NO_LAYERS, bitrates: new Float64Array(0) };

/** Results kept per layers array: about one per distinct constraint receivers have for the source. */
const CONSIDERED_PER_LAYERS = 8;

/**
 * Results of {@link considerLayers} by the source's layers array (a source's layers are replaced,
 * never modified, when new bitrates are measured). Every receiver of a source considers the same
 * layers under one of a few constraints (thumbnail, on stage), so a conference-wide re-allocation
 * computes them once per source and constraint instead of once per receiver.
 */
const consideredCache = new WeakMap<readonly Layer[], ConsideredEntry[]>();

/**
 * The layers of `source` the allocation may choose from under `c` (JVB `selectLayers`). The result
 * is shared between calls with the same layers array and inputs: read it, do not modify it.
 */
export function considerLayers(source: VideoSource, onStage: boolean, c: VideoConstraints, config: AllocationConfig): ConsideredLayers {
  return consider(source, onStage, c, config).layers;
}

/** {@link considerLayers} with the bitrates packed, cached. */
function consider(source: VideoSource, onStage: boolean, c: VideoConstraints, config: AllocationConfig): Considered {
  if (isDisabled(c) || source.layers.length === 0) return NOTHING_CONSIDERED;
  const { videoType } = source;
  // Only a screen share's layers depend on being on stage.
  const stage = videoType !== 'CAMERA' && onStage;
  let entries = consideredCache.get(source.layers);
  if (entries) {
    for (const e of entries) {
      if (
        e.videoType === videoType &&
        e.onStage === stage &&
        e.maxHeight === c.maxHeight &&
        e.maxFrameRate === c.maxFrameRate &&
        e.preferredHeight === config.onstagePreferredHeightPx &&
        e.preferredFramerate === config.onstagePreferredFramerate &&
        e.allowOversend === config.allowOversendOnstage
      ) {
        return e.result;
      }
    }
  } else {
    consideredCache.set(source.layers, (entries = []));
  }
  const layers = selectLayers(source, stage, c, config);
  const result: Considered = { layers, bitrates: Float64Array.from(layers.layers, (l) => l.bitrateBps) };
  if (entries.length >= CONSIDERED_PER_LAYERS) entries.shift();
  entries.push({
    videoType,
    onStage: stage,
    maxHeight: c.maxHeight,
    maxFrameRate: c.maxFrameRate,
    preferredHeight: config.onstagePreferredHeightPx,
    preferredFramerate: config.onstagePreferredFramerate,
    allowOversend: config.allowOversendOnstage,
    result,
  });
  return result;
}

/** {@link considerLayers} computed. */
function selectLayers(source: VideoSource, onStage: boolean, c: VideoConstraints, config: AllocationConfig): ConsideredLayers {
  switch (source.videoType) {
    case 'CAMERA':
      return cameraLayers(source.layers, c, config);
    case 'DESKTOP':
    case 'DESKTOP_HIGH_FPS':
      return screenShareLayers(source.layers, c, onStage, config);
    default:
      return NO_LAYERS;
  }
}

/**
 * One improvement step of a source's allocation (JVB `SingleSourceAllocation.improve`).
 * @param k the source's considered layers
 * @param onStage whether the receiver has the source on stage
 * @param target the index of its current target layer in `k`, -1 none
 * @param maxBps what the target may cost now: the budget left plus the current target's bitrate, bps
 * @param allowOversending whether it may exceed `maxBps` (the first source in the allocation order)
 * @param maxOversendBps by how much, bps
 * @returns the index of the new target layer (the same when nothing fits)
 */
function improve(k: Considered, onStage: boolean, target: number, maxBps: number, allowOversending: boolean, maxOversendBps: number): number {
  const { preferredIndex, oversendIndex } = k.layers;
  const rates = k.bitrates;
  const n = rates.length;
  if (n === 0) return target;
  let t = target;
  if (t === -1 && preferredIndex > -1 && onStage) {
    // On stage: straight to the preferred layer if it fits.
    for (let i = 0; i < n; i++) {
      if (i > preferredIndex || maxBps < (rates[i] as number)) break;
      t = i;
    }
  } else if (t + 1 < n && (rates[t + 1] as number) < maxBps) {
    t++;
  }
  if (t > -1) {
    // A higher layer measured no more expensive than the target: skip to it. The scan goes down
    // to just above the starting target, comparing with the moving target, as JVB's does.
    const floor = t;
    for (let i = n - 1; i > floor; i--) {
      if ((rates[i] as number) <= (rates[t] as number)) t = i;
    }
  }
  if (allowOversending && oversendIndex >= 0 && t < oversendIndex) {
    // The lowest layer above the target, up to the oversend layer, within the oversend allowance (JVB).
    const floor = t;
    for (let i = oversendIndex; i > floor; i--) {
      if ((rates[i] as number) <= maxBps + maxOversendBps) t = i;
    }
  }
  return t;
}

/** Input of {@link allocate}. */
export interface AllocationInput {
  /** Sources in priority order ({@link prioritize}). */
  sorted: readonly VideoSource[];
  /** Effective constraints aligned with {@link sorted} ({@link effectiveConstraints}). */
  effective: readonly VideoConstraints[];
  settings: AllocationSettings;
  /** The receiver's bandwidth estimate, bps; -1 unknown (treated as unlimited). */
  bweBps: number;
  /** Whether to trust the estimate (config `trust-bwe` and, per receiver, JVB's conditions). */
  trustBwe: boolean;
}

/**
 * Step 3: allocate the budget (JVB `BandwidthAllocator.allocate`). The budget is the receiver's
 * `assumedBandwidthBps` when set, else the estimate (unlimited when not trusted or unknown).
 */
export function allocate(input: AllocationInput, config: AllocationConfig): Allocation {
  const { sorted, effective } = input;
  const n = sorted.length;
  if (n === 0) return { sources: [], oversending: false, targetBps: 0, idealBps: 0, suspended: [] };
  // Each source's state (JVB `SingleSourceAllocation`) in arrays by position in `sorted`, not an object per source:
  // a conference-wide re-allocation at 500 endpoints would make 250,000 of them.
  const onStage = new Set(input.settings.onStageSources);
  const considered: Considered[] = new Array(n);
  /** 1 on stage, 2 disabled by its constraints (skipped), else 0. */
  const kind: number[] = new Array(n).fill(0);
  const targetIndex: number[] = new Array(n).fill(-1);
  /** The target layer's bitrate, bps (0 without one). */
  const targetBps: number[] = new Array(n).fill(0);
  for (let i = 0; i < n; i++) {
    const s = sorted[i] as VideoSource;
    const c = effective[i] ?? NOTHING;
    const stage = onStage.has(s.name);
    considered[i] = consider(s, stage, c, config);
    kind[i] = isDisabled(c) ? 2 : stage ? 1 : 0;
  }
  const unlimited = Number.MAX_SAFE_INTEGER;
  const budget = input.settings.assumedBandwidthBps >= 0 ? input.settings.assumedBandwidthBps : input.trustBwe && input.bweBps >= 0 ? input.bweBps : unlimited;
  let remaining = budget;
  let previous = Number.NaN;
  let oversending = false;
  while (previous !== remaining) {
    previous = remaining;
    for (let i = 0; i < n; i++) {
      if (kind[i] === 2) continue;
      const k = considered[i] as Considered;
      const before = targetBps[i] as number;
      const t = improve(k, kind[i] === 1, targetIndex[i] as number, remaining + before, i === 0, config.maxOversendBitrateBps);
      const bps = t > -1 ? (k.bitrates[t] as number) : 0;
      targetIndex[i] = t;
      targetBps[i] = bps;
      remaining -= bps - before;
      if (remaining < 0) oversending = true;
      // Nothing for the thumbnails until the on-stage source has its preferred layer.
      if (kind[i] === 1 && t < k.layers.preferredIndex) break;
    }
  }
  let total = 0;
  let idealBps = 0;
  const sources: SourceAllocation[] = new Array(n);
  const suspended: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = sorted[i] as VideoSource;
    const k = considered[i] as Considered;
    const t = targetIndex[i] as number;
    const ideal = k.layers.layers.at(-1);
    total += targetBps[i] as number;
    idealBps += ideal?.bitrateBps ?? 0;
    sources[i] = { source: s.name, owner: s.owner, target: t > -1 ? k.layers.layers[t] : undefined, ideal };
    // Allowed by the constraints and sending, but no layer fits (JVB `isSuspended`).
    if (t === -1 && (k.bitrates[0] ?? 0) > 0) suspended.push(s.name);
  }
  return { sources, oversending, targetBps: total, idealBps, suspended };
}
