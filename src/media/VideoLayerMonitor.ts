/**
 * What each video source offers, layer by layer: the allocation's input (jitsi-videobridge keeps
 * this in `MediaSourceDesc`/`RtpLayerDesc`, learnt from the packets it forwards).
 *
 * - **Bitrates** come from the producer's RTP stream stats, polled every second and shortly after a keyframe that
 *   may start a layer (a sender starts an encoding or a spatial layer with one; one on a layer already sending, such
 *   as a receiver's PLI answered, waits for the next poll): per simulcast encoding, mediasoup's
 *   `bitrateByLayer["0.<tid>"]` is the bitrate up to that temporal layer (what JVB allocates with); 0 = the layer
 *   is not being sent.
 * - **Resolution** comes from every keyframe the sender sends, as JVB's `Vp8Parser` learns a layer's height from
 *   the keyframes it forwards: the producer's `keyframe` trace carries the packet's first bytes (worker patch 0020),
 *   whose VP8 frame header, VP9 scalability structure or AV1 dependency descriptor has the frame size. A sender
 *   that rescales (CPU or bandwidth adaptation) starts the new size with a keyframe, so nothing is polled for it.
 * - **Frame rates**, and the sizes again, come from a short-lived look at the packets through a paused pipe consumer
 *   on the router's DirectTransport ("probe"): the RTP timestamps per temporal layer over ~1 s. Resuming it makes
 *   the sender send a keyframe on every encoding (mediasoup's pipe consumer waits for one per stream), so a probe
 *   runs only when the set of active encodings is one it has not measured (the source starts, a layer starts or
 *   stops), not periodically. It reads every packet (an AV1 dependency descriptor's structure, whenever one comes) and
 *   its keyframe request makes the sender send its sizes at once. Measuring frame rates from the producer's `rtp`
 *   trace instead, with no keyframe request, failed the AV1 L3T3_KEY layer test (test/e2e/layers.test.ts) 3 times in
 *   8 runs, a thumbnail kept at 720p while Chromium's encoder reconfigured, against none in 6 with this probe.
 * - **SVC** (VP9, AV1; a producer of type `svc`, media/svc.ts): the layers are the stream's spatial layers instead of
 *   encodings. mediasoup's `bitrateByLayer["s.t"]` of the one stream is what an SVC consumer forwards for layer s.t
 *   (every spatial layer below s, and s up to t). The probe reads the VP9 payload descriptor (spatial/temporal ids,
 *   the keyframe's scalability structure with every spatial layer's size) or the AV1 dependency descriptor (ids from
 *   its templates, render resolutions from its structure).
 * - Encodings with no size seen (suspended, or H264) are inferred from
 *   the measured ones by lib-jitsi-meet's simulcast ladder (each encoding twice the height of the
 *   one below; `SIM_LAYERS` scale factors 4/2/1), else from a 720p top; frame rates default to
 *   30 fps at the top active temporal layer, halving per layer below (L1T3: 7.5/15/30).
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { Layer } from '../allocation/types.ts';
import type { Logger } from '../logger.ts';
import { DependencyDescriptorReader } from './av1dd.ts';
import { rtpExtension, rtpPayload } from './rtpPayload.ts';
import { DEPENDENCY_DESCRIPTOR_URI } from './svc.ts';
import { parseVp8Packet } from './vp8.ts';
import { parseVp9Packet } from './vp9.ts';

/** How often bitrates are polled, ms. */
export const LAYER_STATS_INTERVAL_MS = 1000;
/** How long after a keyframe its source's layers are read again, ms (a new encoding starts with one). */
export const KEYFRAME_POLL_DELAY_MS = 50;
/** Keyframes re-read a source's layers at most this often, ms. */
export const KEYFRAME_POLL_MIN_INTERVAL_MS = 250;
/** A probe watches at least this long (frame rates), ms. */
const PROBE_MIN_MS = 1000;
/** A probe gives up after this long, ms. */
const PROBE_MAX_MS = 3000;
/** Height assumed for the top encoding when nothing was measured, px. */
const DEFAULT_TOP_HEIGHT = 720;
/** Frame rate assumed for the top temporal layer when nothing was measured, fps. */
const DEFAULT_FRAME_RATE = 30;

