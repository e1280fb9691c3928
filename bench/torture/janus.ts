/**
 * The lightweight participants (light.ts: same media, same frame tracking, NACK and PLI) joining
 * Janus VideoRoom (janusServer.ts starts it) over its HTTP API, for `--janus`:
 *
 * - every participant joins room `<conference + 1>` as a publisher (display = its harness id);
 *   a sender publishes audio + video from a werift offer (`sendonly`, one VP8 stream: no simulcast
 *   here) and Janus answers;
 * - every participant subscribes to all other publishers of its room on one subscriber handle
 *   (Janus 1.x multistream: `join` as subscriber with `streams`, later `update` with `subscribe`
 *   when a publisher appears); Janus offers, werift answers `recvonly`, `start`. The SSRCs of the
 *   offer's m-lines and the event's `streams` (mid → feed display) say which source is which.
 *
 * Events come from one long poll per session (`GET /janus/<session>?maxev=10`).
 */
import sdpTransform from 'sdp-transform';
import { sendSsrcsOf, type LightParticipant } from '../lib/light/light.ts';
import type { PeerSession } from '../lib/light/peer.ts';
import { nowMs } from '../lib/light/receive.ts';

/** A Janus API message or event. */
interface JanusMessage {
  janus: string;
  transaction?: string;
  sender?: number;
  data?: { id: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> & { videoroom?: string; error?: string } };
  jsep?: { type: 'offer' | 'answer'; sdp: string };
}

/** One Janus session with its long poll: requests, and events by handle. */
class JanusSession {
  readonly #url: string;
  #id = 0;
  #tx = 0;
  #closed = false;
  readonly #pending = new Map<string, (m: JanusMessage) => void>();
  /** Unsolicited events by handle. */
  readonly handlers = new Map<number, (m: JanusMessage) => void>();

  constructor(url: string) {
    this.#url = url;
  }

  async #post(pathSuffix: string, body: Record<string, unknown>): Promise<JanusMessage> {
    const transaction = `t${++this.#tx}`;
    const res = await fetch(`${this.#url}${pathSuffix}`, {
      method: 'POST',
      body: JSON.stringify({ ...body, transaction }),
      signal: AbortSignal.timeout(10_000),
    });
    const m = (await res.json()) as JanusMessage;
    if (m.janus === 'error') throw new Error(`janus: ${m.error?.reason ?? 'error'}`);
    return { ...m, transaction };
  }

  /** Create the session and start polling. */
  async create(): Promise<void> {
    this.#id = (await this.#post('', { janus: 'create' })).data?.id ?? 0;
    void this.#poll();
  }

  async #poll(): Promise<void> {
    while (!this.#closed) {
      let events: JanusMessage[];
      try {
        const res = await fetch(`${this.#url}/${this.#id}?maxev=10`, { signal: AbortSignal.timeout(40_000) });
        const body = (await res.json()) as JanusMessage | JanusMessage[];
        events = Array.isArray(body) ? body : [body];
      } catch {
        if (this.#closed) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      for (const e of events) {
        const waiter = e.transaction ? this.#pending.get(e.transaction) : undefined;
        if (waiter && e.janus === 'event') {
          this.#pending.delete(e.transaction as string);
          waiter(e);
        } else if (e.sender !== undefined) {
          this.handlers.get(e.sender)?.(e);
        }
      }
    }
  }

  /** Attach the VideoRoom plugin; returns the handle id. */
  async attach(): Promise<number> {
    return (await this.#post(`/${this.#id}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data?.id ?? 0;
  }

  /**
   * A plugin request; resolves with the plugin's answer (synchronous) or its event (asynchronous).
   * @throws Error when Janus or the plugin answers with an error, or no event comes within 15 s.
   */
  async message(handle: number, body: Record<string, unknown>, jsep?: { type: string; sdp: string }): Promise<JanusMessage> {
    const transaction = `t${++this.#tx}`;
    const event = new Promise<JanusMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`janus: no answer to ${String(body.request)}`)), 15_000);
      this.#pending.set(transaction, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    const res = await fetch(`${this.#url}/${this.#id}/${handle}`, {
      method: 'POST',
      body: JSON.stringify({ janus: 'message', transaction, body, ...(jsep ? { jsep } : {}) }),
      signal: AbortSignal.timeout(10_000),
    });
    const m = (await res.json()) as JanusMessage;
    if (m.janus === 'error') throw new Error(`janus: ${m.error?.reason ?? 'error'}`);
    if (m.janus === 'success') this.#pending.delete(transaction);
    const answer = m.janus === 'success' ? m : await event;
    const err = answer.plugindata?.data.error;
    if (err) throw new Error(`videoroom ${String(body.request)}: ${err}`);
    return answer;
  }

  /** Tell Janus the client's candidates are all in the SDP. */
  async trickleDone(handle: number): Promise<void> {
    await this.#post(`/${this.#id}/${handle}`, { janus: 'trickle', candidate: { completed: true } });
  }

  /** Destroy the session (Janus hangs up its handles) and stop polling. Never throws. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#post(`/${this.#id}`, { janus: 'destroy' }).catch(() => undefined);
  }
}

/** A publisher as VideoRoom lists it. */
interface Publisher {
  id: number;
  display?: string;
}

