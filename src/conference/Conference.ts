/**
 * A colibri2 conference (jitsi-videobridge `Conference.java` + `Colibri2ConferenceHandler.kt`):
 * applies `conference-modify` requests, serialised per conference, to its endpoints and their
 * media; routes bridge-channel messages between endpoints, and to and from the endpoints behind its relays
 * (src/conference/messageRouting.ts); announces forwarded sources with
 * `AudioSourcesMap` / `VideoSourcesMap` (SSRC rewriting); expires idle endpoints.
 *
 * What is forwarded to whom is the allocation's ({@link ConferenceAllocator}): the conference feeds
 * it the receivers' bridge-channel settings, the media layer's sources, layers, estimates and
 * dominant speaker, and carries its decisions back: consumers paused or at a layer,
 * `ForwardedSources`, `SenderSourceConstraints`, `DominantSpeakerEndpointChangeEvent`, and
 * periodic `ConnectionStats`.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import { ConferenceAllocator, type ReceiverSink } from '../allocation/ConferenceAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG, type AllocationConfig } from '../allocation/settings.ts';
import type { Layer } from '../allocation/types.ts';
import { BridgeChannel } from '../channel/BridgeChannel.ts';
import * as msg from '../channel/messages.ts';
import type { BridgeChannelMessage } from '../channel/messages.ts';
import type { Logger } from '../logger.ts';
import type { EndpointMediaOptions, MediaConference, PreparedEndpoint } from '../media/MediaConference.ts';
import type { MediaEndpoint } from '../media/MediaEndpoint.ts';
import { pickCodec, RtpMappingError, sourceLayout } from '../media/rtp.ts';
import type { SsrcLimits } from '../media/Forwarder.ts';
import type { MappedSource, VideoType } from '../media/types.ts';
import { Endpoint } from './Endpoint.ts';
import { endpointMessageTargets, endpointStatsTargets, wantsStatsFrom, type MessageOrigin, type MessageTargets, type RoutingView } from './messageRouting.ts';
import { Relay } from './Relay.ts';
import { badRequest, Colibri2Error, endpointNotFound } from '../colibri2/errors.ts';
import { SerialQueue } from '../util/SerialQueue.ts';
import type {
  ConferenceModifiedResponse,
  ConferenceModifyRequest,
  EndpointModified,
  EndpointModify,
  Media,
  MediaSource,
  RelayModified,
  RelayModify,
  TransportResponse,
} from '../colibri2/types.ts';
import { CAPABILITY_SOURCE_NAMES, CAPABILITY_SSRC_REWRITING } from '../colibri2/types.ts';
import type { BridgeLimitsConfig, OnLimit } from '../limits/limits.ts';
import { RateLimitedLog } from '../limits/RateLimitedLog.ts';

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
   * `EndpointStats` go only to the endpoints that want the sender's ({@link wantsStatsFrom}).
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

/**
 * The `ufrag` prefix of an octobridge relay transport in colibri2 (`<transport xmlns=ice-udp ufrag>`): the transport
 * is a plain UDP address inside WireGuard (one host candidate), not ICE. The other octobridge recognises it by the
 * prefix; Jicofo forwards ufrag, pwd and candidates untouched.
 */
export const RELAY_UFRAG_PREFIX = 'octobridge-relay-';

/** Why a bridge-channel message from an endpoint was refused (logged and counted; nothing changes). */
export class ChannelMessageRejected extends Error {}

interface ConferenceEvents {
  endpointCreated: [Endpoint];
  /** An endpoint went away: `reason` is `expired` (colibri2), `timeout` (inactivity) or `conference` (conference expired). */
  endpointExpired: [endpointId: string, reason: 'expired' | 'timeout' | 'conference'];
  /** The endpoint's transport moved (its worker died): the client must reconnect (ICE restart via the focus). */
  endpointRelocated: [endpointId: string];
  expired: [];
}

/** `videobridge.stats-filter-threshold` in JVB's reference.conf. */
export const DEFAULT_STATS_FILTER_THRESHOLD = 20;

/** Delay between sending a video source map and forwarding that video, ms (see #announce). */
const VIDEO_RESUME_DELAY_MS = 250;

/** The endpoint ids a colibri2 request may use (1 to 64 URL-safe characters). */
const ENDPOINT_ID = /^[A-Za-z0-9_.~-]{1,64}$/;

