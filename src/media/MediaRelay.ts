/**
 * One relay of a conference to another octobridge (colibri2 `<relay id>`, JVB `Relay.kt`), carried by a mediasoup
 * PlainTransport on this bridge's relay address (its WireGuard tunnel address): plain RTP/RTCP with rtcp-mux, and
 * SCTP on the same 5-tuple for the bridge-to-bridge message channel (JSON bridge-channel messages on SCTP stream
 * 0, PPID 51). There is no ICE, DTLS or SRTP: two mediasoup bridges are both ICE-lite and cannot run ICE with each
 * other, and WireGuard encrypts and authenticates the path.
 *
 * - **Outgoing**: a local source the other bridge may need is consumed on the relay transport (one consumer per
 *   source, new SSRCs; simulcast consumers send one layer, chosen by this bridge's allocator for the relay as a
 *   receiver — JVB's AddReceiver semantics). Video starts paused, audio flows.
 * - **Incoming**: a source of an endpoint behind the other bridge is a producer on the relay transport, with the
 *   SSRCs the other bridge announced in its `AudioSourcesMap`/`VideoSourcesMap` over the relay channel.
 * - Keyframe requests (PLI/FIR) and RTCP cross with the media; there is no transport-cc on a plain transport
 *   (a WireGuard link is provisioned, not estimated).
 * - **Worker death** ({@link MediaRelay.relocate}): the conference gives the relay a new transport on a live worker,
 *   bound to the same address and port, and connects it to the same remote address. Nothing is keyed (no DTLS or
 *   SRTP to renegotiate), so the other bridge keeps its transport unchanged: its SCTP association sees an INIT from
 *   the same 5-tuple and restarts (RFC 9260 §5.2.4 case A), its consumers keep sending to the same port, and the
 *   new relay consumers are announced again over the channel (new SSRCs, as for any re-created source).
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { Media } from '../jingle/types.ts';
import type { Logger } from '../logger.ts';
import { Forwarder } from './Forwarder.ts';
import { openSctpChannel } from './sctpChannel.ts';
import type { WorkerSlot } from './workers.ts';
import { rtpCapabilitiesOf } from './rtp.ts';
import type { ForwardingDecision, MappedSource, VideoType } from './types.ts';

/** SCTP PPID of a UTF-8 string message (WebRTC string, RFC 8831 §8). */
const PPID_STRING = 51;
/** Messages held until the relay's SCTP association is up, at most. */
const MAX_PENDING_MESSAGES = 1000;

/** Label/protocol of the relay message channel (octobridge's; JVB's relays use DCEP label `relay`). */
const RELAY_CHANNEL = { label: 'octobridge relay', protocol: 'http://jitsi.org/protocols/colibri' };

interface RelayEvents {
  /** A text message from the other bridge on the relay channel. */
  message: [text: string];
  /**
   * The transport was replaced (its worker died): every consumer and producer is gone and is about to be created
   * again; queued messages go out when the new association is up (`open`).
   */
  relocated: [];
  /** The relay channel (SCTP) is up: queued messages were sent. */
  open: [];
  closed: [];
}

/** This bridge's side of the relay transport, for the colibri2 answer. */
export interface RelayTransportAddress {
  ip: string;
  port: number;
}

/** The address a relay transport listens on (mediasoup `listenInfo.ip`/`announcedAddress`). */
export interface RelayListen {
  ip: string;
  announcedAddress?: string;
}

/** See the module docstring. Created by {@link MediaConference.createRelay}. */
export class MediaRelay extends EventEmitter<RelayEvents> {
  /** The other bridge's relay id (colibri2 `<relay id>`). */
  readonly id: string;
  /** What crosses the relay (Jicofo's `<media>` for the relay: payload types, header extension ids). */
  readonly media: Media[];
  readonly rtpCapabilities: ms.RtpCapabilities;
  /** Where the transport listens (this bridge's relay address; the port is the first transport's). */
  readonly listen: RelayListen;
  #transport: ms.PlainTransport;
  #slot: WorkerSlot;
  readonly #log: Logger;
  readonly #outgoing = new Forwarder();
  /** @internal Producers of sources received over the relay, by source name. */
  readonly incoming = new Map<string, ms.Producer>();
  #out?: ms.DataProducer;
  #pending: string[] = [];
  #remote?: RelayTransportAddress;
  #closed = false;

  constructor(id: string, media: Media[], listen: RelayListen, transport: ms.PlainTransport, slot: WorkerSlot, log: Logger) {
    super();
    this.id = id;
    this.media = media;
    this.rtpCapabilities = rtpCapabilitiesOf(media);
    this.listen = listen;
    this.#transport = transport;
    this.#slot = slot;
    this.#log = log;
    this.#watch(transport);
  }

  #watch(transport: ms.PlainTransport): void {
    transport.on('sctpstatechange', (state) => {
      if (transport !== this.#transport) return;
      this.#log.info({ sctpState: state }, 'relay channel state');
      if (state === 'connected') this.#flush();
    });
  }

  /** @internal The relay's PlainTransport (replaced when its worker dies). */
  get transport(): ms.PlainTransport {
    return this.#transport;
  }

  /** The worker the relay's transport lives on. */
  get slot(): WorkerSlot {
    return this.#slot;
  }

