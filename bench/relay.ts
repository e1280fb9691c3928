/**
 * Relay benchmark: what a relay hop between two octobridges costs, over WireGuard and over a plain veth.
 *
 *   npm run bench:relay -- [--senders 8] [--seconds 20] [--warmup 3] [--paths wg,veth]
 *     [--fps 30] [--packets-per-frame 3] [--video-kbps 600] [--keyframe-interval 60] [--audio-pps 50] [--json]
 *
 * Set-up (needs root, ip netns, wireguard-go, wg): two network namespaces `eu` and `us` joined by a veth (the
 * underlay), an octobridge process in each (`node src/main.ts`, bench/lib/wireguard.ts), one mediasoup worker
 * each. The clients are bench/forwarding's werift clients in this process (real ICE + DTLS + SRTP), reaching each
 * bridge over its namespace's link to the host; every packet carries its send time (bench/lib/media.ts), so
 * the delay is measured per packet, senders and receivers sharing one clock. This process plays Jicofo over the
 * bridges' colibri2 REST APIs (bench/relay/jicofo.ts).
 *
 * For each path, N senders on eu, then four phases measured one after the other with the same senders:
 *   1. `ingest`:     no receiver (the senders' cost alone);
 *   2. `one bridge`: one receiver on eu getting every sender's audio + video (the baseline: the same clients, both
 *                    on one bridge);
 *   3. `both`:       a second receiver on us, eu and us linked by a relay: the same packets reach the eu receiver
 *                    directly and the us receiver through eu's worker → the relay → us's worker, at the same time.
 *                    The per-packet difference of the two arrival times is the relay hop's added delay, free of
 *                    whatever stalls this process or the machine (both receivers see it alike);
 *   4. `relay`:      the eu receiver gone: every stream only crosses the relay (the CPU with the relay hop).
 * Paths:
 *   - `wg`:   the bridges run WireGuard themselves (`OCTOBRIDGE_WG_*`, wireguard-go); relays listen on the tunnel
 *             addresses (what a bridge with WireGuard always does), so relay packets go worker → tun → wireguard-go
 *             → underlay veth → wireguard-go → tun → worker.
 *   - `veth`: the same bridges without WireGuard. A bridge without WireGuard puts its relays on its media listen
 *             address (src/bridge.ts `relayListenIp`), here the namespace's own address, and each namespace routes
 *             the other's address over the underlay veth (a /32 via the link, bench/lib/wireguard.ts
 *             `routeLocalIps`): the same relays on the plain veth path. No bench-only code in the bridge.
 *
 * Reported per phase: forwarded packets/s at the receiver(s), CPU % of one core (from /proc/<pid>/stat) of each
 * bridge's worker, of both wireguard-go processes and of this process (the werift clients), the whole machine's busy
 * CPU (/proc/stat: kernel work and anything else running included), the underlay's bytes, and p50/p99 of the
 * per-packet delay (sender hands it to werift → receiver decrypted it). Then a summary per path, with ratios against
 * that run's one-bridge baseline: the relay hop's added delay (per packet, phase `both`), delay and worker CPU per
 * forwarded stream (one sender's audio + video to the receiver: the phase's worker CPU / senders) without
 * (`one bridge`) and with (`relay`) the relay hop, wireguard-go's CPU per stream, CPU µs per forwarded packet; and
 * wireguard-go against the plain veth path.

 * The bridges run with `JVB_CC_TRUST_BWE=false`: the werift receivers send no transport-cc feedback for forwarded
 * SSRCs, so the estimate would stay at its initial 2.5 Mbit/s and cap what the allocator forwards.
 *
 * Load: 8 senders by default keep this process (all clients, ~25 % of a core) lightly loaded, so that the delays
 * are the bridges' and not its event loop's; with 16 the per-packet relay-hop figures roughly double in p99 from
 * queueing here while wireguard-go's CPU per packet drops (it batches more).
 *
 * Not realistic: as bench/forwarding (synthetic VP8/opus without simulcast, constant frame sizes, no congestion
 * control, no loss); the underlay is a veth with no delay (no netem here), so the added delay is processing only.
 */
