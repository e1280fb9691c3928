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
 * Where an allocation's bridge time goes (stage timestamps, sequential run, p50 on a 2-core host): parse 0.1 ms;
 * `router.createWebRtcTransport` 0.8 ms (one worker round trip); the SCTP bridge channel 1.1 ms (two round trips:
 * `produceData` on the transport and the DirectTransport, then both `consumeData`); validation, the BridgeChannel,
 * the allocator and the answer 0.4 ms; serialise 0.05 ms: ~2.5 ms, ~80% of it waiting on the worker. Concurrently
 * the per-conference queue added up to ~24 ms (p99) of waiting behind the same conference's earlier allocations.
 * The bridge makes each allocation's transport and SCTP channel before its turn (`MediaConference.prepareEndpoint`), so
 * that wait is gone; what is left is throughput, not ordering: the test bridge has one worker, which answers every
 * conference's requests one at a time (~5 per allocation), and one Node thread, which this process shares with the
 * 100 requests' own XMPP client, so a burst of allocations still ends ~its total worker and Node time after it
 * starts. The requests reach the bridge spread over the 200–300 ms Prosody takes to pass 100 stanzas (the round trip
 * figures), and how they bunch decides the tail: on a quiet 2-core host, 8 runs each gave a concurrent p99 of
 * 17–138 ms (median ~65; p50 2.4–75, median ~8) with the transports made early and 32–105 ms (median ~78; p50 2.4–36,
 * median ~12) with them made in turn. Measure with nothing else running, and compare distributions, not one run.
 *
 *   npm run bench:colibri2 -- [--allocations 100] [--per-conference 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/logger.ts';
import { RemoteBridgeClient } from '../src/xmpp/RemoteBridgeClient.ts';
import { allocate } from './lib/jicofo.ts';
import { startTestBridge } from './lib/bridge.ts';
import { startProsody } from './lib/prosody.ts';

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
const bridge = await startTestBridge({
  XMPP_SERVER: `127.0.0.1:${prosody.c2sPort}`,
  XMPP_DOMAIN: prosody.domain,
  XMPP_AUTH_DOMAIN: prosody.authDomain,
  XMPP_INTERNAL_MUC_DOMAIN: prosody.mucDomain,
  JVB_AUTH_PASSWORD: prosody.account('jvb').password,
  JVB_MUC_NICKNAME: 'bench-bridge',
  OCTOBRIDGE_FOCUS: '0',
});
const focus = new RemoteBridgeClient(
  {
    service: prosody.c2sService,
    domain: prosody.authDomain,
    username: 'focus',
    password: prosody.account('focus').password,
    brewery: prosody.breweryJid,
    nickname: 'focus',
  },
  log,
);
try {
  await focus.start();
  const jid = (await focus.waitForBridge()).jid;
  const bridgeTimes: number[] = [];
  bridge.xmpp[0]?.on('conferenceModify', (ms) => bridgeTimes.push(ms));

  const timed = async (req: ReturnType<typeof allocate>): Promise<number> => {
    const t0 = performance.now();
    await focus.conferenceModify(req, jid);
    return performance.now() - t0;
  };

  // Warm-up (JIT, first router).
  for (let i = 0; i < 10; i++) await timed(allocate(randomUUID(), `w${i}`, true));
  bridgeTimes.length = 0;

  // 1. One after the other, each in a conference of PER endpoints.
  const seqRtt: number[] = [];
  let meeting = randomUUID();
  for (let i = 0; i < N; i++) {
    if (i % PER === 0) meeting = randomUUID();
    seqRtt.push(await timed(allocate(meeting, `s${i}`, i % PER === 0)));
  }
  const seqBridge = bridgeTimes.splice(0);

  // 2. All at once: conferences created first (Jicofo's create comes with the first endpoint),
  //    then the remaining allocations concurrently.
  const meetings = Array.from({ length: Math.ceil(N / PER) }, () => randomUUID());
  await Promise.all(meetings.map((m, i) => timed(allocate(m, `c${i}-0`, true))));
  bridgeTimes.length = 0;
  const rest: Promise<number>[] = [];
  for (let i = 0; i < N; i++) {
    const m = meetings[i % meetings.length]!;
    rest.push(timed(allocate(m, `c${i}-x`, false)));
  }
  const t0 = performance.now();
  const concRtt = await Promise.all(rest);
  const wall = performance.now() - t0;
  const concBridge = bridgeTimes.splice(0);

  console.log(`colibri2 endpoint allocations through Prosody ${'(Jicofo requests, real mediasoup transports)'}`);
  console.log(`sequential, ${N} allocations:`);
  console.log(`  ${line('bridge time (parse..serialise)', seqBridge)}`);
  console.log(`  ${line('round trip at the focus', seqRtt)}`);
  console.log(`concurrent, ${N} allocations over ${meetings.length} conferences (${wall.toFixed(0)} ms wall):`);
  console.log(`  ${line('bridge time (incl. per-conf queue)', concBridge)}`);
  console.log(`  ${line('round trip at the focus', concRtt)}`);
} finally {
  await focus.stop();
  await bridge.close();
  await prosody.stop();
}
