/**
 * colibri2 allocation latency through a real Prosody: endpoint allocations sent the
 * way Jicofo sends them (bench/lib/jicofo.ts, over xmpp/RemoteBridgeClient) to a bridge in
 * the brewery. Prints p50/p99/max of
 *   - bridge time: parse → typed API → serialise, measured inside the bridge's IQ handler;
 *   - round trip: what the focus waits for (bridge time + XMPP through Prosody, both ways).
 * Two runs: N allocations one after the other (no queueing), then N at once spread over
 * conferences of `--per-conference` endpoints (JVB and octobridge serialise per conference,
 * so the concurrent bridge time includes the wait behind earlier requests of the same conference).
 *
 * The bridge runs in a child process of its own (bench/lib/bridgeChild.ts), as it does beside Jicofo: this process's
 * 100 requests, answers and XMPP parsing would otherwise share its Node thread. Each run also prints the bridge
 * process's CPU per allocation (user + system over the run, its timers included); `BENCH_BRIDGE_PROFILE_DIR=dir`
 * writes a CPU profile of the bridge for each run.
 *
 * What an allocation waits for: parse 0.1 ms; its transport, a spare of the conference's router made ahead
 * (src/media/SpareTransports.ts), or, when none is ready (the conference's first endpoint, more allocations at once than
 * spares), `router.createWebRtcTransport`, one worker round trip made before the request's turn in the conference's
 * queue (`MediaConference.prepareEndpoint`); the endpoint, its BridgeChannel and the allocator, and the answer. The SCTP
 * bridge channel (four more worker requests: `produceData` on the transport and the DirectTransport, both `consumeData`)
 * and the transport's `bwe` trace are made when the endpoint connects (SCTP runs over DTLS, which cannot start before); a
 * new receiver's ideal bitrate (0) is not sent either. With them in the answer's path the concurrent p99 was 13–30 ms.
 * With the transport's round trip still in it, 5 runs gave 3.7–7.3 ms (median 5.1): timestamps per request showed the
 * slowest waiting 3–7 ms for a transport the worker makes in ~0.5 ms, with nothing else to do in the bridge meanwhile.
 * The bridge's Node thread had slept through the round trip and then waited for a core held by Prosody and this process
 * (renicing the bridge's Node process alone to -10 brought the median to ~3 ms; renicing its workers did nothing).
 * With the spares the allocation runs start to finish without that sleep. Measure with nothing else running, and
 * compare distributions, not one run.
 *
 *   npm run bench:colibri2 -- [--allocations 100] [--per-conference 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/logger.ts';
import { allocate, jicofoClient } from './lib/jicofo.ts';
import { startChildBridge } from './lib/bridgeChild.ts';
import { bridgeXmppEnv, startProsody } from './lib/prosody.ts';

const { values: args } = parseArgs({
  options: {
    allocations: { type: 'string', default: '100' },
    'per-conference': { type: 'string', default: '10' },
  },
});
const N = Number(args.allocations);
const PER = Number(args['per-conference']);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
}

function line(name: string, xs: number[]): string {
  return `${name.padEnd(34)} p50 ${pct(xs, 50).toFixed(2).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms   max ${Math.max(...xs)
    .toFixed(2)
    .padStart(7)} ms`;
}

const log = createLogger('silent', { pretty: false });
const prosody = await startProsody();
const bridge = await startChildBridge({ ...bridgeXmppEnv(prosody, 'bench-bridge'), OCTOBRIDGE_FOCUS: '0' });
const focus = jicofoClient(prosody, log);
try {
  await focus.start();
  const jid = (await focus.waitForBridge()).jid;

  const timed = async (req: ReturnType<typeof allocate>): Promise<number> => {
    const t0 = performance.now();
    await focus.conferenceModify(req, jid);
    return performance.now() - t0;
  };

  // Warm-up (JIT, first router).
  for (let i = 0; i < 10; i++) await timed(allocate(randomUUID(), `w${i}`, true));
  await bridge.mark();

  // 1. One after the other, each in a conference of PER endpoints.
  const seqRtt: number[] = [];
  let meeting = randomUUID();
  for (let i = 0; i < N; i++) {
    if (i % PER === 0) meeting = randomUUID();
    seqRtt.push(await timed(allocate(meeting, `s${i}`, i % PER === 0)));
  }
  const { colibri2Ms: seqBridge, cpuUs: seqCpu } = await bridge.mark();

  // 2. All at once: conferences created first (Jicofo's create comes with the first endpoint),
  //    then the remaining allocations concurrently.
  const meetings = Array.from({ length: Math.ceil(N / PER) }, () => randomUUID());
  await Promise.all(meetings.map((m, i) => timed(allocate(m, `c${i}-0`, true))));
  await bridge.mark();
  const rest: Promise<number>[] = [];
  for (let i = 0; i < N; i++) {
    const m = meetings[i % meetings.length]!;
    rest.push(timed(allocate(m, `c${i}-x`, false)));
  }
  const t0 = performance.now();
  const concRtt = await Promise.all(rest);
  const wall = performance.now() - t0;
  const { colibri2Ms: concBridge, cpuUs: concCpu } = await bridge.mark();

  console.log(`colibri2 endpoint allocations through Prosody ${'(Jicofo requests, real mediasoup transports)'}`);
  console.log(`sequential, ${N} allocations:`);
  console.log(`  ${line('bridge time (parse..serialise)', seqBridge)}`);
  console.log(`  ${line('round trip at the focus', seqRtt)}`);
  console.log(`  bridge Node CPU per allocation     ${(seqCpu / 1000 / N).toFixed(2)} ms`);
  console.log(`concurrent, ${N} allocations over ${meetings.length} conferences (${wall.toFixed(0)} ms wall):`);
  console.log(`  ${line('bridge time (incl. per-conf queue)', concBridge)}`);
  console.log(`  ${line('round trip at the focus', concRtt)}`);
  console.log(`  bridge Node CPU per allocation     ${(concCpu / 1000 / N).toFixed(2)} ms`);
} finally {
  await focus.stop();
  await bridge.close();
  await prosody.stop();
}