import { parseArgs } from 'node:util';
import { f0, f1, f2, table } from './format.ts';
import { BenchClient, type ReceiveLog } from './lib/client.ts';
import { CpuWindow, percentile, Samples } from './lib/measure.ts';
import { Pacer, senderPps, videoPayloadBytes, type LoadProfile } from './lib/media.ts';
import { RestJicofo, type RelayBridge } from './relay/jicofo.ts';
import { linkBytes, MachineCpuWindow, PairedArrivals } from './relay/measure.ts';
import { createWgMesh, startBridgeInNetns, wireguardSupport, type BridgeProcess, type WgMesh } from './lib/wireguard.ts';

const { values: args } = parseArgs({
  options: {
    senders: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    paths: { type: 'string', default: 'wg,veth' },
    fps: { type: 'string', default: '30' },
    'packets-per-frame': { type: 'string', default: '3' },
    'video-kbps': { type: 'string', default: '600' },
    'keyframe-interval': { type: 'string', default: '60' },
    'audio-pps': { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
});

const N = Number(args.senders);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const PATHS = args.paths.split(',').map((p) => p.trim()) as ('wg' | 'veth')[];
const PROFILE: LoadProfile = {
  videoFps: Number(args.fps),
  packetsPerFrame: Number(args['packets-per-frame']),
  videoKbps: Number(args['video-kbps']),
  keyframeInterval: Number(args['keyframe-interval']),
  audioPps: Number(args['audio-pps']),
  audioBytes: 80,
};
for (const p of PATHS) if (p !== 'wg' && p !== 'veth') throw new Error(`--paths: unknown path ${p} (wg, veth)`);

type Phase = 'ingest' | 'one bridge' | 'both' | 'relay';

/** One phase's measurements. */
interface PhaseResult {
  path: 'wg' | 'veth';
  phase: Phase;
  windowSeconds: number;
  sentPps: number;
  /** RTP packets/s arriving at the receiver (0 in `ingest`). */
  forwardedPps: number;
  /** % of one core. */
  cpu: { euWorker: number; usWorker: number; wireguardGo: number; node: number; machine: number };
  /** kbit/s on the underlay veth (both directions). */
  underlayKbps: number;
  delayMs: { p50: number; p99: number; samples: number };
  /** Phase `both`: the us receiver's delay (through the relay); `delayMs` is then the eu receiver's. */
  relayedDelayMs?: { p50: number; p99: number; samples: number };
  /** Phase `both`: per packet, arrival at the us receiver − arrival at the eu receiver. */
  addedMs?: { p50: number; p99: number; pairs: number; unpaired: number };
  /** The relay transports' addresses: eu's and us's. */
  relay?: { eu: string; us: string };
}

const stats = (sorted: Float64Array): { p50: number; p99: number; samples: number } => ({
  p50: percentile(sorted, 50),
  p99: percentile(sorted, 99),
  samples: sorted.length,
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Until `r` gets packets on 2N announced sources (audio + video of each sender). */
async function waitUntilFlowing(r: BenchClient, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const sources = new Set<string>();
    for (const [ssrc, a] of r.announced) if ((r.received.get(ssrc) ?? 0) > 0) sources.add(`${a.kind}:${a.source}`);
    if (sources.size >= 2 * N) return;
    if (Date.now() - t0 > timeoutMs) {
      const announced = [...r.announced.values()].map((a) => `${a.kind}:${a.source}`);
      throw new Error(
        `${r.id}: media not flowing after ${timeoutMs} ms: ${sources.size} of ${2 * N} sources (${[...sources].join(' ')}; announced: ${announced.join(' ')}; SSRCs received: ${[...r.received.keys()].join(' ')})`,
      );
    }
    await sleep(100);
  }
}

const PRIVATE_PORT = 8080;

/** The bridges of one path: eu and us in their namespaces. */
async function startBridges(mesh: WgMesh, path: 'wg' | 'veth'): Promise<Record<'eu' | 'us', BridgeProcess>> {
  const env = (r: 'eu' | 'us'): Record<string, string> => {
    const s = mesh.site(r);
    return {
      ENABLE_OCTO: '1',
      JVB_OCTO_REGION: r,
      JVB_OCTO_RELAY_ID: s.relayId,
      OCTOBRIDGE_FOCUS: 'false',
      COLIBRI_REST_ENABLED: 'true',
      // Everything on the namespace's own address, which this process reaches over the namespace's host link.
      OCTOBRIDGE_PRIVATE_HOST: s.localIp,
      OCTOBRIDGE_PRIVATE_PORT: String(PRIVATE_PORT),
      OCTOBRIDGE_PUBLIC_HOST: s.localIp,
      OCTOBRIDGE_PUBLIC_PORT: '8000',
      OCTOBRIDGE_LISTEN_IP: s.localIp,
      JVB_ADVERTISE_IPS: s.localIp,
      JVB_PORT: '10000',
      // The werift receivers send no transport-cc feedback for forwarded SSRCs (bench/lib/client.ts), so the
      // estimate would stay at its initial 2.5 Mbit/s and the allocator would forward only 4 of the senders' videos.
      JVB_CC_TRUST_BWE: 'false',
      ...(path === 'wg' ? mesh.wireguardEnv(r, { checkIntervalMs: 5000 }) : {}),
    };
  };
  const [eu, us] = await Promise.all((['eu', 'us'] as const).map((r) => startBridgeInNetns(mesh.site(r).ns, `${r}-${path}`, env(r))));
  return { eu: eu!, us: us! };
}

/** One path: start the bridges, connect the senders, measure the four phases, stop. */
async function runPath(mesh: WgMesh, path: 'wg' | 'veth'): Promise<PhaseResult[]> {
  const bridges = await startBridges(mesh, path);
  const eu = mesh.site('eu');
  const at = (r: 'eu' | 'us'): RelayBridge => ({ relayId: mesh.site(r).relayId, restUrl: `http://${mesh.site(r).localIp}:${PRIVATE_PORT}` });
  const jicofo = new RestJicofo();
  const senderLog: ReceiveLog = { delays: new Samples(), recording: false };
  const senders = Array.from({ length: N }, (_, i) => new BenchClient(`${path}-s${i}`, 'sender', i, PROFILE, senderLog, eu.ns.hostIp));
  const receivers: BenchClient[] = [];
  const pacer = new Pacer(PROFILE);
  const underlay = { ns: eu.ns.name, dev: eu.links.get('us')!.veth };
  const results: PhaseResult[] = [];

  /** Measure a window: CPU, the underlay, and the delays of the receivers given (`both`: eu first, then us). */
  const measure = async (phase: Phase, rx: { client: BenchClient; log: ReceiveLog }[], paired?: PairedArrivals): Promise<PhaseResult> => {
    const wg = [bridges.eu.wireguardGoPid(), bridges.us.wireguardGoPid()].filter((p): p is number => p !== undefined);
    if (path === 'wg' && wg.length !== 2) throw new Error(`wireguard-go not running on both bridges (pids ${wg.join(', ')})`);
    const workers = [bridges.eu.workerPids(), bridges.us.workerPids()];
    if (workers.some((w) => w.length !== 1)) throw new Error(`expected one worker per bridge, got ${workers.map((w) => w.length).join(' and ')}`);
    const pids = [workers[0]![0]!, workers[1]![0]!, ...wg, process.pid];
    const cpu = new CpuWindow(pids);
    const machine = new MachineCpuWindow();
    const bytes0 = linkBytes(underlay.ns, underlay.dev);
    const received = (): number => rx.reduce((n, r) => n + r.client.receivedTotal, 0);
    const start = { t: performance.now(), received: received(), sent: pacer.sent };
    for (const r of rx) r.log.recording = true;
    if (paired) paired.recording = true;
    await sleep(SECONDS * 1000);
    for (const r of rx) r.log.recording = false;
    if (paired) paired.recording = false;
    const wall = (performance.now() - start.t) / 1000;
    const pct = cpu.percent();
    const machinePct = machine.percent();
    const result: PhaseResult = {
      path,
      phase,
      windowSeconds: wall,
      sentPps: (pacer.sent - start.sent) / wall,
      forwardedPps: (received() - start.received) / wall,
      cpu: {
        euWorker: pct[0] ?? 0,
        usWorker: pct[1] ?? 0,
        wireguardGo: wg.length ? (pct[2] ?? 0) + (pct[3] ?? 0) : 0,
        node: pct[pids.length - 1] ?? 0,
        machine: machinePct,
      },
      underlayKbps: ((linkBytes(underlay.ns, underlay.dev) - bytes0) * 8) / wall / 1000,
      delayMs: stats(rx[0]?.log.delays.sorted() ?? new Float64Array()),
      ...(rx[1] ? { relayedDelayMs: stats(rx[1].log.delays.sorted()) } : {}),
    };
    if (paired) {
      const d = paired.differences();
      result.addedMs = { p50: percentile(d.sorted, 50), p99: percentile(d.sorted, 99), pairs: d.sorted.length, unpaired: d.onlyOne };
    }
    if (!args.json) {
      const added = result.addedMs ? `, relay hop per packet p50 +${f2(result.addedMs.p50)} ms p99 +${f2(result.addedMs.p99)} ms` : '';
      console.error(
        `[bench:relay] ${path} / ${phase}: ${f0(result.forwardedPps)} pps forwarded, delay p50 ${f2(result.delayMs.p50)} ms p99 ${f2(result.delayMs.p99)} ms${added}`,
      );
    }
    return result;
  };
  const receiver = async (r: 'eu' | 'us'): Promise<{ client: BenchClient; log: ReceiveLog }> => {
    const log: ReceiveLog = { delays: new Samples(), recording: false };
    const client = new BenchClient(`${path}-r-${r}`, 'receiver', 0, PROFILE, log, mesh.site(r).ns.hostIp);
    receivers.push(client);
    await jicofo.add(at(r), client);
    return { client, log };
  };

  try {
    for (const s of senders) {
      await jicofo.add(at('eu'), s);
      pacer.add(s.stream, s.sink());
    }
    pacer.start();
    await sleep(WARMUP * 1000);
    results.push(await measure('ingest', []));

    // One bridge: a receiver on eu.
    const rEu = await receiver('eu');
    await waitUntilFlowing(rEu.client);
    await sleep(WARMUP * 1000);
    results.push(await measure('one bridge', [rEu]));

    // Both: a receiver on us too, eu and us linked by a relay; the same packets reach both receivers.
    const rUs = await receiver('us');
    const addr = await jicofo.link(at('eu'), at('us'));
    const relay = { eu: addr.a, us: addr.b };
    const paired = new PairedArrivals();
    paired.attach(rEu.client, 0);
    paired.attach(rUs.client, 1);
    await waitUntilFlowing(rUs.client);
    await sleep(WARMUP * 1000);
    rEu.log.delays = new Samples();
    results.push({ ...(await measure('both', [rEu, rUs], paired)), relay });

    // Relay: the eu receiver leaves; every stream only crosses the relay.
    await jicofo.remove(rEu.client);
    await rEu.client.close();
    rUs.log.delays = new Samples();
    await sleep(WARMUP * 1000);
    results.push({ ...(await measure('relay', [rUs])), relay });
    return results;
  } finally {
    pacer.stop();
    await Promise.all([...senders, ...receivers].map((c) => c.close().catch(() => undefined)));
    await Promise.all([bridges.eu.stop(), bridges.us.stop()]);
  }
}

// ------------------------------------------------------------------ printing

const HEADER = [
  'path',
  'phase',
  'fwd pps',
  'eu worker %',
  'us worker %',
  'wireguard-go %',
  'node %',
  'machine %',
  'underlay kbit/s',
  'delay p50 ms',
  'delay p99 ms',
];

function row(r: PhaseResult): string[] {
  const delay = (k: 'p50' | 'p99'): string =>
    r.phase === 'ingest' ? '-' : r.relayedDelayMs ? `${f2(r.delayMs[k])} / ${f2(r.relayedDelayMs[k])}` : f2(r.delayMs[k]);
  return [
    r.path,
    r.phase,
    f0(r.forwardedPps),
    f1(r.cpu.euWorker),
    f1(r.cpu.usWorker),
    r.path === 'wg' ? f1(r.cpu.wireguardGo) : '-',
    f1(r.cpu.node),
    f1(r.cpu.machine),
    f0(r.underlayKbps),
    delay('p50'),
    delay('p99'),
  ];
}

/** Per forwarded stream (one sender's audio + video to the receiver), % of one core, and µs of CPU per forwarded packet. */
function perStream(r: PhaseResult): { workers: number; eu: number; us: number; wg: number; total: number; usPerPacket: number } {
  const { euWorker: eu, usWorker: us, wireguardGo: wg } = r.cpu;
  return {
    workers: (eu + us) / N,
    eu: eu / N,
    us: us / N,
    wg: wg / N,
    total: (eu + us + wg) / N,
    usPerPacket: (((eu + us + wg) / 100) * 1e6) / r.forwardedPps,
  };
}

const SUMMARY_HEADER = [
  '',
  'delay p50 ms',
  'p99',
  'relay hop +p50 ms',
  '+p99',
  'workers %/stream',
  'wireguard-go %/stream',
  'total %/stream',
  'CPU µs/packet',
  'x baseline: delay p50',
  'p99',
  'CPU',
];

const phaseOf = (all: PhaseResult[], p: 'wg' | 'veth', ph: Phase): PhaseResult | undefined => all.find((r) => r.path === p && r.phase === ph);

/**
 * Per path: the one-bridge baseline and the relay. Delays from phase `both` (the eu receiver is the baseline, the us
 * receiver the relay, the same packets at the same moment; the added delay per packet), CPU from the sequential
 * phases `one bridge` and `relay`; ratios against the baseline.
 */
function summaryRows(all: PhaseResult[]): string[][] {
  const rows: string[][] = [];
  for (const p of PATHS) {
    const one = phaseOf(all, p, 'one bridge');
    const both = phaseOf(all, p, 'both');
    const relay = phaseOf(all, p, 'relay');
    if (!one || !both?.relayedDelayMs || !both.addedMs || !relay) continue;
    const a = perStream(one);
    const b = perStream(relay);
    rows.push([
      `one bridge (${p} run: baseline)`,
      f2(both.delayMs.p50),
      f2(both.delayMs.p99),
      '-',
      '-',
      f2(a.workers),
      p === 'wg' ? f2(a.wg) : '-',
      f2(a.total),
      f1(a.usPerPacket),
      '1.00',
      '1.00',
      '1.00',
    ]);
    rows.push([
      `relay over ${p === 'wg' ? 'WireGuard' : 'the plain veth'}`,
      f2(both.relayedDelayMs.p50),
      f2(both.relayedDelayMs.p99),
      f2(both.addedMs.p50),
      f2(both.addedMs.p99),
      f2(b.workers),
      p === 'wg' ? f2(b.wg) : '-',
      f2(b.total),
      f1(b.usPerPacket),
      f2(both.relayedDelayMs.p50 / both.delayMs.p50),
      f2(both.relayedDelayMs.p99 / both.delayMs.p99),
      f2(b.total / a.total),
    ]);
  }
  return rows;
}

function printFindings(all: PhaseResult[]): void {
  console.log('');
  for (const p of PATHS) {
    const one = phaseOf(all, p, 'one bridge')!;
    const both = phaseOf(all, p, 'both')!;
    const relay = phaseOf(all, p, 'relay')!;
    const ingest = phaseOf(all, p, 'ingest')!;
    const a = perStream(one);
    const b = perStream(relay);
    console.log(`${p === 'wg' ? 'over WireGuard' : 'over the plain veth'} (relay transports: eu ${relay.relay?.eu}, us ${relay.relay?.us}):`);
    console.log(
      `  relay hop added delay per packet: p50 +${f2(both.addedMs!.p50)} ms, p99 +${f2(both.addedMs!.p99)} ms (${both.addedMs!.pairs} packets at both receivers, ${both.addedMs!.unpaired} at one only); ` +
        `sequential windows: one bridge p50 ${f2(one.delayMs.p50)} / p99 ${f2(one.delayMs.p99)} ms, relay p50 ${f2(relay.delayMs.p50)} / p99 ${f2(relay.delayMs.p99)} ms`,
    );
    console.log(
      `  worker CPU per forwarded stream: ${f2(a.workers)} % of a core without the relay hop (${f2(ingest.cpu.euWorker / N)} of it ingest), ${f2(b.workers)} % with it ` +
        `(eu ${f2(b.eu)} + us ${f2(b.us)}): the relay hop costs +${f2(b.workers - a.workers)} % per stream in the workers` +
        (p === 'wg' ? ` and +${f2(b.wg - a.wg)} % in wireguard-go` : ''),
    );
  }
  const w = phaseOf(all, 'wg', 'relay');
  const v = phaseOf(all, 'veth', 'relay');
  const wb = phaseOf(all, 'wg', 'both');
  const vb = phaseOf(all, 'veth', 'both');
  if (!w || !v || !wb?.addedMs || !vb?.addedMs) return;
  const sw = perStream(w);
  const sv = perStream(v);
  console.log('wireguard-go vs the plain veth path:');
  console.log(`  relay hop added delay: p50 +${f2(wb.addedMs.p50)} vs +${f2(vb.addedMs.p50)} ms, p99 +${f2(wb.addedMs.p99)} vs +${f2(vb.addedMs.p99)} ms`);
  console.log(
    `  CPU per forwarded stream with the relay hop: ${f2(sw.total)} vs ${f2(sv.total)} % (x${f2(sw.total / sv.total)}): workers ${f2(sw.workers)} vs ${f2(sv.workers)}, wireguard-go ${f2(sw.wg)}; ` +
      `wireguard-go ${f0((w.cpu.wireguardGo / 100 / w.forwardedPps) * 1e6)} µs per relayed packet (both ends)`,
  );
  console.log(`  underlay: ${f0(w.underlayKbps)} vs ${f0(v.underlayKbps)} kbit/s (WireGuard framing x${f2(w.underlayKbps / v.underlayKbps)})`);
}

const LEGEND = [
  'fwd pps: RTP packets/s arriving at the receiver(s); CPU %: of one core over the window (/proc/<pid>/stat); node: this',
  'process (the werift clients); machine: /proc/stat, every process and the kernel (anything else running on the machine',
  'too); underlay: bytes on the eu–us veth, both directions; delay: sender hands the packet to werift → the receiver',
  'decrypted it (phase both: eu receiver / us receiver). Summary: delays from phase both (the same packets at both',
  'receivers at once; relay hop = per-packet arrival difference), CPU from phases one bridge and relay; a stream = one',
  "sender's audio + video forwarded to the receiver, %/stream = the phase's CPU / senders (ingest included).",
].join('\n');

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const support = wireguardSupport();
  if (!support.ok) {
    console.error(`bench:relay needs root, network namespaces and wireguard-go: ${support.reason}`);
    process.exit(2);
  }
  if (!args.json) {
    console.log(`relay: ${N} senders on eu; receivers on eu, on both, on us; ${SECONDS} s windows after ${WARMUP} s warm-up; paths ${PATHS.join(', ')}`);
    console.log(
      `per sender: video ${PROFILE.videoFps} fps x ${PROFILE.packetsPerFrame} packets of ${videoPayloadBytes(PROFILE)} B (${PROFILE.videoKbps} kbps), audio ${PROFILE.audioPps} x ${PROFILE.audioBytes} B = ${senderPps(PROFILE)} packets/s`,
    );
  }
  const mesh = await createWgMesh(['eu', 'us'], { routeLocalIps: true });
  const all: PhaseResult[] = [];
  try {
    for (const p of PATHS) all.push(...(await runPath(mesh, p)));
  } finally {
    await mesh.close();
  }
  if (args.json) {
    console.log(JSON.stringify({ senders: N, profile: PROFILE, seconds: SECONDS, results: all }, null, 2));
    return;
  }
  console.log('');
  console.log(table(HEADER, all.map(row)));
  console.log('');
  console.log(table(SUMMARY_HEADER, summaryRows(all)));
  console.log(LEGEND);
  printFindings(all);
}

await main();
// werift keeps timers and sockets of closed peer connections around; nothing is left to do.
process.exit(0);
