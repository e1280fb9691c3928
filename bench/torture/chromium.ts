/**
 * A heavy participant of the torture harness: headless Chromium (one browser per participant,
 * bench/lib/chromium.ts `openPeer`, fake 30 fps camera and microphone) on octobridge's
 * standalone page, which joins through the focus like a user. What it receives comes from
 * Chromium itself (`RTCPeerConnection.getStats()` of the page's `window.octobridge.pc`): per
 * inbound-rtp stream `framesDecoded`, `freezeCount`, `totalFreezesDuration`, `packetsLost`,
 * `jitter`, `frameWidth` ..., attributed to sources by the page's source maps. Its first decoded
 * remote frame is watched in the page (10 ms polling from load), so the join time is page
 * navigation → first decoded frame.
 *
 * A new peer connection (the page answers an ICE restart with one) starts its stats over: the
 * counters of the previous one are kept per source and added.
 */
import { openPeer, type BrowserPeer } from '../lib/chromium.ts';
import { FaultWatch, sampleOf, sourceReport } from '../lib/light/metrics.ts';
import type { SourceCounters } from '../lib/light/receive.ts';
import { nowMs } from '../lib/light/receive.ts';
import type { ParticipantReport, ParticipantSample, ParticipantSpec } from '../lib/light/types.ts';

/** What the page returns per inbound-rtp stream. */
interface InboundStats {
  kind: 'audio' | 'video';
  ssrc: number;
  source: string;
  owner: string;
  packetsReceived: number;
  packetsLost: number;
  bytes: number;
  jitter: number;
  framesDecoded: number;
  freezeCount: number;
  totalFreezesDuration: number;
  frameWidth: number;
  frameHeight: number;
  nackCount: number;
  pliCount: number;
}

/** Reads the page's inbound-rtp stats with each stream's source and owner (display name). */
const STATS_JS = `(async () => {
  const o = window.octobridge;
  const pc = o && o.pc;
  if (!pc) return { pcId: null, inbound: [] };
  const bySsrc = new Map();
  for (const kind of ['audio', 'video']) for (const m of o.sourceMaps[kind]) bySsrc.set(m.ssrc, m);
  const names = o.participants;
  const inbound = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const m = bySsrc.get(s.ssrc);
    if (!m) return;
    inbound.push({ kind: s.kind, ssrc: s.ssrc, source: m.source, owner: (names.get(m.owner) || {}).displayName || m.owner || '',
      packetsReceived: s.packetsReceived || 0, packetsLost: s.packetsLost || 0, bytes: (s.bytesReceived || 0) + (s.headerBytesReceived || 0),
      jitter: s.jitter || 0, framesDecoded: s.framesDecoded || 0, freezeCount: s.freezeCount || 0,
      totalFreezesDuration: s.totalFreezesDuration || 0, frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
      nackCount: s.nackCount || 0, pliCount: s.pliCount || 0 });
  });
  if (!o.__tortureId) o.__tortureId = 1;
  if (o.__tortureLast !== pc) { o.__tortureLast = pc; o.__tortureId += 1; }
  return { pcId: o.__tortureId, inbound };
})()`;

/** Watches from page load for the first decoded remote video frame; resolves with its time (epoch ms). */
const FIRST_FRAME_JS = `(async () => {
  for (;;) {
    const pc = window.octobridge && window.octobridge.pc;
    if (pc) {
      let decoded = 0;
      (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') decoded += s.framesDecoded || 0; });
      if (decoded > 0) return performance.timeOrigin + performance.now();
    }
    await new Promise((r) => setTimeout(r, 10));
  }
})()`;

/** Counters carried over from a previous peer connection, per source. */
type Base = Pick<
  SourceCounters,
  'packets' | 'expected' | 'firstArrivals' | 'bytes' | 'framesDecoded' | 'freezeCount' | 'totalFreezesDurationMs' | 'nacks' | 'plis'
>;

/** See the module docstring. */
export class ChromiumParticipant {
  readonly spec: ParticipantSpec;
  readonly peer: BrowserPeer;
  /** Page navigation start, ms. */
  readonly joinStartAt: number;
  connectedAt: number | undefined;
  firstFrameAt: number | undefined;
  readonly errors: string[] = [];
  readonly #counters = new Map<string, SourceCounters>();
  readonly #base = new Map<string, Base>();
  #pcId: number | null = null;
  #sessions = 0;
  readonly #faults: Map<string, FaultWatch>[] = [];
  /** Per source: the poll at which it first had decoded frames (time, frames), for its frame rate. */
  readonly #fpsFrom = new Map<string, { t: number; frames: number }>();

  private constructor(spec: ParticipantSpec, peer: BrowserPeer, joinStartAt: number) {
    this.spec = spec;
    this.peer = peer;
    this.joinStartAt = joinStartAt;
  }

