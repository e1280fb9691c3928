/**
 * A conference (jitsi-videobridge `Conference.java`): its endpoints and relays, its media and its allocation, and the
 * wiring between them; it expires idle endpoints. Two handlers work on it: colibri2 requests
 * (Colibri2ConferenceHandler.ts) and bridge-channel messages (ChannelMessageHandler.ts: routing between endpoints and
 * across relays, the source maps).
 *
 * What is forwarded to whom is the allocation's ({@link ConferenceAllocator}): the conference feeds
 * it the receivers' bridge-channel settings, the media layer's sources, layers, estimates and
 * dominant speaker, and carries its decisions back: consumers paused or at a layer,
 * `ForwardedSources`, `SenderSourceConstraints`, `DominantSpeakerEndpointChangeEvent`, and
 * periodic `ConnectionStats`.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { ConferenceAllocator, type ReceiverSink } from '../allocation/ConferenceAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG, type AllocationConfig } from '../allocation/settings.ts';
import type { Layer } from '../allocation/types.ts';
import { BridgeChannel } from '../channel/BridgeChannel.ts';
import * as msg from '../channel/messages.ts';
import type { Logger } from '../logger.ts';
import type { MediaConference, PreparedEndpoint } from '../media/MediaConference.ts';
import type { MediaRelay } from '../media/MediaRelay.ts';
import type { SsrcLimits } from '../media/Forwarder.ts';
import type { ConferenceModifiedResponse, ConferenceModifyRequest, EndpointModify, MediaSource } from '../colibri2/types.ts';
import type { BridgeLimitsConfig, OnLimit } from '../limits/limits.ts';
import { ChannelMessageHandler } from './ChannelMessageHandler.ts';
import { Colibri2ConferenceHandler } from './Colibri2ConferenceHandler.ts';
import { Endpoint } from './Endpoint.ts';
import { Relay } from './Relay.ts';

/** Settings a conference needs from the bridge config. */
export interface ConferenceSettings {
  sctpEnabled: boolean;
  /**
   * The router's video codec names (the configured list). A producer carries every one of them the endpoint
   * negotiated; which it forwards is the one the sender really uses (media/CodecFollower.ts).
   */
  videoCodecs: readonly string[];
  /** colibri-ws URL builder, or undefined when websockets are disabled. */
  webSocketUrl?: (conferenceId: string, endpointId: string, pwd: string) => string;
  /** Candidate addresses for the local transport. */
  candidateAddresses: readonly string[];
  /** Endpoint inactivity before expiry, ms (`videobridge.entity-expiration.timeout`). */
  endpointExpireMs: number;
  /** Version announced in ServerHello, when `videobridge.version.announce`. */
  announceVersion?: string;
  /** `videobridge.cc.*` (default: JVB's reference.conf). */
  allocation?: AllocationConfig;
  /** `videobridge.speech-activity.recent-speakers-count` (10). */
  recentSpeakersCount?: number;
  /** `videobridge.connection-stats.interval`, ms; 0 = `enabled = false` (default 10 s). */
  connectionStatsIntervalMs?: number;
  /**
   * `videobridge.stats-filter-threshold` (JVB default 20): in a conference of more endpoints (local and behind relays)
   * `EndpointStats` go only to the endpoints that want the sender's (`wantsStatsFrom` in messageRouting.ts).
   */
  statsFilterThreshold?: number;
  /**
   * Relays to other octobridges (`videobridge.relay.*`): this bridge's relay id and the address its relay
   * transports listen on (its WireGuard tunnel address). Absent or disabled: `<relay>` is refused as JVB does.
   */
  relay?: { enabled: boolean; relayId: string; listenIp: string };
  /** Per-client limits (`octobridge.limits.*`); absent: none. */
  limits?: BridgeLimits;
  /**
   * `videobridge.ssrc-limit.{video,audio}` (JVB 50 each): the send SSRCs of a receiver with SSRC rewriting, re-mapped
   * from source to source (media/SsrcSlots.ts); the video one also caps every receiver's last-N, as in JVB's
   * `Prioritize.kt`. Absent: no limit, a new SSRC per source forwarded.
   */
  ssrcLimits?: SsrcLimits;
}

/** The limits a bridge enforces on colibri2 and on the bridge channel (`octobridge.limits.*`, 0 = none). */
export interface BridgeLimits extends Pick<BridgeLimitsConfig, 'maxConferences' | 'maxEndpoints' | 'channelMessagesPerSecond'> {
  /** Told each time one bites. */
  onLimit?: OnLimit;
}

