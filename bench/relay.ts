/**
 * Relay benchmark (issue 7): what a relay hop between two octobridges costs, over WireGuard and over a plain veth.
 *
 *   npm run bench:relay -- [--senders 16] [--seconds 15] [--warmup 3] [--paths wg,veth]
 *     [--fps 30] [--packets-per-frame 3] [--video-kbps 600] [--keyframe-interval 60] [--audio-pps 50] [--json]
 *
 * Set-up (needs root, ip netns, wireguard-go, wg): two network namespaces `eu` and `us` joined by a veth (the
 * underlay), an octobridge process in each (`node src/main.ts`, test/helpers/wireguard.ts), one mediasoup worker
 * each. The clients are bench/forwarding's werift clients in this process (real ICE + DTLS + SRTP), reaching each
 * bridge over its namespace's link to the host; every packet carries its send time (bench/forwarding/media.ts), so
 * the delay is measured per packet, senders and receivers sharing one clock. This process plays Jicofo over the
 * bridges' colibri2 REST APIs (bench/relay/jicofo.ts).
 *
 * For each path, N senders on eu, then three phases measured one after the other with the same senders:
 *   1. `ingest`:     no receiver (the senders' cost alone: what the other phases are compared from);
 *   2. `one bridge`: one receiver on eu getting every sender's audio + video (the baseline: the same two kinds of
 *                    clients on one bridge);
 *   3. `relay`:      that receiver gone, one receiver on us instead, eu and us linked by a relay: every stream
 *                    crosses eu's worker → the relay → us's worker.
 * Paths:
 *   - `wg`:   the bridges run WireGuard themselves (`OCTOBRIDGE_WG_*`, wireguard-go); relays listen on the tunnel
 *             addresses (what a bridge with WireGuard always does), so relay packets go worker → tun → wireguard-go
 *             → underlay veth → wireguard-go → tun → worker.
 *   - `veth`: the same bridges without WireGuard. A bridge without WireGuard puts its relays on its media listen
 *             address (src/bridge.ts `relayListenIp`), here the namespace's own address, and each namespace routes
 *             the other's address over the underlay veth (a /32 via the link, test/helpers/wireguard.ts
 *             `routeLocalIps`): the same relays on the plain veth path. No bench-only code in the bridge.
 *
 * Reported per phase: forwarded packets/s at the receiver, CPU % of one core (from /proc/<pid>/stat) of each
 * bridge's worker, of both wireguard-go processes and of this process (the werift clients), the whole machine's busy
 * CPU (/proc/stat: kernel work included), the underlay's bytes, and p50/p99 of the per-packet delay (sender hands
 * it to werift → receiver decrypted it). Then: the relay hop's added delay (relay − one bridge), the CPU per
 * forwarded stream (one sender's audio + video to one receiver) above ingest, with and without the relay, and
 * wireguard-go's cost against the plain veth path, with ratios against the one-bridge baseline.
 *
 * Not realistic: as bench/forwarding (synthetic VP8/opus without simulcast, constant frame sizes, no congestion
 * control, no loss); the underlay is a veth with no delay (no netem here), so the added delay is processing only.
 */
import { parseArgs } from 'node:util';
import { f0, f1, f2, table } from './format.ts';
import { BenchClient, type ReceiveLog } from './forwarding/client.ts';
import { CpuWindow, percentile, Samples } from './forwarding/measure.ts';
import { Pacer, senderPps, videoPayloadBytes, type LoadProfile } from './forwarding/media.ts';
import { RestJicofo, type RelayBridge } from './relay/jicofo.ts';
import { linkBytes, MachineCpuWindow } from './relay/measure.ts';
import { createWgMesh, startBridgeInNetns, wireguardSupport, type BridgeProcess, type WgMesh } from '../test/helpers/wireguard.ts';

