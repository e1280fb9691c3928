/**
 * What each video source offers, layer by layer: the allocation's input (jitsi-videobridge keeps
 * this in `MediaSourceDesc`/`RtpLayerDesc`, learnt from the packets it forwards).
 *
 * - **Bitrates** come from the producer's RTP stream stats, polled every second: per simulcast
 *   encoding, mediasoup's `bitrateByLayer["0.<tid>"]` is the bitrate up to that temporal layer
 *   (what JVB allocates with); 0 = the layer is not being sent.
 * - **Resolution and frame rate** come from the bitstream: a short-lived look at the packets
 *   through a paused pipe consumer on the router's DirectTransport ("probe"). Resuming it makes
 *   the sender send a keyframe on every encoding, whose VP8 header carries the frame size; the
 *   RTP timestamps per temporal layer over ~1 s give the frame rates. A probe runs when the
 *   source starts, when its set of active encodings changes and every {@link REPROBE_INTERVAL_MS}
 *   (a sender may rescale), costing one keyframe per encoding each time.
 * - Encodings the probe has not measured (suspended, or a codec other than VP8) are inferred from
 *   the measured ones by lib-jitsi-meet's simulcast ladder (each encoding twice the height of the
 *   one below; `SIM_LAYERS` scale factors 4/2/1), else from a 720p top; frame rates default to
 *   30 fps at the top active temporal layer, halving per layer below (L1T3: 7.5/15/30).
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { Layer } from '../allocation/types.ts';
import type { Logger } from '../logger.ts';
import { parseVp8Packet } from './vp8.ts';

/** How often bitrates are polled, ms. */
export const LAYER_STATS_INTERVAL_MS = 1000;
/** How often a forwarded source's resolution is re-measured, ms. */
export const REPROBE_INTERVAL_MS = 30_000;
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
  /** Spatial index by the producer's SSRC. */
  spatialBySsrc: Map<number, number>;
  encodings: number;
  measured: Map<number, Measured>;
  /** Active encodings in the last stats (to notice changes). */
  activeKey: string;
  probe?: Probe;
  lastProbeAt: number;
  layers: Layer[];
}

/** A paused pipe consumer, resumed for one measurement at a time. */
class Probe {
  readonly consumer: ms.Consumer;
  /** Spatial index by the consumer's (consumable) SSRC. */
  readonly spatialBySsrc: Map<number, number>;
  running = false;

  constructor(consumer: ms.Consumer) {
    this.consumer = consumer;
    this.spatialBySsrc = new Map((consumer.rtpParameters.encodings ?? []).map((e, i) => [e.ssrc ?? 0, i]));
  }

  /** Watch the packets until every sending encoding showed a keyframe (≥ 1 s, ≤ 3 s). */
  async measure(): Promise<Map<number, Measured>> {
    this.running = true;
    const frames = new Map<number, Map<number, Set<number>>>(); // spatial → tid → timestamps
    const sizes = new Map<number, number>();
    const onRtp = (packet: Buffer): void => {
      const p = parseVp8Packet(packet);
      if (!p) return;
      const spatial = this.spatialBySsrc.get(p.ssrc);
      if (spatial === undefined) return;
      let byTid = frames.get(spatial);
      if (!byTid) frames.set(spatial, (byTid = new Map()));
      let ts = byTid.get(p.tid);
      if (!ts) byTid.set(p.tid, (ts = new Set()));
      ts.add(p.timestamp);
      if (p.keyframe) sizes.set(spatial, Math.min(p.keyframe.width, p.keyframe.height));
    };
    this.consumer.on('rtp', onRtp);
    const started = Date.now();
    try {
      await this.consumer.resume();
      while (Date.now() - started < PROBE_MAX_MS && !this.consumer.closed) {
        await new Promise((r) => setTimeout(r, 100));
        const elapsed = Date.now() - started;
        if (elapsed >= PROBE_MIN_MS && frames.size > 0 && [...frames.keys()].every((s) => sizes.has(s))) break;
      }
    } finally {
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
  const offsets = all.map((t) => (((t - first) | 0) as number));
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

  constructor(log: Logger) {
    super();
    this.#log = log;
    this.#timer = setInterval(() => void this.#pollAll(), LAYER_STATS_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * Watch a video producer. `direct` is a DirectTransport on the producer's router (for the
   * probe); `rtpCapabilities` the router's. Replaces an earlier producer of the same source.
   */
  add(source: string, producer: ms.Producer, direct: ms.DirectTransport, rtpCapabilities: ms.RtpCapabilities): void {
    this.remove(source);
    const encodings = producer.rtpParameters.encodings ?? [];
    const entry: Entry = {
      source,
      producer,
      spatialBySsrc: new Map(encodings.map((e, i) => [e.ssrc ?? 0, i])),
      encodings: Math.max(1, encodings.length),
      measured: new Map(),
      activeKey: '',
      lastProbeAt: 0,
      layers: [],
    };
    this.#entries.set(source, entry);
    producer.observer.once('close', () => {
      if (this.#entries.get(source) === entry) this.remove(source);
    });
    const vp8 = producer.rtpParameters.codecs.some((c) => c.mimeType.toLowerCase() === 'video/vp8');
    if (vp8) {
      direct
        .consume({ producerId: producer.id, rtpCapabilities, paused: true, pipe: true, enableRtx: false })
        .then((consumer) => {
          if (this.#entries.get(source) !== entry || this.#closed) {
            consumer.close();
            return;
          }
          entry.probe = new Probe(consumer);
        })
        .catch((err: unknown) => this.#log.debug({ err, source }, 'no layer probe'));
    }
  }

  /** Stop watching a source. */
  remove(source: string): void {
    const entry = this.#entries.get(source);
    if (!entry) return;
    this.#entries.delete(source);
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
    // Bitrate up to each temporal layer, per encoding.
    const bitrates = new Map<number, number[]>();
    for (const s of stats) {
      const spatial = entry.spatialBySsrc.get(s.ssrc) ?? (entry.encodings === 1 ? 0 : undefined);
      if (spatial === undefined) continue;
      const byLayer = s.bitrateByLayer ?? {};
      const keys = Object.keys(byLayer).filter((k) => k.startsWith('0.'));
      bitrates.set(spatial, keys.length > 0 ? keys.map((_, t) => byLayer[`0.${t}`] ?? 0) : [s.bitrate]);
    }
    const activeKey = [...bitrates].filter(([, b]) => (b[0] ?? 0) > 0).map(([s]) => s).sort().join(',');
    const now = Date.now();
    const probe = entry.probe;
    if (probe && !probe.running && activeKey !== '' && (activeKey !== entry.activeKey || now - entry.lastProbeAt > REPROBE_INTERVAL_MS)) {
      entry.lastProbeAt = now;
      void probe.measure().then(
        (measured) => {
          for (const [spatial, m] of measured) entry.measured.set(spatial, m);
          this.#log.debug({ source: entry.source, measured: Object.fromEntries(measured) }, 'layers measured');
          if (this.#entries.get(entry.source) === entry) void this.#poll(entry);
        },
        () => undefined,
      );
    }
    if (activeKey !== entry.activeKey) this.#log.debug({ source: entry.source, active: activeKey, bitrates: Object.fromEntries(bitrates) }, 'active encodings changed');
    entry.activeKey = activeKey;
    entry.layers = buildLayers(entry.encodings, bitrates, entry.measured);
    this.emit('layers', entry.source, entry.layers);
  }
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
