/**
 * What a lightweight participant sees of each remote source, from the RTP packets it receives
 * (decrypted, before any jitter buffer), the way a browser's receive statistics and decoder would:
 *
 * - per source (an announced source name, whatever SSRC carries it): packets, bytes, loss
 *   (RFC 3550 extended sequence numbers; "lost" = never arrived, counting packets recovered by
 *   RTX as received, as Chromium's `packetsLost` does; "lost before RTX" = missing on first
 *   arrival), interarrival jitter (RFC 3550 §6.4.1, in ms);
 * - video only: frames reassembled by RTP timestamp (VP8 payload descriptor S bit / partition 0
 *   starts a frame, the RTP marker ends it; complete = every sequence number in between arrived),
 *   "decoded" = complete and decodable (a keyframe, or the frame right after the last decoded one
 *   in sequence-number order), the resolution from the VP8 keyframe header (RFC 6386 §9.1), and
 *   freezes as the WebRTC stats spec defines `freezeCount` / `totalFreezesDuration`
 *   ({@link FreezeDetector});
 * - the receiver side of loss recovery: which sequence numbers to NACK (and when to ask again),
 *   when a keyframe is needed (PLI).
 *
 * Times are ms on one clock (`performance.timeOrigin + performance.now()`, i.e. epoch ms with
 * sub-ms precision), so that participants in several processes can be compared.
 */

/** Epoch ms with sub-ms precision (the clock every report uses). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Frames the spec's moving average covers (libwebrtc VideoQualityObserver). */
const FREEZE_WINDOW = 30;
/** Inter-frame delays needed before a freeze can be detected (libwebrtc: 5). */
const FREEZE_MIN_SAMPLES = 5;
/** A freeze is at least this much longer than the average frame duration, ms. */
const FREEZE_MIN_EXTRA_MS = 150;

/**
 * Freeze detection as the WebRTC stats spec defines it (`RTCInboundRtpStreamStats.freezeCount`):
 * a frame duration (time between two consecutively decoded frames) is a freeze when it exceeds
 * max(3 × avg, avg + 150 ms), avg being the mean of the last 30 frame durations (at least 5, as
 * libwebrtc's VideoQualityObserver). `totalFreezesDurationMs` sums those durations.
 */
export class FreezeDetector {
  readonly #durations: number[] = [];
  #sum = 0;
  #last: number | undefined;
  /** Freezes so far. */
  freezeCount = 0;
  /** Sum of the freezes' durations, ms. */
  totalFreezesDurationMs = 0;
  /** Frames seen. */
  frames = 0;
  /** Time of the first frame, ms (undefined before it). */
  firstAt: number | undefined;

  /** Time of the last frame, ms. */
  get lastAt(): number | undefined {
    return this.#last;
  }

  /** The freeze threshold now, ms: max(3 × avg, avg + 150); undefined until 5 durations are known. */
  threshold(): number | undefined {
    if (this.#durations.length < FREEZE_MIN_SAMPLES) return undefined;
    const avg = this.#sum / this.#durations.length;
    return Math.max(3 * avg, avg + FREEZE_MIN_EXTRA_MS);
  }

  /** A frame was decoded at `t` ms. Returns true when the gap before it was a freeze. */
  onFrame(t: number): boolean {
    this.frames += 1;
    this.firstAt ??= t;
    const last = this.#last;
    this.#last = t;
    if (last === undefined) return false;
    const d = t - last;
    const limit = this.threshold();
    const freeze = limit !== undefined && d > limit;
    if (freeze) {
      this.freezeCount += 1;
      this.totalFreezesDurationMs += d;
    }
    this.#durations.push(d);
    this.#sum += d;
    if (this.#durations.length > FREEZE_WINDOW) this.#sum -= this.#durations.shift() as number;
    return freeze;
  }

  /**
   * The gap still open at `t` (no frame since the last one) when it already is a freeze, ms;
   * else 0. Chromium only counts a freeze when the next frame comes; a stream that stopped for
   * good would never show one, so reports add this open one.
   */
  openFreezeMs(t: number): number {
    const limit = this.threshold();
    if (this.#last === undefined || limit === undefined) return 0;
    return t - this.#last > limit ? t - this.#last : 0;
  }
}

/** What the VP8 payload descriptor and payload header of a packet say (RFC 7741 §4.2, RFC 6386 §9.1). */
export interface Vp8Info {
  /** First packet of a frame (S = 1 and partition index 0). */
  start: boolean;
  /** On the first packet: P = 0 (a keyframe). */
  key: boolean;
  /** Keyframes: the frame size. */
  width?: number;
  height?: number;
}

/** Parse the VP8 payload descriptor (and on a frame's first packet the payload header); undefined when too short. */
export function parseVp8(payload: Buffer): Vp8Info | undefined {
  if (payload.length < 1) return undefined;
  const b0 = payload[0] as number;
  let off = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) return undefined;
    const b1 = payload[1] as number;
    off = 2;
    if (b1 & 0x80) off += payload.length > off && (payload[off] as number) & 0x80 ? 2 : 1; // I: picture ID, 7 or 15 bits
    if (b1 & 0x40) off += 1; // L: TL0PICIDX
    if (b1 & 0x30) off += 1; // T or K: TID/Y/KEYIDX
  }
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!start || payload.length <= off) return { start, key: false };
  const key = ((payload[off] as number) & 0x01) === 0;
  if (key && payload.length >= off + 10 && payload[off + 3] === 0x9d && payload[off + 4] === 0x01 && payload[off + 5] === 0x2a) {
    return { start, key, width: payload.readUInt16LE(off + 6) & 0x3fff, height: payload.readUInt16LE(off + 8) & 0x3fff };
  }
  return { start, key };
}