const { values: args } = parseArgs({
  options: {
    senders: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '15' },
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

type Phase = 'ingest' | 'one bridge' | 'relay';

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
  /** The relay transports' addresses (`relay` phase): eu's and us's. */
  relay?: { eu: string; us: string };
}

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
      throw new Error(`${r.id}: media not flowing after ${timeoutMs} ms: ${sources.size} of ${2 * N} sources (${[...sources].join(' ')}; announced: ${announced.join(' ')}; SSRCs received: ${[...r.received.keys()].join(' ')})`);
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
      // The werift receivers send no transport-cc feedback for forwarded SSRCs (bench/forwarding/client.ts), so the
      // estimate would stay at its initial 2.5 Mbit/s and the allocator would forward only 4 of the senders' videos.
      JVB_CC_TRUST_BWE: 'false',
      ...(path === 'wg' ? mesh.wireguardEnv(r, { checkIntervalMs: 5000 }) : {}),
    };
  };
  const [eu, us] = await Promise.all((['eu', 'us'] as const).map((r) => startBridgeInNetns(mesh.site(r).ns, `${r}-${path}`, env(r))));
  return { eu: eu!, us: us! };
}

/** One path: start the bridges, connect the senders, measure the three phases, stop. */
async function runPath(mesh: WgMesh, path: 'wg' | 'veth'): Promise<PhaseResult[]> {
  const bridges = await startBridges(mesh, path);
  const eu = mesh.site('eu');
  const us = mesh.site('us');
  const at = (r: 'eu' | 'us'): RelayBridge => ({ relayId: mesh.site(r).relayId, restUrl: `http://${mesh.site(r).localIp}:${PRIVATE_PORT}` });
  const jicofo = new RestJicofo();
  const senderLog: ReceiveLog = { delays: new Samples(), recording: false };
  const senders = Array.from({ length: N }, (_, i) => new BenchClient(`${path}-s${i}`, 'sender', i, PROFILE, senderLog, eu.ns.hostIp));
  const receivers: BenchClient[] = [];
  const pacer = new Pacer(PROFILE);
  const underlay = { ns: eu.ns.name, dev: eu.links.get('us')!.veth };
  const results: PhaseResult[] = [];

  const measure = async (phase: Phase, receiver: BenchClient | undefined, log: ReceiveLog | undefined): Promise<PhaseResult> => {
    const wg = [bridges.eu.wireguardGoPid(), bridges.us.wireguardGoPid()].filter((p): p is number => p !== undefined);
    if (path === 'wg' && wg.length !== 2) throw new Error(`wireguard-go not running on both bridges (pids ${wg.join(', ')})`);
    const workers = [bridges.eu.workerPids(), bridges.us.workerPids()];
    if (workers.some((w) => w.length !== 1)) throw new Error(`expected one worker per bridge, got ${workers.map((w) => w.length).join(' and ')}`);
    const pids = [workers[0]![0]!, workers[1]![0]!, ...wg, process.pid];
    const cpu = new CpuWindow(pids);
    const machine = new MachineCpuWindow();
    const bytes0 = linkBytes(underlay.ns, underlay.dev);
    const start = { t: performance.now(), received: receiver?.receivedTotal ?? 0, sent: pacer.sent };
    if (log) log.recording = true;
    await sleep(SECONDS * 1000);
    if (log) log.recording = false;
    const wall = (performance.now() - start.t) / 1000;
    const pct = cpu.percent();
    const machinePct = machine.percent();
    const delays = log?.delays.sorted() ?? new Float64Array();
    const r: PhaseResult = {
      path,
      phase,
      windowSeconds: wall,
      sentPps: (pacer.sent - start.sent) / wall,
      forwardedPps: ((receiver?.receivedTotal ?? 0) - start.received) / wall,
      cpu: {
        euWorker: pct[0] ?? 0,
        usWorker: pct[1] ?? 0,
        wireguardGo: wg.length ? (pct[2] ?? 0) + (pct[3] ?? 0) : 0,
        node: pct[pids.length - 1] ?? 0,
        machine: machinePct,
      },
      underlayKbps: ((linkBytes(underlay.ns, underlay.dev) - bytes0) * 8) / wall / 1000,
      delayMs: { p50: percentile(delays, 50), p99: percentile(delays, 99), samples: delays.length },
    };
    if (!args.json) console.error(`[bench:relay] ${path} / ${phase}: ${f0(r.forwardedPps)} pps forwarded, delay p50 ${f2(r.delayMs.p50)} ms p99 ${f2(r.delayMs.p99)} ms`);
    return r;
  };

  try {
    for (const s of senders) {
      await jicofo.add(at('eu'), s);
      pacer.add(s.stream, s.sink());
    }
    pacer.start();
    await sleep(WARMUP * 1000);
    results.push(await measure('ingest', undefined, undefined));

    // One bridge: a receiver on eu.
    const logEu: ReceiveLog = { delays: new Samples(), recording: false };
    const rEu = new BenchClient(`${path}-r-eu`, 'receiver', 0, PROFILE, logEu, eu.ns.hostIp);
    receivers.push(rEu);
    await jicofo.add(at('eu'), rEu);
    await waitUntilFlowing(rEu);
    await sleep(WARMUP * 1000);
    results.push(await measure('one bridge', rEu, logEu));
    await jicofo.remove(rEu);
    await rEu.close();

    // Relay: a receiver on us, eu and us linked.
    const logUs: ReceiveLog = { delays: new Samples(), recording: false };
    const rUs = new BenchClient(`${path}-r-us`, 'receiver', 0, PROFILE, logUs, us.ns.hostIp);
    receivers.push(rUs);
    await jicofo.add(at('us'), rUs);
    const addr = await jicofo.link(at('eu'), at('us'));
    await waitUntilFlowing(rUs);
    await sleep(WARMUP * 1000);
    results.push({ ...(await measure('relay', rUs, logUs)), relay: { eu: addr.a, us: addr.b } });
    return results;
  } finally {
    pacer.stop();
    await Promise.all([...senders, ...receivers].map((c) => c.close().catch(() => undefined)));
    await Promise.all([bridges.eu.stop(), bridges.us.stop()]);
  }
}

