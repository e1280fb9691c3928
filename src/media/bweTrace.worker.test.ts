/**
 * The send-side estimate's `bwe` trace with the allocation's hysteresis in the real (patched) mediasoup worker (worker
 * patch 0019, node patch 0008): with `bweChangeThreshold`, a transport reports its available bitrate only when it
 * moved by more than that fraction of the last one reported (the first after the trace is enabled always), where it
 * otherwise reports every GoogCC update, about once a second, changed or not. Jitsi Videobridge's BitrateController
 * ignores such an estimate (`bwe-change-threshold`); the bridge's allocation does too, so none needs to cross the
 * channel. The receiver here sends no transport-cc feedback, so the estimate stays where it starts until the
 * transport's maximum outgoing bitrate is lowered below it.
 */
import dgram from 'node:dgram';
import type * as ms from 'mediasoup/types';
import { describe, expect, it } from 'vitest';
import { useVp8Router, vp8SimulcastProducer } from '../../test/fixtures/vp8Rtp.ts';

const fixture = useVp8Router();

/** Where a PlainTransport's estimate starts (mediasoup's default `initialAvailableOutgoingBitrate`), bps. */
const START_BPS = 600_000;

/** A PlainTransport receiving a VP8 producer's consumer (which gives it a transport-cc estimator), with its traces. */
async function estimatingTransport(): Promise<{ transport: ms.PlainTransport; traces: number[]; close(): void }> {
  const router = fixture.router();
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const inbound = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
  const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true });
  await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
  const producer = await vp8SimulcastProducer(inbound, [0x4444]);
  await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  const traces: number[] = [];
  transport.on('trace', (t) => {
    if (t.type === 'bwe') traces.push((t.info as { availableBitrate: number }).availableBitrate);
  });
  return {
    transport,
    traces,
    close: () => {
      socket.close();
      inbound.close();
      transport.close();
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('bwe trace with the allocation hysteresis (worker patch 0019)', () => {
  it('without a threshold, reports the unchanged estimate every second', async () => {
    const t = await estimatingTransport();
    try {
      await t.transport.enableTraceEvent(['bwe']);
      await sleep(3500);
      expect(t.traces.length).toBeGreaterThanOrEqual(3);
      expect(new Set(t.traces)).toEqual(new Set([START_BPS]));
    } finally {
      t.close();
    }
  });

  it('with a threshold, reports the first estimate, then only one that moved by more than it', async () => {
    const t = await estimatingTransport();
    try {
      await t.transport.enableTraceEvent(['bwe'], { bweChangeThreshold: 0.15 });
      await expect.poll(() => t.traces.length, { timeout: 3000, interval: 50 }).toBe(1);
      expect(t.traces[0]).toBe(START_BPS);
      await sleep(3000);
      expect(t.traces).toEqual([START_BPS]);

      // The estimate falls with the transport's cap (well past 15 %): reported at once.
      await t.transport.setMaxOutgoingBitrate(400_000);
      await expect.poll(() => t.traces.length, { timeout: 3000, interval: 50 }).toBe(2);
      expect(t.traces[1]).toBeLessThanOrEqual(400_000);

      // Enabling the trace again starts the hysteresis again: its first estimate is reported, unchanged as it is.
      await t.transport.enableTraceEvent(['bwe'], { bweChangeThreshold: 0.15 });
      await expect.poll(() => t.traces.length, { timeout: 3000, interval: 50 }).toBe(3);
      expect(t.traces[2]).toBe(t.traces[1]);
    } finally {
      t.close();
    }
  });

  it('refuses a threshold that is not a number at least 0', async () => {
    const t = await estimatingTransport();
    try {
      await expect(t.transport.enableTraceEvent(['bwe'], { bweChangeThreshold: -1 })).rejects.toThrow(TypeError);
      await expect(t.transport.enableTraceEvent(['bwe'], { bweChangeThreshold: Number.NaN })).rejects.toThrow(TypeError);
    } finally {
      t.close();
    }
  });
});
