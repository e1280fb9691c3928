/**
 * The torture run: start (or target) the server, join the participants through the real
 * signalling, sample everything every second for the duration (or ramp up until quality breaks),
 * inject faults, collect the reports, and return the results (report.ts prints them, plot.ts draws
 * them). One run per server: octobridge, then raw mediasoup (rawSfu.ts) and Janus with the same
 * light participants and media when asked.
 */
import os from 'node:os';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { bridgeAt, startBridgeProcess, type BridgeUnderTest, type ServerUnderTest } from '../lib/bridgeProcess.ts';
import { cascadeRegions, startCascade, type CascadeUnderTest } from './cascade.ts';
import type { FaultRecord, KindCost, RampLimit, RampStep, Recovery, ServerRun, TimeSample, TortureOptions, TortureResults } from '../lib/results.ts';
import { Fleet } from './fleet.ts';
import { startJanus } from './janusServer.ts';
import { startRawServer } from './rawServer.ts';
import { createCpuCap, type CpuCap } from '../lib/cpuCap.ts';
import { startSpeedProbe, type SpeedProbe } from '../lib/speedProbe.ts';
import { nowMs } from '../lib/light/receive.ts';
import { CpuMeter, MachineCpu, pssMiB, rssMiB, totalsOf, TotalsHistory, udpDrops, windowQuality } from '../lib/sampler.ts';
import type { RelayCounters } from '../lib/light/impair.ts';
import type { AgentConfig, ParticipantReport, ParticipantSpec, SourceReport } from '../lib/light/types.ts';
import { loadOrRecordClip } from './clipRecorder.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

/** Participant `i` of conference `c` (light; in region `regions[i mod n]` with a cascade). */
function participantSpec(c: number, i: number, senders: number, regions: readonly string[]): ParticipantSpec {
  const region = regions.length > 0 ? regions[i % regions.length] : undefined;
  return { id: `c${c}-p${i}`, conference: c, room: `torture-${c}`, kind: 'light', send: i < senders, ...(region ? { region } : {}) };
}

/**
 * The participants of a run, conference by conference; Chromium takes the last slots of each
 * conference first. `regions` (a cascade): round robin within each conference, so that every
 * conference spans the bridges (senders too).
 */
export function planParticipants(
  o: Pick<TortureOptions, 'conferences' | 'participants' | 'senders' | 'chromium'>,
  regions: readonly string[] = [],
): ParticipantSpec[] {
  const specs: ParticipantSpec[] = [];
  for (let c = 0; c < o.conferences; c++) {
    for (let i = 0; i < o.participants; i++) specs.push(participantSpec(c, i, o.senders, regions));
  }
  // Chromium: slots from the end of each conference, round robin over conferences.
  let left = Math.min(o.chromium, specs.length);
  for (let i = o.participants - 1; i >= 0 && left > 0; i--) {
    for (let c = 0; c < o.conferences && left > 0; c++) {
      const s = specs[c * o.participants + i];
      if (s) {
        s.kind = 'chromium';
        left--;
      }
    }
  }
  return specs;
}

/** What a run shares across its helpers. */
interface RunContext {
  o: TortureOptions;
  server: ServerUnderTest;
  /** `cascade`: the bridges (server is the cascade), and each participant's region. */
  cascade: CascadeUnderTest | undefined;
  regionOf: Map<string, string>;
  fleet: Fleet;
  timeline: TimeSample[];
  history: TotalsHistory;
  t0: number;
  connected: Set<string>;
  bar: SingleBar | undefined;
  barTotal: number;
  /** When the last participant joined, ms; the costs are measured from 2 s after `costsFrom`. */
  lastJoinAt: number;
  costsFrom: number;
  /** The progress bar's last values (kept across a log line). */
  barState: { value: number; payload: Record<string, string | number> };
  log: (line: string) => void;
  /** The server's CPU cap in cores (`--bridge-cpus`), when it runs inside one. */
  cpuCap: number | undefined;
  /** The server's last statistics read, and when (ms; see {@link STATS_POLL_MS}). */
  stats: { at: number; value: Record<string, unknown> | undefined } | undefined;
  /** The machine's speed probe while sampling runs. */
  probe: SpeedProbe | undefined;
}

/**
 * How often the server's statistics are read, ms. octobridge's `/colibri/stats` snapshot changes once per stats
 * interval (JVB's `videobridge.stats.interval`, 5 s): read every second, four reads in five returned the same
 * snapshot and cost its Node process a request each (~8 % of its Node CPU at 80 endpoints), which raw mediasoup,
 * having no statistics, never pays. Between two reads the samples carry the last one.
 */
const STATS_POLL_MS = 5000;

/** The server's statistics: read again when the last read is {@link STATS_POLL_MS} old, else the last read. */
async function serverStats(ctx: RunContext): Promise<Record<string, unknown> | undefined> {
  const now = nowMs();
  if (ctx.stats && now - ctx.stats.at < STATS_POLL_MS) return ctx.stats.value;
  const value = await ctx.server.stats();
  ctx.stats = { at: now, value };
  return value;
}

