/**
 * Codec benchmark: for each video codec a Jitsi client sends (VP8 and H.264 as 3-layer simulcast, VP9 and AV1 as one
 * `L3T3_KEY` SVC stream, the page sending as lib-jitsi-meet does with `?codec=`), through a real bridge whose focus
 * offers Jicofo's full codec list. Prints one table; `--json` prints JSON instead (progress on stderr).
 *
 *   npm run bench:codecs -- [--codecs VP8,H264,VP9,AV1,VP9:simulcast,AV1:simulcast] [--seconds 10] [--switches 10]
 *     [--interval 2000] [--timeout 5000] [--width 1280 --height 720 --fps 30] [--json]
 *
 * `VP9:simulcast` / `AV1:simulcast` send that codec as 3-layer simulcast (the page's `svc=0`, as Firefox and Safari
 * do): the same codec's SVC and simulcast side by side.
 *
 * Per codec:
 *  1. Steady forwarding: one Chromium sender (1280x720, 30 fps, no audio) and two receive-only Chromium pages, one with
 *     the source on stage (720p), one with it as a 180p thumbnail. Once both decode at their height, for `--seconds`:
 *     the worker's CPU (utime + stime of the mediasoup worker process, /proc), the video packets the bridge received
 *     (the sender's `outbound-rtp` packetsSent) and forwarded (the receivers' `inbound-rtp` packetsReceived), and each
 *     receiver's bitrate. "worker us/fwd" is worker CPU per forwarded packet, "us/recv" per received packet: SVC
 *     receives one stream and forwards parts of it, simulcast receives three and forwards one each. "180p/full" is the
 *     thumbnail's bitrate as a fraction of the on-stage one. The same run gives the ratio of each codec's worker CPU
 *     per forwarded packet to VP8 simulcast's (the baseline, measured in the same invocation).
 *  2. Layer switches (bench/allocation/switch.ts, its own bridge and pages): `--switches` alternating up (180p → 720p,
 *     on stage) and down, latency from the constraint change in the receiver page to the first presented frame of
 *     the target height; p50 / p99 (nearest rank: with 5 samples per direction p99 is the largest) and misses.
 * Both phases run on this machine's two cores with the browsers: absolute CPU figures include their contention, and at
 * a few hundred packets/s the worker's fixed costs (timers, RTCP, stats) weigh on each packet; the ratios between
 * codecs of one run are the comparable figures.
 */
import { parseArgs } from 'node:util';
import type { RunningBridge } from '../src/bridge.ts';
import { startTestBridge } from './lib/bridge.ts';
import { openPeer, type BrowserPeer } from './lib/chromium.ts';
import { measureSwitches, type SwitchResult } from './allocation/switch.ts';
import { f0, f1, f2, table } from './format.ts';
import { childrenOf, commandOf, cpuSeconds, percentile } from './lib/measure.ts';

