/**
 * Shapes shared by the torture harness's orchestrator, its client agents (child processes) and
 * its reports. Times are epoch ms ({@link nowMs} in receive.ts); rates are per second unless named.
 */
import type { RelayCounters } from './impair.ts';
import type { SourceCounters } from './receive.ts';

/** A participant of the run. */
export interface ParticipantSpec {
  /** Harness id, `c<conference>-p<index>` (also the display name). */
  id: string;
  /** Conference index (0-based). */
  conference: number;
  /** Room name (standalone room, or the Janus VideoRoom's description). */
  room: string;
  /** `light`: a werift client in an agent process; `chromium`: a headless Chromium tab on the standalone page. */
  kind: 'light' | 'chromium';
  /** Whether it sends audio + video (else it only receives). */
  send: boolean;
  /**
   * `--cascade`: the bridge region it joins through (the focus places it on that bridge; the page's
   * `?region=`, the join message's `region`). Undefined with one bridge.
   */
  region?: string;
}

/** Cumulative counters of one participant at one instant (the orchestrator diffs two of them). */
export interface ParticipantSample {
  id: string;
  at: number;
  /** Its media session is up (joined, connected). */
  connected: boolean;
  /** Remote video / audio sources with at least one packet. */
  videoStreams: number;
  audioStreams: number;
  /** Video sources that decoded a frame in the last 2 s (what the user sees moving). */
  liveVideoStreams: number;
  framesDecoded: number;
  freezeCount: number;
  /** Sum of the freezes' durations, ms. */
  freezesMs: number;
  /** Sum over video sources of the time since their first decoded frame, ms (the denominator of freeze rates). */
  streamMs: number;
  /** Media packets received and expected (loss = 1 - packets / expected), all sources. */
  packets: number;
  expected: number;
  bytes: number;
}

/** What a participant received from one remote source over the run. */
export interface SourceReport extends SourceCounters {
  /** Received bitrate (RTP header + payload, RTX included) from its first packet to the end, kbps. */
  kbps: number;
  /** Frames decoded per second from the first to the last frame. */
  fps: number;
  /** Freezes per minute of observed time (from its first frame to the end). */
  freezesPerMin: number;
  /** % of the observed time spent frozen (freezes still open at the end included). */
  frozenPct: number;
  /** % of the expected packets that never arrived (after RTX); and missing on first arrival. */
  lossPct: number;
  lossBeforeRtxPct: number;
  /**
   * Video, per fault of the run (results `faults`, same order): ms from the fault (its end, for
   * one that lasts: a relay outage) to the first frame after it when the source froze across it,
   * 0 when it did not freeze, null when no frame came after it, -1 when the source was not flowing
   * before it (metrics.ts FaultWatch).
   */
  recoveryMs?: (number | null)[];
}

/** One participant's report. */
export interface ParticipantReport {
  spec: ParticipantSpec;
  /** When it started joining (page navigation / focus WebSocket), ms. */
  joinStartAt: number;
  /** When its media session connected, ms. */
  connectedAt?: number;
  /** Its first decoded remote video frame, ms. */
  firstFrameAt?: number;
  /**
   * Join time: first decoded remote frame − max(join start, when the first remote sender of its
   * conference connected), ms; undefined when it decoded nothing (run.ts `joinTimes`).
   */
  joinMs?: number;
  /** Per remote source (video and audio). */
  sources: SourceReport[];
  /** Sender side: keyframe requests received, packets retransmitted. */
  sender?: { keyFrameRequests: number; retransmitted: number };
  /** Packets on SSRCs never announced to it. */
  unknownPackets: number;
  /** Sessions (peer connections) it had: more than 1 after an ICE restart. */
  sessions: number;
  errors: string[];
}

/** Options an agent needs for its participants. */
export interface AgentConfig {
  /** `octobridge` (standalone focus), `janus` (VideoRoom over the HTTP API) or `raw` (rawSfu.ts). */
  server: 'octobridge' | 'janus' | 'raw';
  /** Focus base URL (`ws://host:port/focus/`), Janus API URL (`http://ip:8088/janus`) or the raw SFU's (`ws://host:port/`). */
  url: string;
  /** Local address the clients use for ICE. */
  localAddress: string;
  media: 'vp8' | 'synthetic';
  /** The VP8 clip file (media `vp8`). */
  clipFile: string;
  simulcast: boolean;
  /** ReceiverVideoConstraints: thumbnails and the on-stage source, px. */
  thumbnailHeight: number;
  stageHeight: number;
  /**
   * Impairment between the clients and the server: drop probability 0..1 per packet and
   * direction that the run will use (the relay is set up when > 0, and starts at 0 until the
   * orchestrator sends `loss`).
   */
  loss: number;
  /**
   * How receivers read RTP: `full` (default) decrypts every SRTP packet in werift and reassembles
   * VP8 frames (receive.ts); `header` counts and times packets from their clear RTP header
   * without decrypting (headerReceive.ts: no keyframes or resolution, RTX not un-wrapped), at a
   * fraction of the CPU.
   */
  receive?: 'header' | 'full';
}

/**
 * The {@link AgentConfig} of light participants that join the standalone focus at `url` (`ws://host:port/focus/`)
 * from loopback with synthetic media (undecodable VP8/opus-shaped packets), no simulcast and no loss.
 */
export function syntheticAgentConfig(url: string): AgentConfig {
  return {
    server: 'octobridge',
    url,
    localAddress: '127.0.0.1',
    media: 'synthetic',
    clipFile: '',
    simulcast: false,
    thumbnailHeight: 180,
    stageHeight: 720,
    loss: 0,
  };
}

/** Orchestrator → agent. */
export type AgentCommand =
  | { type: 'join'; spec: ParticipantSpec }
  | { type: 'sample' }
  | { type: 'fault'; at: number; until?: number }
  | { type: 'loss'; loss: number }
  | { type: 'report'; end: number }
  | { type: 'close' };

/** Agent → orchestrator. */
export type AgentEvent =
  | { type: 'ready' }
  | { type: 'joined'; id: string; connectedAt: number }
  | { type: 'error'; id: string; message: string }
  | { type: 'sample'; samples: ParticipantSample[]; skippedFrames: number; eventLoopDelayMs: number }
  | { type: 'report'; reports: ParticipantReport[]; relay?: RelayCounters };
