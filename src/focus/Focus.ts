/**
 * The embedded focus: octobridge's stand-in for Jicofo + the MUC in standalone mode. Pages join a
 * room over a WebSocket (`/focus/<room>`, protocol.ts); the focus allocates each participant on
 * the bridge through the same typed colibri2 API the XMPP layer uses (Videobridge.conferenceModify),
 * exactly in Jicofo's request sequence (Colibri2Session.kt): allocate (create conference on first
 * use, create endpoint with media, transport ice-controlling + sctp, capabilities), offer,
 * update with the client's transport and sources on session-accept, expire on leave.
 *
 * **Cascade** (`cascade` option): several bridges in different regions, each its own process, the others reached
 * through colibri2 (REST). A participant goes to the bridge of its region (the page's `?region=`), else the local
 * one. Every bridge of the room runs a conference with the same meeting-id, and each pair of them is linked by a
 * relay exactly as Jicofo links them (relays.ts: create on both, hand each answer to the other, keep the
 * participants behind each relay up to date, expire a bridge's relays and conference when its last participant
 * leaves).
 *
 * **The socket is public** (any page a user visits can open it): the upgrade checks the `Origin` (the page's own
 * origin, or `allowedOrigins`) and the joins per client address; each socket's messages are rate-limited, source
 * updates are coalesced (at most one in flight and one waiting per participant), a message that fails costs only
 * itself, and a participant that leaves at any point of its join is released on the bridge at once (after its
 * allocation, if one is on its way).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { Colibri2Error } from '../colibri2/errors.ts';
import type { OnLimit } from '../limits/limits.ts';
import { RateLimitedLog } from '../limits/RateLimitedLog.ts';
import { KeyedRateLimiter, TokenBucket } from '../limits/TokenBucket.ts';
import { rejectUpgrade, safeDecode, type RequestTarget } from '../http/requestTarget.ts';
import { SerialQueue } from '../util/SerialQueue.ts';
import { CAPABILITY_SOURCE_NAMES, CAPABILITY_SSRC_REWRITING, type EndpointModify, type Media, type MediaSource } from '../colibri2/types.ts';

/**
 * How the focus reaches a bridge: the bridge's own typed API in-process (Videobridge), or
 * colibri2 over XMPP (xmpp/RemoteBridgeClient). Errors are Colibri2Errors either way.
 */
export interface Colibri2Client {
  conferenceModify(req: ConferenceModifyRequest): Promise<ConferenceModifiedResponse>;
}

/**
 * What the bridge did by itself, when the focus can hear of it (in-process): an endpoint expired
 * (inactivity), or its transport moved to another worker (the client must reconnect).
 */
export interface BridgeEvents {
  on(event: 'endpointExpired', listener: (meetingId: string, endpointId: string, reason: string) => void): unknown;
  on(event: 'endpointRelocated', listener: (meetingId: string, endpointId: string) => void): unknown;
}
import type { ConferenceModifiedResponse, ConferenceModifyRequest } from '../colibri2/types.ts';
import type { Logger } from '../logger.ts';
import { offerMedia } from './codecs.ts';
import { buildSessionInitiate, jingleSources, remoteSourcesToJingle, sessionAcceptToColibri2, stripSimulcast } from './jingle.ts';
import { expireRelayRequest, linkByRelay, updateRelayEndpointsRequest } from './relays.ts';
import { MAX_PAGE_MESSAGE_BYTES, parsePageMessage } from './pageMessages.ts';
import type { FocusMessage, JingleSession, JingleSourcesContent, PageMessage, Participant } from './protocol.ts';

/** Path prefix of the focus signalling socket. */
export const FOCUS_WS_PREFIX = '/focus/';

/** Room names accepted in URLs (Jitsi room names, lowercase letters/digits and `_.-`). */
export const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** A bridge the focus can place participants on. */
export interface CascadeBridge {
  /** Its relay id (`videobridge.relay.relay-id`), the id other bridges' relays to it have. */
  relayId: string;
  /** Its region (`videobridge.relay.region`); participants of this region go there. */
  region: string;
  client: Colibri2Client;
}

