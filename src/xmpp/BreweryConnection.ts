/**
 * One XMPP connection of the bridge to a Jitsi shard, the way JVB's MucClient does it
 * (jicoco `MucClient.java`, jitsi-videobridge `XmppConnection.kt`):
 * log in (c2s client, or an XEP-0114 component), join the brewery MUC(s) with the bridge's
 * nickname, publish `<stats xmlns='http://jitsi.org/protocol/colibri'>` in presence every
 * 5 s, and answer the IQs Jicofo sends to the bridge's occupant JID: colibri2
 * `conference-modify`, the health check, XEP-0092 version and disco#info. Reconnects with
 * backoff (1 s doubling to 30 s) and rejoins; conferences live in the bridge, not here, so a
 * reconnect loses nothing.
 */
import { EventEmitter } from 'node:events';
import { client } from '@xmpp/client';
import { component } from '@xmpp/component';
import xml, { type Element } from '@xmpp/xml';
import { Colibri2Error } from '../colibri2/errors.ts';
import type { ConferenceModifiedResponse, ConferenceModifyRequest } from '../colibri2/types.ts';
import type { Logger } from '../logger.ts';
import { colibri2ErrorElement, errorIq, parseColibri2Error, parseConferenceModify, serializeConferenceModified } from '../colibri2/xml.ts';
import type { IqContext, XmppEntity } from './entity.ts';

export const NS_COLIBRI2 = 'jitsi:colibri2';
export const NS_COLIBRI_STATS = 'http://jitsi.org/protocol/colibri';
export const NS_HEALTHCHECK = 'http://jitsi.org/protocol/healthcheck';
export const NS_VERSION = 'jabber:iq:version';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** disco#info features JVB registers (XmppConnection.FEATURES). */
export const FEATURES = [NS_HEALTHCHECK, 'urn:xmpp:jingle:apps:dtls:0', 'urn:xmpp:jingle:transports:ice-udp:1', NS_VERSION, NS_DISCO_INFO];

/** What the XMPP layer needs from the rest of the bridge. */
export interface BridgeForXmpp {
  /** The one typed colibri2 API (Videobridge.conferenceModify). */
  conferenceModify(req: ConferenceModifyRequest): Promise<ConferenceModifiedResponse>;
  /** undefined when healthy, else why not. */
  healthProblem(): string | undefined;
  /** The presence stats, name → value (JVB's names; StatsCollector.snapshot). */
  stats(): Readonly<Record<string, number | string | boolean>>;
  /** Name and version for XEP-0092. */
  name: string;
  version: string;
}

/** Options of one connection (one `videobridge.apis.xmpp-client.configs.<id>` block). */
export interface BreweryOptions {
  /** The config block's name, for logs (`shard0` ...). */
  id: string;
  mode: 'client' | 'component';
  /** `xmpp://host:port`. */
  service: string;
  /** Client: the login domain (e.g. `auth.meet.jitsi`). Component: the component's domain. */
  domain: string;
  /** Client only. */
  username?: string;
  /** Client password, or the component secret. */
  password: string;
  /** Brewery rooms, e.g. `jvbbrewery@internal.auth.meet.jitsi`. */
  mucJids: string[];
  /** Occupant nickname, unique per bridge. */
  nickname: string;
  /** `videobridge.apis.xmpp-client.presence-interval`, ms. */
  presenceIntervalMs: number;
  /**
   * `DISABLE_CERTIFICATE_VERIFICATION`: accept the server's certificate on STARTTLS without
   * verifying it (docker-jitsi-meet's Prosody has a self-signed one and requires encryption).
   */
  disableCertificateVerification?: boolean;
}

interface BreweryEvents {
  online: [];
  offline: [];
  /** Joined one brewery room (self-presence received). */
  joined: [string];
  /** A conference-modify was answered: time spent in the bridge (parse → answer), ms. */
  conferenceModify: [number];
}

const MAX_RECONNECT_DELAY_MS = 30_000;

/** See the module docstring. */
export class BreweryConnection extends EventEmitter<BreweryEvents> {
  readonly options: BreweryOptions;
  readonly #bridge: BridgeForXmpp;
  readonly #log: Logger;
  readonly #entity: XmppEntity;
  readonly #joined = new Set<string>();
  /** Our own address (full JID once online). */
  #address = '';
  #presenceTimer?: NodeJS.Timeout;
  #stopped = false;
  #online = false;
  /** Disconnects seen (JVB metric xmpp_disconnects). */
  disconnects = 0;

