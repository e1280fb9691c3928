/**
 * What a torture run writes to results.json (bench/torture/run.ts), and the checks on it the harness and its test
 * share.
 */
import type { RelayCounters } from './light/impair.ts';
import type { ParticipantReport, ParticipantSpec } from './light/types.ts';
import type { Totals, WindowQuality } from './sampler.ts';

/** One outage request: which bridge, which relay, and what it answered. */
export interface RelayOutageCall {
  /** Region of the bridge asked. */
  on: string;
  relayId: string;
  /** HTTP status (0: no answer). */
  status: number;
  /** Relays it paused (one per conference linked by that relay). */
  relays: number;
  error?: string;
}

/** Everything the CLI can set (bench/torture.ts documents each). */
export interface TortureOptions {
  conferences: number;
  /** Participants per conference (the initial number with `ramp`). */
  participants: number;
  /** Senders per conference (the first participants of each). */
  senders: number;
  /** Seconds of steady state after everyone joined (ignored by `ramp`). */
  duration: number;
  simulcast: boolean;
  /** Participants (over all conferences) that are Chromium tabs instead of light clients. */
  chromium: number;
  /** Chromium senders' camera size. */
  chromiumWidth: number;
  chromiumHeight: number;
  /** Target a running bridge instead of starting one. */
  url?: string;
  statsUrl?: string;
  bridgePid?: number;
  /** mediasoup workers of the bridge the harness starts (default: one per core); of each bridge with `cascade`. */
  workers?: number;
  /**
   * The CPU the bridge (or the raw SFU) may use, in cores (a cgroup CFS quota over its Node process
   * and workers: bench/lib/cpuCap.ts), so that it rather than the load generator sharing the
   * machine reaches its limit first; undefined: no cap.
   */
  bridgeCpus?: number;
  /**
   * Bridges of a standalone cascade the harness starts (cascade.ts; 2 or more; undefined: one
   * bridge). Participants join through the first one's focus, regions round robin.
   */
  cascade?: number;
  /** The first bridge's media port (the others spaced after it); default: free ports. */
  jvbPort?: number;
  out: string;
  media: 'vp8' | 'synthetic';
  /** Client agent processes (0: one per 8 light participants, 1 to 4). */
  agents: number;
  /** ms between two joins after the first participant of each conference. */
  joinInterval: number;
  thumbnailHeight: number;
  stageHeight: number;
  ramp: boolean;
  /** Seconds per ramp step, participants added per step, the most participants in total. */
  rampStep: number;
  rampAdd: number;
  rampMax: number;
  /** Ramp thresholds: freezes per stream-minute, % packets lost. */
  maxFreezeRate: number;
  maxLoss: number;
  /**
   * How the light receivers read RTP: `header` (clear RTP headers only, no SRTP decryption:
   * headerReceive.ts) or `full` (werift decrypts, frames reassembled: receive.ts). The CLI's
   * default is `header` with `ramp` (the load generator must not be the bottleneck) and `full` otherwise.
   */
  receive: 'header' | 'full';
  janus: boolean;
  /** Also run the raw mediasoup SFU (rawSfu.ts) with the same light participants, after octobridge. */
  raw: boolean;
  /**
   * With `raw`: run octobridge and raw mediasoup this many times each, alternating which goes first (octobridge first
   * in the odd repetitions), so that the octobridge / raw ratio is a median over runs rather than one pair (on a
   * shared VM one pair's ratio moves by ±10 %). Janus runs once, after them. Default 1.
   */
  repeat?: number;
  /** Seconds after steady state starts. */
  killWorkerAt?: number;
  /** `cascade`: a two-way outage of every relay at `dropRelayAt` s for `dropRelayFor` ms. */
  dropRelayAt?: number;
  dropRelayFor: number;
  /** % of RTP/RTCP dropped each way between the light clients and octobridge, from `lossFrom` to `lossUntil` s (default: the whole run). */
  loss: number;
  lossFrom?: number;
  lossUntil?: number;
  progress: boolean;
}

/** One second of the run. */
export interface TimeSample {
  /** Seconds since the run started (the first join). */
  t: number;
  /** Participants connected. */
  participants: number;
  /** (receiver, source) pairs flowing: video that decoded a frame in the last 2 s, plus audio. */
  forwardedStreams: number;
  /** `cascade`: the same per bridge (region) of the receivers: what each bridge delivers to its participants. */
  forwardedByBridge?: Record<string, number>;
  /** The server's processes: % of one core over the last second, RSS MiB; `cpu`/`rssMiB` totals. */
  server: { processes: { name: string; cpu: number; rssMiB: number }[]; cpu: number; rssMiB: number };
  /** Quality over the last 10 s (sampler.ts `WindowQuality`). */
  quality: WindowQuality | null;
  /** All participants' cumulative counters (for quality over any window). */
  totals: Totals;
  /** `/colibri/stats` figures, when reachable. */
  stats?: Record<string, number>;
  /**
   * The load generator: agents' and Chromium's CPU % (of one core; `agentCpuMax`: the busiest
   * agent, each is one event loop), agents' worst event loop p99 (ms), frames their pacers skipped.
   */
  harness: { agentCpu: number; agentCpuMax: number; chromiumCpu: number; eventLoopDelayMs: number; skippedFrames: number };
  /**
   * The whole machine's CPU (% of one core, up to 100 x cores) and what of it is neither the server nor the harness
   * (other work on the machine, and the speed probe's ~0.4 %); the speed probe's µs of CPU per unit of its fixed work
   * over the second (bench/lib/speedProbe.ts; higher: the machine is slower now).
   */
  machine: { cpu: number; othersCpu: number; speedProbeUs?: number };
  /**
   * UDP datagrams the kernel dropped so far on the open sockets of the server's processes and of
   * the agents (full receive buffers: sampler.ts `udpDrops`); cumulative, a closed socket's drops are gone.
   */
  udpDrops?: { server: number; agents: number };
}

