/**
 * Control-plane benchmark: the bridge's Node process (the JavaScript around the mediasoup
 * workers: colibri2, the bridge channels, stats polling, bandwidth allocation, source maps, speaker
 * detection, metrics) with many connected endpoints. For 0 endpoints (the baseline: the same bridge
 * idle, in the same invocation) and then each step of `--steps` (default a quarter, half and all of
 * `--endpoints`), after `--settle` s it measures a steady phase of `--seconds` s:
 *   - event-loop delay p50 / p99 / max (ms beyond the 10 ms monitor resolution) from the bridge's
 *     own prom-client `nodejs_eventloop_lag_*` gauges (controlPlane/measure.ts);
 *   - Node CPU: the bridge's Node process only (/proc/<pid>/stat), % of one core, and per endpoint
 *     in µs of CPU per second (1 % of a core = 10,000 µs/s), also above the idle baseline; its RSS;
 *   - next to it the mediasoup workers, the client processes, this process, the whole machine and
 *     the rest of the machine (load not from this benchmark), % of one core, and the load average.
 * Tables, with each step's ratios to the idle baseline and to the first step; `--json` prints JSON
 * instead (progress goes to stderr either way).
 *
 *   npm run bench:control-plane -- [--endpoints 1000] [--per-conference 10] [--steps 250,500,1000]
 *     [--seconds 15] [--settle 3] [--senders 4] [--processes 3] [--concurrency 6]
 *     [--workers <n>] [--cpu-prof <dir>] [--json]
 *
 * The bridge: `node src/main.ts` as its own child process (bench/lib/bridgeProcess.ts, XMPP off,
 * colibri2 REST on, logs at `info` to a file), so its Node process is measured alone, apart from the
 * clients and from its mediasoup workers (its child processes).
 *
 * "Connected" endpoints, and how (the cheapest real way on a 2-core host): werift peer connections
 * without media, spread over `--processes` forked client processes (controlPlane/clients.ts). Each
 * endpoint is allocated as Jicofo does (over the bridge's colibri2 REST API rather than XMPP:
 * allocate with `<sctp/>`, the Jingle offer lib-jitsi-meet applies, werift's answer, the
 * session-accept update with one audio and one video source), its WebRtcTransport ICE + DTLS
 * connected and its bridge channel (SCTP) open with lib-jitsi-meet's first
 * ReceiverVideoConstraints. Conferences of `--per-conference`, joined `--concurrency` conferences
 * at a time per client process, each conference's endpoints one after the other.
 * Media: only `--senders` endpoints (the first of the first conferences) send the forwarding
 * benchmark's synthetic opus-shaped audio (with audio levels) and VP8-shaped video (≈ 630 kbps,
 * no simulcast); the bridge forwards them to the rest of their conference. So the bridge's periodic
 * work runs for every endpoint as in a call: the stats collector's mediasoup `getStats()` of every
 * transport, producer and consumer (every `videobridge.stats.interval`, 5 s), the video layer
 * monitor's producer polls (1 s), each conference's periodic allocation, connection stats on every
 * bridge channel, the codec follower's polls, endpoint expiry checks; media-driven work (audio
 * levels → dominant speaker, layer changes, allocations on new estimates) runs only in the
 * conferences with a sender.
 * Limits: the other endpoints send no RTP at all, so their producers are silent (no speaker
 * detection, no bandwidth estimate updates from transport-cc); clients do not renegotiate when
 * others join (no source-add handling in the client, which costs the bridge nothing); the clients
 * share the 2 cores with the bridge, so their CPU (shown) adds to the machine's load and the
 * event-loop delay includes waiting for a core. Baseline: the same bridge idle (0 endpoints), not the
 * raw mediasoup SFU of bench/torture/rawSfu.ts: that speaks its own WebSocket protocol with a send
 * and a receive transport per participant and no colibri2, so the same clients cannot join it, and
 * its own clients would need twice the peer connections (DTLS handshakes), which does not fit a
 * run of a few minutes on 2 cores next to this one.
 *
 * What it showed (2-core host, conferences of 10, 4 senders). Before the stats collector read endpoints in batches
 * (three runs at load 4–6): at 1,000 endpoints the bridge's Node process used 17–26 % of a core (170–260 µs/s per
 * endpoint), its RSS grew ≈ 0.7–0.9 MiB per endpoint, the loop p50 stayed ≈ 0.3 ms but p99 rose to 10–23 ms and max
 * to 0.3–0.8 s. The profile (`--cpu-prof`) put the long blocks on the stats collector's 5 s run
 * (StatsCollector → MediaEngine.trafficByEndpoint → RetiringCounters.sum): a `getStats` request for every consumer,
 * producer and transport (≈ 21,000 here: every endpoint consumes the 9 others' audio and video) in one go, whose
 * requests, answers (mediasoup Channel, flatbuffers) and garbage held the loop for 0.4–0.7 s; the video layer
 * monitor's 1 s polls came next, and garbage collection was about a third of the Node time. With the reads 25
 * endpoints at a time (one run, load 1.6 → 4.9): 1,000 endpoints, Node 18.3 % of a core (183 µs/s per endpoint),
 * loop p50 0.47 / p99 16.2 / max 54 ms, RSS 661 MiB; 250: 9.7 %, p99 7.0 ms. Conferences of 20 reached the same
 * figures at half the endpoints (the cost follows the consumers). At 1,000 the clients (≈ 90 % of a core) and workers
 * (≈ 80 %) saturate the 2 cores too, so the delay there includes waiting for a core.
 * `--cpu-prof <dir>`: the bridge runs with `--inspect=127.0.0.1:0` and the last step's steady phase
 * is profiled through the inspector (controlPlane/profile.ts): `dir/bridge-<n>.cpuprofile` (Chrome
 * DevTools, speedscope), a summary of the Node self time by area, file and function, and the
 * longest stretches without idle time (what blocks the event loop) with their src/ frames. Sampling adds
 * a few % of a core to that step's Node CPU; compare CPU figures from runs without it.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBridgeProcess } from './lib/bridgeProcess.ts';
import type { ConferencePlan } from './controlPlane/protocol.ts';
import { ClientFleet } from './controlPlane/fleet.ts';
import { ELD_RESOLUTION_MS, measureWindow, type WindowFigures } from './controlPlane/measure.ts';
import { inspectorUrl, profileDuring, type ProfileSummary } from './controlPlane/profile.ts';
import { printProfile, printSteps, stepOf, type StepResult } from './controlPlane/report.ts';
import { f1 } from './format.ts';

const { values: args } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '1000' },
    'per-conference': { type: 'string', default: '10' },
    steps: { type: 'string', default: '' },
    seconds: { type: 'string', default: '15' },
    settle: { type: 'string', default: '3' },
    senders: { type: 'string', default: '4' },
    processes: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '6' },
    workers: { type: 'string', default: '' },
    'cpu-prof': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});

const ENDPOINTS = Number(args.endpoints);
const PER = Number(args['per-conference']);
const SECONDS = Number(args.seconds);
const SETTLE_S = Number(args.settle);
const SENDERS = Number(args.senders);
/** Endpoint counts to measure at, each rounded up to whole conferences, ending with `--endpoints`. */
const STEPS = (args.steps ? args.steps.split(',').map(Number) : [ENDPOINTS / 4, ENDPOINTS / 2, ENDPOINTS])
  .map((n) => Math.ceil(n / PER) * PER)
  .filter((n, i, all) => n > 0 && all.indexOf(n) === i)
  .sort((a, b) => a - b);