/** Options of {@link Focus}. */
export interface FocusOptions {
  /** A standalone cascade: this bridge's relay id and region, and the other bridges. */
  cascade?: { relayId: string; region: string; others: readonly CascadeBridge[] };
  videoCodecs: readonly ('VP8' | 'VP9' | 'H264' | 'AV1')[];
  /** MUC domain used for the conference `name` JID (logs only). */
  mucDomain?: string;
  /** Bridge-side expiries and relocations (in-process bridges only). */
  events?: BridgeEvents;
  /**
   * Origins a browser may open the socket from (`scheme://host[:port]`, `*` = any); empty or absent: only the
   * origin of the request's `Host` (the page's own). Requests without `Origin` (not browsers) are accepted.
   */
  allowedOrigins?: readonly string[];
  /** Per-client limits (`octobridge.limits.*`, 0 = off); absent: none. */
  limits?: FocusLimits;
}

/** The focus's share of `octobridge.limits`. */
export interface FocusLimits {
  /** Socket upgrades (joins) and session restarts per client address per minute. */
  joinsPerAddressPerMinute: number;
  /** Source updates / session-accepts applied per participant per second (burst 2 s' worth). */
  sourceUpdatesPerSecond: number;
  /** Told each time one bites. */
  onLimit?: OnLimit;
}

/** Messages per second one focus socket may send (burst: two seconds' worth); the excess is dropped. */
const FOCUS_MESSAGES_PER_SECOND = 20;

interface Member {
  id: string;
  displayName: string;
  /** The video codecs it decodes, as it announced them on join (presence `codecList`). */
  codecList: string[];
  statsId: string;
  ws: WebSocket;
  /** The bridge it is allocated on. */
  bridge: CascadeBridge;
  allocated: boolean;
  /** Its sources, as last signalled (for the relays of other bridges). */
  sources?: MediaSource[];
  /** Whether it takes SSRC rewriting (joined without `ssrcRewriting: false`). */
  ssrcRewriting: boolean;
  /**
   * Without SSRC rewriting: the others' sources signalled to it so far, by owner (Jicofo `SourceSignaling`), from
   * its session-initiate on.
   */
  remote?: Map<string, MediaSource[]>;
  /** Jingle updates not yet sent to the bridge: the latest session-accept and the latest source-update. */
  pending: { accept?: JingleSession; sources?: JingleSession };
  /** An update is on its way to the bridge (the next waits for it). */
  updating: boolean;
  /** Its source-update budget. */
  updateBucket: TokenBucket;
  updateTimer?: NodeJS.Timeout;
}

/** The room's conference on one bridge. */
interface BridgeConference {
  /** Whether the conference exists on the bridge (Jicofo's Colibri2Session knows from its own requests). */
  created: boolean;
  /** The bridge's feedback sources (jvb-a0/jvb-v0), from the first allocation, for later offers. */
  feedback?: ConferenceModifiedResponse['sources'];
}

interface Room {
  name: string;
  meetingId: string;
  members: Map<string, Member>;
  queue: SerialQueue;
  /** By bridge relay id. */
  conferences: Map<string, BridgeConference>;
  /** Relays between two bridges of the room, as `a|b` (relay ids, sorted). */
  relays: Set<string>;
}

/** A member as the others see it (its MUC presence). */
const participantOf = (m: Member): Participant => ({ id: m.id, displayName: m.displayName, codecList: m.codecList });

const pairKey = (a: CascadeBridge, b: CascadeBridge): string => [a.relayId, b.relayId].sort().join('|');

/** See the module docstring. */
export class Focus {
  /** The bridges participants may go to; the first is the local one. */
  readonly #bridges: CascadeBridge[];
  readonly #log: Logger;
  readonly #media: Media[];
  readonly #mucDomain: string;
  readonly #rooms = new Map<string, Room>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAGE_MESSAGE_BYTES });
  readonly #limitedLog: RateLimitedLog;
  readonly #allowedOrigins: readonly string[];
  readonly #joins: KeyedRateLimiter;
  readonly #sourceUpdatesPerSecond: number;
  readonly #onLimit: OnLimit;

