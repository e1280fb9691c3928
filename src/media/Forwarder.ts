/**
 * The sources forwarded on one transport: one mediasoup consumer per source, with the SSRCs the other side
 * receives them on (new ones, the sender's own for a receiver without SSRC rewriting, or a slot's for a receiver
 * with SSRC limits) and the allocation's decisions applied in order.
 * Used for an endpoint's WebRtcTransport (MediaEndpoint) and for a relay's PlainTransport (MediaRelay).
 *
 * With SSRC limits (a receiver with SSRC rewriting, `videobridge.ssrc-limit.*`), every source is sent on a slot of
 * its kind ({@link SsrcSlots}, after jitsi-videobridge `SsrcCache.kt`): a consumer sends on the slot's SSRC and RTX
 * SSRC (`transport.consume({ ssrc, rtxSsrc })`), and the worker continues the sequence numbers and RTP timestamps
 * of the consumer that sent on it before (worker patch 0012). A source that finds no slot waits ("held": no
 * consumer) until one frees or it can take one: when its source leaves, or, once the allocation wants the held
 * source forwarded, the least recently used slot whose source the allocation does not forward (its last decision
 * paused, or its sender paused) — that source closes its consumer and waits in turn. JVB does the same by LRU over
 * the sources it forwards; a source with no slot is never in its source maps either.
 */
import type * as ms from 'mediasoup/types';
import { randomInt } from 'node:crypto';
import type { MediaType } from '../jingle/types.ts';
import { SsrcSlots, type SsrcSlot } from './SsrcSlots.ts';
import { DEPENDENCY_DESCRIPTOR_URI } from './svc.ts';
import type { ForwardingDecision, MappedSource, SignalledSsrcs, VideoType } from './types.ts';
import { int, type SettingsTable } from '../util/settings.ts';

/** What {@link Forwarder.forward} was given for a source (kept to consume it again on a slot later). */
interface ForwardArgs {
  transport: ms.Transport;
  producer: ms.Producer;
  source: string;
  owner: string;
  videoType: VideoType | undefined;
  opts: ForwardOptions;
  isClosed: () => boolean;
}

/** A source forwarded on the transport. */
interface Forwarded {
  consumer: ms.Consumer;
  mapped: MappedSource;
  args: ForwardArgs;
  /** Whether the allocation's last decision forwards it (undefined: none yet). */
  wanted?: boolean;
}

/** A source waiting for an SSRC slot (no consumer). */
interface Held {
  args: ForwardArgs;
  /** Whether the allocation's last decision forwards it (then it may take a slot whose source is not forwarded). */
  wanted?: boolean;
}

/** Send-SSRC limits per kind of a receiver with SSRC rewriting (`videobridge.ssrc-limit.*`). */
export interface SsrcLimits {
  audio: number;
  video: number;
}

/** JVB's reference.conf values (`videobridge.ssrc-limit`). */
export const DEFAULT_SSRC_LIMITS: Readonly<SsrcLimits> = { video: 50, audio: 50 };

/** Where each limit is read: `videobridge.ssrc-limit.*` in jvb.conf, or its environment variable. */
export const SSRC_LIMIT_SETTINGS: SettingsTable<SsrcLimits> = [
  { key: 'video', file: 'videobridge.ssrc-limit.video', env: 'OCTOBRIDGE_SSRC_LIMIT_VIDEO', value: int(1, 100_000) },
  { key: 'audio', file: 'videobridge.ssrc-limit.audio', env: 'OCTOBRIDGE_SSRC_LIMIT_AUDIO', value: int(1, 100_000) },
];

/** Options of a {@link Forwarder} with SSRC slots. */
export interface SlotOptions {
  limits: SsrcLimits;
  /** A source waits for a slot: at its first forward (none free), or it lost its slot to a source being forwarded. */
  onHeld: (source: string) => void;
  /** A waiting source got a slot and a consumer (paused): announce it, as a {@link Forwarder.forward} result. */
  onPlaced: (mapped: MappedSource) => void;
  /** A waiting source could not be consumed on its slot (it is dropped for this receiver). */
  onPlaceError: (source: string, err: unknown) => void;
}

