/**
 * A conference's allocation: one bitrate controller per receiver (jitsi-videobridge
 * `BitrateController.kt` + `BandwidthAllocator.kt` scheduling), the conference's speech activity
 * and the sender constraints.
 *
 * Inputs come from the protocol and media layers as plain data (sources with layers, constraints,
 * estimates, the dominant speaker); decisions go out through each receiver's {@link ReceiverSink}
 * (implemented on top of media/'s MediaEndpoint) and as events. Nothing here touches mediasoup.
 *
 * When a receiver is re-allocated:
 * - at once (in the next turn of the event loop, as JVB's `BitrateController` runs on each of them): on every change
 *   of its settings (ReceiverVideoConstraints, LastNChangedEvent), on a dominant speaker change, when a source changes
 *   video type;
 * - soon: when its estimate moves by more than `bwe-change-threshold` (15 %), when a source is added, removed, or
 *   becomes ready for it, when a source's active layers change, and at least every `max-time-between-calculations`
 *   (5 s, with fresh bitrates). These coalesce into one run at most every `minTimeBetweenCalculationsMs`: estimates
 *   and joins come in storms, and a switch to a layer the sender has just turned on, made at once, waited longer for
 *   its keyframe (docs/performance.md).
 */
import { EventEmitter } from 'node:events';
import { allocate, effectiveConstraints, prioritize, selectedOrder } from './BandwidthAllocator.ts';
import { SenderConstraints } from './SenderConstraints.ts';
import { SourceIndexes } from './SourceIndexes.ts';
import { ReceiverSettings, type AllocationConfig, type AllocationSettings, type ConstraintsUpdate } from './settings.ts';
import { SpeechActivity } from './SpeechActivity.ts';
import {
  EMPTY_ALLOCATION,
  forwardedSources,
  isDisabled,
  type Allocation,
  type Layer,
  type VideoConstraints,
  type VideoSource,
  type VideoType,
} from './types.ts';

/** How one video source is forwarded to one receiver. */
export interface VideoForwarding {
  paused: boolean;
  /** Simulcast encoding, or spatial layer of an SVC stream, to forward (0 = lowest); set when not paused. */
  spatialLayer?: number;
  /** Temporal layer; set when not paused. */
  temporalLayer?: number;
  /** mediasoup consumer priority 1..255 (higher first when the transport's estimate drops). */
  priority: number;
}

/** Where a receiver's decisions go (implemented by the conference on its media endpoint and channel). */
export interface ReceiverSink {
  /** Forward (or pause) a video source; called only when the decision changes. */
  video(source: string, forwarding: VideoForwarding): void;
  /** Forward (or pause) an audio source; called only when it changes. */
  audio(source: string, forwarded: boolean): void;
  /** The set of forwarded video sources changed (the `ForwardedSources` message). */
  forwardedSources(sources: readonly string[]): void;
  /**
   * What the allocation would forward if the receiver's estimate allowed, bps (JVB `currentIdealBps`; 0: nothing):
   * while the estimate is below it, the receiver's transport pads up to the estimate so that the estimate can grow
   * to the next layer (JVB `BandwidthProbing`). Called when it changes by more than {@link IDEAL_BITRATE_CHANGE}.
   */
  idealBitrate(bps: number): void;
}

/** A relative change of the ideal bitrate that is passed on to the sink (layer bitrates vary by a few %). */
export const IDEAL_BITRATE_CHANGE = 0.1;

/** `ReceiverAudioSubscription` (normalised: `all` + `include` − `exclude`). */
export interface AudioSubscription {
  all: boolean;
  include: readonly string[];
  exclude: readonly string[];
}

interface ConferenceAllocatorEvents {
  /** Tell `owner` the highest height anyone wants of `source` (`SenderSourceConstraints`). */
  senderConstraints: [owner: string, source: string, maxHeight: number];
  /** A receiver's allocation was computed (after it was applied). */
  allocated: [receiver: string, allocation: Allocation];
}

