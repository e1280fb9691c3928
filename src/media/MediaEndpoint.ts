/**
 * The media side of one endpoint: one mediasoup WebRtcTransport (ICE-lite towards a controlling
 * client, nominating for a controlled one (see connect); DTLS/SRTP, BUNDLE,
 * on the shared WebRtcServer port), its producers (one per signalled source), its consumers
 * (one per source forwarded to it) and, when SCTP was requested, the SCTP stream the client's
 * in-band bridge channel uses (DirectTransport data producer/consumer
 * pair created before SCTP connects).
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { Fingerprint, Media, MediaType } from '../jingle/types.ts';
import type { Logger } from '../logger.ts';
import { Forwarder, type SsrcLimits } from './Forwarder.ts';
import { RetiringCounters } from './RetiringCounters.ts';
import { openSctpChannel } from './sctpChannel.ts';
import type { WorkerSlot } from './workers.ts';
import type {
  DtlsState,
  EndpointTraffic,
  EngineTraffic,
  ForwardingDecision,
  IceState,
  LocalTransport,
  MappedSource,
  SignalledSsrcs,
  VideoType,
} from './types.ts';

/** Label and protocol of lib-jitsi-meet's bridge channel (BridgeChannel.ts). */
export const BRIDGE_CHANNEL_LABEL = 'JVB data channel';
export const BRIDGE_CHANNEL_PROTOCOL = 'http://jitsi.org/protocols/colibri';

/** How an endpoint's media is forwarded and estimated (parts of {@link EndpointMediaOptions}). */
export interface MediaEndpointOptions {
  /** The endpoint takes bridge-chosen SSRCs (colibri2 capability `ssrc-rewriting`); default true. */
  ssrcRewriting?: boolean;
  /** With SSRC rewriting: send SSRCs per kind (`videobridge.ssrc-limit.*`); none: a new SSRC per source forwarded. */
  ssrcLimits?: SsrcLimits;
  /**
   * The allocation's hysteresis on the send-side estimate (`videobridge.cc.bwe-change-threshold`, a fraction): the
   * worker reports an estimate only when it moved by more than this fraction of the last one reported (worker patch
   * 0019), so none that the allocation would ignore crosses the channel. Default 0: every GoogCC update (about one a
   * second per transport).
   */
  bweChangeThreshold?: number;
}

interface EndpointEvents {
  iceStateChange: [IceState];
  dtlsStateChange: [DtlsState];
  /** An SCTP message on the bridge channel stream: payload and PPID (50 DCEP, 51 string, 53 binary). */
  sctpMessage: [Buffer, number];
  /** The SCTP association is up. */
  sctpConnected: [];
  /** The transport was replaced (its worker died): the client must reconnect. */
  relocated: [];
  /** A source waits for an SSRC slot (none free; or it lost its slot): it is not sent (SSRC rewriting with limits). */
  sourceHeld: [source: string];
  /** A source that waited got an SSRC slot and a consumer (paused): announce it as {@link MediaEndpoint.forward}'s. */
  sourcePlaced: [MappedSource];
  /**
   * A new transport-cc (GoogCC) estimate of the bandwidth towards the endpoint, bps (see `bweChangeThreshold`).
   * `first`: the first from its transport (a relocated endpoint's new one too), which the worker reports whatever the
   * last one was: the allocation takes it as it is, so that both measure the next change from the same value.
   */
  bandwidthEstimate: [bps: number, first: boolean];
  closed: [];
}

