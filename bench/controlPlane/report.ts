/**
 * The control-plane benchmark's results: one step's figures derived from a measured window
 * (Node CPU per endpoint), and the printed tables (bench/format.ts).
 */
import os from 'node:os';
import { f0, f1, f2, table } from '../format.ts';
import { ELD_RESOLUTION_MS, type WindowFigures } from './measure.ts';
import type { ProfileSummary } from './profile.ts';
import { SENDER_PROFILE } from './protocol.ts';

/** One measured step: the window's figures and the endpoints connected during it. */
export interface StepResult extends WindowFigures {
  endpoints: number;
  conferences: number;
  /** Endpoints that failed to join up to this step. */
  failed: number;
  /** Wall time to join this step's new endpoints, s. */
  joinSeconds: number;
  /** Node CPU per endpoint, µs of CPU per wall second (NaN at 0 endpoints; null in the JSON). */
  nodeUsPerEndpoint: number;
  /** The same above the idle baseline's Node CPU. */
  nodeUsPerEndpointAboveIdle: number;
}

/** The run's parameters the tables' header names. Seconds in s. */
export interface RunShape {
  perConference: number;
  senders: number;
  seconds: number;
  settleSeconds: number;
}

/** µs of CPU per second in 1 % of one core. */
const US_PER_PCT = 10_000;

/** A step from window `w` with `endpoints` connected; `idle`: the baseline window (undefined for the baseline itself). */
export function stepOf(
  w: WindowFigures,
  endpoints: number,
  idle: WindowFigures | undefined,
  extra: { conferences: number; failed: number; joinSeconds: number },
): StepResult {
  return {
    ...w,
    endpoints,
    ...extra,
    nodeUsPerEndpoint: endpoints > 0 ? (w.nodeCpuPct * US_PER_PCT) / endpoints : Number.NaN,
    nodeUsPerEndpointAboveIdle: endpoints > 0 && idle ? ((w.nodeCpuPct - idle.nodeCpuPct) * US_PER_PCT) / endpoints : Number.NaN,
  };
}

/** Print the profile summary of the steady phase at `endpoints` (profile.ts). */
export function printProfile(p: ProfileSummary, endpoints: number): void {
  console.log('');
  console.log(`CPU profile of the bridge's Node process, steady phase at ${endpoints} endpoints: ${f0(p.busyMs)} ms busy of ${f0(p.wallMs)} ms (${p.file})`);
  const rows = (xs: ProfileSummary['functions']): string[][] => xs.map((x) => [x.name, f0(x.ms), f1(x.pct)]);
  console.log(table(['self time by area', 'ms', '% busy'], rows(p.areas)));
  console.log('');
  console.log(table(['self time by file', 'ms', '% busy'], rows(p.files)));
  console.log('');
  console.log(table(['self time by function', 'ms', '% busy'], rows(p.functions)));
  console.log('');
  console.log('longest tasks (event loop blocked), with the outermost src/ frames of their samples:');
  for (const t of p.longTasks) {
    console.log(`  ${f0(t.ms)} ms at +${f2(t.atMs / 1000)} s: ${t.stacks.map((x) => `${f0(x.pct)}% ${x.stack}`).join('; ')}`);
  }
}

/** Print the steps' table (the first step is the idle baseline) and their ratios, for a run described by `run`. */
export function printSteps(steps: StepResult[], run: RunShape): void {
  const idle = steps[0] as StepResult;
  const first = steps[1];
  console.log(`Control plane: the bridge's Node process with connected endpoints (werift, ICE+DTLS+SCTP, audio+video sources signalled),`);
  console.log(
    `conferences of ${run.perConference}, ${run.senders} sending endpoints (${SENDER_PROFILE.videoKbps} kbps video + ${SENDER_PROFILE.audioPps} pps audio each), ${run.seconds} s steady phase after ${run.settleSeconds} s, ${os.cpus().length} cores`,
  );
  console.log('');
  console.log(
    table(
      [
        'endpoints',
        'failed',
        'join s',
        'loop p50 ms',
        'loop p99 ms',
        'loop max ms',
        'node CPU %',
        'us/s per ep',
        'above idle',
        'node RSS MiB',
        'workers %',
        'clients %',
        'bench %',
        'machine %',
        'other %',
        'load1',
      ],
      steps.map((s) => [
        s.endpoints === 0 ? '0 (idle)' : String(s.endpoints),
        String(s.failed),
        f1(s.joinSeconds),
        f2(s.delay.p50),
        f2(s.delay.p99),
        f1(s.delay.max),
        f1(s.nodeCpuPct),
        f1(s.nodeUsPerEndpoint),
        f1(s.nodeUsPerEndpointAboveIdle),
        f0(s.nodeRssMiB),
        f1(s.workersCpuPct),
        f1(s.clientsCpuPct),
        f1(s.benchCpuPct),
        f1(s.machineCpuPct),
        f1(s.otherCpuPct),
        f2(s.load1),
      ]),
    ),
  );
  console.log('');
  const ratio = (a: number, b: number): string => (b > 0 ? f2(a / b) : '-');
  console.log(`ratios: node CPU and loop p99 to the idle bridge (0 endpoints), node CPU per endpoint to the first step (${first?.endpoints ?? '-'})`);
  console.log(
    table(
      ['endpoints', 'x endpoints', 'node CPU x idle', 'loop p99 x idle', 'us/s per ep x first', 'above idle x first'],
      steps
        .slice(1)
        .map((s) => [
          String(s.endpoints),
          ratio(s.endpoints, first?.endpoints ?? 0),
          ratio(s.nodeCpuPct, idle.nodeCpuPct),
          ratio(s.delay.p99, idle.delay.p99),
          ratio(s.nodeUsPerEndpoint, first?.nodeUsPerEndpoint ?? 0),
          ratio(s.nodeUsPerEndpointAboveIdle, first?.nodeUsPerEndpointAboveIdle ?? 0),
        ]),
    ),
  );
  console.log('');
  console.log(`loop: the bridge's prom-client monitorEventLoopDelay over the steady phase, minus its ${ELD_RESOLUTION_MS} ms resolution.`);
  console.log(
    'CPU: /proc/<pid>/stat utime+stime, % of one core; "us/s per ep" = node CPU µs per second per endpoint; "above idle" = the same minus the idle bridge\'s.',
  );
  console.log('"other" = machine minus node, workers, clients and this process: load on the host that is not this benchmark.');
  const busy = steps.filter((s) => s.machineCpuPct > 90 * os.cpus().length).map((s) => s.endpoints);
  if (busy.length)
    console.log(`the machine was saturated (> 90 % of every core) at ${busy.join(', ')} endpoints: the loop delay there includes waiting for a core.`);
}