const { values: args } = parseArgs({
  options: {
    codecs: { type: 'string', default: 'VP8,H264,VP9,AV1,VP9:simulcast,AV1:simulcast' },
    seconds: { type: 'string', default: '10' },
    switches: { type: 'string', default: '10' },
    interval: { type: 'string', default: '2000' },
    timeout: { type: 'string', default: '5000' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    fps: { type: 'string', default: '30' },
    json: { type: 'boolean', default: false },
  },
});

/** One measured case: a codec, sent as simulcast (`:simulcast`) or as lib-jitsi-meet sends it. */
interface CodecCase {
  codec: string;
  simulcast: boolean;
  /** Extra query of the sender page. */
  query: string;
}

const CASES: CodecCase[] = args.codecs
  .split(',')
  .map((c) => c.trim())
  .filter(Boolean)
  .map((c) => {
    const [name = '', how] = c.split(':');
    const simulcast = how?.toLowerCase() === 'simulcast';
    return { codec: name.toUpperCase(), simulcast, query: simulcast ? '&svc=0' : '' };
  });
const MEASURE_MS = Number(args.seconds) * 1000;
const MEDIA = `width=${args.width}&height=${args.height}&fps=${args.fps}`;
const progress = (line: string): void => void process.stderr.write(`[codecs] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What one codec's steady phase measured. */
interface SteadyResult {
  codec: string;
  mode: string;
  /** Worker CPU, µs per forwarded / received video packet. */
  workerUsPerForwarded: number;
  workerUsPerReceived: number;
  /** Worker CPU, % of one core. */
  workerCpuPercent: number;
  forwardedPerSecond: number;
  receivedPerSecond: number;
  stageHeight: number;
  thumbHeight: number;
  stageKbps: number;
  thumbKbps: number;
}

interface CodecResult {
  steady: SteadyResult;
  switches: SwitchResult;
}

/** Video RTP counters of a page (sums over its video streams). */
interface PageVideo {
  packetsSent: number;
  packetsReceived: number;
  bytesReceived: number;
  frameHeight: number;
  framesDecoded: number;
  codec: string;
  /** The scalability modes of the encodings that are sending. */
  modes: string[];
}

async function pageVideo(peer: BrowserPeer): Promise<PageVideo> {
  return peer.evaluate<PageVideo>(`(async () => {
    const pc = window.octobridge.pc;
    const out = { packetsSent: 0, packetsReceived: 0, bytesReceived: 0, frameHeight: 0, framesDecoded: 0, codec: '', modes: [] };
    if (!pc) return out;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.kind !== 'video') return;
      if (s.type === 'outbound-rtp') {
        out.packetsSent += s.packetsSent ?? 0;
        if (s.active !== false && (s.framesPerSecond ?? 0) > 0) { out.codec = stats.get(s.codecId)?.mimeType ?? out.codec; out.modes.push(s.scalabilityMode ?? ''); }
      }
      if (s.type === 'inbound-rtp') {
        out.packetsReceived += s.packetsReceived ?? 0;
        out.bytesReceived += s.bytesReceived ?? 0;
        out.framesDecoded += s.framesDecoded ?? 0;
        out.frameHeight = Math.max(out.frameHeight, s.frameHeight ?? 0);
        if ((s.framesDecoded ?? 0) > 0) out.codec = stats.get(s.codecId)?.mimeType ?? out.codec;
      }
    });
    return out;
  })()`);
}

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (ok(last)) return last;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(last)}`);
}

async function steady({ codec, query }: CodecCase): Promise<SteadyResult> {
  let bridge: RunningBridge | undefined;
  const peers: BrowserPeer[] = [];
  try {
    bridge = await startTestBridge();
    const base = `http://127.0.0.1:${bridge.publicPort}/codec-bench-${codec.toLowerCase()}`;
    const open = async (query: string): Promise<BrowserPeer> => {
      const p = await openPeer(`${base}?${query}&codec=${codec}`);
      peers.push(p);
      return p;
    };
    const sender = await open(`name=S&${MEDIA}&audio=0${query}`);
    const stage = await open('name=Stage&video=0&audio=0');
    const thumb = await open('name=Thumb&video=0&audio=0');
    const senderId = await waitFor('the sender id', () => sender.evaluate<string | null>('window.octobridge.endpointId'), Boolean);
    const source = `${senderId}-v0`;
    await waitFor(
      'the source at the stage receiver',
      () => stage.evaluate<boolean>(`window.octobridge.tiles().some((t) => t.source === ${JSON.stringify(source)})`),
      Boolean,
    );
    await stage.evaluate(`window.octobridge.stage(${JSON.stringify(source)})`);
    await waitFor(
      `the sender sends ${codec}`,
      () => pageVideo(sender),
      (v) => v.codec === `video/${codec}`,
    );
    await waitFor(
      'on stage at 720p',
      () => pageVideo(stage),
      (v) => v.frameHeight >= 720 && v.codec === `video/${codec}`,
    );
    await waitFor(
      'the thumbnail at 180p',
      () => pageVideo(thumb),
      (v) => v.frameHeight > 0 && v.frameHeight <= 180,
    );
    await sleep(2000);
    const sent = await pageVideo(sender);

    // The mediasoup workers are children of this process, as are the browsers.
    const workers = childrenOf(process.pid).filter((pid) => commandOf(pid).startsWith('mediasoup-worke'));
    const cpu = (): number => workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const [s0, st0, th0] = await Promise.all([pageVideo(sender), pageVideo(stage), pageVideo(thumb)]);
    const c0 = cpu();
    const t0 = performance.now();
    await sleep(MEASURE_MS);
    const [s1, st1, th1] = await Promise.all([pageVideo(sender), pageVideo(stage), pageVideo(thumb)]);
    const c1 = cpu();
    const seconds = (performance.now() - t0) / 1000;
    const forwarded = st1.packetsReceived - st0.packetsReceived + (th1.packetsReceived - th0.packetsReceived);
    const received = s1.packetsSent - s0.packetsSent;
    const workerUs = (c1 - c0) * 1e6;
    return {
      codec,
      mode: sent.modes.length === 1 ? `SVC ${sent.modes[0]}` : `simulcast ${sent.modes.length}`,
      workerUsPerForwarded: workerUs / forwarded,
      workerUsPerReceived: workerUs / received,
      workerCpuPercent: (100 * (c1 - c0)) / seconds,
      forwardedPerSecond: forwarded / seconds,
      receivedPerSecond: received / seconds,
      stageHeight: st1.frameHeight,
      thumbHeight: th1.frameHeight,
      stageKbps: ((st1.bytesReceived - st0.bytesReceived) * 8) / seconds / 1000,
      thumbKbps: ((th1.bytesReceived - th0.bytesReceived) * 8) / seconds / 1000,
    };
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await bridge?.close();
  }
}