  /**
   * @internal Take a new transport after the old one's worker died (the conference binds it to {@link local}'s
   * address and port): forget the dead consumers and producers, keep the messages not sent yet, emit
   * `relocated`. The caller then wires the channel ({@link setUpChannel}), connects ({@link reconnect}) and
   * forwards and produces the sources again.
   */
  relocate(transport: ms.PlainTransport, slot: WorkerSlot): void {
    if (this.#closed) {
      transport.close();
      return;
    }
    this.#transport = transport;
    this.#slot = slot;
    this.#out = undefined;
    this.#outgoing.clear();
    this.incoming.clear();
    this.#watch(transport);
    this.#log.warn({ worker: slot.index, local: this.local }, 'relay transport replaced after worker death');
    this.emit('relocated');
  }

  /**
   * @internal Connect a relocated transport to the address the relay was connected to (nothing when it was not
   * connected yet: the colibri2 transport will).
   * @throws Error from mediasoup.
   */
  async reconnect(): Promise<void> {
    if (this.#remote) await this.#transport.connect({ ip: this.#remote.ip, port: this.#remote.port });
  }

  /** @internal Wire the SCTP message channel through the router's DirectTransport (before connect). */
  async setUpChannel(direct: ms.DirectTransport): Promise<void> {
    const channel = await openSctpChannel(this.transport, direct, RELAY_CHANNEL, (payload, ppid) => {
      if (ppid === PPID_STRING) this.emit('message', payload.toString('utf8'));
    });
    if (channel.outboundStreamId !== 0) this.#log.warn({ streamId: channel.outboundStreamId }, 'relay channel outbound SCTP stream is not 0');
    this.#out = channel.out;
  }

  /** This bridge's address and port for the relay (the plain transport's local tuple). */
  get local(): RelayTransportAddress {
    const t = this.#transport.tuple;
    return { ip: t.localAddress ?? t.localIp, port: t.localPort };
  }

  /** The other bridge's address, once connected. */
  get remote(): RelayTransportAddress | undefined {
    return this.#remote;
  }

  /**
   * Send RTP/RTCP/SCTP to the other bridge's relay address (mediasoup `PlainTransport.connect`). A relay connects
   * once; a second call with another address is refused.
   * @throws Error when already connected elsewhere, or from mediasoup (bad address).
   */
  async connect(remote: RelayTransportAddress): Promise<void> {
    if (this.#remote) {
      if (this.#remote.ip === remote.ip && this.#remote.port === remote.port) return;
      throw new Error(`relay ${this.id} is connected to ${this.#remote.ip}:${this.#remote.port} already`);
    }
    await this.#transport.connect({ ip: remote.ip, port: remote.port });
    this.#remote = remote;
    this.#log.info({ remote }, 'relay connected');
  }

  /** Send a text message to the other bridge (queued until the SCTP association is up). */
  send(text: string): void {
    if (this.#closed) return;
    if (this.#out && !this.#out.closed && this.transport.sctpState === 'connected') {
      this.#out.send(text, PPID_STRING);
      return;
    }
    if (this.#pending.length >= MAX_PENDING_MESSAGES) this.#pending.shift();
    this.#pending.push(text);
  }

  /** Whether the message channel is up. */
  get open(): boolean {
    return this.transport.sctpState === 'connected';
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const text of pending) this.send(text);
    this.emit('open');
  }

  /**
   * @internal Start sending a local source over the relay: a consumer on the relay transport (video paused until
   * the allocation resumes it, audio flowing).
   * @returns the SSRCs the other bridge receives it on (for the map sent over the relay channel).
   */
  forward(producer: ms.Producer, source: string, owner: string, videoType: VideoType | undefined): Promise<MappedSource | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    return this.#outgoing.forward(
      this.transport,
      producer,
      source,
      owner,
      videoType,
      { rtpCapabilities: this.rtpCapabilities, paused: producer.kind === 'video' },
      () => this.#closed,
    );
  }

  /** @internal Stop sending a local source over the relay. */
  unforward(source: string): void {
    this.#outgoing.unforward(source);
  }

  /** Local sources sent over the relay, with their relay SSRCs. */
  forwardedSources(): MappedSource[] {
    return this.#outgoing.mapped();
  }

  /** Apply the allocation for the relay as a receiver ({@link Forwarder.apply}). */
  applyForwarding(source: string, decision: ForwardingDecision): Promise<void> {
    return this.#outgoing.apply(source, decision);
  }

  /**
   * Fault injection (REST `/debug/relays/{id}/outage`): stop forwarding what arrives on the relay for `ms`, as a
   * relay outage looks to this bridge's receivers (media freezes), then resume (mediasoup asks the senders for
   * keyframes on resume). Producers paused for another reason stay paused.
   * @returns how many relayed sources were paused.
   */
  async outage(ms: number): Promise<number> {
    const paused = [...this.incoming.values()].filter((p) => !p.closed && !p.paused);
    await Promise.all(paused.map((p) => p.pause()));
    this.#log.warn({ ms, sources: paused.length }, 'relay outage injected');
    setTimeout(() => {
      for (const p of paused) if (!p.closed) void p.resume().catch(() => undefined);
      this.#log.info('relay outage over');
    }, ms).unref();
    return paused.length;
  }

  /** Bytes sent/received on the relay transport and the bitrates, bps (for metrics). */
  async traffic(): Promise<{ bytesSent: number; bytesReceived: number; sendBitrate: number; recvBitrate: number }> {
    const [s] = await this.transport.getStats();
    return { bytesSent: s?.bytesSent ?? 0, bytesReceived: s?.bytesReceived ?? 0, sendBitrate: s?.sendBitrate ?? 0, recvBitrate: s?.recvBitrate ?? 0 };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close the transport (and with it every relay consumer, producer and the channel). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.#outgoing.clear();
    this.incoming.clear();
    this.#pending = [];
    this.emit('closed');
  }
}
