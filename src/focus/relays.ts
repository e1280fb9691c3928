/**
 * Jicofo's colibri2 requests for relays between the bridges of one conference (shared/docs/relay.md §2;
 * jicofo `ColibriV2SessionManager.addLinkBetween`, `Colibri2Session.{createRelay, setRelayTransport, updateRelay,
 * expireRelay}`): the embedded focus uses them to cascade a standalone room over several octobridges, and tests use
 * them to play Jicofo.
 */
import type { ConferenceModifyRequest, Media, MediaSource, TransportResponse } from '../colibri2/types.ts';

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
export function createRelayRequest(meetingId: string, relayId: string, participants: readonly RelayedParticipant[], initiator: boolean, media: Media[]): ConferenceModifyRequest {
  return {
    meetingId,
    endpoints: [],
    relays: [
      {
        id: relayId,
        meshId: '0',
        create: true,
        media,
        endpoints: participants.map((p) => ({ id: p.id, create: true, ...(p.statsId ? { statsId: p.statsId } : {}), ...(p.sources ? { sources: p.sources } : {}) })),
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