// ------------------------------------------------------------------ printing

const HEADER = ['path', 'phase', 'fwd pps', 'eu worker %', 'us worker %', 'wireguard-go %', 'node %', 'machine %', 'underlay kbit/s', 'delay p50 ms', 'delay p99 ms'];

function row(r: PhaseResult): string[] {
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
    r.phase === 'ingest' ? '-' : f2(r.delayMs.p50),
    r.phase === 'ingest' ? '-' : f2(r.delayMs.p99),
  ];
}

/** CPU above ingest per forwarded stream, % of one core: the workers, wireguard-go, the machine. */
function perStream(r: PhaseResult, ingest: PhaseResult): { workers: number; eu: number; us: number; wg: number; machine: number; usPerPacket: number } {
  const eu = r.cpu.euWorker - ingest.cpu.euWorker;
  const us = r.cpu.usWorker - ingest.cpu.usWorker;
  const wg = r.cpu.wireguardGo - ingest.cpu.wireguardGo;
  // The machine figure includes the receiving client in this process; the node column shows how much that is.
  const machine = r.cpu.machine - ingest.cpu.machine;
  return { workers: (eu + us) / N, eu: eu / N, us: us / N, wg: wg / N, machine: machine / N, usPerPacket: (((eu + us + wg) / 100) * 1e6) / r.forwardedPps };
}

