/**
 * The sources forwarded on one transport: one mediasoup consumer per source, with the SSRCs the other side
 * receives them on (mediasoup consumers always get new SSRCs) and the allocation's decisions applied in order.
 * Used for an endpoint's WebRtcTransport (MediaEndpoint) and for a relay's PlainTransport (MediaRelay).
 */
import type * as ms from 'mediasoup/types';
import type { MediaType } from '../colibri2/types.ts';
import { RetiringCounters } from './RetiringCounters.ts';
import { DEPENDENCY_DESCRIPTOR_URI } from './svc.ts';
import type { ForwardingDecision, MappedSource, VideoType } from './types.ts';

/** One read of a consumer's outbound RTP stream: cumulative packets and lost (receiver reports), RTT ms (0: none). */
export interface ConsumerCounts {
  packets: number;
  lost: number;
  rttMs: number;
}

async function readConsumer(c: ms.Consumer): Promise<ConsumerCounts> {
  const [s] = await c.getStats();
  return { packets: s?.packetCount ?? 0, lost: Math.max(0, s?.packetsLost ?? 0), rttMs: s?.roundTripTime ?? 0 };
}

/** A source forwarded on the transport. */
interface Forwarded {
  consumer: ms.Consumer;
  mapped: MappedSource;
}

/** Options of {@link Forwarder.forward}. */
export interface ForwardOptions {
  /** What the other side can receive (codecs, header extension ids). */
  rtpCapabilities: ms.RtpCapabilities;
  /** Start paused (the allocation resumes it); default true. */
  paused?: boolean;
}

/** See the module docstring. */
export class Forwarder {
  readonly #forwarded = new Map<string, Forwarded>();
  /** The forwarding decision being applied per source (decisions apply in order). */
  readonly #applying = new Map<string, Promise<void>>();
  /** Packets sent on every consumer this forwarder had, closed ones included. */
  readonly #counts = new RetiringCounters<ms.Consumer, ConsumerCounts>(['packets', 'lost'], readConsumer);