  /**
   * Open the standalone page of `spec.room` at `baseUrl` in a new headless Chromium: a sender
   * sends camera (`width`x`height`, 30 fps; 3-layer simulcast unless `simulcast` is false) and
   * microphone; a receiver sends nothing (`audio=0&video=0`); `spec.region` (`--cascade`) goes in
   * `?region=`. Resolves once the page's peer connection is connected.
   * @throws Error when the browser cannot start or the page does not connect within `timeoutMs`.
   */
  static async open(
    spec: ParticipantSpec,
    baseUrl: string,
    opts: { simulcast: boolean; width: number; height: number },
    timeoutMs = 30_000,
  ): Promise<ChromiumParticipant> {
    const q = new URLSearchParams({ name: spec.id, width: String(opts.width), height: String(opts.height), fps: '30' });
    if (!spec.send) {
      q.set('audio', '0');
      q.set('video', '0');
    }
    if (!opts.simulcast) q.set('simulcast', '0');
    if (spec.region) q.set('region', spec.region);
    const peer = await openPeer(`${baseUrl}/${encodeURIComponent(spec.room)}?${q}`);
    const start = await peer.evaluate<number>('performance.timeOrigin');
    const p = new ChromiumParticipant(spec, peer, start);
    void peer.evaluate<number>(FIRST_FRAME_JS).then(
      (t) => (p.firstFrameAt = t),
      () => undefined,
    );
    const t0 = Date.now();
    while ((await peer.evaluate<string | null>('window.octobridge && window.octobridge.pc && window.octobridge.pc.connectionState')) !== 'connected') {
      if (Date.now() - t0 > timeoutMs) {
        await peer.close();
        throw new Error(`${spec.id}: page not connected after ${timeoutMs} ms; console: ${peer.console.slice(-5).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    p.connectedAt = nowMs();
    return p;
  }

  /** Read the page's stats now into the per-source counters. */
  async poll(t = nowMs()): Promise<void> {
    let res: { pcId: number | null; inbound: InboundStats[] };
    try {
      res = await this.peer.evaluate(STATS_JS);
    } catch (err) {
      if (!this.errors.includes(String(err))) this.errors.push(String(err));
      return;
    }
    if (res.pcId !== this.#pcId) {
      // A new peer connection: what the old one counted becomes the base.
      for (const [key, c] of this.#counters) {
        this.#base.set(key, {
          packets: c.packets,
          expected: c.expected,
          firstArrivals: c.firstArrivals,
          bytes: c.bytes,
          framesDecoded: c.framesDecoded,
          freezeCount: c.freezeCount,
          totalFreezesDurationMs: c.totalFreezesDurationMs,
          nacks: c.nacks,
          plis: c.plis,
        });
      }
      this.#pcId = res.pcId;
      this.#sessions += 1;
    }
    for (const s of res.inbound) {
      const key = `${s.kind}:${s.source}`;
      const b = this.#base.get(key);
      const prev = this.#counters.get(key);
      const c: SourceCounters = {
        source: s.source,
        owner: s.owner,
        kind: s.kind,
        packets: (b?.packets ?? 0) + s.packetsReceived,
        expected: (b?.expected ?? 0) + s.packetsReceived + Math.max(0, s.packetsLost),
        firstArrivals: (b?.firstArrivals ?? 0) + s.packetsReceived,
        bytes: (b?.bytes ?? 0) + s.bytes,
        recovered: 0,
        jitterMs: s.jitter * 1000,
        framesDecoded: (b?.framesDecoded ?? 0) + s.framesDecoded,
        freezeCount: (b?.freezeCount ?? 0) + s.freezeCount,
        totalFreezesDurationMs: (b?.totalFreezesDurationMs ?? 0) + s.totalFreezesDuration * 1000,
        width: s.frameWidth,
        height: s.frameHeight,
        nacks: (b?.nacks ?? 0) + s.nackCount,
        plis: (b?.plis ?? 0) + s.pliCount,
      };
      c.firstPacketAt = prev?.firstPacketAt ?? (c.packets > 0 ? t : undefined);
      c.firstFrameAt = prev?.firstFrameAt ?? (c.framesDecoded > 0 ? t : undefined);
      if (c.framesDecoded > 0 && !this.#fpsFrom.has(key)) this.#fpsFrom.set(key, { t, frames: c.framesDecoded });
      const grew = c.framesDecoded > (prev?.framesDecoded ?? 0);
      c.lastFrameAt = grew ? t : prev?.lastFrameAt;
      if (grew) for (const f of this.#faults) f.get(key)?.onFrame(t);
      this.#counters.set(key, c);
    }
  }

  /** A fault from `at` to `until` (default: an instant): remember each video source's last frame (at the 1 s polling resolution). */
  fault(at: number, until = at): void {
    const watches = new Map<string, FaultWatch>();
    for (const [key, c] of this.#counters) if (c.kind === 'video') watches.set(key, new FaultWatch(at, c.lastFrameAt, until));
    this.#faults.push(watches);
  }

  /** Cumulative counters as of the last {@link poll}. */
  sample(t = nowMs()): ParticipantSample {
    return sampleOf(this.spec.id, this.connectedAt !== undefined, [...this.#counters.values()], t);
  }

  /** The report at `end` (ms); fault recovery at 1 s resolution, a freeze being a gap over 1.5 s here. */
  report(end: number): ParticipantReport {
    return {
      spec: this.spec,
      joinStartAt: this.joinStartAt,
      ...(this.connectedAt !== undefined ? { connectedAt: this.connectedAt } : {}),
      ...(this.firstFrameAt !== undefined ? { firstFrameAt: this.firstFrameAt } : {}),
      sources: [...this.#counters].map(([key, c]) => {
        const r = sourceReport(c, end, 0, c.kind === 'video' ? this.#faults.map((f) => f.get(key)?.recoveryMs(1500)) : []);
        // Frames counted between polls (the first poll already found frames decoded before it).
        const from = this.#fpsFrom.get(key);
        if (from && c.lastFrameAt !== undefined && c.lastFrameAt > from.t) r.fps = (c.framesDecoded - from.frames) / ((c.lastFrameAt - from.t) / 1000);
        return r;
      }),
      unknownPackets: 0,
      sessions: this.#sessions,
      errors: this.errors,
    };
  }

  /** Close the browser. Never throws. */
  async close(): Promise<void> {
    await this.peer.close();
  }
}
