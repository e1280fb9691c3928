/**
 * JVB's `total_packets_*` / `total_bytes_*` against a real bridge (mediasoup worker, werift
 * participants joining through the standalone focus): two endpoints that live less than one stats
 * interval (5 s) and send and receive media in that time are counted, with their last packets, by
 * a collector that never sampled them alive; the bridge's own collector (behind /colibri/stats and
 * /metrics) reaches the same totals.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pacer } from '../../bench/lib/media.ts';
import { joinOctobridge, LightParticipant } from '../../bench/lib/light/light.ts';
import { syntheticAgentConfig } from '../../bench/lib/light/types.ts';
import type { RunningBridge } from '../bridge.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { until } from '../../test/helpers/media.ts';
import { StatsCollector } from './StatsCollector.ts';

let bridge: RunningBridge;

beforeAll(async () => {
  bridge = await startTestBridge();
});
afterAll(async () => {
  await bridge?.close();
});

describe('traffic totals', () => {
  it('count endpoints that lived under one stats interval, up to their last packet', async () => {
    // A collector that runs only when asked: it sees the endpoints only after they are gone.
    const collector = new StatsCollector(bridge.videobridge, bridge.media, { version: 'test' });
    await collector.update();
    const before = collector.snapshot();
    expect(before.total_packets_received).toBe(0);

    const cfg = syntheticAgentConfig(`ws://127.0.0.1:${bridge.publicPort}/focus/`);
    const pacer = new Pacer({ videoFps: 30, packetsPerFrame: 3, videoKbps: 600, keyframeInterval: 300, audioPps: 50, audioBytes: 80 });
    pacer.start();
    const spec = (id: string, send: boolean) => ({ id, conference: 0, room: 'short-lived', kind: 'light' as const, send });
    const sender = new LightParticipant(spec('sender', true), cfg, pacer, undefined);
    const receiver = new LightParticipant(spec('receiver', false), cfg, pacer, undefined);
    const startedAt = Date.now();
    try {
      const a = await joinOctobridge(sender, cfg.url, cfg);
      const b = await joinOctobridge(receiver, cfg.url, cfg);
      await until(
        'the receiver gets media',
        undefined,
        async () => receiver.sample().packets,
        (n) => n >= 30,
        4000,
      );
      // Stop sending, let what is in flight arrive, then leave (the receiver first: its consumer's last packets count).
      pacer.stop();
      await sleep(200);
      const received = receiver.sample().packets;
      b.close();
      await until(
        'the receiver expired',
        undefined,
        async () => bridge.videobridge.conferences()[0]?.endpointCount ?? 0,
        (n) => n <= 1,
        2000,
      );
      a.close();
      await until(
        'the sender expired',
        undefined,
        async () => bridge.videobridge.conferences().reduce((n, c) => n + c.endpointCount, 0),
        (n) => n === 0,
        2000,
      );
      expect(Date.now() - startedAt, 'both endpoints lived less than one stats interval').toBeLessThan(5000);

      await collector.update();
      const after = collector.snapshot();
      const packetsIn = Number(after.total_packets_received);
      const packetsOut = Number(after.total_packets_sent);
      expect(packetsOut, 'every packet the receiver got was sent by the bridge').toBeGreaterThanOrEqual(received);
      expect(packetsIn, 'and received from the sender first').toBeGreaterThanOrEqual(received);
      expect(packetsIn, 'no more than the sender handed to its peer connection').toBeLessThanOrEqual(pacer.sent);
      expect(Number(after.total_bytes_received)).toBeGreaterThan(packetsIn * 80);
      expect(Number(after.total_bytes_sent)).toBeGreaterThan(packetsOut * 80);

      // The bridge's collector (every 5 s, behind /colibri/stats and /metrics) may have sampled them alive: same totals.
      await bridge.stats.update();
      const own = bridge.stats.snapshot();
      for (const k of ['total_packets_received', 'total_packets_sent', 'total_bytes_received', 'total_bytes_sent']) expect(own[k], k).toBe(after[k]);
      // Nothing left to add: the totals stay.
      await collector.update();
      expect(collector.snapshot().total_packets_received).toBe(packetsIn);
    } finally {
      pacer.stop();
      await Promise.all([sender.close(), receiver.close()]);
    }
  });
});