/** Options of {@link Forwarder.forward}. */
export interface ForwardOptions {
  /** What the other side can receive (codecs, header extension ids). */
  rtpCapabilities: ms.RtpCapabilities;
  /** Start paused (the allocation resumes it); default true. */
  paused?: boolean;
  /**
   * Send on these SSRCs instead of new ones: the sender's own, for a receiver without SSRC rewriting. RTX goes on
   * `rtx` when both sides negotiated it (on `ssrc + 1` when the sender has no RTX SSRC).
   */
  ssrcs?: SignalledSsrcs;
}

/** See the module docstring. */
export class Forwarder {
  readonly #forwarded = new Map<string, Forwarded>();
  /** Sources waiting for an SSRC slot, in arrival order. */
  readonly #held = new Map<string, Held>();
  /** Sources being consumed on a slot (between the slot and the consumer), by the token of that attempt. */
  readonly #placing = new Map<string, symbol>();
  /** The forwarding decision being applied per source (decisions apply in order). */
  readonly #applying = new Map<string, Promise<void>>();
  readonly #slotOpts: SlotOptions | undefined;
  readonly #slots: Record<MediaType, SsrcSlots> | undefined;
  /** SSRCs the slots of both kinds use (never two alike). */
  readonly #slotSsrcs = new Set<number>();

