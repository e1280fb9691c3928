/**
 * Jicofo's colibri2 requests for relays between the bridges of one conference
 * (jicofo `ColibriV2SessionManager.addLinkBetween`, `Colibri2Session.{createRelay, setRelayTransport, updateRelay,
 * expireRelay}`): the embedded focus uses them to cascade a standalone room over several octobridges, and tests use
 * them to play Jicofo.
 */
import type { ConferenceModifyRequest, Media, MediaSource, TransportResponse } from '../colibri2/types.ts';
import type { Colibri2Client } from './Focus.ts';

/** A participant behind the other bridge, as Jicofo lists it in a relay (non-visitors only). */
export interface RelayedParticipant {
  id: string;
  statsId?: string;
  sources?: MediaSource[];
}

/**
 * Create the relay to the bridge with relay id `relayId`, listing the participants behind it. The initiator gets
 * `ice-controlling='true' use-unique-port='true'` and `<sctp role='client'/>`, the other side `false`/`false` and
 * `role='server'`. Mesh `0` (SingleMeshTopologyStrategy).
 */
export function createRelayRequest(
  meetingId: string,
  relayId: string,
  participants: readonly RelayedParticipant[],
  initiator: boolean,
  media: Media[],
): ConferenceModifyRequest {
  return {
    meetingId,
    endpoints: [],
    relays: [
      {
        id: relayId,
        meshId: '0',
        create: true,
        media,
        endpoints: participants.map((p) => ({
          id: p.id,
          create: true,
          ...(p.statsId ? { statsId: p.statsId } : {}),
          ...(p.sources ? { sources: p.sources } : {}),
        })),
        transport: { iceControlling: initiator, useUniquePort: initiator, sctp: { role: initiator ? 'client' : 'server' } },
      },
    ],
  };
}

/**
 * Hand the other bridge's relay answer to this one, without `<web-socket>`, the fingerprint's `setup` rewritten:
 * `passive` towards the initiator, `active` towards the other side.
 */
export function setRelayTransportRequest(meetingId: string, relayId: string, otherAnswer: TransportResponse, toInitiator: boolean): ConferenceModifyRequest {
  const { webSockets: _ws, ...ice } = otherAnswer.ice;
  return {
    meetingId,
    endpoints: [],
    relays: [{ id: relayId, transport: { ice: { ...ice, fingerprints: ice.fingerprints.map((f) => ({ ...f, setup: toInitiator ? 'passive' : 'active' })) } } }],
  };
}

/** Participants joined, changed sources, or left behind a relay. */
export function updateRelayEndpointsRequest(
  meetingId: string,
  relayId: string,
  endpoints: { id: string; create?: boolean; expire?: boolean; statsId?: string; sources?: MediaSource[] }[],
): ConferenceModifyRequest {
  return { meetingId, endpoints: [], relays: [{ id: relayId, endpoints }] };
}

/** Expire a whole relay. */
export function expireRelayRequest(meetingId: string, relayId: string): ConferenceModifyRequest {
  return { meetingId, endpoints: [], relays: [{ id: relayId, expire: true }] };
}

/** One end of a relay link: a bridge by its relay id, and how to reach it. */
export interface RelayEnd {
  relayId: string;
  client: Colibri2Client;
}

/**
 * Jicofo's `addLinkBetween`: create the relay on `a` (the initiator) and on `b`, each listing the participants behind
 * the other, then hand each answer to the other bridge. `onCreated` runs once both relays exist (before the
 * exchange), for a caller that must know what to expire if the exchange fails.
 * @returns each side's relay transport, as it answered.
 * @throws Colibri2Error from either bridge; Error when an answer has no relay transport.
 */
export async function linkByRelay(
  meetingId: string,
  a: RelayEnd,
  b: RelayEnd,
  behind: { a: readonly RelayedParticipant[]; b: readonly RelayedParticipant[] },
  media: Media[],
  onCreated?: () => void,
): Promise<{ a: TransportResponse; b: TransportResponse }> {
  const ra = await a.client.conferenceModify(createRelayRequest(meetingId, b.relayId, behind.b, true, structuredClone(media)));
  const rb = await b.client.conferenceModify(createRelayRequest(meetingId, a.relayId, behind.a, false, structuredClone(media)));
  onCreated?.();
  const ta = ra.relays?.[0]?.transport;
  const tb = rb.relays?.[0]?.transport;
  if (!ta || !tb) throw new Error(`no relay transport in ${ta ? b.relayId : a.relayId}'s answer`);
  await a.client.conferenceModify(setRelayTransportRequest(meetingId, b.relayId, tb, true));
  await b.client.conferenceModify(setRelayTransportRequest(meetingId, a.relayId, ta, false));
  return { a: ta, b: tb };
}
