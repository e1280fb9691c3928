/**
 * Types of the media layer's typed API. Nothing here mentions mediasoup: protocol code
 * (colibri2/, channel/, focus/) speaks in endpoints, sources, SSRCs, layers and bps.
 */
import type { Fingerprint, IceCandidate, MediaType } from '../jingle/types.ts';

/** This bridge's side of an endpoint's transport, for the colibri2 answer. */
export interface LocalTransport {
  ufrag: string;
  pwd: string;
  /** Host candidates on the single shared port (and ICE-TCP when enabled). */
  candidates: IceCandidate[];
  /** DTLS fingerprints (sha-256 first); the colibri2 answer says `setup='actpass'`. */
  fingerprints: Fingerprint[];
}

/** ICE state of an endpoint's transport (mediasoup `IceState`, ICE-lite). */
export type IceState = 'new' | 'connected' | 'completed' | 'disconnected' | 'closed';
/** DTLS state of an endpoint's transport. */
export type DtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

/**
 * Which of an endpoint's kinds the bridge drops at the transport (JVB `Endpoint.updateForceMute`): the sender is
 * muted by the moderator and its packets for that kind are not forwarded.
 */
export interface ForceMute {
  audio?: boolean;
  video?: boolean;
}

/** Video type of a source, as in `SourceVideoTypeMessage` / `VideoSourcesMap`. */
import type { VideoType } from '../jingle/types.ts';
export type { VideoType };

/**
 * A source forwarded to one receiver, with the SSRCs the receiver sees (bridge-chosen:
 * mediasoup consumers always get new SSRCs). One entry of `AudioSourcesMap`/`VideoSourcesMap`.
 */
export interface MappedSource {
  /** Source name, e.g. `79f0273e-v0`. */
  source: string;
  /** Sending endpoint id. */
  owner: string;
  kind: MediaType;
  ssrc: number;
  /** RTX SSRC (video), when the receiver negotiated RTX. */
  rtx?: number;
  videoType?: VideoType;
}

/**
 * The SSRCs a receiver without SSRC rewriting knows a source by: the sender's own primary SSRC (the first of its SIM
 * group) and that SSRC's FID (RTX) partner, what Jicofo's `source-add` carries with simulcast stripped
 * (jicofo `EndpointSourceSet.stripSimulcast`).
 */
export interface SignalledSsrcs {
  ssrc: number;
  rtx?: number;
}

/** How one source is forwarded to one receiver: the allocator's output, applied by media/. */
export interface ForwardingDecision {
  paused: boolean;
  /** Simulcast spatial layer index (0 = lowest); omitted = highest. */
  spatialLayer?: number;
  /** Temporal layer index; omitted = highest. */
  temporalLayer?: number;
  /**
   * mediasoup consumer priority 1..255: when the transport's estimate drops below what the
   * allocation planned, mediasoup lowers the low-priority consumers' layers first.
   */
  priority?: number;
}

/** Per-endpoint traffic counters (from mediasoup transport stats). */
export interface EndpointTraffic {
  bytesReceived: number;
  bytesSent: number;
  /** Incoming bitrate, bps. */
  recvBitrate: number;
  /** Outgoing bitrate, bps. */
  sendBitrate: number;
  /** transport-cc send-side estimate towards this endpoint, bps (0 before any). */
  availableOutgoingBitrate: number;
}

/** Summed traffic of all endpoints (MediaEngine.traffic). Bytes/packets since start; bitrates in bps. */
export interface EngineTraffic {
  bytesReceived: number;
  bytesSent: number;
  recvBitrate: number;
  sendBitrate: number;
  packetsReceived: number;
  packetsSent: number;
  /** Packets lost on the way in (producer RTP streams, cumulative). */
  packetsLostReceived: number;
  /** Packets lost on the way out (consumers, from the receivers' RTCP reports, cumulative). */
  packetsLostSent: number;
  /** Sum and count of the consumers' round-trip times, ms (for an average). */
  rttSumMs: number;
  rttCount: number;
}
