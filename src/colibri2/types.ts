/**
 * The typed form of colibri2's `conference-modify` / `conference-modified` IQs
 * (namespace `jitsi:colibri2`, jitsi-xmpp-extensions `colibri2/*.java`).
 *
 * Every door into the bridge uses these shapes: the XMPP layer parses the IQ XML into a
 * {@link ConferenceModifyRequest} and serialises the {@link ConferenceModifiedResponse};
 * the standalone focus builds them directly. There is no second way to create an endpoint.
 *
 * Field names follow the XML attribute / element names in camelCase.
 */

// The Jingle-level parts colibri2 embeds (payload types, header extensions, DTLS fingerprints, ICE candidates,
// sources and SSRC groups) are declared in jingle/types.ts, as jitsi-xmpp-extensions' colibri2 reuses its jingle
// package.
export type {
  Fingerprint,
  IceCandidate,
  Media,
  MediaSource,
  MediaType,
  PayloadType,
  PayloadTypeParameter,
  RtcpFeedback,
  RtpHdrExt,
  Source,
  SsrcGroup,
} from '../jingle/types.ts';
import type { Fingerprint, IceCandidate, MediaSource, Media } from '../jingle/types.ts';

/** Inner `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag pwd>`. */
export interface IceUdpTransport {
  ufrag?: string;
  pwd?: string;
  /**
   * `ice-generation`: the ICE restart round these credentials belong to. JVB stamps it on the transport of a
   * pending in-place ICE restart only; Jicofo drops older rounds and treats an absent one as "kept the existing
   * agent" (ColibriV2SessionManager.endpointIceRestarted). Name from Jicofo's code comments, not yet in the stored
   * jitsi-xmpp-extensions source.
   */
  iceGeneration?: number;
  candidates: IceCandidate[];
  fingerprints: Fingerprint[];
  rtcpMux?: boolean;
  /** `<web-socket xmlns='http://jitsi.org/protocol/colibri' url>` elements (colibri-ws URLs). */
  webSockets?: string[];
}

/** colibri2 `<sctp role port>`. JVB accepts only role `server` (or unset) and port 5000 (or unset). */
export interface Sctp {
  role?: 'client' | 'server';
  port?: number;
}

/** Outer colibri2 `<transport ice-controlling use-unique-port>` of a request. */
export interface TransportRequest {
  iceControlling?: boolean;
  useUniquePort?: boolean;
  /** `ice-restart='true'`: ICE restart requested (newer Jicofo/JVB, colibri2 Transport.ICE_RESTART_ATTR_NAME). */
  iceRestart?: boolean;
  ice?: IceUdpTransport;
  sctp?: Sctp;
}

/** `<force-mute audio video>`. */
export interface ForceMute {
  audio?: boolean;
  video?: boolean;
}

/** Well-known `<capability name>` values. */
export const CAPABILITY_SOURCE_NAMES = 'source-names';
export const CAPABILITY_SSRC_REWRITING = 'ssrc-rewriting';
export const CAPABILITY_PRIVATE_ADDRESS_CONNECTIVITY = 'private-address-connectivity';
/** Newer Jicofo/JVB (Capability.CAP_RTP_MID_DEMUX_SUPPORT); JVB honours it only together with `ssrc-rewriting`. */
export const CAPABILITY_RTP_MID_DEMUX = 'rtp-mid-demux';

/** `<endpoint>` inside `<conference-modify>`. */
export interface EndpointModify {
  id: string;
  create?: boolean;
  expire?: boolean;
  statsId?: string;
  mucRole?: 'moderator' | 'participant' | 'visitor';
  media?: Media[];
  transport?: TransportRequest;
  /** Full replacement of the endpoint's sources when present (colibri2 semantics). */
  sources?: MediaSource[];
  forceMute?: ForceMute;
  capabilities?: string[];
  initialLastN?: number;
}

/** `<endpoint>` inside a `<relay>`: a participant behind the other bridge (Jicofo `Colibri2Session.Relay`). */
export interface RelayEndpointModify {
  id: string;
  create?: boolean;
  expire?: boolean;
  statsId?: string;
  /** Its sources (names; the SSRCs are the sender's, not what crosses an octobridge relay). */
  sources?: MediaSource[];
}

/**
 * `<relay id [mesh-id] [create] [expire]>` (colibri2 `Colibri2Relay`; Jicofo `Colibri2Session.createRelay`):
 * the link to another bridge of the conference, `id` being that bridge's relay id.
 */
export interface RelayModify {
  id: string;
  meshId?: string;
  create?: boolean;
  expire?: boolean;
  media?: Media[];
  endpoints?: RelayEndpointModify[];
  transport?: TransportRequest;
}

/** `<conference-modify meeting-id [name] [create] [expire] [rtcstats-enabled]>`. */
export interface ConferenceModifyRequest {
  meetingId: string;
  /** The conference MUC JID, e.g. `room1@conference.example.com` (logs and stats only). */
  name?: string;
  create?: boolean;
  expire?: boolean;
  rtcstatsEnabled?: boolean;
  endpoints: EndpointModify[];
  /** At most one (JVB refuses more, and relays mixed with endpoints). */
  relays?: RelayModify[];
}

/** `<transport>` of an `<endpoint>` in `<conference-modified>`: present only on create / ICE restart. */
export interface TransportResponse {
  ice: IceUdpTransport & { ufrag: string; pwd: string };
  sctp?: { port: number; role: 'server' | 'client' };
}

/** `<endpoint>` inside `<conference-modified>`. */
export interface EndpointModified {
  id: string;
  expire?: boolean;
  transport?: TransportResponse;
}

/** `<relay>` inside `<conference-modified>`: the transport on create only. */
export interface RelayModified {
  id: string;
  expire?: boolean;
  transport?: TransportResponse;
}

/** `<conference-modified>`; `sources` are the bridge's feedback sources (`jvb-a0`, `jvb-v0`), sent on create. */
export interface ConferenceModifiedResponse {
  endpoints: EndpointModified[];
  relays?: RelayModified[];
  sources?: MediaSource[];
}
