/**
 * Forwarding benchmark: N synthetic senders → M receivers in one conference, over real
 * WebRTC transports (ICE + DTLS + SRTP), through octobridge and through a raw mediasoup baseline,
 * one after the other in this process with the same load. Prints, per target: forwarded packets/s
 * (total, per worker process and per worker CPU-second), CPU% of each mediasoup worker (from
 * /proc/<pid>/stat) and of this Node process, and p50/p99 of the delay a packet takes from the
 * sender handing it to werift to a receiver decrypting it; then octobridge/raw ratios and delay
 * differences; then octobridge with the conference spread over 2 workers next to 1 worker.
 *
 *   npm run bench:forwarding -- [--senders 4] [--receivers 8] [--seconds 20] [--warmup 3]
 *     [--fps 30] [--packets-per-frame 3] [--video-kbps 600] [--keyframe-interval 60]
 *     [--audio-pps 50] [--worker-consumers <n>] [--no-spread] [--ice-lite] [--json]
 *
 * Clients: werift 0.24.4 (pure TypeScript WebRTC), one RTCPeerConnection per participant, all in
 * this process. Chosen because it is on npm (no browser, no native build), lets a client write
 * ready-made RTP packets into a track (`MediaStreamTrack.writeRtp`) with no codec in the way, and
 * does real ICE, DTLS and SRTP, so both targets terminate real transports. Every client sends the
 * pre-built packets of bench/lib/media.ts: VP8-shaped video (a valid VP8 payload
 * descriptor with a 15-bit picture ID, the VP8 payload header on a frame's first packet, every
 * `--keyframe-interval`th frame and the frame after a PLI a keyframe; 30 fps × 3 packets ≈ 600
 * kbps) and opus-shaped audio (50 packets/s of 80 bytes, with ssrc-audio-level). Each payload ends
 * with a trailer carrying the send time (`process.hrtime.bigint()`): one process, one clock.
 *
 * Not realistic: no simulcast (one SSRC per video source, so mediasoup uses SimpleConsumers, not
 * SimulcastConsumers), constant frame sizes (keyframes are not bigger), no congestion control
 * reacting to feedback, receivers send no RTCP feedback for forwarded SSRCs (they count packets at
 * the transport, without an m-line per source: client.ts), loopback only (no loss, no NACKs, no
 * RTX). The delay includes werift's send path (header extensions, SRTP encryption), the kernel's
 * loopback, the worker's forwarding and werift's SRTP decryption, and waits in this process's
 * event loop, which all clients and the bridge's own JavaScript share: it is an upper bound of the
 * forwarding delay, and the difference between the two targets is what octobridge adds.
 * Forwarded packets are counted at the receivers (all SSRCs; "on announced SSRCs" counts only the
 * SSRCs octobridge named in its source maps, or the baseline's consumers).
 *
 * ICE: octobridge's offer is what lib-jitsi-meet applies, without `a=ice-lite`. werift, answering
 * it, is the controlled agent and the bridge nominates its pair (native patch 0011, as JVB controls);
 * a check that arrives before the bridge has werift's credentials gets the signed 487 (patch 0003).
 * `--ice-lite` puts `a=ice-lite` into that offer instead (werift then controls from the start). The
 * baseline's offer always has `a=ice-lite` (mediasoup-client).
 * The bridge channel is opened on SCTP stream 0, as a browser that is the DTLS client opens it
 * (werift would pick stream 1 from its ICE role; see client.ts).
 *
 * The load is far below what a worker can forward (the clients, all in this one Node process, use
 * ~50 us of CPU per packet; a worker ~10): forwarded pps equal the offered load on both targets,
 * and the figure that tells the targets apart is the worker CPU per forwarded packet.
 */
import { parseArgs } from 'node:util';
import { f0, f1, f2, table } from './format.ts';
import { BenchClient, type ReceiveLog } from './lib/client.ts';
import { CpuWindow, percentile, Samples } from './lib/measure.ts';
import { Pacer, senderPps, videoPayloadBytes, type LoadProfile } from './lib/media.ts';
import { startOctobridge } from './lib/octobridge.ts';
import { startRaw } from './lib/raw.ts';
import type { Target } from './lib/target.ts';

