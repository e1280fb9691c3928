/**
 * The colibri2 side of a conference (jitsi-videobridge `Colibri2ConferenceHandler.kt`): applies `conference-modify`
 * requests to it, one at a time (JVB's `ColibriQueue`), each checked in full before anything changes, so that a
 * refused request changes nothing. It translates a request into the conference's operations (endpoints created,
 * connected, given sources or muted, expired; relays created, given endpoints, connected or expired) and builds the
 * `conference-modified` answer with the transports the bridge chose.
 */
import { randomBytes } from 'node:crypto';
import { badRequest, Colibri2Error, endpointNotFound } from '../colibri2/errors.ts';
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
import { copyMedia } from '../jingle/copy.ts';
import type { Logger } from '../logger.ts';
import type { EndpointMediaOptions, PreparedEndpoint } from '../media/MediaConference.ts';
import type { MediaRelay } from '../media/MediaRelay.ts';
import { pickCodec, RtpMappingError, sourceLayout } from '../media/rtp.ts';
import { SerialQueue } from '../util/SerialQueue.ts';
import type { Conference, ConferenceSettings } from './Conference.ts';
import type { Endpoint } from './Endpoint.ts';
import type { Relay } from './Relay.ts';

/**
 * The `ufrag` prefix of an octobridge relay transport in colibri2 (`<transport xmlns=ice-udp ufrag>`): the transport
 * is a plain UDP address inside WireGuard (one host candidate), not ICE. The other octobridge recognises it by the
 * prefix; Jicofo forwards ufrag, pwd and candidates untouched.
 */
export const RELAY_UFRAG_PREFIX = 'octobridge-relay-';

/** The endpoint ids a colibri2 request may use (1 to 64 URL-safe characters). */
const ENDPOINT_ID = /^[A-Za-z0-9_.~-]{1,64}$/;

/** What the handler changes in its conference beyond the conference's public methods (the conference's own wiring). */
export interface ConferenceOperations {
  /** Create endpoint `e` on its prepared media, wired to the bridge channel and the allocation. */
  createEndpoint(e: EndpointModify, prepared: PreparedEndpoint): Promise<Endpoint>;
  /** Add a relay on `media` (`localRelayId`: this bridge's `videobridge.relay.relay-id`). */
  addRelay(id: string, media: MediaRelay, meshId: string | undefined, localRelayId: string): Relay;
  /** Remove a relay and close it. */
  removeRelay(id: string): Promise<void>;
}

/** Colibri2 `<sctp>` checks from Colibri2ConferenceHandler.handleColibri2Endpoint. */
function checkSctp(e: EndpointModify, sctpEnabled: boolean): void {
  const sctp = e.transport?.sctp;
  if (!sctp) return;
  if (!sctpEnabled) throw new Colibri2Error('feature-not-implemented', 'SCTP support is not configured');
  if (sctp.role !== undefined && sctp.role !== 'server') throw new Colibri2Error('feature-not-implemented', `Unsupported SCTP role: ${sctp.role}`);
  if (sctp.port !== undefined && sctp.port !== 5000) throw badRequest('Specific SCTP port requested, not supported.');
}

/** See the module docstring. Created by its {@link Conference}. */
export class Colibri2ConferenceHandler {
  readonly #conference: Conference;
  readonly #ops: ConferenceOperations;
  readonly #settings: ConferenceSettings;
  readonly #log: Logger;
  readonly #queue = new SerialQueue();

  constructor(conference: Conference, ops: ConferenceOperations, settings: ConferenceSettings, log: Logger) {
    this.#conference = conference;
    this.#ops = ops;
    this.#settings = settings;
    this.#log = log;
  }

