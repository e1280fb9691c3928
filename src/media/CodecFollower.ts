/**
 * Which video codec each sender really sends, so that its producer and consumers carry that codec.
 *
 * The client chooses its codec among those negotiated (lib-jitsi-meet
 * `modules/qualitycontrol/CodecSelection.ts` puts its choice first in the answer, and changes it
 * when participants join or leave), and colibri2 tells the bridge only what was negotiated. A
 * producer carries every negotiated payload type with the expected codec first
 * ({@link producerRtpParameters}); the patched worker's stream follows the payload type it
 * receives (native/patches/0009). This watches each video producer:
 *
 * - the worker's `keyframe` trace (a codec change starts with a keyframe): the payload type the
 *   sender used, at once;
 * - every {@link POLL_INTERVAL_MS}, the producer's stats: each stream's `mimeType` (the codec its
 *   last packet had, a fallback when the first keyframe of the new codec was lost), and
 *   `packetsDiscarded` of every producer (audio too): packets with a payload type the endpoint
 *   never negotiated, dropped by the worker, reported as {@link CodecFollowerEvents.onDiscarded}.
 *
 * When a producer's packets show another codec than its first, `onCodecChange` fires once for
 * that producer; the caller produces the source again with {@link order} putting that codec first.
 */
import type * as ms from 'mediasoup/types';
import type { Logger } from '../logger.ts';
import { codecOfPayloadType, expectedCodecOrder } from './rtp.ts';

/**
 * Stats poll period, ms: one `getStats` per producer per period (JVB's `videobridge.stats.interval` default). The
 * keyframe trace sees a codec change at once; the poll is the fallback and the count of discarded packets.
 */
export const POLL_INTERVAL_MS = 5000;

/** What a {@link CodecFollower} reports. */
export interface CodecFollowerEvents {
  /** The sender of `source` sends `codec` (e.g. `VP9`), not what its producer expects. */
  onCodecChange(source: string, codec: string): void;
  /** Packets dropped by producers since the last report (a payload type never negotiated, a sequence number out of range). */
  onDiscarded(packets: number): void;
}

interface Watched {
  producer: ms.Producer;
  /** The codec the producer expects (its first), e.g. `VP8`. */
  expected: string;
  /** `onCodecChange` fired for this producer already. */
  reported: boolean;
  /** packetsDiscarded per stream SSRC, at the last poll. */
  discarded: Map<number, number>;
}

/** See the module docstring. One per conference. */
export class CodecFollower {
  readonly #log: Logger;
  readonly #events: CodecFollowerEvents;
  /** By source name. */
  readonly #watched = new Map<string, Watched>();
  /** The codec last seen from each source's sender (kept across re-created producers). */
  readonly #seen = new Map<string, string>();
  /** Sources whose sender simulcasts a codec that is otherwise produced as SVC (VP9, AV1): the codec, upper case. */
  readonly #simulcast = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  #polling = false;

