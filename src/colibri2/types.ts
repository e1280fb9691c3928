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

/** `audio` or `video` (colibri2 `<media type>` / `<media-source type>`). */
export type MediaType = 'audio' | 'video';

/** `<parameter name value>` inside `<payload-type>` (XEP-0167). `name` may be absent (RED's `111/111`). */
export interface PayloadTypeParameter {
  name?: string;
  value: string;
}

/** `<rtcp-fb type [subtype]>` (XEP-0293), e.g. `{type:'nack', subtype:'pli'}`, `{type:'transport-cc'}`. */
export interface RtcpFeedback {
  type: string;
  subtype?: string;
}

/** `<payload-type id name clockrate [channels]>` (XEP-0167). `clockrate` in Hz. */
export interface PayloadType {
  id: number;
  name: string;
  clockrate: number;
  channels?: number;
  parameters: PayloadTypeParameter[];
  rtcpFbs: RtcpFeedback[];
}

/** `<rtp-hdrext id uri>` (XEP-0294). */
export interface RtpHdrExt {
  id: number;
  uri: string;
}

/** `<media type>`: what the endpoint can send and receive of one kind. JVB only adds, never removes. */
export interface Media {
  type: MediaType;
  payloadTypes: PayloadType[];
  rtpHdrExts: RtpHdrExt[];
  extmapAllowMixed?: boolean;
}

/** DTLS `<fingerprint hash setup>` (XEP-0320). `setup`: `actpass` | `active` | `passive`. */
export interface Fingerprint {
  hash: string;
  value: string;
  setup?: 'actpass' | 'active' | 'passive';
  /** `cryptex='true'` (RFC 9335 header-extension encryption offered; DtlsFingerprintPacketExtension, JVB `CryptexConfig`). */
  cryptex?: boolean;
}

/** ICE `<candidate>` (XEP-0176). */
export interface IceCandidate {
  component: number;
  foundation: string;
  generation: number;
  id: string;
  network: number;
  priority: number;
  protocol: 'udp' | 'tcp';
  type: 'host' | 'srflx' | 'prflx' | 'relay';
  ip: string;
  port: number;
  relAddr?: string;
  relPort?: number;
  tcptype?: 'active' | 'passive' | 'so';
}

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

/** `<source ssrc [name] [videoType] [rid]>` with an optional `msid` parameter (ssma, XEP-0339). */
export interface Source {
  /** 32-bit unsigned SSRC. */
  ssrc: number;
  name?: string;
  videoType?: string;
  rid?: string;
  msid?: string;
}

/** `<ssrc-group semantics>`: `SIM` (simulcast layers, low to high), `FID` (primary, RTX), `FEC-FR`. */
export interface SsrcGroup {
  semantics: 'SIM' | 'FID' | 'FEC-FR';
  ssrcs: number[];
}

/** `<media-source type id>`: one named source, e.g. `79f0273e-v0`, with its SSRCs and groups. */
export interface MediaSource {
  type: MediaType;
  /** The source name (`<endpointId>-a0`, `<endpointId>-v0`, `jvb-a0` ...). */
  id: string;
  synthetic?: boolean;
  sources: Source[];
  ssrcGroups: SsrcGroup[];
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
