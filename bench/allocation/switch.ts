/**
 * Layer switch latency of the allocation benchmark: a real bridge in this process
 * (bench/lib/bridge.ts, embedded focus on), one Chromium sender of 3-layer VP8 simulcast and
 * one receive-only Chromium page (bench/lib/chromium.ts), both on the standalone page.
 *
 * In the receiver page a requestVideoFrameCallback loop on the sender's tile <video> logs every
 * presented frame ({t: performance.now(), h: metadata.height, recv: metadata.receiveTime}). A
 * switch is one call of the page's `window.octobridge.stage()` (the page sends
 * ReceiverVideoConstraints: 720p for the on-stage source, 180p thumbnails); t0 is
 * performance.now() in the page right before that call, and the latency is the first presented
 * frame after t0 with the target height. All of it runs inside the page, so the figure is on the
 * page's clock only.
 *
 * For the diagnosis of slow switches, the bridge side is logged too (same process): the
 * allocator's `allocated` events for the receiver (the layer chosen for the source) and its
 * `senderConstraints` events for the source (what the sender is asked for), on the wall clock
 * (performance.timeOrigin + performance.now(), which the page has as well; both processes read the
 * same system clock, so the offsets are good to about a millisecond).
 */
import type { RunningBridge } from '../../src/bridge.ts';
import type { Allocation, Layer } from '../../src/allocation/types.ts';
import { startTestBridge } from '../lib/bridge.ts';
import { openPeer, type BrowserPeer } from '../lib/chromium.ts';

/** Options of {@link measureSwitches}. */
export interface SwitchOptions {
  /** Number of switches, alternating up (720) and down (180), starting up. */
  switches: number;
  /** Pause after a switch completed (or timed out) before the next, ms. */
  intervalMs: number;
  /** A switch that shows no target frame within this is a miss, ms. */
  timeoutMs: number;
  /** Pause after 180p frames flow, before the first switch, ms. */
  settleMs: number;
  /** Query of the sender page (width, height, fps). */
  senderQuery: string;
  /**
   * A second receive-only page keeps the source on stage at 720p the whole run, so every encoding of the sender
   * stays active: a switch up then needs no sender change, only the allocation and one keyframe of the 720p layer.
   */
  warm?: boolean;
  /** Bridge environment (e.g. `JVB_CC_TRUST_BWE: 'false'`). */
  env?: Record<string, string>;
}

/** A layer decision or a sender constraint on the bridge, ms after the switch's t0. */
export interface BridgeEvent {
  ms: number;
  /**
   * `alloc`: the allocator picked a layer for the receiver (height 0 = not forwarded), `fps`;
   * `sender`: the sender is asked for maxHeight `height`;
   * `layers`: the heights of the sender's encodings the bridge sees active changed (`heights`);
   * `bwe`: the receiver's bandwidth estimate (mediasoup GoogCC, about once a second), `bps`.
   */
  kind: 'alloc' | 'sender' | 'layers' | 'bwe';
  height?: number;
  fps?: number;
  heights?: number[];
  bps?: number;
}

/** One switch. */
export interface SwitchSample {
  index: number;
  direction: 'up' | 'down';
  targetHeight: number;
  /** Height presented right before t0; a switch from the target height already is no switch (`latencyMs` null). */
  fromHeight: number;
  /** t0 → first presented frame of the target height, ms; null on timeout or when already there. */
  latencyMs: number | null;
  /** t0 → receiveTime (last packet of that frame received), ms; null when unknown or timeout. */
  receiveMs: number | null;
  /** Every change of the presented height after t0: [ms after t0, height]. */
  heights: [number, number][];
  /** Longest time between two presented frames from t0 to the target frame (or the timeout), ms. */
  maxGapMs: number;
  /** Frames presented from t0 to the target frame (or the timeout). */
  frames: number;
  /** The receiver's estimate as the allocator had it right before the switch, bps (-1 unknown). */
  bweBeforeBps: number;
  /** What the bridge did from t0 until the next switch (or the end). */
  bridge: BridgeEvent[];
  /** At the target frame (or the timeout): what the allocator had for the source and its input. */
  atEnd: { target: string; ideal: string; bweBps: number; layers: string };
}

/** The sender's encodings at the end (outbound-rtp per SSRC: the page munges SSRC simulcast, no rids). */
export interface EncodingStats {
  ssrc: number;
  active: boolean | null;
  frameHeight: number;
  fps: number;
  kbps: number;
  qualityLimitationReason: string;
}

export interface SwitchResult {
  senderQuery: string;
  samples: SwitchSample[];
  /** Presented height and frame rate at the receiver when the run started (after settling). */
  settled: { height: number; fps: number };
  senderEncodings: EncodingStats[];
  /** The receiver's bandwidth estimate as the allocator last saw it, bps (-1 unknown). */
  receiverBweBps: number;
}