interface ConferenceEvents {
  endpointCreated: [Endpoint];
  /** An endpoint went away: `reason` is `expired` (colibri2), `timeout` (inactivity) or `conference` (conference expired). */
  endpointExpired: [endpointId: string, reason: 'expired' | 'timeout' | 'conference'];
  /** The endpoint's transport moved (its worker died): the client must reconnect (ICE restart via the focus). */
  endpointRelocated: [endpointId: string];
  expired: [];
}

/** See the module docstring. Created by {@link Videobridge}. */
export class Conference extends EventEmitter<ConferenceEvents> {
  /** JVB's internal conference id (16 hex chars): used in colibri-ws URLs and logs. */
  readonly id: string;
  readonly meetingId: string;
  readonly name: string | undefined;
  readonly createdAt = Date.now();
  /** SSRCs of the bridge's feedback sources `jvb-a0` / `jvb-v0`. */
  readonly localAudioSsrc = randomInt(1, 2 ** 32 - 1);
  readonly localVideoSsrc = randomInt(1, 2 ** 32 - 1);
  readonly media: MediaConference;
  readonly #settings: ConferenceSettings;
  readonly #log: Logger;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #relays = new Map<string, Relay>();
  readonly allocator: ConferenceAllocator;
  readonly #colibri2: Colibri2ConferenceHandler;
  readonly #messages: ChannelMessageHandler;
  readonly #connectionStats: NodeJS.Timeout | undefined;
  #lastEndpointSeen = Date.now();
  #expired = false;