/** One frame being reassembled. */
interface Frame {
  /** Extended sequence number of its first packet, once that arrived. */
  first?: number;
  /** Extended sequence number of its last packet (marker), once that arrived. */
  last?: number;
  packets: number;
  key: boolean;
  width?: number;
  height?: number;
  /** When it became complete, ms. */
  completeAt?: number;
}

/** How the receiver asks for repairs. */
export interface RepairPolicy {
  /** Ask again for a missing packet after this long, ms. */
  nackRetryMs: number;
  /** Give up on a missing packet after this many NACKs. */
  nackMaxTries: number;
  /** Ask for a keyframe when a complete frame waited this long for a missing predecessor, or nothing decoded this long after media started, ms. */
  keyFrameAfterMs: number;
  /** At most one keyframe request per this interval, ms. */
  keyFrameIntervalMs: number;
}

/** Defaults of {@link RepairPolicy} (libwebrtc-like on a LAN). */
export const DEFAULT_REPAIR: RepairPolicy = { nackRetryMs: 40, nackMaxTries: 10, keyFrameAfterMs: 200, keyFrameIntervalMs: 500 };

/** A sequence number not received yet: when it went missing, NACKs sent for it and the last one's time (ms). */
export interface MissingPacket {
  since: number;
  tries: number;
  lastAt: number;
}

/**
 * The sequence numbers (16-bit) of `missing` (extended sequence number → state) to NACK at `t` (ms): never asked for,
 * or asked for more than `nackRetryMs` ago, at most `nackMaxTries` times (then given up and removed).
 */
export function dueNacks(missing: Map<number, MissingPacket>, policy: RepairPolicy, t: number): number[] {
  const out: number[] = [];
  for (const [ext, m] of missing) {
    if (m.tries >= policy.nackMaxTries) {
      missing.delete(ext);
      continue;
    }
    if (t - m.lastAt < policy.nackRetryMs) continue;
    m.tries += 1;
    m.lastAt = t;
    out.push(ext & 0xffff);
  }
  return out;
}

/** Cumulative counters of one source (see {@link SourceReceiver}). */
export interface SourceCounters {
  source: string;
  owner: string;
  kind: 'audio' | 'video';
  /** Distinct media packets received (first arrivals + RTX recoveries). */
  packets: number;
  /** Packets expected from the sequence numbers seen (over every SSRC that carried the source). */
  expected: number;
  /** Packets received on first arrival (not RTX). */
  firstArrivals: number;
  /** Bytes of RTP (header + payload) received, RTX included. */
  bytes: number;
  /** RTX packets that recovered a missing packet. */
  recovered: number;
  /**
   * Header-only receivers (headerReceive.ts): RTX packets received (padding excluded), whose
   * original sequence number is encrypted; `recovered` is then those attributed to a frame.
   */
  rtxPackets?: number;
  /** Interarrival jitter, ms (RFC 3550, of the current SSRC). */
  jitterMs: number;
  /** Video: frames decoded, freezes ({@link FreezeDetector}). */
  framesDecoded: number;
  freezeCount: number;
  totalFreezesDurationMs: number;
  /** Video: the last keyframe's size (0 before one). */
  width: number;
  height: number;
  /** First packet and (video) first decoded frame, ms. */
  firstPacketAt?: number;
  firstFrameAt?: number;
  lastFrameAt?: number;
  /** NACKed sequence numbers and keyframe requests sent. */
  nacks: number;
  plis: number;
}

/** Half of the 16-bit sequence number space. */
const HALF = 0x8000;

/**
 * The extended (RFC 3550 Appendix A.1) form of the 16-bit sequence number `seq`, the one closest to `max`, the highest
 * extended sequence number so far (-1: none yet; the first one starts one cycle up, so that reordered packets before
 * it stay positive).
 */
