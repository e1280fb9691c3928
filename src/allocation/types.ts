/**
 * The allocation's vocabulary: video sources with their layers, receiver constraints, and the
 * allocation result. Pure data: nothing here knows mediasoup or the bridge channel.
 *
 * Follows jitsi-videobridge `cc/allocation/` (`VideoConstraints.kt`, `Layers.kt`,
 * `BandwidthAllocation.kt`) and `nlj/RtpLayerDesc.kt`.
 */

/** Height of a constraint meaning "no limit" (JVB `VideoConstraints.UNLIMITED_HEIGHT`). */
export const UNLIMITED_HEIGHT = -1;
/** Frame rate of a constraint meaning "no limit" (JVB `VideoConstraints.UNLIMITED_FRAME_RATE`). */
export const UNLIMITED_FRAME_RATE = -1;

/**
 * What a receiver allows for one source (JVB `VideoConstraints`).
 * - `maxHeight`: px of the smaller dimension; -1 unlimited, 0 = never forward, > 0 = soft cap (the lowest
 *   layer may exceed it when nothing smaller exists).
 * - `maxFrameRate`: fps; -1 unlimited, 0 = never forward, > 0 = cap.
 */
export interface VideoConstraints {
  readonly maxHeight: number;
  readonly maxFrameRate: number;
}

/** Forward nothing of the source. */
export const NOTHING: VideoConstraints = Object.freeze({ maxHeight: 0, maxFrameRate: UNLIMITED_FRAME_RATE });
/** No limit at all. */
export const UNLIMITED: VideoConstraints = Object.freeze({ maxHeight: UNLIMITED_HEIGHT, maxFrameRate: UNLIMITED_FRAME_RATE });

/** Constraints with the optional frame rate filled in (-1). */
export function constraints(maxHeight: number, maxFrameRate: number = UNLIMITED_FRAME_RATE): VideoConstraints {
  return { maxHeight, maxFrameRate };
}

/** Whether the constraints forbid forwarding the source (JVB `VideoConstraints.isDisabled`). */
export function isDisabled(c: VideoConstraints): boolean {
  return c.maxHeight === 0 || c.maxFrameRate === 0;
}

/** Structural equality of two constraints. */
export function sameConstraints(a: VideoConstraints | undefined, b: VideoConstraints | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.maxHeight === b.maxHeight && a.maxFrameRate === b.maxFrameRate);
}

/** Video type of a source, as in `SourceVideoTypeMessage` (DISABLED = camera off / not sending). */
import type { VideoType } from '../jingle/types.ts';
export type { VideoType };

/**
 * One layer a sender offers: a simulcast encoding (`spatial`, 0 = lowest) at a temporal layer
 * (`temporal`, 0 = lowest frame rate). JVB `RtpLayerDesc`.
 */
export interface Layer {
  readonly spatial: number;
  readonly temporal: number;
  /** Frame height, px; -1 when unknown. */
  readonly height: number;
  /** Frame rate, fps; -1 when unknown. */
  readonly frameRate: number;
  /**
   * Measured bitrate of the layer including what it depends on (lower temporal layers of the same
   * encoding), bps; 0 = the sender is not sending it (inactive).
   */
  readonly bitrateBps: number;
}

/**
 * A video source as the allocator sees it (JVB `MediaSourceDesc`): `layers` in quality order
 * (spatial, then temporal, ascending), possibly empty before the first stats.
 */
export interface VideoSource {
  readonly name: string;
  readonly owner: string;
  readonly videoType: VideoType;
  readonly layers: readonly Layer[];
}

/** The allocation for one source towards one receiver (JVB `SingleAllocation`). */
export interface SourceAllocation {
  readonly source: string;
  readonly owner: string;
  /** The layer to forward; undefined = not forwarded. */
  readonly target: Layer | undefined;
  /** The layer that would be forwarded with unlimited bandwidth. */
  readonly ideal: Layer | undefined;
}

/** A receiver's allocation (JVB `BandwidthAllocation`), sources in priority order. */
export interface Allocation {
  readonly sources: readonly SourceAllocation[];
  /** The budget was exceeded (screen share on stage, JVB's oversending). */
  readonly oversending: boolean;
  /** Sum of the target layers' bitrates, bps. */
  readonly targetBps: number;
  /** Sum of the ideal layers' bitrates, bps. */
  readonly idealBps: number;
  /** Sources allowed by the constraints and sending, but given no layer for lack of bandwidth. */
  readonly suspended: readonly string[];
}

/** The names of the sources an allocation forwards (JVB `BandwidthAllocation.forwardedSources`). */
export function forwardedSources(a: Allocation): string[] {
  return a.sources.filter((s) => s.target !== undefined).map((s) => s.source);
}

/**
 * Whether two allocations forward the same layers of the same sources (JVB `isTheSameAs`). ConferenceAllocator makes
 * the same check from the layers it keeps by source index, without a map per run; its tests check the two agree.
 */
export function sameAllocation(a: Allocation, b: Allocation): boolean {
  if (a.sources.length !== b.sources.length || a.oversending !== b.oversending) return false;
  const byName = new Map(b.sources.map((s) => [s.source, s]));
  return a.sources.every((s) => {
    const o = byName.get(s.source);
    return o !== undefined && sameLayer(s.target, o.target);
  });
}

function sameLayer(a: Layer | undefined, b: Layer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.spatial === b.spatial && a.temporal === b.temporal);
}

/** The empty allocation. */
export const EMPTY_ALLOCATION: Allocation = Object.freeze({ sources: [], oversending: false, targetBps: 0, idealBps: 0, suspended: [] });
