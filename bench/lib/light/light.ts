/**
 * A lightweight participant of the torture harness: werift peer connection(s) in Node that send
 * real VP8 (the recorded clip, vp8clip.ts; or the forwarding benchmark's synthetic VP8-shaped
 * packets with `--media synthetic`) and opus silence, and receive what the server forwards,
 * reassembling frames and counting loss, jitter, freezes per source (receive.ts), with NACK/RTX
 * and PLI as a browser would (peer.ts); or, with `AgentConfig.receive` `header`, counting them from
 * their clear RTP headers without SRTP decryption (headerReceive.ts, rtpTap.ts).
 *
 * Joining octobridge goes through the standalone room's focus WebSocket exactly like the page
 * (src/focus/page/app.js): `join` → `room` → `session-initiate` (Jingle JSON) → the remote offer
 * built by the page's own sdp.js (`jingleToSdp`) → werift's answer (simulcast: the page's
 * `mungeSimulcast`, three SSRCs in a SIM group) → `session-accept` (`answerToJingle`); then the
 * bridge channel (SCTP, stream 0) with `ReceiverVideoConstraints` (thumbnails at
 * `thumbnailHeight`, the first remote camera on stage at `stageHeight`, as Jitsi Meet's stage
 * view) and `SourceVideoTypeMessage`; the source maps tell which SSRC carries which source, and
 * `SenderSourceConstraints` turn the sender's layers on and off as the page does. A new
 * `session-initiate` (the bridge moved the endpoint after a worker died: ICE restart) replaces
 * the peer connection, as the page does.
 */
import sdpTransform from 'sdp-transform';
import { MediaStreamTrack, type RtpPacket } from 'werift';
import type { IceCandidate } from '../../../src/colibri2/types.ts';
import type { FocusMessage, JingleSession } from '../../../src/focus/protocol.ts';
import { openBridgeChannel, sourceMapEntries } from '../client.ts';
import { SyntheticStream, type PacedStream, type Pacer } from '../media.ts';
import { pageSdp } from '../pageSdp.ts';
import { FaultWatch, sampleOf, sourceReport } from './metrics.ts';
import { PeerSession, type SendSsrcs } from './peer.ts';
import { HeaderSourceReceiver } from './headerReceive.ts';
import { nowMs, SourceReceiver } from './receive.ts';
import type { RtpHeaderInfo } from './rtpTap.ts';
import type { AgentConfig, ParticipantReport, ParticipantSample, ParticipantSpec } from './types.ts';
import { Vp8ClipStream, type Vp8Clip } from './vp8clip.ts';

/** The synthetic profile (`--media synthetic`): the forwarding benchmark's defaults, 30 fps. */
const SYNTHETIC = { videoFps: 30, packetsPerFrame: 3, videoKbps: 600, keyframeInterval: 300, audioPps: 50, audioBytes: 80 };
/** Heights of the simulcast layers the light senders send (the clip's), low to high. */
const SYNTHETIC_HEIGHTS = [720];

/** A source's receive state: full (decrypted, receive.ts) or header-only (headerReceive.ts). */
type Receiver = SourceReceiver | HeaderSourceReceiver;

/** How the candidates of an offer are redirected through the impairment relay (impair.ts). */
export interface CandidateRewriter {
  rewrite(candidates: IceCandidate[]): Promise<IceCandidate[]>;
}

/** See the module docstring. */
export class LightParticipant {
  readonly spec: ParticipantSpec;
  readonly joinStartAt = nowMs();
  connectedAt: number | undefined;
  readonly errors: string[] = [];
  /** Display names of remote endpoints (bridge endpoint id → harness id). */
  readonly names = new Map<string, string>();
  readonly #cfg: AgentConfig;
  readonly #pacer: Pacer;
  readonly #receivers = new Map<string, Receiver>();
  readonly #ssrcs = new Map<PeerSession, Map<number, { rx: Receiver; rtx: boolean }>>();
  readonly #sessionOf = new Map<Receiver, PeerSession>();
  readonly #sessions: PeerSession[] = [];
  readonly #streams: PacedStream[] = [];
  readonly #heights: number[] = [];
  #active: boolean[] = [];
  #sendSession: PeerSession | undefined;
  #pacing = false;
  readonly #faults: Map<Receiver, FaultWatch>[] = [];
  #unknown = 0;
  #keyFrameRequests = 0;
  readonly #repair: NodeJS.Timeout;
  #closed = false;

