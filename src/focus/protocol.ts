/**
 * Signalling between the standalone page and the embedded focus (octobridge's stand-in for
 * Jicofo + the MUC). JSON text frames over a WebSocket at `/focus/<room>`.
 *
 * The session messages carry Jingle (XEP-0166/0167/0176/0320, Jitsi extensions) as JSON that
 * mirrors the XML element for element, so the page can build its SDP exactly the way
 * lib-jitsi-meet builds it from Jingle (modules/sdp/SDP.ts `fromJingle`), and the focus can turn
 * the page's answer into a colibri2 update exactly the way Jicofo does (Colibri2Session.kt).
 */
import type { Fingerprint, IceCandidate, PayloadType, RtpHdrExt, Source, SsrcGroup } from '../colibri2/types.ts';

/** `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>` of a Jingle content. */
export interface JingleTransport {
  ufrag: string;
  pwd: string;
  candidates: IceCandidate[];
  fingerprints: Fingerprint[];
  rtcpMux?: boolean;
  /** colibri-ws URLs (`<web-socket xmlns='http://jitsi.org/protocol/colibri' url>`). */
  webSockets?: string[];
  /** `<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number protocol streams>` (data content only). */
  sctpmap?: { number: number; protocol: string; streams: number };
}

/** A source as signalled in Jingle: ssma `<source>` plus Jitsi's `<ssrc-info owner>`. */
export interface JingleSource extends Source {
  /** Owning endpoint id, or `jvb` for the bridge's feedback sources. */
  owner?: string;
}

/** `<description xmlns='urn:xmpp:jingle:apps:rtp:1' media>`. */
export interface JingleDescription {
  media: 'audio' | 'video' | 'application';
  payloadTypes: PayloadType[];
  rtpHdrExts: RtpHdrExt[];
  extmapAllowMixed?: boolean;
  rtcpMux?: boolean;
  sources: JingleSource[];
  ssrcGroups: SsrcGroup[];
}

/** `<content creator name senders>`. Jicofo's names: `audio`, `video`, `data`. */
export interface JingleContent {
  name: string;
  creator: 'initiator' | 'responder';
  senders: 'both' | 'initiator' | 'responder' | 'none';
  description: JingleDescription;
  transport: JingleTransport;
}

/** The body of `session-initiate` / `session-accept`. */
export interface JingleSession {
  contents: JingleContent[];
  /** `<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'>`. */
  groups: { semantics: 'BUNDLE'; contents: string[] }[];
}

/**
 * The sources of one `<content>` of a Jingle `source-add` / `source-remove` (its `<description media>` with ssma
 * `<source>`s, each with `<ssrc-info owner>`, and `<ssrc-group>`s), as Jicofo sends them to a participant without
 * SSRC rewriting (`JingleSession.addSource` / `removeSource`).
 */
export interface JingleSourcesContent {
  media: 'audio' | 'video';
  sources: JingleSource[];
  ssrcGroups: SsrcGroup[];
}

/** A participant of the room as the MUC would show it. */
export interface Participant {
  id: string;
  displayName: string;
  /**
   * The video codecs the participant decodes, in its preference order, lower case (`av1`, `vp9`, `vp8`, `h264`): what
   * LJM announces in MUC presence as `jitsi_participant_codecList`. Empty when it announces none.
   */
  codecList: string[];
}

/** Focus → page. */
export type FocusMessage =
  /** First message: who you are and who is here (MUC self-presence + occupants). */
  | { type: 'room'; room: string; endpointId: string; participants: Participant[] }
  /** The offer: Jicofo's session-initiate built from the bridge's conference-modified. */
  | { type: 'session-initiate'; jingle: JingleSession }
  | { type: 'participant-joined'; participant: Participant }
  /**
   * Other participants' sources, for a participant without SSRC rewriting only (Jicofo `Participant.addRemoteSources`
   * / `removeRemoteSources`): their own SSRCs, simulcast stripped to the first SSRC of the SIM group and its FID
   * partner. A participant with SSRC rewriting learns sources from the bridge's source maps instead.
   */
  | { type: 'source-add' | 'source-remove'; contents: JingleSourcesContent[] }
  | { type: 'participant-left'; id: string }
  /** The bridge expired this endpoint or the focus ended the session. */
  | { type: 'session-terminate'; reason: string }
  | { type: 'error'; message: string };

/** Page → focus. */
export type PageMessage =
  /** First message: join the room (URL path names the room). */
  /**
   * `ssrcRewriting: false`: lib-jitsi-meet with `flags.ssrcRewritingEnabled = false`, which then does not announce
   * the `http://jitsi.org/ssrc-rewriting-1` feature; Jicofo allocates it without the colibri2 `ssrc-rewriting`
   * capability and signals the others' sources over Jingle.
   */
  | { type: 'join'; displayName: string; region?: string; codecList?: string[]; ssrcRewriting?: false }
  /** The answer (lib-jitsi-meet `SDP.toJingle`): transport with `setup='active'` fingerprint, and sources. */
  | { type: 'session-accept'; jingle: JingleSession }
  /** Local sources changed (lib-jitsi-meet sends source-add / source-remove). */
  | { type: 'source-update'; jingle: JingleSession }
  /**
   * The page ends its session (lib-jitsi-meet `JingleSessionPC.terminate`: `<session-terminate>` with `<reason>`);
   * `restart`: it asks for a new one (`<bridge-session restart='true'>`, sent by `IceFailedHandling` when ICE failed).
   */
  | { type: 'session-terminate'; reason: string; restart: boolean };
