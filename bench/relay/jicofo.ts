/**
 * The relay benchmark's Jicofo: one conference (one meeting id) spread over bridges that run in their own network
 * namespaces, driven over each bridge's colibri2 REST API (src/focus/RestColibri2Client.ts) with exactly Jicofo's
 * requests, as bench/forwarding/octobridge.ts does it in-process:
 *   - a participant: `conference-modify` create endpoint (`<media>` = what the werift client offers,
 *     ice-controlling, `<sctp/>`, source-names + ssrc-rewriting) → the session-initiate → the offer lib-jitsi-meet
 *     would apply → werift's answer → session-accept → the endpoint update with the client's transport and sources;
 *   - a relay between two bridges (src/focus/relays.ts, Jicofo's `addLinkBetween`): create on both (the first
 *     initiates), listing the participants behind it with their sources, then hand each answer to the other.
 */
import { randomUUID } from 'node:crypto';
import type { ConferenceModifyRequest, MediaSource } from '../../src/colibri2/types.ts';
import { buildSessionInitiate, sessionAcceptToColibri2 } from '../../src/focus/jingle.ts';
import { createRelayRequest, expireRelayRequest, setRelayTransportRequest } from '../../src/focus/relays.ts';
import { RestColibri2Client } from '../../src/focus/RestColibri2Client.ts';
import { CLIENT_MEDIA, type BenchClient } from '../forwarding/client.ts';
import { pageSdp as sdp } from '../forwarding/pageSdp.ts';

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
    const req: ConferenceModifyRequest = {
      meetingId: this.meetingId,
      ...(create ? { create: true, name: 'relaybench@conference.example.com' } : {}),
      endpoints: [
        {
          id: client.id,
          create: true,
          statsId: client.id,
          mucRole: 'participant',
          media: structuredClone(CLIENT_MEDIA),
          transport: { iceControlling: true, sctp: {} },
          capabilities: ['source-names', 'ssrc-rewriting'],
        },
      ],
    };
    const rest = this.#client(bridge);
    const allocation = await rest.conferenceModify(req);
    this.#created.add(bridge.relayId);
    const offer = sdp.jingleToSdp(buildSessionInitiate(allocation, client.id, CLIENT_MEDIA));
    const answer = await client.answer(offer);
    const update = sessionAcceptToColibri2(sdp.answerToJingle(answer, { endpointId: client.id }), client.id);
    await rest.conferenceModify({ meetingId: this.meetingId, endpoints: [update] });
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
    return [...this.#participants.values()].filter((p) => p.bridge.relayId === bridge.relayId).map((p) => ({ id: p.client.id, statsId: p.client.id, sources: p.sources }));
  }

  /**
   * Link `a` (the initiator) and `b` by a relay, with the participants each has now.
   * @returns where each side's relay transport listens (from the answers' candidates), `ip:port`.
   */
  async link(a: RelayBridge, b: RelayBridge): Promise<{ a: string; b: string }> {
    const ra = await this.#client(a).conferenceModify(createRelayRequest(this.meetingId, b.relayId, this.#behind(b), true, structuredClone(CLIENT_MEDIA)));
    const rb = await this.#client(b).conferenceModify(createRelayRequest(this.meetingId, a.relayId, this.#behind(a), false, structuredClone(CLIENT_MEDIA)));
    const ta = ra.relays?.[0]?.transport;
    const tb = rb.relays?.[0]?.transport;
    if (!ta || !tb) throw new Error(`no relay transport in ${ta ? b.relayId : a.relayId}'s answer`);
    await this.#client(a).conferenceModify(setRelayTransportRequest(this.meetingId, b.relayId, tb, true));
    await this.#client(b).conferenceModify(setRelayTransportRequest(this.meetingId, a.relayId, ta, false));
    const at = (t: typeof ta): string => `${t.ice.candidates[0]?.ip}:${t.ice.candidates[0]?.port}`;
    return { a: at(ta), b: at(tb) };
  }

  /** Expire the relay between `a` and `b` on both. */
  async unlink(a: RelayBridge, b: RelayBridge): Promise<void> {
    await this.#client(a).conferenceModify(expireRelayRequest(this.meetingId, b.relayId));
    await this.#client(b).conferenceModify(expireRelayRequest(this.meetingId, a.relayId));
  }
}