export function extendSequence(max: number, seq: number): number {
  if (max < 0) return seq + 0x10000;
  let delta = seq - (max & 0xffff);
  if (delta > HALF) delta -= 0x10000;
  else if (delta < -HALF) delta += 0x10000;
  return max + delta;
}

/** A video frame counted as decoded at `t` ms: the freeze detector and the counters it feeds. */
export function recordDecodedFrame(counters: SourceCounters, freeze: FreezeDetector, t: number): void {
  freeze.onFrame(t);
  counters.framesDecoded = freeze.frames;
  counters.freezeCount = freeze.freezeCount;
  counters.totalFreezesDurationMs = freeze.totalFreezesDurationMs;
  counters.firstFrameAt ??= t;
  counters.lastFrameAt = t;
}

/**
 * Receive state of one remote source. Feed it packets with {@link onPacket} (media) and
 * {@link onRtx} (an RTX packet, its OSN already read); ask it what to NACK and whether to PLI.
 */
export class SourceReceiver {
  readonly counters: SourceCounters;
  readonly freeze = new FreezeDetector();
  /** Called with the time of every decoded frame (ms). */
  onDecoded: ((t: number) => void) | undefined;
  readonly #clockRate: number;
  readonly #policy: RepairPolicy;
  #ssrc: number | undefined;
  /** Extended sequence numbers of the current SSRC: base and highest. */
  #base = 0;
  #max = -1;
  /** Counted into `expected` from earlier SSRCs. */
  #expectedBefore = 0;
  /** Recently seen extended sequence numbers (dedup; pruned to the last 2048). */
  readonly #seen = new Set<number>();
  /** Missing extended sequence numbers → NACK state. */
  readonly #missing = new Map<number, MissingPacket>();
  /** Jitter state: previous transit, ms. */
  #transit: number | undefined;
  #jitter = 0;
  readonly #frames = new Map<number, Frame>();
  /** Extended sequence number of the last decoded frame's last packet; undefined: a keyframe is needed. */
  #decodedLast: number | undefined;
  #lastPliAt = -Infinity;
  /** Since when media arrives with nothing decodable (no keyframe yet on this SSRC), ms. */
  #waitingSince: number | undefined;
  #lastPacketAt = -Infinity;

  constructor(source: string, owner: string, kind: 'audio' | 'video', policy: RepairPolicy = DEFAULT_REPAIR) {
    this.#clockRate = kind === 'video' ? 90_000 : 48_000;
    this.#policy = policy;
    this.counters = {
      source,
      owner,
      kind,
      packets: 0,
      expected: 0,
      firstArrivals: 0,
      bytes: 0,
      recovered: 0,
      jitterMs: 0,
      framesDecoded: 0,
      freezeCount: 0,
      totalFreezesDurationMs: 0,
      width: 0,
      height: 0,
      nacks: 0,
      plis: 0,
    };
  }

  /** The SSRC the source currently arrives on. */
  get ssrc(): number | undefined {
    return this.#ssrc;
  }

  #extend(seq: number): number {
    return extendSequence(this.#max, seq);
  }

  /** A new SSRC carries this source (source map change, new peer connection): sequence state starts over. */
  #switchSsrc(ssrc: number): void {
    if (this.#max >= 0) this.#expectedBefore += this.#max - this.#base + 1;
    this.#ssrc = ssrc;
    this.#max = -1;
    this.#seen.clear();
    this.#missing.clear();
    this.#frames.clear();
    this.#transit = undefined;
    this.#decodedLast = undefined;
    this.#waitingSince = undefined;
  }

