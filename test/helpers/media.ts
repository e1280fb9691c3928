/**
 * Checks on what a browser participant of the standalone page receives, through its test hook
 * (`window.octobridge`) and `RTCPeerConnection.getStats()`. Works for Chromium (playwright) and
 * Firefox (puppeteer) pages alike: both only need `evaluate` of an expression string.
 */
import { expect } from 'vitest';

/** A browser participant as the checks see it. */
export interface PagePeer {
  name: string;
  /** Console lines of the page (shown when a wait times out). */
  console: string[];
  /** Evaluate a JavaScript expression in the page (a promise is awaited). */
  evaluate<T>(expression: string): Promise<T>;
}

/** The getStats entries the checks read (the same field names in Firefox and Chromium). */
export interface RtcStats {
  inbound: { kind: string; ssrc: number; framesDecoded: number; frameWidth: number; packetsReceived: number }[];
  transport: { iceRole?: string; dtlsRole?: string; dtlsState?: string }[];
  dataChannels: { label: string; protocol: string; state: string; dataChannelIdentifier: number }[];
}

/**
 * Poll `probe` every 200 ms until `ok`; on timeout fail with the last value, what `explain` says (e.g. the sender's
 * {@link uplink}) and the page console (if a page).
 */
export async function until<T>(
  what: string,
  peer: PagePeer | undefined,
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 20_000,
  explain?: () => Promise<string>,
): Promise<T> {
  const start = Date.now();
  let last: T | undefined;
  while (Date.now() - start < timeoutMs) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  const page = peer ? `\npage console of ${peer.name}:\n${peer.console.slice(-30).join('\n')}` : '';
  const why = explain ? `\n${await explain().catch((e: unknown) => `(explain failed: ${String(e)})`)}` : '';
  throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(last, mapsAsObjects)}${why}${page}`);
}

/** A JSON.stringify replacer that writes Maps and Sets with their contents (plain JSON writes them as `{}`). */
function mapsAsObjects(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/** The peer connection's inbound-rtp, transport and data-channel stats. */
export function rtcStats(peer: PagePeer): Promise<RtcStats> {
  return peer.evaluate<RtcStats>(`(async () => {
    const out = { inbound: [], transport: [], dataChannels: [] };
    const pc = window.octobridge && window.octobridge.pc;
    if (!pc) return out;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') {
        out.inbound.push({ kind: String(s.kind), ssrc: Number(s.ssrc), framesDecoded: Number(s.framesDecoded ?? 0),
          frameWidth: Number(s.frameWidth ?? 0), packetsReceived: Number(s.packetsReceived ?? 0) });
      } else if (s.type === 'transport') {
        out.transport.push({ iceRole: s.iceRole, dtlsRole: s.dtlsRole, dtlsState: s.dtlsState });
      } else if (s.type === 'data-channel') {
        out.dataChannels.push({ label: s.label, protocol: s.protocol, state: s.state, dataChannelIdentifier: s.dataChannelIdentifier });
      }
    });
    return out;
  })()`);
}

/** A received video stream (inbound-rtp) with its codec's MIME type (`video/VP9`). */
export interface VideoInbound {
  ssrc: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
  codec: string;
}

/** A sent video stream (outbound-rtp): its encoded height, scalability mode and codec's MIME type. */
export interface VideoOutbound {
  frameHeight: number;
  scalabilityMode: string;
  codec: string;
  bytesSent: number;
  framesEncoded: number;
  /** Why the encoder sends less than it was asked (`none`, `cpu`, `bandwidth`, `other`). */
  qualityLimitationReason: string;
}

/** The peer connection's video inbound-rtp and outbound-rtp stats, each with its codec (getStats `codecId`). */
export function videoRtp(peer: PagePeer): Promise<{ inbound: VideoInbound[]; outbound: VideoOutbound[] }> {
  return peer.evaluate(`(async () => {
    const out = { inbound: [], outbound: [] };
    const pc = window.octobridge && window.octobridge.pc;
    if (!pc) return out;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.kind !== 'video') return;
      const codec = stats.get(s.codecId)?.mimeType ?? '';
      if (s.type === 'inbound-rtp') {
        out.inbound.push({ ssrc: s.ssrc, framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0,
          bytesReceived: s.bytesReceived ?? 0, codec });
      } else if (s.type === 'outbound-rtp') {
        out.outbound.push({ frameHeight: s.frameHeight ?? 0, scalabilityMode: s.scalabilityMode ?? '', codec, bytesSent: s.bytesSent ?? 0,
          framesEncoded: s.framesEncoded ?? 0, qualityLimitationReason: s.qualityLimitationReason ?? '' });
      }
    });
    return out;
  })()`);
}

/**
 * What a sender's uplink allows, for a failure message: its send-side estimate (the selected candidate pair's
 * `availableOutgoingBitrate`, kbps) and each outbound video stream's height and quality limitation.
 */
export async function uplink(peer: PagePeer): Promise<string> {
  const [estimate, { outbound }] = await Promise.all([
    peer.evaluate<number>(`(async () => {
      let bps = 0;
      const pc = window.octobridge && window.octobridge.pc;
      if (pc) (await pc.getStats()).forEach((s) => { if (s.type === 'candidate-pair' && s.nominated) bps = s.availableOutgoingBitrate ?? 0; });
      return bps;
    })()`),
    videoRtp(peer),
  ]);
  const layers = outbound.map((o) => `${o.frameHeight}p (${o.qualityLimitationReason || '?'})`).join(', ');
  return `${peer.name}: uplink estimate ${Math.round(estimate / 1000)} kbit/s, sending ${layers || 'nothing'}`;
}

/** The codecs the page's video is being encoded with (`video/VP8`), from its outbound streams that encoded frames. */
export async function sentCodecs(peer: PagePeer): Promise<string[]> {
  return [...new Set((await videoRtp(peer)).outbound.filter((s) => s.framesEncoded > 0).map((s) => s.codec))];
}

/** Video frames the page decoded, over all its inbound streams (grows across a change of receive SSRC). */
export async function framesDecoded(peer: PagePeer): Promise<number> {
  return (await videoRtp(peer)).inbound.reduce((n, v) => n + v.framesDecoded, 0);
}

/**
 * At least `senders` remote video streams decode (frames grow over a second, width > 0; streams
 * that stopped, e.g. of a participant who left or of a replaced peer connection, do not count),
 * the remote audio keeps arriving, and every SSRC received is one the bridge announced in the
 * source maps (SSRC rewriting) or, with `known: 'signalled'` (a page without SSRC rewriting), one the
 * focus signalled to it (the page's source counters).
 */
export async function expectMediaFrom(peer: PagePeer, senders: number, known: 'sourceMaps' | 'signalled' = 'sourceMaps'): Promise<void> {
  const audioPackets = (s: RtcStats) => s.inbound.filter((x) => x.kind === 'audio').reduce((n, x) => n + x.packetsReceived, 0);
  const growing = (before: RtcStats, after: RtcStats) =>
    after.inbound.filter(
      (v) => v.kind === 'video' && v.frameWidth > 0 && v.framesDecoded > (before.inbound.find((x) => x.ssrc === v.ssrc)?.framesDecoded ?? 0),
    );
  let previous = await rtcStats(peer);
  const ready = await until(
    `${senders} video streams decoding and audio arriving`,
    peer,
    async () => {
      await new Promise((r) => setTimeout(r, 300));
      const now = await rtcStats(peer);
      const ok = growing(previous, now).length >= senders && audioPackets(now) > audioPackets(previous);
      previous = now;
      return { ok, now };
    },
    (v) => v.ok,
  );
  await new Promise((r) => setTimeout(r, 1000));
  const later = await rtcStats(peer);
  // On failure, each video stream's frames decoded then and a second later (ssrc: then → later).
  const frames = later.inbound
    .filter((v) => v.kind === 'video')
    .map((v) => `${v.ssrc}: ${ready.now.inbound.find((x) => x.ssrc === v.ssrc)?.framesDecoded ?? '-'} → ${v.framesDecoded}`)
    .join(', ');
  expect(growing(ready.now, later).length, `${peer.name}: video frames keep being decoded (${frames})`).toBeGreaterThanOrEqual(senders);
  expect(audioPackets(later), `${peer.name}: audio packets keep arriving`).toBeGreaterThan(audioPackets(ready.now));
  if (known === 'signalled') {
    const signalled = await peer.evaluate<Record<string, { mediaType: string }>>('window.octobridge.counters.ssrcs');
    for (const s of later.inbound.filter((x) => x.packetsReceived > 0)) expect(signalled[String(s.ssrc)]?.mediaType).toBe(s.kind);
    return;
  }
  const maps = await peer.evaluate<{ audio: { ssrc: number }[]; video: { ssrc: number }[] }>('window.octobridge.sourceMaps');
  for (const s of later.inbound.filter((x) => x.packetsReceived > 0)) {
    expect((s.kind === 'video' ? maps.video : maps.audio).map((m) => m.ssrc)).toContain(s.ssrc);
  }
}

/** What a peer received over a window (see {@link receiveWindow}). */
export interface ReceiveWindow {
  /** Bytes received on the selected candidate pair (all media, RTCP, SCTP), kbit/s. */
  pairKbps: number;
  /** Address of the remote (bridge) candidate of the selected pair. */
  remoteAddress: string;
  /** Per inbound video SSRC: RTP kbit/s (payload + headers), the last frame height, frames decoded per second. */
  video: Record<string, { kbps: number; height: number; fps: number }>;
}

/** Samples the page's `getStats()` twice, `ms` apart, and returns the rates over that window. */
export function receiveWindow(peer: PagePeer, ms: number): Promise<ReceiveWindow> {
  return peer.evaluate<ReceiveWindow>(`(async () => {
    const pc = window.octobridge.pc;
    const sample = async () => {
      const r = await pc.getStats();
      let pair = 0, remoteAddress = '';
      const video = {};
      r.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const p = r.get(s.selectedCandidatePairId);
          pair += p.bytesReceived;
          remoteAddress = r.get(p.remoteCandidateId)?.address ?? '';
        }
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          video[s.ssrc] = { bytes: (s.bytesReceived ?? 0) + (s.headerBytesReceived ?? 0), frames: s.framesDecoded ?? 0, height: s.frameHeight ?? 0 };
        }
      });
      return { at: performance.now(), pair, video, remoteAddress };
    };
    const a = await sample();
    await new Promise((r) => setTimeout(r, ${ms}));
    const b = await sample();
    const s = (b.at - a.at) / 1000;
    const video = {};
    for (const [ssrc, v] of Object.entries(b.video)) {
      const p = a.video[ssrc] ?? { bytes: 0, frames: 0 };
      video[ssrc] = { kbps: (v.bytes - p.bytes) * 8 / 1000 / s, height: v.height, fps: (v.frames - p.frames) / s };
    }
    return { pairKbps: (b.pair - a.pair) * 8 / 1000 / s, remoteAddress: b.remoteAddress, video };
  })()`);
}
