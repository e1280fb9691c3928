/**
 * Allocation benchmark: how fast a receiver's layer follows its constraints through a real
 * bridge, and what the allocation costs in CPU. Prints tables; `--json` prints JSON instead
 * (progress goes to stderr either way).
 *
 *   npm run bench:allocation -- [--switches 20] [--interval 3000] [--timeout 5000] [--settle 3000]
 *     [--width 1280 --height 720 --fps 30] [--sources 50] [--seconds 2] [--scale-seconds 6] [--warmup 1]
 *     [--scale 100,250,500] [--warm] [--no-switch] [--no-cpu] [--json]
 *
 * 1. Layer switch latency (bench/allocation/switch.ts). A bridge in this process (embedded focus),
 *    one headless Chromium sending a 1280x720 camera as 3-layer VP8 simulcast (180/360/720, the
 *    standalone page munges like lib-jitsi-meet) and one receive-only Chromium. In the receiver
 *    page a requestVideoFrameCallback loop logs the presented height of the sender's tile. A
 *    switch is `window.octobridge.stage(source)` (ReceiverVideoConstraints with 720p on stage:
 *    "up") or `stage(null)` (back to the 180p thumbnail: "down"); its latency is page time from
 *    right before that call to the first presented frame of the target height. Switches alternate
 *    up/down, `--interval` ms apart once the previous one completed, after 180p frames flow and
 *    `--settle` ms more. A switch with no target frame within `--timeout` is counted as missed
 *    (and left out of the percentiles). With `--warm` a second receive-only page keeps the source
 *    on stage at 720p all along, so the sender never turns an encoding off: a switch up is then the
 *    allocation and one keyframe of the already active 720p layer. How to read it:
 *     - the latency covers the whole loop: the page's message over the bridge channel, the
 *       allocator (run in the next turn on a constraints change), for "up" the SenderSourceConstraints
 *       to the sender, which only then turns its 360p/720p encodings on (setParameters), the
 *       worker switching on the new layer's first keyframe (native patch 0006: no hold), then decoding and the next vsync of the page (rVFC fires when the frame is
 *       presented). "Down" needs no sender change (the 180p encoding always runs) but a keyframe
 *       of the lower layer. "received" is the same up to `receiveTime` of that frame (its last
 *       packet arrived), so latency - received is decode + render.
 *     - with 10 samples per direction, p99 is the largest sample (nearest rank): p99 = max.
 *     - per switch the table shows the receiver's estimate before it, the presented heights after
 *       t0 (ms@height) and, on the same clock up to the target frame, the bridge's side:
 *       `sender` = the maxHeight the sender was asked for (SenderSourceConstraints), `active` =
 *       the heights of the sender's encodings the bridge sees sending (stats polled every second),
 *       `alloc` = the layer the allocator chose for this receiver, `then` = the next decision
 *       after the target frame, `bwe a..b` = the receiver's estimates (Mbps) in that time. A slow
 *       switch shows where it waited.
 *     - "max gap" is the longest time between two presented frames during the switch: a freeze
 *       (e.g. waiting for a keyframe) shows there; ~33 ms is normal at 30 fps.
 *
 * 2. Allocation CPU (bench/allocation/cpu.ts), in this process, no media, no bridge running:
 *     - per receiver: `--sources` simulcast cameras of other endpoints (3 encodings 180/360/720 ×
 *       3 temporal layers 7.5/15/30 fps, cumulative bitrates 50/100/150, 200/350/500,
 *       700/1100/1500 kbps ±10 % per source), lastN -1, one source on stage at 720p, 180p
 *       thumbnails, an estimate of 5 Mbps (not everything fits: some thumbnails get a lower frame
 *       rate or nothing) and 50 Mbps (everything fits). One allocation = selectedOrder + prioritize
 *       + effectiveConstraints + allocate, what ConferenceAllocator.#run computes before it
 *       applies the result. "per core" = allocations one fully busy core would compute per second.
 *     - per conference: a ConferenceAllocator with `--sources` endpoints (audio + one simulcast
 *       camera each, all announced to everyone, no-op sinks) where one trigger re-allocates every
 *       receiver: a dominant speaker change (round robin over everyone: the worst case, every
 *       other source moves down a rank; or two speakers alternating), or a new estimate on every
 *       receiver (5 ↔ 50 Mbps). This adds what #run does around the allocation (candidate list in
 *       speech order, the change check per source towards the sink, sender constraints) and the
 *       scheduling timers. "sink calls" counts the decisions that changed (each a consumer request
 *       to the worker in the bridge: layers, pause/resume or priority, which is the rank).
 *     - scaling: the conference case with the worst trigger (dominant speaker round robin, 5 Mbps)
 *       at each of `--scale` endpoint counts (100, 250, 500; empty to skip), with each figure's
 *       ratio to the first count's. A round re-allocates n receivers over n - 1 sources each, so
 *       per receiver the cost should grow no faster than the sources (ratio ≤ n / 100) and per
 *       round no faster than n² (ratio ≤ (n / 100)²): what grows faster is the allocator's
 *       overhead, not the allocation. Each count runs in a process of its own (allocation/scaleOne.ts,
 *       see measureScaleCount) and is timed for `--scale-seconds` s: at 500 endpoints a round takes
 *       ~40 ms, and a 2 s window (40 rounds) moved the ratio by ±15 % between runs.
 *    CPU is process.cpuUsage() (user + system of all threads of this process, so garbage
 *    collection on helper threads counts), wall time next to it; each case runs `--warmup` s,
 *    then is timed for `--seconds` s.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { f0, f1, f2, table } from './format.ts';
import { measureConference, measureReceiver, type ConferenceCpuResult, type ReceiverCpuResult } from './allocation/cpu.ts';
import { measureSwitches, type BridgeEvent, type SwitchResult, type SwitchSample } from './allocation/switch.ts';
import { percentile } from './lib/measure.ts';

const { values: args } = parseArgs({
  options: {
    switches: { type: 'string', default: '20' },
    interval: { type: 'string', default: '3000' },
    timeout: { type: 'string', default: '5000' },
    settle: { type: 'string', default: '3000' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    fps: { type: 'string', default: '30' },
    sources: { type: 'string', default: '50' },
    scale: { type: 'string', default: '100,250,500' },
    seconds: { type: 'string', default: '2' },
    'scale-seconds': { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    switch: { type: 'boolean', default: true },
    warm: { type: 'boolean', default: false },
    'trust-bwe': { type: 'boolean', default: true },
    cpu: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

const SOURCES = Number(args.sources);
const WARMUP_MS = Number(args.warmup) * 1000;
const MEASURE_MS = Number(args.seconds) * 1000;
const SCALE_MS = Number(args['scale-seconds']) * 1000;
const MBPS = 1_000_000;
const SCALE = args.scale
  .split(',')
  .filter((x) => x.trim() !== '')
  .map(Number);

const progress = (line: string): void => void process.stderr.write(`[allocation] ${line}\n`);

// ------------------------------------------------------------------ part 2: CPU

/** One endpoint count of the scaling run, with its ratios to the first count's. */
interface ScalingResult extends ConferenceCpuResult {
  /** cpuMsPerRound / the first count's. */
  roundRatio: number;
  /** cpuUsPerReceiver / the first count's. */
  receiverRatio: number;
  /** (n / first n)²: the round ratio of a cost linear in the sources per receiver. */
  quadraticRatio: number;
  /** n / first n: the receiver ratio of such a cost. */
  linearRatio: number;
}