  constructor(id: string, meetingId: string, name: string | undefined, media: MediaConference, settings: ConferenceSettings, log: Logger) {
    super();
    this.id = id;
    this.meetingId = meetingId;
    this.name = name;
    this.media = media;
    this.#settings = settings;
    this.#log = log.child({ conference: this.id, meetingId });
    this.#messages = new ChannelMessageHandler(this, settings, this.#log);
    this.#colibri2 = new Colibri2ConferenceHandler(
      this,
      {
        createEndpoint: (e, prepared) => this.#createEndpoint(e, prepared),
        addRelay: (relayId, mediaRelay, meshId, localRelayId) => this.#addRelay(relayId, mediaRelay, meshId, localRelayId),
        removeRelay: (relayId) => this.#removeRelay(relayId),
      },
      settings,
      this.#log,
    );
    const allocation = settings.allocation ?? DEFAULT_ALLOCATION_CONFIG;
    const videoSsrcs = settings.ssrcLimits?.video;
    // JVB `calculateLastN`: the smallest of the limits set (-1: none).
    const jvbLastN = videoSsrcs === undefined ? allocation.jvbLastN : allocation.jvbLastN < 0 ? videoSsrcs : Math.min(allocation.jvbLastN, videoSsrcs);
    this.allocator = new ConferenceAllocator({ ...allocation, jvbLastN }, settings.recentSpeakersCount ?? 10);
    this.allocator.on('senderConstraints', (owner, source, maxHeight) => {
      const e = this.#endpoints.get(owner);
      if (e?.channel.isOpen) e.channel.send(msg.senderSourceConstraints(source, maxHeight));
      // A source behind a relay: ask the other bridge for it (AddReceiver).
      if (!e) for (const r of this.#relays.values()) if (r.hasEndpoint(owner)) r.wantSource(source, maxHeight);
    });
    media.on('relaySourceForwarded', (relay, mapped) => this.#relays.get(relay.id)?.onLocalSourceForwarded(mapped));
    this.allocator.on('allocated', (receiver, a) => {
      if (!this.#log.isLevelEnabled('debug')) return;
      const layer = (l: Layer | undefined): string => (l ? `${l.height}p/${l.frameRate}fps ${Math.round(l.bitrateBps / 1000)}kbps` : 'off');
      const sources = Object.fromEntries(a.sources.map((s) => [s.source, `${layer(s.target)} (ideal ${layer(s.ideal)})`]));
      this.#log.debug({ endpoint: receiver, sources, targetBps: a.targetBps, idealBps: a.idealBps, oversending: a.oversending }, 'allocation changed');
    });
    media.on('sourceAdded', (source, owner, kind, videoType) => {
      // A video type the owner announced before the source was signalled wins over the signalled one (JVB
      // `AbstractEndpoint.applyVideoTypeCache`).
      const cached = kind === 'video' ? this.#endpoints.get(owner)?.takeVideoType(source) : undefined;
      if (cached && cached !== videoType) media.setVideoType(owner, source, cached);
      this.allocator.addSource(source, owner, kind, cached ?? videoType ?? 'CAMERA');
    });
    media.on('sourceRemoved', (source) => this.allocator.removeSource(source));
    media.on('videoLayers', (source, layers) => this.allocator.setLayers(source, layers));
    media.on('dominantSpeaker', (id) => this.#messages.dominantSpeaker(id));
    const statsEvery = settings.connectionStatsIntervalMs ?? 10_000;
    if (statsEvery > 0) {
      this.#connectionStats = setInterval(() => this.#messages.sendConnectionStats(), statsEvery);
      this.#connectionStats.unref();
    }
    media.on('sourceForwarded', (receiver, mapped) => this.#messages.sourceForwarded(receiver, mapped));
    media.on('sourceHeld', (receiver, source) => {
      if (this.#endpoints.get(receiver.id)?.mediaEndpoint === receiver) this.allocator.sourceHeld(receiver.id, source);
    });
    media.on('endpointRelocated', (m) => {
      const endpoint = this.#endpoints.get(m.id);
      if (!endpoint) return;
      // A new transport: a new SCTP association (and DCEP OPEN) comes with the client's reconnect.
      endpoint.channel.resetSctp();
      this.#messages.forget(endpoint.id);
      this.allocator.resetReceiver(endpoint.id);
      endpoint.lastActivity = Date.now();
      this.emit('endpointRelocated', endpoint.id);
    });
    media.on('closed', () => this.expire());
  }

  get endpointCount(): number {
    return this.#endpoints.size;
  }

  get expired(): boolean {
    return this.#expired;
  }

  endpoint(id: string): Endpoint | undefined {
    return this.#endpoints.get(id);
  }

  endpoints(): Endpoint[] {
    return [...this.#endpoints.values()];
  }

  /** The conference's relays to other bridges. */
  relays(): Relay[] {
    return [...this.#relays.values()];
  }

  /** The relay `id` (colibri2's relay id: the other bridge's), if the conference has it. */
  relay(id: string): Relay | undefined {
    return this.#relays.get(id);
  }

  /** Bridge-channel messages refused for their content (unknown sources, etc.). */
  get rejectedMessages(): number {
    return this.#messages.rejectedMessages;
  }

  /**
   * Apply a conference-modify to this conference, after the earlier ones ({@link Colibri2ConferenceHandler}).
   * @returns the conference-modified and whether the conference must now expire.
   * @throws Colibri2Error (JVB's condition + reason); a refused request changes nothing.
   */
  handle(req: ConferenceModifyRequest): Promise<{ response: ConferenceModifiedResponse; expire: boolean }> {
    return this.#colibri2.handle(req);
  }

  #addRelay(id: string, mediaRelay: MediaRelay, meshId: string | undefined, localRelayId: string): Relay {
    const relay = new Relay(id, mediaRelay, meshId, {
      allocator: this.allocator,
      media: this.media,
      localRelayId,
      videoCodecs: this.#settings.videoCodecs,
      localOwnerOf: (source) => {
        const owner = this.media.signalledOwnerOf(source);
        return owner !== undefined && this.#endpoints.has(owner) ? owner : undefined;
      },
      isRelayedSource: (source) => {
        const owner = this.allocator.ownerOf(source);
        return owner !== undefined && !this.#endpoints.has(owner);
      },
      onEndpointTraffic: (from, m) => this.#messages.relayEndpointTraffic(from, m),
      log: this.#log,
    });
    this.#relays.set(id, relay);
    for (const m of mediaRelay.forwardedSources()) relay.onLocalSourceForwarded(m);
    return relay;
  }

  async #removeRelay(id: string): Promise<void> {
    const relay = this.#relays.get(id);
    if (!relay) return;
    this.#relays.delete(id);
    await relay.close();
  }

  async #createEndpoint(e: EndpointModify, p: PreparedEndpoint): Promise<Endpoint> {
    const { sctp, media } = p.opts;
    const mediaEndpoint = await this.media.adoptEndpoint(p);
    const log = this.#log.child({ endpoint: e.id });
    const limits = this.#settings.limits;
    const channel = new BridgeChannel(e.id, log, {
      messagesPerSecond: limits?.channelMessagesPerSecond ?? 0,
      ...(limits?.onLimit ? { onLimit: limits.onLimit } : {}),
    });
    const endpoint = new Endpoint(
      {
        id: e.id,
        capabilities: e.capabilities ?? [],
        media,
        sctp,
        ...(e.statsId !== undefined ? { statsId: e.statsId } : {}),
        ...(e.mucRole !== undefined ? { mucRole: e.mucRole } : {}),
        ...(e.initialLastN !== undefined ? { initialLastN: e.initialLastN } : {}),
      },
      mediaEndpoint,
      channel,
    );
    if (sctp) channel.attachSctp(mediaEndpoint);
    this.#messages.attach(endpoint, log);
    mediaEndpoint.on('bandwidthEstimate', (bps, first) => this.allocator.bandwidthChanged(e.id, bps, first));
    mediaEndpoint.on('iceStateChange', (state) => {
      log.info({ iceState: state }, 'ICE state');
      if (state === 'connected' || state === 'completed') endpoint.lastActivity = Date.now();
    });
    mediaEndpoint.on('dtlsStateChange', (state) => log.info({ dtlsState: state }, 'DTLS state'));
    this.#endpoints.set(e.id, endpoint);
    this.allocator.addEndpoint(e.id, this.#sink(endpoint), e.initialLastN);
    this.#lastEndpointSeen = Date.now();
    log.info({ statsId: e.statsId, sctp, ssrcRewriting: endpoint.ssrcRewriting, visitor: endpoint.visitor }, 'endpoint created');
    this.emit('endpointCreated', endpoint);
    return endpoint;
  }

  /** How the allocation's decisions reach an endpoint's consumers and channel. */
  #sink(endpoint: Endpoint): ReceiverSink {
    const warn = (source: string) => (err: unknown) => this.#log.warn({ err, endpoint: endpoint.id, source }, 'cannot apply forwarding');
    return {
      video: (source, f) => void endpoint.mediaEndpoint.applyForwarding(source, f).catch(warn(source)),
      audio: (source, on) => void endpoint.mediaEndpoint.applyForwarding(source, { paused: !on }).catch(warn(source)),
      forwardedSources: (sources) => {
        if (endpoint.channel.isOpen) endpoint.channel.send(msg.forwardedSources(sources));
      },
      idealBitrate: (bps) =>
        void endpoint.mediaEndpoint.setIdealBitrate(bps).catch((err: unknown) => {
          // Not when the endpoint or its worker went away meanwhile (bridge closing, a worker's death).
          if (!endpoint.mediaEndpoint.closed && !endpoint.mediaEndpoint.transport.closed)
            this.#log.warn({ err, endpoint: endpoint.id }, 'cannot set the ideal bitrate');
        }),
    };
  }

  /** The bridge's feedback sources for create responses (buildFeedbackSources). */
  feedbackSources(): MediaSource[] {
    return [
      { type: 'audio', id: 'jvb-a0', sources: [{ ssrc: this.localAudioSsrc, name: 'jvb-a0' }], ssrcGroups: [] },
      { type: 'video', id: 'jvb-v0', sources: [{ ssrc: this.localVideoSsrc, name: 'jvb-v0' }], ssrcGroups: [] },
    ];
  }

  // ------------------------------------------------------------------ lifecycle

  /** Remove an endpoint: its sources stop for everyone, its channel closes (ws 1001). */
  expireEndpoint(id: string, reason: 'expired' | 'timeout' | 'conference'): void {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    this.#endpoints.delete(id);
    this.#messages.forget(id);
    this.allocator.removeEndpoint(id);
    endpoint.channel.close();
    this.media.removeEndpoint(id);
    this.#lastEndpointSeen = Date.now();
    this.#log.info({ endpoint: id, reason, durationMs: Date.now() - endpoint.createdAt }, 'endpoint expired');
    this.emit('endpointExpired', id, reason);
  }

  /**
   * Expire endpoints with neither ICE up nor channel traffic for `endpointExpireMs`.
   * @returns true when the conference itself has been empty that long and should expire.
   */
  checkExpiry(now = Date.now()): boolean {
    for (const e of [...this.#endpoints.values()]) {
      const ice = e.mediaEndpoint.iceState;
      if (ice === 'connected' || ice === 'completed') e.lastActivity = now;
      if (now - e.lastActivity > this.#settings.endpointExpireMs) this.expireEndpoint(e.id, 'timeout');
    }
    return this.#endpoints.size === 0 && now - this.#lastEndpointSeen > this.#settings.endpointExpireMs;
  }

  /** Expire the conference and every endpoint in it. */
  expire(): void {
    if (this.#expired) return;
    this.#expired = true;
    for (const id of [...this.#endpoints.keys()]) this.expireEndpoint(id, 'conference');
    for (const r of this.#relays.values()) void r.close().catch(() => undefined);
    this.#relays.clear();
    this.allocator.close();
    clearInterval(this.#connectionStats);
    this.media.close();
    this.#log.info({ durationMs: Date.now() - this.createdAt }, 'conference expired');
    this.emit('expired');
  }
}