  constructor(log: Logger, events: CodecFollowerEvents) {
    this.#log = log;
    this.#events = events;
    this.#timer = setInterval(() => void this.#poll(), POLL_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * The video codec order to produce `source` with (codec names, e.g. `['VP9','VP8']`): see
   * {@link expectedCodecOrder}; the codec last seen from its sender first.
   */
  order(source: string, preference: readonly string[], simulcast: boolean): string[] {
    const seen = this.#seen.get(source);
    const known = seen !== undefined && preference.some((c) => c.toUpperCase() === seen.toUpperCase());
    return expectedCodecOrder(preference, simulcast, known ? seen : undefined);
  }

  /**
   * The sender of `source` was seen sending `codec` (VP9 or AV1) as simulcast: media on another SSRC of its SIM group
   * than the first (media/svc.ts). Remembered until it changes codec.
   */
  sawSimulcast(source: string, codec: string): void {
    this.#simulcast.set(source, codec.toUpperCase());
  }

  /** Whether the sender of `source` simulcasts `codec` (see {@link sawSimulcast}). */
  sendsSimulcast(source: string, codec: string | undefined): boolean {
    return codec !== undefined && this.#simulcast.get(source) === codec.toUpperCase();
  }

  /** Watch a new producer of `source` (video: codec; every kind: discarded packets). */
  add(source: string, producer: ms.Producer): void {
    // A producer's parameters never change; mediasoup's getter copies them (structuredClone) on every read, once per
    // keyframe packet below otherwise.
    const params = producer.rtpParameters;
    const first = params.codecs[0];
    const expected = first ? first.mimeType.slice(first.mimeType.indexOf('/') + 1) : '';
    const w: Watched = { producer, expected, reported: false, discarded: new Map() };
    this.#watched.set(source, w);
    if (producer.kind !== 'video') return;
    producer.on('trace', (trace) => {
      if (trace.type !== 'keyframe') return;
      const info = trace.info as { rtpPacket?: { payloadType?: number }; isRtx?: boolean } | undefined;
      const pt = info?.rtpPacket?.payloadType;
      if (pt === undefined || info?.isRtx) return;
      const codec = codecOfPayloadType(params, pt);
      if (codec) this.#saw(source, w, codec, 'keyframe');
    });
    producer.enableTraceEvent(['keyframe']).catch(() => undefined);
  }

  /** Stop watching a producer of `source` (closed or replaced); what its sender sent is remembered. */
  remove(source: string, producer: ms.Producer): void {
    if (this.#watched.get(source)?.producer === producer) this.#watched.delete(source);
  }

  /** Forget a source for good (its endpoint left). */
  forget(source: string): void {
    this.#watched.delete(source);
    this.#seen.delete(source);
    this.#simulcast.delete(source);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watched.clear();
    this.#seen.clear();
    this.#simulcast.clear();
  }

  #saw(source: string, w: Watched, codec: string, how: string): void {
    if (this.#watched.get(source) !== w || w.producer.closed) return;
    this.#seen.set(source, codec);
    if (codec.toUpperCase() === w.expected.toUpperCase() || w.reported) return;
    w.reported = true;
    this.#log.info({ source, from: w.expected, to: codec, how }, 'sender uses another codec');
    this.#events.onCodecChange(source, codec);
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    let discarded = 0;
    try {
      // One producer's stats at a time. Asking for all of them at once saves wake-ups at a few conferences, but at 1,000
      // endpoints (bench:control-plane, 100 conferences) the answers arrived in bursts parsed in one turn of the loop:
      // loop p99 5.40 and 5.47 ms, Node 5.9 % of a core, against 2.92-4.55 ms and 5.3-5.9 % one at a time (four runs).
      const watched = [...this.#watched].filter(([, w]) => !w.producer.closed);
      const all: (ms.ProducerStat[] | undefined)[] = [];
      for (const [, w] of watched) all.push(await w.producer.getStats().catch(() => undefined));
      for (const [i, [source, w]] of watched.entries()) {
        const stats = all[i];
        if (!stats) continue;
        for (const s of stats) {
          const before = w.discarded.get(s.ssrc) ?? 0;
          if (s.packetsDiscarded > before) discarded += s.packetsDiscarded - before;
          w.discarded.set(s.ssrc, s.packetsDiscarded);
        }
        if (w.producer.kind !== 'video') continue;
        // A stream that stopped keeps its last codec: one with another codec than expected is the change.
        const codecs = stats.map((s) => s.mimeType.slice(s.mimeType.indexOf('/') + 1));
        const other = codecs.find((c) => c.toUpperCase() !== w.expected.toUpperCase());
        if (other ?? codecs[0]) this.#saw(source, w, (other ?? codecs[0]) as string, 'stats');
      }
    } finally {
      this.#polling = false;
    }
    if (discarded > 0) this.#events.onDiscarded(discarded);
  }
}
