/**
 * {@link VideoLayerMonitor} against the real (patched) mediasoup worker, fed raw VP8 simulcast RTP over UDP: a sender
 * that starts an encoding starts it with a keyframe, and the monitor reports the new layer right after it rather than
 * at its next once-a-second poll (JVB learns a layer from its packets).
 */
import dgram from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Layer } from '../allocation/types.ts';
import { createLogger } from '../logger.ts';
import { routerCodecs } from './rtp.ts';
import { KEYFRAME_POLL_DELAY_MS, LAYER_STATS_INTERVAL_MS, VideoLayerMonitor } from './VideoLayerMonitor.ts';

let worker: ms.Worker;
let router: ms.Router;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'none' });
  router = await worker.createRouter({ mediaCodecs: routerCodecs(['VP8']) });
});
afterAll(() => worker.close());

/** VP8 payload type in Jicofo's numbering (media/rtp.ts). */
const VP8_PT = 100;

/**
 * One RTP packet carrying a whole VP8 frame (RFC 7741 §4.2 descriptor with S=1, PID 0; RFC 6386 §9.1 frame tag,
 * and on a keyframe the start code and a 320x180 size), padded to 300 bytes.
 */
function vp8Frame(ssrc: number, seq: number, key: boolean): Buffer {
  const b = Buffer.alloc(300, 0xa5);
  b[0] = 0x80;
  b[1] = VP8_PT;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 3000) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x10; // S=1, PID 0
  b[13] = key ? 0x10 : 0x11; // P bit: 0 = keyframe
  b[14] = 0x40;
  b[15] = 0x00;
  if (key) b.set([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00], 16);
  return b;
}

describe('VideoLayerMonitor with a real worker', () => {
  it('reports an encoding that starts with a keyframe within a few tens of ms, not at the next poll', async () => {
    const [LOW, HIGH] = [0x1111, 0x2222];
    const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
    const direct = await router.createDirectTransport();
    const producer = await transport.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }],
        encodings: [{ ssrc: LOW }, { ssrc: HIGH }],
      },
    });
    // No periodic poll within the test: what it sees comes from the keyframes.
    const monitor = new VideoLayerMonitor(createLogger('fatal', { pretty: false }), 60_000);
    const reports: { at: number; layers: Layer[] }[] = [];
    monitor.on('layers', (_source, layers) => reports.push({ at: Date.now(), layers }));
    monitor.add('ep-v0', producer, direct, router.rtpCapabilities);

    const socket = dgram.createSocket('udp4');
    const seqs = new Map([[LOW, 1], [HIGH, 1]]);
    const send = (ssrc: number, key: boolean): void => {
      const seq = seqs.get(ssrc) ?? 1;
      seqs.set(ssrc, seq + 1);
      socket.send(vp8Frame(ssrc, seq, key), transport.tuple.localPort, '127.0.0.1');
    };
    const sending = new Set<number>([LOW]);
    send(LOW, true);
    const timer = setInterval(() => sending.forEach((ssrc) => send(ssrc, false)), 33);
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
      monitor.close();
      socket.close();
      transport.close();
      direct.close();
    }
  });
});