  constructor(bridge: Colibri2Client, opts: FocusOptions, log: Logger) {
    const c = opts.cascade;
    this.#limitedLog = new RateLimitedLog(log);
    this.#allowedOrigins = opts.allowedOrigins ?? [];
    const joins = opts.limits?.joinsPerAddressPerMinute ?? 0;
    this.#joins = new KeyedRateLimiter(joins / 60, joins);
    this.#sourceUpdatesPerSecond = opts.limits?.sourceUpdatesPerSecond ?? 0;
    this.#onLimit = opts.limits?.onLimit ?? (() => undefined);
    this.#bridges = [{ relayId: c?.relayId ?? 'local', region: c?.region ?? '', client: bridge }, ...(c?.others ?? [])];
    this.#log = log;
    this.#media = offerMedia(opts.videoCodecs);
    this.#mucDomain = opts.mucDomain ?? 'conference.octobridge.local';
    opts.events?.on('endpointRelocated', (meetingId, endpointId) => {
      const room = [...this.#rooms.values()].find((r) => r.meetingId === meetingId);
      const member = room?.members.get(endpointId);
      if (room && member) this.#restartIce(room, member);
    });
    opts.events?.on('endpointExpired', (meetingId, endpointId, reason) => {
      if (reason === 'expired') return; // we asked for it
      const room = [...this.#rooms.values()].find((r) => r.meetingId === meetingId);
      const member = room?.members.get(endpointId);
      if (!room || !member) return;
      this.#send(member, { type: 'session-terminate', reason: reason === 'timeout' ? 'expired by the bridge (inactivity)' : 'conference ended' });
      member.ws.close(1000, 'session terminated');
      this.#leave(room, member, false);
    });
  }

  /** Whether this path is the focus socket. */
  handles(url: string | undefined): boolean {
    return (url ?? '').startsWith(FOCUS_WS_PREFIX);
  }

  /** Whether `room` (percent-decoded) is a valid room name ({@link ROOM_NAME}). */
  isRoomName(room: string): boolean {
    return ROOM_NAME.test(room);
  }

  /**
   * Upgrade `/focus/<room>` (the target as parsed by the server, its path still percent-encoded): 400 for a bad room
   * name, 403 for a foreign `Origin`, 429 when the client address is over its joins per minute.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget): void {
    const room = safeDecode(target.pathname.slice(FOCUS_WS_PREFIX.length));
    if (room === undefined || !ROOM_NAME.test(room)) return rejectUpgrade(socket, 400, 'invalid room name');
    if (!this.#originAllowed(req)) {
      this.#limitedLog.warn({ origin: String(req.headers.origin) }, 'focus socket from a foreign origin refused');
      return rejectUpgrade(socket, 403, 'origin not allowed');
    }
    if (!this.#joins.take(req.socket.remoteAddress ?? '')) {
      this.#onLimit('joins_per_address');
      this.#limitedLog.warn({ address: req.socket.remoteAddress }, 'joins over the per-address limit refused');
      return rejectUpgrade(socket, 429, 'too many joins from this address');
    }
    const address = req.socket.remoteAddress ?? '';
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, room.toLowerCase(), address));
  }

  /** `Origin` absent (not a browser), the page's own (same host as `Host`), or in the allow-list. */
  #originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.#allowedOrigins.includes('*')) return true;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    if (this.#allowedOrigins.length > 0) return this.#allowedOrigins.includes(parsed.origin);
    const host = req.headers.host;
    return host !== undefined && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host === host.toLowerCase();
  }

  #accept(ws: WebSocket, roomName: string, address: string): void {
    let member: Member | undefined;
    let room: Room | undefined;
    const bucket = new TokenBucket(FOCUS_MESSAGES_PER_SECOND, 2 * FOCUS_MESSAGES_PER_SECOND);
    ws.on('message', (data, isBinary) => {
      if (!bucket.take()) {
        this.#onLimit('focus_messages');
        this.#limitedLog.warn({ room: roomName, endpoint: member?.id }, 'focus messages over the rate limit dropped');
        return;
      }
      try {
        const m = this.#parse(ws, roomName, member, data, isBinary);
        if (!m) return;
        if (m.type === 'join') {
          if (member) return;
          room = this.#room(roomName);
          member = this.#newMember(m, ws);
          this.#join(room, member);
          return;
        }
        if (!member || !room) {
          ws.send(JSON.stringify({ type: 'error', message: 'join first' } satisfies FocusMessage));
          return;
        }
        if (m.type === 'session-terminate') {
          // A restart is a new allocation: it counts as a join from the client's address.
          if (m.restart && !this.#joins.take(address)) {
            this.#onLimit('joins_per_address');
            ws.send(JSON.stringify({ type: 'error', message: 'too many joins from this address' } satisfies FocusMessage));
            return;
          }
          this.#terminate(room, member, m.restart);
          return;
        }
        this.#queueUpdate(room, member, m);
      } catch (err) {
        this.#limitedLog.error({ room: roomName, endpoint: member?.id, error: err instanceof Error ? err.message : String(err) }, 'focus message failed');
      }
    });
    ws.on('close', () => {
      if (room && member) this.#leave(room, member, true);
    });
    ws.on('error', (err) => this.#log.debug({ err }, 'focus socket error'));
  }

  /** A page message, or undefined after answering an error for a bad one. */
  #parse(ws: WebSocket, roomName: string, member: Member | undefined, data: RawData, isBinary: boolean): PageMessage | undefined {
    const parsed = isBinary ? ({ ok: false, error: 'binary frame' } as const) : parsePageMessage(rawText(data));
    if (parsed.ok) return parsed.message;
    this.#limitedLog.warn({ room: roomName, endpoint: member?.id, error: parsed.error }, 'bad focus message');
    ws.send(JSON.stringify({ type: 'error', message: parsed.error } satisfies FocusMessage));
    return undefined;
  }