/**
 * Join Janus VideoRoom at `url` (its HTTP API) as the module docstring says. Resolves once the
 * participant's publisher connection (if it sends) and its subscription (if anyone else
 * publishes) are up; publishers appearing later are subscribed to in the background.
 * @throws Error when Janus refuses or a connection does not come up within `timeoutMs`.
 */
export async function joinJanus(p: LightParticipant, url: string, timeoutMs = 20_000): Promise<{ close(): void }> {
  const janus = new JanusSession(url);
  await janus.create();
  const room = Number(p.spec.room.replace(/^\D+/, '')) + 1;
  const pub = await janus.attach();
  const feeds = new Map<number, string>();
  let sub: { handle: number; session: PeerSession } | undefined;
  let queue = Promise.resolve();

  /** Apply a subscriber offer: (re)negotiate, announce the SSRCs of each feed's m-lines, start. */
  const applyOffer = async (handle: number, session: PeerSession, m: JanusMessage): Promise<void> => {
    const offer = m.jsep?.sdp;
    if (!offer) throw new Error('janus: subscriber event without an offer');
    const streams = (m.plugindata?.data.streams ?? []) as { mid: string; type: string; feed_display?: string; feed_id?: number }[];
    await session.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    for (const t of session.pc.getTransceivers()) t.setDirection('recvonly');
    await session.pc.setLocalDescription(await session.pc.createAnswer());
    p.startSession(session, { video: [] });
    for (const media of sdpTransform.parse(offer).media) {
      const st = streams.find((x) => x.mid === String(media.mid));
      const owner = st?.feed_display ?? (st?.feed_id !== undefined ? feeds.get(st.feed_id) : undefined);
      if (!owner || (media.type !== 'audio' && media.type !== 'video')) continue;
      const fid = (media.ssrcGroups ?? [])
        .find((g) => g.semantics === 'FID')
        ?.ssrcs.split(' ')
        .map(Number);
      const primary = fid?.[0] ?? Number(media.ssrcs?.[0]?.id);
      if (!primary) continue;
      p.announce(session, primary, media.type, `${owner}-${media.type === 'audio' ? 'a0' : 'v0'}`, owner);
      if (fid?.[1]) p.announce(session, fid[1], media.type, `${owner}-v0`, owner, true);
    }
    await janus.message(handle, { request: 'start' }, { type: 'answer', sdp: session.pc.localDescription?.sdp ?? '' });
  };

  /** Subscribe to `publishers` (new ones): the first time a subscriber handle, later an update. */
  const subscribe = async (publishers: Publisher[]): Promise<void> => {
    const fresh = publishers.filter((x) => !feeds.has(x.id) && x.display !== p.spec.id);
    if (fresh.length === 0) return;
    for (const x of fresh) feeds.set(x.id, x.display ?? String(x.id));
    const streams = fresh.map((x) => ({ feed: x.id }));
    if (!sub) {
      const handle = await janus.attach();
      const session = p.newSession();
      sub = { handle, session };
      const s = sub;
      janus.handlers.set(handle, (ev) => {
        if (ev.jsep?.type === 'offer')
          queue = queue.then(() => applyOffer(s.handle, s.session, ev)).catch((err: unknown) => void p.errors.push(`janus update: ${(err as Error).message}`));
      });
      const attached = await janus.message(handle, { request: 'join', ptype: 'subscriber', room, streams });
      await applyOffer(handle, session, attached);
      await session.connected(timeoutMs);
    } else {
      const updated = await janus.message(sub.handle, { request: 'update', subscribe: streams });
      if (updated.jsep) await applyOffer(sub.handle, sub.session, updated);
    }
  };

  janus.handlers.set(pub, (ev) => {
    const pubs = ev.plugindata?.data.publishers as Publisher[] | undefined;
    if (pubs?.length) queue = queue.then(() => subscribe(pubs)).catch((err: unknown) => void p.errors.push(`janus subscribe: ${(err as Error).message}`));
  });
  const joined = await janus.message(pub, { request: 'join', ptype: 'publisher', room, display: p.spec.id });
  if (p.spec.send) {
    const s = p.newSession();
    s.pc.addTransceiver('audio', { direction: 'sendonly' });
    s.pc.addTransceiver('video', { direction: 'sendonly' });
    await s.pc.setLocalDescription(await s.pc.createOffer());
    const offer = s.pc.localDescription?.sdp ?? '';
    const answer = await janus.message(pub, { request: 'publish', audio: true, video: true }, { type: 'offer', sdp: offer });
    if (!answer.jsep) throw new Error('janus: publish without an answer');
    await s.pc.setRemoteDescription(answer.jsep);
    await janus.trickleDone(pub);
    p.startSession(s, sendSsrcsOf(offer));
    await s.connected(timeoutMs);
    p.connectedAt ??= nowMs();
  }
  queue = queue.then(() => subscribe((joined.plugindata?.data.publishers ?? []) as Publisher[]));
  await queue;
  p.connectedAt ??= nowMs();
  return { close: () => void janus.close() };
}
