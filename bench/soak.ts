/**
 * Soak benchmark: participants join and leave standalone rooms for a long time, and the bridge
 * must give back what they took. It starts octobridge as a child process (`node src/main.ts` on
 * loopback and free ports, bench/lib/bridgeProcess.ts), warms it up with a short churn, then runs
 * `--rate` joins a second for `--duration` s (bench/soak/churn.ts: werift participants through the
 * focus WebSocket, some sending media; most stay a few seconds and leave cleanly, the others close
 * their socket at a random moment of the join, within `--abort-window` ms of its start), and
 * measures the bridge (bench/soak/probe.ts: Node RSS, V8 heap in use, open fds, mediasoup workers'
 * RSS, conferences and endpoints of /colibri/stats) cold, at the start (after the warm-up, everyone
 * gone), every 10 s, at the end (the last participant just left) and after `--settle` s, each time
 * right after a full garbage collection in the bridge (bench/soak/gc.ts: the child runs with the
 * inspector on a loopback port for this).
 *
 *   npm run bench:soak -- [--duration 120] [--rate 2] [--rooms 3] [--stay 6] [--abort 0.4] [--abort-window 400]
 *     [--send 0.5] [--warmup 10] [--settle 75] [--workers 1]
 *     [--rss-tolerance 32] [--heap-tolerance 8] [--fd-tolerance 4] [--workers-rss-tolerance 24]
 *
 * It fails (exit 1) when, after the settle time, conferences or endpoints are not 0, or the Node
 * RSS, heap, fds or the workers' RSS exceed the start value by more than their tolerance (MiB,
 * fds). Even after a full GC, RSS keeps what the allocators hold on to, hence the tolerances. The
 * settle time's default (75 s) outlasts the 60 s for which /metrics keeps reading an expired
 * endpoint's channel counters (src/metrics/attach.ts), which holds on to the endpoint until then.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/config/config.ts';
import { f0, f1, table } from './format.ts';
import { Churn, type ChurnOptions } from './soak/churn.ts';
import { collectGarbage, INSPECT_OPTION, inspectorUrl } from './soak/gc.ts';
import { probe, type SoakSample } from './soak/probe.ts';
import { startBridgeProcess } from './lib/bridgeProcess.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: a } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    rate: { type: 'string', default: '2' },
    rooms: { type: 'string', default: '3' },
    stay: { type: 'string', default: '6' },
    abort: { type: 'string', default: '0.4' },
    'abort-window': { type: 'string', default: '400' },
    send: { type: 'string', default: '0.5' },
    warmup: { type: 'string', default: '10' },
    settle: { type: 'string', default: '75' },
    workers: { type: 'string', default: '1' },
    'rss-tolerance': { type: 'string', default: '32' },
    'heap-tolerance': { type: 'string', default: '8' },
    'fd-tolerance': { type: 'string', default: '4' },
    'workers-rss-tolerance': { type: 'string', default: '24' },
  },
});
const num = (k: keyof typeof a): number => {
  const v = Number(a[k]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: not a number >= 0: ${a[k]}`);
  return v;
};

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const logFile = path.join(PROJECT_ROOT, 'bench', 'results', `soak-${stamp}`, 'bridge.log');
const bridge = await startBridgeProcess(logFile, {
  OCTOBRIDGE_WORKERS: String(num('workers')),
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${INSPECT_OPTION}`.trim(),
});
const inspector = await inspectorUrl(logFile);
/** Measure after a full GC in the bridge (the heap and RSS of what is still referenced). */
const measure = async (): Promise<SoakSample> => {
  await collectGarbage(inspector);
  return probe(bridge);
};
const churnOptions = (): ChurnOptions => ({
  focusBase: bridge.focusBase,
  rooms: Math.max(1, Math.round(num('rooms'))),
  sendFraction: num('send'),
  abortFraction: num('abort'),
  stayMs: num('stay') * 1000,
  abortWindowMs: num('abort-window'),
});
const t0 = Date.now();
const say = (line: string): void => console.error(`[soak ${f0((Date.now() - t0) / 1000).padStart(4)} s] ${line}`);
const line = (s: SoakSample): string =>
  `rss ${f1(s.rssMiB)} MiB, heap ${f1(s.heapUsedMiB)} MiB, fds ${s.fds}, workers ${f1(s.workersRssMiB)} MiB, ${s.conferences} conferences, ${s.endpoints} endpoints`;