  /**
   * @param clip the VP8 clip (media `vp8`); a single-stream sender sends its 360p layer, a
   *   simulcast sender all three
   */
  constructor(spec: ParticipantSpec, cfg: AgentConfig, pacer: Pacer, clip: Vp8Clip | undefined) {
    this.spec = spec;
    this.#cfg = cfg;
    this.#pacer = pacer;
    if (spec.send) {
      if (cfg.media === 'vp8' && clip) {
        const layers = cfg.simulcast ? clip.layers : clip.layers.slice(1, 2);
        for (const l of layers) {
          this.#streams.push(new Vp8ClipStream(l));
          this.#heights.push(l.height);
        }
      } else {
        this.#streams.push(new SyntheticStream(0, SYNTHETIC));
        this.#heights.push(...SYNTHETIC_HEIGHTS);
      }
      this.#active = this.#streams.map(() => true);
    }
    this.#repair = setInterval(() => this.#repairTick(), 20);
  }

  /** Whether it sends simulcast (three layers). */
  get simulcast(): boolean {
    return this.#streams.length > 1;
  }

  /** A new peer connection wired to this participant's receivers and senders. */
  newSession(): PeerSession {
    const s = new PeerSession(this.#cfg.localAddress);
    if (this.#cfg.receive === 'header') s.onRtpHeader = (h, t) => this.#onRtpHeader(s, h, t);
    else s.onRtp = (rtp, t) => this.#onRtp(s, rtp, t);
    s.onKeyFrameRequest = (layer) => {
      this.#keyFrameRequests += 1;
      this.#streams[layer]?.requestKeyFrame();
    };
    this.#sessions.push(s);
    this.#ssrcs.set(s, new Map());
    return s;
  }

  /** Close and forget a peer connection (replaced after an ICE restart). */
  async dropSession(s: PeerSession): Promise<void> {
    this.#ssrcs.delete(s);
    if (this.#sendSession === s) this.#sendSession = undefined;
    await s.close();
  }

  /** Send (if a sender) and receive through `s` with `ssrcs`; the streams start on the first call. */
  startSession(s: PeerSession, ssrcs: SendSsrcs): void {
    s.start(ssrcs);
    if (!this.spec.send || ssrcs.video.length === 0) return;
    this.#sendSession = s;
    if (this.#pacing) {
      for (const st of this.#streams) st.requestKeyFrame();
      return;
    }
    this.#pacing = true;
    this.#streams.forEach((stream, i) => {
      this.#pacer.add(
        stream,
        {
          sendVideo: (p) => {
            if (this.#active[i]) this.#sendSession?.sendVideo(i, p);
          },
          sendAudio: (p) => this.#sendSession?.sendAudio(p),
        },
        { audio: i === 0 },
      );
    });
  }

  /** SSRC `ssrc` of session `s` now carries `source` (of `owner`); `rtx`: it is that source's RTX. */
  announce(s: PeerSession, ssrc: number, kind: 'audio' | 'video', source: string, owner: string, rtx = false): void {
    const key = `${kind}:${source}`;
    let rx = this.#receivers.get(key);
    if (!rx) {
      rx = this.#cfg.receive === 'header' ? new HeaderSourceReceiver(source, owner, kind) : new SourceReceiver(source, owner, kind);
      this.#receivers.set(key, rx);
      const r = rx;
      rx.onDecoded = (t) => {
        for (const f of this.#faults) f.get(r)?.onFrame(t);
      };
    }
    rx.counters.owner = owner;
    this.#ssrcs.get(s)?.set(ssrc, { rx, rtx });
  }

  /**
   * The bridge's `SenderSourceConstraints` for this participant's camera: the layers whose
   * height is at most `maxHeight` stay on (always the lowest; none for 0; all for -1), as
   * lib-jitsi-meet's `calculateEncodingsActiveState`. A layer turned back on starts with a keyframe.
   */
  setSenderMaxHeight(maxHeight: number): void {
    const next = this.#heights.map((h, i) => maxHeight < 0 || (maxHeight > 0 && (i === 0 || h <= maxHeight)));
    next.forEach((on, i) => {
      if (on && !this.#active[i]) this.#streams[i]?.requestKeyFrame();
    });
    this.#active = next;
  }

  #onRtp(s: PeerSession, rtp: RtpPacket, t: number): void {
    const entry = this.#ssrcs.get(s)?.get(rtp.header.ssrc);
    if (!entry) {
      this.#unknown += 1;
      return;
    }
    const { rx, rtx } = entry;
    if (!(rx instanceof SourceReceiver)) return;
    this.#sessionOf.set(rx, s);
    const h = rtp.header;
    const bytes = h.serializeSize + rtp.payload.length;
    if (rtx) {
      // RTX without an original sequence number + payload is padding (bandwidth probing).
      if (rtp.payload.length <= 2) return;
      rx.onRtx(rtp.payload.readUInt16BE(0), h.timestamp, h.marker, rtp.payload.subarray(2), bytes, t);
    } else if (rtp.payload.length > 0) {
      rx.onPacket(h.ssrc, h.sequenceNumber, h.timestamp, h.marker, rtp.payload, bytes, t);
    }
  }

  #onRtpHeader(s: PeerSession, h: RtpHeaderInfo, t: number): void {
    const entry = this.#ssrcs.get(s)?.get(h.ssrc);
    if (!entry) {
      this.#unknown += 1;
      return;
    }
    const { rx, rtx } = entry;
    if (!(rx instanceof HeaderSourceReceiver)) return;
    if (this.#sessionOf.get(rx) !== s) this.#sessionOf.set(rx, s);
    if (rtx) rx.onRtx(h.timestamp, h.marker, h.padding, h.bytes, t);
    else rx.onPacket(h.ssrc, h.sequenceNumber, h.timestamp, h.marker, h.bytes, t);
  }

  #repairTick(): void {
    const t = nowMs();
    for (const rx of this.#receivers.values()) {
      const s = this.#sessionOf.get(rx);
      if (rx.counters.kind !== 'video' || !s || rx.ssrc === undefined) continue;
      const lost = rx.nacksDue(t);
      if (lost.length > 0) s.sendNack(rx.ssrc, lost);
      if (rx.keyFrameDue(t)) s.sendPli(rx.ssrc);
    }
  }

  /**
   * A fault happens at `at` (ms), lasting until `until` (a relay outage; default: an instant):
   * remember each video source's last frame before it (one watch per fault).
   */
  fault(at: number, until = at): void {
    const watches = new Map<Receiver, FaultWatch>();
    for (const rx of this.#receivers.values()) {
      if (rx.counters.kind === 'video') watches.set(rx, new FaultWatch(at, rx.counters.lastFrameAt, until));
    }
    this.#faults.push(watches);
  }

  /** First decoded remote video frame, ms. */
  get firstFrameAt(): number | undefined {
    let first: number | undefined;
    for (const rx of this.#receivers.values()) {
      const f = rx.counters.firstFrameAt;
      if (f !== undefined && (first === undefined || f < first)) first = f;
    }
    return first;
  }

  /** Cumulative counters now. */
  sample(t = nowMs()): ParticipantSample {
    const open = new Map([...this.#receivers.values()].map((rx) => [rx.counters, rx.freeze.openFreezeMs(t)] as const));
    return sampleOf(
      this.spec.id,
      this.connectedAt !== undefined,
      [...this.#receivers.values()].map((rx) => rx.counters),
      t,
      (c) => open.get(c) ?? 0,
    );
  }

  /** The report at the end of the run (`end`, ms). */
  report(end: number): ParticipantReport {
    const first = this.firstFrameAt;
    const sources = [...this.#receivers.values()].map((rx) => {
      const recovery = this.#faults.map((f) => f.get(rx)?.recoveryMs(rx.freeze.threshold() ?? 150));
      return sourceReport({ ...rx.counters }, end, rx.freeze.openFreezeMs(end), rx.counters.kind === 'video' ? recovery : []);
    });
    return {
      spec: this.spec,
      joinStartAt: this.joinStartAt,
      ...(this.connectedAt !== undefined ? { connectedAt: this.connectedAt } : {}),
      ...(first !== undefined ? { firstFrameAt: first } : {}),
      sources,
      ...(this.spec.send
        ? { sender: { keyFrameRequests: this.#keyFrameRequests, retransmitted: this.#sessions.reduce((n, s) => n + s.retransmitted, 0) } }
        : {}),
      unknownPackets: this.#unknown,
      sessions: this.#sessions.length,
      errors: this.errors,
    };
  }

  /** Stop sending and close every peer connection. Never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#repair);
    for (const st of this.#streams) this.#pacer.remove(st);
    await Promise.all(this.#sessions.map((s) => s.close()));
  }
}

/** The SSRCs of the first sending audio and video m-lines of an SDP (video: the SIM group's, low to high, with their FID RTX). */
export function sendSsrcsOf(sdp: string): SendSsrcs {
  const parsed = sdpTransform.parse(sdp);
  const out: SendSsrcs = { video: [] };
  const sending = (m: { direction?: string }): boolean => m.direction === 'sendrecv' || m.direction === 'sendonly';
  const audio = parsed.media.find((m) => m.type === 'audio' && sending(m));
  const a = audio?.ssrcs?.[0]?.id;
  if (a !== undefined) out.audio = Number(a);
  const video = parsed.media.find((m) => m.type === 'video' && sending(m));
  if (!video?.ssrcs?.length) return out;
  const groups = video.ssrcGroups ?? [];
  const fid = new Map(groups.filter((g) => g.semantics === 'FID').map((g) => g.ssrcs.split(' ').map(Number) as [number, number]));
  const sim = groups
    .find((g) => g.semantics === 'SIM')
    ?.ssrcs.split(' ')
    .map(Number);
  const primaries = sim ?? [Number(video.ssrcs[0]?.id)];
  out.video = primaries.map((ssrc) => ({ ssrc, ...(fid.get(ssrc) !== undefined ? { rtx: fid.get(ssrc) } : {}) }));
  return out;
}

/**
 * Join the standalone room `spec.room` of octobridge at `focusBase` (`ws://host:port/focus/`)
 * as the page does (module docstring). Resolves once the first peer connection is up and the
 * bridge channel is open; later session-initiates (ICE restarts) are handled in the background.
 * @throws Error when the focus refuses, the connection fails, or nothing happens within `timeoutMs`.
 */
export async function joinOctobridge(
  p: LightParticipant,
  focusBase: string,
  cfg: AgentConfig,
  relay?: CandidateRewriter,
  timeoutMs = 20_000,
): Promise<{ close(): void }> {
  const ws = new WebSocket(`${focusBase}${encodeURIComponent(p.spec.room)}`);
  let endpointId = '';
  let current: PeerSession | undefined;
  let queue = Promise.resolve();
  let stage: string | undefined;
  let channel: { send(text: string): void } | undefined;
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const first = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const timer = setTimeout(() => settle?.reject(new Error(`${p.spec.id}: not connected after ${timeoutMs} ms`)), timeoutMs);

  const constraints = (): void =>
    channel?.send(
      JSON.stringify({
        colibriClass: 'ReceiverVideoConstraints',
        lastN: -1,
        defaultConstraints: { maxHeight: cfg.thumbnailHeight },
        onStageSources: stage ? [stage] : [],
        constraints: stage ? { [stage]: { maxHeight: cfg.stageHeight } } : {},
      }),
    );

  const onChannel = (session: PeerSession, text: string): void => {
    const entries = sourceMapEntries(text);
    for (const e of entries) {
      if (e.owner === endpointId) continue;
      const owner = p.names.get(e.owner) ?? e.owner;
      p.announce(session, e.ssrc, e.kind, e.source, owner);
      if (e.rtx !== undefined) p.announce(session, e.rtx, e.kind, e.source, owner, true);
      if (e.kind === 'video' && e.owner && !stage) {
        stage = e.source;
        constraints();
      }
    }
    if (entries.length > 0) return;
    const m = JSON.parse(text) as { colibriClass?: string; sourceName?: string; maxHeight?: number };
    if (m.colibriClass === 'SenderSourceConstraints' && m.sourceName === `${endpointId}-v0` && typeof m.maxHeight === 'number')
      p.setSenderMaxHeight(m.maxHeight);
  };

  const sessionInitiate = async (jingle: JingleSession): Promise<void> => {
    if (current) await p.dropSession(current);
    channel = undefined;
    if (relay) {
      for (const c of jingle.contents) c.transport.candidates = await relay.rewrite(c.transport.candidates);
    }
    const s = p.newSession();
    current = s;
    await s.pc.setRemoteDescription({ type: 'offer', sdp: pageSdp.jingleToSdp(jingle, { sessionId: Date.now() }) });
    const used = new Set<string>();
    for (const t of s.pc.getTransceivers()) {
      const kind = t.kind as 'audio' | 'video';
      if (p.spec.send && !used.has(kind)) {
        used.add(kind);
        t.setDirection('sendrecv');
        await t.sender.replaceTrack(new MediaStreamTrack({ kind }));
      } else {
        t.setDirection('recvonly');
      }
    }
    await s.pc.setLocalDescription(await s.pc.createAnswer());
    const local = s.pc.localDescription?.sdp ?? '';
    const answer = p.spec.send && p.simulcast ? pageSdp.mungeSimulcast(local, pageSdp.createSimulcastCache()) : local;
    p.startSession(s, p.spec.send ? sendSsrcsOf(answer) : { video: [] });
    ws.send(JSON.stringify({ type: 'session-accept', jingle: pageSdp.answerToJingle(answer, { endpointId }) }));
    await s.connected();
    p.connectedAt ??= nowMs();
    const dc = await openBridgeChannel(s.pc, (text) => onChannel(s, text));
    channel = { send: (text) => void dc.send(text) };
    constraints();
    if (p.spec.send) channel.send(JSON.stringify({ colibriClass: 'SourceVideoTypeMessage', sourceName: `${endpointId}-v0`, videoType: 'camera' }));
    settle?.resolve();
  };

  ws.onopen = () => ws.send(JSON.stringify({ type: 'join', displayName: p.spec.id, ...(p.spec.region ? { region: p.spec.region } : {}) }));
  ws.onerror = () => settle?.reject(new Error(`${p.spec.id}: focus WebSocket error`));
  ws.onclose = (e) => {
    if (!p.connectedAt) settle?.reject(new Error(`${p.spec.id}: focus closed (${e.code} ${e.reason})`));
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as FocusMessage;
    if (m.type === 'room') {
      endpointId = m.endpointId;
      for (const x of m.participants) p.names.set(x.id, x.displayName);
    } else if (m.type === 'participant-joined') {
      p.names.set(m.participant.id, m.participant.displayName);
    } else if (m.type === 'session-initiate') {
      queue = queue
        .then(() => sessionInitiate(m.jingle))
        .catch((err: unknown) => {
          const msg = `session-initiate: ${(err as Error).message}`;
          p.errors.push(msg);
          settle?.reject(new Error(`${p.spec.id}: ${msg}`));
        });
    } else if (m.type === 'error' || m.type === 'session-terminate') {
      const msg = `${m.type}: ${m.type === 'error' ? m.message : m.reason}`;
      p.errors.push(msg);
      settle?.reject(new Error(`${p.spec.id}: ${msg}`));
    }
  };
  try {
    await first;
  } finally {
    clearTimeout(timer);
  }
  return { close: () => ws.close(1000, 'leave') };
}