function printPath(results: PhaseResult[]): void {
  const get = (p: Phase): PhaseResult => results.find((r) => r.phase === p)!;
  const [ingest, one, relay] = [get('ingest'), get('one bridge'), get('relay')];
  const path = relay.path;
  const a = perStream(one, ingest);
  const b = perStream(relay, ingest);
  console.log('');
  console.log(`${path === 'wg' ? 'over WireGuard' : 'over the plain veth'} (relay transports: eu ${relay.relay?.eu}, us ${relay.relay?.us}):`);
  console.log(
    `  relay hop delay: p50 ${f2(relay.delayMs.p50)} vs ${f2(one.delayMs.p50)} ms on one bridge (+${f2(relay.delayMs.p50 - one.delayMs.p50)} ms, x${f2(relay.delayMs.p50 / one.delayMs.p50)}), ` +
      `p99 ${f2(relay.delayMs.p99)} vs ${f2(one.delayMs.p99)} ms (+${f2(relay.delayMs.p99 - one.delayMs.p99)} ms, x${f2(relay.delayMs.p99 / one.delayMs.p99)})`,
  );
  console.log(
    `  CPU per forwarded stream (above ingest, % of one core): one bridge ${f2(a.workers)} (worker); relay: workers ${f2(b.workers)} (eu ${f2(b.eu)} + us ${f2(b.us)}, x${f2(b.workers / a.workers)})` +
      (path === 'wg' ? `, wireguard-go ${f2(b.wg)}, workers + wireguard-go ${f2(b.workers + b.wg)} (x${f2((b.workers + b.wg) / a.workers)})` : '') +
      `; machine ${f2(a.machine)} vs ${f2(b.machine)} (x${f2(b.machine / a.machine)})`,
  );
  console.log(`  µs of CPU per forwarded packet (workers${path === 'wg' ? ' + wireguard-go' : ''}): one bridge ${f1(a.usPerPacket)}, relay ${f1(b.usPerPacket)}`);
}

function printCompare(all: PhaseResult[]): void {
  const relay = (p: 'wg' | 'veth'): PhaseResult | undefined => all.find((r) => r.path === p && r.phase === 'relay');
  const ingest = (p: 'wg' | 'veth'): PhaseResult | undefined => all.find((r) => r.path === p && r.phase === 'ingest');
  const w = relay('wg');
  const v = relay('veth');
  if (!w || !v) return;
  const sw = perStream(w, ingest('wg')!);
  const sv = perStream(v, ingest('veth')!);
  console.log('');
  console.log('wireguard-go vs the plain veth path (relay phase):');
  console.log(`  delay p50 ${f2(w.delayMs.p50)} vs ${f2(v.delayMs.p50)} ms (+${f2(w.delayMs.p50 - v.delayMs.p50)}), p99 ${f2(w.delayMs.p99)} vs ${f2(v.delayMs.p99)} ms (+${f2(w.delayMs.p99 - v.delayMs.p99)})`);
  console.log(
    `  CPU per forwarded stream: workers ${f2(sw.workers)} vs ${f2(sv.workers)}, + wireguard-go ${f2(sw.wg)} → ${f2(sw.workers + sw.wg)} vs ${f2(sv.workers)} (x${f2((sw.workers + sw.wg) / sv.workers)}); ` +
      `machine ${f2(sw.machine)} vs ${f2(sv.machine)} (x${f2(sw.machine / sv.machine)})`,
  );
  console.log(`  underlay: ${f0(w.underlayKbps)} vs ${f0(v.underlayKbps)} kbit/s (WireGuard framing x${f2(w.underlayKbps / v.underlayKbps)})`);
}

const LEGEND = [
  'fwd pps: RTP packets/s arriving at the receiver; CPU %: of one core over the window (/proc/<pid>/stat; machine: /proc/stat,',
  'all processes and the kernel, this process included); node: this process (werift clients); underlay: bytes on the eu–us',
  'veth, both directions; delay: sender hands the packet to werift → the receiver decrypted it (one clock).',
  'A forwarded stream = one sender\'s audio + video to one receiver; "above ingest": minus the same bridges with no receiver.',
].join('\n');

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const support = wireguardSupport();
  if (!support.ok) {
    console.error(`bench:relay needs root, network namespaces and wireguard-go: ${support.reason}`);
    process.exit(2);
  }
  if (!args.json) {
    console.log(`relay: ${N} senders on eu; receivers one at a time; ${SECONDS} s windows after ${WARMUP} s warm-up; paths ${PATHS.join(', ')}`);
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
  console.log(LEGEND);
  for (const p of PATHS) printPath(all.filter((r) => r.path === p));
  printCompare(all);
}

await main();
// werift keeps timers and sockets of closed peer connections around; nothing is left to do.
process.exit(0);