/** Colibri2 `<sctp>` checks from Colibri2ConferenceHandler.handleColibri2Endpoint. */
function checkSctp(e: EndpointModify, sctpEnabled: boolean): void {
  const sctp = e.transport?.sctp;
  if (!sctp) return;
  if (!sctpEnabled) throw new Colibri2Error('feature-not-implemented', 'SCTP support is not configured');
  if (sctp.role !== undefined && sctp.role !== 'server') throw new Colibri2Error('feature-not-implemented', `Unsupported SCTP role: ${sctp.role}`);
  if (sctp.port !== undefined && sctp.port !== 5000) throw badRequest('Specific SCTP port requested, not supported.');
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
  readonly #queue = new SerialQueue();
  /** Per receiver: sources mapped but not yet announced on its channel. */
  readonly #pendingMaps = new Map<string, MappedSource[]>();
  readonly #relays = new Map<string, Relay>();
  readonly allocator: ConferenceAllocator;
  readonly #connectionStats: NodeJS.Timeout | undefined;
  /** Bridge-channel messages refused for their content (unknown sources, etc.). */
  rejectedMessages = 0;
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
    media.on('dominantSpeaker', (id) => this.#onDominantSpeaker(id));
    const statsEvery = settings.connectionStatsIntervalMs ?? 10_000;
    if (statsEvery > 0) {
      this.#connectionStats = setInterval(() => this.#sendConnectionStats(), statsEvery);
      this.#connectionStats.unref();
    }
    media.on('sourceForwarded', (receiver, mapped) => this.#onSourceForwarded(receiver, mapped));
    media.on('sourceHeld', (receiver, source) => {
      if (this.#endpoints.get(receiver.id)?.mediaEndpoint === receiver) this.allocator.sourceHeld(receiver.id, source);
    });
    media.on('endpointRelocated', (m) => {
      const endpoint = this.#endpoints.get(m.id);
      if (!endpoint) return;
      // A new transport: a new SCTP association (and DCEP OPEN) comes with the client's reconnect.
      endpoint.channel.resetSctp();
      this.#pendingMaps.delete(endpoint.id);
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

  /**
   * Apply a conference-modify to this conference, after the earlier ones.
   * @returns the conference-modified and whether the conference must now expire.
   * @throws Colibri2Error (JVB's condition + reason); a rejected request changes nothing.
   */
  async handle(req: ConferenceModifyRequest): Promise<{ response: ConferenceModifiedResponse; expire: boolean }> {
    const prepared = this.#prepareEndpoints(req);
    try {
      return await this.#queue.run(() => this.#handle(req, prepared));
    } finally {
      // Whatever the request did not adopt (it was refused, or the conference expired before its turn).
      for (const p of prepared.values()) this.media.discardEndpoint(p);
    }
  }

  /**
   * The transports of the endpoints `req` creates, started before the request's turn in the queue (what JVB's
   * `ColibriQueue` serialises is the conference's state, and a transport is not part of it until the endpoint is):
   * allocations of one conference that arrive together make their transports in parallel instead of each waiting for
   * the earlier ones' worker round trips. Only endpoints the request is sure to try to create are prepared; the
   * checks that need the conference's state come in turn (a refused request discards them).
   */
  #prepareEndpoints(req: ConferenceModifyRequest): Map<string, PreparedEndpoint> {
    const prepared = new Map<string, PreparedEndpoint>();
    if (this.#expired || req.relays?.length) return prepared;
    for (const e of req.endpoints) {
      if (!e.create || e.expire || !e.transport || prepared.has(e.id) || this.#endpoints.has(e.id)) continue;
      if (!ENDPOINT_ID.test(e.id)) continue;
      try {
        checkSctp(e, this.#settings.sctpEnabled);
      } catch {
        continue; // refused in turn
      }
      prepared.set(e.id, this.media.prepareEndpoint(e.id, this.#endpointMediaOptions(e)));
    }
    return prepared;
  }

  /** The media options of an endpoint `e` creates. */
  #endpointMediaOptions(e: EndpointModify): EndpointMediaOptions {
    const ssrcLimits = this.#settings.ssrcLimits;
    return {
      media: structuredClone(e.media ?? []),
      sctp: e.transport?.sctp !== undefined,
      ssrcRewriting: (e.capabilities ?? []).includes(CAPABILITY_SSRC_REWRITING),
      ...(ssrcLimits ? { ssrcLimits } : {}),
    };
  }

  async #handle(req: ConferenceModifyRequest, prepared: Map<string, PreparedEndpoint>): Promise<{ response: ConferenceModifiedResponse; expire: boolean }> {
    if (this.#expired) throw new Colibri2Error('item-not-found', `Conference not found for ID: ${this.meetingId}`, 'conference_not_found');
    const relay = req.relays?.[0];
    if (relay) return { response: { endpoints: [], relays: [await this.#handleRelay(relay)] }, expire: req.expire === true };
    const ignoreUnknown = !req.endpoints.some((e) => e.create || e.media !== undefined || e.transport !== undefined || e.sources !== undefined);
    for (const e of req.endpoints) this.#validate(e, ignoreUnknown);
    const endpoints: EndpointModified[] = [];
    try {
      for (const e of req.endpoints) endpoints.push(await this.#apply(e, prepared));
    } catch (err) {
      // Undo endpoints created by this request, so a rejected request changes nothing.
      for (const e of req.endpoints) if (e.create) this.expireEndpoint(e.id, 'expired');
      throw err;
    }
    const response: ConferenceModifiedResponse = { endpoints };
    if (req.create || req.endpoints.some((e) => e.create)) response.sources = this.feedbackSources();
    let expire = req.expire === true;
    if (!req.create && this.#endpoints.size === 0 && this.#relays.size === 0) {
      this.#log.info('All endpoints removed, expiring.');
      expire = true;
    }
    return { response, expire };
  }

  /** Everything that can be rejected, checked before anything changes. */
  #validate(e: EndpointModify, ignoreUnknown: boolean): void {
    if (!ENDPOINT_ID.test(e.id)) throw badRequest(`Invalid endpoint ID: ${e.id}`);
    if (e.expire) return;
    const endpoint = this.#endpoints.get(e.id);
    if (e.create) {
      if (endpoint) throw new Colibri2Error('conflict', `Endpoint with ID ${e.id} already exists`);
      if (!e.transport) throw badRequest(`Attempt to create endpoint ${e.id} with no <transport>`);
      if (!(e.capabilities ?? []).includes(CAPABILITY_SOURCE_NAMES)) throw badRequest('Source name support is mandatory.');
      checkSctp(e, this.#settings.sctpEnabled);
    } else if (!endpoint) {
      if (ignoreUnknown) return;
      throw endpointNotFound(e.id);
    }
    const visitor = endpoint ? endpoint.visitor : e.mucRole === 'visitor';
    const media = [...(endpoint?.media ?? []), ...(e.media ?? [])];
    if (e.sources) {
      if (visitor && e.sources.length > 0) throw badRequest(`Attempt to set sources for visitor endpoint ${e.id}`);
      this.#validateSources(e.id, e.sources, media);
    }
    for (const f of e.transport?.ice?.fingerprints ?? []) {
      if (!/^sha-(1|224|256|384|512)$/i.test(f.hash)) throw badRequest(`Unsupported DTLS fingerprint hash: ${f.hash}`);
      if (!/^([0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2}$/.test(f.value)) throw badRequest(`Invalid DTLS fingerprint: ${f.value}`);
    }
    if (e.initialLastN !== undefined && (!Number.isInteger(e.initialLastN) || e.initialLastN < -1)) {
      throw badRequest(`Invalid initial-last-n: ${e.initialLastN}`);
    }
  }

  #validateSources(endpointId: string, sources: readonly MediaSource[], media: readonly Media[]): void {
    const names = new Set<string>();
    const ssrcs = new Set<number>();
    for (const s of sources) {
      if (names.has(s.id)) throw badRequest(`Source ${s.id} signalled twice`);
      names.add(s.id);
      for (const src of s.sources) {
        if (ssrcs.has(src.ssrc)) throw badRequest(`SSRC ${src.ssrc} is used by two sources`);
        ssrcs.add(src.ssrc);
      }
      for (const other of this.#endpoints.values()) {
        if (other.id === endpointId) continue;
        if (other.sources.some((o) => o.id === s.id)) throw badRequest(`Source ${s.id} belongs to endpoint ${other.id}`);
        if (other.sources.some((o) => o.sources.some((x) => ssrcs.has(x.ssrc)))) {
          throw badRequest(`Source ${s.id}: SSRC already used by endpoint ${other.id}`);
        }
      }
      if (s.sources.length === 0) continue; // an empty media-source carries nothing to forward
      try {
        sourceLayout(s);
      } catch (err) {
        throw badRequest((err as RtpMappingError).message);
      }
      const m = media.find((x) => x.type === s.type);
      const preference = s.type === 'audio' ? ['opus'] : this.#settings.videoCodecs;
      if (!pickCodec(m, preference)) throw badRequest(`Source ${s.id}: no usable ${s.type} payload type signalled`);
    }
  }

  async #apply(e: EndpointModify, prepared: Map<string, PreparedEndpoint>): Promise<EndpointModified> {
    if (e.expire) {
      if (this.#endpoints.has(e.id)) this.expireEndpoint(e.id, 'expired');
      return { id: e.id, expire: true };
    }
    let endpoint = this.#endpoints.get(e.id);
    if (e.create) {
      const p = prepared.get(e.id);
      prepared.delete(e.id);
      endpoint = await this.#createEndpoint(e, p);
    }
    if (!endpoint) return { id: e.id };
    if (e.statsId) endpoint.statsId = e.statsId;
    if (e.media && !e.create) endpoint.addMedia(e.media);
    if (e.initialLastN !== undefined) endpoint.initialLastN = e.initialLastN;
    const ice = e.transport?.ice;
    const fps = ice?.fingerprints ?? [];
    // The client's ufrag/pwd too: the bridge nominates for a client that is ICE-controlled (MediaEndpoint.connect).
    const remoteIce = ice?.ufrag && ice.pwd ? { ufrag: ice.ufrag, pwd: ice.pwd } : undefined;
    if (fps.length > 0 || remoteIce) {
      try {
        await endpoint.mediaEndpoint.connect(fps, remoteIce);
      } catch (err) {
        throw badRequest(`Cannot use the DTLS or ICE parameters of endpoint ${e.id}: ${(err as Error).message}`);
      }
    }
    if (e.sources) {
      const withSsrcs = e.sources.filter((s) => s.sources.length > 0);
      try {
        await this.media.setSources(endpoint.id, withSsrcs, this.#settings.videoCodecs);
      } catch (err) {
        if (err instanceof RtpMappingError) throw badRequest(err.message);
        throw err;
      }
      endpoint.sources = e.sources;
    }
    if (e.forceMute) {
      endpoint.forceMute = { ...endpoint.forceMute, ...e.forceMute };
      await this.media.forceMute(endpoint.id, e.forceMute);
    }
    const out: EndpointModified = { id: e.id };
    if (e.transport?.iceRestart && !e.create) {
      // Restarted: new ICE credentials on the transport (a transport never connected since its
      // worker died is new already). The answer carries it, as JVB's does (Colibri2ConferenceHandler).
      if (endpoint.mediaEndpoint.connected) await endpoint.mediaEndpoint.restartIce();
      out.transport = this.#describeTransport(endpoint, endpoint.sctp);
      // Each restart round is numbered on the answer (`ice-generation` 1, 2, ...), which Jicofo relays to the client
      // and by which it drops a late answer of an older round (ColibriV2SessionManager).
      endpoint.iceGeneration += 1;
      out.transport.ice.iceGeneration = endpoint.iceGeneration;
    } else if (e.create) {
      out.transport = this.#describeTransport(endpoint, e.transport?.sctp !== undefined);
    }
    return out;
  }

  /** The conference's relays to other bridges. */
  relays(): Relay[] {
    return [...this.#relays.values()];
  }

  /**
   * `<relay>` (Colibri2ConferenceHandler.handleColibri2Relay): create (with this bridge's relay transport in the
   * answer), endpoints behind it, the other bridge's transport (connect), or expire.
   * @throws Colibri2Error with JVB's conditions: relays disabled → `feature-not-implemented` "Octo is disabled in
   *   configuration."; create of an existing relay → `conflict`; update of an unknown one → `bad-request` "Unknown
   *   relay …"; a transport that is not an octobridge relay → `feature-not-implemented`.
   */
  async #handleRelay(r: RelayModify): Promise<RelayModified> {
    const cfg = this.#settings.relay;
    if (!cfg?.enabled) throw new Colibri2Error('feature-not-implemented', 'Octo is disabled in configuration.');
    if (!/^[A-Za-z0-9_.:~-]{1,128}$/.test(r.id)) throw badRequest(`Invalid relay ID: ${r.id}`);
    let relay = this.#relays.get(r.id);
    if (r.expire) {
      if (relay) {
        this.#relays.delete(r.id);
        await relay.close();
      }
      return { id: r.id, expire: true };
    }
    this.#validateRelay(r, relay);
    const remote = r.transport?.ice?.candidates.find((c) => c.protocol === 'udp');
    if (r.create) {
      if (!this.#settings.sctpEnabled) throw badRequest('Colibri websockets or SCTP need to be enabled to use a colibri2 relay');
      const mediaRelay = await this.media.createRelay(r.id, structuredClone(r.media ?? []), { ip: cfg.listenIp });
      relay = new Relay(r.id, mediaRelay, r.meshId, {
        allocator: this.allocator,
        media: this.media,
        localRelayId: cfg.relayId,
        videoCodecs: this.#settings.videoCodecs,
        isLocalSource: (source) => this.#endpoints.has(this.allocator.ownerOf(source) ?? ''),
        onEndpointTraffic: (from, m) => this.#onRelayEndpointTraffic(from, m),
        log: this.#log,
      });
      this.#relays.set(r.id, relay);
      for (const m of mediaRelay.forwardedSources()) relay.onLocalSourceForwarded(m);
    }
    if (!relay) throw badRequest(`Unknown relay ${r.id}`);
    try {
      if (r.endpoints) await relay.applyEndpoints(r.endpoints);
      if (remote) await this.media.connectRelay(r.id, { ip: remote.ip, port: remote.port });
    } catch (err) {
      if (r.create) {
        this.#relays.delete(r.id);
        await relay.close();
      }
      throw err instanceof Colibri2Error ? err : badRequest(`Relay ${r.id}: ${(err as Error).message}`);
    }
    const out: RelayModified = { id: r.id };
    if (r.create) out.transport = describeRelayTransport(relay, r.transport?.sctp);
    return out;
  }

  /** What a relay request may not do, checked before anything changes. */
  #validateRelay(r: RelayModify, relay: Relay | undefined): void {
    if (r.create && relay) throw new Colibri2Error('conflict', `Relay with ID ${r.id} already exists`);
    if (!r.create && !relay) throw badRequest(`Unknown relay ${r.id}`);
    const ice = r.transport?.ice;
    if (ice && ice.candidates.length > 0) {
      if (!ice.ufrag?.startsWith(RELAY_UFRAG_PREFIX)) {
        throw new Colibri2Error('feature-not-implemented', `Relay ${r.id}: the other bridge is not an octobridge (relays between ICE-lite bridges use a plain transport inside WireGuard)`);
      }
      if (!ice.candidates.some((c) => c.protocol === 'udp')) throw badRequest(`Relay ${r.id}: no UDP candidate`);
      if (relay?.media.remote && !ice.candidates.some((c) => c.ip === relay.media.remote?.ip && c.port === relay.media.remote.port)) {
        throw badRequest(`Relay ${r.id} is connected to another address already`);
      }
    }
    if (r.transport?.sctp?.port !== undefined && r.transport.sctp.port !== 5000) throw badRequest('Specific SCTP port requested, not supported.');
    for (const e of r.endpoints ?? []) {
      if (!ENDPOINT_ID.test(e.id)) throw badRequest(`Invalid endpoint ID: ${e.id}`);
      if (this.#endpoints.has(e.id)) throw badRequest(`Endpoint ${e.id} is local, not behind relay ${r.id}`);
      for (const other of this.#relays.values()) {
        if (other.id !== r.id && other.hasEndpoint(e.id)) throw badRequest(`Endpoint ${e.id} is behind relay ${other.id}`);
      }
      for (const s of e.sources ?? []) {
        const owner = this.allocator.ownerOf(s.id);
        if (owner !== undefined && owner !== e.id) throw badRequest(`Source ${s.id} belongs to endpoint ${owner}`);
      }
    }
  }

  /** The endpoint's `<transport>` for conference-modified (JVB `Endpoint.describeTransport`). */
  #describeTransport(endpoint: Endpoint, sctp: boolean): NonNullable<EndpointModified['transport']> {
    const local = endpoint.mediaEndpoint.localTransport(this.#settings.candidateAddresses);
    const ws = this.#settings.webSocketUrl?.(this.id, endpoint.id, endpoint.wsPassword);
    return {
      ice: { ufrag: local.ufrag, pwd: local.pwd, candidates: local.candidates, fingerprints: local.fingerprints, rtcpMux: true, ...(ws ? { webSockets: [ws] } : {}) },
      ...(sctp ? { sctp: { port: 5000, role: 'server' as const } } : {}),
    };
  }

  async #createEndpoint(e: EndpointModify, prepared?: PreparedEndpoint): Promise<Endpoint> {
    const p = prepared ?? this.media.prepareEndpoint(e.id, this.#endpointMediaOptions(e));
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
    channel.on('open', (kind) => this.#onChannelOpen(endpoint, kind));
    channel.on('activity', () => (endpoint.lastActivity = Date.now()));
    const rejectedLog = new RateLimitedLog(log);
    channel.on('message', (m) => {
      try {
        this.#onChannelMessage(endpoint, m);
      } catch (err) {
        if (!(err instanceof ChannelMessageRejected)) throw err;
        this.rejectedMessages += 1;
        rejectedLog.warn({ colibriClass: m.colibriClass, reason: err.message }, 'bridge channel message rejected');
      }
    });
    mediaEndpoint.on('bandwidthEstimate', (bps) => this.allocator.bandwidthChanged(e.id, bps));
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
          if (!endpoint.mediaEndpoint.closed) this.#log.warn({ err, endpoint: endpoint.id }, 'cannot set the ideal bitrate');
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

  // ------------------------------------------------------------------ bridge channel

  #onChannelOpen(endpoint: Endpoint, kind: string): void {
    this.#log.info({ endpoint: endpoint.id, kind }, 'bridge channel open');
    endpoint.lastActivity = Date.now();
    endpoint.channel.send(msg.serverHello(this.#settings.announceVersion));
    // What JVB sends on a (re)connected channel (Endpoint.endpointMessageTransportConnected,
    // Conference.endpointMessageTransportConnected): sender constraints, forwarded sources, the
    // source maps, the recent speakers.
    for (const [source, maxHeight] of this.allocator.senderConstraintsOf(endpoint.id)) {
      endpoint.channel.send(msg.senderSourceConstraints(source, maxHeight));
    }
    const state = this.allocator.state(endpoint.id);
    if (state) endpoint.channel.send(msg.forwardedSources(state.allocation.sources.filter((s) => s.target).map((s) => s.source)));
    // Everything forwarded so far, announced again in full (a known SSRC is a no-op for the client).
    this.#pendingMaps.delete(endpoint.id);
    this.#announce(endpoint, endpoint.mediaEndpoint.forwardedSources());
    const [dominant, ...previous] = this.allocator.speech.recentSpeakers;
    if (dominant !== undefined) endpoint.channel.send(msg.dominantSpeakerChange(dominant, previous));
  }

  #onDominantSpeaker(id: string): void {
    const recent = this.allocator.dominantSpeakerChanged(id);
    if (!recent) return;
    const [dominant, ...previous] = recent;
    if (dominant === undefined) return;
    this.#log.info({ dominant, previous }, 'dominant speaker changed');
    const out = msg.dominantSpeakerChange(dominant, previous);
    for (const e of this.#endpoints.values()) if (e.channel.isOpen) e.channel.send(out);
  }

  /** `ConnectionStats` to each endpoint with an estimate (JVB Endpoint.kt, every `connection-stats.interval`). */
  #sendConnectionStats(): void {
    for (const e of this.#endpoints.values()) {
      const bwe = this.allocator.state(e.id)?.bweBps ?? -1;
      if (bwe >= 0 && e.channel.isOpen) e.channel.send(msg.connectionStats(bwe));
    }
  }

  #onSourceForwarded(receiver: MediaEndpoint, mapped: MappedSource): void {
    const endpoint = this.#endpoints.get(receiver.id);
    if (!endpoint) return;
    if (endpoint.channel.isOpen || !endpoint.ssrcRewriting) {
      this.#announce(endpoint, [mapped]);
    } else {
      const list = this.#pendingMaps.get(endpoint.id) ?? [];
      list.push(mapped);
      this.#pendingMaps.set(endpoint.id, list);
    }
  }

  /**
   * Send the source maps for `mapped` to `endpoint`, then hand them to the allocation: the map
   * goes out before the media (JVB's order), so the client can set up its receivers. A source sent on an SSRC slot
   * another source had (`videobridge.ssrc-limit.*`) goes out the same way, with the SSRC the client knows: it
   * re-maps that SSRC's track to the new source and owner, without renegotiating. An endpoint
   * without SSRC rewriting gets no maps (as from JVB): the focus told it the senders' own SSRCs.
   */
  #announce(endpoint: Endpoint, mapped: readonly MappedSource[]): void {
    const audio = mapped.filter((m) => m.kind === 'audio');
    const video = mapped.filter((m) => m.kind === 'video');
    if (endpoint.ssrcRewriting && audio.length > 0) {
      endpoint.channel.send(msg.audioSourcesMap(audio.map((m) => ({ source: m.source, owner: m.owner, ssrc: m.ssrc }))));
    }
    if (endpoint.ssrcRewriting && video.length > 0) {
      endpoint.channel.send(
        msg.videoSourcesMap(video.map((m) => ({ source: m.source, owner: m.owner, ssrc: m.ssrc, rtx: m.rtx ?? -1, videoType: m.videoType ?? 'CAMERA' }))),
      );
    }
    const resume = (sources: readonly MappedSource[]): void => {
      if (this.#endpoints.get(endpoint.id) !== endpoint) return;
      // A source that lost its SSRC slot meanwhile has no consumer to resume.
      const held = new Set(endpoint.mediaEndpoint.heldSources());
      for (const m of sources) if (!held.has(m.source)) this.allocator.sourceReady(endpoint.id, m.source);
    };
    resume(audio);
    // Resuming video makes mediasoup ask the sender for a keyframe at once. Sent before the client
    // has applied the map (a renegotiation, ~100 ms), that keyframe is lost, and the client's own
    // request then falls inside the sender's 300 ms keyframe guard (libwebrtc
    // EncoderRtcpFeedback) and mediasoup's 1 s pending-keyframe wait: the first frame comes ~1 s
    // late. Resuming video a little after the map avoids both.
    if (video.length > 0) setTimeout(() => resume(video), VIDEO_RESUME_DELAY_MS).unref();
  }

  #onChannelMessage(from: Endpoint, m: BridgeChannelMessage): void {
    switch (m.colibriClass) {
      case 'ClientHello':
        from.channel.send(msg.serverHello(this.#settings.announceVersion));
        return;
      case 'EndpointMessage': {
        // JVB EndpointMessageTransport.java endpointMessage: a visitor's are dropped; `from` is the bridge's to set.
        if (from.visitor) throw new ChannelMessageRejected('EndpointMessage from a visitor endpoint');
        const to = msg.isBroadcast(m) ? undefined : m.to;
        const targets = endpointMessageTargets(this.#routingView(), { endpoint: from.id }, to);
        if (targets) this.#sendEndpointTraffic(targets, msg.endpointMessageFrom(m, from.id));
        else this.#log.debug({ endpoint: from.id, to }, 'EndpointMessage for unknown endpoint dropped');
        return;
      }
      case 'EndpointStats': {
        // JVB EndpointMessageTransport.java endpointStats.
        if (from.visitor) throw new ChannelMessageRejected('EndpointStats from a visitor endpoint');
        this.#routeEndpointStats({ endpoint: from.id }, from.id, msg.endpointStatsFrom(m, from.id));
        return;
      }
      case 'SourceVideoTypeMessage':
        this.#setVideoType(from, m.sourceName, m.videoType);
        return;
      case 'VideoTypeMessage':
        // Deprecated form: the endpoint's only video source, by lib-jitsi-meet's naming (JVB).
        this.#setVideoType(from, `${from.id}-v0`, m.videoType);
        return;
      case 'ReceiverVideoConstraints':
        // Sources are named as the receiver knows them, which may be before the bridge does (jitsi-meet takes names
        // from MUC presence, ahead of Jicofo's colibri2 update): stored as they are and applied when the source
        // appears (JVB `Endpoint.setBandwidthAllocationSettings`). The parser bounds the message's size.
        this.allocator.setConstraints(from.id, m);
        return;
      case 'LastNChangedEvent':
        if (m.lastN < -1) throw new ChannelMessageRejected(`invalid lastN ${m.lastN}`);
        this.allocator.setLastN(from.id, m.lastN);
        return;
      case 'ReceiverAudioSubscription':
        this.allocator.setAudioSubscription(from.id, m);
        return;
      default:
        this.#log.debug({ endpoint: from.id, colibriClass: m.colibriClass }, 'bridge channel message');
    }
  }

  /**
   * An `EndpointMessage` or `EndpointStats` from the other bridge of `relay`, for local endpoints only (JVB
   * `RelayMessageTransport.kt`): `from` is the other bridge's (it set it for its own endpoint); stats need a `from`
   * that is an endpoint of the conference.
   */
  #onRelayEndpointTraffic(relay: Relay, m: msg.EndpointMessage | msg.EndpointStats): void {
    if (this.#expired) return;
    const origin = { relay: relay.id };
    if (m.colibriClass === 'EndpointMessage') {
      const to = msg.isBroadcast(m) ? undefined : m.to;
      const targets = endpointMessageTargets(this.#routingView(), origin, to);
      if (targets) this.#sendEndpointTraffic(targets, m);
      else this.#log.debug({ relay: relay.id, from: m.from, to }, 'relayed EndpointMessage for an endpoint not on this bridge dropped');
      return;
    }
    const sender = m.from;
    if (sender === undefined || !(this.#endpoints.has(sender) || this.relays().some((r) => r.hasEndpoint(sender)))) {
      relay.rejectedMessages += 1;
      this.#log.debug({ relay: relay.id, from: sender }, 'relayed EndpointStats from an unknown endpoint dropped');
      return;
    }
    this.#routeEndpointStats(origin, sender, m);
  }

  /** Endpoints and relays, as message routing sees them. */
  #routingView(): RoutingView {
    return { localEndpoints: [...this.#endpoints.keys()], relays: [...this.#relays.values()] };
  }

  /** `EndpointStats` of `sender` (`from` set) to the endpoints that want them, and on to the relays when local. */
  #routeEndpointStats(origin: MessageOrigin, sender: string, out: msg.EndpointStats): void {
    const conferenceSize = this.#endpoints.size + this.relays().reduce((n, r) => n + r.endpointIds().length, 0);
    const filter = {
      conferenceSize,
      threshold: this.#settings.statsFilterThreshold ?? DEFAULT_STATS_FILTER_THRESHOLD,
      senderIsRecentSpeaker: () => this.allocator.speech.recentSpeakers.includes(sender),
      // Every speaker's audio is forwarded (JVB's `loudest.route-loudest-only = false`): all are ranked.
      senderIsRankedSpeaker: () => true,
      receiverWantsVideo: (receiver: string) => this.allocator.wantsVideoOf(receiver, sender),
    };
    this.#sendEndpointTraffic(endpointStatsTargets(this.#routingView(), origin, sender, (receiver) => wantsStatsFrom(filter, receiver)), out);
  }

  /** Send `out` to the targets (JVB `Conference.java` `sendMessage`). */
  #sendEndpointTraffic(targets: MessageTargets, out: msg.EndpointMessage | msg.EndpointStats): void {
    for (const id of targets.endpoints) this.#endpoints.get(id)?.channel.send(out);
    for (const id of targets.relays) this.#relays.get(id)?.sendEndpointTraffic(out);
  }

  /**
   * A sender's `SourceVideoTypeMessage`: the allocation and every receiver's video map learn it. For a source the
   * endpoint does not send (yet) it is cached and applied when the source is signalled (JVB `AbstractEndpoint`
   * `setVideoType` / `videoTypeCache`).
   */
  #setVideoType(from: Endpoint, source: string, videoType: VideoType): void {
    if (!this.media.setVideoType(from.id, source, videoType)) {
      from.cacheVideoType(source, videoType);
      return;
    }
    this.allocator.setVideoType(source, videoType);
    for (const e of this.#endpoints.values()) {
      if (e === from || !e.channel.isOpen) continue;
      const mapped = e.mediaEndpoint.forwardedSources().filter((s) => s.source === source);
      if (mapped.length > 0) this.#announce(e, mapped);
    }
  }

  // ------------------------------------------------------------------ lifecycle

  /** Remove an endpoint: its sources stop for everyone, its channel closes (ws 1001). */
  expireEndpoint(id: string, reason: 'expired' | 'timeout' | 'conference'): void {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    this.#endpoints.delete(id);
    this.#pendingMaps.delete(id);
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

/**
 * This bridge's side of a relay for the colibri2 answer (JVB `Relay.describeTransport`): the relay transport's
 * address as the single UDP host candidate, a `ufrag` with {@link RELAY_UFRAG_PREFIX}, and — since Jicofo requires
 * a fingerprint with `setup='actpass'` — a random placeholder fingerprint: an octobridge relay has no DTLS (WireGuard
 * encrypts and authenticates). SCTP answers the opposite role of the request (Jicofo: initiator `client`).
 */
function describeRelayTransport(relay: Relay, sctp: { role?: 'client' | 'server' } | undefined): TransportResponse {
  const local = relay.media.local;
  const hex = randomBytes(32).toString('hex').toUpperCase().match(/../g)?.join(':') ?? '';
  return {
    ice: {
      ufrag: `${RELAY_UFRAG_PREFIX}${randomBytes(4).toString('hex')}`,
      pwd: randomBytes(16).toString('base64url'),
      rtcpMux: true,
      fingerprints: [{ hash: 'sha-256', value: hex, setup: 'actpass' }],
      candidates: [
        { component: 1, foundation: '1', generation: 0, id: `${relay.id}-1`, network: 0, priority: 2130706431, protocol: 'udp', type: 'host', ip: local.ip, port: local.port },
      ],
    },
    sctp: { port: 5000, role: sctp?.role === 'server' ? 'client' : 'server' },
  };
}