  /**
   * Start forwarding `producer` as `source` on `transport` (mediasoup `transport.consume`, RTX when the other
   * side has it). A source already forwarded returns its mapping.
   * @returns the mapping, or undefined when `isClosed()` turned true meanwhile (the consumer is closed again).
   * @throws Error from mediasoup (the transport or producer closed, capabilities that cannot consume).
   */
  async forward(transport: ms.Transport, producer: ms.Producer, source: string, owner: string, videoType: VideoType | undefined, opts: ForwardOptions, isClosed: () => boolean): Promise<MappedSource | undefined> {
    const existing = this.#forwarded.get(source);
    if (existing) return existing.mapped;
    const rtpCapabilities = consumerCapabilities(producer, opts.rtpCapabilities);
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: opts.paused ?? true, enableRtx: true });
    if (isClosed() || this.#forwarded.has(source)) {
      consumer.close();
      return this.#forwarded.get(source)?.mapped;
    }
    const enc = consumer.rtpParameters.encodings?.[0];
    const mapped: MappedSource = {
      source,
      owner,
      kind: producer.kind as MediaType,
      ssrc: enc?.ssrc ?? 0,
      ...(enc?.rtx?.ssrc !== undefined ? { rtx: enc.rtx.ssrc } : {}),
      ...(producer.kind === 'video' ? { videoType: videoType ?? 'CAMERA' } : {}),
    };
    this.#forwarded.set(source, { consumer, mapped });
    consumer.on('producerclose', () => {
      if (this.#forwarded.get(source)?.consumer === consumer) this.#forwarded.delete(source);
      this.#counts.drop(consumer);
      consumer.close();
    });
    return mapped;
  }

  /** Stop forwarding a source (closes its consumer). */
  unforward(source: string): void {
    const f = this.#forwarded.get(source);
    if (!f) return;
    this.#forwarded.delete(source);
    this.#counts.retire(f.consumer);
    f.consumer.close();
  }

  /** Forget every consumer (their transport is gone): their last counts read are kept. */
  clear(): void {
    for (const f of this.#forwarded.values()) this.#counts.drop(f.consumer);
    this.#forwarded.clear();
  }

  /** Read every consumer one last time before the caller closes their transport (then {@link clear}). */
  retireAll(): void {
    for (const f of this.#forwarded.values()) this.#counts.retire(f.consumer);
  }

  /**
   * RTP packets sent and lost (receivers' reports) over every consumer this forwarder had, closed
   * ones included (never decreasing), and the live consumers' round-trip times (ms).
   */
  async counts(): Promise<{ packets: number; lost: number; rttMs: number[] }> {
    const { total, current } = await this.#counts.sum(this.consumers());
    return { packets: total.packets, lost: total.lost, rttMs: current.map((c) => c.rttMs).filter((r) => r > 0) };
  }

  /** Sources forwarded, with the SSRCs the other side receives them on. */
  mapped(): MappedSource[] {
    return [...this.#forwarded.values()].map((f) => f.mapped);
  }

  /** The mapping of one forwarded source. */
  mappedOf(source: string): MappedSource | undefined {
    return this.#forwarded.get(source)?.mapped;
  }

  /** The consumers (for stats). */
  consumers(): ms.Consumer[] {
    return [...this.#forwarded.values()].map((f) => f.consumer);
  }

  get size(): number {
    return this.#forwarded.size;
  }

  /** Update the video type announced for a forwarded source (no media change). */
  setVideoType(source: string, videoType: VideoType): void {
    const f = this.#forwarded.get(source);
    if (f && f.mapped.kind === 'video') f.mapped.videoType = videoType;
  }

  /**
   * Apply an allocation decision for one forwarded source: preferred simulcast or SVC layers (mediasoup
   * `consumer.setPreferredLayers`; switching spatial layer up makes mediasoup ask the sender for a keyframe, which
   * a simulcast encoding and a K-SVC spatial layer need),
   * priority (`consumer.setPriority`, video), then pause/resume. Decisions for a source apply one at a time, in
   * order. Unknown sources are ignored.
   */
  apply(source: string, decision: ForwardingDecision): Promise<void> {
    const next = (this.#applying.get(source) ?? Promise.resolve()).then(() => this.#apply(source, decision));
    const tail = next.catch(() => undefined);
    this.#applying.set(source, tail);
    void tail.then(() => {
      if (this.#applying.get(source) === tail) this.#applying.delete(source);
    });
    return next;
  }

  async #apply(source: string, decision: ForwardingDecision): Promise<void> {
    const f = this.#forwarded.get(source);
    if (!f || f.consumer.closed) return;
    const c = f.consumer;
    if (decision.spatialLayer !== undefined && (c.type === 'simulcast' || c.type === 'svc')) {
      const cur = c.preferredLayers;
      if (cur?.spatialLayer !== decision.spatialLayer || cur.temporalLayer !== decision.temporalLayer) {
        await c.setPreferredLayers({
          spatialLayer: decision.spatialLayer,
          ...(decision.temporalLayer !== undefined ? { temporalLayer: decision.temporalLayer } : {}),
        });
      }
    }
    if (decision.priority !== undefined && c.kind === 'video' && c.priority !== decision.priority) await c.setPriority(decision.priority);
    if (decision.paused && !c.paused) await c.pause();
    if (!decision.paused && c.paused) await c.resume();
  }

  /** Ask the sender of a forwarded video source for a keyframe (PLI/FIR; the producer rate-limits). */
  async requestKeyFrame(source: string): Promise<void> {
    const f = this.#forwarded.get(source);
    if (!f || f.consumer.closed || f.consumer.paused || f.consumer.kind !== 'video') return;
    await f.consumer.requestKeyFrame();
  }
}

/**
 * The receiver's capabilities for consuming `producer`: the dependency descriptor only for AV1 (media/svc.ts). An AV1
 * receiver needs it to tell the frames of an SVC stream's spatial layers apart (the router sends it to consumers,
 * native/node-patches/mediasoup/0002); for other codecs it is left out, as before: a descriptor forwarded unchanged
 * would describe the layers or simulcast encodings the sender sends, not the one stream the receiver gets.
 */
export function consumerCapabilities(producer: Pick<ms.Producer, 'rtpParameters'>, caps: ms.RtpCapabilities): ms.RtpCapabilities {
  // The first codec is the one sent (a sender that changes codec gets a new producer).
  const av1 = producer.rtpParameters.codecs[0]?.mimeType.toLowerCase() === 'video/av1';
  if (av1) return caps;
  return { ...caps, headerExtensions: (caps.headerExtensions ?? []).filter((e) => e.uri !== DEPENDENCY_DESCRIPTOR_URI) };
}