/** Wait until /colibri/stats shows no conference and no endpoint (at most `ms`). */
async function untilEmpty(ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await probe(bridge);
    if ((s.conferences === 0 && s.endpoints === 0) || Date.now() > end) return;
    await sleep(500);
  }
}

let failed: string[] = [];
try {
  await sleep(1000);
  const cold = await measure();
  say(`cold: ${line(cold)}`);

  // Warm-up: the first conferences load code and fill caches that stay; the start is measured after it.
  const warm = new Churn(churnOptions());
  warm.start(num('rate'));
  await sleep(num('warmup') * 1000);
  await warm.stop();
  warm.close();
  await untilEmpty(30_000);
  await sleep(3000);
  const start = await measure();
  say(`start (after a ${num('warmup')} s warm-up, ${warm.counts.started} participants): ${line(start)}`);

  const churn = new Churn(churnOptions());
  churn.start(num('rate'));
  const duration = num('duration') * 1000;
  const runStart = Date.now();
  let peakEndpoints = 0;
  while (Date.now() - runStart < duration) {
    await sleep(Math.min(10_000, duration - (Date.now() - runStart)));
    const s = await measure();
    peakEndpoints = Math.max(peakEndpoints, s.endpoints);
    say(`${line(s)}; ${churn.active} participants active, ${churn.counts.started} started`);
  }
  await churn.stop();
  churn.close();
  const end = await measure();
  say(`end (the last participant left): ${line(end)}`);
  await sleep(num('settle') * 1000);
  const settled = await measure();
  say(`after ${num('settle')} s: ${line(settled)}`);

  const c = churn.counts;
  const joinMs = [...c.joinMs].sort((x, y) => x - y);
  const p50 = joinMs[Math.floor(joinMs.length / 2)] ?? Number.NaN;
  console.log(
    `soak: ${num('duration')} s at ${num('rate')} joins/s over ${churnOptions().rooms} rooms, ${os.availableParallelism()} cores, ${num('workers')} worker(s); ` +
      `${c.started} participants: ${c.joined} joined (p50 ${f0(p50)} ms), ${c.left} left cleanly, ${c.aborted} closed their socket during the join ` +
      `(${c.abortedJoined} of them after it completed), ${c.failed} joins failed; peak ${peakEndpoints} endpoints at a sample`,
  );
  const rows = [
    ['cold', cold],
    ['start', start],
    ['end', end],
    [`settled (+${num('settle')} s)`, settled],
  ] as const;
  console.log(
    table(
      ['', 'node RSS MiB', 'heap MiB', 'fds', 'workers RSS MiB', 'conferences', 'endpoints'],
      rows.map(([name, s]) => [name, f1(s.rssMiB), f1(s.heapUsedMiB), f0(s.fds), f1(s.workersRssMiB), f0(s.conferences), f0(s.endpoints)]),
    ),
  );
  const checks: [string, number, number, number, string][] = [
    ['node RSS', settled.rssMiB, start.rssMiB, num('rss-tolerance'), 'MiB'],
    ['heap', settled.heapUsedMiB, start.heapUsedMiB, num('heap-tolerance'), 'MiB'],
    ['fds', settled.fds, start.fds, num('fd-tolerance'), ''],
    ['workers RSS', settled.workersRssMiB, start.workersRssMiB, num('workers-rss-tolerance'), 'MiB'],
  ];
  const verdict: string[][] = checks.map(([name, now, was, tol, unit]) => {
    const ok = Number.isFinite(now) && now - was <= tol;
    if (!ok) failed.push(`${name} ${f1(now)} vs ${f1(was)} at the start (tolerance +${tol} ${unit})`);
    return [name, `${f1(now - was)} ${unit}`.trim(), `+${tol} ${unit}`.trim(), ok ? 'ok' : 'FAIL'];
  });
  for (const k of ['conferences', 'endpoints'] as const) {
    const ok = settled[k] === 0;
    if (!ok) failed.push(`${settled[k]} ${k} left`);
    verdict.push([k, f0(settled[k]), '0', ok ? 'ok' : 'FAIL']);
  }
  console.log(table(['settled vs start', 'change', 'allowed', ''], verdict));
} catch (err) {
  failed = [`${(err as Error).message}`];
} finally {
  await bridge.close();
}
if (failed.length > 0) {
  console.log(`soak FAILED: ${failed.join('; ')} (bridge log: ${logFile})`);
  process.exit(1);
}
console.log(`soak passed (bridge log: ${logFile})`);
process.exit(0);
