/**
 * What the torture harness prints and keeps: the summary of a run (participants, join times,
 * quality from the participants' reports; the server's CPU and memory over the steady window;
 * the cost of each kind of participant), the tables, the ramp's capacity and the comparison of
 * octobridge with raw mediasoup and Janus (CPU per forwarded stream and packet, and their ratios);
 * results.json and the plots in the results folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { f0, f1, f2, table } from '../format.ts';
import { percentile } from '../lib/measure.ts';
import { bridgeOfProcess } from './cascade.ts';
import { plotRun } from './plot.ts';
import { receivedFromAll, remoteSenders, type FaultRecord, type RampStep, type ServerRun, type TortureResults } from '../lib/results.ts';
import { windowQuality, type WindowQuality } from '../lib/sampler.ts';
import type { SourceReport } from '../lib/light/types.ts';

/** The aggregate figures of one run. */
export interface RunSummary {
  server: 'octobridge' | 'janus' | 'raw';
  participants: { planned: number; joined: number; failed: number; light: number; chromium: number };
  /** Participants that decoded frames from every remote sender of their conference. */
  receivedMedia: number;
  /** Join time (first decoded remote frame − max(join start, media available)), ms. */
  joinMs: { n: number; p50: number; p95: number; max: number };
  /** Over the steady window (2 s after everyone joined → end), all participants: sampler.ts `WindowQuality`. */
  steady: WindowQuality | null;
  /** Over every received video stream, from its first frame to the end: freezes per minute and % frozen. */
  freezesPerMin: number;
  frozenPct: number;
  /** Over every received stream: % never received (after RTX), % missing on first arrival. */
  lossPct: number;
  lossBeforeRtxPct: number;
  /** Interarrival jitter over received streams, ms. */
  jitterMs: { p50: number; p95: number };
  /** Mean received bitrate and frame rate per video stream; count of streams per resolution. */
  videoKbps: number;
  videoFps: number;
  resolutions: Record<string, number>;
  /** The server over the steady window (2 s after everyone joined → end): % of one core per process (mean), total mean and peak, RSS (max, MiB). */
  serverCpu: Record<string, number>;
  serverCpuTotal: number;
  serverCpuPeak: number;
  serverRssMiB: number;
  /** Forwarded streams (mean over the steady window) and server CPU per forwarded stream (% of one core). */
  forwardedStreams: number;
  cpuPerStream: number;
  /**
   * Media packets the participants received per second over the steady window (every receiver's
   * copy: what the server forwarded; not RTX, padding or RTCP), and server CPU per such packet (µs).
   */
  forwardedPps: number;
  cpuUsPerPacket: number;
  /**
   * The client agents' CPU per received media packet over the steady window, µs (their sending,
   * signalling and sampling included): the load generator's cost, to compare `--receive` modes.
   */
  clientUsPerPacket: number;
  /** Header-only receivers: RTX packets received and those attributed to a missing packet (`recovered`). */
  rtx?: { packets: number; recovered: number };
  /**
   * A cascade, per bridge over the steady window: CPU (% of one core, mean and peak; per process),
   * RSS max (MiB), streams it delivers to its own participants (mean) and CPU per such stream.
   */
  bridges?: BridgeSummary[];
  /** The load generator: worst agent event loop p99 (ms), frames skipped by the agents' pacers. */
  harnessEventLoopMs: number;
  skippedFrames: number;
  /** The machine over the steady window: CPU of everything, and of other work than this run (mean, % of one core). */
  machineCpu: number;
  othersCpu: number;
  /**
   * The speed probe's µs of CPU per unit of its fixed work over the steady window (median of its seconds; NaN
   * without): how slow the machine was during this run (bench/lib/speedProbe.ts).
   */
  speedProbeUs: number;
}

