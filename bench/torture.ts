/**
 * Torture harness: many real WebRTC participants against octobridge (and raw mediasoup and Janus
 * side by side), reporting what the users get (join time, freezes, loss, jitter, bitrate, resolution per
 * source) next to what the bridge pays (CPU per worker and Node, RSS, /colibri/stats), every
 * second, with a progress bar, a summary table, results.json and a PNG plot.
 *
 *   npm run torture -- [--conferences 2] [--participants 8] [--senders 4] [--duration 60]
 *     [--simulcast] [--chromium N] [--url http://host:port [--stats-url URL] [--bridge-pid PID]]
 *     [--out DIR] [--ramp [--ramp-step 15] [--ramp-add N] [--ramp-max 60] [--max-freeze-rate 1]
 *     [--max-loss 2]] [--receive header|full] [--raw [--repeat N]] [--janus] [--kill-worker-at S] [--loss PCT [--loss-from S] [--loss-until S]]
 *     [--cascade N [--drop-relay-at S [--drop-relay-for MS]]] [--jvb-port P]
 *     [--media vp8|synthetic] [--agents N] [--workers N] [--bridge-cpus C] [--join-interval MS]
 *     [--thumbnail-height 180] [--stage-height 720] [--chromium-size 640x360] [--no-progress]
 *
 * Participants (bench/torture/*): `--participants` per conference in `--conferences` standalone
 * rooms, the first `--senders` of each sending camera + microphone, everyone receiving everyone
 * else, joining through the standalone room's focus WebSocket like the page. Lightweight ones
 * are werift peer connections in client agent processes sending real VP8 (a clip Chromium
 * encodes once and the harness caches; `--simulcast`: three layers as lib-jitsi-meet sends them)
 * and tracking frames themselves; `--chromium N` of them are headless Chromium tabs on the page
 * (fake camera) whose getStats gives freezes. The bridge is `node src/main.ts` started as a child
 * process (or `--url`), measured from /proc.
 *
 * Receiving (`--receive`): `full` (the default of a fixed run) decrypts every SRTP packet in werift
 * and reassembles VP8 frames (keyframes, resolution, decodability: bench/lib/light/receive.ts);
 * `header` (the default with `--ramp`) takes the RTP datagrams off the ICE connection before werift's
 * SRTP decryption and counts and times them from their clear RTP header (RFC 3711 §3.1; RTCP,
 * demultiplexed as RFC 5761, still goes through werift): packets, loss from sequence gaps, jitter,
 * frames by timestamp and marker bit, freezes from complete frames, NACK and PLI as before
 * (bench/lib/light/headerReceive.ts). It costs the clients a fraction of the CPU per received packet,
 * so that a ramp finds the bridge's limit rather than the load generator's; what it cannot see: the
 * resolution, keyframes (a complete frame after a lost one counts as decodable) and which packet
 * an RTX retransmission carries (RTX packets are counted apart and attributed by timestamp).
 *
 * Modes: a fixed run of `--duration` s after everyone joined; `--ramp` adds `--ramp-add`
 * participants (default: one per conference) every `--ramp-step` s until the freeze rate or the
 * loss over a step passes its threshold, and reports the capacity (forwarded streams and packets/s,
 * per core of bridge CPU) and which side saturated (the bridge: a worker or its Node process near a
 * full core, the whole at 90 % of its `--bridge-cpus` cap, its sockets dropping datagrams, or
 * quality broke with the clients not saturated; the
 * load generator: an agent near a full core, skipped frames, a lagging event loop, its sockets
 * dropping datagrams (/proc/net/udp); and whether the machine's cores were all busy); each step's
 * row also gives the agents' CPU per received packet (µs); `--janus` runs the same light
 * participants through Janus VideoRoom (Debian's janus in a network namespace) afterwards and
 * compares CPU per forwarded stream; `--raw` runs them (before Janus) through a minimal SFU on the
 * same mediasoup worker binary (bench/torture/rawSfu.ts: one router per conference on
 * `--workers` workers, WebRtcTransports, every participant consuming every other's producers;
 * no allocation, simulcast, bridge channel or stats polling), measured from /proc like
 * octobridge (its Node process and workers), and the report sets CPU per forwarded stream and per
 * forwarded packet side by side with the ratios octobridge / raw and raw / Janus (results.json
 * `comparison`); `--repeat N` runs octobridge and raw N times each, alternating which goes first, and prints each
 * pair's ratio and the median (one pair's ratio moves by ±10 % on a shared 2-core VM).
 * `--bridge-cpus C` runs the bridge, and the raw SFU, inside a cgroup CPU quota of C cores
 * (bench/lib/cpuCap.ts; root): on a machine the clients share, the capped server reaches its
 * limit before they do, so a `--ramp` measures its capacity per core. Faults, `--loss`, `--cascade` and Chromium apply to the octobridge run only. Faults (seconds after everyone joined): `--kill-worker-at`
 * (SIGKILL a mediasoup worker; time until media recovers), `--loss` (% dropped each way by a
 * userspace UDP relay between the light clients and the bridge; `--loss-until` to measure the
 * recovery after it), `--drop-relay-at` (with `--cascade`: a two-way outage of every relay for
 * `--drop-relay-for` ms, default 3000; time until the video received across a relay flows again).
 *
 * Cascade (`--cascade N`, bench/torture/cascade.ts): N bridges, each its own child process with
 * relays on, regions eu, us, ap, …; the first runs the focus and places participants on the
 * others over their colibri2 REST API. Participants join through the first bridge's focus with
 * regions round robin within each conference, so every conference spans the bridges; CPU and RSS
 * are reported per bridge (and per worker) and in total, forwarded streams over all bridges.
 *
 * Output: the progress bar on stderr, the report on stdout, results.json and torture.png (and
 * torture-raw.png, torture-janus.png; raw.log, the raw SFU's output) in `--out` (default bench/results/torture-<timestamp>/).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/config/config.ts';
import { writeResults } from './torture/report.ts';
import type { TortureOptions } from './lib/results.ts';
import { runTorture } from './torture/run.ts';

const { values: a } = parseArgs({
  options: {
    conferences: { type: 'string', default: '2' },
    participants: { type: 'string', default: '8' },
    senders: { type: 'string', default: '4' },
    duration: { type: 'string', default: '60' },
    simulcast: { type: 'boolean', default: false },
    chromium: { type: 'string', default: '0' },
    'chromium-size': { type: 'string', default: '640x360' },
    url: { type: 'string' },
    'stats-url': { type: 'string' },
    'bridge-pid': { type: 'string' },
    workers: { type: 'string' },
    'bridge-cpus': { type: 'string' },
    cascade: { type: 'string' },
    'jvb-port': { type: 'string' },
    out: { type: 'string' },
    media: { type: 'string', default: 'vp8' },
    agents: { type: 'string', default: '0' },
    'join-interval': { type: 'string', default: '100' },
    'thumbnail-height': { type: 'string', default: '180' },
    'stage-height': { type: 'string', default: '720' },
    ramp: { type: 'boolean', default: false },
    'ramp-step': { type: 'string', default: '15' },
    'ramp-add': { type: 'string' },
    'ramp-max': { type: 'string', default: '60' },
    'max-freeze-rate': { type: 'string', default: '1' },
    'max-loss': { type: 'string', default: '2' },
    receive: { type: 'string' },
    janus: { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'kill-worker-at': { type: 'string' },
    'drop-relay-at': { type: 'string' },
    'drop-relay-for': { type: 'string', default: '3000' },
    loss: { type: 'string', default: '0' },
    'loss-from': { type: 'string' },
    'loss-until': { type: 'string' },
    progress: { type: 'boolean', default: true },
  },
  allowNegative: true,
});

/** A number option; exits with a message when it is not one (or below `min`). */
function num(name: string, v: string | undefined, min = 0): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min) {
    process.stderr.write(`torture: --${name} must be a number >= ${min}, got ${v}\n`);
    process.exit(2);
  }
  return n;
}
const opt = (name: string, v: string | undefined): number | undefined => (v === undefined ? undefined : num(name, v));