  /** @param slots send on SSRC slots limited per kind (a receiver with SSRC rewriting); none: new SSRCs per consumer */
  constructor(slots?: SlotOptions) {
    this.#slotOpts = slots;
    if (slots) {
      const newSsrc = (): number => {
        let ssrc: number;
        // The range mediasoup draws its own SSRCs from.
        do ssrc = randomInt(100_000_000, 1_000_000_000);
        while (this.#slotSsrcs.has(ssrc));
        this.#slotSsrcs.add(ssrc);
        return ssrc;
      };
      this.#slots = { audio: new SsrcSlots(slots.limits.audio, newSsrc), video: new SsrcSlots(slots.limits.video, newSsrc) };
    }
  }

  /**
   * Start forwarding `producer` as `source` on `transport` (mediasoup `transport.consume`, RTX when the other
   * side has it). A source already forwarded returns its mapping. With SSRC slots, a source that gets none waits
   * (`onHeld`; undefined is returned) and is announced with `onPlaced` once it has one.
   * @returns the mapping, or undefined when `isClosed()` turned true meanwhile (the consumer is closed again) or the
   *   source waits for a slot.
   * @throws Error from mediasoup (the transport or producer closed, capabilities that cannot consume).
   */
  async forward(
    transport: ms.Transport,
    producer: ms.Producer,
    source: string,
    owner: string,
    videoType: VideoType | undefined,
    opts: ForwardOptions,
    isClosed: () => boolean,
  ): Promise<MappedSource | undefined> {
    const existing = this.#forwarded.get(source);
    if (existing) return existing.mapped;
    const args: ForwardArgs = { transport, producer, source, owner, videoType, opts, isClosed };
    if (!this.#slots || opts.ssrcs) {
      const chosen = opts.ssrcs ? { ssrc: opts.ssrcs.ssrc, ...(opts.ssrcs.rtx !== undefined ? { rtxSsrc: opts.ssrcs.rtx } : {}) } : {};
      return this.#consume(args, chosen, Symbol(source));
    }
    if (this.#held.has(source) || this.#placing.has(source)) return undefined;
    // A new source does not take another's slot (JVB evicts only for a source the allocation forwards).
    const grant = this.#slots[producer.kind as MediaType].acquire(source);
    if (!grant) {
      this.#held.set(source, { args });
      this.#slotOpts?.onHeld(source);
      return undefined;
    }
    return this.#consumeOnSlot(args, grant.slot);
  }

  /** Consume `args` on `slot` (which `args.source` holds); the slot is given up again when that fails or is cancelled. */
  async #consumeOnSlot(args: ForwardArgs, slot: SsrcSlot): Promise<MappedSource | undefined> {
    const token = Symbol(args.source);
    this.#placing.set(args.source, token);
    let mapped: MappedSource | undefined;
    try {
      mapped = await this.#consume(args, { ssrc: slot.ssrc, rtxSsrc: slot.rtx }, token);
    } catch (err) {
      this.#abandon(args, slot, token);
      throw err;
    }
    if (!mapped) this.#abandon(args, slot, token);
    else if (this.#placing.get(args.source) === token) this.#placing.delete(args.source);
    return mapped;
  }

  /** An attempt to consume on `slot` ended without a consumer: the slot is free again unless a newer attempt or consumer of the source has it. */
  #abandon(args: ForwardArgs, slot: SsrcSlot, token: symbol): void {
    const mine = this.#placing.get(args.source) === token;
    if (mine) this.#placing.delete(args.source);
    else if (this.#placing.has(args.source)) return;
    if (this.#forwarded.has(args.source) || this.#slots?.[args.producer.kind as MediaType].of(args.source) !== slot) return;
    this.#releaseSlot(args);
  }

  async #consume(args: ForwardArgs, chosen: { ssrc?: number; rtxSsrc?: number }, token: symbol): Promise<MappedSource | undefined> {
    const { transport, producer, source, owner, videoType, opts, isClosed } = args;
    const rtpCapabilities = consumerCapabilities(producer, opts.rtpCapabilities);
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: opts.paused ?? true, enableRtx: true, ...chosen });
    // On a slot: unforwarded, cleared or placed again meanwhile.
    const cancelled = this.#slots !== undefined && !opts.ssrcs && this.#placing.get(source) !== token;
    if (isClosed() || this.#forwarded.has(source) || cancelled) {
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
    this.#forwarded.set(source, { consumer, mapped, args });
    consumer.on('producerclose', () => {
      if (this.#forwarded.get(source)?.consumer === consumer) {
        this.#forwarded.delete(source);
        this.#releaseSlot(args);
      }
      consumer.close();
    });
    // A sender that pauses frees its slot for a source waiting to be forwarded.
    consumer.on('producerpause', () => this.#placeHeld());
    return mapped;
  }

  /** `args.source` gave up its slot (its consumer is gone): a waiting source may take it. */
  #releaseSlot(args: ForwardArgs): void {
    if (!this.#slots || args.opts.ssrcs) return;
    this.#slots[args.producer.kind as MediaType].release(args.source);
    this.#placeHeld();
  }

  /** Whether `source`'s slot may go to a source being forwarded: the allocation does not forward it, or its sender paused. */
  #evictable(source: string): boolean {
    const f = this.#forwarded.get(source);
    return f !== undefined && !f.consumer.closed && (f.wanted === false || f.consumer.producerPaused);
  }

  /**
   * Give waiting sources a slot: any source a free or new slot, a source the allocation forwards also the least
   * recently used slot of a source it does not ({@link SsrcSlots.acquire}); the ones it forwards first, then in
   * arrival order.
   */
  #placeHeld(): void {
    const slots = this.#slots;
    if (!slots || this.#held.size === 0) return;
    const order = [...this.#held.values()].sort((a, b) => Number(b.wanted === true) - Number(a.wanted === true));
    for (const h of order) {
      const { source, producer } = h.args;
      if (this.#held.get(source) !== h) continue;
      if (producer.closed || h.args.isClosed()) {
        this.#held.delete(source);
        continue;
      }
      const grant = slots[producer.kind as MediaType].acquire(source, h.wanted === true ? (s) => this.#evictable(s) : undefined);
      if (!grant) continue;
      this.#held.delete(source);
      if (grant.evicted !== undefined) this.#evict(grant.evicted);
      this.#consumeOnSlot(h.args, grant.slot).then(
        (mapped) => {
          if (!mapped) return;
          const f = this.#forwarded.get(source);
          if (f && h.wanted !== undefined) f.wanted = h.wanted;
          this.#slotOpts?.onPlaced(mapped);
        },
        (err: unknown) => {
          if (!producer.closed && !h.args.isClosed()) this.#slotOpts?.onPlaceError(source, err);
        },
      );
    }
  }

  /** `source` lost its slot to another (the slot is already the other's): close its consumer; it waits for a slot. */
  #evict(source: string): void {
    const f = this.#forwarded.get(source);
    if (!f) return;
    this.#forwarded.delete(source);
    f.consumer.close();
    this.#held.set(source, { args: f.args, wanted: false });
    this.#slotOpts?.onHeld(source);
  }

  /** Stop forwarding a source (closes its consumer; its slot goes to a waiting source). */
  unforward(source: string): void {
    this.#held.delete(source);
    const placing = this.#placing.get(source);
    if (placing) {
      // The attempt closes its consumer and gives the slot up when it returns.
      this.#placing.delete(source);
      return;
    }
    const f = this.#forwarded.get(source);
    if (!f) return;
    this.#forwarded.delete(source);
    f.consumer.close();
    this.#releaseSlot(f.args);
  }

  /** Forget every consumer (their transport is gone or closing). The slots start over. */
  clear(): void {
    this.#forwarded.clear();
    this.#held.clear();
    this.#placing.clear();
    if (this.#slots) {
      this.#slots.audio.clear();
      this.#slots.video.clear();
      this.#slotSsrcs.clear();
    }
  }

  /** Sources waiting for an SSRC slot. */
  heldSources(): string[] {
    return [...this.#held.keys()];
  }

  /** The SSRC slots per kind (undefined without SSRC limits). */
  get slots(): Readonly<Record<MediaType, SsrcSlots>> | undefined {
    return this.#slots;
  }

  /** Sources forwarded, with the SSRCs the other side receives them on. */
  mapped(): MappedSource[] {
    return [...this.#forwarded.values()].map((f) => f.mapped);
  }

  /** The mapping of one forwarded source. */
  mappedOf(source: string): MappedSource | undefined {
    return this.#forwarded.get(source)?.mapped;
  }

  get size(): number {
    return this.#forwarded.size;
  }

  /** Update the video type announced for a forwarded source (no media change). */
  setVideoType(source: string, videoType: VideoType): void {
    const f = this.#forwarded.get(source);
    if (f && f.mapped.kind === 'video') f.mapped.videoType = videoType;
    const h = this.#held.get(source);
    if (h) h.args.videoType = videoType;
  }

  /**
   * Apply an allocation decision for one forwarded source: preferred simulcast or SVC layers (mediasoup
   * `consumer.setPreferredLayers`; switching spatial layer up makes mediasoup ask the sender for a keyframe, which
   * a simulcast encoding and a K-SVC spatial layer need),
   * priority (`consumer.setPriority`, video), then pause/resume. Decisions for a source apply one at a time, in
   * order. Unknown sources are ignored. With SSRC slots, a decision that forwards a source waiting for a slot lets
   * it take one (see the module docstring; the allocation decides again for its new consumer once it is announced),
   * and one that stops forwarding a source makes its slot available to them.
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
    if (!f || f.consumer.closed) {
      const h = this.#held.get(source);
      if (h) {
        h.wanted = !decision.paused;
        if (h.wanted) this.#placeHeld();
      }
      return;
    }
    const c = f.consumer;
    const wanted = !decision.paused;
    if (this.#slots && f.wanted !== wanted) {
      // Started or stopped being forwarded: the end of the LRU (JVB touches a slot on every packet sent).
      f.wanted = wanted;
      this.#slots[c.kind as MediaType].touch(source);
    }
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
    if (!wanted) this.#placeHeld();
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
