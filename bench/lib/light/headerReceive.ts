/**
 * What a lightweight participant sees of one remote source from the clear RTP headers alone
 * (rtpTap.ts; no SRTP decryption, RFC 3711 §3.1), the cheap counterpart of receive.ts's
 * {@link SourceReceiver} with the same counters, freeze detector and repair requests:
 *
 * - packets, bytes (SRTP datagram sizes: header + encrypted payload + auth tag), loss from
 *   RFC 3550 extended sequence numbers, interarrival jitter (RFC 3550 §6.4.1, ms) — as receive.ts;
 * - RTX (RFC 4588) packets are counted separately (`rtxPackets`): their original sequence number
 *   is the first 2 bytes of the encrypted payload, so a retransmission cannot be un-wrapped. One is
 *   attributed by its RTP timestamp (RFC 4588 §4: the original's) to an incomplete frame of that
 *   timestamp, and the lowest missing sequence number of that frame's span counts as recovered (a
 *   guess when a frame misses several); RTX with the P bit (padding, bandwidth probes) is ignored;
 * - frames by RTP timestamp: a frame spans from the packet after the previous frame (its marker,
 *   or its last packet seen) to its own marker packet, and is complete when that many packets
 *   arrived (RTX attributed included);
 * - "decoded" = complete frames in sequence order, as a jitter buffer releases them: the one
 *   right after the last decoded frame, the first one, or after a given-up frame the next complete
 *   one. Keyframes are in the encrypted VP8 payload descriptor and cannot be seen: after a frame
 *   is given up, decoding resumes with the next complete frame although a real decoder would wait
 *   for the keyframe its PLI asks for, so under unrecovered loss a freeze is shorter by about the
 *   keyframe's round trip (decodability is approximated by completeness); and no resolution is
 *   known (width/height stay 0);
 * - freezes from those frames ({@link FreezeDetector}, as receive.ts); NACKs as receive.ts; a
 *   keyframe request (PLI) when a complete frame waited `keyFrameAfterMs` for a missing
 *   predecessor (as receive.ts), which is then given up.
 */
import {
  DEFAULT_REPAIR,
  dueNacks,
  extendSequence,
  FreezeDetector,
  recordDecodedFrame,
  type MissingPacket,
  type RepairPolicy,
  type SourceCounters,
} from './receive.ts';

/** Frames kept while reassembling (older ones are given up). */
const MAX_FRAMES = 64;

/** One frame being counted. */
interface HeaderFrame {
  timestamp: number;
  /** Lowest and highest extended sequence numbers seen (media packets). */
  min: number;
  max: number;
  /** Extended sequence number of its marker packet, once that arrived. */
  last?: number;
  /** Media packets + attributed RTX. */
  packets: number;
  /** When all its packets arrived, ms; and its first extended sequence number then. */
  completeAt?: number;
  start?: number;
}

/** See the module docstring. Feed it {@link onPacket} (media SSRC) and {@link onRtx} (RTX SSRC). */
export class HeaderSourceReceiver {
  readonly counters: SourceCounters & { rtxPackets: number };
  readonly freeze = new FreezeDetector();
  /** Called with the time of every decoded (complete) frame, ms. */
  onDecoded: ((t: number) => void) | undefined;
  readonly #clockRate: number;
  readonly #policy: RepairPolicy;
  #ssrc: number | undefined;
  #base = 0;
  #max = -1;
  #expectedBefore = 0;
  readonly #seen = new Set<number>();
  readonly #missing = new Map<number, MissingPacket>();
  #transit: number | undefined;
  #jitter = 0;
  readonly #frames = new Map<number, HeaderFrame>();
  /** Extended sequence number of the last decoded frame's marker; undefined before the first. */
  #decodedLast: number | undefined;
  /** The next complete frame decodes whatever precedes it (the first one, or after giving up a frame). */
  #resync = true;
  /** Highest end (marker, or last packet seen) of the frames no longer kept. */
  #removedEnd = -Infinity;
  #lastPliAt = -Infinity;

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
      rtxPackets: 0,
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

  #switchSsrc(ssrc: number): void {
    if (this.#max >= 0) this.#expectedBefore += this.#max - this.#base + 1;
    this.#ssrc = ssrc;
    this.#max = -1;
    this.#seen.clear();
    this.#missing.clear();
    this.#frames.clear();
    this.#transit = undefined;
    this.#decodedLast = undefined;
    this.#resync = true;
    this.#removedEnd = -Infinity;
  }