/** Sample once (see {@link TimeSample}). */
async function sampleOnce(ctx: RunContext, meter: CpuMeter, machine: MachineCpu): Promise<TimeSample> {
  const procs = ctx.server.processes();
  const agents = ctx.fleet.agentPids();
  const chromium = ctx.fleet.chromiumPids();
  const cpu = meter.percent([...procs.map((p) => p.pid), ...agents, ...chromium, process.pid]);
  const machineCpu = machine.percent();
  const [health, stats] = await Promise.all([ctx.fleet.sample(), serverStats(ctx)]);
  const t = nowMs();
  const totals = totalsOf(ctx.fleet.latest.values(), t);
  ctx.history.push(totals);
  let forwarded = 0;
  const byBridge: Record<string, number> = {};
  for (const m of ctx.cascade?.bridges ?? []) byBridge[m.region] = 0;
  for (const s of ctx.fleet.latest.values()) {
    forwarded += s.liveVideoStreams + s.audioStreams;
    const region = ctx.regionOf.get(s.id);
    if (region !== undefined) byBridge[region] = (byBridge[region] ?? 0) + s.liveVideoStreams + s.audioStreams;
  }
  const processes = procs.map((p, i) => ({ name: p.name, cpu: cpu[i] ?? 0, rssMiB: rssMiB([p.pid]) }));
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const keep = [
    'stress_level',
    'participants',
    'conferences',
    'bit_rate_download',
    'bit_rate_upload',
    'packet_rate_download',
    'packet_rate_upload',
    'incoming_loss',
    'outgoing_loss',
  ];
  return {
    t: (t - ctx.t0) / 1000,
    participants: [...ctx.fleet.latest.values()].filter((s) => s.connected).length,
    forwardedStreams: forwarded,
    ...(ctx.cascade ? { forwardedByBridge: byBridge } : {}),
    server: { processes, cpu: sum(processes.map((p) => p.cpu)), rssMiB: sum(processes.map((p) => p.rssMiB)) },
    quality: ctx.history.rolling(10) ?? null,
    totals,
    ...(stats ? { stats: Object.fromEntries(keep.filter((k) => typeof stats[k] === 'number').map((k) => [k, stats[k] as number])) } : {}),
    harness: {
      agentCpu: sum(cpu.slice(procs.length, procs.length + agents.length)),
      agentCpuMax: Math.max(0, ...cpu.slice(procs.length, procs.length + agents.length)),
      chromiumCpu: sum(cpu.slice(procs.length + agents.length, -1)),
      eventLoopDelayMs: health.eventLoopDelayMs,
      skippedFrames: health.skippedFrames,
    },
    machine: { cpu: machineCpu, othersCpu: Math.max(0, machineCpu - sum(cpu)), ...speed(ctx.probe?.take()) },
    udpDrops: { server: udpDrops(procs.map((p) => p.pid)), agents: udpDrops(agents) },
  };
}

const speed = (us: number | undefined): { speedProbeUs?: number } => (us === undefined ? {} : { speedProbeUs: us });