/** What a probe measured of one encoding. */
interface Measured {
  height?: number;
  /** Frames per second up to each temporal layer (index = tid). */
  frameRates: number[];
}

interface Entry {
  source: string;
  producer: ms.Producer;
  /** One SVC stream: layers are its spatial layers, bitrates from its `bitrateByLayer["s.t"]`. */
  svc: boolean;
  /** Spatial index by the producer's SSRC. */
  spatialBySsrc: Map<number, number>;
  encodings: number;
  measured: Map<number, Measured>;
  /** The spatial indices active in the last stats (encodings; SVC: spatial layers), to notice changes. */
  active: ReadonlySet<number>;
  /** The last stats' bitrates per spatial index, bps up to each temporal layer (to rebuild the layers on a new size). */
  bitrates: ReadonlyMap<number, readonly number[]>;
  probe?: Probe;
  /** The active set ({@link keyOf}) the last probe started under; undefined before the first. */
  probedKey?: string;
  /** Reads the frame size from a keyframe's first bytes (the producer's own packets: its SSRCs, its extension ids). */
  readKeyframe?: ProbeParser;
  layers: Layer[];
  /** A poll due after a keyframe ({@link VideoLayerMonitor} `#soon`), and when the last one was scheduled (ms). */
  soon?: NodeJS.Timeout;
  keyframePollAt: number;
}

/** What the probe learns from one packet: its layer, frame (timestamp) and, on keyframes, heights of layers. */
export interface ProbeSample {
  spatial: number;
  tid: number;
  timestamp: number;
  /** Heights (smaller dimension, px) learnt from this packet, by spatial layer. */
  heights?: ReadonlyMap<number, number>;
}

/** Turns a packet of the probed stream into a sample (undefined: not parsable, ignored). */
export type ProbeParser = (packet: Uint8Array) => ProbeSample | undefined;

/**
 * The packet parser for a probe consumer, or for the packets of a producer's keyframe trace (the producer's own SSRCs
 * and extension ids): VP8 (layer = encoding by SSRC, size from keyframes), VP9 (payload descriptor and scalability
 * structure) or AV1 (dependency descriptor, with the id `stream` negotiated). A VP9 or AV1 source produced as simulcast
 * (several encodings, one spatial layer each) is read like VP8: the layer is the encoding of the packet's SSRC, its
 * size the only one in that stream's structure (AV1: one reader per SSRC, each stream has its own dependency
 * structure). A packet cut short (a trace's first bytes) gives what its bytes hold.
 * @returns undefined for codecs the probe cannot read (H264)
 */