  /**
   * Apply a conference-modify to the conference, after the earlier ones.
   * @returns the conference-modified and whether the conference must now expire.
   * @throws Colibri2Error (JVB's condition + reason); a rejected request changes nothing.
   */
  async handle(req: ConferenceModifyRequest): Promise<{ response: ConferenceModifiedResponse; expire: boolean }> {
    const prepared = this.#prepareEndpoints(req);
    try {
      return await this.#queue.run(() => this.#handle(req, prepared));
    } finally {
      // Whatever the request did not adopt (it was refused, or the conference expired before its turn).
      for (const p of prepared.values()) this.#conference.media.discardEndpoint(p);
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
    if (this.#conference.expired || req.relays?.length) return prepared;
    for (const e of req.endpoints) {
      if (!e.create || e.expire || !e.transport || prepared.has(e.id) || this.#conference.endpoint(e.id) !== undefined) continue;
      if (!ENDPOINT_ID.test(e.id)) continue;
      try {
        checkSctp(e, this.#settings.sctpEnabled);
      } catch {
        continue; // refused in turn
      }
      prepared.set(e.id, this.#conference.media.prepareEndpoint(e.id, this.#endpointMediaOptions(e)));
    }
    return prepared;
  }

  /** The media options of an endpoint `e` creates. */
  #endpointMediaOptions(e: EndpointModify): EndpointMediaOptions {
    const ssrcLimits = this.#settings.ssrcLimits;
    return {
      media: copyMedia(e.media ?? []),
      sctp: e.transport?.sctp !== undefined,
      ssrcRewriting: (e.capabilities ?? []).includes(CAPABILITY_SSRC_REWRITING),
      ...(ssrcLimits ? { ssrcLimits } : {}),
      // The worker applies the allocation's own hysteresis: it reports only the estimates the allocation would use.
      bweChangeThreshold: this.#conference.allocator.config.bweChangeThreshold,
    };
  }

  async #handle(req: ConferenceModifyRequest, prepared: Map<string, PreparedEndpoint>): Promise<{ response: ConferenceModifiedResponse; expire: boolean }> {
    if (this.#conference.expired)
      throw new Colibri2Error('item-not-found', `Conference not found for ID: ${this.#conference.meetingId}`, 'conference_not_found');
    const relay = req.relays?.[0];
    if (relay) return { response: { endpoints: [], relays: [await this.#handleRelay(relay)] }, expire: req.expire === true };
    const ignoreUnknown = !req.endpoints.some((e) => e.create || e.media !== undefined || e.transport !== undefined || e.sources !== undefined);
    for (const e of req.endpoints) this.#validate(e, ignoreUnknown);
    const endpoints: EndpointModified[] = [];
    try {
      for (const e of req.endpoints) endpoints.push(await this.#apply(e, prepared));
    } catch (err) {
      // Undo endpoints created by this request, so a rejected request changes nothing.
      for (const e of req.endpoints) if (e.create) this.#conference.expireEndpoint(e.id, 'expired');
      throw err;
    }
    const response: ConferenceModifiedResponse = { endpoints };
    if (req.create || req.endpoints.some((e) => e.create)) response.sources = this.#conference.feedbackSources();
    let expire = req.expire === true;
    if (!req.create && this.#conference.endpointCount === 0 && this.#conference.relays().length === 0) {
      this.#log.info('All endpoints removed, expiring.');
      expire = true;
    }
    return { response, expire };
  }

  /** Everything that can be rejected, checked before anything changes. */
  #validate(e: EndpointModify, ignoreUnknown: boolean): void {
    if (!ENDPOINT_ID.test(e.id)) throw badRequest(`Invalid endpoint ID: ${e.id}`);
    if (e.expire) return;
    const endpoint = this.#conference.endpoint(e.id);
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
      for (const other of this.#conference.endpoints()) {
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
      if (this.#conference.endpoint(e.id) !== undefined) this.#conference.expireEndpoint(e.id, 'expired');
      return { id: e.id, expire: true };
    }
    let endpoint = this.#conference.endpoint(e.id);
    if (e.create) {
      const p = prepared.get(e.id) ?? this.#conference.media.prepareEndpoint(e.id, this.#endpointMediaOptions(e));
      prepared.delete(e.id);
      endpoint = await this.#ops.createEndpoint(e, p);
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
        await this.#conference.media.setSources(endpoint.id, withSsrcs, this.#settings.videoCodecs);
      } catch (err) {
        if (err instanceof RtpMappingError) throw badRequest(err.message);
        throw err;
      }
      endpoint.sources = e.sources;
    }
    if (e.forceMute) {
      endpoint.forceMute = { ...endpoint.forceMute, ...e.forceMute };
      await this.#conference.media.forceMute(endpoint.id, e.forceMute);
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
    let relay = this.#conference.relay(r.id);
    if (r.expire) {
      if (relay) await this.#ops.removeRelay(r.id);
      return { id: r.id, expire: true };
    }
    this.#validateRelay(r, relay);
    const remote = r.transport?.ice?.candidates.find((c) => c.protocol === 'udp');
    if (r.create) {
      if (!this.#settings.sctpEnabled) throw badRequest('Colibri websockets or SCTP need to be enabled to use a colibri2 relay');
      const mediaRelay = await this.#conference.media.createRelay(r.id, copyMedia(r.media ?? []), { ip: cfg.listenIp });
      relay = this.#ops.addRelay(r.id, mediaRelay, r.meshId, cfg.relayId);
    }
    if (!relay) throw badRequest(`Unknown relay ${r.id}`);
    try {
      if (r.endpoints) await relay.applyEndpoints(r.endpoints);
      if (remote) await this.#conference.media.connectRelay(r.id, { ip: remote.ip, port: remote.port });
    } catch (err) {
      if (r.create) await this.#ops.removeRelay(r.id);
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
        throw new Colibri2Error(
          'feature-not-implemented',
          `Relay ${r.id}: the other bridge is not an octobridge (relays between ICE-lite bridges use a plain transport inside WireGuard)`,
        );
      }
      if (!ice.candidates.some((c) => c.protocol === 'udp')) throw badRequest(`Relay ${r.id}: no UDP candidate`);
      if (relay?.media.remote && !ice.candidates.some((c) => c.ip === relay.media.remote?.ip && c.port === relay.media.remote.port)) {
        throw badRequest(`Relay ${r.id} is connected to another address already`);
      }
    }
    if (r.transport?.sctp?.port !== undefined && r.transport.sctp.port !== 5000) throw badRequest('Specific SCTP port requested, not supported.');
    for (const e of r.endpoints ?? []) {
      if (!ENDPOINT_ID.test(e.id)) throw badRequest(`Invalid endpoint ID: ${e.id}`);
      if (this.#conference.endpoint(e.id) !== undefined) throw badRequest(`Endpoint ${e.id} is local, not behind relay ${r.id}`);
      for (const other of this.#conference.relays()) {
        if (other.id !== r.id && other.hasEndpoint(e.id)) throw badRequest(`Endpoint ${e.id} is behind relay ${other.id}`);
      }
      for (const s of e.sources ?? []) {
        const owner = this.#conference.allocator.ownerOf(s.id);
        if (owner !== undefined && owner !== e.id) throw badRequest(`Source ${s.id} belongs to endpoint ${owner}`);
      }
    }
  }

  /** The endpoint's `<transport>` for conference-modified (JVB `Endpoint.describeTransport`). */
  #describeTransport(endpoint: Endpoint, sctp: boolean): NonNullable<EndpointModified['transport']> {
    const local = endpoint.mediaEndpoint.localTransport(this.#settings.candidateAddresses);
    const ws = this.#settings.webSocketUrl?.(this.#conference.id, endpoint.id, endpoint.wsPassword);
    return {
      ice: {
        ufrag: local.ufrag,
        pwd: local.pwd,
        candidates: local.candidates,
        fingerprints: local.fingerprints,
        rtcpMux: true,
        ...(ws ? { webSockets: [ws] } : {}),
      },
      ...(sctp ? { sctp: { port: 5000, role: 'server' as const } } : {}),
    };
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
        {
          component: 1,
          foundation: '1',
          generation: 0,
          id: `${relay.id}-1`,
          network: 0,
          priority: 2130706431,
          protocol: 'udp',
          type: 'host',
          ip: local.ip,
          port: local.port,
        },
      ],
    },
    sctp: { port: 5000, role: sctp?.role === 'server' ? 'client' : 'server' },
  };
}