function latencies(r: SwitchResult, direction: 'up' | 'down'): { p50: number; p99: number; n: number; missed: number } {
  const of = r.samples.filter((s) => s.direction === direction);
  const ms = Float64Array.from(of.map((s) => s.latencyMs).filter((x): x is number => x !== null)).sort();
  // A switch from another height that showed no target frame in time is a miss.
  const missed = of.filter((s) => s.latencyMs === null && s.fromHeight !== s.targetHeight).length;
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: ms.length, missed };
}

function print(results: CodecResult[]): void {
  const base = results.find((r) => r.steady.codec === 'VP8')?.steady.workerUsPerForwarded;
  console.log(
    `Codecs through octobridge (Jicofo's codec list offered; sender ${args.width}x${args.height} at ${args.fps} fps; steady ${f0(MEASURE_MS / 1000)} s)`,
  );
  console.log('');
  console.log(
    table(
      ['codec', 'mode', 'worker CPU %', 'recv pkt/s', 'fwd pkt/s', 'worker us/fwd', 'vs VP8', 'us/recv', 'stage', 'thumb', '180p/full'],
      results.map(({ steady: s }) => [
        s.codec,
        s.mode,
        f1(s.workerCpuPercent),
        f0(s.receivedPerSecond),
        f0(s.forwardedPerSecond),
        f1(s.workerUsPerForwarded),
        base ? f2(s.workerUsPerForwarded / base) : '-',
        f1(s.workerUsPerReceived),
        `${s.stageHeight}p ${f0(s.stageKbps)} kbps`,
        `${s.thumbHeight}p ${f0(s.thumbKbps)} kbps`,
        `${f0((100 * s.thumbKbps) / s.stageKbps)} %`,
      ]),
    ),
  );
  console.log('');
  console.log('Layer switch latency, constraint change to the first presented frame of the target height (ms)');
  console.log(
    table(
      ['codec', 'mode', 'up p50', 'up p99', 'up n', 'up missed', 'down p50', 'down p99', 'down n', 'down missed'],
      results.map(({ steady: s, switches }) => {
        const up = latencies(switches, 'up');
        const down = latencies(switches, 'down');
        return [s.codec, s.mode, f0(up.p50), f0(up.p99), String(up.n), String(up.missed), f0(down.p50), f0(down.p99), String(down.n), String(down.missed)];
      }),
    ),
  );
}

const results: CodecResult[] = [];
for (const c of CASES) {
  const codec = c.simulcast ? `${c.codec} (simulcast)` : c.codec;
  progress(`${codec}: steady forwarding`);
  const s = await steady(c);
  progress(`${codec}: ${f1(s.workerUsPerForwarded)} us of worker CPU per forwarded packet; layer switches`);
  const switches = await measureSwitches(
    {
      switches: Number(args.switches),
      intervalMs: Number(args.interval),
      timeoutMs: Number(args.timeout),
      settleMs: 2000,
      senderQuery: `${MEDIA}&codec=${c.codec}${c.query}`,
    },
    (line) => progress(`${codec}: ${line}`),
  );
  results.push({ steady: s, switches });
}
if (args.json) console.log(JSON.stringify(results, null, 2));
else print(results);