export function probeParser(stream: Pick<ms.Consumer | ms.Producer, 'rtpParameters'>): ProbeParser | undefined {
  const mime = stream.rtpParameters.codecs[0]?.mimeType.toLowerCase();
  const encodings = stream.rtpParameters.encodings ?? [];
  const spatialBySsrc = new Map(encodings.map((e, i) => [e.ssrc ?? 0, i]));
  const simulcast = encodings.length > 1;
  if (mime === 'video/vp8') {
    return (packet) => {
      const p = parseVp8Packet(packet);
      const spatial = p && spatialBySsrc.get(p.ssrc);
      if (!p || spatial === undefined) return undefined;
      const heights = p.keyframe ? new Map([[spatial, Math.min(p.keyframe.width, p.keyframe.height)]]) : undefined;
      return { spatial, tid: p.tid, timestamp: p.timestamp, ...(heights ? { heights } : {}) };
    };
  }
  if (mime === 'video/vp9') {
    return (packet) => {
      const p = parseVp9Packet(packet);
      const spatial = p && (simulcast ? spatialBySsrc.get(p.ssrc) : p.sid);
      if (!p || spatial === undefined) return undefined;
      const sizes = simulcast ? p.sizes?.slice(0, 1).map((z) => [spatial, z] as const) : p.sizes?.map((z, i) => [i, z] as const);
      const heights = sizes ? new Map(sizes.map(([i, z]) => [i, Math.min(z.width, z.height)])) : undefined;
      return { spatial, tid: p.tid, timestamp: p.timestamp, ...(heights ? { heights } : {}) };
    };
  }
  if (mime === 'video/av1') {
    const id = stream.rtpParameters.headerExtensions?.find((e) => e.uri === DEPENDENCY_DESCRIPTOR_URI)?.id;
    if (id === undefined) return undefined;
    const readers = new Map<number, DependencyDescriptorReader>();
    return (packet) => {
      const rtp = rtpPayload(packet);
      const ssrc = rtp?.view.getUint32(8);
      const spatialOfSsrc = simulcast && ssrc !== undefined ? spatialBySsrc.get(ssrc) : 0;
      if (!rtp || ssrc === undefined || spatialOfSsrc === undefined) return undefined;
      const key = simulcast ? ssrc : 0;
      let reader = readers.get(key);
      if (!reader) readers.set(key, (reader = new DependencyDescriptorReader()));
      const dd = rtpExtension(packet, rtp, id);
      const d = dd && reader.read(dd);
      if (!d) return undefined;
      const spatial = simulcast ? spatialOfSsrc : d.spatialId;
      const all = d.newStructure && d.heights && d.widths ? d.heights.map((h, i) => [i, Math.min(h, d.widths?.[i] ?? h)] as const) : undefined;
      const heights = all ? new Map(simulcast ? all.slice(0, 1).map(([, h]) => [spatial, h] as const) : all) : undefined;
      return { spatial, tid: d.temporalId, timestamp: rtp.view.getUint32(4), ...(heights ? { heights } : {}) };
    };
  }
  return undefined;
}

/** A paused pipe consumer, resumed for one measurement at a time. */
class Probe {
  readonly consumer: ms.Consumer;
  readonly #parse: ProbeParser;
  running = false;

  constructor(consumer: ms.Consumer, parse: ProbeParser) {
    this.consumer = consumer;
    this.#parse = parse;
  }

  /**
   * Watch the packets until every layer sending showed its size (≥ 1 s, ≤ 3 s). Ends on the packet that completes it
   * (or at the 1 s mark), not on a polling timer: two timers per probe, however long it watches.
   */
  async measure(): Promise<Map<number, Measured>> {
    this.running = true;
    const frames = new Map<number, Map<number, Set<number>>>(); // spatial → tid → timestamps
    const sizes = new Map<number, number>();
    let minimumWatched = false;
    let finish = (): void => undefined;
    const onClose = (): void => finish();
    const complete = (): boolean => minimumWatched && frames.size > 0 && [...frames.keys()].every((s) => sizes.has(s));
    const onRtp = (packet: Buffer): void => {
      const p = this.#parse(packet);
      if (!p) return;
      let byTid = frames.get(p.spatial);
      if (!byTid) frames.set(p.spatial, (byTid = new Map()));
      let ts = byTid.get(p.tid);
      if (!ts) byTid.set(p.tid, (ts = new Set()));
      ts.add(p.timestamp);
      for (const [spatial, height] of p.heights ?? []) sizes.set(spatial, height);
      if (complete()) finish();
    };
    this.consumer.on('rtp', onRtp);
    const timers: NodeJS.Timeout[] = [];
    try {
      const watched = new Promise<void>((resolve) => {
        finish = resolve;
        this.consumer.observer.on('close', onClose);
        timers.push(
          setTimeout(() => {
            minimumWatched = true;
            if (complete()) resolve();
          }, PROBE_MIN_MS),
          setTimeout(resolve, PROBE_MAX_MS),
        );
      });
      await this.consumer.resume();
      await watched;
    } finally {
      for (const t of timers) clearTimeout(t);
      this.consumer.observer.off('close', onClose);
      this.consumer.off('rtp', onRtp);
      if (!this.consumer.closed) await this.consumer.pause().catch(() => undefined);
      this.running = false;
    }
    const out = new Map<number, Measured>();
    for (const [spatial, byTid] of frames) {
      const height = sizes.get(spatial);
      const frameRates = frameRatesOf(byTid);
      out.set(spatial, { ...(height !== undefined ? { height } : {}), frameRates });
    }
    return out;
  }
}

