/**
 * The focus side of colibri2 over XMPP, as Jicofo does it (jicofo `BridgeMucDetector.kt`,
 * `Bridge.kt`, `Colibri2Session.kt`): log in, join the brewery, treat every occupant whose
 * presence carries `<stats xmlns='http://jitsi.org/protocol/colibri'>` as a bridge, pick one
 * (not draining, not in graceful shutdown, lowest stress), and send `conference-modify` IQs to
 * its occupant JID. Lets the embedded focus drive a bridge in another process, and is the
 * Jicofo stand-in of the XMPP end-to-end tests.
 */
import { EventEmitter } from 'node:events';
import { client } from '@xmpp/client';
import xml, { type Element } from '@xmpp/xml';
import { Colibri2Error } from '../colibri2/errors.ts';
import type { ConferenceModifiedResponse, ConferenceModifyRequest } from '../colibri2/types.ts';
import type { Logger } from '../logger.ts';
import { NS_COLIBRI_STATS, NS_MUC } from './BreweryConnection.ts';
import { parseColibri2Error, parseConferenceModified, serializeConferenceModify } from '../colibri2/xml.ts';

/** A bridge seen in the brewery: its occupant JID and its last stats. */
export interface BridgeInfo {
  jid: string;
  stats: Record<string, string>;
}

/** Options of {@link RemoteBridgeClient}. */
export interface RemoteBridgeOptions {
  service: string;
  domain: string;
  username: string;
  password: string;
  /** The brewery room, e.g. `jvbbrewery@internal.auth.meet.test`. */
  brewery: string;
  nickname: string;
  /** IQ timeout, ms (Jicofo: 15 s). */
  timeoutMs?: number;
}

interface Events {
  bridgeUp: [BridgeInfo];
  bridgeDown: [string];
}

interface IqCaller {
  request(stanza: Element, timeout?: number): Promise<Element>;
}

/** See the module docstring. */
export class RemoteBridgeClient extends EventEmitter<Events> {
  readonly #opts: RemoteBridgeOptions;
  readonly #xmpp: ReturnType<typeof client>;
  readonly #bridges = new Map<string, BridgeInfo>();
  /** Which bridge each meeting is on (Jicofo keeps one bridge per conference here). */
  readonly #placement = new Map<string, string>();

  constructor(opts: RemoteBridgeOptions, log: Logger) {
    super();
    this.#opts = opts;
    this.#xmpp = client({ service: opts.service, domain: opts.domain, username: opts.username, password: opts.password, resource: opts.nickname });
    this.#xmpp.on('error', (err: Error) => log.warn({ err: err.message }, 'focus XMPP error'));
    this.#xmpp.on('online', () => {
      void this.#xmpp.send(xml('presence', { to: `${opts.brewery}/${opts.nickname}` }, xml('x', { xmlns: NS_MUC })));
    });
    this.#xmpp.on('stanza', (s: Element) => this.#onStanza(s));
  }

  /** Connect and join the brewery. */
  async start(): Promise<void> {
    await this.#xmpp.start();
  }

  async stop(): Promise<void> {
    await this.#xmpp.stop().catch(() => undefined);
  }

  /** Bridges currently in the brewery. */
  bridges(): BridgeInfo[] {
    return [...this.#bridges.values()];
  }

  /** Resolves with the first bridge seen (or the current one). */
  waitForBridge(timeoutMs = 10_000): Promise<BridgeInfo> {
    const first = this.bridges()[0];
    if (first) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no bridge in the brewery')), timeoutMs);
      this.once('bridgeUp', (b) => {
        clearTimeout(timer);
        resolve(b);
      });
    });
  }

  /**
   * Send any IQ and return the reply; an error reply rejects with xmpp.js's StanzaError
   * (`condition`, `text`, `element`).
   */
  iq(stanza: Element, timeoutMs = 10_000): Promise<Element> {
    return (this.#xmpp.iqCaller as unknown as IqCaller).request(stanza, timeoutMs);
  }

  #onStanza(s: Element): void {
    if (!s.is('presence')) return;
    const from = String(s.attrs.from ?? '');
    if (!from.startsWith(`${this.#opts.brewery}/`) || from.endsWith(`/${this.#opts.nickname}`)) return;
    if (s.attrs.type === 'unavailable') {
      if (this.#bridges.delete(from)) this.emit('bridgeDown', from);
      return;
    }
    const stats = s.getChild('stats', NS_COLIBRI_STATS);
    if (!stats) return;
    const values: Record<string, string> = {};
    for (const stat of stats.getChildren('stat')) values[String(stat.attrs.name)] = String(stat.attrs.value);
    const known = this.#bridges.has(from);
    const info = { jid: from, stats: values };
    this.#bridges.set(from, info);
    if (!known) this.emit('bridgeUp', info);
  }

  /** Jicofo's order: not draining, not in graceful shutdown, then lowest stress_level. */
  #select(): BridgeInfo | undefined {
    const score = (b: BridgeInfo): number =>
      (b.stats.drain !== 'false' ? 2 : 0) + (b.stats.graceful_shutdown === 'true' ? 4 : 0) + Math.min(1, Number(b.stats.stress_level ?? 0));
    return this.bridges().sort((a, b) => score(a) - score(b))[0];
  }

  /**
   * Send one conference-modify to the meeting's bridge (chosen on create, or `bridgeJid`).
   * @throws Colibri2Error parsed from the bridge's error IQ (condition + reason), or
   *   `service-unavailable` when no bridge is available / the IQ timed out.
   */
  async conferenceModify(req: ConferenceModifyRequest, bridgeJid?: string): Promise<ConferenceModifiedResponse> {
    let jid = bridgeJid ?? this.#placement.get(req.meetingId);
    if (!jid || !this.#bridges.has(jid)) {
      jid = this.#select()?.jid;
      if (!jid) throw new Colibri2Error('service-unavailable', 'no bridge available');
      this.#placement.set(req.meetingId, jid);
    }
    const iq = xml('iq', { type: 'get', to: jid }, serializeConferenceModify(req));
    let reply: Element;
    try {
      reply = await this.iq(iq, this.#opts.timeoutMs ?? 15_000);
    } catch (err) {
      const element = (err as { element?: Element }).element;
      if (element) throw parseColibri2Error(element);
      throw new Colibri2Error('service-unavailable', `no answer from ${jid}: ${(err as Error).message}`);
    }
    if (req.expire) this.#placement.delete(req.meetingId);
    const modified = reply.getChild('conference-modified', 'jitsi:colibri2');
    if (!modified) throw new Colibri2Error('internal-server-error', 'result without <conference-modified>');
    return parseConferenceModified(modified);
  }
}