/** Sample every second until `stop()` (with the machine's speed probe running); updates the progress bar. */
function startSampling(ctx: RunContext): { stop(): Promise<void> } {
  ctx.probe = startSpeedProbe();
  const meter = new CpuMeter();
  meter.percent([]);
  const machine = new MachineCpu(os.cpus().length);
  let running = true;
  const loop = (async () => {
    let next = performance.now() + 1000;
    while (running) {
      await sleep(Math.max(0, next - performance.now()));
      next += 1000;
      if (!running) break;
      const s = await sampleOnce(ctx, meter, machine);
      ctx.timeline.push(s);
      ctx.barState = {
        // Seconds of steady state (or of the ramp) so far.
        value: ctx.costsFrom ? Math.min(ctx.barTotal, Math.max(0, Math.round((nowMs() - ctx.costsFrom) / 1000))) : 0,
        payload: {
          participants: s.participants,
          streams: s.forwardedStreams,
          cpu: s.server.cpu.toFixed(0),
          freezes: (s.quality?.freezesPerMin ?? 0).toFixed(2),
          loss: (s.quality?.lossPct ?? 0).toFixed(2),
        },
      };
      ctx.bar?.update(ctx.barState.value, ctx.barState.payload);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      ctx.probe?.stop();
    },
  };
}

/**
 * Join `specs`: the first participant of each conference not `started` yet first (in parallel;
 * the conference is then started), then the others `joinInterval` ms apart, round robin over
 * conferences. Errors are recorded in `errors`.
 */
async function joinAll(ctx: RunContext, specs: ParticipantSpec[], started: Set<number>, errors: Record<string, string>): Promise<void> {
  const join = async (s: ParticipantSpec): Promise<void> => {
    try {
      await ctx.fleet.join(s);
      ctx.connected.add(s.id);
      ctx.lastJoinAt = nowMs();
    } catch (err) {
      errors[s.id] = (err as Error).message;
      ctx.log(`join failed: ${s.id}: ${(err as Error).message}`);
    }
  };
  const firsts = specs.filter((s, i) => !started.has(s.conference) && specs.findIndex((o) => o.conference === s.conference) === i);
  for (const s of firsts) started.add(s.conference);
  await Promise.all(firsts.map(join));
  const rest = specs.filter((s) => !firsts.includes(s));
  // Round robin over conferences.
  const byConf = new Map<number, ParticipantSpec[]>();
  for (const s of rest) byConf.set(s.conference, [...(byConf.get(s.conference) ?? []), s]);
  const order: ParticipantSpec[] = [];
  for (let k = 0; order.length < rest.length; k++) for (const list of byConf.values()) if (list[k]) order.push(list[k] as ParticipantSpec);
  const pending: Promise<void>[] = [];
  for (const s of order) {
    pending.push(join(s));
    await sleep(ctx.o.joinInterval);
  }
  await Promise.all(pending);
}

/**
 * Set each report's join time: first decoded remote frame − max(its join start, when the first
 * remote sender of its conference connected). A participant that joined before anyone sent waits
 * for the others to join; that wait is not the join time.
 */
export function joinTimes(reports: ParticipantReport[]): void {
  for (const r of reports) {
    if (r.firstFrameAt === undefined) continue;
    const senders = reports.filter((o) => o !== r && o.spec.send && o.spec.conference === r.spec.conference && o.connectedAt !== undefined);
    const mediaFrom = Math.min(...senders.map((o) => o.connectedAt as number));
    r.joinMs = r.firstFrameAt - Math.max(r.joinStartAt, Number.isFinite(mediaFrom) ? mediaFrom : r.joinStartAt);
  }
}

/**
 * Per-fault recovery from the reports (video sources only; those `which(receiver, source)` keeps).
 */
function recoveryOf(reports: ParticipantReport[], index: number, which: (r: ParticipantReport, s: SourceReport) => boolean = () => true): Recovery {
  const values = reports.flatMap((r) => r.sources.filter((s) => s.kind === 'video' && which(r, s)).map((s) => s.recoveryMs?.[index]));
  const affected = values.filter((v): v is number => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  return {
    affected: affected.length,
    unaffected: values.filter((v) => v === 0).length,
    neverRecovered: values.filter((v) => v === null).length,
    p50Ms: affected[Math.floor((affected.length - 1) / 2)] ?? 0,
    maxMs: affected.at(-1) ?? 0,
  };
}

/** Kill one mediasoup worker of the bridge (the lowest pid; of the first bridge of a cascade). */
function killWorker(server: ServerUnderTest): { pid?: number; note: string } {
  const w = server.processes().find((p) => /(^|:)worker\d+$/.test(p.name));
  if (!w) return { note: 'no mediasoup worker process known (bridge not local?)' };
  process.kill(w.pid, 'SIGKILL');
  return { pid: w.pid, note: `SIGKILL to mediasoup worker pid ${w.pid} (${w.name})` };
}

/**
 * `--drop-relay-at`: a two-way outage of every relay for `dropRelayFor` ms (each bridge pauses
 * what arrives from every other). The participants are told first (from now until now + the
 * outage), so that recovery is measured from the outage's end: the bridges' timers start once
 * they have the request, so their end is at or a few ms after it (recovery may read that much
 * longer, never shorter).
 */
async function dropRelays(ctx: RunContext, cascade: CascadeUnderTest, start: number, faults: FaultRecord[]): Promise<void> {
  const ms = ctx.o.dropRelayFor;
  const at = nowMs();
  const until = at + ms;
  ctx.fleet.fault(at, until);
  const calls = await cascade.relayOutage(ms);
  const answeredMs = nowMs() - at;
  const hit = calls.reduce((n, c) => n + c.relays, 0);
  const failed = calls.filter((c) => c.error !== undefined);
  const note =
    `${ms} ms outage of every relay, both ways: ${calls.map((c) => `${c.on}<-${c.relayId} ${c.status === 200 ? `${c.relays} relay(s)` : `${c.status || 'no answer'}`}`).join(', ')}` +
    ` (answered within ${Math.round(answeredMs)} ms: each outage ended 0-${Math.round(answeredMs)} ms after the nominal end that recovery counts from)` +
    (hit === 0 ? ' (no relay paused: nothing to recover from)' : '') +
    (failed.length ? `; failed: ${failed.map((c) => `${c.on}<-${c.relayId}: ${c.error}`).join('; ')}` : '');
  ctx.log(`drop-relay: ${note}`);
  faults.push({ kind: 'drop-relay', atS: (at - start) / 1000, at, until, note, calls });
}

/** Steady state for `duration` s with the scheduled faults. */
async function steady(ctx: RunContext, faults: FaultRecord[]): Promise<void> {
  const o = ctx.o;
  const start = nowMs();
  const events: { atS: number; run: () => void | Promise<void> }[] = [];
  if (o.killWorkerAt !== undefined && ctx.server.name === 'octobridge') {
    events.push({
      atS: o.killWorkerAt,
      run: () => {
        const at = nowMs();
        const k = killWorker(ctx.server);
        if (k.pid) ctx.fleet.fault(at);
        faults.push({ kind: 'kill-worker', atS: (at - start) / 1000, ...(k.pid ? { at } : {}), note: k.note });
      },
    });
  }
  if (o.dropRelayAt !== undefined) {
    const cascade = ctx.cascade;
    events.push({
      atS: o.dropRelayAt,
      run: cascade
        ? () => dropRelays(ctx, cascade, start, faults)
        : () =>
            void faults.push({
              kind: 'drop-relay',
              atS: o.dropRelayAt ?? 0,
              note: 'no relay in this run (one bridge; --cascade N runs N bridges linked by relays)',
            }),
    });
  }
  if (o.loss > 0 && ctx.server.name === 'octobridge') {
    events.push({ atS: o.lossFrom ?? 0, run: () => ctx.fleet.setLoss(o.loss / 100) });
    if (o.lossUntil !== undefined) {
      events.push({
        atS: o.lossUntil,
        run: () => {
          const at = nowMs();
          ctx.fleet.setLoss(0);
          ctx.fleet.fault(at);
          faults.push({ kind: 'loss-end', atS: (at - start) / 1000, at, note: `${o.loss}% loss each way stopped` });
        },
      });
    }
  }
  events.sort((a, b) => a.atS - b.atS);
  for (const e of events) {
    if (e.atS >= o.duration) continue;
    await sleep(Math.max(0, start + e.atS * 1000 - nowMs()));
    await e.run();
  }
  await sleep(Math.max(0, start + o.duration * 1000 - nowMs()));
}

/** What {@link windowLoad} returns: means over a window of samples (CPU in % of one core). */
interface WindowLoad {
  cpu: number;
  streams: number;
  /** Received media packets per second over the window. */
  pps: number;
  busiest: { name: string; cpu: number };
  others: number;
  machine: number;
  agentCpu: number;
  agentCpuMax: number;
  /** Agents' event loop p99: worst and median per second, ms. */
  delay: number;
  medianDelay: number;
  skippedPerS: number;
  udpDropsPerS: { server: number; agents: number };
}

/**
 * Over the samples after `from` (ms): mean server CPU (and its busiest process), forwarded
 * streams and packets/s, the machine's and the agents' CPU; the agents' worst and median (per
 * second) event loop p99, and the frames their pacers skipped per second.
 */
function windowLoad(ctx: RunContext, from: number): WindowLoad {
  const ss = ctx.timeline.filter((s) => ctx.t0 + s.t * 1000 >= from);
  const [first, last] = [ss[0], ss.at(-1)];
  const skipped = (last?.harness.skippedFrames ?? 0) - (first?.harness.skippedFrames ?? 0);
  const seconds = ss.length > 1 ? (last as TimeSample).t - (first as TimeSample).t : 1;
  const pps =
    first && last && last.totals.at > first.totals.at ? (last.totals.packets - first.totals.packets) / ((last.totals.at - first.totals.at) / 1000) : Number.NaN;
  const names = [...new Set(ss.flatMap((s) => s.server.processes.map((p) => p.name)))];
  const perProcess = names.map((name) => ({ name, cpu: mean(ss.map((s) => s.server.processes.find((p) => p.name === name)?.cpu ?? 0)) }));
  return {
    cpu: mean(ss.map((s) => s.server.cpu)),
    streams: mean(ss.map((s) => s.forwardedStreams)),
    pps,
    busiest: perProcess.reduce((a, b) => (b.cpu > a.cpu ? b : a), { name: '-', cpu: 0 }),
    others: mean(ss.map((s) => s.machine.othersCpu)),
    machine: mean(ss.map((s) => s.machine.cpu)),
    agentCpu: mean(ss.map((s) => s.harness.agentCpu)),
    agentCpuMax: mean(ss.map((s) => s.harness.agentCpuMax ?? 0)),
    delay: Math.max(0, ...ss.map((s) => s.harness.eventLoopDelayMs)),
    medianDelay: ss.map((s) => s.harness.eventLoopDelayMs).sort((a, b) => a - b)[Math.floor(ss.length / 2)] ?? 0,
    skippedPerS: skipped / Math.max(1, seconds),
    udpDropsPerS: {
      server: Math.max(0, (last?.udpDrops?.server ?? 0) - (first?.udpDrops?.server ?? 0)) / Math.max(1, seconds),
      agents: Math.max(0, (last?.udpDrops?.agents ?? 0) - (first?.udpDrops?.agents ?? 0)) / Math.max(1, seconds),
    },
  };
}

/**
 * The load generator cannot keep its pace when its agents' event loop p99 is above this (ms) in
 * most seconds of a step, or its pacers skip more than a frame per second (one stall, e.g. other
 * work on a shared machine, does neither).
 */
const SATURATED_LOOP_MS = 100;
/** A process (one event loop or one mediasoup worker thread) at or above this % of one core is saturated. */
const SATURATED_CORE_PCT = 90;
/** The machine is saturated at or above this share of all its cores. */
const SATURATED_MACHINE = 0.9;

/**
 * Whether the load generator could not keep up over a step: skipping frames, a lagging event
 * loop, an agent near a full core, or its sockets overflowing (more than 0.1 % of the received packets dropped there).
 */
function harnessSaturated(st: Pick<RampStep, 'skippedPerS' | 'medianEventLoopDelayMs' | 'agentCpuMax' | 'udpDropsPerS' | 'forwardedPps'>): boolean {
  return (
    st.skippedPerS > 1 ||
    st.medianEventLoopDelayMs > SATURATED_LOOP_MS ||
    st.agentCpuMax >= SATURATED_CORE_PCT ||
    (st.udpDropsPerS?.agents ?? 0) > 0.001 * st.forwardedPps
  );
}

/**
 * The {@link RampLimit} of the step that stopped a ramp (`failed`; undefined: it stopped at
 * `--ramp-max`, judged on the last step). `cpuCap`: the server's CPU cap in cores, when it ran in
 * one; the server is then saturated at 90 % of the cap as well as with a process near a full core.
 */
export function rampLimit(step: RampStep | undefined, failed: boolean, cores: number, cpuCap?: number): RampLimit | undefined {
  if (!step) return undefined;
  const gen = harnessSaturated(step);
  const atCap = cpuCap !== undefined && step.serverCpu >= (SATURATED_CORE_PCT / 100) * cpuCap * 100;
  const bridgeCore = atCap || step.serverBusiest.cpu >= SATURATED_CORE_PCT || (step.udpDropsPerS?.server ?? 0) > 0.001 * step.forwardedPps;
  const machineSaturated = step.machineCpu >= SATURATED_MACHINE * 100 * cores;
  const side: RampLimit['side'] = !failed
    ? bridgeCore && gen
      ? 'both'
      : bridgeCore
        ? 'bridge'
        : gen
          ? 'load generator'
          : 'none'
    : gen && bridgeCore
      ? 'both'
      : gen
        ? 'load generator'
        : 'bridge';
  const detail =
    `server's busiest process ${step.serverBusiest.name} ${step.serverBusiest.cpu.toFixed(0)}% of a core (all ${step.serverCpu.toFixed(0)}%` +
    `${cpuCap !== undefined ? ` of its cap of ${(cpuCap * 100).toFixed(0)}%${atCap ? ', at the cap' : ''}` : ''}); ` +
    `agents ${step.agentCpu.toFixed(0)}% (busiest ${step.agentCpuMax.toFixed(0)}%), skipped ${step.skippedPerS.toFixed(1)} frames/s, event loop p99 median ${step.medianEventLoopDelayMs.toFixed(0)} ms; ` +
    `UDP receive drops ${(step.udpDropsPerS?.server ?? 0).toFixed(0)}/s at the server, ${(step.udpDropsPerS?.agents ?? 0).toFixed(0)}/s at the agents; ` +
    `machine ${step.machineCpu.toFixed(0)}% of ${cores * 100}%${machineSaturated ? ' (saturated: bridge and clients compete for CPU)' : ''}`;
  return { side, machineSaturated, detail };
}

/** Ramp: add `rampAdd` light participants every `rampStep` s until a threshold breaks. */
async function ramp(ctx: RunContext, specs: ParticipantSpec[], started: Set<number>, errors: Record<string, string>): Promise<NonNullable<ServerRun['ramp']>> {
  const o = ctx.o;
  const steps: RampStep[] = [];
  const perConf = new Map<number, number>();
  for (const s of specs) perConf.set(s.conference, (perConf.get(s.conference) ?? 0) + 1);
  let conf = 0;
  let stoppedBy = `reached --ramp-max ${o.rampMax}`;
  let stoppedByHarness = false;
  for (;;) {
    const stepStart = nowMs();
    await sleep(o.rampStep * 1000);
    const settle = Math.min(3000, (o.rampStep * 1000) / 3);
    const from = ctx.history.at(stepStart + settle);
    const to = ctx.history.last;
    if (!from || !to || from === to) continue;
    const q = windowQuality(from, to);
    const load = windowLoad(ctx, stepStart + settle);
    const failedJoins = Object.keys(errors).length;
    // The load generator shares the machine: when its pacers skip frames or its event loop lags,
    // what the receivers see says more about it than about the server.
    const saturated = load.skippedPerS > 1 || load.medianDelay > SATURATED_LOOP_MS;
    const why =
      q.freezesPerMin > o.maxFreezeRate
        ? `freeze rate ${q.freezesPerMin.toFixed(2)}/min > ${o.maxFreezeRate}`
        : q.lossPct > o.maxLoss
          ? `loss ${q.lossPct.toFixed(2)}% > ${o.maxLoss}%`
          : failedJoins > 0
            ? `${failedJoins} participant(s) could not join`
            : saturated
              ? `load generator saturated (agents skipped ${load.skippedPerS.toFixed(1)} frames/s, event loop p99 median ${load.medianDelay.toFixed(0)} ms)`
              : undefined;
    if (why && saturated && !why.startsWith('load generator')) stoppedByHarness = true;
    const step: RampStep = {
      participants: ctx.connected.size,
      forwardedStreams: load.streams,
      forwardedPps: load.pps,
      serverCpu: load.cpu,
      serverBusiest: load.busiest,
      othersCpu: load.others,
      machineCpu: load.machine,
      agentCpu: load.agentCpu,
      agentCpuMax: load.agentCpuMax,
      clientUsPerPacket: ((load.agentCpu / 100) * 1e6) / load.pps,
      quality: q,
      eventLoopDelayMs: load.delay,
      medianEventLoopDelayMs: load.medianDelay,
      skippedPerS: load.skippedPerS,
      udpDropsPerS: load.udpDropsPerS,
      pass: !why,
      ...(why ? { why } : {}),
    };
    steps.push(step);
    ctx.log(
      `ramp: ${step.participants} participants, ${step.forwardedStreams.toFixed(0)} streams, ${step.forwardedPps.toFixed(0)} packets/s, server CPU ${step.serverCpu.toFixed(0)}% (${step.serverBusiest.name} ${step.serverBusiest.cpu.toFixed(0)}%), ` +
        `agents ${step.agentCpu.toFixed(0)}% (max ${step.agentCpuMax.toFixed(0)}%), machine ${step.machineCpu.toFixed(0)}%, UDP drops/s ${step.udpDropsPerS.server.toFixed(0)} server / ${step.udpDropsPerS.agents.toFixed(0)} agents, freezes ${q.freezesPerMin.toFixed(2)}/min, loss ${q.lossPct.toFixed(2)}%${why ? ` -> ${why}` : ''}`,
    );
    if (why) {
      stoppedBy = why;
      break;
    }
    if (specs.length >= o.rampMax) break;
    const add: ParticipantSpec[] = [];
    for (let k = 0; k < o.rampAdd && specs.length + add.length < o.rampMax; k++) {
      const c = conf++ % o.conferences;
      const i = perConf.get(c) ?? 0;
      perConf.set(c, i + 1);
      add.push(participantSpec(c, i, o.senders, ctx.cascade?.bridges.map((b) => b.region) ?? []));
    }
    specs.push(...add);
    for (const s of add) if (s.region) ctx.regionOf.set(s.id, s.region);
    await joinAll(ctx, add, started, errors);
  }
  const passing = steps.filter((s) => s.pass);
  if (stoppedByHarness) stoppedBy += ' (with the load generator saturated in the same step)';
  ctx.costsFrom = ctx.lastJoinAt;
  const last = steps.at(-1);
  const limit = rampLimit(last, last !== undefined && !last.pass, os.cpus().length, ctx.cpuCap);
  return { steps, ...(passing.length ? { capacity: passing.at(-1) as RampStep } : {}), stoppedBy, ...(limit ? { limit } : {}) };
}

/** A server under test as {@link startServer} started it. */
interface StartedServer {
  server: ServerUnderTest;
  /** `--cascade`: its bridges. */
  cascade: CascadeUnderTest | undefined;
  /** The public URL of octobridge's page (empty for raw and Janus). */
  publicUrl: string;
}

/** Start the server `which` runs against (inside `cap`, when there is one); notes go to `notes`. */
async function startServer(
  o: TortureOptions,
  which: 'octobridge' | 'janus' | 'raw',
  cap: CpuCap | undefined,
  log: (line: string) => void,
  notes: string[],
): Promise<StartedServer> {
  if (which === 'janus') return { server: await startJanus(path.join(o.out, 'janus'), o.conferences), cascade: undefined, publicUrl: '' };
  if (which === 'raw') return { server: await startRawServer(path.join(o.out, 'raw.log'), o.workers, cap ? { cap } : {}), cascade: undefined, publicUrl: '' };
  if (o.cascade !== undefined && o.cascade >= 2) {
    const cascade = await startCascade(o.cascade, o.out, { ...(o.workers ? { workers: o.workers } : {}), ...(o.jvbPort ? { jvbPort: o.jvbPort } : {}) });
    log(
      `cascade: ${cascade.bridges.map((b) => `${b.region} (${b.relayId}, ${b.bridge.publicUrl}, private ${b.bridge.privateUrl})`).join(', ')}; focus on ${cascade.bridges[0]?.region}`,
    );
    return { server: cascade, cascade, publicUrl: cascade.publicUrl };
  }
  if (o.url) {
    const b: BridgeUnderTest = bridgeAt(o.url, o.statsUrl, o.bridgePid);
    if (!o.bridgePid) notes.push('bridge at a URL without --bridge-pid: no bridge CPU/RSS');
    return { server: b, cascade: undefined, publicUrl: b.publicUrl };
  }
  const b = await startBridgeProcess(
    path.join(o.out, 'bridge.log'),
    { ...(o.workers ? { OCTOBRIDGE_WORKERS: String(o.workers) } : {}), ...(o.jvbPort ? { JVB_PORT: String(o.jvbPort) } : {}) },
    cap ? { cap } : {},
  );
  return { server: b, cascade: undefined, publicUrl: b.publicUrl };
}

/** Run one server (see the module docstring). */
async function runServer(o: TortureOptions, which: 'octobridge' | 'janus' | 'raw', clipFile: string, log: (line: string) => void): Promise<ServerRun> {
  const notes: string[] = [];
  // The cap goes on a server this harness starts alone: octobridge (one bridge) and raw.
  const capped = o.bridgeCpus !== undefined && (which === 'raw' || (which === 'octobridge' && !o.url && !(o.cascade !== undefined && o.cascade >= 2)));
  const cap = capped ? createCpuCap(`octobridge-torture-${which}-${process.pid}`, o.bridgeCpus as number) : undefined;
  if (cap) notes.push(`${which} capped at ${cap.cores} core(s) of CPU (cgroup ${cap.dir})`);
  else if (o.bridgeCpus !== undefined) notes.push(`${which} ran without the CPU cap (--bridge-cpus applies to the one bridge or raw SFU this harness starts)`);
  let up: StartedServer;
  try {
    up = await startServer(o, which, cap, log, notes);
  } catch (err) {
    await cap?.close();
    throw err;
  }
  const { server, cascade, publicUrl } = up;
  const specs = planParticipants(o, cascade ? cascadeRegions(cascade.bridges.length) : []);
  if (which !== 'octobridge') {
    const dropped = specs.filter((s) => s.kind === 'chromium').length;
    for (const s of specs) s.kind = 'light';
    if (dropped) notes.push(`${dropped} Chromium participant(s) ran as light clients (the ${which} run has no page)`);
  }
  const light = specs.filter((s) => s.kind === 'light').length + (o.ramp ? Math.max(0, o.rampMax - specs.length) : 0);
  // One agent (one event loop) per 8 light participants, at most 4: an agent near a full core
  // delays packets and skips frames, which the receivers would count against the server.
  const agents = o.agents > 0 ? o.agents : Math.max(1, Math.min(4, Math.ceil(light / 8)));
  const cfg: AgentConfig = {
    server: which,
    url: server.clientUrl,
    localAddress: server.localAddress,
    media: o.media,
    clipFile,
    simulcast: o.simulcast && which === 'octobridge',
    thumbnailHeight: o.thumbnailHeight,
    stageHeight: o.stageHeight,
    loss: which === 'octobridge' ? o.loss / 100 : 0,
    receive: o.receive,
  };
  if (o.simulcast && which !== 'octobridge') notes.push(`${which === 'janus' ? 'Janus' : 'raw'} run without simulcast (light clients send one 360p stream)`);
  const fleet = await Fleet.start(cfg, light > 0 ? agents : 0, publicUrl, { simulcast: o.simulcast, width: o.chromiumWidth, height: o.chromiumHeight });
  const barTotal = o.ramp ? Math.ceil((o.rampMax - specs.length) / Math.max(1, o.rampAdd) + 1) * o.rampStep : o.duration;
  const bar = o.progress
    ? new SingleBar({
        format: `${which} {bar} {value}/{total}s | {participants} participants, {streams} streams | server CPU {cpu}% | freezes {freezes}/min | loss {loss}%`,
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
      })
    : undefined;
  const ctx: RunContext = {
    o,
    server,
    cascade,
    regionOf: new Map(specs.flatMap((s) => (s.region ? [[s.id, s.region] as const] : []))),
    fleet,
    timeline: [],
    history: new TotalsHistory(),
    t0: nowMs(),
    connected: new Set(),
    bar,
    barTotal,
    lastJoinAt: 0,
    costsFrom: 0,
    barState: { value: 0, payload: { participants: 0, streams: 0, cpu: '0', freezes: '0.00', loss: '0.00' } },
    cpuCap: cap?.cores,
    stats: undefined,
    probe: undefined,
    log: (line) => {
      bar?.stop();
      log(line);
      bar?.start(barTotal, ctx.barState.value, ctx.barState.payload);
    },
  };
  const errors: Record<string, string> = {};
  const faults: FaultRecord[] = [];
  const started = new Set<number>();
  const startedAt = new Date().toISOString();
  let steadyFrom = ctx.t0;
  let rampResult: ServerRun['ramp'];
  bar?.start(barTotal, 0, ctx.barState.payload);
  const sampling = startSampling(ctx);
  let participants: ParticipantReport[] = [];
  let costs: ServerRun['costs'] = {};
  let impairment: RelayCounters | undefined;
  let end = ctx.t0;
  try {
    await joinAll(ctx, specs, started, errors);
    steadyFrom = nowMs();
    ctx.costsFrom = steadyFrom;
    if (o.ramp) rampResult = await ramp(ctx, specs, started, errors);
    else await steady(ctx, faults);
    end = nowMs();
    await sleep(1100); // one more sample covering the end
  } finally {
    await sampling.stop();
    bar?.stop();
    participants = await fleet.reports(end).catch(() => []);
    if (fleet.relay) impairment = fleet.relay;
    const [agentPids, chromiumPids] = [fleet.agentPids(), fleet.chromiumPids()];
    const memory = { agents: { pss: pssMiB(agentPids), rss: rssMiB(agentPids) }, chromium: { pss: pssMiB(chromiumPids), rss: rssMiB(chromiumPids) } };
    costs = kindCosts(ctx, specs, memory, fleet.agentBaseMiB());
    await fleet.close();
    await server.close();
    if (cap) {
      const throttled = cap.throttledMs();
      if (throttled !== undefined) notes.push(`${which} was throttled at its CPU cap for ${(throttled / 1000).toFixed(1)} s in all`);
      await cap.close();
    }
  }
  joinTimes(participants);
  // A source crosses a relay when its sender is on another bridge than its receiver.
  const regionOf = ctx.regionOf;
  const acrossRelay = (r: ParticipantReport, s: SourceReport): boolean => regionOf.get(s.owner) !== undefined && regionOf.get(s.owner) !== r.spec.region;
  faults.forEach((f, i) => {
    if (f.at === undefined) return;
    const index = faults.slice(0, i + 1).filter((x) => x.at !== undefined).length - 1;
    if (f.kind !== 'drop-relay') {
      f.recovery = recoveryOf(participants, index);
      return;
    }
    f.recovery = recoveryOf(participants, index, acrossRelay);
    f.sameBridge = recoveryOf(participants, index, (r, s) => !acrossRelay(r, s));
  });
  return {
    server: which,
    ...(cascade ? { bridges: cascade.bridges.map((b) => ({ region: b.region, relayId: b.relayId })) } : {}),
    startedAt,
    t0: ctx.t0,
    steadyFrom,
    end,
    specs,
    joinErrors: errors,
    timeline: ctx.timeline,
    participants,
    faults,
    ...(rampResult ? { ramp: rampResult } : {}),
    costs,
    ...(impairment ? { impairment } : {}),
    notes,
  };
}

/**
 * CPU (mean from 2 s after `ctx.costsFrom`: the steady window, or the last ramp step) and memory
 * (at the end) of each kind of participant; light ones above the agents' idle memory.
 */
function kindCosts(
  ctx: RunContext,
  specs: ParticipantSpec[],
  mem: Record<'agents' | 'chromium', { pss: number; rss: number }>,
  agentBase: { pss: number; rss: number },
): ServerRun['costs'] {
  const ss = ctx.timeline.filter((s) => ctx.t0 + s.t * 1000 >= ctx.costsFrom + 2000);
  const light = specs.filter((s) => s.kind === 'light' && ctx.connected.has(s.id)).length;
  const chromium = specs.filter((s) => s.kind === 'chromium' && ctx.connected.has(s.id)).length;
  const cost = (n: number, cpu: number, m: { pss: number; rss: number }, base: { pss: number; rss: number }): KindCost => ({
    participants: n,
    cpu,
    cpuPerParticipant: cpu / n,
    pssMiB: m.pss,
    pssPerParticipantMiB: (m.pss - base.pss) / n,
    rssMiB: m.rss,
    rssPerParticipantMiB: (m.rss - base.rss) / n,
  });
  const out: ServerRun['costs'] = {};
  if (light > 0) out.light = cost(light, mean(ss.map((s) => s.harness.agentCpu)), mem.agents, agentBase);
  if (chromium > 0) out.chromium = cost(chromium, mean(ss.map((s) => s.harness.chromiumCpu)), mem.chromium, { pss: 0, rss: 0 });
  return out;
}

/**
 * Run the torture as `o` says: octobridge, then raw mediasoup with `o.raw` (`o.repeat` times each, alternating which goes
 * first), then Janus with `o.janus`. Records the VP8 clip first
 * when it is not cached (media `vp8`).
 * @throws Error when the bridge, Janus or the client agents cannot start.
 */
export async function runTorture(
  o: TortureOptions,
  log: (line: string) => void = (l) => void process.stderr.write(`[torture] ${l}\n`),
): Promise<TortureResults> {
  const clipFile = path.join(PROJECT_ROOT, 'bench', 'results', '.cache', 'vp8-clip-v1.bin');
  if (o.media === 'vp8') await loadOrRecordClip(clipFile, log);
  const runs: ServerRun[] = [];
  // The others run without octobridge's faults, cascade, loss or Chromium.
  const plain = { ...o, killWorkerAt: undefined, dropRelayAt: undefined, cascade: undefined, loss: 0, chromium: 0 };
  const repeat = o.raw ? Math.max(1, o.repeat ?? 1) : 1;
  for (let i = 0; i < repeat; i++) {
    if (repeat > 1) log(`repetition ${i + 1} of ${repeat}: ${i % 2 === 0 ? 'octobridge, then raw' : 'raw, then octobridge'}`);
    if (o.raw && i % 2 === 1) runs.push(await runServer(plain, 'raw', clipFile, log));
    runs.push(await runServer(o, 'octobridge', clipFile, log));
    if (o.raw && i % 2 === 0) runs.push(await runServer(plain, 'raw', clipFile, log));
  }
  if (o.janus) runs.push(await runServer(plain, 'janus', clipFile, log));
  const cpus = os.cpus();
  return {
    version: 1,
    options: o,
    machine: { cpus: cpus.length, model: cpus[0]?.model ?? '', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    media:
      o.media === 'vp8'
        ? `real VP8 recorded from Chromium's fake camera (libvpx), looped: ${o.simulcast ? '3 simulcast layers 320x180/640x360/1280x720' : 'one 640x360 stream'} at 30 fps, opus silence 50 pps`
        : 'synthetic VP8-shaped RTP (bench/lib/media.ts, not decodable), 30 fps x 3 packets, 600 kbps',
    runs,
  };
}