interface CpuResults {
  receiver: ReceiverCpuResult[];
  conference: ConferenceCpuResult[];
  scaling: ScalingResult[];
}

/**
 * One count of the scaling run in a process of its own (allocation/scaleOne.ts), so that every count starts from the
 * same heap. Run after the other cases in this process, the 500 count took 96 and 119 µs per receiver in two runs,
 * against 80 and 81 µs in a process of its own (the 100 and 250 counts within 10 % either way).
 */
function measureScaleCount(n: number): ConferenceCpuResult {
  const script = fileURLToPath(new URL('./allocation/scaleOne.ts', import.meta.url));
  const out = execFileSync(process.execPath, [...process.execArgv, script, String(n), String(WARMUP_MS), String(SCALE_MS)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as ConferenceCpuResult;
}

function runCpu(): CpuResults {
  const receiver: ReceiverCpuResult[] = [];
  for (const bwe of [5 * MBPS, 50 * MBPS]) {
    progress(`CPU: one receiver, ${SOURCES} sources, ${bwe / MBPS} Mbps`);
    receiver.push(measureReceiver(SOURCES, bwe, WARMUP_MS, MEASURE_MS));
  }
  const conference: ConferenceCpuResult[] = [];
  for (const [trigger, bwe] of [
    ['dominant-speaker', [5 * MBPS]],
    ['dominant-speaker', [50 * MBPS]],
    ['dominant-speaker-pair', [5 * MBPS]],
    ['bandwidth', [5 * MBPS, 50 * MBPS]],
  ] as const) {
    progress(`CPU: conference of ${SOURCES}, ${trigger}, ${bwe.map((b) => b / MBPS).join(' <-> ')} Mbps`);
    conference.push(measureConference(SOURCES, trigger, [...bwe], WARMUP_MS, MEASURE_MS));
  }
  const scaling: ScalingResult[] = [];
  for (const n of SCALE) {
    progress(`CPU: scaling, conference of ${n}, dominant-speaker, 5 Mbps (a process of its own)`);
    const x = measureScaleCount(n);
    const base = scaling[0] ?? x;
    scaling.push({
      ...x,
      roundRatio: x.cpuMsPerRound / base.cpuMsPerRound,
      receiverRatio: x.cpuUsPerReceiver / base.cpuUsPerReceiver,
      quadraticRatio: (n / base.endpoints) ** 2,
      linearRatio: n / base.endpoints,
    });
  }
  return { receiver, conference, scaling };
}

const TRIGGER_NAMES: Record<ConferenceCpuResult['trigger'], string> = {
  'dominant-speaker': 'dominantSpeakerChanged, round robin',
  'dominant-speaker-pair': 'dominantSpeakerChanged, 2 alternating',
  bandwidth: 'bandwidthChanged on every receiver',
};

function printCpu(r: CpuResults): void {
  console.log('');
  console.log(`2. Allocation CPU, ${SOURCES} simulcast sources (3 x 3 layers), lastN -1, 1 on stage at 720p, 180p thumbnails`);
  console.log('');
  console.log(
    `one receiver: selectedOrder + prioritize + effectiveConstraints + allocate (${f1(MEASURE_MS / 1000)} s after ${f1(WARMUP_MS / 1000)} s warm-up)`,
  );
  console.log(
    table(
      ['estimate', 'allocations', 'CPU us/alloc', 'wall us/alloc', 'allocs/s per core', 'on stage', 'thumbnails', 'suspended', 'target Mbps'],
      r.receiver.map((x) => [
        `${x.bweBps / MBPS} Mbps`,
        String(x.allocations),
        f1(x.cpuUs),
        f1(x.wallUs),
        f0(x.perCoreSecond),
        x.outcome.onStage,
        x.outcome.thumbnails,
        String(x.outcome.suspended),
        f2(x.outcome.targetMbps),
      ]),
    ),
  );
  console.log('');
  console.log(`ConferenceAllocator, ${SOURCES} endpoints (audio + video each), no-op sinks: one trigger re-allocates all ${SOURCES} receivers, then flush()`);
  console.log(
    table(
      ['trigger', 'estimate', 'rounds', 'CPU ms/round', 'wall ms/round', 'CPU us/receiver', 'rounds/s per core', 'sink calls/round'],
      r.conference.map((x) => [
        TRIGGER_NAMES[x.trigger],
        `${x.bweBps.map((b) => b / MBPS).join(' <-> ')} Mbps`,
        String(x.rounds),
        f2(x.cpuMsPerRound),
        f2(x.wallMsPerRound),
        f1(x.cpuUsPerReceiver),
        f0(1000 / x.cpuMsPerRound),
        f0(x.sinkCallsPerRound),
      ]),
    ),
  );
  if (r.scaling.length > 0) {
    const first = r.scaling[0]?.endpoints ?? 0;
    console.log('');
    console.log(
      `scaling: ConferenceAllocator as above, dominantSpeakerChanged round robin, 5 Mbps, at ${r.scaling.map((x) => x.endpoints).join(' / ')} endpoints (ratios to ${first})`,
    );
    console.log(
      table(
        [
          'endpoints',
          'rounds',
          'CPU ms/round',
          'x round',
          `x (n/${first})^2`,
          'wall ms/round',
          'CPU us/receiver',
          'x receiver',
          `x n/${first}`,
          'sink calls/round',
        ],
        r.scaling.map((x) => [
          String(x.endpoints),
          String(x.rounds),
          f2(x.cpuMsPerRound),
          f2(x.roundRatio),
          f2(x.quadraticRatio),
          f2(x.wallMsPerRound),
          f1(x.cpuUsPerReceiver),
          f2(x.receiverRatio),
          f2(x.linearRatio),
          f0(x.sinkCallsPerRound),
        ]),
      ),
    );
    console.log(
      'a round re-allocates every receiver over every other endpoint\'s source: linear per receiver means "x receiver" <= "x n/first", "x round" <= "x (n/first)^2".',
    );
  }
  console.log('CPU: process.cpuUsage() user+system (all threads, GC included); per core = what one busy core would do per second.');
  console.log('sink calls: video(source, forwarding) when a decision changed (layer, pause or consumer priority = rank) + forwardedSources;');
  console.log('in the bridge each video() call is MediaEndpoint.applyForwarding (a consumer request to the worker when something changed).');
}

// ------------------------------------------------------------------ part 1: switches

interface Summary {
  samples: number;
  /** No frame of the target height within the timeout. */
  missed: number;
  /** Already at the target height at t0 (the switch before missed): not measured. */
  notSwitched: number;
  p50: number;
  p99: number;
  max: number;
  receivedP50: number;
}

function summarize(samples: readonly SwitchSample[]): Summary {
  const hit = samples.filter((s) => s.latencyMs !== null);
  const notSwitched = samples.filter((s) => s.fromHeight === s.targetHeight).length;
  const sorted = Float64Array.from(hit.map((s) => s.latencyMs as number)).sort();
  const received = Float64Array.from(hit.filter((s) => s.receiveMs !== null).map((s) => s.receiveMs as number)).sort();
  return {
    samples: samples.length,
    missed: samples.length - hit.length - notSwitched,
    notSwitched,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    receivedP50: percentile(received, 50),
  };
}

function summaries(r: SwitchResult): Record<'up' | 'down' | 'all', Summary> {
  return {
    up: summarize(r.samples.filter((s) => s.direction === 'up')),
    down: summarize(r.samples.filter((s) => s.direction === 'down')),
    all: summarize(r.samples),
  };
}

const mbps = (bps: number | undefined): string => (bps === undefined || bps < 0 ? '?' : f1(bps / MBPS));

/** A bridge event as `what@ms`. */
function eventName(e: BridgeEvent): string {
  switch (e.kind) {
    case 'alloc':
      return `alloc ${e.height ? `${e.height}p${f0(e.fps ?? 0)}` : 'off'}@${e.ms}`;
    case 'sender':
      return `sender ${e.height}@${e.ms}`;
    case 'layers':
      return `active ${(e.heights ?? []).join('/') || 'none'}@${e.ms}`;
    case 'bwe':
      return `bwe ${mbps(e.bps)}@${e.ms}`;
  }
}

/**
 * The bridge events of a switch up to its target frame (or the timeout) plus the first one after:
 * estimates only when they changed the allocation's picture (shown as first..last).
 */
function bridgeColumn(x: SwitchSample, timeoutMs: number): string {
  const end = x.latencyMs ?? timeoutMs;
  const upTo = x.bridge.filter((e) => e.ms <= end);
  const bwe = upTo.filter((e) => e.kind === 'bwe');
  const rest = upTo.filter((e) => e.kind !== 'bwe').map(eventName);
  const after = x.bridge.find((e) => e.ms > end && e.kind !== 'bwe');
  const range = bwe.length ? ` bwe ${mbps(bwe[0]?.bps)}..${mbps(bwe.at(-1)?.bps)}` : '';
  return `${rest.join(', ')}${after ? ` | then ${eventName(after)}` : ''}${range}`;
}

function printSwitches(r: SwitchResult, timeoutMs: number): void {
  const s = summaries(r);
  const warm = args.warm ? '; --warm: a second receiver keeps the source on stage, every encoding stays active' : '';
  console.log(`1. Layer switch latency: sender ${r.senderQuery} (3-layer VP8 simulcast) -> receive-only Chromium, through a bridge in this process${warm}`);
  console.log(
    `   settled at ${r.settled.height}p, ${r.settled.fps} frames/s presented; ${r.samples.length} switches, ${args.interval} ms apart, timeout ${timeoutMs} ms`,
  );
  console.log('');
  console.log(
    table(
      [
        '#',
        'switch',
        'latency ms',
        'received ms',
        'max gap ms',
        'frames',
        'bwe before',
        'presented heights (ms@h)',
        'bridge until the target frame (ms after t0)',
      ],
      r.samples.map((x) => [
        String(x.index),
        `${x.direction} ${x.fromHeight} -> ${x.targetHeight}`,
        x.latencyMs !== null ? f0(x.latencyMs) : x.fromHeight === x.targetHeight ? 'no switch' : 'MISSED',
        x.receiveMs === null ? '-' : f0(x.receiveMs),
        f0(x.maxGapMs),
        String(x.frames),
        mbps(x.bweBeforeBps),
        x.heights.map(([ms, h]) => `${ms}@${h}`).join(' '),
        bridgeColumn(x, timeoutMs),
      ]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['direction', 'switches', `missed (>${timeoutMs / 1000} s)`, 'no switch', 'measured', 'p50 ms', 'p99 ms', 'max ms', 'received p50 ms'],
      (['up', 'down', 'all'] as const).map((k) => {
        const x = s[k];
        const name = k === 'up' ? 'up -> 720' : k === 'down' ? 'down -> 180' : 'all';
        return [
          name,
          String(x.samples),
          String(x.missed),
          String(x.notSwitched),
          String(x.samples - x.missed - x.notSwitched),
          f0(x.p50),
          f0(x.p99),
          f0(x.max),
          f0(x.receivedP50),
        ];
      }),
    ),
  );
  for (const x of r.samples.filter((y) => y.latencyMs === null && y.fromHeight !== y.targetHeight)) {
    const e = x.atEnd;
    console.log(
      `missed #${x.index} (${x.direction}): at the timeout the allocator forwarded ${e.target} (ideal ${e.ideal}) with an estimate of ${mbps(e.bweBps)} Mbps; active encodings (top layer, Mbps): ${e.layers}`,
    );
  }
  console.log(
    `percentiles over the measured switches only; p99 is nearest-rank: with <= ${s.up.samples} samples per direction (${s.all.samples} in all) it is the largest sample, i.e. p99 = max.`,
  );
  console.log('"no switch": the receiver already showed the target height at t0 (the switch before it missed), so there was nothing to measure.');
  console.log("latency: page time from right before stage() to the first presented (rVFC) frame of the target height; received: to that frame's receiveTime.");
  const enc = r.senderEncodings.map(
    (e) =>
      `${e.ssrc}: ${e.active === false ? 'inactive' : `${e.frameHeight}p ${f0(e.fps)} fps ${f0(e.kbps)} kbps`}${e.qualityLimitationReason && e.qualityLimitationReason !== 'none' ? ` (limited: ${e.qualityLimitationReason})` : ''}`,
  );
  console.log(`sender encodings at the end: ${enc.join('; ')}`);
  console.log(`receiver bandwidth estimate at the end (allocator): ${r.receiverBweBps < 0 ? 'unknown' : `${f2(r.receiverBweBps / MBPS)} Mbps`}`);
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  // CPU first: nothing else runs in this process then (no bridge, no browsers).
  const cpu = args.cpu ? runCpu() : undefined;
  const timeoutMs = Number(args.timeout);
  const switches = args.switch
    ? await measureSwitches(
        {
          switches: Number(args.switches),
          intervalMs: Number(args.interval),
          timeoutMs,
          settleMs: Number(args.settle),
          senderQuery: `width=${args.width}&height=${args.height}&fps=${args.fps}`,
          warm: args.warm,
          env: { JVB_CC_TRUST_BWE: String(args['trust-bwe']) },
        },
        progress,
      )
    : undefined;
  if (args.json) {
    console.log(JSON.stringify({ switches: switches ? { ...switches, summary: summaries(switches) } : null, cpu: cpu ?? null }, null, 2));
    return;
  }
  if (switches) printSwitches(switches, timeoutMs);
  if (cpu) printCpu(cpu);
}

await main();
// Nothing is left to do; make sure no stray handle (browser pipes, worker) keeps the process up.
process.exit(0);
