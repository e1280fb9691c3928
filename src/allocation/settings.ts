/**
 * A receiver's allocation settings and the bridge-wide allocation config.
 *
 * `ReceiverSettings` applies `ReceiverVideoConstraints` as JVB does
 * (`cc/allocation/AllocationSettings.kt`, `AllocationSettingsWrapper`): a partial update where
 * present fields replace the stored value; before any message the default constraints are
 * `initial-max-height-px` (0: nothing is forwarded until the client says what it wants); the
 * first message without `defaultConstraints` sets `default-max-height-px` (180).
 */
import { bitrate, bool, duration, HOUR, int, MINUTE, num, type SettingsTable } from '../util/settings.ts';
import { constraints, sameConstraints, type VideoConstraints } from './types.ts';

/**
 * `videobridge.cc.*` (jitsi-videobridge reference.conf), plus octobridge's minimum interval
 * between two allocations of one receiver.
 */
export interface AllocationConfig {
  /** Default constraints' height when a message omits them, px (`default-max-height-px`, 180). */
  defaultMaxHeightPx: number;
  /** Default constraints' height before any message, px (`initial-max-height-px`, 0). */
  initialMaxHeightPx: number;
  /** On-stage sources are allocated greedily up to this height, px (`onstage-preferred-height-px`, 360). */
  onstagePreferredHeightPx: number;
  /** At or above the preferred height only layers with this frame rate count, fps (`onstage-preferred-framerate`, 30). */
  onstagePreferredFramerate: number;
  /** An on-stage screen share may exceed the budget (`allow-oversend-onstage`, true). */
  allowOversendOnstage: boolean;
  /** By how much, bps (`max-oversend-bitrate`, 500 kbps). */
  maxOversendBitrateBps: number;
  /** Allocate within the bandwidth estimate; false = as if unlimited (`trust-bwe`, true). */
  trustBwe: boolean;
  /** A new estimate re-allocates only when it differs by more than this fraction (`bwe-change-threshold`, 0.15). */
  bweChangeThreshold: number;
  /** Re-allocate at least this often, ms (`max-time-between-calculations`, 5 s). */
  maxTimeBetweenCalculationsMs: number;
  /**
   * Re-allocate one receiver at most this often for the triggers that come in storms (estimates, sources joining and
   * leaving) and for a source's new layers, ms; they coalesce in between (octobridge). A receiver's own settings, the
   * dominant speaker and video types re-allocate at once.
   */
  minTimeBetweenCalculationsMs: number;
  /** Bridge-wide last-N, -1 = none (`jvb-last-n`). */
  jvbLastN: number;
  /** Last-N before the client sets one (`initial-last-n`, -1). */
  initialLastN: number;
  /** Receivers may override the estimate with `assumedBandwidthBps` up to this, bps; undefined = not allowed (`assumed-bandwidth-limit`). */
  assumedBandwidthLimitBps: number | undefined;
}

/** jitsi-videobridge's reference.conf values. */
export const DEFAULT_ALLOCATION_CONFIG: Readonly<AllocationConfig> = Object.freeze({
  defaultMaxHeightPx: 180,
  initialMaxHeightPx: 0,
  onstagePreferredHeightPx: 360,
  onstagePreferredFramerate: 30,
  allowOversendOnstage: true,
  maxOversendBitrateBps: 500_000,
  trustBwe: true,
  bweChangeThreshold: 0.15,
  maxTimeBetweenCalculationsMs: 5_000,
  minTimeBetweenCalculationsMs: 200,
  jvbLastN: -1,
  initialLastN: -1,
  assumedBandwidthLimitBps: undefined,
});

/**
 * Where each allocation setting is set: `videobridge.cc.*` in jvb.conf as JVB reads them (`BitrateControllerConfig.kt`
 * and `cc/config`), octobridge's own under `octobridge.cc`, and docker-jitsi-meet's `JVB_CC_TRUST_BWE` (its
 * jvb.conf template writes `cc.trust-bwe` from it).
 */
export const ALLOCATION_SETTINGS: SettingsTable<AllocationConfig> = [
  { key: 'defaultMaxHeightPx', file: 'videobridge.cc.default-max-height-px', value: int(0, 10_000) },
  { key: 'initialMaxHeightPx', file: 'videobridge.cc.initial-max-height-px', value: int(0, 10_000) },
  { key: 'onstagePreferredHeightPx', file: 'videobridge.cc.onstage-preferred-height-px', value: int(0, 10_000) },
  { key: 'onstagePreferredFramerate', file: 'videobridge.cc.onstage-preferred-framerate', value: num(0, 240) },
  { key: 'allowOversendOnstage', file: 'videobridge.cc.allow-oversend-onstage', value: bool },
  { key: 'maxOversendBitrateBps', file: 'videobridge.cc.max-oversend-bitrate', value: bitrate(0, 1e10) },
  { key: 'trustBwe', file: 'videobridge.cc.trust-bwe', env: 'JVB_CC_TRUST_BWE', value: bool },
  { key: 'bweChangeThreshold', file: 'videobridge.cc.bwe-change-threshold', value: num(0, 10) },
  { key: 'maxTimeBetweenCalculationsMs', file: 'videobridge.cc.max-time-between-calculations', value: duration(100, HOUR) },
  { key: 'minTimeBetweenCalculationsMs', file: 'octobridge.cc.min-time-between-calculations', value: duration(0, MINUTE) },
  { key: 'jvbLastN', file: 'videobridge.cc.jvb-last-n', value: int(-1, 1_000_000) },
  { key: 'initialLastN', file: 'videobridge.cc.initial-last-n', value: int(-1, 1_000_000) },
  { key: 'assumedBandwidthLimitBps', file: 'videobridge.cc.assumed-bandwidth-limit', value: bitrate(0, 1e11) },
];

