/**
 * The media side of a conference: a router on each worker the conference uses, a
 * DirectTransport per router for the SCTP bridge channels, and the forwarding graph (every
 * source of every endpoint forwarded to every other endpoint; the allocation decides what is
 * paused and at which layer).
 *
 * Placement: the first endpoint goes to the least-loaded worker; later ones follow it until the
 * conference has `conferenceWorkerConsumers` consumers there (mediasoup's ~500 per worker), then
 * they go to the next least-loaded worker. A source reaches a receiver on another worker through
 * `router.pipeToRouter()`, once per (source, worker), never once per consumer.
 *
 * Worker death: the endpoints that were on it get new transports on a live worker, their sources
 * are produced again (same SSRCs) and everything is forwarded again; `relocated` tells the
 * signalling layer that those clients must connect to the new ICE/DTLS parameters. Endpoints on
 * other workers keep their transports and media throughout (they lose only what came from the
 * dead worker, until it is back). A relay on the dead worker gets a new transport on the same
 * address and port, so the other bridge needs no signalling ({@link MediaRelay}).
 *
 * For the allocation it reports each video source's layers ({@link VideoLayerMonitor}) and the
 * dominant speaker: one mediasoup ActiveSpeakerObserver (the Volfin-Cohen algorithm JVB's
 * DominantSpeakerIdentification implements, on the ssrc-audio-level extension) on the "speaker
 * router", the router of the first endpoint; audio from other workers is piped to it.
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import { SerialQueue } from '../util/SerialQueue.ts';
import { normalizeVideoType, type Media, type MediaSource } from '../jingle/types.ts';
import type { Logger } from '../logger.ts';
import { liveWorker, type WorkerPool, type WorkerSlot } from './workers.ts';
import type { Layer } from '../allocation/types.ts';
import { MediaEndpoint, type MediaEndpointOptions } from './MediaEndpoint.ts';
import { MediaRelay, type RelayListen, type RelayTransportAddress } from './MediaRelay.ts';
import { createRelayTransport } from './relayTransport.ts';
import { SpareTransports } from './SpareTransports.ts';
import { codecOfPayloadType, producerRtpParameters, rtpCapabilitiesOf, RtpMappingError, signalledSsrcs, sourceLayout } from './rtp.ts';
import { CodecFollower } from './CodecFollower.ts';
import { svcDecision } from './svc.ts';
import type { ForceMute, MappedSource, SignalledSsrcs, VideoType } from './types.ts';
import { VideoLayerMonitor } from './VideoLayerMonitor.ts';

/**
 * Per video source, the shortest time between two keyframe requests to its sender, ms (mediasoup
 * `keyFrameRequestDelay`: requests in between are merged into one at the end). libwebrtc ignores
 * requests closer than 300 ms to its last keyframe anyway (EncoderRtcpFeedback).
 */
export const KEYFRAME_MIN_INTERVAL_MS = 300;

/** Attempts to move an endpoint off a dead worker (the worker it is moved to may die too). */
const RELOCATE_ATTEMPTS = 3;

/** Dominant-speaker decision interval, ms (mediasoup ActiveSpeakerObserver default). */
const SPEAKER_INTERVAL_MS = 300;

interface ConferenceEvents {
  /**
   * A source started being forwarded to `receiver` (a consumer exists, paused): at once, or when it got an SSRC slot
   * after `sourceHeld`.
   */
  sourceForwarded: [receiver: MediaEndpoint, mapped: MappedSource];
  /** A source waits for an SSRC slot of `receiver` (none free, or it lost its slot to a source being forwarded). */
  sourceHeld: [receiver: MediaEndpoint, source: string];
  /** A source is produced (new, changed, or again after a worker death). */
  sourceAdded: [source: string, owner: string, kind: 'audio' | 'video', videoType: VideoType | undefined];
  /** A source stopped being forwarded to every receiver (its producer closed). */
  sourceRemoved: [source: string, owner: string];
  /** Fresh layers of a video source (about every second). */
  videoLayers: [source: string, layers: Layer[]];
  /** The dominant speaker changed (endpoint id). */
  dominantSpeaker: [endpointId: string];
  /** An endpoint got a new transport (its worker died): its client must reconnect. */
  endpointRelocated: [MediaEndpoint];
  /** A local source started being sent over a relay (a consumer exists; video paused). */
  relaySourceForwarded: [relay: MediaRelay, mapped: MappedSource];
  closed: [];
}

/** A source an endpoint sends (a local endpoint, or one behind a relay). */
interface Sent {
  owner: string;
  producer: ms.Producer;
  /** The worker the producer lives on. */
  slot: WorkerSlot;
  /** The relay it arrives on, for a source of an endpoint behind another bridge. */
  relay?: string;
  /** The colibri2 description it was created from (to detect changes). */
  signature: string;
  /** The SSRCs the focus tells receivers without SSRC rewriting (unknown for a relayed source Jicofo has not signalled). */
  signalled?: SignalledSsrcs;
  videoType?: VideoType;
  /**
   * A VP9 / AV1 source produced as one SVC stream whose SIM group has more SSRCs: a producer on each other SSRC that
   * only watches for media there (the sender simulcasts instead), see {@link MediaConference.#watchForSimulcast}.
   */
  sentinels?: ms.Producer[];
}

/** One router of the conference. */
interface RouterState {
  router: ms.Router;
  /** Endpoint transports made ahead of the allocations ({@link SpareTransports}). */
  spares: SpareTransports;
  direct?: Promise<ms.DirectTransport>;
  /** Producers (by id) piped into this router from another worker's router. */
  piped: Map<string, Promise<void>>;
}

/** Options of {@link MediaConference.createEndpoint}. */
export interface EndpointMediaOptions extends MediaEndpointOptions {
  media: Media[];
  /** Set up the SCTP association for the in-band bridge channel. */
  sctp: boolean;
}