/** A fault the run injected. */
export interface FaultRecord {
  kind: 'kill-worker' | 'loss-end' | 'drop-relay';
  /** Seconds since steady state started. */
  atS: number;
  /** Epoch ms (undefined when nothing was done). */
  at?: number;
  /** Epoch ms, a fault that lasts (a relay outage): its end, from which recovery is measured. */
  until?: number;
  note: string;
  /**
   * From the participants' reports: video sources that froze across it, their time to recover (ms,
   * from its end). A relay outage: the sources received across a relay (sender on another bridge).
   */
  recovery?: Recovery;
  /** A relay outage: the sources received from a sender on the same bridge (the outage should not touch them). */
  sameBridge?: Recovery;
  /** A relay outage: what each bridge answered. */
  calls?: RelayOutageCall[];
}

/** Video sources across a fault: froze and recovered (p50/max ms), did not freeze, never recovered. */
export interface Recovery {
  affected: number;
  unaffected: number;
  neverRecovered: number;
  p50Ms: number;
  maxMs: number;
}

/** One ramp step (means over its window, from a few seconds after its joins to its end). */
export interface RampStep {
  participants: number;
  forwardedStreams: number;
  /** Media packets the receivers got per second (every receiver's copy: what the server forwarded). */
  forwardedPps: number;
  /** Server CPU (% of one core, all its processes) over the step's window. */
  serverCpu: number;
  /** The server's busiest process (a mediasoup worker or its Node process) and its CPU (% of one core). */
  serverBusiest: { name: string; cpu: number };
  /** Other work on the machine over the window (% of one core), which the run does not control. */
  othersCpu: number;
  /** The whole machine's CPU (% of one core, up to 100 x cores). */
  machineCpu: number;
  /** The client agents' CPU: all (% of one core) and the busiest one's. */
  agentCpu: number;
  agentCpuMax: number;
  /** Agents' CPU per received media packet (µs; their sending included). */
  clientUsPerPacket: number;
  quality: WindowQuality;
  /** Agents' worst and median (per second) event loop p99, ms; frames their pacers skipped per second. */
  eventLoopDelayMs: number;
  medianEventLoopDelayMs: number;
  skippedPerS: number;
  /** UDP datagrams dropped per second by the kernel on the server's and the agents' sockets (full receive buffers). */
  udpDropsPerS: { server: number; agents: number };
  pass: boolean;
  why?: string;
}

/**
 * Which side limited a ramp: `bridge` (a server process near a full core or its sockets dropping
 * datagrams, or quality broke with the load generator not saturated), `load generator` (agents near
 * a full core, skipping frames, with a lagging event loop or their sockets dropping datagrams), `both`, or `none` (the ramp
 * stopped at `--ramp-max` or on failed joins). `machine` adds that the whole machine was near
 * all its cores (bridge and clients then compete for CPU).
 */
export interface RampLimit {
  side: 'bridge' | 'load generator' | 'both' | 'none';
  machineSaturated: boolean;
  /** The figures behind the verdict, for the report. */
  detail: string;
}

/** Cost of one kind of participant on this machine. */
export interface KindCost {
  participants: number;
  /** % of one core, all their processes, mean over the steady window; and per participant. */
  cpu: number;
  cpuPerParticipant: number;
  /** PSS at the end, MiB; per participant (above the agents' idle PSS for light ones). */
  pssMiB: number;
  pssPerParticipantMiB: number;
  /** The same as RSS (which counts pages shared between processes once per process). */
  rssMiB: number;
  rssPerParticipantMiB: number;
}

/** The results of one server's run. */
export interface ServerRun {
  server: 'octobridge' | 'janus' | 'raw';
  /** `cascade`: the bridges' regions (the first ran the focus) and relay ids. */
  bridges?: { region: string; relayId: string }[];
  startedAt: string;
  /** Epoch ms: run start, steady state start, end. */
  t0: number;
  steadyFrom: number;
  end: number;
  specs: ParticipantSpec[];
  joinErrors: Record<string, string>;
  timeline: TimeSample[];
  participants: ParticipantReport[];
  faults: FaultRecord[];
  ramp?: { steps: RampStep[]; capacity?: RampStep; stoppedBy: string; limit?: RampLimit };
  costs: { light?: KindCost; chromium?: KindCost };
  /** `--loss`: packets the impairment relay passed and dropped, client → bridge (up) and back (down). */
  impairment?: RelayCounters;
  notes: string[];
}

/** Everything results.json holds. */
export interface TortureResults {
  version: 1;
  options: TortureOptions;
  machine: { cpus: number; model: string; memoryGiB: number; node: string };
  media: string;
  runs: ServerRun[];
}

/** Remote senders of `r`'s conference (other joined senders). */
export function remoteSenders(run: ServerRun, r: ParticipantReport): string[] {
  return run.specs.filter((s) => s.send && s.conference === r.spec.conference && s.id !== r.spec.id && !run.joinErrors[s.id]).map((s) => s.id);
}

/** Whether `r` decoded video from every remote sender of its conference. */
export function receivedFromAll(run: ServerRun, r: ParticipantReport): boolean {
  const got = new Set(r.sources.filter((s) => s.kind === 'video' && s.framesDecoded > 0).map((s) => s.owner));
  return remoteSenders(run, r).every((id) => got.has(id));
}