/** What one receiver asked for (JVB `AllocationSettings`). Immutable snapshot. */
export interface AllocationSettings {
  readonly lastN: number;
  readonly selectedSources: readonly string[];
  readonly onStageSources: readonly string[];
  readonly defaultConstraints: VideoConstraints;
  readonly constraints: ReadonlyMap<string, VideoConstraints>;
  /** bps; -1 = use the estimate. */
  readonly assumedBandwidthBps: number;
}

/** The constraints of `source` under `settings` (explicit, else the default). */
export function constraintsOf(settings: AllocationSettings, source: string): VideoConstraints {
  return settings.constraints.get(source) ?? settings.defaultConstraints;
}

/** A `ReceiverVideoConstraints` update as parsed at the bridge-channel edge (every field optional). */
export interface ConstraintsUpdate {
  lastN?: number;
  selectedSources?: readonly string[];
  onStageSources?: readonly string[];
  defaultConstraints?: { maxHeight: number; maxFrameRate?: number };
  constraints?: Readonly<Record<string, { maxHeight: number; maxFrameRate?: number }>>;
  assumedBandwidthBps?: number;
}

/** A receiver's settings, updated message by message (see the module docstring). */
export class ReceiverSettings {
  #settings: AllocationSettings;
  #everSet = false;
  readonly #config: AllocationConfig;

  constructor(config: AllocationConfig, initialLastN?: number) {
    this.#config = config;
    this.#settings = {
      lastN: initialLastN ?? config.initialLastN,
      selectedSources: [],
      onStageSources: [],
      defaultConstraints: constraints(config.initialMaxHeightPx),
      constraints: new Map(),
      assumedBandwidthBps: -1,
    };
  }

  get(): AllocationSettings {
    return this.#settings;
  }

  /**
   * Apply a `ReceiverVideoConstraints` update.
   * @returns whether anything changed (an allocation is due).
   */
  apply(u: ConstraintsUpdate): boolean {
    const cur = this.#settings;
    const next: { -readonly [K in keyof AllocationSettings]: AllocationSettings[K] } = { ...cur };
    let changed = false;
    if (u.lastN !== undefined && u.lastN !== cur.lastN) {
      next.lastN = u.lastN;
      changed = true;
    }
    if (u.selectedSources !== undefined && !sameList(u.selectedSources, cur.selectedSources)) {
      next.selectedSources = [...u.selectedSources];
      changed = true;
    }
    if (u.onStageSources !== undefined && !sameList(u.onStageSources, cur.onStageSources)) {
      next.onStageSources = [...u.onStageSources];
      changed = true;
    }
    const def = u.defaultConstraints
      ? constraints(u.defaultConstraints.maxHeight, u.defaultConstraints.maxFrameRate)
      : this.#everSet
        ? undefined
        : constraints(this.#config.defaultMaxHeightPx);
    if (def && !sameConstraints(def, cur.defaultConstraints)) {
      next.defaultConstraints = def;
      changed = true;
    }
    if (u.constraints !== undefined) {
      const map = new Map(Object.entries(u.constraints).map(([k, v]) => [k, constraints(v.maxHeight, v.maxFrameRate)] as const));
      if (!sameMap(map, cur.constraints)) {
        next.constraints = map;
        changed = true;
      }
    }
    if (u.assumedBandwidthBps !== undefined) {
      const limit = this.#config.assumedBandwidthLimitBps;
      // JVB: only honoured when `assumed-bandwidth-limit` is configured, and capped by it.
      const v = limit === undefined ? cur.assumedBandwidthBps : u.assumedBandwidthBps < 0 ? -1 : Math.min(u.assumedBandwidthBps, limit);
      if (v !== cur.assumedBandwidthBps) {
        next.assumedBandwidthBps = v;
        changed = true;
      }
    }
    this.#everSet = true;
    if (changed) this.#settings = next;
    return changed;
  }

  /** `LastNChangedEvent`. @returns whether it changed. */
  setLastN(lastN: number): boolean {
    if (lastN === this.#settings.lastN) return false;
    this.#settings = { ...this.#settings, lastN };
    return true;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMap(a: ReadonlyMap<string, VideoConstraints>, b: ReadonlyMap<string, VideoConstraints>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!sameConstraints(v, b.get(k))) return false;
  return true;
}