  #newMember(m: Extract<PageMessage, { type: 'join' }>, ws: WebSocket): Member {
    const id = randomBytes(4).toString('hex');
    const displayName = m.displayName || `Guest-${randomBytes(2).toString('hex')}`;
    const statsId = `${displayName.replace(/[^A-Za-z0-9]/g, '').slice(0, 16) || 'Guest'}-${id.slice(0, 3)}`;
    const rate = this.#sourceUpdatesPerSecond;
    return {
      id,
      displayName,
      codecList: m.codecList ?? [],
      ssrcRewriting: m.ssrcRewriting !== false,
      statsId,
      ws,
      bridge: this.#bridgeFor(m.region),
      allocated: false,
      pending: {},
      updating: false,
      updateBucket: new TokenBucket(rate, Math.max(1, 2 * rate)),
    };
  }

  /**
   * A session-accept or source-update: kept as the latest of its kind (an older one still waiting is superseded and
   * counted) and sent when the previous update is done and the participant's budget allows.
   */
  #queueUpdate(room: Room, member: Member, m: Extract<PageMessage, { type: 'session-accept' | 'source-update' }>): void {
    const p = member.pending;
    if (m.type === 'session-accept') {
      // A session-accept carries the sources too: a waiting source-update is older than it.
      if (p.accept || p.sources) this.#onLimit('source_updates');
      member.pending = { accept: m.jingle };
    } else {
      if (p.sources) this.#onLimit('source_updates');
      p.sources = m.jingle;
    }
    this.#flushUpdates(room, member);
  }

  #flushUpdates(room: Room, member: Member): void {
    const { accept, sources } = member.pending;
    if (member.updating || member.updateTimer || (!accept && !sources)) return;
    const wait = member.updateBucket.waitMs();
    if (wait > 0) {
      member.updateTimer = setTimeout(() => {
        member.updateTimer = undefined;
        this.#flushUpdates(room, member);
      }, wait);
      member.updateTimer.unref();
      return;
    }
    member.updateBucket.take();
    member.pending = {};
    member.updating = true;
    const update: EndpointModify = accept ? sessionAcceptToColibri2(accept, member.id) : { id: member.id };
    if (sources) update.sources = jingleSources(sources, member.id);
    const what = accept ? 'session-accept' : 'source-update';
    room.queue
      .run(async () => {
        if (room.members.get(member.id) !== member) return;
        await member.bridge.client.conferenceModify({ meetingId: room.meetingId, endpoints: [update] });
        if (update.sources) {
          member.sources = update.sources;
          this.#signalSources(room, member, update.sources);
          await this.#updateBehindRelays(room, member, { id: member.id, sources: update.sources });
        }
      })
      .catch((err: unknown) => this.#fail(member, `${what} refused by the bridge`, err))
      .finally(() => {
        member.updating = false;
        if (room.members.get(member.id) === member) this.#flushUpdates(room, member);
      });
  }

  #room(name: string): Room {
    let room = this.#rooms.get(name);
    if (!room) {
      room = { name, meetingId: randomUUID(), members: new Map(), queue: new SerialQueue(), conferences: new Map(), relays: new Set() };
      this.#rooms.set(name, room);
    }
    return room;
  }

  #join(room: Room, member: Member): void {
    const others: Participant[] = [...room.members.values()].map(participantOf);
    room.members.set(member.id, member);
    this.#send(member, { type: 'room', room: room.name, endpointId: member.id, participants: others });
    for (const other of room.members.values()) {
      if (other !== member) this.#send(other, { type: 'participant-joined', participant: participantOf(member) });
    }
    this.#log.info({ room: room.name, endpoint: member.id, displayName: member.displayName, bridge: member.bridge.relayId }, 'participant joined');
    room.queue.run(() => this.#allocate(room, member)).catch((err: unknown) => this.#fail(member, 'allocation failed', err));
  }

  /** Jicofo's allocation request (Colibri2Session.sendAllocationRequest) and the offer. */
  async #allocate(room: Room, member: Member): Promise<void> {
    if (!room.members.has(member.id)) return;
    const bridge = member.bridge;
    const conference = room.conferences.get(bridge.relayId) ?? { created: false };
    room.conferences.set(bridge.relayId, conference);
    const endpoint: EndpointModify = {
      id: member.id,
      create: true,
      statsId: member.statsId,
      mucRole: room.members.size === 1 ? 'moderator' : 'participant',
      media: structuredClone(this.#media),
      transport: { iceControlling: true, sctp: {} },
      // Jicofo Colibri2Session: `ssrc-rewriting` only for a participant that uses it (Participant.useSsrcRewriting).
      capabilities: member.ssrcRewriting ? [CAPABILITY_SOURCE_NAMES, CAPABILITY_SSRC_REWRITING] : [CAPABILITY_SOURCE_NAMES],
    };
    const request = (create: boolean): ConferenceModifyRequest => ({
      meetingId: room.meetingId,
      ...(create ? { create: true, name: `${room.name}@${this.#mucDomain}` } : {}),
      endpoints: [structuredClone(endpoint)],
    });
    let response: ConferenceModifiedResponse;
    try {
      response = await bridge.client.conferenceModify(request(!conference.created));
    } catch (err) {
      // The bridge expired the conference meanwhile (or it already exists): say it the other way.
      const reason = err instanceof Colibri2Error ? err.reason : undefined;
      if (reason !== 'conference_not_found' && reason !== 'conference_already_exists') throw err;
      // The bridge lost a conference we had made (it restarted): its relays died with it, and the other ends'
      // point at a transport that is gone. Forget them, so that #link makes new ones.
      if (reason === 'conference_not_found' && conference.created) await this.#dropRelays(room, bridge);
      conference.created = reason === 'conference_already_exists';
      response = await bridge.client.conferenceModify(request(!conference.created));
    }
    conference.created = true;
    conference.feedback ??= response.sources;
    member.allocated = true;
    // Left while the bridge allocated: the release queued behind this expires it.
    if (room.members.get(member.id) !== member) return;
    this.#send(member, { type: 'session-initiate', jingle: buildSessionInitiate(response, member.id, this.#media, this.#resetRemote(room, member)) });
    await this.#link(room, member);
  }

  /**
   * The others' sources for a new offer to `member`: without SSRC rewriting, every other participant's current
   * sources, which become what was signalled to it (Jicofo `Participant.resetSignaledSources`); with it, none (the
   * bridge's source maps tell it).
   */
  #resetRemote(room: Room, member: Member): JingleSourcesContent[] {
    if (member.ssrcRewriting) return [];
    const remote = new Map<string, MediaSource[]>();
    for (const m of room.members.values()) if (m !== member && m.sources?.length) remote.set(m.id, m.sources);
    member.remote = remote;
    return remoteSourcesToJingle(remote);
  }

  /**
   * `owner`'s sources are now `sources`: tell each participant without SSRC rewriting that has had its offer what
   * went away (`source-remove`) and what is new (`source-add`), compared as signalled (simulcast stripped), as
   * Jicofo's `SourceSignaling.update` does. Sources of a participant that left or ended its session: `[]`.
   */
  #signalSources(room: Room, owner: Member, sources: readonly MediaSource[]): void {
    const key = (s: MediaSource): string => JSON.stringify(stripSimulcast(s));
    const now = new Set(sources.map(key));
    for (const m of room.members.values()) {
      if (m === owner || m.ssrcRewriting || !m.remote) continue;
      const before = m.remote.get(owner.id) ?? [];
      const was = new Set(before.map(key));
      const removed = before.filter((s) => !now.has(key(s)));
      const added = sources.filter((s) => !was.has(key(s)));
      if (sources.length > 0) m.remote.set(owner.id, [...sources]);
      else m.remote.delete(owner.id);
      if (removed.length > 0) this.#send(m, { type: 'source-remove', contents: remoteSourcesToJingle(new Map([[owner.id, removed]])) });
      if (added.length > 0) this.#send(m, { type: 'source-add', contents: remoteSourcesToJingle(new Map([[owner.id, added]])) });
    }
  }

  /** The bridge of a region (exact match), else the local one. */
  #bridgeFor(region: string | undefined): CascadeBridge {
    return this.#bridges.find((b) => region !== undefined && b.region === region) ?? (this.#bridges[0] as CascadeBridge);
  }

  /** The allocated participants on a bridge, as relays list them. */
  #behind(room: Room, bridge: CascadeBridge): { id: string; statsId: string; sources?: MediaSource[] }[] {
    return [...room.members.values()]
      .filter((m) => m.bridge === bridge && m.allocated)
      .map((m) => ({ id: m.id, statsId: m.statsId, ...(m.sources ? { sources: m.sources } : {}) }));
  }

  /**
   * A participant was allocated on its bridge: link that bridge with every other bridge of the room by a relay
   * (Jicofo `addLinkBetween`: the new bridge initiates), or list the participant on the existing relays.
   */
  async #link(room: Room, member: Member): Promise<void> {
    const x = member.bridge;
    for (const y of this.#bridges) {
      if (y === x || !room.conferences.get(y.relayId)?.created) continue;
      if (room.relays.has(pairKey(x, y))) {
        await y.client.conferenceModify(updateRelayEndpointsRequest(room.meetingId, x.relayId, [{ id: member.id, create: true, statsId: member.statsId }]));
        continue;
      }
      await linkByRelay(room.meetingId, x, y, { a: this.#behind(room, x), b: this.#behind(room, y) }, this.#media, () => room.relays.add(pairKey(x, y)));
      this.#log.info({ room: room.name, relay: pairKey(x, y) }, 'bridges linked by a relay');
    }
  }

  /** Tell the other bridges' relays about a participant of `member.bridge` (new sources, or its expiry). */
  async #updateBehindRelays(room: Room, member: Member, endpoint: { id: string; expire?: boolean; sources?: MediaSource[] }): Promise<void> {
    for (const y of this.#bridges) {
      if (y === member.bridge || !room.relays.has(pairKey(member.bridge, y))) continue;
      await y.client.conferenceModify(updateRelayEndpointsRequest(room.meetingId, member.bridge.relayId, [endpoint]));
    }
  }

  /** `x` lost the room's conference: expire the other ends of its relays and forget them. */
  async #dropRelays(room: Room, x: CascadeBridge): Promise<void> {
    for (const y of this.#bridges) {
      if (y === x || !room.relays.delete(pairKey(x, y))) continue;
      await y.client.conferenceModify(expireRelayRequest(room.meetingId, x.relayId)).catch(() => undefined);
      this.#log.info({ room: room.name, relay: pairKey(x, y) }, 'relay dropped: the bridge lost the conference');
    }
  }

  /** A bridge's last participant left: expire its relays (both ends) and its conference. */
  async #unlink(room: Room, x: CascadeBridge): Promise<void> {
    for (const y of this.#bridges) {
      if (y === x || !room.relays.delete(pairKey(x, y))) continue;
      await y.client.conferenceModify(expireRelayRequest(room.meetingId, x.relayId)).catch(() => undefined);
      await x.client.conferenceModify(expireRelayRequest(room.meetingId, y.relayId)).catch(() => undefined);
    }
    if (room.conferences.delete(x.relayId)) await x.client.conferenceModify({ meetingId: room.meetingId, expire: true, endpoints: [] }).catch(() => undefined);
  }

  /**
   * The endpoint's transport moved (its worker died): ICE restart through colibri2, as Jicofo
   * does it (`<transport ice-restart='true'>`; the answer carries the new transport), then a new
   * session-initiate, which the page answers with a new peer connection (DTLS is new too).
   */
  #restartIce(room: Room, member: Member): void {
    room.queue
      .run(async () => {
        const res = await member.bridge.client.conferenceModify({ meetingId: room.meetingId, endpoints: [{ id: member.id, transport: { iceRestart: true } }] });
        const ep = res.endpoints.find((e) => e.id === member.id);
        if (!ep?.transport) throw new Error('the bridge did not restart ICE');
        this.#log.info({ room: room.name, endpoint: member.id }, 'ICE restart: new offer');
        const feedback = room.conferences.get(member.bridge.relayId)?.feedback;
        const allocation: ConferenceModifiedResponse = { endpoints: [ep], ...(feedback ? { sources: feedback } : {}) };
        this.#send(member, { type: 'session-initiate', jingle: buildSessionInitiate(allocation, member.id, this.#media, this.#resetRemote(room, member)) });
      })
      .catch((err: unknown) => this.#fail(member, 'ICE restart failed', err));
  }

  /**
   * The page ended its session (lib-jitsi-meet `JingleSessionPC.terminate`), asking for a new one when its ICE
   * failed (`IceFailedHandling`). As Jicofo does it (`JitsiMeetConferenceImpl.terminateSession`, reinvite): its
   * endpoint is expired on the bridge (and behind the relays), then, for a restart, allocated again, which gives
   * it a new transport on a live worker and the page a new session-initiate. Updates still waiting for the old
   * session are dropped.
   */
  #terminate(room: Room, member: Member, restart: boolean): void {
    clearTimeout(member.updateTimer);
    member.updateTimer = undefined;
    member.pending = {};
    room.queue
      .run(async () => {
        if (room.members.get(member.id) !== member || !member.allocated) return;
        member.allocated = false;
        // Jicofo removes a terminated participant's sources; its new session signals them again.
        member.sources = undefined;
        this.#signalSources(room, member, []);
        await member.bridge.client.conferenceModify({ meetingId: room.meetingId, endpoints: [{ id: member.id, expire: true }] }).catch((err: unknown) => {
          if (!(err instanceof Colibri2Error && err.reason === 'conference_not_found')) throw err;
        });
        await this.#updateBehindRelays(room, member, { id: member.id, expire: true });
        this.#log.info({ room: room.name, endpoint: member.id, restart }, 'session terminated by the participant');
        if (restart) await this.#allocate(room, member);
      })
      .catch((err: unknown) => this.#fail(member, restart ? 'session restart failed' : 'session-terminate failed', err));
  }

  /**
   * A participant left (its socket closed, or the bridge expired it). Released at once: when its allocation is
   * still on its way, the release is queued behind it (the room's queue is serial), so whatever the bridge made for
   * it is expired as soon as it exists; its relays' other ends and, when it was the last on its bridge, the
   * bridge's conference and relays go too.
   */
  #leave(room: Room, member: Member, expire: boolean): void {
    if (room.members.get(member.id) !== member) return;
    room.members.delete(member.id);
    clearTimeout(member.updateTimer);
    member.pending = {};
    this.#log.info({ room: room.name, endpoint: member.id }, 'participant left');
    this.#signalSources(room, member, []);
    for (const other of room.members.values()) this.#send(other, { type: 'participant-left', id: member.id });
    room.queue
      .run(async () => {
        if (!member.allocated) return; // the allocation saw it gone and made nothing
        // The other bridges must hear of the leave even when the member's bridge lost the conference (restarted:
        // nothing to expire) or cannot be reached.
        if (expire) {
          await member.bridge.client.conferenceModify({ meetingId: room.meetingId, endpoints: [{ id: member.id, expire: true }] }).catch((err: unknown) => {
            if (!(err instanceof Colibri2Error && err.reason === 'conference_not_found'))
              this.#limitedLog.warn({ endpoint: member.id, error: String(err) }, 'expire failed');
          });
        }
        await this.#updateBehindRelays(room, member, { id: member.id, expire: true });
        if (![...room.members.values()].some((m) => m.bridge === member.bridge && m.allocated)) await this.#unlink(room, member.bridge);
      })
      .catch((err: unknown) => {
        if (!(err instanceof Colibri2Error && err.reason === 'conference_not_found')) this.#limitedLog.warn({ error: String(err) }, 'expire failed');
      });
    if (room.members.size === 0) this.#rooms.delete(room.name);
  }

  #fail(member: Member, what: string, err: unknown): void {
    const text = err instanceof Error ? err.message : String(err);
    this.#limitedLog.warn({ endpoint: member.id, error: text }, what);
    this.#send(member, { type: 'error', message: `${what}: ${text}` });
  }

  #send(member: Member, m: FocusMessage): void {
    if (member.ws.readyState === member.ws.OPEN) member.ws.send(JSON.stringify(m));
  }

  /** Close every page socket. */
  close(): void {
    for (const ws of this.#wss.clients) ws.close(1001, 'bridge shutting down');
    this.#wss.close();
  }
}

/** A text frame's bytes as a string (ws hands a Buffer, or fragments as Buffer[]). */
function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