/** An endpoint whose transport is being made ahead of its turn: {@link MediaConference.prepareEndpoint}. */
export interface PreparedEndpoint {
  readonly id: string;
  readonly opts: EndpointMediaOptions;
  /** Resolves when its transport (and SCTP stream) exist; rejects when mediasoup refused. */
  readonly endpoint: Promise<MediaEndpoint>;
  /** Stop counting it as being placed on its worker (idempotent). */
  release(): void;
}

/** See the module docstring. Created by {@link MediaEngine.createConference}. */
export class MediaConference extends EventEmitter<ConferenceEvents> {
  readonly id: string;
  readonly #pool: WorkerPool;
  readonly #log: Logger;
  readonly #routers = new Map<WorkerSlot, Promise<RouterState>>();
  readonly #endpoints = new Map<string, MediaEndpoint>();
  readonly #sources = new Map<string, Sent>();
  readonly #relays = new Map<string, MediaRelay>();
  /** What each endpoint signalled last (to produce it again after a worker death). */
  readonly #signalled = new Map<string, { sources: MediaSource[]; videoCodecs: readonly string[]; forceMute: ForceMute }>();
  /** The endpoint of each source name in {@link #signalled}. */
  readonly #signalledOwners = new Map<string, string>();
  /** The worker new endpoints go to. */
  #fill?: WorkerSlot;
  readonly #layers: VideoLayerMonitor;
  /** The router whose ActiveSpeakerObserver watches every audio source. */
  #speaker?: Promise<{ slot: WorkerSlot; observer: ms.ActiveSpeakerObserver }>;
  readonly #queue = new SerialQueue();
  /** The video codec each source's sender uses, as seen in its packets; producers are re-created on a change. */
  readonly #codecs: CodecFollower;
  /** How each source that arrives on a relay was announced (to produce it again for another codec). */
  readonly #relayedAs = new Map<string, { relayId: string; mapped: MappedSource; videoCodecs: readonly string[]; signalled?: SignalledSsrcs }>();
  #closed = false;