/** A video source as the allocation sees it, with its index in the receivers' per-source arrays. */
interface IndexedSource extends VideoSource {
  readonly index: number;
}

interface SourceEntry {
  name: string;
  owner: string;
  kind: 'audio' | 'video';
  videoType: VideoType;
  layers: readonly Layer[];
  /** A video source's index in every receiver's per-source arrays ({@link SourceIndexes}); -1 for audio. */
  index: number;
  /** The source as the allocation sees it, shared by every receiver's run; rebuilt when its type or layers change. */
  view: IndexedSource | undefined;
}

interface Receiver {
  id: string;
  sink: ReceiverSink;
  settings: ReceiverSettings;
  audio: AudioSubscription;
  /** Sources announced to this receiver (its consumer exists and the source map went out). */
  ready: Set<string>;
  /**
   * Sources waiting for one of the receiver's SSRC slots (`videobridge.ssrc-limit.*`): no consumer, no map, but
   * allocated as the ready ones, so a decision to forward one gets it a slot (media/Forwarder.ts).
   */
  held: Set<string>;
  // The per-source state a run reads and writes, by video source index (SourceEntry.index): typed arrays, not maps by
  // name, so that a conference-wide re-allocation at 500 endpoints (250,000 pairs) stays in the CPU cache.
  /** 1 when the video source is in {@link ready} or {@link held}. */
  visible: Uint8Array;
  /** The last decision sent to the sink ({@link forwardingKey}); 0 none. */
  applied: Int32Array;
  /** The source's layer in {@link allocation} ({@link layerKey}); 0 when not in it. */
  layerKeys: Int32Array;
  /** The indexes of {@link allocation}'s sources, in its order. */
  listed: Int32Array;
  /** The effective maxHeight + 2 as last counted for the senders ({@link SenderConstraints}); 0 when not listed. */
  heights: Int32Array;
  /** 1 when the effective constraints of the last run let the source through (not {@link isDisabled}). */
  enabled: Uint8Array;
  /** -1 before the first estimate. */
  bweBps: number;
  allocation: Allocation;
  /** The last run's effective constraints, aligned with its sources (reused by the next run). */
  effective: VideoConstraints[];
  audioApplied: Map<string, boolean>;
  forwarded: readonly string[] | undefined;
  /** The ideal bitrate last passed to the sink, bps; a new (or reset) receiver's transport starts at 0. */
  idealBps: number;
  lastRun: number;
  timer: NodeJS.Timeout | undefined;
  /** Whether the pending run ({@link timer}) is the next turn's rather than the coalesced one. */
  timerNow: boolean;
}

/** The conference's video sources grouped by owner, owners in speech order, and the versions it was built at. */
interface OwnerGroups {
  sourcesVersion: number;
  speechVersion: number;
  groups: { owner: string; sources: SourceEntry[] }[];
}

/** See the module docstring. */
export class ConferenceAllocator extends EventEmitter<ConferenceAllocatorEvents> {
  readonly config: AllocationConfig;
  readonly speech: SpeechActivity;
  readonly #sources = new Map<string, SourceEntry>();
  /** owner → the names of its sources (of {@link #sources}). */
  readonly #byOwner = new Map<string, Set<string>>();
  /** Bumped whenever a source is added, replaced or removed. */
  #sourcesVersion = 0;
  readonly #indexes = new SourceIndexes();
  /** The video source at each index ({@link SourceEntry.index}). */
  readonly #byIndex: (SourceEntry | undefined)[] = [];
  #groups: OwnerGroups | undefined;
  readonly #receivers = new Map<string, Receiver>();
  readonly #senders = new SenderConstraints();
  readonly #now: () => number;
  readonly #periodic: NodeJS.Timeout;
  #closed = false;

