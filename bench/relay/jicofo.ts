/**
 * The relay benchmark's Jicofo: one conference (one meeting id) spread over bridges that run in their own network
 * namespaces, driven over each bridge's colibri2 REST API (src/focus/RestColibri2Client.ts) with exactly Jicofo's
 * requests, as bench/lib/octobridge.ts does it in-process:
 *   - a participant: `conference-modify` create endpoint (`<media>` = what the werift client offers,
 *     ice-controlling, `<sctp/>`, source-names + ssrc-rewriting) → the session-initiate → the offer lib-jitsi-meet
 *     would apply → werift's answer → session-accept → the endpoint update with the client's transport and sources;
 *   - a relay between two bridges (src/focus/relays.ts, Jicofo's `addLinkBetween`): create on both (the first
 *     initiates), listing the participants behind it with their sources, then hand each answer to the other.
 */
import { randomUUID } from 'node:crypto';
import type { MediaSource } from '../../src/colibri2/types.ts';
import { expireRelayRequest, linkByRelay } from '../../src/focus/relays.ts';
import { RestColibri2Client } from '../../src/focus/RestColibri2Client.ts';
import { CLIENT_MEDIA, type BenchClient } from '../lib/client.ts';
import { allocateBenchClient } from '../lib/octobridge.ts';

/** A bridge of the conference: its relay id and its private REST server. */
export interface RelayBridge {
  relayId: string;
  /** e.g. `http://10.213.4.2:8080` */
  restUrl: string;
}

interface Participant {
  client: BenchClient;
  bridge: RelayBridge;
  sources: MediaSource[];
}

/** See the module docstring. */
export class RestJicofo {
  readonly meetingId = randomUUID();
  readonly #clients = new Map<string, RestColibri2Client>();
  readonly #created = new Set<string>();
  readonly #participants = new Map<string, Participant>();

  #client(b: RelayBridge): RestColibri2Client {
    let c = this.#clients.get(b.relayId);
    if (!c) {
      c = new RestColibri2Client(b.restUrl);
      this.#clients.set(b.relayId, c);
    }
    return c;
  }

  /**
   * Allocate `client` on `bridge`, negotiate, and wait until its transport is up; a receiver also opens the bridge
   * channel (octobridge forwards to it once the source maps went out there).
   */
  async add(bridge: RelayBridge, client: BenchClient): Promise<void> {
    const create = !this.#created.has(bridge.relayId);
    const update = await allocateBenchClient(this.#client(bridge), this.meetingId, client, { create, name: 'relaybench@conference.example.com' });
    this.#created.add(bridge.relayId);
    this.#participants.set(client.id, { client, bridge, sources: update.sources ?? [] });
    await client.connected();
    if (client.role === 'receiver') await client.openBridgeChannel();
  }

  /** Expire a participant's endpoint on its bridge (Jicofo, when it leaves). */
  async remove(client: BenchClient): Promise<void> {
    const p = this.#participants.get(client.id);
    if (!p) return;
    this.#participants.delete(client.id);
    await this.#client(p.bridge).conferenceModify({ meetingId: this.meetingId, endpoints: [{ id: client.id, expire: true }] });
  }

  /** The participants allocated on `bridge`, as a relay lists them. */
  #behind(bridge: RelayBridge): { id: string; statsId: string; sources: MediaSource[] }[] {
    return [...this.#participants.values()]
      .filter((p) => p.bridge.relayId === bridge.relayId)
      .map((p) => ({ id: p.client.id, statsId: p.client.id, sources: p.sources }));
  }

  /**
   * Link `a` (the initiator) and `b` by a relay, with the participants each has now.
   * @returns where each side's relay transport listens (from the answers' candidates), `ip:port`.
   */
  async link(a: RelayBridge, b: RelayBridge): Promise<{ a: string; b: string }> {
    const end = (x: RelayBridge) => ({ relayId: x.relayId, client: this.#client(x) });
    const { a: ta, b: tb } = await linkByRelay(this.meetingId, end(a), end(b), { a: this.#behind(a), b: this.#behind(b) }, CLIENT_MEDIA);
    const at = (t: typeof ta): string => `${t.ice.candidates[0]?.ip}:${t.ice.candidates[0]?.port}`;
    return { a: at(ta), b: at(tb) };
  }

  /** Expire the relay between `a` and `b` on both. */
  async unlink(a: RelayBridge, b: RelayBridge): Promise<void> {
    await this.#client(a).conferenceModify(expireRelayRequest(this.meetingId, b.relayId));
    await this.#client(b).conferenceModify(expireRelayRequest(this.meetingId, a.relayId));
  }
}