/** One bridge of a cascade in {@link RunSummary}. */
export interface BridgeSummary {
  region: string;
  relayId: string;
  cpu: number;
  cpuPeak: number;
  processes: Record<string, number>;
  rssMiB: number;
  streams: number;
  cpuPerStream: number;
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Per bridge of a cascade over the `steady` samples (see {@link BridgeSummary}). */
function bridgeSummaries(run: ServerRun, steady: ServerRun['timeline']): BridgeSummary[] | undefined {
  if (!run.bridges) return undefined;
  return run.bridges.map(({ region, relayId }) => {
    const own = (s: ServerRun['timeline'][number]) => s.server.processes.filter((p) => bridgeOfProcess(p.name) === region);
    const cpu = mean(steady.map((s) => sum(own(s).map((p) => p.cpu))));
    const streams = mean(steady.map((s) => s.forwardedByBridge?.[region] ?? 0));
    const names = [...new Set(steady.flatMap((s) => own(s).map((p) => p.name)))];
    return {
      region,
      relayId,
      cpu,
      cpuPeak: Math.max(0, ...steady.map((s) => sum(own(s).map((p) => p.cpu)))),
      processes: Object.fromEntries(
        names.map((n) => [n.slice(region.length + 1), mean(steady.map((s) => s.server.processes.find((p) => p.name === n)?.cpu ?? 0))]),
      ),
      rssMiB: Math.max(0, ...run.timeline.map((s) => sum(own(s).map((p) => p.rssMiB)))),
      streams,
      cpuPerStream: cpu / streams,
    };
  });
}
const sorted = (xs: number[]): Float64Array => Float64Array.from(xs).sort();

/** The summary of `run` (see {@link RunSummary}). */
export function summarize(run: ServerRun): RunSummary {
  const reports = run.participants;
  const video = reports.flatMap((r) => r.sources.filter((s) => s.kind === 'video' && s.packets > 0));
  const all = reports.flatMap((r) => r.sources.filter((s) => s.packets > 0));
  const joins = sorted(reports.flatMap((r) => (r.joinMs !== undefined && r.joinMs >= 0 ? [r.joinMs] : [])));
  const observedMin = (s: SourceReport): number => (s.firstFrameAt !== undefined ? (run.end - s.firstFrameAt) / 60_000 : 0);
  const minutes = video.reduce((n, s) => n + observedMin(s), 0);
  const expected = all.reduce((n, s) => n + Math.max(s.expected, s.packets), 0);
  const jitters = sorted(all.map((s) => s.jitterMs));
  const resolutions: Record<string, number> = {};
  for (const s of video) if (s.width) resolutions[`${s.width}x${s.height}`] = (resolutions[`${s.width}x${s.height}`] ?? 0) + 1;
  const steady = run.timeline.filter((s) => run.t0 + s.t * 1000 >= run.steadyFrom + 2000 && run.t0 + s.t * 1000 <= run.end + 1000);
  const names = [...new Set(steady.flatMap((s) => s.server.processes.map((p) => p.name)))];
  const serverCpuTotal = mean(steady.map((s) => s.server.cpu));
  const [first, last] = [steady[0], steady.at(-1)];
  const forwardedStreams = mean(steady.map((s) => s.forwardedStreams));
  const forwardedPps =
    first && last && last.totals.at > first.totals.at ? (last.totals.packets - first.totals.packets) / ((last.totals.at - first.totals.at) / 1000) : Number.NaN;
  const bridges = bridgeSummaries(run, steady);
  return {
    server: run.server,
    participants: {
      planned: run.specs.length,
      joined: reports.filter((r) => r.connectedAt !== undefined).length,
      failed: Object.keys(run.joinErrors).length,
      light: run.specs.filter((s) => s.kind === 'light').length,
      chromium: run.specs.filter((s) => s.kind === 'chromium').length,
    },
    receivedMedia: reports.filter((r) => r.connectedAt !== undefined && receivedFromAll(run, r)).length,
    joinMs: { n: joins.length, p50: percentile(joins, 50), p95: percentile(joins, 95), max: joins.at(-1) ?? Number.NaN },
    steady: first && last && first !== last ? windowQuality(first.totals, last.totals) : null,
    freezesPerMin: minutes > 0 ? video.reduce((n, s) => n + s.freezeCount, 0) / minutes : 0,
    frozenPct: minutes > 0 ? (100 * video.reduce((n, s) => n + s.totalFreezesDurationMs, 0)) / (minutes * 60_000) : 0,
    lossPct: expected > 0 ? (100 * all.reduce((n, s) => n + Math.max(s.expected, s.packets) - s.packets, 0)) / expected : 0,
    lossBeforeRtxPct: expected > 0 ? (100 * all.reduce((n, s) => n + Math.max(s.expected, s.packets) - s.firstArrivals, 0)) / expected : 0,
    jitterMs: { p50: percentile(jitters, 50), p95: percentile(jitters, 95) },
    videoKbps: mean(video.map((s) => s.kbps)),
    videoFps: mean(video.map((s) => s.fps)),
    resolutions,
    serverCpu: Object.fromEntries(names.map((n) => [n, mean(steady.map((s) => s.server.processes.find((p) => p.name === n)?.cpu ?? 0))])),
    serverCpuTotal,
    serverCpuPeak: Math.max(0, ...steady.map((s) => s.server.cpu)),
    serverRssMiB: Math.max(0, ...run.timeline.map((s) => s.server.rssMiB)),
    forwardedStreams,
    cpuPerStream: serverCpuTotal / forwardedStreams,
    forwardedPps,
    cpuUsPerPacket: ((serverCpuTotal / 100) * 1e6) / forwardedPps,
    clientUsPerPacket: ((mean(steady.map((s) => s.harness.agentCpu)) / 100) * 1e6) / forwardedPps,
    ...(all.some((s) => s.rtxPackets !== undefined)
      ? { rtx: { packets: sum(all.map((s) => s.rtxPackets ?? 0)), recovered: sum(all.map((s) => s.recovered)) } }
      : {}),
    ...(bridges ? { bridges } : {}),
    harnessEventLoopMs: Math.max(0, ...run.timeline.map((s) => s.harness.eventLoopDelayMs)),
    skippedFrames: run.timeline.at(-1)?.harness.skippedFrames ?? 0,
    machineCpu: mean(steady.map((s) => s.machine.cpu)),
    othersCpu: mean(steady.map((s) => s.machine.othersCpu)),
    speedProbeUs: median(steady.flatMap((s) => (s.machine.speedProbeUs !== undefined ? [s.machine.speedProbeUs] : []))),
  };
}

/** One row per participant: what it received (video streams aggregated). */
function participantRows(run: ServerRun): string[][] {
  return run.participants.map((r) => {
    const v = r.sources.filter((s) => s.kind === 'video' && s.packets > 0);
    const a = r.sources.filter((s) => s.kind === 'audio' && s.packets > 0);
    const exp = [...v, ...a].reduce((n, s) => n + Math.max(s.expected, s.packets), 0);
    const lost = [...v, ...a].reduce((n, s) => n + Math.max(s.expected, s.packets) - s.packets, 0);
    const res = [...new Set(v.map((s) => (s.width ? `${s.height}p` : '?')))].join('/');
    return [
      r.spec.id,
      r.spec.kind,
      r.spec.send ? 'yes' : 'no',
      r.joinMs !== undefined ? f0(r.joinMs) : '-',
      `${v.filter((s) => s.framesDecoded > 0).length}/${remoteSenders(run, r).length}`,
      f1(mean(v.map((s) => s.fps))),
      f2(mean(v.map((s) => s.freezesPerMin))),
      f2(mean(v.map((s) => s.frozenPct))),
      exp > 0 ? f2((100 * lost) / exp) : '-',
      f1(mean([...v, ...a].map((s) => s.jitterMs))),
      f0(mean(v.map((s) => s.kbps))),
      res || '-',
      r.errors.length ? (r.errors[0]?.slice(0, 40) ?? '') : '',
    ];
  });
}

/** The printed line of a fault and the recovery after it. */
function formatFault(f: FaultRecord): string {
  const line = `fault ${f.kind} at ${f1(f.atS)} s: ${f.note}`;
  const r = f.recovery;
  if (!r) return line;
  if (f.kind !== 'drop-relay') {
    return `${line}; video streams that froze: ${r.affected} (recovered in p50 ${f0(r.p50Ms)} ms, all within ${f0(r.maxMs)} ms), did not freeze: ${r.unaffected}, never recovered: ${r.neverRecovered}`;
  }
  const same = f.sameBridge;
  return (
    `${line}\n  video received across a relay: ${r.affected} stream(s) froze and recovered p50 ${f0(r.p50Ms)} ms / max ${f0(r.maxMs)} ms after the outage ended, ` +
    `${r.unaffected} did not freeze, ${r.neverRecovered} never recovered (still frozen at the end)` +
    (same
      ? `\n  video from the same bridge (not across a relay): ${same.affected} froze (p50 ${f0(same.p50Ms)} ms / max ${f0(same.maxMs)} ms after the end), ${same.unaffected} did not, ${same.neverRecovered} never recovered`
      : '')
  );
}

/** The printed report of one run; `cores`: the machine's cores (for streams per machine core). */
export function formatRun(run: ServerRun, s: RunSummary, o: TortureResults['options'], cores: number): string {
  const out: string[] = [];
  const cascade = run.bridges
    ? ` (cascade of ${run.bridges.length} bridges: ${run.bridges.map((b, i) => (i === 0 ? `${b.region} with the focus` : b.region)).join(', ')}; participants' regions round robin)`
    : '';
  out.push(
    `== ${run.server}${cascade}: ${o.conferences} conference(s) x ${o.participants} participants (${o.senders} senders each)${o.ramp ? ', ramp' : `, ${o.duration} s steady`}, receivers: ${o.receive === 'header' ? 'RTP headers only (no SRTP decryption)' : 'full (decrypted, frames reassembled)'}`,
  );
  if (run.participants.length <= 48) {
    out.push(
      table(
        ['participant', 'kind', 'sends', 'join ms', 'video', 'fps', 'freezes/min', 'frozen %', 'loss %', 'jitter ms', 'kbps/stream', 'resolution', 'error'],
        participantRows(run),
      ),
    );
  }
  const cpuParts = s.bridges
    ? s.bridges.map((b) => `${b.region} ${f1(b.cpu)}`).join(' + ')
    : Object.entries(s.serverCpu)
        .map(([n, v]) => `${n} ${f1(v)}`)
        .join(' + ');
  out.push(
    table(
      ['figure', 'value'],
      [
        ['participants joined / planned (failed)', `${s.participants.joined} / ${s.participants.planned} (${s.participants.failed})`],
        ['decoded video from every remote sender', `${s.receivedMedia} / ${s.participants.joined}`],
        ['join time p50 / p95 / max (ms)', `${f0(s.joinMs.p50)} / ${f0(s.joinMs.p95)} / ${f0(s.joinMs.max)} (n=${s.joinMs.n})`],
        [
          'steady window: freezes per stream-minute, % frozen, % loss',
          s.steady ? `${f2(s.steady.freezesPerMin)}, ${f2(s.steady.frozenPct)}, ${f2(s.steady.lossPct)} (${f0(s.steady.seconds)} s)` : '-',
        ],
        ['whole run: freezes per stream-minute, % frozen', `${f2(s.freezesPerMin)}, ${f2(s.frozenPct)}`],
        [
          'whole run: loss after RTX / before RTX (%)',
          `${f2(s.lossPct)} / ${f2(s.lossBeforeRtxPct)}${s.rtx ? ` (headers only: ${s.rtx.packets} RTX packets, ${s.rtx.recovered} attributed by timestamp)` : ''}`,
        ],
        ['jitter p50 / p95 (ms)', `${f2(s.jitterMs.p50)} / ${f2(s.jitterMs.p95)}`],
        ['video per stream (kbps, fps)', `${f0(s.videoKbps)} kbps, ${f1(s.videoFps)} fps`],
        [
          'received resolutions (streams)',
          Object.entries(s.resolutions)
            .map(([k, n]) => `${k} x${n}`)
            .join(', ') || '-',
        ],
        [`${run.server} CPU % of one core (mean, steady)`, `${f1(s.serverCpuTotal)} (${cpuParts}); peak ${f1(s.serverCpuPeak)}`],
        [`${run.server} RSS max (MiB)`, f1(s.serverRssMiB)],
        ['forwarded streams (mean, steady)', f1(s.forwardedStreams)],
        [`${run.server} CPU per forwarded stream (% of a core)`, f2(s.cpuPerStream)],
        ['forwarded packets/s (received media, steady)', f0(s.forwardedPps)],
        [`${run.server} CPU per forwarded packet (µs)`, f2(s.cpuUsPerPacket)],
        [`light clients' CPU per received packet (µs, --receive ${o.receive ?? 'full'})`, f2(s.clientUsPerPacket)],
        ['load generator: agent event loop p99 max (ms), skipped frames', `${f1(s.harnessEventLoopMs)}, ${s.skippedFrames}`],
        ['machine CPU % of one core (all / not this run), steady', `${f0(s.machineCpu)} / ${f0(s.othersCpu)}`],
      ],
    ),
  );
  for (const [kind, c] of Object.entries(run.costs)) {
    if (!c) continue;
    out.push(
      `cost of a ${kind} participant here: ${f1(c.cpuPerParticipant)}% of a core, ${f1(c.rssPerParticipantMiB)} MiB RSS / ${f1(c.pssPerParticipantMiB)} MiB PSS` +
        ` (${c.participants} of them: ${f1(c.cpu)}% CPU, ${f0(c.rssMiB)} MiB RSS, ${f0(c.pssMiB)} MiB PSS${kind === 'light' ? ", the agents' idle Node included; per participant above it" : ''})`,
    );
  }
  if (s.bridges) {
    out.push(
      table(
        ['bridge', 'relay id', 'CPU % (mean, steady)', 'per process', 'CPU % peak', 'RSS max MiB', 'streams to its participants', 'CPU % per stream'],
        s.bridges.map((b) => [
          b.region,
          b.relayId,
          f1(b.cpu),
          Object.entries(b.processes)
            .map(([n, v]) => `${n} ${f1(v)}`)
            .join(' + '),
          f1(b.cpuPeak),
          f1(b.rssMiB),
          f1(b.streams),
          f2(b.cpuPerStream),
        ]),
      ),
    );
  }
  for (const f of run.faults) out.push(formatFault(f));
  if (run.ramp) {
    out.push(
      table(
        [
          'participants',
          'streams',
          'packets/s',
          'server CPU %',
          'busiest process %',
          'agents CPU % (max)',
          'client µs/packet',
          'machine CPU %',
          'UDP drops/s server/agents',
          'freezes/min',
          'loss %',
          'agent loop p99 ms',
          'other work CPU %',
          'result',
        ],
        run.ramp.steps.map((st) => [
          String(st.participants),
          f0(st.forwardedStreams),
          f0(st.forwardedPps),
          f1(st.serverCpu),
          st.serverBusiest ? `${st.serverBusiest.name} ${f0(st.serverBusiest.cpu)}` : '-',
          st.agentCpu !== undefined ? `${f0(st.agentCpu)} (${f0(st.agentCpuMax)})` : '-',
          f1(st.clientUsPerPacket),
          f0(st.machineCpu),
          st.udpDropsPerS ? `${f0(st.udpDropsPerS.server)} / ${f0(st.udpDropsPerS.agents)}` : '-',
          f2(st.quality.freezesPerMin),
          f2(st.quality.lossPct),
          f1(st.eventLoopDelayMs),
          f0(st.othersCpu),
          st.pass ? 'ok' : (st.why ?? 'fail'),
        ]),
      ),
    );
    const c = run.ramp.capacity;
    out.push(
      c
        ? `capacity on this machine (last step below the thresholds; stopped by ${run.ramp.stoppedBy}): ${c.participants} participants, ${f0(c.forwardedStreams)} forwarded streams and ${f0(c.forwardedPps)} forwarded packets/s at ${f1(c.serverCpu)}% server CPU = ${f0(c.forwardedStreams / (c.serverCpu / 100))} streams and ${f0(c.forwardedPps / (c.serverCpu / 100))} packets/s per core of server CPU, ${f0(c.forwardedStreams / cores)} streams per machine core`
        : `no step passed (stopped by ${run.ramp.stoppedBy})`,
    );
    const fail = run.ramp.steps.at(-1);
    if (fail && !fail.pass) {
      out.push(
        `the step that broke a threshold (${fail.participants} participants): ${f0(fail.forwardedStreams)} streams, ${f0(fail.forwardedPps)} packets/s at ${f1(fail.serverCpu)}% server CPU = ${f0(fail.forwardedStreams / (fail.serverCpu / 100))} streams and ${f0(fail.forwardedPps / (fail.serverCpu / 100))} packets/s per core of server CPU`,
      );
    }
    const lim = run.ramp.limit;
    if (lim) {
      const side =
        lim.side === 'bridge'
          ? `the bridge (${fail && !fail.pass ? 'quality broke with the load generator not saturated' : 'a server process near a full core'})`
          : lim.side === 'load generator'
            ? 'the load generator (the server is not the limit measured: its capacity is at least this)'
            : lim.side === 'both'
              ? 'both the bridge and the load generator'
              : 'neither (the ramp stopped before a threshold)';
      out.push(`saturated: ${side}${lim.machineSaturated ? ", with the machine's cores all busy" : ''}; ${lim.detail}`);
    }
  }
  if (run.impairment) {
    const pct = (d: { passed: number; dropped: number }): string => f2((100 * d.dropped) / Math.max(1, d.passed + d.dropped));
    out.push(`impairment relay: dropped ${pct(run.impairment.up)}% of RTP/RTCP towards the bridge, ${pct(run.impairment.down)}% back (STUN/DTLS pass)`);
  }
  for (const n of run.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

/** CPU per forwarded stream and packet of one server over another (`a / b`), in results.json `comparison`. */
export interface CostRatio {
  of: string;
  perStream: number;
  perPacket: number;
}

/** The median of `xs` (the mean of the middle two for an even count); NaN when empty. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * The ratios the comparison prints: octobridge / raw, raw / Janus, octobridge / Janus (those whose two runs exist).
 * A server run more than once (`--repeat`) counts with the median of its runs' CPU per stream and per packet.
 */
export function costRatios(summaries: readonly RunSummary[]): CostRatio[] {
  const by = (name: RunSummary['server']): { cpuPerStream: number; cpuUsPerPacket: number } | undefined => {
    const runs = summaries.filter((s) => s.server === name);
    return runs.length ? { cpuPerStream: median(runs.map((r) => r.cpuPerStream)), cpuUsPerPacket: median(runs.map((r) => r.cpuUsPerPacket)) } : undefined;
  };
  const pairs: [RunSummary['server'], RunSummary['server'], string][] = [
    ['octobridge', 'raw', 'octobridge / raw'],
    ['raw', 'janus', 'raw / Janus'],
    ['octobridge', 'janus', 'octobridge / Janus'],
  ];
  return pairs.flatMap(([a, b, of]) => {
    const [x, y] = [by(a), by(b)];
    return x && y ? [{ of, perStream: x.cpuPerStream / y.cpuPerStream, perPacket: x.cpuUsPerPacket / y.cpuUsPerPacket }] : [];
  });
}

/** One repetition of octobridge against raw mediasoup (`--repeat`): CPU per forwarded packet and what the workers alone cost. */
export interface RepeatPair {
  repetition: number;
  first: 'octobridge' | 'raw';
  octobridgeUsPerPacket: number;
  rawUsPerPacket: number;
  perPacket: number;
  /** The same with each side's workers only (its Node process left out), µs per packet over µs per packet. */
  workersPerPacket: number;
  /** octobridge's Node process, % of one core. */
  octobridgeNodeCpu: number;
  /** {@link perPacket} and {@link workersPerPacket} with each run's µs per packet divided by its speed probe's µs (NaN without). */
  perPacketAtSpeed: number;
  workersPerPacketAtSpeed: number;
}

/** The k-th octobridge run paired with the k-th raw run (runs in the order they ran). Empty without repetitions. */
export function repeatPairs(summaries: readonly RunSummary[]): RepeatPair[] {
  const ob = summaries.filter((s) => s.server === 'octobridge');
  const raw = summaries.filter((s) => s.server === 'raw');
  if (ob.length < 2 || raw.length < 2) return [];
  const workersUs = (s: RunSummary): number => (((s.serverCpuTotal - (s.serverCpu.node ?? 0)) / 100) * 1e6) / s.forwardedPps;
  return ob.slice(0, raw.length).map((o, i) => {
    const r = raw[i] as RunSummary;
    const speed = r.speedProbeUs / o.speedProbeUs;
    return {
      repetition: i + 1,
      first: i % 2 === 0 ? 'octobridge' : 'raw',
      octobridgeUsPerPacket: o.cpuUsPerPacket,
      rawUsPerPacket: r.cpuUsPerPacket,
      perPacket: o.cpuUsPerPacket / r.cpuUsPerPacket,
      workersPerPacket: workersUs(o) / workersUs(r),
      octobridgeNodeCpu: o.serverCpu.node ?? Number.NaN,
      perPacketAtSpeed: (o.cpuUsPerPacket / r.cpuUsPerPacket) * speed,
      workersPerPacketAtSpeed: (workersUs(o) / workersUs(r)) * speed,
    };
  });
}

/** The table of {@link repeatPairs} with their medians. */
function formatRepeats(pairs: readonly RepeatPair[]): string {
  return [
    `== octobridge / raw over ${pairs.length} repetitions (alternating which ran first):`,
    table(
      [
        'repetition',
        'first',
        'octobridge µs/packet',
        'raw µs/packet',
        'octobridge / raw',
        'workers only',
        'octobridge Node % of a core',
        'at equal speed',
        'workers at equal speed',
      ],
      [
        ...pairs.map((p) => [
          String(p.repetition),
          p.first,
          f2(p.octobridgeUsPerPacket),
          f2(p.rawUsPerPacket),
          f2(p.perPacket),
          f2(p.workersPerPacket),
          f1(p.octobridgeNodeCpu),
          f2(p.perPacketAtSpeed),
          f2(p.workersPerPacketAtSpeed),
        ]),
        [
          'median',
          '',
          f2(median(pairs.map((p) => p.octobridgeUsPerPacket))),
          f2(median(pairs.map((p) => p.rawUsPerPacket))),
          f2(median(pairs.map((p) => p.perPacket))),
          f2(median(pairs.map((p) => p.workersPerPacket))),
          f1(median(pairs.map((p) => p.octobridgeNodeCpu))),
          f2(median(pairs.map((p) => p.perPacketAtSpeed))),
          f2(median(pairs.map((p) => p.workersPerPacketAtSpeed))),
        ],
      ],
    ),
    "at equal speed: each run's µs per packet divided by the speed probe's µs per unit of fixed work in the same window (bench/lib/speedProbe.ts), which takes the machine's drift between runs out",
  ].join('\n');
}

/**
 * The servers side by side (same light participants and media): CPU per forwarded stream and
 * packet, and the ratios; a warning when the runs did not carry the same load (forwarded packets
 * per second more than 5 % apart, e.g. the load generator starved by other work on the machine).
 */
export function formatComparison(summaries: readonly RunSummary[]): string {
  const ratios = costRatios(summaries);
  const pps = summaries.map((s) => s.forwardedPps);
  const uneven = Math.max(...pps) > 1.05 * Math.min(...pps);
  const names: Record<RunSummary['server'], string> = { octobridge: 'octobridge', raw: 'raw mediasoup', janus: 'Janus VideoRoom' };
  return [
    `== ${[...new Set(summaries.map((s) => names[s.server]))].join(' vs ')} (same light participants and media):`,
    table(
      [
        'server',
        'forwarded streams',
        'packets/s',
        'CPU % (steady)',
        'CPU % per stream',
        'CPU µs per packet',
        'client µs per packet',
        'freezes/min (steady)',
        'loss % (steady)',
        'skipped frames',
        'other work CPU %',
        'speed probe µs',
      ],
      summaries.map((s) => [
        s.server,
        f1(s.forwardedStreams),
        f0(s.forwardedPps),
        f1(s.serverCpuTotal),
        f2(s.cpuPerStream),
        f2(s.cpuUsPerPacket),
        f2(s.clientUsPerPacket),
        f2(s.steady?.freezesPerMin ?? Number.NaN),
        f2(s.steady?.lossPct ?? Number.NaN),
        String(s.skippedFrames),
        f0(s.othersCpu),
        f2(s.speedProbeUs),
      ]),
    ),
    table(
      ['CPU ratio', 'per forwarded stream', 'per forwarded packet'],
      ratios.map((r) => [r.of, f2(r.perStream), f2(r.perPacket)]),
    ),
    ...(uneven
      ? [
          `warning: the runs forwarded ${pps.map((x) => f0(x)).join(' / ')} packets/s, not the same load (see skipped frames, other work): the ratios compare unlike runs`,
        ]
      : []),
  ].join('\n');
}

/** octobridge's ramp against raw mediasoup's, step by step (`--ramp --raw`), in results.json `rampComparison`. */
export interface RampComparison {
  /** Steps both ramps passed with the same participants: CPU µs per forwarded packet each, and octobridge / raw. */
  steps: { participants: number; octobridgeUsPerPacket: number; rawUsPerPacket: number; ratio: number }[];
  /** The median of the steps' ratios (NaN without a common step). */
  medianRatio: number;
  /** Forwarded packets/s at each one's capacity (its last passing step), and octobridge / raw (NaN when one has none). */
  capacityPps: { octobridge: number; raw: number; ratio: number };
}

/**
 * Pair octobridge's ramp with raw's (the first ramped run of each) by participant count. The two ramps add the same
 * participants at the same pace, so each common step compares the two servers at one load: the CPU per forwarded
 * packet over every load up to the lower threshold, and the capacity at each one's threshold.
 * @returns undefined unless both ran a ramp
 */
export function rampComparison(runs: readonly ServerRun[]): RampComparison | undefined {
  const ob = runs.find((r) => r.server === 'octobridge' && r.ramp)?.ramp;
  const raw = runs.find((r) => r.server === 'raw' && r.ramp)?.ramp;
  if (!ob || !raw) return undefined;
  const us = (st: RampStep): number => ((st.serverCpu / 100) * 1e6) / st.forwardedPps;
  const rawAt = new Map(raw.steps.filter((st) => st.pass && st.forwardedPps > 0).map((st) => [st.participants, st]));
  const steps = ob.steps.flatMap((st) => {
    const r = rawAt.get(st.participants);
    return st.pass && r && st.forwardedPps > 0
      ? [{ participants: st.participants, octobridgeUsPerPacket: us(st), rawUsPerPacket: us(r), ratio: us(st) / us(r) }]
      : [];
  });
  const [a, b] = [ob.capacity?.forwardedPps ?? Number.NaN, raw.capacity?.forwardedPps ?? Number.NaN];
  return { steps, medianRatio: median(steps.map((st) => st.ratio)), capacityPps: { octobridge: a, raw: b, ratio: a / b } };
}

/** The table of a {@link RampComparison}. */
function formatRampComparison(c: RampComparison): string {
  return [
    '== octobridge / raw mediasoup at each ramp step both passed (CPU per forwarded packet, all server processes):',
    table(
      ['participants', 'octobridge µs/packet', 'raw µs/packet', 'octobridge / raw'],
      [
        ...c.steps.map((st) => [String(st.participants), f2(st.octobridgeUsPerPacket), f2(st.rawUsPerPacket), f2(st.ratio)]),
        ['median', '', '', f2(c.medianRatio)],
      ],
    ),
    `capacity (forwarded packets/s at the last passing step): octobridge ${f0(c.capacityPps.octobridge)}, raw ${f0(c.capacityPps.raw)}, octobridge / raw ${f2(c.capacityPps.ratio)}`,
  ].join('\n');
}

/**
 * Write results.json (the results with each run's summary and the {@link costRatios} as
 * `comparison`) and a PNG per run (`torture.png`, `torture-raw.png`, `torture-janus.png`) into
 * `dir`; returns the printed report.
 * @throws Error when the folder cannot be written.
 */
export function writeResults(results: TortureResults, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const summaries = results.runs.map(summarize);
  const comparison = costRatios(summaries);
  const repeats = repeatPairs(summaries);
  const ramps = rampComparison(results.runs);
  fs.writeFileSync(
    path.join(dir, 'results.json'),
    `${JSON.stringify({ ...results, summaries, ...(comparison.length ? { comparison } : {}), ...(repeats.length ? { repeats } : {}), ...(ramps ? { rampComparison: ramps } : {}) }, null, 1)}\n`,
  );
  const printed: string[] = [`media: ${results.media}`];
  results.runs.forEach((run, i) => {
    // The k-th run of a server (`--repeat`) gets its own plot: torture-2.png, torture-raw-2.png, …
    const k = results.runs.slice(0, i).filter((r) => r.server === run.server).length + 1;
    const png = path.join(dir, `${run.server === 'octobridge' ? 'torture' : `torture-${run.server}`}${k > 1 ? `-${k}` : ''}.png`);
    const o = results.options;
    const cascade = run.bridges
      ? ` (cascade ${run.bridges.map((b) => b.region).join(' + ')}${o.dropRelayAt !== undefined ? `, relays down ${o.dropRelayFor} ms` : ''})`
      : '';
    plotRun(
      run,
      png,
      `${run.server}${cascade}: ${o.conferences} x ${o.participants} participants, ${o.senders} senders/conference${o.simulcast ? ', simulcast' : ''}${o.ramp ? ', ramp' : ''}`,
    );
    printed.push(formatRun(run, summaries[i] as RunSummary, o, results.machine.cpus));
  });
  if (summaries.length > 1) printed.push(formatComparison(summaries));
  if (repeats.length) printed.push(formatRepeats(repeats));
  if (ramps) printed.push(formatRampComparison(ramps));
  printed.push(`results: ${path.join(dir, 'results.json')}, plot: ${path.join(dir, 'torture.png')}`);
  return printed.join('\n\n');
}