/** See the module docstring. Created by {@link MediaConference.createEndpoint}. */
export class MediaEndpoint extends EventEmitter<EndpointEvents> {
  readonly id: string;
  /** What the endpoint signalled in colibri2 `<media>` (payload types, header extensions). */
  media: Media[];
  readonly rtpCapabilities: ms.RtpCapabilities;
  readonly sctp: boolean;
  /**
   * Whether the endpoint takes sources on bridge-chosen SSRCs announced in source maps (colibri2 capability
   * `ssrc-rewriting`); without it, each source is sent on the sender's own SSRCs ({@link SignalledSsrcs}).
   */
  readonly ssrcRewriting: boolean;
  #transport: ms.WebRtcTransport;
  #slot: WorkerSlot;
  readonly #log: Logger;
  readonly #forwarded: Forwarder;
  /** @internal Producers by source name (media/ only; others use {@link sendingKinds}). */
  readonly producers = new Map<string, ms.Producer>();
  #sctpOut?: ms.DataProducer;
  /** Where the bridge channel reaches Node: the router's DirectTransport (undefined without SCTP). */
  #direct: (() => Promise<ms.DirectTransport>) | undefined;
  #connected = false;
  /** What {@link connect} gave the current transport: the endpoint's DTLS parameters and ICE credentials. */
  #dtlsParameters?: ms.DtlsParameters;
  #remoteIce?: ms.IceParameters;
  #closed = false;
  readonly #bweChangeThreshold: number;
  /** The transport whose estimates were reported since its trace was enabled (see `bandwidthEstimate`'s `first`). */
  #estimating: ms.WebRtcTransport | undefined;
  /**
   * Bytes and RTP packets over this endpoint's transports (a relocated or closed one's last or final read kept). The
   * worker keeps each transport's totals over its producers and consumers, closed ones included, so one read per
   * transport counts them all.
   */
  readonly #transportCounts = new RetiringCounters<ms.WebRtcTransport, TransportCounts>(
    ['bytesReceived', 'bytesSent', 'packetsReceived', 'packetsSent', 'packetsLostReceived', 'packetsLostSent'],
    readTransport,
  );

  /**
   * @param direct the router's DirectTransport, for the SCTP bridge channel; undefined: the endpoint has no SCTP
   */
  constructor(
    id: string,
    media: Media[],
    rtpCapabilities: ms.RtpCapabilities,
    direct: (() => Promise<ms.DirectTransport>) | undefined,
    transport: ms.WebRtcTransport,
    slot: WorkerSlot,
    log: Logger,
    { ssrcRewriting = true, ssrcLimits, bweChangeThreshold = 0 }: MediaEndpointOptions = {},
  ) {
    super();
    this.#bweChangeThreshold = bweChangeThreshold;
    this.#forwarded = new Forwarder(
      ssrcRewriting && ssrcLimits
        ? {
            limits: ssrcLimits,
            onHeld: (source) => this.emit('sourceHeld', source),
            onPlaced: (mapped) => this.emit('sourcePlaced', mapped),
            onPlaceError: (source, err) => this.#log.warn({ err, source }, 'cannot forward source on its SSRC slot'),
          }
        : undefined,
    );
    this.id = id;
    this.media = media;
    this.rtpCapabilities = rtpCapabilities;
    this.sctp = direct !== undefined;
    this.#direct = direct;
    this.ssrcRewriting = ssrcRewriting;
    this.#transport = transport;
    this.#slot = slot;
    this.#log = log;
    this.#listen(transport);
  }

  #listen(transport: ms.WebRtcTransport): void {
    transport.on('icestatechange', (s) => {
      if (transport === this.#transport) this.emit('iceStateChange', s);
    });
    transport.on('dtlsstatechange', (s) => {
      if (transport !== this.#transport) return;
      if (s === 'failed') this.#log.warn('DTLS failed');
      this.emit('dtlsStateChange', s);
    });
    transport.on('sctpstatechange', (s) => {
      if (transport === this.#transport && s === 'connected') this.emit('sctpConnected');
    });
    // The send-side estimate for the allocation: a GoogCC update (about one a second) that moved by more than the
    // allocation's hysteresis since the last one reported (worker patch 0019), so no message for one it would ignore.
    transport.on('trace', (t) => {
      if (transport !== this.#transport || t.type !== 'bwe') return;
      const bps = (t.info as { availableBitrate?: number }).availableBitrate;
      if (typeof bps !== 'number' || bps <= 0) return;
      const first = this.#estimating !== transport;
      this.#estimating = transport;
      this.emit('bandwidthEstimate', bps, first);
    });
  }

  /** @internal The mediasoup transport (media/ only). */
  get transport(): ms.WebRtcTransport {
    return this.#transport;
  }

  /** The worker this endpoint's transport lives on. */
  get slot(): WorkerSlot {
    return this.#slot;
  }

  /**
   * @internal Move to a new transport (its worker died): the old transport, producers and
   * consumers are gone; forwarding is set up again by the conference, the SCTP stream at the next {@link connect}, and
   * the client must connect to the new ICE/DTLS parameters (`relocated`).
   */
  relocate(transport: ms.WebRtcTransport, slot: WorkerSlot, direct: (() => Promise<ms.DirectTransport>) | undefined): void {
    this.#transportCounts.drop(this.#transport);
    this.#transport = transport;
    this.#slot = slot;
    this.#forwarded.clear();
    this.producers.clear();
    this.#sctpOut = undefined;
    this.#direct = direct;
    this.#connected = false;
    this.#dtlsParameters = undefined;
    this.#remoteIce = undefined;
    this.#listen(transport);
  }

  /**
   * Wire the SCTP bridge-channel stream on the current transport (two worker round trips), the first time the endpoint
   * connects: SCTP runs over DTLS, which cannot start before {@link connect}, so an allocation's answer need not wait
   * for it (four worker requests that would otherwise queue behind and ahead of other allocations' transports).
   * @throws Error from mediasoup (the transport closed meanwhile: its worker died).
   */
  async #setUpSctp(): Promise<void> {
    const transport = this.transport;
    const direct = this.#direct;
    if (!direct || this.#sctpOut) return;
    // Client-opened channel: the browser is DTLS client, so its first channel is stream 0.
    const options = { label: BRIDGE_CHANNEL_LABEL, protocol: BRIDGE_CHANNEL_PROTOCOL };
    const channel = await openSctpChannel(transport, await direct(), options, (payload, ppid) => this.emit('sctpMessage', payload, ppid));
    if (transport !== this.transport) return; // relocated meanwhile: the new transport gets its own
    if (channel.outboundStreamId !== 0) this.#log.warn({ streamId: channel.outboundStreamId }, 'bridge channel outbound SCTP stream is not 0');
    this.#sctpOut = channel.out;
  }

  /** This bridge's ICE/DTLS parameters for the colibri2 answer. */
  localTransport(candidateAddresses: readonly string[]): LocalTransport {
    const ice = this.transport.iceParameters;
    const candidates: LocalTransport['candidates'] = [];
    let n = 0;
    for (const c of this.transport.iceCandidates) {
      for (const ip of candidateAddresses) {
        n += 1;
        // RFC 8445 5.1.2.1 host priority: type pref 126 (udp) / 90 (tcp), local pref by order.
        const typePref = c.protocol === 'udp' ? 126 : 90;
        candidates.push({
          component: 1,
          foundation: c.protocol === 'udp' ? '1' : '2',
          generation: 0,
          id: `${this.id}-${n}`,
          network: 0,
          priority: typePref * 2 ** 24 + (65535 - n) * 2 ** 8 + 255,
          protocol: c.protocol,
          type: 'host',
          ip,
          port: c.port,
          ...(c.protocol === 'tcp' ? { tcptype: 'passive' as const } : {}),
        });
      }
    }
    const fps = [...this.transport.dtlsParameters.fingerprints].sort((a, b) => (a.algorithm === 'sha-256' ? -1 : b.algorithm === 'sha-256' ? 1 : 0));
    return {
      ufrag: ice.usernameFragment,
      pwd: ice.password,
      candidates,
      fingerprints: fps.map((f) => ({ hash: f.algorithm, value: f.value, setup: 'actpass' as const })),
    };
  }

  /**
   * Apply the endpoint's transport from its answer: start DTLS with its fingerprints (`setup` is its role, `active`
   * → it is the DTLS client) and give the worker its ICE username fragment and password (RFC 8445 §5.3). With them
   * the bridge takes the ICE-controlling role for a client that checks as ICE-controlled (a Jitsi client answering
   * Jicofo's offer, which has no `a=ice-lite`): it answers the client's checks and nominates a candidate pair with
   * its own (RFC 8445 §7.2.2, §8.1.1; worker patch 0011). Without them such a client gets a 487 Role Conflict and
   * must switch roles itself. A later call only changes the ICE credentials (new ones after an ICE restart, RFC 8445
   * §9; the same ones are not sent again): DTLS does not restart and its fingerprints are ignored.
   * @param ice the endpoint's `ufrag` and `pwd`
   * @throws Error from mediasoup for unusable fingerprints or ICE credentials.
   */
  async connect(fingerprints: readonly Fingerprint[], ice?: { ufrag: string; pwd: string }): Promise<void> {
    const iceParameters = ice ? { usernameFragment: ice.ufrag, password: ice.pwd } : undefined;
    if (this.#connected) {
      const dtlsParameters = this.#dtlsParameters;
      const same = iceParameters?.usernameFragment === this.#remoteIce?.usernameFragment && iceParameters?.password === this.#remoteIce?.password;
      if (!iceParameters || !dtlsParameters || same) return;
      await this.transport.connect({ dtlsParameters, iceParameters });
      this.#remoteIce = iceParameters;
      return;
    }
    if (fingerprints.length === 0) return;
    const setup = fingerprints[0]?.setup;
    const role: ms.DtlsRole = setup === 'active' ? 'client' : setup === 'passive' ? 'server' : 'auto';
    const supported = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
    const fps = fingerprints
      .filter((f) => supported.has(f.hash.toLowerCase()))
      .map((f) => ({ algorithm: f.hash.toLowerCase() as ms.FingerprintAlgorithm, value: f.value.toUpperCase() }));
    if (fps.length === 0) throw new Error(`no supported DTLS fingerprint hash in ${fingerprints.map((f) => f.hash).join(',')}`);
    const dtlsParameters: ms.DtlsParameters = { role, fingerprints: fps };
    // What only a connected transport needs, made before it connects: the bridge channel's streams, the estimate.
    await this.#setUpSctp();
    this.#estimating = undefined;
    this.transport.enableTraceEvent(['bwe'], { bweChangeThreshold: this.#bweChangeThreshold }).catch(() => undefined);
    await this.transport.connect({ dtlsParameters, ...(iceParameters ? { iceParameters } : {}) });
    this.#dtlsParameters = dtlsParameters;
    this.#remoteIce = iceParameters;
    this.#connected = true;
  }

  /** New ICE credentials on the same transport (mediasoup `restartIce`); DTLS goes on. */
  async restartIce(): Promise<void> {
    await this.#transport.restartIce();
  }

  /** Whether the remote DTLS parameters were applied. */
  get connected(): boolean {
    return this.#connected;
  }

  get iceState(): IceState {
    return this.transport.iceState;
  }

  /** Send on the bridge channel's SCTP stream. Returns false when SCTP is not set up. */
  sendSctp(payload: Buffer, ppid: number): boolean {
    if (!this.#sctpOut || this.#sctpOut.closed) return false;
    if (this.transport.sctpState !== 'connected') return false;
    this.#sctpOut.send(payload, ppid);
    return true;
  }

  /**
   * @internal Start forwarding `producer` to this endpoint (paused until the allocation resumes it). Without SSRC
   * rewriting it goes on `signalled`, the SSRCs the focus told the endpoint; else on bridge-chosen ones (an SSRC slot
   * with limits), announced in source maps. Undefined when the source waits for a slot (`sourceHeld`, later
   * `sourcePlaced`).
   */
  forward(
    producer: ms.Producer,
    source: string,
    owner: string,
    videoType: VideoType | undefined,
    signalled?: SignalledSsrcs,
  ): Promise<MappedSource | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const opts = { rtpCapabilities: this.rtpCapabilities, ...(!this.ssrcRewriting && signalled ? { ssrcs: signalled } : {}) };
    return this.#forwarded.forward(this.transport, producer, source, owner, videoType, opts, () => this.#closed);
  }

  /** @internal Stop forwarding a source (its producer is going away). */
  unforward(source: string): void {
    this.#forwarded.unforward(source);
  }

  /** The kinds this endpoint currently sends (a source signalled and not force-muted). */
  sendingKinds(): Set<MediaType> {
    return new Set([...this.producers.values()].filter((p) => !p.paused && !p.closed).map((p) => p.kind as MediaType));
  }

  /** Consumers on this endpoint's transport. */
  get consumerCount(): number {
    return this.#forwarded.size;
  }

  /** Sources waiting for an SSRC slot (not forwarded: `sourceHeld`). */
  heldSources(): string[] {
    return this.#forwarded.heldSources();
  }

  /** Sources currently forwarded to this endpoint, with the SSRCs it receives them on. */
  forwardedSources(): MappedSource[] {
    return this.#forwarded.mapped();
  }

  /** Update the video type announced for a forwarded source (no media change). */
  setForwardedVideoType(source: string, videoType: VideoType): void {
    this.#forwarded.setVideoType(source, videoType);
  }

  /**
   * What the receiver's allocation would forward if its estimate allowed, bps (JVB `currentIdealBps`; 0: nothing).
   * While the transport-cc estimate is below it, the transport pads up to the estimate with padding-only packets on
   * its video consumers' RTX streams, so that the estimate can grow to the next layer, as JVB's `BandwidthProbing`
   * does (`transport.setIdealOutgoingBitrate`: worker patch 0016, node patch 0005). Without it mediasoup probes only
   * in clusters, when the bitrate it wants changes. A relocated endpoint gets it again from the allocation.
   * @throws when the transport is closed.
   */
  setIdealBitrate(bps: number): Promise<void> {
    return this.#transport.setIdealOutgoingBitrate(Math.max(0, Math.round(bps)));
  }

  /** Apply an allocation decision for one forwarded source ({@link Forwarder.apply}). */
  applyForwarding(source: string, decision: ForwardingDecision): Promise<void> {
    return this.#forwarded.apply(source, decision);
  }

  /**
   * Ask the sender of a forwarded video source for a keyframe (PLI/FIR through mediasoup; the
   * producer side rate-limits). Unknown, audio or paused sources are ignored.
   */
  requestKeyFrame(source: string): Promise<void> {
    return this.#forwarded.requestKeyFrame(source);
  }

  /** Transport counters and the transport-cc estimate. */
  async traffic(): Promise<EndpointTraffic> {
    return readTransport(this.transport);
  }

  /**
   * @internal Add this endpoint's counters to `into`: bytes and RTP packets (in, out, and lost each way) since the
   * endpoint was created, never decreasing: a transport closed by the bridge counts with its final values, one lost
   * with a dead worker with its last values read, and the worker keeps what the closed producers and consumers of a
   * live transport counted. After {@link close} (once the final read is in): the endpoint's final totals, bitrates 0.
   * Bitrates (bps) and round-trip times are the live transport's current ones. One worker request.
   */
  async addTraffic(into: EngineTraffic): Promise<void> {
    const t = await this.#transportCounts.sum(this.#closed ? [] : [this.#transport]);
    into.bytesReceived += t.total.bytesReceived;
    into.bytesSent += t.total.bytesSent;
    into.packetsReceived += t.total.packetsReceived;
    into.packetsLostReceived += t.total.packetsLostReceived;
    into.packetsSent += t.total.packetsSent;
    into.packetsLostSent += t.total.packetsLostSent;
    for (const cur of t.current) {
      into.recvBitrate += cur.recvBitrate;
      into.sendBitrate += cur.sendBitrate;
      into.rttSumMs += cur.rttSumMs;
      into.rttCount += cur.rttCount;
    }
  }

  /**
   * @internal A producer of this endpoint is about to be closed by the caller (its source is removed): forget it (its
   * transport's totals keep what it counted).
   */
  forgetProducer(source: string): void {
    this.producers.delete(source);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close the transport (and with it every producer and consumer). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The final read first: the worker answers it before it handles the close.
    this.#transportCounts.retire(this.#transport);
    this.#transport.close();
    this.#forwarded.clear();
    this.producers.clear();
    this.emit('closed');
  }
}

/**
 * One read of a transport: {@link EndpointTraffic} and the worker's RTP totals over its producers and consumers
 * (packets received and sent, media and RTX; lost on the way in and, from the receiver's reports, out; cumulative,
 * closed ones included), with its consumers' round-trip times (ms) summed and counted (worker patch 0018).
 */
type TransportCounts = EndpointTraffic & EngineTraffic;

/** One read of a transport's counters (mediasoup `WebRtcTransport.getStats`, with worker patch 0018's totals). */
async function readTransport(t: ms.WebRtcTransport): Promise<TransportCounts> {
  const [s] = await t.getStats();
  return {
    bytesReceived: s?.bytesReceived ?? 0,
    bytesSent: s?.bytesSent ?? 0,
    recvBitrate: s?.recvBitrate ?? 0,
    sendBitrate: s?.sendBitrate ?? 0,
    availableOutgoingBitrate: s?.availableOutgoingBitrate ?? 0,
    packetsReceived: s?.rtpPacketsReceived ?? 0,
    packetsSent: s?.rtpPacketsSent ?? 0,
    packetsLostReceived: s?.rtpPacketsLostReceived ?? 0,
    packetsLostSent: s?.rtpPacketsLostSent ?? 0,
    rttSumMs: s?.rttSumMs ?? 0,
    rttCount: s?.rttCount ?? 0,
  };
}