  /**
   * A media packet (not RTX) of this source arrived at `t` ms.
   * @param bytes RTP packet size (header + payload)
   * @param payload the RTP payload (VP8 descriptor first, for video)
   */
  onPacket(ssrc: number, seq: number, timestamp: number, marker: boolean, payload: Buffer, bytes: number, t: number): void {
    if (ssrc !== this.#ssrc) this.#switchSsrc(ssrc);
    this.counters.bytes += bytes;
    this.counters.firstPacketAt ??= t;
    this.#lastPacketAt = t;
    if (this.#decodedLast === undefined) this.#waitingSince ??= t;
    const ext = this.#extend(seq);
    if (this.#max < 0) {
      this.#base = ext;
      this.#max = ext;
    } else if (ext > this.#max) {
      // Packets in between are missing until they arrive (late or through RTX).
      if (this.counters.kind === 'video' && ext - this.#max - 1 <= 1000)
        for (let s = this.#max + 1; s < ext; s++) this.#missing.set(s, { since: t, tries: 0, lastAt: -Infinity });
      this.#max = ext;
    } else if (ext < this.#base) {
      this.#base = ext;
    }
    if (!this.#accept(ext)) return;
    this.counters.firstArrivals += 1;
    // RFC 3550 §6.4.1 / A.8: J += (|D| - J) / 16, in RTP units; reported in ms.
    const transit = t - (timestamp / this.#clockRate) * 1000;
    if (this.#transit !== undefined) {
      const d = Math.abs(transit - this.#transit);
      // A timestamp wrap (2^32 ticks) shows as a huge jump: skip that sample.
      if (d < 60_000) this.#jitter += (d - this.#jitter) / 16;
    }
    this.#transit = transit;
    this.counters.jitterMs = this.#jitter;
    this.#media(ext, timestamp, marker, payload, t);
  }

  /** A retransmission (RTX, original sequence number `osn`) of this source's packet arrived. */
  onRtx(osn: number, timestamp: number, marker: boolean, payload: Buffer, bytes: number, t: number): void {
    this.counters.bytes += bytes;
    if (this.#max < 0) return;
    const ext = this.#extend(osn);
    if (ext > this.#max || ext < this.#base) return;
    if (!this.#accept(ext)) return;
    this.counters.recovered += 1;
    this.#media(ext, timestamp, marker, payload, t);
  }

  /** Count a packet once; false for a duplicate. */
  #accept(ext: number): boolean {
    if (this.#seen.has(ext)) return false;
    this.#seen.add(ext);
    if (this.#seen.size > 2048) {
      for (const s of this.#seen) {
        if (s < this.#max - 2048) this.#seen.delete(s);
        else break;
      }
    }
    this.#missing.delete(ext);
    this.counters.packets += 1;
    this.counters.expected = this.#expectedBefore + (this.#max - this.#base + 1);
    return true;
  }

  #media(ext: number, timestamp: number, marker: boolean, payload: Buffer, t: number): void {
    if (this.counters.kind !== 'video') return;
    const info = parseVp8(payload);
    let f = this.#frames.get(timestamp);
    if (!f) {
      f = { packets: 0, key: false };
      this.#frames.set(timestamp, f);
      if (this.#frames.size > 300) this.#frames.delete(this.#frames.keys().next().value as number);
    }
    f.packets += 1;
    if (info?.start) {
      f.first = ext;
      f.key = info.key;
      if (info.width) {
        f.width = info.width;
        f.height = info.height;
      }
    }
    if (marker) f.last = ext;
    if (f.first !== undefined && f.last !== undefined && f.packets === f.last - f.first + 1) {
      f.completeAt = t;
      this.#decode(t);
    }
  }

  /** Decode every frame that can be: a complete keyframe, or the complete frame right after the last decoded one. */
  #decode(t: number): void {
    for (;;) {
      let next: [number, Frame] | undefined;
      for (const entry of this.#frames) {
        const f = entry[1];
        if (f.completeAt === undefined || f.first === undefined) continue;
        const follows = this.#decodedLast !== undefined && f.first === this.#decodedLast + 1;
        const newKey = f.key && (this.#decodedLast === undefined || f.first > this.#decodedLast);
        if ((follows || newKey) && (!next || (next[1].first as number) > f.first)) next = entry;
      }
      if (!next) return;
      const [ts, f] = next;
      this.#frames.delete(ts);
      this.#decodedLast = f.last as number;
      this.#waitingSince = undefined;
      for (const [k, g] of this.#frames) if (g.last !== undefined && g.last <= (f.last as number)) this.#frames.delete(k);
      if (f.width) {
        this.counters.width = f.width;
        this.counters.height = f.height ?? 0;
      }
      recordDecodedFrame(this.counters, this.freeze, t);
      this.onDecoded?.(t);
    }
  }

  /**
   * Sequence numbers (16-bit) to NACK now: missing ones never asked for, or asked for more than
   * `nackRetryMs` ago, at most `nackMaxTries` times (then given up). Video only.
   */
  nacksDue(t: number): number[] {
    if (this.counters.kind !== 'video') return [];
    const out = dueNacks(this.#missing, this.#policy, t);
    this.counters.nacks += out.length;
    return out;
  }

  /**
   * Whether to send a keyframe request now: a complete frame has waited `keyFrameAfterMs` for a
   * predecessor that does not come, or media arrives and nothing decoded for that long; at most
   * one per `keyFrameIntervalMs`. Video only.
   */
  keyFrameDue(t: number): boolean {
    if (this.counters.kind !== 'video' || t - this.#lastPliAt < this.#policy.keyFrameIntervalMs) return false;
    let due = false;
    if (this.#decodedLast === undefined) {
      const since = this.#waitingSince;
      due = since !== undefined && t - Math.max(since, this.#lastPliAt) > this.#policy.keyFrameAfterMs && t - this.#lastPacketAt < 1000;
    } else {
      for (const f of this.#frames.values()) {
        if (f.completeAt !== undefined && t - f.completeAt > this.#policy.keyFrameAfterMs) {
          due = true;
          break;
        }
      }
    }
    if (!due) return false;
    this.#lastPliAt = t;
    this.counters.plis += 1;
    return true;
  }
}