const progress = (line: string): void => void process.stderr.write(`[control-plane] ${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** `count` new conferences of PER endpoints, ids unique over the run. */
function plan(count: number, first: number): ConferencePlan[] {
  return Array.from({ length: count }, (_, c) => ({
    meetingId: randomUUID(),
    endpoints: Array.from({ length: PER }, (_, e) => `c${first + c}e${e}`),
  }));
}

/** Start the bridge and the clients, measure the idle baseline and every step, stop everything. */
async function run(): Promise<{ steps: StepResult[]; logFile: string; profile?: ProfileSummary }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'octobridge-control-plane-'));
  const logFile = path.join(dir, 'bridge.log');
  const env: Record<string, string> = { COLIBRI_REST_ENABLED: 'true', OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS: String(ELD_RESOLUTION_MS) };
  if (args.workers) env.OCTOBRIDGE_WORKERS = args.workers;
  const profDir = args['cpu-prof'] ? path.resolve(args['cpu-prof']) : undefined;
  if (profDir) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim();
  progress(`bridge log: ${logFile}`);
  const bridge = await startBridgeProcess(logFile, env);
  const fleet = new ClientFleet(Number(args.processes));
  // Interrupted (Ctrl-C, a timeout) or failed: do not leave the bridge running without its parent (on SIGTERM it
  // would shut down gracefully, i.e. wait for its conferences to end).
  let bridgeClosed = false;
  const killBridge = (): void => {
    if (bridgeClosed) return;
    try {
      process.kill(bridge.pid as number, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killBridge);
  const interrupted = (): void => {
    killBridge();
    void fleet.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const steps: StepResult[] = [];
  let profile: ProfileSummary | undefined;
  try {
    const privateUrl = bridge.privateUrl as string;
    const procs = { node: bridge.pid as number, workers: () => bridge.workerPids(), clients: fleet.pids };
    const metricsUrl = `${privateUrl}/metrics`;
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    progress(`idle baseline: ${SECONDS} s`);
    const idle = await measureWindow(metricsUrl, procs, SECONDS);
    steps.push(stepOf(idle, 0, undefined, { conferences: 0, failed: 0, joinSeconds: 0 }));
    let conferences = 0;
    let failed = 0;
    for (const target of STEPS) {
      const fresh = plan((target - conferences * PER) / PER, conferences);
      const senders = fresh.filter((_, i) => conferences + i < SENDERS).map((c) => c.endpoints[0] as string);
      conferences += fresh.length;
      progress(`joining ${fresh.length * PER} endpoints (${fresh.length} conferences of ${PER}) -> ${target}`);
      const joined = await fleet.join(privateUrl, fresh, senders, Number(args.concurrency));
      failed += joined.failed;
      progress(
        `joined ${joined.connected}, failed ${joined.failed} in ${f1(joined.ms / 1000)} s${joined.errors.length ? `: ${joined.errors.join('; ')}` : ''}`,
      );
      await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
      progress(`steady phase at ${target} endpoints: ${SECONDS} s`);
      const window = (): Promise<WindowFigures> => measureWindow(metricsUrl, procs, SECONDS);
      let w: WindowFigures;
      if (profDir && target === STEPS.at(-1)) {
        fs.mkdirSync(profDir, { recursive: true });
        const file = path.join(profDir, `bridge-${target}.cpuprofile`);
        ({ result: w, summary: profile } = await profileDuring(await inspectorUrl(logFile), file, window));
        progress(`profile: ${file}`);
      } else {
        w = await window();
      }
      steps.push(stepOf(w, target - failed, idle, { conferences, failed, joinSeconds: joined.ms / 1000 }));
    }
  } finally {
    progress('closing');
    await fleet.close();
    await bridge.close();
    bridgeClosed = true;
  }
  return { steps, logFile, ...(profile ? { profile } : {}) };
}

const result = await run();
if (args.json) {
  console.log(
    JSON.stringify(
      {
        endpoints: ENDPOINTS,
        perConference: PER,
        seconds: SECONDS,
        senders: SENDERS,
        cores: os.cpus().length,
        bridgeLog: result.logFile,
        steps: result.steps,
        profile: result.profile ?? null,
      },
      null,
      2,
    ),
  );
} else {
  printSteps(result.steps, { perConference: PER, senders: SENDERS, seconds: SECONDS, settleSeconds: SETTLE_S });
  if (result.profile) printProfile(result.profile, result.steps.at(-1)?.endpoints ?? 0);
}
process.exit(0);
