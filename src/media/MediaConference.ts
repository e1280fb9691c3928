/**
 * The media side of a conference: one mediasoup Router, a DirectTransport for the SCTP bridge
 * channels, and the forwarding graph (every source of every endpoint forwarded to every other
 * endpoint; the allocation decides what is paused and at which layer).
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { Media, MediaSource } from '../colibri2/types.ts';
import type { Logger } from '../logger.ts';
import type { MediaEngine } from './MediaEngine.ts';
import { MediaEndpoint } from './MediaEndpoint.ts';
import { producerRtpParameters, rtpCapabilitiesOf, RtpMappingError } from './rtp.ts';
import type { MappedSource, VideoType } from './types.ts';

interface ConferenceEvents {
  /** A source started being forwarded to `receiver` (a consumer exists, paused). */
  sourceForwarded: [receiver: MediaEndpoint, mapped: MappedSource];
  /** A source stopped being forwarded to every receiver (its producer closed). */
  sourceRemoved: [source: string, owner: string];
  closed: [];
}

/** A source an endpoint sends. */
interface Sent {
  owner: string;
  producer: ms.Producer;
  /** The colibri2 description it was created from (to detect changes). */
  signature: string;
  videoType?: VideoType;
}

/** Options of {@link MediaConference.createEndpoint}. */
export interface EndpointMediaOptions {
  media: Media[];
  /** Set up the SCTP association for the in-band bridge channel. */
  sctp: boolean;
}

/** See the module docstring. Created by {@link MediaEngine.createConference}. */
export class MediaConference extends EventEmitter<ConferenceEvents> {
  readonly id: string;
  readonly #engine: MediaEngine;
  readonly #router: ms.Router;
  readonly #log: Logger;
  readonly #endpoints = new Map<string, MediaEndpoint>();
  readonly #sources = new Map<string, Sent>();
  #direct?: Promise<ms.DirectTransport>;
  #closed = false;

  constructor(id: string, engine: MediaEngine, router: ms.Router, log: Logger) {
    super();
    this.id = id;
    this.#engine = engine;
    this.#router = router;
    this.#log = log;
    router.on('workerclose', () => this.close());
  }

  /**
   * Create an endpoint's transport on the shared WebRtcServer, and its SCTP bridge-channel
   * stream when asked. Forwarding of the existing sources to it starts at once (paused).
   * @throws Error when the id exists or mediasoup refuses.
   */
  async createEndpoint(id: string, opts: EndpointMediaOptions): Promise<MediaEndpoint> {
    if (this.#endpoints.has(id)) throw new Error(`endpoint ${id} exists`);
    const o = this.#engine.options;
    const transport = await this.#router.createWebRtcTransport({
      webRtcServer: this.#engine.webRtcServer,
      enableUdp: true,
      enableTcp: o.iceTcp.enabled,
      preferUdp: true,
      enableSctp: opts.sctp,
      maxSendMessageSize: 262144,
      maxReceiveMessageSize: 262144,
      initialAvailableOutgoingBitrate: o.initialOutgoingBitrateBps,
      iceConsentTimeout: o.iceConsentTimeoutSec,
    });
    const endpoint = new MediaEndpoint(id, opts.media, rtpCapabilitiesOf(opts.media), transport, this.#log.child({ endpoint: id }));
    try {
      if (opts.sctp) await endpoint.setUpSctp(await this.#directTransport());
    } catch (err) {
      transport.close();
      throw err;
    }
    this.#endpoints.set(id, endpoint);
    for (const [source, sent] of this.#sources) {
      if (sent.owner !== id) await this.#forwardTo(endpoint, source, sent);
    }
    return endpoint;
  }

  #directTransport(): Promise<ms.DirectTransport> {
    this.#direct ??= this.#router.createDirectTransport({ maxSendMessageSize: 262144, maxReceiveMessageSize: 262144 });
    return this.#direct;
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
  async setSources(endpointId: string, sources: readonly MediaSource[], videoCodecs: readonly string[]): Promise<void> {
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
      const rtp = producerRtpParameters(source, media, source.type === 'audio' ? ['opus'] : videoCodecs, endpointId);
      wanted.set(source.id, { source, rtp, signature: JSON.stringify(rtp) });
    }
    // Remove what is gone or changed.
    for (const [name, sent] of [...this.#sources]) {
      if (sent.owner !== endpointId) continue;
      const w = wanted.get(name);
      if (w && w.signature === sent.signature) {
        wanted.delete(name);
        continue;
      }
      this.#removeSource(name);
    }
    // Create the new ones.
    for (const [name, w] of wanted) {
      let producer: ms.Producer;
      try {
        producer = await endpoint.transport.produce({ kind: w.source.type, rtpParameters: w.rtp, appData: { source: name } });
      } catch (err) {
        throw new RtpMappingError(`source ${name}: ${(err as Error).message}`);
      }
      const videoType = toVideoType(w.source.sources[0]?.videoType);
      const sent: Sent = { owner: endpointId, producer, signature: w.signature, ...(videoType ? { videoType } : {}) };
      endpoint.producers.set(name, producer);
      this.#sources.set(name, sent);
      this.#log.info({ endpoint: endpointId, source: name, kind: w.source.type, ssrcs: w.rtp.encodings?.map((e) => e.ssrc) }, 'source added');
      for (const receiver of this.#endpoints.values()) {
        if (receiver.id !== endpointId) await this.#forwardTo(receiver, name, sent);
      }
    }
  }

  async #forwardTo(receiver: MediaEndpoint, source: string, sent: Sent): Promise<void> {
    if (!this.#router.canConsume({ producerId: sent.producer.id, rtpCapabilities: receiver.rtpCapabilities })) {
      this.#log.warn({ receiver: receiver.id, source }, 'receiver cannot decode source codec; not forwarded');
      return;
    }
    try {
      const mapped = await receiver.forward(sent.producer, source, sent.owner, sent.videoType);
      if (mapped) this.emit('sourceForwarded', receiver, mapped);
    } catch (err) {
      if (!receiver.closed && !sent.producer.closed) this.#log.warn({ err, receiver: receiver.id, source }, 'cannot forward source');
    }
  }