  /**
   * A media packet (not RTX) arrived at `t` ms.
   * @param bytes datagram size (SRTP)
   */
  onPacket(ssrc: number, seq: number, timestamp: number, marker: boolean, bytes: number, t: number): void {
    if (ssrc !== this.#ssrc) this.#switchSsrc(ssrc);
    const c = this.counters;
    c.bytes += bytes;
    c.firstPacketAt ??= t;
    const ext = this.#extend(seq);
    if (this.#max < 0) {
      this.#base = ext;
      this.#max = ext;
    } else if (ext > this.#max) {
      if (c.kind === 'video' && ext - this.#max - 1 <= 1000)
        for (let s = this.#max + 1; s < ext; s++) this.#missing.set(s, { since: t, tries: 0, lastAt: -Infinity });
      this.#max = ext;
    } else if (ext < this.#base) {
      this.#base = ext;
    }
    if (this.#seen.has(ext)) return;
    this.#seen.add(ext);
    if (this.#seen.size > 2048) {
      for (const s of this.#seen) {
        if (s < this.#max - 2048) this.#seen.delete(s);
        else break;
      }
    }
    this.#missing.delete(ext);
    c.packets += 1;
    c.firstArrivals += 1;
    c.expected = this.#expectedBefore + (this.#max - this.#base + 1);
    // RFC 3550 §6.4.1 / A.8: J += (|D| - J) / 16, in ms.
    const transit = t - (timestamp / this.#clockRate) * 1000;
    if (this.#transit !== undefined) {
      const d = Math.abs(transit - this.#transit);
      if (d < 60_000) this.#jitter += (d - this.#jitter) / 16;
    }
    this.#transit = transit;
    c.jitterMs = this.#jitter;
    if (c.kind !== 'video') return;
    if (ext <= this.#removedEnd) return; // a late packet of a frame already decoded or given up
    let f = this.#frames.get(timestamp);
    if (!f) {
      f = { timestamp, min: ext, max: ext, packets: 0 };
      this.#frames.set(timestamp, f);
      if (this.#frames.size > MAX_FRAMES) this.#remove(this.#frames.values().next().value as HeaderFrame);
    }
    f.packets += 1;
    if (ext < f.min) f.min = ext;
    if (ext > f.max) f.max = ext;
    if (marker) {
      f.last = ext;
      // A marker closes this frame and tells where the next one starts: check the others too.
      for (const g of [...this.#frames.values()]) this.#check(g, t);
    } else {
      this.#check(f, t);
    }
  }

  /**
   * An RTX packet of this source arrived (its RTP timestamp is the original's, its OSN is
   * encrypted): counted, and attributed to an incomplete frame of that timestamp if any.
   */
  onRtx(timestamp: number, marker: boolean, padding: boolean, bytes: number, t: number): void {
    const c = this.counters;
    c.bytes += bytes;
    if (padding || this.#max < 0) return;
    c.rtxPackets += 1;
    const f = this.#frames.get(timestamp);
    if (!f || f.completeAt !== undefined) return;
    const start = this.#startOf(f);
    const end = f.last ?? f.max;
    let guess: number | undefined;
    for (const s of this.#missing.keys()) {
      if (s >= start && s <= end + 1 && (guess === undefined || s < guess)) guess = s;
    }
    if (guess === undefined && f.last !== undefined && f.packets >= f.last - start + 1) return; // nothing missing there: a duplicate
    if (guess !== undefined) {
      this.#missing.delete(guess);
      this.#seen.add(guess);
      // The retransmitted marker packet: the frame ends there.
      if (marker && f.last === undefined) f.last = guess;
    }
    f.packets += 1;
    c.recovered += 1;
    c.packets += 1;
    if (marker) for (const g of [...this.#frames.values()]) this.#check(g, t);
    else this.#check(f, t);
  }

  /** First extended sequence number of `f`: after the previous frame's marker or last packet seen. */
  #startOf(f: HeaderFrame): number {
    let prev = -Infinity;
    for (const g of this.#frames.values()) {
      if (g === f) continue;
      const end = g.last ?? g.max;
      if (end < f.min && end > prev) prev = end;
    }
    if (this.#removedEnd < f.min && this.#removedEnd > prev) prev = this.#removedEnd;
    return Number.isFinite(prev) ? prev + 1 : f.min;
  }

  /** Forget `f` (decoded or given up). */
  #remove(f: HeaderFrame): void {
    this.#frames.delete(f.timestamp);
    const end = f.last ?? f.max;
    if (end > this.#removedEnd) this.#removedEnd = end;
  }

  /** Mark `f` complete when all packets of its span arrived, and decode what can be. */
  #check(f: HeaderFrame, t: number): void {
    if (f.completeAt !== undefined || f.last === undefined) return;
    const start = this.#startOf(f);
    if (f.packets < f.last - start + 1) return;
    f.completeAt = t;
    f.start = start;
    this.#decode(t);
  }

  /** Decode complete frames in sequence order: the one right after the last decoded, or (resync) the lowest after it. */
  #decode(t: number): void {
    for (;;) {
      let next: HeaderFrame | undefined;
      for (const f of this.#frames.values()) {
        if (f.completeAt === undefined || f.start === undefined) continue;
        const ok = this.#resync ? this.#decodedLast === undefined || f.start > this.#decodedLast : f.start === (this.#decodedLast as number) + 1;
        if (ok && (!next || f.start < (next.start as number))) next = f;
      }
      if (!next) return;
      const last = next.last as number;
      for (const g of [...this.#frames.values()]) if ((g.last ?? g.max) <= last) this.#remove(g);
      this.#decodedLast = last;
      this.#resync = false;
      recordDecodedFrame(this.counters, this.freeze, t);
      this.onDecoded?.(t);
    }
  }

  /** Sequence numbers (16-bit) to NACK now, as receive.ts `SourceReceiver.nacksDue`. Video only. */
  nacksDue(t: number): number[] {
    if (this.counters.kind !== 'video') return [];
    const out = dueNacks(this.#missing, this.#policy, t);
    this.counters.nacks += out.length;
    return out;
  }

  /**
   * Whether to send a keyframe request now: a complete frame waited `keyFrameAfterMs` for a
   * predecessor that does not come (as receive.ts). The missing frame is then given up and
   * decoding resumes with the complete frames after it (a real decoder would wait for the
   * keyframe, which cannot be told apart here). At most one request per `keyFrameIntervalMs`. Video only.
   */
  keyFrameDue(t: number): boolean {
    if (this.counters.kind !== 'video') return false;
    let stuck = false;
    for (const f of this.#frames.values()) {
      if (f.completeAt !== undefined && t - f.completeAt > this.#policy.keyFrameAfterMs) {
        stuck = true;
        break;
      }
    }
    if (!stuck) return false;
    this.#resync = true;
    this.#decode(t);
    if (t - this.#lastPliAt < this.#policy.keyFrameIntervalMs) return false;
    this.#lastPliAt = t;
    this.counters.plis += 1;
    return true;
  }
}
