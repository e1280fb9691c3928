/**
 * Media descriptions as Jingle carries them and colibri2 embeds them: payload types (XEP-0167), RTP header extensions
 * (XEP-0294), DTLS fingerprints (XEP-0320), ICE candidates (XEP-0176), sources and SSRC groups (XEP-0339). The same
 * layering as jitsi-xmpp-extensions, whose colibri2 classes reuse its `jingle` package: the colibri2 protocol
 * (`colibri2/`), the media layer (`media/`) and the focus (`focus/`) all speak these, and none of them has to know the
 * others.
 *
 * Field names follow the XML attribute / element names in camelCase.
 */

/** `audio` or `video` (Jingle `<description media>`; colibri2 `<media type>` / `<media-source type>`). */
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

/**
 * What an endpoint can send and receive of one kind: its payload types and header extensions (Jingle's RTP
 * `<description>`, XEP-0167; colibri2's `<media type>`). JVB only adds, never removes.
 */
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

/**
 * The video types JVB knows (`org.jitsi.nlj.VideoType`), in canonical (upper-case) spelling: the `videoType` of a
 * `<source>` (Jicofo sends them in lower case) and of the bridge channel's `SourceVideoTypeMessage` and
 * `VideoSourcesMap`. JVB also has a deprecated `NONE`, which it treats like `DISABLED` (`isEnabled()` is false for
 * both); it is read as `DISABLED` and never written.
 */
export const VIDEO_TYPES = ['CAMERA', 'DESKTOP', 'DESKTOP_HIGH_FPS', 'DISABLED'] as const;

/** One of {@link VIDEO_TYPES}. */
export type VideoType = (typeof VIDEO_TYPES)[number];

/**
 * Canonical {@link VideoType} for a wire string, case-insensitively (Jackson `ACCEPT_CASE_INSENSITIVE_ENUMS`);
 * the deprecated `NONE` maps to `DISABLED`. `undefined` for anything else, or nothing.
 */
export function normalizeVideoType(s: string | undefined): VideoType | undefined {
  const u = s?.toUpperCase();
  if (u === 'NONE') return 'DISABLED';
  return (VIDEO_TYPES as readonly (string | undefined)[]).includes(u) ? (u as VideoType) : undefined;
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

/** One named source, e.g. `79f0273e-v0`, with its SSRCs and groups (colibri2 `<media-source type id>`, XEP-0339 inside). */
export interface MediaSource {
  type: MediaType;
  /** The source name (`<endpointId>-a0`, `<endpointId>-v0`, `jvb-a0` ...). */
  id: string;
  synthetic?: boolean;
  sources: Source[];
  ssrcGroups: SsrcGroup[];
}
