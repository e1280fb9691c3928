/**
 * The bridge's colibri2 entry point (jitsi-videobridge `Videobridge.java`): conferences keyed by
 * meeting-id, `conference-modify` in, `conference-modified` (or a {@link Colibri2Error}) out.
 * Both the XMPP layer and the standalone focus call {@link Videobridge.conferenceModify}; it is
 * the only way to create or change a conference or an endpoint.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { MediaEngine } from '../media/MediaEngine.ts';
import { Conference, type ConferenceSettings } from './Conference.ts';
import type { Endpoint } from './Endpoint.ts';
import {
  badRequest,
  Colibri2Error,
  conferenceAlreadyExists,
  conferenceNotFound,
  featureNotImplemented,
  inGracefulShutdown,
  type StanzaErrorCondition,
} from '../colibri2/errors.ts';
import type { ConferenceModifiedResponse, ConferenceModifyRequest } from '../colibri2/types.ts';

interface BridgeEvents {
  conferenceCreated: [Conference];
  conferenceExpired: [Conference];
  endpointCreated: [Conference, Endpoint];
  endpointExpired: [Conference, string, 'expired' | 'timeout' | 'conference'];
  /** An endpoint's transport moved to another worker (its worker died); its client must reconnect. */
  endpointRelocated: [Conference, string];
  /**
   * A `conference-modify` was answered: `ok`, or the error condition it was answered with; how long the bridge took,
   * ms (the conference's queue included); whether it created an endpoint (an allocation, JVB's
   * `colibri2.allocation` timer).
   */
  colibri2Request: [result: 'ok' | StanzaErrorCondition, durationMs: number, allocation: boolean];
}

/** Options of {@link Videobridge}. */
export type VideobridgeSettings = Omit<ConferenceSettings, 'candidateAddresses'>;