/** RTP clock rate of video (RFC 7741: VP8 uses 90 kHz). */
const VIDEO_CLOCK_HZ = 90_000;
/** Fewer frames than this in a probe give no frame rate (the nominal one is used). */
const MIN_FRAMES_FOR_RATE = 4;

/**
 * Frame rates up to each temporal layer of one encoding, from the RTP timestamps of the frames seen (by TID): the
 * span between the first and last frame on the 90 kHz clock, not the probe's wall-clock window, so an encoding that
 * started or stopped during the probe is not under-counted. Empty when too few frames were seen.
 * @returns fps up to each tid (index = tid)
 */
export function frameRatesOf(byTid: ReadonlyMap<number, ReadonlySet<number>>): number[] {
  const all = [...byTid.values()].flatMap((ts) => [...ts]);
  if (all.length < MIN_FRAMES_FOR_RATE) return [];
  // Unwrap the 32-bit timestamps relative to the first one (a probe lasts seconds, far below a wrap).
  const first = all[0] as number;
  const offsets = all.map((t) => ((t - first) | 0) as number);
  const spanSeconds = (Math.max(...offsets) - Math.min(...offsets)) / VIDEO_CLOCK_HZ;
  if (spanSeconds <= 0) return [];
  // N frames cover N intervals of the full rate, i.e. span × N / (N − 1).
  const covered = (spanSeconds * all.length) / (all.length - 1);
  const rates: number[] = [];
  let cumulative = 0;
  for (let t = 0; t <= Math.max(...byTid.keys()); t++) {
    cumulative += byTid.get(t)?.size ?? 0;
    rates.push(Math.round((cumulative / covered) * 10) / 10);
  }
  return rates;
}

interface MonitorEvents {
  /** New layers of a source (every poll). */
  layers: [source: string, layers: Layer[]];
}

/** See the module docstring. One per conference, created by MediaConference. */
export class VideoLayerMonitor extends EventEmitter<MonitorEvents> {
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  #polling = false;
  #closed = false;

  /** `pollIntervalMs`: how often every source's bitrates are read (tests lengthen it to see the keyframe path alone). */
  constructor(log: Logger, pollIntervalMs = LAYER_STATS_INTERVAL_MS) {
    super();
    this.#log = log;
    this.#timer = setInterval(() => void this.#pollAll(), pollIntervalMs);
    this.#timer.unref();
  }

