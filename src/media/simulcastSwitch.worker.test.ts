/**
 * A simulcast consumer of the real (patched) mediasoup worker switching to an encoding whose sender has sent no RTCP
 * Sender Report yet (libwebrtc sends the first about a second after it starts an encoding): worker patch 0015 aligns
 * it by arrival, as Jitsi Videobridge does, instead of waiting for that report and then for another keyframe. The
 * two encodings have unrelated RTP timestamp bases (as libwebrtc's have); the forwarded timestamps go on at the rate
 * of the wall clock across the switch.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { useVp8Router, vp8Frame, vp8SimulcastProducer } from '../../test/fixtures/vp8Rtp.ts';

const fixture = useVp8Router();

/** 90 kHz ticks per frame at 30 fps. */
const TICKS_PER_FRAME = 3000;

describe('simulcast switch without a Sender Report (worker patch 0015)', () => {
  it('switches up on the new encoding’s first keyframe and keeps the forwarded timestamps on the wall clock', async () => {
    const [LOW, HIGH] = [0x1111, 0x2222];
    const [LOW_TAG, HIGH_TAG] = [0xaa, 0xbb];
    const router = fixture.router();
    const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
    const direct = await router.createDirectTransport();
    const producer = await vp8SimulcastProducer(transport, [LOW, HIGH]);
    const consumer = await direct.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    await consumer.setPreferredLayers({ spatialLayer: 0, temporalLayer: 0 });
    const out: { at: number; ts: number; tag: number }[] = [];
    consumer.on('rtp', (packet: Buffer) => out.push({ at: Date.now(), ts: packet.readUInt32BE(4), tag: packet[packet.length - 1] ?? 0 }));

    const socket = dgram.createSocket('udp4');
    // Unrelated timestamp bases, as two libwebrtc encodings have.
    const streams = new Map([
      [LOW, { seq: 100, base: 0x10000000, tag: LOW_TAG }],
      [HIGH, { seq: 5000, base: 0xd0000000, tag: HIGH_TAG }],
    ]);
    const start = Date.now();
    let frame = 0;
    const sendFrame = (ssrc: number, key: boolean): void => {
      const s = streams.get(ssrc)!;
      // Both encodings carry the same capture instants: the frame index on the 90 kHz clock.
      socket.send(vp8Frame({ ssrc, seq: s.seq++, ts: s.base + frame * TICKS_PER_FRAME, key, fill: s.tag, size: 200 }), transport.tuple.localPort, '127.0.0.1');
    };
    let highStarted = 0;
    sendFrame(LOW, true);
    const timer = setInterval(() => {
      frame = Math.round((Date.now() - start) / (1000 / 30));
      sendFrame(LOW, frame % 30 === 0);
      // The high encoding starts with a keyframe, and sends one every 300 ms (the requests it gets are not answered).
      if (highStarted) sendFrame(HIGH, frame % 9 === 0);
    }, 33);
    try {
      await expect.poll(() => out.filter((p) => p.tag === LOW_TAG).length, { timeout: 3000, interval: 20 }).toBeGreaterThan(20);
      await consumer.setPreferredLayers({ spatialLayer: 1, temporalLayer: 0 });
      highStarted = Date.now();
      frame = Math.round((Date.now() - start) / (1000 / 30));
      sendFrame(HIGH, true);
      // On the first keyframe (or the next, 300 ms later): no Sender Report is ever sent here.
      await expect.poll(() => out.findIndex((p) => p.tag === HIGH_TAG), { timeout: 2000, interval: 10 }).toBeGreaterThanOrEqual(0);
      const first = out.findIndex((p) => p.tag === HIGH_TAG);
      const [before, after] = [out[first - 1]!, out[first]!];
      expect(after.at - highStarted).toBeLessThan(500);
      // The forwarded timestamp goes on by the wall-clock time between the two packets (±30 ms of 90 kHz ticks),
      // not by the difference of the two encodings' bases.
      const advance = (after.ts - before.ts) >>> 0;
      const expected = ((after.at - before.at) * 90) | 0;
      expect(Math.abs(advance - expected)).toBeLessThan(30 * 90);
      // And then by one frame at a time.
      await expect.poll(() => out.length - first, { timeout: 2000, interval: 20 }).toBeGreaterThan(10);
      const highs = out.slice(first).filter((p) => p.tag === HIGH_TAG);
      for (let i = 1; i < highs.length; i++) expect((highs[i]!.ts - highs[i - 1]!.ts) >>> 0).toBeLessThan(10 * TICKS_PER_FRAME);
    } finally {
      clearInterval(timer);
      socket.close();
      transport.close();
      direct.close();
    }
  });
});