  constructor(id: string, pool: WorkerPool, log: Logger) {
    super();
    this.id = id;
    this.#pool = pool;
    this.#log = log;
    this.#layers = new VideoLayerMonitor(log);
    this.#layers.on('layers', (source, layers) => this.emit('videoLayers', source, layers));
    this.#codecs = new CodecFollower(log, {
      onCodecChange: (source, codec) => void this.#queue.run(() => this.#followCodec(source, codec)),
      onDiscarded: (packets) => pool.rtpDiscarded(packets),
    });
  }

  /** The conference's endpoints whose transport is on a worker. */
  endpointsOn(slot: WorkerSlot): number {
    let n = 0;
    for (const e of this.#endpoints.values()) if (e.slot === slot) n += 1;
    return n;
  }

  /**
   * @internal Called by the engine (one dispatch for every conference) when `dead` died: after
   * the conference's earlier operations, and once a worker is alive (when every worker died at
   * once, the first replacement), re-create what it had there ({@link #recover}). When no worker
   * comes back the conference closes (and so expires) instead of keeping dead transports.
   */
  recoverFrom(dead: WorkerSlot): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#closed) return;
      if (await this.#untilWorkerOrClose()) await this.#recover(dead);
    });
  }

  /** Wait for a live worker: true once there is one; false (the conference closed) when none comes back. */
  async #untilWorkerOrClose(): Promise<boolean> {
    try {
      await this.#pool.untilWorkerAlive();
      return true;
    } catch (err) {
      this.#log.error({ err }, 'no mediasoup worker to recover on: closing the conference');
      this.close();
      return false;
    }
  }

  /** The conference's consumers on a worker. */
  consumersOn(slot: WorkerSlot): number {
    let n = 0;
    for (const e of this.#endpoints.values()) if (e.slot === slot) n += e.consumerCount;
    return n;
  }

  /** Workers this conference has a router on. */
  workers(): WorkerSlot[] {
    return [...this.#routers.keys()];
  }

  /** The worker a new endpoint goes to (see the module docstring). */
  #place(): WorkerSlot {
    const threshold = this.#pool.conferenceWorkerConsumers;
    const fill = this.#fill;
    if (fill?.alive && this.consumersOn(fill) < threshold) return fill;
    // Workers where this conference is already full are skipped while others are left.
    const full = new Set(this.#pool.alive().filter((w) => this.consumersOn(w) >= threshold));
    const next = this.#pool.leastLoaded(full);
    if (fill && next !== fill) this.#log.info({ from: fill.index, to: next.index, threshold }, 'conference spreads to another worker');
    this.#fill = next;
    return next;
  }

  #router(slot: WorkerSlot): Promise<RouterState> {
    let state = this.#routers.get(slot);
    if (!state) {
      state = this.#pool.createRouter(slot).then((router) => ({
        router,
        spares: new SpareTransports(
          (sctp) => this.#createTransport(slot, router, sctp),
          // Made before the worker took another's steering character: its clients' checks would reach the wrong worker.
          (t) => !slot.iceUfragPrefix || t.iceParameters.usernameFragment.startsWith(slot.iceUfragPrefix),
        ),
        piped: new Map(),
      }));
      this.#routers.set(slot, state);
      state.catch(() => this.#routers.delete(slot));
    }
    return state;
  }

  /** A new endpoint's transport on `slot`: a spare of its router when one is ready ({@link SpareTransports}). */
  async #newTransport(slot: WorkerSlot, sctp: boolean): Promise<{ transport: ms.WebRtcTransport; state: RouterState }> {
    const state = await this.#router(slot);
    return { transport: await state.spares.take(sctp), state };
  }

  /** An endpoint transport on `router` (on `slot`'s worker), with the pool's options. */
  #createTransport(slot: WorkerSlot, router: ms.Router, sctp: boolean): Promise<ms.WebRtcTransport> {
    const o = this.#pool.transport;
    return router.createWebRtcTransport({
      webRtcServer: slot.webRtcServer,
      enableUdp: true,
      enableTcp: o.iceTcp,
      preferUdp: true,
      enableSctp: sctp,
      maxSendMessageSize: 262144,
      maxReceiveMessageSize: 262144,
      initialAvailableOutgoingBitrate: o.initialOutgoingBitrateBps,
      iceConsentTimeout: o.iceConsentTimeoutSec,
      ...(slot.iceUfragPrefix ? { iceUsernameFragmentPrefix: slot.iceUfragPrefix } : {}),
    });
  }

  #direct(state: RouterState): Promise<ms.DirectTransport> {
    state.direct ??= state.router.createDirectTransport({ maxSendMessageSize: 262144, maxReceiveMessageSize: 262144 });
    return state.direct;
  }

  /**
   * Create an endpoint's transport on the placed worker, and its SCTP bridge-channel stream
   * when asked. Forwarding of the existing sources to it starts at once (paused).
   * @throws Error when the id exists, no worker is alive, or mediasoup refuses.
   */
  createEndpoint(id: string, opts: EndpointMediaOptions): Promise<MediaEndpoint> {
    return this.adoptEndpoint(this.prepareEndpoint(id, opts));
  }

  /**
   * The worker round trips of {@link createEndpoint} (the transport, the SCTP bridge-channel stream), started at once
   * and outside this conference's queue, so that the allocations of several endpoints of one conference make their
   * transports in parallel instead of one after the other. The endpoint is placed (and counted on its worker) now;
   * it is not part of the conference until {@link adoptEndpoint}, and whoever does not adopt it must
   * {@link discardEndpoint} it.
   */
  prepareEndpoint(id: string, opts: EndpointMediaOptions): PreparedEndpoint {
    const slot = this.#place();
    // Counted on its worker from now on, for placements made while this one awaits.
    const release = this.#pool.reserve(slot);
    const endpoint = (async () => {
      const { transport, state } = await this.#newTransport(slot, opts.sctp);
      const e = new MediaEndpoint(
        id,
        opts.media,
        rtpCapabilitiesOf(opts.media),
        opts.sctp ? () => this.#direct(state) : undefined,
        transport,
        slot,
        this.#log.child({ endpoint: id }),
        opts,
      );
      return e;
    })();
    // Awaited only in turn (adoptEndpoint) or never (discardEndpoint): a refusal is not an unhandled rejection meanwhile.
    endpoint.catch(() => undefined);
    let released = false;
    const done = (): void => {
      if (released) return;
      released = true;
      release();
    };
    return { id, opts, endpoint, release: done };
  }

  /**
   * Make a {@link prepareEndpoint}ed endpoint part of the conference, in turn with the other media changes: from now
   * on it gets every source (paused). An endpoint whose worker died meanwhile is made again.
   * @throws Error when the id exists, no worker is alive, or mediasoup refuses (the prepared endpoint is closed).
   */
  adoptEndpoint(prepared: PreparedEndpoint): Promise<MediaEndpoint> {
    const { id } = prepared;
    return this.#queue.run(async () => {
      let endpoint: MediaEndpoint;
      try {
        endpoint = await prepared.endpoint;
      } finally {
        prepared.release();
      }
      if (this.#endpoints.has(id)) {
        endpoint.close();
        throw new Error(`endpoint ${id} exists`);
      }
      if (!endpoint.slot.alive) {
        endpoint.close();
        const again = this.prepareEndpoint(id, prepared.opts);
        try {
          endpoint = await again.endpoint;
        } finally {
          again.release();
        }
      }
      const e = endpoint;
      e.on('sourceHeld', (source) => this.emit('sourceHeld', e, source));
      e.on('sourcePlaced', (mapped) => this.emit('sourceForwarded', e, mapped));
      this.#endpoints.set(id, endpoint);
      this.#log.info({ endpoint: id, worker: endpoint.slot.index }, 'endpoint placed');
      for (const [source, sent] of this.#sources) {
        if (sent.owner !== id) await this.#forwardTo(endpoint, source, sent);
      }
      return endpoint;
    });
  }

  /** Close a {@link prepareEndpoint}ed endpoint that is not adopted (its request was refused). */
  discardEndpoint(prepared: PreparedEndpoint): void {
    prepared.release();
    prepared.endpoint.then(
      (e) => e.close(),
      () => undefined,
    );
  }

  /** The endpoints' media. */
  endpoints(): MediaEndpoint[] {
    return [...this.#endpoints.values()];
  }

  endpoint(id: string): MediaEndpoint | undefined {
    return this.#endpoints.get(id);
  }

  /**
   * Replace the sources an endpoint sends (colibri2 `<sources>` is a full replacement):
   * removed sources stop, new or changed ones get a producer and are forwarded to every other
   * endpoint. Validates everything first; on a {@link RtpMappingError} nothing changes.
   */
  setSources(endpointId: string, sources: readonly MediaSource[], videoCodecs: readonly string[]): Promise<void> {
    return this.#queue.run(() => this.#setSources(endpointId, sources, videoCodecs));
  }

  async #setSources(endpointId: string, sources: readonly MediaSource[], videoCodecs: readonly string[]): Promise<void> {
    const endpoint = this.#endpoints.get(endpointId);
    if (!endpoint) throw new Error(`unknown endpoint ${endpointId}`);
    const wanted = new Map<string, { source: MediaSource; rtp: ms.RtpParameters; signature: string }>();
    const ssrcs = new Set<number>();
    for (const source of sources) {
      if (wanted.has(source.id)) throw new RtpMappingError(`source ${source.id} signalled twice`);
      for (const s of source.sources) {
        if (ssrcs.has(s.ssrc)) throw new RtpMappingError(`SSRC ${s.ssrc} is used by two sources`);
        ssrcs.add(s.ssrc);
      }
      const owner = this.#sources.get(source.id)?.owner;
      if (owner !== undefined && owner !== endpointId) throw new RtpMappingError(`source ${source.id} belongs to endpoint ${owner}`);
      const media = endpoint.media.find((m) => m.type === source.type);
      const order = this.#codecs.order(source.id, videoCodecs, sourceLayout(source).encodings.length > 1);
      const simulcast = source.type === 'video' && this.#codecs.sendsSimulcast(source.id, order[0]);
      const rtp = producerRtpParameters(source, media, source.type === 'audio' ? ['opus'] : order, endpointId, simulcast);
      wanted.set(source.id, { source, rtp, signature: JSON.stringify(rtp) });
    }
    const previous = this.#signalled.get(endpointId);
    this.#signalled.set(endpointId, { sources: structuredClone([...sources]), videoCodecs, forceMute: previous?.forceMute ?? {} });
    for (const s of previous?.sources ?? []) if (this.#signalledOwners.get(s.id) === endpointId) this.#signalledOwners.delete(s.id);
    for (const s of sources) this.#signalledOwners.set(s.id, endpointId);
    // Remove what is gone or changed.
    for (const [name, sent] of [...this.#sources]) {
      if (sent.owner !== endpointId) continue;
      const w = wanted.get(name);
      if (w && w.signature === sent.signature && !sent.producer.closed) {
        wanted.delete(name);
        continue;
      }
      this.#removeSource(name);
    }
    // Create the new ones.
    for (const [name, w] of wanted) {
      let producer: ms.Producer;
      try {
        producer = await endpoint.transport.produce({
          kind: w.source.type,
          rtpParameters: w.rtp,
          appData: { source: name },
          ...(w.source.type === 'video' ? { keyFrameRequestDelay: KEYFRAME_MIN_INTERVAL_MS } : {}),
        });
      } catch (err) {
        throw new RtpMappingError(`source ${name}: ${(err as Error).message}`);
      }
      const videoType = normalizeVideoType(w.source.sources[0]?.videoType);
      const signalled = signalledSsrcs(w.source);
      const sent: Sent = {
        owner: endpointId,
        producer,
        slot: endpoint.slot,
        signature: w.signature,
        ...(signalled ? { signalled } : {}),
        ...(videoType ? { videoType } : {}),
      };
      endpoint.producers.set(name, producer);
      this.#sources.set(name, sent);
      const muted = this.#signalled.get(endpointId)?.forceMute;
      if ((producer.kind === 'audio' && muted?.audio) || (producer.kind === 'video' && muted?.video)) await producer.pause();
      this.#log.info(
        {
          endpoint: endpointId,
          source: name,
          kind: w.source.type,
          ssrcs: w.rtp.encodings?.map((e) => e.ssrc),
          worker: endpoint.slot.index,
          type: producer.type,
        },
        'source added',
      );
      const whole = unparsableSvc(w.rtp);
      if (whole) this.#log.warn({ endpoint: endpointId, source: name }, whole);
      this.emit('sourceAdded', name, endpointId, producer.kind as 'audio' | 'video', videoType);
      await this.#watch(name, sent);
      this.#codecs.add(name, producer);
      if (producer.type === 'svc') await this.#watchForSimulcast(name, sent, endpoint.transport, w.source, w.rtp);
      for (const receiver of this.#endpoints.values()) {
        if (receiver.id !== endpointId) await this.#forwardTo(receiver, name, sent);
      }
      for (const relay of this.#relays.values()) await this.#forwardToRelay(relay, name, sent);
    }
  }

  /**
   * A VP9 or AV1 source is produced as one SVC stream on the first SSRC of its SIM group (lib-jitsi-meet's K-SVC), but
   * a sender may simulcast it instead (Firefox, Safari, lib-jitsi-meet with `videoQuality.<codec>.useSimulcast`):
   * colibri2 signals both the same way. As JVB tells them apart by the packets, a producer on each other SSRC of the
   * group watches for media (its `rtp` trace: nothing arrives there from an SVC sender); the first packet with a
   * payload marks the source as simulcast for that codec and produces it again as simulcast.
   */
  async #watchForSimulcast(name: string, sent: Sent, transport: ms.WebRtcTransport, source: MediaSource, rtp: ms.RtpParameters): Promise<void> {
    const others = sourceLayout(source).encodings.slice(1);
    const first = rtp.codecs[0];
    const codec = first && codecOfPayloadType(rtp, first.payloadType);
    if (others.length === 0 || !codec) return;
    const sentinels: ms.Producer[] = [];
    sent.sentinels = sentinels;
    let seen = false;
    for (const e of others) {
      let p: ms.Producer;
      try {
        p = await transport.produce({
          kind: 'video',
          rtpParameters: { codecs: rtp.codecs, headerExtensions: rtp.headerExtensions ?? [], encodings: [{ ssrc: e.ssrc }], rtcp: rtp.rtcp ?? {} },
          appData: { sentinelOf: name },
        });
      } catch (err) {
        this.#log.warn({ err, source: name, ssrc: e.ssrc }, 'cannot watch an SSRC of the SIM group for simulcast');
        continue;
      }
      if (this.#sources.get(name) !== sent) {
        p.close();
        return;
      }
      sentinels.push(p);
      p.on('trace', (trace) => {
        const info = trace.info as { isRtx?: boolean; rtpPacket?: { payloadSize?: number; payloadType?: number } } | undefined;
        if (seen || trace.type !== 'rtp' || info?.isRtx || !(info?.rtpPacket?.payloadSize ?? 0)) return;
        // Another codec (the sender moved to VP8 simulcast, say): the codec follower produces the source again.
        const packetCodec = info?.rtpPacket?.payloadType === undefined ? undefined : codecOfPayloadType(rtp, info.rtpPacket.payloadType);
        if (packetCodec?.toUpperCase() !== codec.toUpperCase()) {
          seen = true;
          p.enableTraceEvent([]).catch(() => undefined);
          return;
        }
        seen = true;
        this.#codecs.sawSimulcast(name, codec);
        this.#log.info({ endpoint: sent.owner, source: name, codec, ssrc: e.ssrc }, 'sender simulcasts the codec: producing the source as simulcast');
        void this.#queue.run(() => this.#followCodec(name, codec));
      });
      await p.enableTraceEvent(['rtp']).catch(() => undefined);
    }
  }

  /** Layer monitoring for video, speaker detection for audio. */
  async #watch(name: string, sent: Sent): Promise<void> {
    const producer = sent.producer;
    try {
      if (producer.kind === 'video') {
        const state = await this.#router(sent.slot);
        this.#layers.add(name, producer, await this.#direct(state), state.router.rtpCapabilities);
        // A sender starting or stopping an encoding (e.g. after SenderSourceConstraints) shows in
        // the per-encoding scores at once: refresh the layers then rather than at the next poll.
        let active = '';
        producer.on('score', (scores) => {
          const key = scores
            .filter((x) => x.score > 0)
            .map((x) => x.encodingIdx)
            .join(',');
          if (key !== active) {
            active = key;
            this.#layers.refresh(name);
          }
        });
      } else {
        await this.#observeSpeaker(sent.slot, sent);
      }
    } catch (err) {
      if (!producer.closed) this.#log.warn({ err, source: name }, 'cannot watch source');
    }
  }

  /** Add an audio source to the conference's ActiveSpeakerObserver (piping it there first). */
  async #observeSpeaker(from: WorkerSlot, sent: Sent): Promise<void> {
    this.#speaker ??= this.#router(from).then(async ({ router }) => {
      const observer = await router.createActiveSpeakerObserver({ interval: SPEAKER_INTERVAL_MS });
      observer.on('dominantspeaker', ({ producer }) => {
        const owner = [...this.#sources.values()].find((s) => s.producer.id === producer.id)?.owner;
        if (owner !== undefined) this.emit('dominantSpeaker', owner);
      });
      return { slot: from, observer };
    });
    const speaker = this.#speaker;
    speaker.catch(() => {
      if (this.#speaker === speaker) this.#speaker = undefined;
    });
    const { slot, observer } = await speaker;
    if (slot !== from) await this.#pipe(sent, from, slot);
    if (!sent.producer.closed && !observer.closed) await observer.addProducer({ producerId: sent.producer.id });
  }

  /** Pipe a producer into the receiver's router once (mediasoup keeps one PipeTransport pair per router pair). */
  async #pipe(sent: Sent, from: WorkerSlot, to: WorkerSlot): Promise<void> {
    const target = await this.#router(to);
    let piped = target.piped.get(sent.producer.id);
    if (!piped) {
      const source = await this.#router(from);
      piped = source.router.pipeToRouter({ producerId: sent.producer.id, router: target.router }).then(({ pipeProducer }) => {
        pipeProducer?.observer.once('close', () => target.piped.delete(sent.producer.id));
      });
      target.piped.set(sent.producer.id, piped);
      piped.catch(() => target.piped.delete(sent.producer.id));
    }
    await piped;
  }

  async #forwardTo(receiver: MediaEndpoint, source: string, sent: Sent): Promise<void> {
    if (sent.producer.closed || !sent.slot.alive || !receiver.slot.alive) return;
    try {
      if (sent.slot !== receiver.slot) await this.#pipe(sent, sent.slot, receiver.slot);
      const { router } = await this.#router(receiver.slot);
      if (!router.canConsume({ producerId: sent.producer.id, rtpCapabilities: receiver.rtpCapabilities })) {
        this.#log.warn({ receiver: receiver.id, source }, 'receiver cannot decode source codec; not forwarded');
        return;
      }
      if (!receiver.ssrcRewriting && !sent.signalled) {
        this.#log.warn({ receiver: receiver.id, source }, 'source has no signalled SSRC for a receiver without SSRC rewriting; not forwarded');
        return;
      }
      const mapped = await receiver.forward(sent.producer, source, sent.owner, sent.videoType, sent.signalled);
      if (mapped) this.emit('sourceForwarded', receiver, mapped);
    } catch (err) {
      if (!receiver.closed && !sent.producer.closed) this.#log.warn({ err, receiver: receiver.id, source }, 'cannot forward source');
    }
  }

  /**
   * The sender of `name` sends `codec` (another of its negotiated codecs than its producer expects): produce it again
   * with that codec first (the producer's shape, simulcast or SVC, depends on it), which re-creates its consumers with
   * that codec; receivers get the new SSRCs in their source maps, as for any re-added source.
   */
  async #followCodec(name: string, codec: string): Promise<void> {
    const sent = this.#sources.get(name);
    if (!sent || sent.producer.closed) return;
    if (sent.relay !== undefined) {
      // Queued after this task (awaiting it here would wait for itself).
      const r = this.#relayedAs.get(name);
      if (r?.relayId === sent.relay) {
        this.receiveFromRelay(r.relayId, r.mapped, r.videoCodecs, r.signalled).catch((err: unknown) => {
          if (!this.#closed) this.#log.warn({ err, source: name, codec }, 'cannot produce relayed source again for its codec');
        });
      }
      return;
    }
    const signalled = this.#signalled.get(sent.owner);
    if (!signalled || !this.#endpoints.has(sent.owner)) return;
    const started = Date.now();
    await this.#setSources(sent.owner, signalled.sources, signalled.videoCodecs);
    this.#log.info({ endpoint: sent.owner, source: name, codec, ms: Date.now() - started }, 'source produced again for the codec its sender uses');
  }

  #removeSource(name: string): void {
    const sent = this.#sources.get(name);
    if (!sent) return;
    this.#sources.delete(name);
    for (const p of sent.sentinels ?? []) p.close();
    this.#codecs.remove(name, sent.producer);
    this.#layers.remove(name);
    this.#endpoints.get(sent.owner)?.forgetProducer(name);
    for (const e of this.#endpoints.values()) e.unforward(name);
    for (const r of this.#relays.values()) r.unforward(name);
    if (sent.relay !== undefined) this.#relays.get(sent.relay)?.incoming.delete(name);
    sent.producer.close();
    this.#log.info({ endpoint: sent.owner, source: name }, 'source removed');
    this.emit('sourceRemoved', name, sent.owner);
  }

  // ---------------------------------------------------------------------------------------------- relays

  /**
   * Create the relay to another bridge (colibri2 `<relay id create>`): a PlainTransport on `listen` (this bridge's
   * relay address; port from the worker's range), the SCTP message channel, and every local source sent over it
   * (video paused until the allocation for the relay resumes it). See {@link MediaRelay}.
   * @throws Error when the id exists, no worker is alive, or mediasoup refuses (e.g. the address is not local).
   */
  createRelay(id: string, media: Media[], listen: RelayListen): Promise<MediaRelay> {
    return this.#queue.run(async () => {
      if (this.#relays.has(id)) throw new Error(`relay ${id} exists`);
      const first = this.#endpoints.values().next().value as MediaEndpoint | undefined;
      const slot = first?.slot.alive ? first.slot : this.#place();
      const state = await this.#router(slot);
      const transport = await createRelayTransport(state.router, listen);
      const relay = new MediaRelay(id, media, { ...listen }, transport, slot, this.#log.child({ relay: id }));
      try {
        await relay.setUpChannel(await this.#direct(state));
      } catch (err) {
        transport.close();
        throw err;
      }
      this.#relays.set(id, relay);
      this.#log.info({ relay: id, local: relay.local, worker: slot.index }, 'relay created');
      for (const [name, sent] of this.#sources) await this.#forwardToRelay(relay, name, sent);
      return relay;
    });
  }

  relay(id: string): MediaRelay | undefined {
    return this.#relays.get(id);
  }

  relays(): MediaRelay[] {
    return [...this.#relays.values()];
  }

  /** Point a relay at the other bridge's relay address ({@link MediaRelay.connect}). */
  connectRelay(id: string, remote: RelayTransportAddress): Promise<void> {
    return this.#queue.run(async () => {
      const relay = this.#relays.get(id);
      if (!relay) throw new Error(`unknown relay ${id}`);
      await relay.connect(remote);
    });
  }

  /** Remove a relay: the sources that arrived on it stop for everyone, its transport closes. */
  removeRelay(id: string): Promise<void> {
    return this.#queue.run(async () => {
      const relay = this.#relays.get(id);
      if (!relay) return;
      for (const [name, sent] of [...this.#sources]) if (sent.relay === id) this.#removeSource(name);
      for (const [name, r] of [...this.#relayedAs]) {
        if (r.relayId !== id) continue;
        this.#relayedAs.delete(name);
        this.#codecs.forget(name);
      }
      this.#relays.delete(id);
      relay.close();
      this.#log.info({ relay: id }, 'relay removed');
    });
  }

  /**
   * A source of an endpoint behind a relay, as the other bridge announced it (its SSRCs on the relay): produce it
   * on the relay transport and forward it to every local endpoint, like a local source. The same announcement
   * again changes nothing; new SSRCs replace the producer. `signalled`: the SSRCs Jicofo signalled for it (the
   * sender's own), which local receivers without SSRC rewriting get it on.
   * @throws RtpMappingError when the relay's media cannot carry it.
   */
  receiveFromRelay(relayId: string, mapped: MappedSource, videoCodecs: readonly string[], signalled?: SignalledSsrcs): Promise<void> {
    return this.#queue.run(async () => {
      const relay = this.#relays.get(relayId);
      if (!relay || relay.closed) throw new Error(`unknown relay ${relayId}`);
      const existing = this.#sources.get(mapped.source);
      if (existing && existing.relay !== relayId) throw new RtpMappingError(`source ${mapped.source} belongs to endpoint ${existing.owner}`);
      const source: MediaSource = {
        type: mapped.kind,
        id: mapped.source,
        sources: [{ ssrc: mapped.ssrc }, ...(mapped.rtx !== undefined ? [{ ssrc: mapped.rtx }] : [])],
        ssrcGroups: mapped.rtx !== undefined ? [{ semantics: 'FID', ssrcs: [mapped.ssrc, mapped.rtx] }] : [],
      };
      const media = relay.media.find((m) => m.type === mapped.kind);
      // One stream per source on a relay: VP8 (or H264) expected until its packets show another codec.
      const order = this.#codecs.order(mapped.source, videoCodecs, true);
      const rtp = producerRtpParameters(source, media, mapped.kind === 'audio' ? ['opus'] : order, mapped.owner);
      const signature = JSON.stringify(rtp);
      this.#relayedAs.set(mapped.source, { relayId, mapped, videoCodecs, ...(signalled ? { signalled } : {}) });
      if (existing && existing.signature === signature && !existing.producer.closed && existing.signalled?.ssrc === signalled?.ssrc) {
        if (mapped.videoType && existing.videoType !== mapped.videoType) this.#setVideoType(mapped.source, existing, mapped.videoType);
        return;
      }
      if (existing) this.#removeSource(mapped.source);
      await this.#produceRelayed(relay, mapped.source, mapped.owner, mapped.kind, rtp, mapped.videoType, signalled);
      this.#log.info({ relay: relayId, endpoint: mapped.owner, source: mapped.source, ssrc: mapped.ssrc }, 'relayed source added');
    });
  }

  /** Produce a source that arrives on a relay (`rtp`: its SSRCs on the relay) and forward it to every local endpoint. */
  async #produceRelayed(
    relay: MediaRelay,
    name: string,
    owner: string,
    kind: 'audio' | 'video',
    rtp: ms.RtpParameters,
    videoType: VideoType | undefined,
    signalled?: SignalledSsrcs,
  ): Promise<void> {
    let producer: ms.Producer;
    try {
      producer = await relay.transport.produce({
        kind,
        rtpParameters: rtp,
        appData: { source: name, relay: relay.id },
        ...(kind === 'video' ? { keyFrameRequestDelay: KEYFRAME_MIN_INTERVAL_MS } : {}),
      });
    } catch (err) {
      throw new RtpMappingError(`relayed source ${name}: ${(err as Error).message}`);
    }
    const sent: Sent = {
      owner,
      producer,
      slot: relay.slot,
      relay: relay.id,
      signature: JSON.stringify(rtp),
      ...(signalled ? { signalled } : {}),
      ...(videoType ? { videoType } : {}),
    };
    relay.incoming.set(name, producer);
    this.#sources.set(name, sent);
    this.emit('sourceAdded', name, owner, kind, videoType);
    await this.#watch(name, sent);
    this.#codecs.add(name, producer);
    for (const receiver of this.#endpoints.values()) await this.#forwardTo(receiver, name, sent);
  }

  /**
   * The worker of `relay` died: a new transport on a live worker, on the same address and port, connected to the same
   * remote address, with the channel wired again (the other bridge's SCTP association restarts on our INIT); the
   * sources that arrived on it are produced again with the SSRCs the other bridge announced (its consumers keep
   * sending them) and every local source is forwarded over it again (new SSRCs, announced over the channel). The
   * other bridge needs no colibri2. On failure the relay stays without media (logged).
   */
  async #recoverRelay(relay: MediaRelay): Promise<void> {
    const started = Date.now();
    const local = relay.local;
    // The producers of what arrived on it died with the worker (their consumers elsewhere closed with the pipes).
    const arrived = [...this.#sources].filter(([, s]) => s.relay === relay.id);
    for (const [name] of arrived) {
      this.#sources.delete(name);
      this.#layers.remove(name);
    }
    try {
      const preferred = [...this.#endpoints.values()].find((e) => e.slot.alive)?.slot;
      const slot = await liveWorker(this.#pool, preferred);
      if (this.#closed || this.#relays.get(relay.id) !== relay) return;
      const state = await this.#router(slot);
      relay.relocate(await createRelayTransport(state.router, relay.listen, local.port), slot);
      await relay.setUpChannel(await this.#direct(state));
      await relay.reconnect();
      for (const [name, sent] of arrived) {
        await this.#produceRelayed(
          relay,
          name,
          sent.owner,
          sent.producer.kind as 'audio' | 'video',
          JSON.parse(sent.signature) as ms.RtpParameters,
          sent.videoType,
          sent.signalled,
        );
      }
      for (const [name, sent] of [...this.#sources]) await this.#forwardToRelay(relay, name, sent);
      this.#log.info(
        {
          relay: relay.id,
          worker: slot.index,
          local: relay.local,
          sources: { in: arrived.length, out: relay.forwardedSources().length },
          ms: Date.now() - started,
        },
        'relay recovered from worker death',
      );
    } catch (err) {
      this.#log.error({ err, relay: relay.id, local }, 'cannot recover relay after worker death');
    }
  }

  /** Sources received over a relay that belong to `owner` (an endpoint behind it). */
  relayedSourcesOf(relayId: string, owner?: string): string[] {
    return [...this.#sources].filter(([, s]) => s.relay === relayId && (owner === undefined || s.owner === owner)).map(([n]) => n);
  }

  /** Stop a source received over a relay (its endpoint left the other bridge). */
  removeRelayedSource(relayId: string, source: string): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#sources.get(source)?.relay === relayId) {
        this.#removeSource(source);
        this.#relayedAs.delete(source);
        this.#codecs.forget(source);
      }
    });
  }

  /** Send a local source over a relay (never a source that came over a relay: one hop, JVB's mesh rule). */
  async #forwardToRelay(relay: MediaRelay, name: string, sent: Sent): Promise<void> {
    if (sent.relay !== undefined || sent.producer.closed || relay.closed || !sent.slot.alive || !relay.slot.alive) return;
    try {
      if (sent.slot !== relay.slot) await this.#pipe(sent, sent.slot, relay.slot);
      const mapped = await relay.forward(sent.producer, name, sent.owner, sent.videoType);
      if (mapped) this.emit('relaySourceForwarded', relay, mapped);
    } catch (err) {
      if (!relay.closed && !sent.producer.closed) this.#log.warn({ err, relay: relay.id, source: name }, 'cannot send source over relay');
    }
  }

  /** Set a source's video type (SourceVideoTypeMessage); returns false for an unknown source. */
  setVideoType(endpointId: string, source: string, videoType: VideoType): boolean {
    const sent = this.#sources.get(source);
    if (!sent || sent.owner !== endpointId || sent.producer.kind !== 'video') return false;
    this.#setVideoType(source, sent, videoType);
    return true;
  }

  #setVideoType(source: string, sent: Sent, videoType: VideoType): void {
    sent.videoType = videoType;
    for (const e of this.#endpoints.values()) e.setForwardedVideoType(source, videoType);
  }

  /** colibri2 `<force-mute>`: stop forwarding the endpoint's audio and/or video (pause producers). */
  async forceMute(endpointId: string, mute: ForceMute): Promise<void> {
    const signalled = this.#signalled.get(endpointId);
    const merged = { ...(signalled?.forceMute ?? {}), ...mute };
    this.#signalled.set(endpointId, { sources: signalled?.sources ?? [], videoCodecs: signalled?.videoCodecs ?? [], forceMute: merged });
    for (const sent of this.#sources.values()) {
      if (sent.owner !== endpointId) continue;
      const m = sent.producer.kind === 'audio' ? mute.audio : mute.video;
      if (m === true && !sent.producer.paused) await sent.producer.pause();
      if (m === false && sent.producer.paused) await sent.producer.resume();
    }
  }

  /**
   * The local endpoint whose colibri2 sources name `source`, whether or not it is produced at this moment (a source is
   * closed and produced again when its sender turns out to use another codec, or after its worker died).
   */
  signalledOwnerOf(source: string): string | undefined {
    return this.#signalledOwners.get(source);
  }

  /** Sources sent by an endpoint (names). */
  sourcesOf(endpointId: string): string[] {
    return [...this.#sources].filter(([, s]) => s.owner === endpointId).map(([n]) => n);
  }

  /** Remove an endpoint: its sources stop for everyone, its transport closes. */
  removeEndpoint(id: string): void {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    for (const name of this.sourcesOf(id)) {
      this.#removeSource(name);
      this.#codecs.forget(name);
    }
    this.#endpoints.delete(id);
    for (const s of this.#signalled.get(id)?.sources ?? []) if (this.#signalledOwners.get(s.id) === id) this.#signalledOwners.delete(s.id);
    this.#signalled.delete(id);
    endpoint.close();
  }

  /** A worker died: move its endpoints to live workers and produce/forward everything again. */
  async #recover(dead: WorkerSlot): Promise<void> {
    if (this.#closed) return;
    this.#routers.get(dead)?.then(
      (s) => s.spares.close(),
      () => undefined,
    );
    this.#routers.delete(dead);
    if (this.#fill === dead) this.#fill = undefined;
    const speaker = this.#speaker && (await this.#speaker.catch(() => undefined));
    if (speaker?.slot === dead) {
      // Speaker detection moves to a live router with every audio source still produced.
      this.#speaker = undefined;
      for (const [name, sent] of this.#sources) {
        const owner = this.#endpoints.get(sent.owner);
        if (sent.producer.kind === 'audio' && (owner || sent.relay !== undefined) && sent.slot !== dead) await this.#watch(name, sent);
      }
    }
    for (const relay of [...this.#relays.values()]) if (relay.slot === dead && !relay.closed) await this.#recoverRelay(relay);
    const lost = [...this.#endpoints.values()].filter((e) => e.slot === dead);
    if (lost.length === 0) return;
    const started = Date.now();
    // Their producers died with the worker (consumers elsewhere closed with the pipes).
    for (const e of lost) for (const name of this.sourcesOf(e.id)) this.#sources.delete(name);
    for (const endpoint of lost) {
      if (this.#endpoints.get(endpoint.id) !== endpoint) continue;
      await this.#relocate(endpoint);
    }
    this.#log.info({ endpoints: lost.length, ms: Date.now() - started }, 'recovered from worker death');
  }

  /**
   * Give an endpoint of a dead worker a new transport on a live worker (when every worker died, on a replacement as
   * soon as one is up), wire its bridge-channel stream and forwarding again, produce what it signalled, and tell
   * the signalling layer (`endpointRelocated`). Tries again when the worker it was being moved to dies meanwhile;
   * closes the conference when no worker comes back at all.
   */
  async #relocate(endpoint: MediaEndpoint): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!(await this.#untilWorkerOrClose())) return;
      if (this.#closed || this.#endpoints.get(endpoint.id) !== endpoint) return;
      let release: (() => void) | undefined;
      try {
        const slot = this.#place();
        release = this.#pool.reserve(slot);
        const { transport, state } = await this.#newTransport(slot, endpoint.sctp);
        endpoint.relocate(transport, slot, endpoint.sctp ? () => this.#direct(state) : undefined);
        release();
        for (const [source, sent] of this.#sources) {
          if (sent.owner !== endpoint.id) await this.#forwardTo(endpoint, source, sent);
        }
        const signalled = this.#signalled.get(endpoint.id);
        if (signalled && signalled.sources.length > 0) await this.#setSources(endpoint.id, signalled.sources, signalled.videoCodecs);
        this.#log.info({ endpoint: endpoint.id, worker: slot.index }, 'endpoint relocated after worker death');
        endpoint.emit('relocated');
        this.emit('endpointRelocated', endpoint);
        return;
      } catch (err) {
        release?.();
        if (attempt >= RELOCATE_ATTEMPTS || this.#closed) {
          this.#log.error({ err, endpoint: endpoint.id }, 'cannot relocate endpoint');
          return;
        }
        this.#log.warn({ err, endpoint: endpoint.id, attempt }, 'cannot relocate endpoint yet, trying again');
      }
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close every router and everything on them. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#layers.close();
    this.#codecs.close();
    for (const e of this.#endpoints.values()) e.close();
    for (const r of this.#relays.values()) r.close();
    this.#endpoints.clear();
    this.#relays.clear();
    this.#sources.clear();
    for (const state of this.#routers.values())
      void state.then(
        (s) => {
          s.spares.close();
          s.router.close();
        },
        () => undefined,
      );
    this.#routers.clear();
    this.emit('closed');
  }
}

/** Why a video source with scalable layers is forwarded whole (its layers cannot be parsed), or undefined. */
function unparsableSvc(rtp: ms.RtpParameters): string | undefined {
  const codec = rtp.codecs[0]?.mimeType.split('/')[1];
  if (!codec || !rtp.codecs[0]?.mimeType.toLowerCase().startsWith('video/')) return undefined;
  const d = svcDecision(
    codec,
    (rtp.headerExtensions ?? []).map((e) => e.uri),
  );
  return d.svc ? undefined : d.reason;
}