const { values: args } = parseArgs({
  options: {
    senders: { type: 'string', default: '4' },
    receivers: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    fps: { type: 'string', default: '30' },
    'packets-per-frame': { type: 'string', default: '3' },
    'video-kbps': { type: 'string', default: '600' },
    'keyframe-interval': { type: 'string', default: '60' },
    'audio-pps': { type: 'string', default: '50' },
    'worker-consumers': { type: 'string' },
    'ice-lite': { type: 'boolean', default: false },
    spread: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

const N = Number(args.senders);
const M = Number(args.receivers);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const PROFILE: LoadProfile = {
  videoFps: Number(args.fps),
  packetsPerFrame: Number(args['packets-per-frame']),
  videoKbps: Number(args['video-kbps']),
  keyframeInterval: Number(args['keyframe-interval']),
  audioPps: Number(args['audio-pps']),
  audioBytes: 80,
};
/**
 * Consumer threshold per worker for the 2-worker run: the senders' paused consumers (each sender
 * gets the other senders' audio + video) plus half the receivers' (2N each), so the second half
 * of the receivers goes to the second worker.
 */
const WORKER_CONSUMERS = Number(args['worker-consumers'] ?? 2 * N * (N - 1) + Math.ceil(M / 2) * 2 * N);

/** What one run of one target measured. */
interface Result {
  target: string;
  workers: number;
  placement?: string;
  windowSeconds: number;
  /** Packets/s handed to werift by all senders. */
  sentPps: number;
  /** Packets/s the receivers would get if every packet reached every receiver. */
  expectedPps: number;
  /** Packets/s arriving at the receivers, all SSRCs. */
  forwardedPps: number;
  /** The same, only on SSRCs announced to the receiver. */
  announcedPps: number;
  /** % of one core, per worker process. */
  workerCpu: number[];
  /** % of one core: this process (werift clients + the bridge's JavaScript). */
  nodeCpu: number;
  delayMs: { p50: number; p99: number; samples: number };
  /** PLIs the senders received (keyframe requests from the target). */
  plis: number;
  /** The clients' ICE role once connected, e.g. `{ controlling: 12 }`. */
  iceRoles: Record<string, number>;
}

/** How often each value occurs. */
function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until every receiver gets packets on 2N announced sources (audio + video of each sender). */
async function waitUntilFlowing(receivers: readonly BenchClient[], timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  const flowing = (r: BenchClient): number => {
    const sources = new Set<string>();
    for (const [ssrc, a] of r.announced) if ((r.received.get(ssrc) ?? 0) > 0) sources.add(`${a.kind}:${a.source}`);
    return sources.size;
  };
  for (;;) {
    const counts = receivers.map(flowing);
    if (counts.every((c) => c >= 2 * N)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`media not flowing after ${timeoutMs} ms: sources per receiver ${counts.join(',')} (want ${2 * N})`);
    await sleep(100);
  }
}

/** Connect N senders and M receivers to `target`, warm up, measure for SECONDS. */
async function run(target: Target): Promise<Result> {
  const log: ReceiveLog = { delays: new Samples(), recording: false };
  const senders = Array.from({ length: N }, (_, i) => new BenchClient(`sender${i}`, 'sender', i, PROFILE, log));
  const receivers = Array.from({ length: M }, (_, i) => new BenchClient(`receiver${i}`, 'receiver', i, PROFILE, log));
  const pacer = new Pacer(PROFILE);
  try {
    for (const s of senders) {
      await target.addSender(s);
      pacer.add(s.stream, s.sink());
    }
    pacer.start();
    for (const r of receivers) await target.addReceiver(r);
    await waitUntilFlowing(receivers);
    await sleep(WARMUP * 1000);

    const pids = target.workerPids();
    const cpu = new CpuWindow([...pids, process.pid]);
    const total = (): number => receivers.reduce((n, r) => n + r.receivedTotal, 0);
    const announced = (): number => receivers.reduce((n, r) => n + r.receivedOnAnnounced(), 0);
    const start = { t: performance.now(), total: total(), announced: announced(), sent: pacer.sent };
    log.recording = true;
    await sleep(SECONDS * 1000);
    log.recording = false;
    const wall = (performance.now() - start.t) / 1000;
    const cpuPct = cpu.percent();
    const delays = log.delays.sorted();
    const sentPps = (pacer.sent - start.sent) / wall;
    const placement = await target.placement();
    return {
      target: target.name,
      workers: pids.length,
      ...(placement ? { placement } : {}),
      windowSeconds: wall,
      sentPps,
      expectedPps: sentPps * M,
      forwardedPps: (total() - start.total) / wall,
      announcedPps: (announced() - start.announced) / wall,
      workerCpu: cpuPct.slice(0, pids.length),
      nodeCpu: cpuPct[pids.length] ?? 0,
      delayMs: { p50: percentile(delays, 50), p99: percentile(delays, 99), samples: delays.length },
      plis: senders.reduce((n, s) => n + s.plis, 0),
      iceRoles: countBy([...senders, ...receivers].map((c) => c.pc.iceTransports[0]?.role ?? 'none')),
    };
  } finally {
    pacer.stop();
    await Promise.all([...senders, ...receivers].map((c) => c.close().catch(() => undefined)));
    await target.close();
  }
}

// ------------------------------------------------------------------ printing

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Forwarded packets/s per CPU-second of the workers (what one fully busy core would forward). */
const ppsPerCpuSecond = (r: Result): number => r.forwardedPps / (sum(r.workerCpu) / 100);

function resultRow(r: Result): string[] {
  return [
    r.target,
    String(N),
    String(M),
    f0(r.expectedPps),
    f0(r.forwardedPps),
    f0(r.announcedPps),
    f0(r.forwardedPps / r.workers),
    f0(ppsPerCpuSecond(r)),
    r.workerCpu.map(f1).join(' + '),
    f1(r.nodeCpu),
    f2(r.delayMs.p50),
    f2(r.delayMs.p99),
  ];
}

const HEADER = [
  'target',
  'senders',
  'receivers',
  'expected pps',
  'forwarded pps',
  'on announced',
  'pps/worker',
  'pps/worker-CPU-s',
  'worker CPU %',
  'node CPU %',
  'delay p50 ms',
  'delay p99 ms',
];

function printLoad(): void {
  const perSender = senderPps(PROFILE);
  console.log(
    `forwarding: ${N} senders -> ${M} receivers, one conference, werift clients over loopback (ICE + DTLS + SRTP), ${SECONDS} s window after ${WARMUP} s warm-up`,
  );
  console.log(
    `per sender: video ${PROFILE.videoFps} fps x ${PROFILE.packetsPerFrame} packets of ${videoPayloadBytes(PROFILE)} B (${PROFILE.videoKbps} kbps, keyframe every ${PROFILE.keyframeInterval} frames), audio ${PROFILE.audioPps} x ${PROFILE.audioBytes} B = ${perSender} packets/s`,
  );
}

/** What the columns mean. */
const LEGEND = [
  'expected pps: packets/s sent x receivers; forwarded pps: RTP packets/s arriving at the receivers (all SSRCs);',
  'on announced: only on SSRCs the receiver was told about (source maps / the consumers); pps/worker: forwarded pps per',
  'mediasoup worker process; pps/worker-CPU-s: forwarded pps per second of worker CPU (what one busy core would forward);',
  'CPU %: of one core, from /proc/<pid>/stat; node: this process (werift clients + bridge JS); delay: send -> receive.',
].join('\n');

function printComparison(octo: Result, raw: Result): void {
  console.log('');
  console.log(table(HEADER, [resultRow(octo), resultRow(raw)]));
  console.log(LEGEND);
  console.log('');
  const ratio = octo.forwardedPps / raw.forwardedPps;
  console.log(
    `octobridge / raw: forwarded pps ${f2(ratio)} (target >= 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'}), pps per worker-CPU-s ${f2(ppsPerCpuSecond(octo) / ppsPerCpuSecond(raw))}, worker CPU ${f2(sum(octo.workerCpu) / sum(raw.workerCpu))}`,
  );
  console.log(
    `delay octobridge - raw: p50 ${f2(octo.delayMs.p50 - raw.delayMs.p50)} ms, p99 ${f2(octo.delayMs.p99 - raw.delayMs.p99)} ms (${octo.delayMs.samples} / ${raw.delayMs.samples} samples)`,
  );
  const clientPackets = raw.sentPps + raw.forwardedPps;
  console.log(
    `werift clients: node CPU ${f1(raw.nodeCpu)}% in the baseline (only the clients run in it there) = ${f2(raw.nodeCpu / (N + M))}% per client, ` +
      `~${f0((raw.nodeCpu / 100 / clientPackets) * 1e6)} us per packet sent or received`,
  );
  const roles = (r: Result): string =>
    Object.entries(r.iceRoles)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
  console.log(
    `client ICE roles once connected: octobridge ${roles(octo)} (offer ${args['ice-lite'] ? 'with' : 'without'} a=ice-lite), raw ${roles(raw)} (offer with a=ice-lite)`,
  );
  console.log(`keyframe requests (PLI) at the senders during the runs: octobridge ${octo.plis}, raw ${raw.plis}`);
}

function printSpread(one: Result, two: Result | undefined): void {
  console.log('');
  if (!two) {
    console.log(`octobridge, conference over 2 workers vs 1: 1 worker only (pool not available)`);
    return;
  }
  console.log(`octobridge, conference over 2 workers vs 1 (OCTOBRIDGE_WORKERS=2, OCTOBRIDGE_WORKER_CONFERENCE_CONSUMERS=${WORKER_CONSUMERS}):`);
  const label = (r: Result, n: string): Result => ({ ...r, target: `${n} (${r.placement ?? `${r.workers} worker(s)`})` });
  console.log(table(HEADER, [resultRow(label(one, '1 worker')), resultRow(label(two, '2 workers'))]));
  console.log(
    `2 workers / 1 worker: forwarded pps ${f2(two.forwardedPps / one.forwardedPps)}, worker CPU total ${f2(sum(two.workerCpu) / sum(one.workerCpu))}, delay p50 ${f2(two.delayMs.p50 - one.delayMs.p50)} ms / p99 ${f2(two.delayMs.p99 - one.delayMs.p99)} ms`,
  );
}

// ------------------------------------------------------------------ main

/** octobridge with a 2-worker pool and a low per-worker consumer threshold; undefined without a pool. */
async function runSpread(): Promise<Result | undefined> {
  const target = await startOctobridge('octobridge 2 workers', {
    env: { OCTOBRIDGE_WORKERS: '2', OCTOBRIDGE_WORKER_CONFERENCE_CONSUMERS: String(WORKER_CONSUMERS) },
    iceLite: args['ice-lite'],
  });
  if (target.workerPids().length >= 2) return run(target);
  await target.close();
  return undefined;
}

async function main(): Promise<void> {
  if (!args.json) printLoad();
  const octo = await run(await startOctobridge('octobridge', { env: { OCTOBRIDGE_WORKERS: '1' }, iceLite: args['ice-lite'] }));
  const raw = await run(await startRaw('raw mediasoup'));
  const two = args.spread ? await runSpread() : undefined;
  if (args.json) {
    console.log(JSON.stringify({ senders: N, receivers: M, profile: PROFILE, octobridge: octo, raw, twoWorkers: two ?? null }, null, 2));
  } else {
    printComparison(octo, raw);
    if (args.spread) printSpread(octo, two);
  }
}

await main();
// werift keeps timers and sockets of closed peer connections around; nothing is left to do.
process.exit(0);