/** What the benchmark keeps in the receiver page. */
interface PageLog {
  frames: { t: number; h: number; recv: number }[];
  waiters: ((f: { t: number; h: number; recv: number }) => void)[];
  /** The element and stream the frame loop watches. */
  video?: HTMLVideoElement;
  stream?: MediaProvider | null;
  /** Re-attach the loop when the tile's element or stream changed (see installFrameLog). */
  follow?: () => boolean;
}

/** The parts of the page's test hook used here (src/focus/page/app.js `window.octobridge`). */
interface Hook {
  endpointId: string | null;
  stage(source: string | null): void;
  pc: RTCPeerConnection | null;
}

type BenchWindow = Window & { octobridge: Hook; __allocBench?: PageLog };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` every 100 ms until it returns something truthy; throw after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, peer?: BrowserPeer): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - start > timeoutMs) {
      const console = peer ? `\npage console of ${peer.name}:\n${peer.console.slice(-20).join('\n')}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${console}`);
    }
    await sleep(100);
  }
}

/** Reject when `p` takes longer than `ms`. */
async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const wallNow = (): number => performance.timeOrigin + performance.now();

/**
 * Start the requestVideoFrameCallback loop on the tile of `source`; false while the tile is not there. Called again,
 * it follows the tile to another video element or stream (the bridge produced the source again: new SSRC, new slot),
 * logging into the same frame log.
 */
function installFrameLog(source: string): boolean {
  const w = window as unknown as BenchWindow;
  const tile = [...document.querySelectorAll<HTMLElement>('.tile')].find((t) => t.dataset.source === source);
  const video = tile?.querySelector('video');
  if (!video?.srcObject) return w.__allocBench !== undefined;
  const log: PageLog = w.__allocBench ?? { frames: [], waiters: [] };
  w.__allocBench = log;
  log.follow = () => installFrameLog(source);
  if (log.video === video && log.stream === video.srcObject) return true;
  log.video = video;
  log.stream = video.srcObject;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
    if (log.video !== video) return;
    const f = { t: performance.now(), h: meta.height, recv: meta.receiveTime ?? -1 };
    log.frames.push(f);
    if (log.frames.length > 20_000) log.frames.splice(0, 10_000);
    for (const waiter of [...log.waiters]) waiter(f);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return true;
}

/** Frames presented in the last `ms`: count and heights (in the page). */
function recentFrames(ms: number): { count: number; heights: number[] } {
  const log = (window as unknown as BenchWindow).__allocBench;
  const since = performance.now() - ms;
  const recent = (log?.frames ?? []).filter((f) => f.t >= since);
  return { count: recent.length, heights: [...new Set(recent.map((f) => f.h))] };
}

/** In the page: t0, stage(), wait for the first frame of the target height or the timeout. */
function pageSwitch(arg: { source: string | null; target: number; timeoutMs: number }): Promise<{
  t0Wall: number;
  fromHeight: number;
  latencyMs: number | null;
  receiveMs: number | null;
  heights: [number, number][];
  maxGapMs: number;
  frames: number;
}> {
  const w = window as unknown as BenchWindow;
  const log = w.__allocBench as PageLog;
  const before = log.frames.at(-1);
  const heights: [number, number][] = [];
  let lastHeight = before?.h ?? -1;
  let lastT = before?.t ?? Number.NaN;
  let maxGapMs = 0;
  let frames = 0;
  const t0 = performance.now();
  const t0Wall = performance.timeOrigin + t0;
  w.octobridge.stage(arg.source);
  // Not at the other height (the previous switch missed): nothing to measure, but stage() was called.
  if (before?.h === arg.target) return Promise.resolve({ t0Wall, fromHeight: before.h, latencyMs: null, receiveMs: null, heights: [], maxGapMs: 0, frames: 0 });
  return new Promise((resolve) => {
    // The tile may move to a new element or stream during the switch (the source produced again): follow it.
    const following = setInterval(() => log.follow?.(), 100);
    const done = (hit: { t: number; recv: number } | null): void => {
      clearTimeout(timer);
      clearInterval(following);
      log.waiters = log.waiters.filter((x) => x !== waiter);
      if (!hit) maxGapMs = Math.max(maxGapMs, performance.now() - lastT);
      resolve({
        t0Wall,
        fromHeight: before?.h ?? -1,
        latencyMs: hit ? hit.t - t0 : null,
        receiveMs: hit && hit.recv > 0 ? hit.recv - t0 : null,
        heights,
        maxGapMs,
        frames,
      });
    };
    const waiter = (f: { t: number; h: number; recv: number }): void => {
      frames++;
      if (Number.isFinite(lastT)) maxGapMs = Math.max(maxGapMs, f.t - lastT);
      lastT = f.t;
      if (f.h !== lastHeight) {
        heights.push([Math.round(f.t - t0), f.h]);
        lastHeight = f.h;
      }
      if (f.h === arg.target) done(f);
    };
    const timer = setTimeout(() => done(null), arg.timeoutMs);
    log.waiters.push(waiter);
  });
}

/** The sender's outbound video per SSRC (in the sender page). */
async function pageEncodings(): Promise<
  { ssrc: number; active: boolean | null; frameHeight: number; fps: number; bytesSent: number; qualityLimitationReason: string }[]
> {
  const pc = (window as unknown as BenchWindow).octobridge.pc;
  const out: { ssrc: number; active: boolean | null; frameHeight: number; fps: number; bytesSent: number; qualityLimitationReason: string }[] = [];
  if (!pc) return out;
  (await pc.getStats()).forEach(
    (s: {
      type: string;
      kind?: string;
      ssrc: number;
      active?: boolean;
      frameHeight?: number;
      framesPerSecond?: number;
      bytesSent?: number;
      qualityLimitationReason?: string;
    }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.push({
          ssrc: s.ssrc,
          active: s.active ?? null,
          frameHeight: s.frameHeight ?? 0,
          fps: s.framesPerSecond ?? 0,
          bytesSent: s.bytesSent ?? 0,
          qualityLimitationReason: s.qualityLimitationReason ?? '',
        });
      }
    },
  );
  return out;
}

/** Sender encodings with a bitrate over one second. */
async function senderEncodings(sender: BrowserPeer): Promise<EncodingStats[]> {
  const a = await sender.page.evaluate(pageEncodings);
  await sleep(1000);
  const b = await sender.page.evaluate(pageEncodings);
  return b
    .map((e) => ({
      ssrc: e.ssrc,
      active: e.active,
      frameHeight: e.frameHeight,
      fps: e.fps,
      kbps: ((e.bytesSent - (a.find((x) => x.ssrc === e.ssrc)?.bytesSent ?? e.bytesSent)) * 8) / 1000,
      qualityLimitationReason: e.qualityLimitationReason,
    }))
    .sort((x, y) => x.frameHeight - y.frameHeight);
}

/** `720p30`, or `off`. */
const layerName = (l: Layer | undefined): string => (l ? `${l.height}p${Math.round(l.frameRate * 10) / 10}` : 'off');

/** The top temporal layer of each active encoding with its bitrate, e.g. `180p30 0.15, 360p30 0.48` (Mbps). */
function activeLayers(layers: readonly Layer[]): string {
  const top = new Map<number, Layer>();
  for (const l of layers) if (l.bitrateBps > 0) top.set(l.spatial, l);
  return [...top.values()].map((l) => `${layerName(l)} ${(l.bitrateBps / 1e6).toFixed(2)}`).join(', ') || 'none';
}

/** The target layer of `source` in an allocation: height (0 = not forwarded) and frame rate. */
function targetOf(a: Allocation, source: string): { height: number; fps: number } {
  const t = a.sources.find((s) => s.source === source)?.target;
  return { height: t?.height ?? 0, fps: t?.frameRate ?? 0 };
}

/** Run the switches; always closes the browsers and the bridge. */
export async function measureSwitches(opts: SwitchOptions, progress: (line: string) => void = () => undefined): Promise<SwitchResult> {
  let bridge: RunningBridge | undefined;
  const peers: BrowserPeer[] = [];
  try {
    bridge = await startTestBridge(opts.env ?? {});
    const base = `http://127.0.0.1:${bridge.publicPort}/alloc-bench`;
    const sender = await openPeer(`${base}?name=S&${opts.senderQuery}`);
    peers.push(sender);
    const receiver = await openPeer(`${base}?name=R&video=0&audio=0`);
    peers.push(receiver);
    const idOf = (p: BrowserPeer): Promise<string> =>
      waitFor(`${p.name}'s endpoint id`, () => p.page.evaluate(() => (window as unknown as BenchWindow).octobridge.endpointId), 30_000, p);
    const senderId = await idOf(sender);
    const receiverId = await idOf(receiver);
    const source = `${senderId}-v0`;

    // Bridge-side log of the receiver's layer decisions and of what the sender is asked for.
    const b = bridge;
    const conference = await waitFor('the conference on the bridge', async () =>
      b.videobridge.conferences().find((c) => c.endpoint(receiverId) && c.endpoint(senderId)),
    );
    const events: (Omit<BridgeEvent, 'ms'> & { wall: number })[] = [];
    conference.allocator.on('allocated', (rid, a) => {
      if (rid === receiverId) events.push({ wall: wallNow(), kind: 'alloc', ...targetOf(a, source) });
    });
    conference.allocator.on('senderConstraints', (_owner, s, maxHeight) => {
      if (s === source) events.push({ wall: wallNow(), kind: 'sender', height: maxHeight });
    });
    let activeKey = '';
    let latestLayers: readonly Layer[] = [];
    conference.media.on('videoLayers', (s, layers) => {
      if (s !== source) return;
      latestLayers = layers;
      const heights = [...new Set(layers.filter((l) => l.bitrateBps > 0).map((l) => l.height))];
      if (heights.join('/') === activeKey) return;
      activeKey = heights.join('/');
      events.push({ wall: wallNow(), kind: 'layers', heights });
    });
    const receiverEndpoint = conference.endpoint(receiverId);
    receiverEndpoint?.mediaEndpoint.on('bandwidthEstimate', (bps) => events.push({ wall: wallNow(), kind: 'bwe', bps }));

    await waitFor(`the tile of ${source} at the receiver`, () => receiver.page.evaluate(installFrameLog, source), 30_000, receiver);
    progress(`sender ${senderId}, receiver ${receiverId}: waiting for 180p frames`);
    const settledFrames = await waitFor(
      '180p frames at the receiver',
      async () => {
        const r = await receiver.page.evaluate(recentFrames, 1000);
        return r.count >= 5 && r.heights.length === 1 && r.heights[0] === 180 ? r : null;
      },
      30_000,
      receiver,
    );
    await sleep(opts.settleMs);
    if (opts.warm) {
      // Only now: the receiver has had thumbnails alone for the settling time, so its estimate is what a long
      // thumbnail-only stretch leaves (held near its throughput), not the initial one.
      const watcher = await openPeer(`${base}?name=W&video=0&audio=0`);
      peers.push(watcher);
      await idOf(watcher);
      await waitFor(
        `the tile of ${source} at the watcher`,
        () => watcher.page.evaluate((s) => !!document.querySelector(`.tile[data-source="${s}"] video`), source),
        30_000,
        watcher,
      );
      await watcher.page.evaluate((s) => (window as unknown as BenchWindow).octobridge.stage(s), source);
      await waitFor(
        `${source}'s 720p encoding active on the bridge`,
        async () => latestLayers.some((l) => l.height === 720 && l.bitrateBps > 0),
        30_000,
        sender,
      );
      progress(
        `720p encoding active (kept on by the watcher); receiver's estimate ${((conference.allocator.state(receiverId)?.bweBps ?? -1) / 1e6).toFixed(2)} Mbps`,
      );
      await sleep(opts.settleMs);
    }
    const settled = await receiver.page.evaluate(recentFrames, 1000);
    progress(`180p flowing (${settledFrames.count} frames/s); settled ${opts.settleMs} ms: ${settled.count} frames/s at ${settled.heights.join('/')}p`);

    const samples: SwitchSample[] = [];
    for (let i = 0; i < opts.switches; i++) {
      const up = i % 2 === 0;
      const target = up ? 720 : 180;
      const bweBeforeBps = conference.allocator.state(receiverId)?.bweBps ?? -1;
      const r = await within(
        `switch ${i + 1}`,
        receiver.page.evaluate(pageSwitch, { source: up ? source : null, target, timeoutMs: opts.timeoutMs }),
        opts.timeoutMs + 10_000,
      );
      const state = conference.allocator.state(receiverId);
      const a = state?.allocation.sources.find((x) => x.source === source);
      const atEnd = { target: layerName(a?.target), ideal: layerName(a?.ideal), bweBps: state?.bweBps ?? -1, layers: activeLayers(latestLayers) };
      await sleep(opts.intervalMs);
      const bridgeEvents = events.filter((e) => e.wall >= r.t0Wall - 5).map(({ wall, ...e }) => ({ ms: Math.round(wall - r.t0Wall), ...e }));
      events.length = 0;
      const sample: SwitchSample = {
        index: i + 1,
        direction: up ? 'up' : 'down',
        targetHeight: target,
        fromHeight: r.fromHeight,
        latencyMs: r.latencyMs,
        receiveMs: r.receiveMs,
        heights: r.heights,
        maxGapMs: r.maxGapMs,
        frames: r.frames,
        bweBeforeBps,
        bridge: bridgeEvents,
        atEnd,
      };
      samples.push(sample);
      const outcome =
        r.fromHeight === target ? `already at ${target}p (no switch)` : r.latencyMs === null ? `MISSED (${opts.timeoutMs} ms)` : `${r.latencyMs.toFixed(0)} ms`;
      progress(`switch ${String(i + 1).padStart(2)} ${up ? 'up  ' : 'down'} -> ${target}p: ${outcome}`);
    }
    return {
      senderQuery: opts.senderQuery,
      samples,
      settled: { height: settled.heights[0] ?? 0, fps: settled.count },
      senderEncodings: await senderEncodings(sender),
      receiverBweBps: conference.allocator.state(receiverId)?.bweBps ?? -1,
    };
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await bridge?.close();
  }
}