  /**
   * @param recentSpeakersCount `speech-activity.recent-speakers-count`.
   * @param now clock (ms), for tests.
   */
  constructor(config: AllocationConfig, recentSpeakersCount = 10, now: () => number = Date.now) {
    super();
    this.config = config;
    this.speech = new SpeechActivity(recentSpeakersCount);
    this.#now = now;
    this.#periodic = setInterval(() => this.#periodicRun(), Math.max(100, Math.floor(config.maxTimeBetweenCalculationsMs / 2)));
    this.#periodic.unref();
  }

  // ---------------------------------------------------------------- endpoints and sources

  /**
   * An endpoint joined: it sends (speech activity) and receives (a controller). A relay to another bridge is a
   * receiver too (JVB's AddReceiver semantics), with `speaker: false`: it never speaks itself.
   */
  addEndpoint(id: string, sink: ReceiverSink, initialLastN?: number, opts: { speaker?: boolean } = {}): void {
    if (this.#receivers.has(id)) return;
    if (opts.speaker !== false) this.speech.add(id);
    this.#receivers.set(id, {
      id,
      sink,
      settings: new ReceiverSettings(this.config, initialLastN),
      audio: { all: true, include: [], exclude: [] },
      ready: new Set(),
      held: new Set(),
      visible: new Uint8Array(this.#indexes.capacity),
      applied: new Int32Array(this.#indexes.capacity),
      layerKeys: new Int32Array(this.#indexes.capacity),
      listed: new Int32Array(0),
      heights: new Int32Array(this.#indexes.capacity),
      enabled: new Uint8Array(this.#indexes.capacity),
      bweBps: -1,
      allocation: EMPTY_ALLOCATION,
      effective: [],
      audioApplied: new Map(),
      forwarded: undefined,
      idealBps: 0,
      lastRun: 0,
      timer: undefined,
      timerNow: false,
    });
    this.#scheduleAll();
  }

  /** An endpoint left: its controller stops; its wants no longer count for the senders. */
  removeEndpoint(id: string): void {
    const r = this.#receivers.get(id);
    if (!r) return;
    clearTimeout(r.timer);
    this.#receivers.delete(id);
    this.speech.remove(id);
    // Its heights no longer count for the senders.
    const touched: string[] = [];
    for (const index of r.listed) {
      const name = this.#byIndex[index]?.name;
      if (name !== undefined && this.#uncountHeight(r, index, name)) touched.push(name);
    }
    this.#emitSenderChanges(this.#senders.changes(touched));
    for (const name of [...(this.#byOwner.get(id) ?? [])]) this.removeSource(name);
    this.#scheduleAll();
  }

  /**
   * An endpoint behind a relay (on another bridge): it speaks (its audio is relayed here) and owns sources, but
   * receives through the other bridge's allocation, not ours.
   */
  addRemoteEndpoint(id: string): void {
    this.speech.add(id);
  }

  /** An endpoint behind a relay left: its sources go with it. */
  removeRemoteEndpoint(id: string): void {
    if (this.#receivers.has(id)) return;
    this.speech.remove(id);
    for (const name of [...(this.#byOwner.get(id) ?? [])]) this.removeSource(name);
  }

  /** A source exists (or changed kind/owner). Video starts with no layers until {@link setLayers}. */
  addSource(name: string, owner: string, kind: 'audio' | 'video', videoType: VideoType = 'CAMERA'): void {
    const cur = this.#sources.get(name);
    // Added again (its producer was re-created, e.g. after its worker died): every consumer of it is new.
    if (cur) this.resetSource(name);
    if (cur && cur.owner !== owner) this.#unindex(cur);
    let index = cur?.index ?? -1;
    if (index >= 0 && kind !== 'video') {
      // No longer video: no receiver wants it any more (its owner hears 0).
      for (const r of this.#receivers.values()) this.#uncountHeight(r, index, name);
      this.#emitSenderChanges(this.#senders.changes([name]));
      this.#releaseIndex(index);
    }
    if (kind !== 'video') index = -1;
    else if (index < 0) index = this.#takeIndex();
    const entry: SourceEntry = { name, owner, kind, videoType, layers: cur?.owner === owner ? cur.layers : [], index, view: undefined };
    this.#sources.set(name, entry);
    if (index >= 0) this.#byIndex[index] = entry;
    this.#sourcesVersion++;
    let owned = this.#byOwner.get(owner);
    if (!owned) this.#byOwner.set(owner, (owned = new Set()));
    owned.add(name);
    if (kind === 'video') this.#scheduleAll(owner);
  }

  /** A source is gone for everyone. */
  removeSource(name: string): void {
    const s = this.#sources.get(name);
    if (!s) return;
    this.#sources.delete(name);
    this.#sourcesVersion++;
    this.#unindex(s);
    this.#senders.removeSource(name);
    for (const r of this.#receivers.values()) {
      r.ready.delete(name);
      r.held.delete(name);
      r.audioApplied.delete(name);
    }
    if (s.index >= 0) this.#releaseIndex(s.index);
    if (s.kind === 'video') this.#scheduleAll(s.owner);
  }

  /** The endpoint that sends a source, if it exists. */
  ownerOf(name: string): string | undefined {
    return this.#sources.get(name)?.owner;
  }

  /** Whether a source exists in the conference. */
  hasSource(name: string): boolean {
    return this.#sources.has(name);
  }

  /** `SourceVideoTypeMessage`. @returns false for an unknown or non-video source. */
  setVideoType(name: string, videoType: VideoType): boolean {
    const s = this.#sources.get(name);
    if (s?.kind !== 'video') return false;
    if (s.videoType !== videoType) {
      s.videoType = videoType;
      s.view = undefined;
      this.#scheduleAll(s.owner, 'now');
    }
    return true;
  }

  /**
   * New measured layers of a source. Re-allocates at once when the set of active layers changed
   * (JVB: `layeringChanged`); otherwise the bitrates are used by the next run.
   */
  setLayers(name: string, layers: readonly Layer[]): void {
    const s = this.#sources.get(name);
    if (s?.kind !== 'video') return;
    const changed = activeSignature(s.layers) !== activeSignature(layers);
    s.layers = layers;
    s.view = undefined;
    if (changed) this.#scheduleAll(s.owner);
  }

  /**
   * The source's map was announced to `receiver` and its consumer exists: it may be forwarded. For a source that
   * waited for an SSRC slot ({@link sourceHeld}) the consumer is new: the decisions are made for it again.
   */
  sourceReady(receiver: string, source: string): void {
    const r = this.#receivers.get(receiver);
    const s = this.#sources.get(source);
    if (!r || !s || r.ready.has(source)) return;
    if (r.held.delete(source)) {
      if (s.index >= 0) r.applied[s.index] = 0;
      r.audioApplied.delete(source);
    }
    r.ready.add(source);
    if (s.index >= 0) r.visible[s.index] = 1;
    if (s.kind === 'audio') this.#applyAudioSource(r, source);
    else this.#schedule(r);
  }

  /**
   * The source waits for an SSRC slot of `receiver` (it has no consumer, at first or after losing its slot): it is
   * allocated as a ready one, and a decision to forward it lets it take a slot; its next decision is sent whatever
   * the last one was.
   */
  sourceHeld(receiver: string, source: string): void {
    const r = this.#receivers.get(receiver);
    const s = this.#sources.get(source);
    if (!r || !s) return;
    r.ready.delete(source);
    r.held.add(source);
    if (s.index >= 0) {
      r.visible[s.index] = 1;
      r.applied[s.index] = 0;
    }
    r.audioApplied.delete(source);
    if (s.kind === 'audio') this.#applyAudioSource(r, source);
    else this.#schedule(r);
  }

  /** The receiver's consumers were re-created (worker death): nothing is announced any more. */
  resetReceiver(receiver: string): void {
    const r = this.#receivers.get(receiver);
    if (!r) return;
    r.ready.clear();
    r.held.clear();
    r.visible.fill(0);
    r.applied.fill(0);
    r.audioApplied.clear();
    r.idealBps = 0;
    this.#schedule(r);
  }

  /**
   * A source's producer was re-created (its worker died): every receiver's consumer of it is new, so nothing of it
   * is announced or applied any more; each consumer counts again from its {@link sourceReady}. Keeps its layers.
   */
  resetSource(source: string): void {
    const index = this.#sources.get(source)?.index ?? -1;
    for (const r of this.#receivers.values()) {
      r.ready.delete(source);
      r.held.delete(source);
      if (index >= 0) {
        r.visible[index] = 0;
        r.applied[index] = 0;
      }
      r.audioApplied.delete(source);
    }
  }

  // ---------------------------------------------------------------- receiver input

  /**
   * `ReceiverVideoConstraints` from `receiver`.
   * @returns whether its settings changed.
   */
  setConstraints(receiver: string, update: ConstraintsUpdate): boolean {
    const r = this.#receivers.get(receiver);
    if (!r?.settings.apply(update)) return false;
    this.#schedule(r, 'now');
    return true;
  }

  /** `LastNChangedEvent`. */
  setLastN(receiver: string, lastN: number): void {
    const r = this.#receivers.get(receiver);
    if (r?.settings.setLastN(lastN)) this.#schedule(r, 'now');
  }

  /** `ReceiverAudioSubscription`. */
  setAudioSubscription(receiver: string, sub: AudioSubscription): void {
    const r = this.#receivers.get(receiver);
    if (!r) return;
    r.audio = { all: sub.all, include: [...sub.include], exclude: [...sub.exclude] };
    this.#applyAudio(r);
  }

  /**
   * A new transport-cc estimate towards `receiver`, bps (JVB `bandwidthChanged`, with its hysteresis: one within
   * `bweChangeThreshold` of the last one used is ignored). `reset`: use it whatever the last one was (the first of a
   * new transport, measured by the worker from its own last report).
   */
  bandwidthChanged(receiver: string, bps: number, reset = false): void {
    const r = this.#receivers.get(receiver);
    if (!r) return;
    const prev = r.bweBps;
    if (prev === bps) return;
    const significant = reset || prev < 0 || bps < 0 || Math.abs(bps - prev) > prev * this.config.bweChangeThreshold;
    if (!significant) return;
    r.bweBps = bps;
    this.#schedule(r);
  }

  /**
   * A new dominant speaker (from the media layer's speaker detection).
   * @returns the recent speakers (dominant first) when it changed, else undefined.
   */
  dominantSpeakerChanged(endpoint: string): readonly string[] | undefined {
    if (!this.speech.dominantSpeakerChanged(endpoint)) return undefined;
    this.#scheduleAll(undefined, 'now');
    return this.speech.recentSpeakers;
  }

  // ---------------------------------------------------------------- queries

  /** The layers the allocation knows of a video source, as last set ({@link setLayers}; debug, tests). */
  layersOf(name: string): readonly Layer[] | undefined {
    return this.#sources.get(name)?.layers;
  }

  /** The receiver's settings, last estimate and allocation (debug, tests, ConnectionStats). */
  state(receiver: string): { settings: AllocationSettings; bweBps: number; allocation: Allocation } | undefined {
    const r = this.#receivers.get(receiver);
    return r && { settings: r.settings.get(), bweBps: r.bweBps, allocation: r.allocation };
  }

  /** The highest height currently announced to the senders, per source owned by `owner`. */
  senderConstraintsOf(owner: string): Map<string, number> {
    const owned = this.#byOwner.get(owner);
    return owned ? this.#senders.current((s) => owned.has(s)) : new Map();
  }

  /**
   * Whether `receiver` has one of `owner`'s video sources on stage or selected, or non-zero effective constraints
   * for one as of its last allocation (JVB `BitrateController.kt` `isOnStageOrSelected` / `hasNonZeroEffectiveConstraints`,
   * what JVB `Endpoint.kt` `wantsStatsFrom` looks at).
   */
  wantsVideoOf(receiver: string, owner: string): boolean {
    const r = this.#receivers.get(receiver);
    if (!r) return false;
    const settings = r.settings.get();
    for (const name of this.#byOwner.get(owner) ?? []) {
      const s = this.#sources.get(name);
      if (s?.kind !== 'video') continue;
      if (settings.onStageSources.includes(s.name) || settings.selectedSources.includes(s.name)) return true;
      if (s.index >= 0 && r.enabled[s.index] === 1) return true;
    }
    return false;
  }

  /** Run every pending allocation now (tests, shutdown). */
  flush(): void {
    for (const r of this.#receivers.values()) {
      if (r.timer === undefined) continue;
      clearTimeout(r.timer);
      r.timer = undefined;
      this.#run(r);
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#periodic);
    for (const r of this.#receivers.values()) clearTimeout(r.timer);
    this.#receivers.clear();
  }

  // ---------------------------------------------------------------- scheduling

  /** Re-allocate every receiver (except the owner of what changed, which does not receive its own sources). */
  #scheduleAll(except?: string, when: 'now' | 'soon' = 'soon'): void {
    for (const r of this.#receivers.values()) if (r.id !== except) this.#schedule(r, when);
  }

  /**
   * Re-allocate `r`: `now` in the next turn of the event loop (the triggers of one turn make one run); `soon` at once
   * when its last run is older than the minimum interval, else when that is up (triggers in between coalesce into
   * that one run). A run due now replaces a coalesced one.
   */
  #schedule(r: Receiver, when: 'now' | 'soon' = 'soon'): void {
    if (this.#closed) return;
    const now = when === 'now';
    if (r.timer !== undefined) {
      if (!now || r.timerNow) return;
      clearTimeout(r.timer);
    }
    const wait = now ? 0 : Math.max(0, r.lastRun + this.config.minTimeBetweenCalculationsMs - this.#now());
    r.timerNow = wait === 0;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      if (this.#receivers.get(r.id) === r) this.#run(r);
    }, wait);
    r.timer.unref?.();
  }

  #periodicRun(): void {
    const now = this.#now();
    for (const r of this.#receivers.values()) {
      if (now - r.lastRun >= this.config.maxTimeBetweenCalculationsMs) this.#schedule(r);
    }
  }

  // ---------------------------------------------------------------- one allocation

  /**
   * Every other endpoint's video sources ready (or waiting for an SSRC slot) for `r`, in their owners' last-N order
   * (JVB `updateLastNEndpoints`: by speech activity, owners with a visible source that is not DISABLED first), each
   * owner's in the order its sources were added.
   */
  #candidates(r: Receiver): IndexedSource[] {
    const visible = r.visible;
    const out: IndexedSource[] = [];
    let withoutVideo: IndexedSource[] | undefined;
    for (const { owner, sources } of this.#ownerGroups()) {
      if (owner === r.id) continue;
      const start = out.length;
      let sends = false;
      for (const s of sources) {
        if (visible[s.index] !== 1) continue;
        s.view ??= { name: s.name, owner: s.owner, videoType: s.videoType, layers: s.layers, index: s.index };
        out.push(s.view);
        if (s.videoType !== 'DISABLED') sends = true;
      }
      if (!sends && out.length > start) (withoutVideo ??= []).push(...out.splice(start));
    }
    if (withoutVideo) out.push(...withoutVideo);
    return out;
  }

  /**
   * The conference's video sources by owner, owners in speech order: what every receiver's {@link #candidates} walks.
   * Rebuilt once after a source or the speech order changed (once per dominant speaker change, not per receiver).
   */
  #ownerGroups(): OwnerGroups['groups'] {
    const c = this.#groups;
    if (c && c.sourcesVersion === this.#sourcesVersion && c.speechVersion === this.speech.version) return c.groups;
    const byOwner = new Map<string, SourceEntry[]>();
    for (const s of this.#sources.values()) {
      if (s.kind !== 'video') continue;
      const list = byOwner.get(s.owner);
      if (list) list.push(s);
      else byOwner.set(s.owner, [s]);
    }
    const groups: OwnerGroups['groups'] = [];
    for (const owner of this.speech.bySpeech) {
      const sources = byOwner.get(owner);
      if (sources) groups.push({ owner, sources });
    }
    this.#groups = { sourcesVersion: this.#sourcesVersion, speechVersion: this.speech.version, groups };
    return groups;
  }

  /** A new video source index, every receiver's arrays grown to hold it. */
  #takeIndex(): number {
    const before = this.#indexes.capacity;
    const index = this.#indexes.take();
    const capacity = this.#indexes.capacity;
    if (capacity !== before) {
      for (const r of this.#receivers.values()) {
        r.visible = grown(r.visible, capacity);
        r.applied = grown(r.applied, capacity);
        r.layerKeys = grown(r.layerKeys, capacity);
        r.heights = grown(r.heights, capacity);
        r.enabled = grown(r.enabled, capacity);
      }
    }
    return index;
  }

  /** A video source is gone: nothing of it is left at its index for the source that takes the index next. */
  #releaseIndex(index: number): void {
    for (const r of this.#receivers.values()) {
      r.visible[index] = 0;
      r.applied[index] = 0;
      r.layerKeys[index] = 0;
      r.heights[index] = 0;
      r.enabled[index] = 0;
    }
    this.#byIndex[index] = undefined;
    this.#indexes.release(index);
  }

  #run(r: Receiver): void {
    if (this.#closed) return;
    r.lastRun = this.#now();
    const settings = r.settings.get();
    const sorted = prioritize(this.#candidates(r), selectedOrder(settings));
    const effective = effectiveConstraints(sorted, settings, this.config, r.effective);
    const allocation = allocate({ sorted, effective, settings, bweBps: r.bweBps, trustBwe: this.config.trustBwe }, this.config);
    // Whether it forwards other layers or sources than the last one (JVB `isTheSameAs`), from the layers kept by index.
    const before = r.allocation;
    let changed = allocation.sources.length !== before.sources.length || allocation.oversending !== before.oversending;
    const layerKeys = r.layerKeys;
    const listed = new Int32Array(allocation.sources.length);
    r.allocation = allocation;
    r.effective = effective;
    const dropped = r.listed;
    // Apply: consumers paused or at their target layers, priorities in allocation order. `allocate` keeps `sorted`'s
    // order, so a source's index is the one at its rank.
    allocation.sources.forEach((a, rank) => {
      const index = (sorted[rank] as IndexedSource).index;
      listed[rank] = index;
      if (layerKeys[index] !== layerKey(a.target)) changed = true;
      const priority = a.target ? Math.max(1, 255 - rank) : 1;
      const key = forwardingKey(a.target, priority);
      if (r.applied[index] === key) return;
      r.applied[index] = key;
      const f: VideoForwarding = a.target
        ? { paused: false, spatialLayer: a.target.spatial, temporalLayer: a.target.temporal, priority }
        : { paused: true, priority };
      r.sink.video(a.source, f);
    });
    for (const index of dropped) layerKeys[index] = 0;
    allocation.sources.forEach((a, rank) => {
      layerKeys[listed[rank] as number] = layerKey(a.target);
    });
    r.listed = listed;
    const forwarded = forwardedSources(allocation);
    if (r.forwarded === undefined || !sameSet(forwarded, r.forwarded)) {
      r.forwarded = forwarded;
      r.sink.forwardedSources(forwarded);
    }
    const ideal = allocation.idealBps;
    if ((ideal === 0) !== (r.idealBps === 0) || Math.abs(ideal - r.idealBps) > r.idealBps * IDEAL_BITRATE_CHANGE) {
      r.idealBps = ideal;
      r.sink.idealBitrate(ideal);
    }
    this.#countHeights(r, sorted, effective, dropped);
    if (changed) this.emit('allocated', r.id, allocation);
  }

  /**
   * Count `r`'s effective heights for the senders: those that changed since its last run, those of sources listed for
   * the first time, and those of sources no longer listed (in `dropped`, the last run's indexes, with no layer key
   * left after this run's).
   */
  #countHeights(r: Receiver, sorted: readonly IndexedSource[], effective: readonly VideoConstraints[], dropped: Int32Array): void {
    const { heights, enabled } = r;
    const touched: string[] = [];
    sorted.forEach((s, i) => {
      const c = effective[i] as VideoConstraints;
      enabled[s.index] = isDisabled(c) ? 0 : 1;
      const old = heights[s.index] as number;
      if (old === c.maxHeight + 2) return;
      this.#senders.update(s.name, old === 0 ? undefined : old - 2, c.maxHeight);
      heights[s.index] = c.maxHeight + 2;
      touched.push(s.name);
    });
    for (const index of dropped) {
      if (r.layerKeys[index] !== 0) continue;
      const name = this.#byIndex[index]?.name;
      if (name !== undefined && this.#uncountHeight(r, index, name)) touched.push(name);
    }
    this.#emitSenderChanges(this.#senders.changes(touched));
  }

  /**
   * `r`'s height for the source at `index` (named `name`) no longer counts for its sender: taken off the counts when it
   * was counted. @returns whether it was (the caller collects the announcements).
   */
  #uncountHeight(r: Receiver, index: number, name: string): boolean {
    const old = r.heights[index] as number;
    if (old === 0) return false;
    this.#senders.update(name, old - 2, undefined);
    r.heights[index] = 0;
    r.enabled[index] = 0;
    return true;
  }

  #emitSenderChanges(changes: Map<string, number>): void {
    for (const [source, maxHeight] of changes) {
      const s = this.#sources.get(source);
      if (s) this.emit('senderConstraints', s.owner, source, maxHeight);
    }
  }

  /** Audio: every ready source (or one waiting for an SSRC slot) the subscription lets through is forwarded. */
  #applyAudio(r: Receiver): void {
    for (const name of [...r.ready, ...r.held]) this.#applyAudioSource(r, name);
  }

  /**
   * {@link #applyAudio} for one source, when only it became ready or held: the others' decisions
   * depend on the subscription alone, which did not change.
   */
  #applyAudioSource(r: Receiver, name: string): void {
    const s = this.#sources.get(name);
    if (s?.kind !== 'audio') return;
    const on = !r.audio.exclude.includes(name) && (r.audio.all || r.audio.include.includes(name));
    if (r.audioApplied.get(name) === on) return;
    r.audioApplied.set(name, on);
    r.sink.audio(name, on);
  }

  /** Drop `s` from its owner's sources. */
  #unindex(s: SourceEntry): void {
    const owned = this.#byOwner.get(s.owner);
    if (!owned) return;
    owned.delete(s.name);
    if (owned.size === 0) this.#byOwner.delete(s.owner);
  }
}

/**
 * A video decision as a number, to tell whether it changed: -priority when paused, else the
 * layers (spatial and temporal indexes, 0 and up) and the priority (1..255) packed, always > 0.
 */
function forwardingKey(target: Layer | undefined, priority: number): number {
  return target ? (target.spatial * 256 + target.temporal) * 256 + priority : -priority;
}

/** A source's layer in an allocation as a number, 1 (none) and up: what JVB `isTheSameAs` compares. */
function layerKey(target: Layer | undefined): number {
  return target ? 2 + target.spatial * 256 + target.temporal : 1;
}

/** `a` copied into a zeroed array of `length`. */
function grown<A extends Uint8Array | Int32Array>(a: A, length: number): A {
  const out = new (a.constructor as new (n: number) => A)(length);
  out.set(a);
  return out;
}

/** Which layers are active (sending), as a comparable string. */
function activeSignature(layers: readonly Layer[]): string {
  return layers.map((l) => `${l.spatial}.${l.temporal}:${l.bitrateBps > 0 ? 1 : 0}:${l.height}`).join(',');
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(b);
  return a.every((x) => s.has(x));
}