  #removeSource(name: string): void {
    const sent = this.#sources.get(name);
    if (!sent) return;
    this.#sources.delete(name);
    this.#endpoints.get(sent.owner)?.producers.delete(name);
    for (const e of this.#endpoints.values()) e.unforward(name);
    sent.producer.close();
    this.#log.info({ endpoint: sent.owner, source: name }, 'source removed');
    this.emit('sourceRemoved', name, sent.owner);
  }

  /** Set a source's video type (SourceVideoTypeMessage); returns false for an unknown source. */
  setVideoType(endpointId: string, source: string, videoType: VideoType): boolean {
    const sent = this.#sources.get(source);
    if (!sent || sent.owner !== endpointId || sent.producer.kind !== 'video') return false;
    sent.videoType = videoType;
    for (const e of this.#endpoints.values()) e.setForwardedVideoType(source, videoType);
    return true;
  }

  /** colibri2 `<force-mute>`: stop forwarding the endpoint's audio and/or video (pause producers). */
  async forceMute(endpointId: string, mute: { audio?: boolean; video?: boolean }): Promise<void> {
    for (const sent of this.#sources.values()) {
      if (sent.owner !== endpointId) continue;
      const m = sent.producer.kind === 'audio' ? mute.audio : mute.video;
      if (m === true && !sent.producer.paused) await sent.producer.pause();
      if (m === false && sent.producer.paused) await sent.producer.resume();
    }
  }

  /** Sources sent by an endpoint (names). */
  sourcesOf(endpointId: string): string[] {
    return [...this.#sources].filter(([, s]) => s.owner === endpointId).map(([n]) => n);
  }

  /** Remove an endpoint: its sources stop for everyone, its transport closes. */
  removeEndpoint(id: string): void {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    for (const name of this.sourcesOf(id)) this.#removeSource(name);
    this.#endpoints.delete(id);
    endpoint.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close the router and everything on it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const e of this.#endpoints.values()) e.close();
    this.#endpoints.clear();
    this.#sources.clear();
    this.#router.close();
    this.emit('closed');
  }
}

function toVideoType(v: string | undefined): VideoType | undefined {
  if (!v) return undefined;
  const u = v.toUpperCase();
  if (u === 'CAMERA' || u === 'DESKTOP' || u === 'DESKTOP_HIGH_FPS' || u === 'DISABLED') return u;
  if (u === 'NONE') return 'DISABLED';
  return undefined;
}