  /**
   * Watch a video producer. `direct` is a DirectTransport on the producer's router (for the
   * probe); `rtpCapabilities` the router's. Replaces an earlier producer of the same source.
   */
  add(source: string, producer: ms.Producer, direct: ms.DirectTransport, rtpCapabilities: ms.RtpCapabilities): void {
    this.remove(source);
    const encodings = producer.rtpParameters.encodings ?? [];
    const svc = producer.type === 'svc' && encodings.length === 1;
    const entry: Entry = {
      source,
      producer,
      svc,
      spatialBySsrc: new Map(encodings.map((e, i) => [e.ssrc ?? 0, i])),
      encodings: svc ? spatialLayersOf(encodings[0]?.scalabilityMode) : Math.max(1, encodings.length),
      measured: new Map(),
      active: new Set(),
      bitrates: new Map(),
      layers: [],
      keyframePollAt: 0,
    };
    this.#entries.set(source, entry);
    producer.observer.once('close', () => {
      if (this.#entries.get(source) === entry) this.remove(source);
    });
    // Every keyframe: its frame size (a new one rebuilds the layers at once). And a sender starts a simulcast encoding
    // or an SVC spatial layer with a keyframe: read the bitrates then (as JVB learns a layer from its packets) rather
    // than at the next poll, up to a second later; a keyframe on a layer the last poll saw sending starts nothing
    // (mayStartLayer). The same trace set as CodecFollower's, which watches these keyframes for the codec.
    const readKeyframe = probeParser(producer);
    if (readKeyframe) entry.readKeyframe = readKeyframe;
    producer.on('trace', (trace) => {
      if (trace.type !== 'keyframe') return;
      const info = trace.info as { isRtx?: boolean; rtpPacket?: { ssrc?: number; payloadType?: number }; packetHead?: Buffer } | undefined;
      if (info?.isRtx) return;
      // Only a keyframe of the codec the producer expects: one of another negotiated codec is the sender switching
      // codecs, which CodecFollower sees and the source is produced again for.
      const expected = info?.rtpPacket?.payloadType === producer.rtpParameters.codecs[0]?.payloadType;
      if (expected && info?.packetHead && this.#learnSize(entry, info.packetHead)) {
        entry.layers = buildLayers(entry.encodings, entry.bitrates, entry.measured);
        this.emit('layers', entry.source, entry.layers);
      }
      if (mayStartLayer(entry, info?.rtpPacket?.ssrc)) this.#soon(entry);
    });
    producer.enableTraceEvent(['keyframe']).catch(() => undefined);
    const mime = producer.rtpParameters.codecs[0]?.mimeType.toLowerCase();
    if (mime === 'video/vp8' || mime === 'video/vp9' || mime === 'video/av1') {
      direct
        .consume({ producerId: producer.id, rtpCapabilities, paused: true, pipe: true, enableRtx: false })
        .then((consumer) => {
          const parse = probeParser(consumer);
          if (this.#entries.get(source) !== entry || this.#closed || !parse) {
            consumer.close();
            return;
          }
          entry.probe = new Probe(consumer, parse);
        })
        .catch((err: unknown) => this.#log.debug({ err, source }, 'no layer probe'));
    }
  }

  /**
   * Take the frame sizes a keyframe's first bytes carry (smaller dimension, px, by spatial index).
   * @returns whether a size changed
   */
  #learnSize(entry: Entry, packetHead: Buffer): boolean {
    // Only the start of the payload is read: without the padding bit, a cut packet's last byte is not taken for the
    // padding length (RFC 3550 §5.1).
    if (packetHead.length > 0) packetHead[0] = (packetHead[0] as number) & ~0x20;
    const heights = entry.readKeyframe?.(packetHead)?.heights;
    let changed = false;
    for (const [spatial, height] of heights ?? []) {
      const m = entry.measured.get(spatial);
      if (m?.height === height) continue;
      entry.measured.set(spatial, { ...m, height, frameRates: m?.frameRates ?? [] });
      changed = true;
    }
    if (changed) this.#log.debug({ source: entry.source, heights: Object.fromEntries(heights ?? []) }, 'frame size from a keyframe');
    return changed;
  }

  /** Stop watching a source. */
  remove(source: string): void {
    const entry = this.#entries.get(source);
    if (!entry) return;
    this.#entries.delete(source);
    clearTimeout(entry.soon);
    entry.probe?.consumer.close();
  }

  /** The layers last computed for a source. */
  layers(source: string): Layer[] {
    return this.#entries.get(source)?.layers ?? [];
  }

  /** Poll one source now (its active encodings changed). */
  refresh(source: string): void {
    const entry = this.#entries.get(source);
    if (entry) void this.#poll(entry);
  }

  /**
   * Poll `entry` {@link KEYFRAME_POLL_DELAY_MS} from now, once however many keyframe packets arrive meanwhile (the
   * stream's bitrate then counts a few of them), and at most every {@link KEYFRAME_POLL_MIN_INTERVAL_MS} (a sender
   * answering a stream of keyframe requests costs no more than 4 polls a second).
   */
  #soon(entry: Entry): void {
    const now = Date.now();
    if (entry.soon || this.#closed || now - entry.keyframePollAt < KEYFRAME_POLL_MIN_INTERVAL_MS) return;
    entry.keyframePollAt = now;
    entry.soon = setTimeout(() => {
      entry.soon = undefined;
      if (this.#entries.get(entry.source) === entry) void this.#poll(entry);
    }, KEYFRAME_POLL_DELAY_MS);
    entry.soon.unref();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const source of [...this.#entries.keys()]) this.remove(source);
  }

  async #pollAll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      await Promise.all([...this.#entries.values()].map((e) => this.#poll(e)));
    } finally {
      this.#polling = false;
    }
  }

  async #poll(entry: Entry): Promise<void> {
    let stats: ms.ProducerStat[];
    try {
      stats = await entry.producer.getStats();
    } catch {
      return; // closed meanwhile
    }
    if (this.#entries.get(entry.source) !== entry) return;
    // Bitrate up to each temporal layer, per encoding (SVC: per spatial layer, with the spatial layers below).
    const bitrates = entry.svc ? svcBitrates(stats[0], entry.encodings) : new Map<number, number[]>();
    for (const s of entry.svc ? [] : stats) {
      const spatial = entry.spatialBySsrc.get(s.ssrc) ?? (entry.encodings === 1 ? 0 : undefined);
      if (spatial === undefined) continue;
      const byLayer = s.bitrateByLayer ?? {};
      const keys = Object.keys(byLayer).filter((k) => k.startsWith('0.'));
      bitrates.set(spatial, keys.length > 0 ? keys.map((_, t) => byLayer[`0.${t}`] ?? 0) : [s.bitrate]);
    }
    const active = new Set([...bitrates].filter(([, b]) => (b[0] ?? 0) > 0).map(([s]) => s));
    const activeKey = keyOf(active);
    const changed = activeKey !== keyOf(entry.active);
    const probe = entry.probe;
    if (probe && !probe.running && activeKey !== '' && activeKey !== entry.probedKey) {
      entry.probedKey = activeKey;
      void probe.measure().then(
        (measured) => {
          // A size the probe did not see stays as the keyframes gave it.
          for (const [spatial, m] of measured) entry.measured.set(spatial, { ...entry.measured.get(spatial), ...m });
          this.#log.debug({ source: entry.source, measured: Object.fromEntries(measured) }, 'layers measured');
          if (this.#entries.get(entry.source) === entry) void this.#poll(entry);
        },
        () => undefined,
      );
    }
    if (changed) this.#log.debug({ source: entry.source, active: activeKey, bitrates: Object.fromEntries(bitrates) }, 'active encodings changed');
    entry.active = active;
    entry.bitrates = bitrates;
    entry.layers = buildLayers(entry.encodings, bitrates, entry.measured);
    this.emit('layers', entry.source, entry.layers);
  }
}

/** A set of active spatial indices as a comparable string, e.g. `0,2` ('' when none). */
function keyOf(active: ReadonlySet<number>): string {
  return [...active].sort().join(',');
}

/**
 * Whether a keyframe on `ssrc` may start a layer the last stats did not show: an encoding not active then (simulcast,
 * by its SSRC), or, for one SVC stream, any spatial layer not active then. A keyframe on an encoding already sending
 * (a receiver's PLI, the sender's periodic one) starts nothing and waits for the next poll.
 */
export function mayStartLayer(entry: Pick<Entry, 'svc' | 'spatialBySsrc' | 'encodings' | 'active'>, ssrc: number | undefined): boolean {
  if (entry.svc) return entry.active.size < entry.encodings;
  const spatial = ssrc === undefined ? undefined : entry.spatialBySsrc.get(ssrc);
  return spatial === undefined || !entry.active.has(spatial);
}

/** Spatial layers of a scalability mode (`L3T3`, `L2T3_KEY`, `S3T3` → 3 / 2 / 3); 1 when absent or unknown. */
export function spatialLayersOf(scalabilityMode: string | undefined): number {
  const m = /^[LS](\d+)T\d+/.exec(scalabilityMode ?? '');
  return m ? Math.max(1, Number(m[1])) : 1;
}

/**
 * An SVC stream's bitrates per spatial layer, bps up to each temporal layer, from mediasoup's
 * `bitrateByLayer["s.t"]` (which already includes every spatial layer below s: what an SVC consumer forwards).
 * @param spatialLayers the producer's spatial layers; a spatial layer without stats gets no entry (inactive).
 */
export function svcBitrates(stat: Pick<ms.ProducerStat, 'bitrate' | 'bitrateByLayer'> | undefined, spatialLayers: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  if (!stat) return out;
  const byLayer = stat.bitrateByLayer ?? {};
  const keys = Object.keys(byLayer);
  if (keys.length === 0) {
    out.set(0, [stat.bitrate]);
    return out;
  }
  for (let s = 0; s < spatialLayers; s++) {
    const rates: number[] = [];
    for (let t = 0; byLayer[`${s}.${t}`] !== undefined; t++) rates.push(byLayer[`${s}.${t}`] ?? 0);
    if (rates.length > 0) out.set(s, rates);
  }
  return out;
}

/**
 * Combine bitrates and measurements into the allocator's layers (see the module docstring for
 * the inference). Exported for tests.
 * @param bitrates per encoding, bps up to each temporal layer.
 */
export function buildLayers(encodings: number, bitrates: ReadonlyMap<number, readonly number[]>, measured: ReadonlyMap<number, Measured>): Layer[] {
  const known = [...measured].filter(([, m]) => m.height !== undefined).map(([s, m]) => [s, m.height as number] as const);
  const heightOf = (spatial: number): number => {
    const own = measured.get(spatial)?.height;
    if (own !== undefined) return own;
    if (known.length > 0) {
      const [ref, h] = known.reduce((a, b) => (Math.abs(b[0] - spatial) < Math.abs(a[0] - spatial) ? b : a));
      return Math.round(h * 2 ** (spatial - ref));
    }
    return Math.round(DEFAULT_TOP_HEIGHT / 2 ** (encodings - 1 - spatial));
  };
  const temporalCount = Math.max(1, ...[...bitrates.values()].map((b) => b.length));
  const layers: Layer[] = [];
  for (let spatial = 0; spatial < encodings; spatial++) {
    const rates = bitrates.get(spatial) ?? [];
    const active = Math.max(1, rates.filter((b) => b > 0).length);
    const fps = measured.get(spatial)?.frameRates ?? [];
    const height = heightOf(spatial);
    for (let t = 0; t < temporalCount; t++) {
      const nominal = t < active ? DEFAULT_FRAME_RATE / 2 ** (active - 1 - t) : DEFAULT_FRAME_RATE;
      // A temporal layer above the highest one sent (mediasoup reports L1T3 slots for a stream without temporal
      // layers) has the frame rate of the top one sent, measured or nominal: it adds no frames.
      const frameRate = t < active ? (fps[t] ?? nominal) : (fps[active - 1] ?? fps.at(-1) ?? nominal);
      layers.push({ spatial, temporal: t, height, frameRate, bitrateBps: rates[t] ?? 0 });
    }
  }
  return layers;
}