/** A bare JID `local@domain` (XEP-0029-ish check; JVB uses JidCreate.entityBareFrom). */
const ENTITY_BARE_JID = /^[^@/\s"&'<>:]+@[^@/\s]+$/;

/** See the module docstring. */
export class Videobridge extends EventEmitter<BridgeEvents> {
  readonly #media: MediaEngine;
  readonly #settings: VideobridgeSettings;
  readonly #log: Logger;
  readonly #byMeetingId = new Map<string, Conference>();
  readonly #byId = new Map<string, Conference>();
  readonly #expiryTimer: NodeJS.Timeout;
  #gracefulShutdown = false;
  readonly startedAt = Date.now();

  constructor(media: MediaEngine, settings: VideobridgeSettings, log: Logger) {
    super();
    this.#media = media;
    this.#settings = settings;
    this.#log = log;
    this.#expiryTimer = setInterval(() => this.#checkExpiry(), Math.min(10_000, Math.max(1000, settings.endpointExpireMs / 6)));
    this.#expiryTimer.unref();
  }

  /**
   * Handle a colibri2 `conference-modify`.
   * @throws Colibri2Error with JVB's condition + reason (see errors.ts); nothing changes then.
   */
  async conferenceModify(req: ConferenceModifyRequest): Promise<ConferenceModifiedResponse> {
    const started = performance.now();
    try {
      const res = await this.#conferenceModify(req);
      this.emit('colibri2Request', 'ok', performance.now() - started, req.endpoints?.some((e) => e.create) ?? false);
      return res;
    } catch (err) {
      const condition = err instanceof Colibri2Error ? err.condition : 'internal-server-error';
      this.emit('colibri2Request', condition, performance.now() - started, req.endpoints?.some((e) => e.create) ?? false);
      throw err;
    }
  }

  async #conferenceModify(req: ConferenceModifyRequest): Promise<ConferenceModifiedResponse> {
    validateRequest(req);
    let conference = this.#byMeetingId.get(req.meetingId);
    let created = false;
    if (req.create) {
      if (conference) throw conferenceAlreadyExists(req.meetingId);
      if (this.#gracefulShutdown) throw inGracefulShutdown();
      if (req.name !== undefined && !ENTITY_BARE_JID.test(req.name)) throw badRequest('Invalid conference name (not a JID)');
      this.#checkCapacity('conferences', () => this.#byMeetingId.size + 1);
      conference = await this.#createConference(req.meetingId, req.name);
      created = true;
    } else if (!conference) {
      throw conferenceNotFound(req.meetingId);
    }
    const creates = req.endpoints.filter((e) => e.create).length;
    try {
      if (creates > 0) this.#checkCapacity('endpoints', () => this.#endpointCount() + creates);
      const { response, expire } = await conference.handle(req);
      if (expire) conference.expire();
      return response;
    } catch (err) {
      if (created) conference.expire();
      if (err instanceof Colibri2Error) throw err;
      this.#log.error({ err, meetingId: req.meetingId }, 'conference-modify failed');
      throw new Colibri2Error('internal-server-error', (err as Error).message);
    }
  }

  /** Endpoints on the bridge now (all conferences). */
  #endpointCount(): number {
    let n = 0;
    for (const c of this.#byMeetingId.values()) n += c.endpointCount;
    return n;
  }

  /**
   * Refuse a request that would take the bridge past `octobridge.limits.max-conferences` / `max-endpoints`:
   * `service-unavailable` (no colibri2 reason), which makes Jicofo fail the session on this bridge and place the
   * conference elsewhere (Colibri2Session), as for a bridge that cannot take more.
   * `wanted` is counted only when a limit is set (the endpoint count walks every conference).
   * @throws Colibri2Error when `wanted()` exceeds the limit (0 = none).
   */
  #checkCapacity(what: 'conferences' | 'endpoints', wanted: () => number): void {
    const limits = this.#settings.limits;
    const max = what === 'conferences' ? limits?.maxConferences : limits?.maxEndpoints;
    if (!max || wanted() <= max) return;
    limits?.onLimit?.(what);
    throw new Colibri2Error('service-unavailable', `Bridge at its ${what} limit (${max})`);
  }

  async #createConference(meetingId: string, name: string | undefined): Promise<Conference> {
    const id = randomBytes(8).toString('hex');
    const media = await this.#media.createConference(id);
    const settings: ConferenceSettings = { ...this.#settings, candidateAddresses: this.#media.candidateAddresses };
    const conference = new Conference(id, meetingId, name, media, settings, this.#log);
    const log = this.#log.child({ conference: conference.id, meetingId });
    this.#byMeetingId.set(meetingId, conference);
    this.#byId.set(conference.id, conference);
    conference.on('endpointCreated', (e) => this.emit('endpointCreated', conference, e));
    conference.on('endpointExpired', (id, reason) => this.emit('endpointExpired', conference, id, reason));
    conference.on('endpointRelocated', (id) => this.emit('endpointRelocated', conference, id));
    conference.once('expired', () => {
      this.#byMeetingId.delete(meetingId);
      this.#byId.delete(conference.id);
      this.emit('conferenceExpired', conference);
    });
    log.info({ name }, 'conference created');
    this.emit('conferenceCreated', conference);
    return conference;
  }

  /** By meeting-id (Jicofo's key). */
  conferenceByMeetingId(meetingId: string): Conference | undefined {
    return this.#byMeetingId.get(meetingId);
  }

  /** By JVB's internal id (colibri-ws URLs). */
  conferenceById(id: string): Conference | undefined {
    return this.#byId.get(id);
  }

  conferences(): Conference[] {
    return [...this.#byMeetingId.values()];
  }

  /** Refuse new conferences from now on (REST `/colibri/shutdown`). */
  set gracefulShutdown(on: boolean) {
    this.#gracefulShutdown = on;
  }

  get gracefulShutdown(): boolean {
    return this.#gracefulShutdown;
  }

  #checkExpiry(): void {
    for (const c of this.conferences()) {
      if (c.checkExpiry()) {
        this.#log.info({ conference: c.id }, 'conference idle, expiring');
        c.expire();
      }
    }
  }

  /** Expire everything and stop timers. */
  close(): void {
    clearInterval(this.#expiryTimer);
    for (const c of this.conferences()) c.expire();
  }
}

/** Colibri2ConferenceHandler.validateRequest: combinations JVB does not implement. */
function validateRequest(req: ConferenceModifyRequest): void {
  if (typeof req.meetingId !== 'string' || req.meetingId.trim() === '') throw badRequest('Missing meeting-id');
  if ((req.relays?.length ?? 0) > 0 && req.endpoints.length > 0) throw featureNotImplemented("Using both 'relay' and 'endpoint' in a request");
  if ((req.relays?.length ?? 0) > 1) throw featureNotImplemented("Updating more than one 'relay' in a request.");
  if (req.endpoints.length > 1 && req.endpoints.some((e) => e.create || e.media !== undefined || e.transport !== undefined || e.sources !== undefined)) {
    throw featureNotImplemented('Creating or updating media, sources or transport for more than one endpoint in a request.');
  }
}
