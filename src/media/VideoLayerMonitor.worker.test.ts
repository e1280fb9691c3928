/**
 * {@link VideoLayerMonitor} against the real (patched) mediasoup worker, fed raw VP8 simulcast RTP over UDP: a sender
 * that starts an encoding starts it with a keyframe, and the monitor reports the new layer right after it rather than
 * at its next once-a-second poll (JVB learns a layer from its packets); a sender that rescales starts the new size
 * with a keyframe, and the monitor takes it from that keyframe's trace (worker patch 0020), as JVB's `Vp8Parser` does.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { Layer } from '../allocation/types.ts';
import { createLogger } from '../logger.ts';
import { useVp8Router, vp8Frame, vp8SimulcastProducer } from '../../test/fixtures/vp8Rtp.ts';
import { KEYFRAME_POLL_DELAY_MS, LAYER_STATS_INTERVAL_MS, VideoLayerMonitor } from './VideoLayerMonitor.ts';

const fixture = useVp8Router();

/**
 * A VP8 producer with `ssrcs` on a comedia PlainTransport, watched by a monitor with no periodic poll within a test
 * (what it reports comes from keyframes and probes), its reports timed, and a UDP socket to send to it.
 */
async function watched(ssrcs: number[]) {
  const router = fixture.router();
  const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
  const direct = await router.createDirectTransport();
  const producer = await vp8SimulcastProducer(transport, ssrcs);
  const monitor = new VideoLayerMonitor(createLogger('fatal', { pretty: false }), 60_000);
  const reports: { at: number; layers: Layer[] }[] = [];
  monitor.on('layers', (_source, layers) => reports.push({ at: Date.now(), layers }));
  monitor.add('ep-v0', producer, direct, router.rtpCapabilities);
  const socket = dgram.createSocket('udp4');
  return {
    reports,
    send: (packet: Buffer): void => void socket.send(packet, transport.tuple.localPort, '127.0.0.1'),
    close(): void {
      monitor.close();
      socket.close();
      transport.close();
      direct.close();
    },
  };
}

describe('VideoLayerMonitor with a real worker', () => {
  it('reports an encoding that starts with a keyframe within a few tens of ms, not at the next poll', async () => {
    const [LOW, HIGH] = [0x1111, 0x2222];
    const w = await watched([LOW, HIGH]);
    const reports = w.reports;
    const seqs = new Map([
      [LOW, 1],
      [HIGH, 1],
    ]);
    const send = (ssrc: number, key: boolean): void => {
      const seq = seqs.get(ssrc) ?? 1;
      seqs.set(ssrc, seq + 1);
      w.send(vp8Frame({ ssrc, seq, ts: seq * 3000, key }));
    };
    const sending = new Set<number>([LOW]);
    send(LOW, true);
    const timer = setInterval(() => {
      for (const ssrc of sending) send(ssrc, false);
    }, 33);
    const active = (layers: Layer[], spatial: number): boolean => layers.some((l) => l.spatial === spatial && l.bitrateBps > 0);
    try {
      // The low encoding alone, read after its first keyframe.
      await expect.poll(() => reports.some((r) => active(r.layers, 0) && !active(r.layers, 1)), { timeout: 2000, interval: 20 }).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      // The high encoding starts with a keyframe.
      const started = Date.now();
      send(HIGH, true);
      sending.add(HIGH);
      await expect.poll(() => reports.find((r) => r.at >= started && active(r.layers, 1)), { timeout: 2000, interval: 10 }).toBeDefined();
      const seenAfter = (reports.find((r) => r.at >= started && active(r.layers, 1))?.at ?? Infinity) - started;
      expect(seenAfter).toBeGreaterThanOrEqual(KEYFRAME_POLL_DELAY_MS - 5);
      expect(seenAfter).toBeLessThan(LAYER_STATS_INTERVAL_MS / 2);
    } finally {
      clearInterval(timer);
      w.close();
    }
  });

  it('takes a new frame size from the keyframe that starts it, at once and without a probe', async () => {
    const SSRC = 0x3333;
    const w = await watched([SSRC]);
    const reports = w.reports;
    let seq = 1;
    let size = { width: 320, height: 180 };
    const send = (key: boolean): void => {
      w.send(vp8Frame({ ssrc: SSRC, seq, ts: seq * 3000, key, ...size }));
      seq += 1;
    };
    send(true);
    const timer = setInterval(() => send(false), 33);
    const heightOf = (r: { layers: Layer[] } | undefined): number | undefined => r?.layers.find((l) => l.spatial === 0)?.height;
    try {
      await expect.poll(() => heightOf(reports.at(-1)), { timeout: 2000, interval: 20 }).toBe(180);
      // The probe that the new source started is over (it watches ~1 s): what comes next is the trace's alone.
      await new Promise((r) => setTimeout(r, 1500));
      size = { width: 640, height: 360 };
      const rescaled = Date.now();
      send(true);
      await expect.poll(() => reports.find((r) => r.at >= rescaled && heightOf(r) === 360), { timeout: 1000, interval: 5 }).toBeDefined();
      // Nothing else reports it: no periodic poll, no probe (the active set is the same), no keyframe poll (the
      // encoding was already sending). The trace's own latency is a few ms.
      expect((reports.find((r) => r.at >= rescaled && heightOf(r) === 360)?.at ?? Infinity) - rescaled).toBeLessThan(LAYER_STATS_INTERVAL_MS / 2);
      // A portrait frame: its smaller dimension is the height the allocation compares with its constraints.
      size = { width: 180, height: 320 };
      send(true);
      await expect.poll(() => heightOf(reports.at(-1)), { timeout: 1000, interval: 5 }).toBe(180);
    } finally {
      clearInterval(timer);
      w.close();
    }
  });
});