  constructor(options: BreweryOptions, bridge: BridgeForXmpp, log: Logger) {
    super();
    this.options = options;
    this.#bridge = bridge;
    this.#log = log.child({ xmpp: options.id, mode: options.mode });
    this.#entity = (options.mode === 'client'
      ? client({
          service: options.service,
          domain: options.domain,
          username: options.username ?? '',
          password: options.password,
          resource: options.nickname,
          // Read by @xmpp/starttls (native/node-patches/@xmpp+starttls).
          ...(options.disableCertificateVerification ? { tls: { rejectUnauthorized: false } } : {}),
        } as Parameters<typeof client>[0])
      : component({ service: options.service, domain: options.domain, password: options.password })) as unknown as XmppEntity;
    // xmpp.js's iq-callee answers a handler's <error> with the whole request child echoed before
    // it; JVB (Smack 4.4.8 ErrorIQ) writes <error> first and an empty echo. Send JVB's form.
    const send = this.#entity.send.bind(this.#entity);
    this.#entity.send = (el: Element) => send(jvbErrorLayout(el));
    this.#wire();
  }

  #wire(): void {
    const e = this.#entity;
    e.on('error', (err) => this.#log.warn({ err: err.message }, 'XMPP error'));
    e.on('online', (address) => {
      this.#address = this.options.mode === 'component' ? `octobridge@${this.options.domain}/${this.options.nickname}` : address.toString();
      this.#online = true;
      e.reconnect.delay = 1000;
      this.#log.info({ address: this.#address }, 'XMPP online');
      this.emit('online');
      this.#joinAll();
    });
    e.on('offline', () => this.#wentOffline());
    e.on('disconnect', () => {
      if (this.#stopped) return;
      this.disconnects += 1;
      this.#wentOffline();
    });
    e.reconnect.on('reconnecting', () => {
      e.reconnect.delay = Math.min(MAX_RECONNECT_DELAY_MS, e.reconnect.delay * 2);
      this.#log.info({ nextDelayMs: e.reconnect.delay }, 'XMPP reconnecting');
    });
    e.on('stanza', (stanza) => this.#onStanza(stanza));
    const iq = e.iqCallee;
    const colibri2 = (ctx: IqContext): Promise<Element> => this.#conferenceModify(ctx);
    iq.get(NS_COLIBRI2, 'conference-modify', colibri2);
    iq.set(NS_COLIBRI2, 'conference-modify', colibri2);
    iq.get(NS_HEALTHCHECK, 'healthcheck', () => this.#healthCheck());
    iq.get(NS_VERSION, 'query', () =>
      xml('query', { xmlns: NS_VERSION }, xml('name', {}, this.#bridge.name), xml('version', {}, this.#bridge.version), xml('os', {}, process.platform)),
    );
    iq.get(NS_DISCO_INFO, 'query', () =>
      xml(
        'query',
        { xmlns: NS_DISCO_INFO },
        xml('identity', { category: 'component', type: 'generic', name: this.#bridge.name }),
        ...FEATURES.map((f) => xml('feature', { var: f })),
      ),
    );
  }

  #wentOffline(): void {
    if (this.#online) this.#log.warn('XMPP offline');
    this.#online = false;
    this.#joined.clear();
    clearInterval(this.#presenceTimer);
    this.#presenceTimer = undefined;
    this.emit('offline');
  }

  /**
   * Connect, in the background: a failed first connection (server down, bad credentials) is
   * logged and retried with the same backoff as a reconnect. Listen for `joined`.
   */
  start(): void {
    this.#stopped = false;
    const attempt = (delayMs: number): void => {
      if (this.#stopped) return;
      this.#entity.start().catch((err: unknown) => {
        if (this.#stopped) return;
        this.#log.warn({ err: (err as Error).message, retryInMs: delayMs }, 'XMPP connection failed');
        setTimeout(() => attempt(Math.min(MAX_RECONNECT_DELAY_MS, delayMs * 2)), delayMs).unref();
      });
    };
    attempt(1000);
  }

  /** Leave the rooms (presence unavailable) and disconnect. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#presenceTimer);
    if (this.#online) {
      for (const muc of this.#joined) {
        await this.#send(xml('presence', { to: `${muc}/${this.options.nickname}`, type: 'unavailable' })).catch(() => undefined);
      }
    }
    await this.#entity.stop().catch(() => undefined);
    this.#online = false;
  }

  get online(): boolean {
    return this.#online;
  }

  /** Rooms currently joined. */
  get joinedMucs(): string[] {
    return [...this.#joined];
  }

  #send(el: Element): Promise<unknown> {
    if (this.options.mode === 'component' && !el.attrs.from) el.attrs.from = this.#address;
    return this.#entity.send(el);
  }

  #joinAll(): void {
    for (const muc of this.options.mucJids) {
      const presence = this.#presence(muc);
      presence.children.unshift(xml('x', { xmlns: NS_MUC }));
      this.#send(presence).catch((err: unknown) => this.#log.warn({ err, muc }, 'cannot join brewery'));
    }
    clearInterval(this.#presenceTimer);
    this.#presenceTimer = setInterval(() => this.publishStats(), this.options.presenceIntervalMs);
    this.#presenceTimer.unref();
  }

  /** Presence with the stats extension to one room (JVB MucPublisher). */
  #presence(muc: string): Element {
    const stats = this.#bridge.stats();
    return xml(
      'presence',
      { to: `${muc}/${this.options.nickname}` },
      xml('stats', { xmlns: NS_COLIBRI_STATS }, ...Object.entries(stats).map(([name, value]) => xml('stat', { name, value: String(value) }))),
    );
  }

  /** Publish the current stats to every joined room now. */
  publishStats(): void {
    if (!this.#online) return;
    for (const muc of this.options.mucJids) {
      this.#send(this.#presence(muc)).catch((err: unknown) => this.#log.debug({ err, muc }, 'presence not sent'));
    }
  }

  #onStanza(stanza: Element): void {
    if (!stanza.is('presence')) return;
    const from = String(stanza.attrs.from ?? '');
    const muc = from.split('/')[0] ?? '';
    if (!this.options.mucJids.includes(muc) || from !== `${muc}/${this.options.nickname}`) return;
    if (stanza.attrs.type === 'error') {
      const condition = stanza.getChild('error')?.children.find((c) => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS);
      this.#log.error({ muc, condition: typeof condition === 'object' ? condition.name : undefined }, 'brewery join refused (nickname in use?)');
      return;
    }
    if (stanza.attrs.type === 'unavailable') {
      this.#joined.delete(muc);
      return;
    }
    if (!this.#joined.has(muc)) {
      this.#joined.add(muc);
      this.#log.info({ muc, nickname: this.options.nickname }, 'joined brewery');
      this.emit('joined', muc);
    }
  }

  async #conferenceModify(ctx: IqContext): Promise<Element> {
    const started = performance.now();
    const reply = await handleConferenceModify(ctx.element, this.#bridge, this.#log, ctx.stanza.attrs.from);
    this.emit('conferenceModify', performance.now() - started);
    return reply;
  }

  /** `<healthcheck>`: result when healthy, `internal-server-error` with the reason when not (JvbDoctor moves conferences away). */
  #healthCheck(): Element | true {
    const problem = this.#bridge.healthProblem();
    if (!problem) return true;
    return xml('error', { type: 'cancel' }, xml('internal-server-error', { xmlns: NS_STANZAS }), xml('text', { xmlns: NS_STANZAS }, problem));
  }
}

/**
 * One `conference-modify` IQ: parse the XML into the typed request, run it through the bridge,
 * serialise the `conference-modified` — or build JVB's error element (condition, text, colibri2
 * reason, endpoint id) for any failure. Never throws. `from` (the requester's JID) goes into what is logged (a field of
 * each line, not a child logger: one per request was about 1 % of an allocation's bridge CPU).
 */
export async function handleConferenceModify(element: Element, bridge: Pick<BridgeForXmpp, 'conferenceModify'>, log: Logger, from?: string): Promise<Element> {
  try {
    const req = parseConferenceModify(element);
    const res = await bridge.conferenceModify(req);
    log.debug({ from, meetingId: req.meetingId }, 'conference-modify');
    return serializeConferenceModified(res);
  } catch (err) {
    const c2 = err instanceof Colibri2Error ? err : new Colibri2Error('internal-server-error', (err as Error).message);
    // Item-not-found often just means a late request for an expired endpoint (as JVB logs it).
    const level = c2.condition === 'item-not-found' ? 'warn' : 'error';
    log[level]({ from, condition: c2.condition, reason: c2.reason, text: c2.message }, 'conference-modify refused');
    return colibri2ErrorElement(c2);
  }
}

/** An outgoing colibri2 error IQ in JVB's layout ({@link errorIq}); any other stanza unchanged. */
function jvbErrorLayout(el: Element): Element {
  if (!el.is('iq') || el.attrs.type !== 'error') return el;
  const echo = el.getChild('conference-modify', NS_COLIBRI2);
  const error = el.getChild('error');
  if (!echo || !error) return el;
  const request = xml('iq', { type: 'get', id: el.attrs.id, from: el.attrs.to, to: el.attrs.from }, echo);
  return errorIq(request, parseColibri2Error(error));
}