const [cw, ch] = (a['chromium-size'] ?? '').split('x').map(Number);
if (a.media !== 'vp8' && a.media !== 'synthetic') {
  process.stderr.write(`torture: --media must be vp8 or synthetic, got ${a.media}\n`);
  process.exit(2);
}
if (a.receive !== undefined && a.receive !== 'header' && a.receive !== 'full') {
  process.stderr.write(`torture: --receive must be header or full, got ${a.receive}\n`);
  process.exit(2);
}
const conferences = num('conferences', a.conferences, 1);
const cascade = a.cascade !== undefined ? num('cascade', a.cascade, 1) : undefined;
if (cascade !== undefined && cascade >= 2 && a.url) {
  process.stderr.write('torture: --cascade starts its own bridges; it does not go with --url\n');
  process.exit(2);
}
const dropRelayFor = num('drop-relay-for', a['drop-relay-for'], 1);
if (dropRelayFor > 60_000) {
  process.stderr.write(`torture: --drop-relay-for must be at most 60000 ms (the bridge's limit), got ${dropRelayFor}\n`);
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
const options: TortureOptions = {
  conferences,
  participants: num('participants', a.participants, 1),
  senders: num('senders', a.senders),
  duration: num('duration', a.duration, 1),
  simulcast: a.simulcast ?? false,
  chromium: num('chromium', a.chromium),
  chromiumWidth: cw || 640,
  chromiumHeight: ch || 360,
  ...(a.url ? { url: a.url } : {}),
  ...(a['stats-url'] ? { statsUrl: a['stats-url'] } : {}),
  ...(a['bridge-pid'] ? { bridgePid: num('bridge-pid', a['bridge-pid'], 1) } : {}),
  ...(a.workers ? { workers: num('workers', a.workers, 1) } : {}),
  ...(a['bridge-cpus'] ? { bridgeCpus: num('bridge-cpus', a['bridge-cpus'], 0.1) } : {}),
  ...(cascade !== undefined && cascade >= 2 ? { cascade } : {}),
  ...(a['jvb-port'] ? { jvbPort: num('jvb-port', a['jvb-port'], 1) } : {}),
  out: path.resolve(a.out ?? path.join(PROJECT_ROOT, 'bench', 'results', `torture-${stamp}`)),
  media: a.media,
  agents: num('agents', a.agents),
  joinInterval: num('join-interval', a['join-interval']),
  thumbnailHeight: num('thumbnail-height', a['thumbnail-height'], 1),
  stageHeight: num('stage-height', a['stage-height'], 1),
  ramp: a.ramp ?? false,
  rampStep: num('ramp-step', a['ramp-step'], 3),
  rampAdd: a['ramp-add'] ? num('ramp-add', a['ramp-add'], 1) : conferences,
  rampMax: num('ramp-max', a['ramp-max'], 1),
  maxFreezeRate: num('max-freeze-rate', a['max-freeze-rate']),
  maxLoss: num('max-loss', a['max-loss']),
  receive: (a.receive as 'header' | 'full' | undefined) ?? (a.ramp ? 'header' : 'full'),
  janus: a.janus ?? false,
  raw: a.raw ?? false,
  repeat: num('repeat', a.repeat, 1),
  ...(a['kill-worker-at'] !== undefined ? { killWorkerAt: opt('kill-worker-at', a['kill-worker-at']) } : {}),
  ...(a['drop-relay-at'] !== undefined ? { dropRelayAt: opt('drop-relay-at', a['drop-relay-at']) } : {}),
  dropRelayFor,
  loss: num('loss', a.loss),
  ...(a['loss-from'] !== undefined ? { lossFrom: opt('loss-from', a['loss-from']) } : {}),
  ...(a['loss-until'] !== undefined ? { lossUntil: opt('loss-until', a['loss-until']) } : {}),
  progress: (a.progress ?? true) && process.stderr.isTTY === true,
};

try {
  const results = await runTorture(options);
  console.log(writeResults(results, options.out));
} catch (err) {
  process.stderr.write(`torture: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
}
// werift and playwright keep timers and sockets of closed connections around; nothing is left to do.
process.exit(process.exitCode ?? 0);
