/**
 * A producer with every codec of Jicofo's offer against the real (patched) mediasoup worker, fed raw RTP over UDP:
 * its stream starts with whichever negotiated codec arrives and follows a change (native/patches/0009), which
 * {@link CodecFollower} reports; a payload type never negotiated is dropped and counted, and neither stops the
 * stream nor the worker.
 */
import dgram from 'node:dgram';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JICOFO_MEDIA } from '../../bench/lib/jicofo.ts';
import { createLogger } from '../logger.ts';
import { CodecFollower } from './CodecFollower.ts';
import { producerRtpParameters, routerCodecs } from './rtp.ts';

let worker: ms.Worker;
let router: ms.Router;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'none' });
  router = await worker.createRouter({ mediaCodecs: routerCodecs(['AV1', 'VP8', 'H264', 'VP9']) });
});
afterAll(() => worker.close());

/** An RTP packet (RFC 3550 §5.1, no extensions) with a 1-byte VP8/VP9-style descriptor and some payload. */
function rtp(pt: number, seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 20);
  b[0] = 0x80;
  b[1] = pt & 0x7f;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 3000) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x10;
  return b;
}

async function statsOf(producer: ms.Producer): Promise<ms.ProducerStat> {
  const [s] = await producer.getStats();
  if (!s) throw new Error('no stream yet');
  return s;
}

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      const v = await probe();
      if (ok(v)) return v;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out: last ${JSON.stringify(v)}`);
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a producer with every negotiated codec (worker patch 0009) and CodecFollower', () => {
  it('follows the codec the sender uses, drops and counts an unknown payload type, keeps the worker and stream alive', async () => {
    const SSRC = 0x1234;
    const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
    const source = { type: 'video' as const, id: 'ep-v0', sources: [{ ssrc: SSRC }], ssrcGroups: [] };
    // Expected: VP8 first, as for a client that keeps the offer's order; it sends VP9 instead.
    const producer = await transport.produce({
      kind: 'video',
      rtpParameters: producerRtpParameters(source, JICOFO_MEDIA[1], ['VP8', 'AV1', 'H264', 'VP9'], 'ep'),
    });
    const changes: [string, string][] = [];
    let discarded = 0;
    const follower = new CodecFollower(createLogger('fatal', { pretty: false }), {
      onCodecChange: (s, c) => changes.push([s, c]),
      onDiscarded: (n) => (discarded += n),
    });
    follower.add('ep-v0', producer);
    const socket = dgram.createSocket('udp4');
    const send = (pt: number, seq: number): Promise<void> =>
      new Promise((resolve, reject) => socket.send(rtp(pt, seq, SSRC), transport.tuple.localPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    try {
      let seq = 1;
      // VP9 (101) from the first packet: the stream exists and is VP9 (upstream drops all of it: no stream).
      for (let i = 0; i < 20; i++) await send(101, seq++);
      const vp9 = await eventually(
        () => statsOf(producer),
        (s) => s.packetCount >= 20,
      );
      expect(vp9.mimeType).toBe('video/VP9');
      await eventually(
        async () => changes,
        (c) => c.length > 0,
        12_000,
      );
      expect(changes).toEqual([['ep-v0', 'VP9']]);
      expect(follower.order('ep-v0', ['AV1', 'VP8', 'H264', 'VP9'], true)[0]).toBe('VP9');

      // 50 packets with a payload type nobody negotiated: dropped, counted, nothing else changes.
      for (let i = 0; i < 50; i++) await send(123, seq++);
      const bad = await eventually(
        () => statsOf(producer),
        (s) => s.packetsDiscarded >= 50,
      );
      expect(bad.packetsDiscarded).toBe(50);
      expect(bad.packetCount).toBe(vp9.packetCount);
      expect(bad.mimeType).toBe('video/VP9');
      await eventually(
        async () => discarded,
        (n) => n >= 50,
        12_000,
      );
      expect(discarded).toBe(50);

      // The sender switches to H.264 on the same SSRC: the stream follows, packets count again.
      for (let i = 0; i < 20; i++) await send(107, seq++);
      const h264 = await eventually(
        () => statsOf(producer),
        (s) => s.mimeType === 'video/H264',
      );
      expect(h264.packetCount).toBeGreaterThan(vp9.packetCount);
      expect(producer.closed).toBe(false);
      expect((await worker.getResourceUsage()).ru_maxrss).toBeGreaterThan(0);
    } finally {
      socket.close();
      follower.close();
      transport.close();
    }
  }, 60_000);
});

describe('a consumer made for one codec while its producer follows the sender to another', () => {
  it('forwards none of the other codec, and the worker lives (a VP8 packet used to go through an AV1 SVC context)', async () => {
    const SSRC = 0x4321;
    const send = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
    const recv = await router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true });
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    await recv.connect({ ip: '127.0.0.1', port: sink.address().port });
    let died = false;
    worker.once('died', () => (died = true));
    // AV1 first, as Jicofo offers it: an SVC producer, and its consumer gets an AV1 SVC stream manager.
    const producer = await send.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [
          { mimeType: 'video/AV1', payloadType: 41, clockRate: 90000 },
          { mimeType: 'video/VP8', payloadType: 100, clockRate: 90000 },
        ],
        encodings: [{ ssrc: SSRC, scalabilityMode: 'L3T3_KEY' }],
      },
    });
    const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    expect([producer.type, consumer.type, consumer.rtpParameters.codecs[0]?.mimeType]).toEqual(['svc', 'svc', 'video/AV1']);
    const socket = dgram.createSocket('udp4');
    try {
      // The sender sends VP8 (the producer follows it: patch 0009), with picture ids, keyframes first.
      for (let seq = 1; seq <= 200; seq++) {
        const b = Buffer.alloc(12 + 40);
        b[0] = 0x80;
        b[1] = (seq % 3 === 0 ? 0x80 : 0) | 100;
        b.writeUInt16BE(seq, 2);
        b.writeUInt32BE(Math.floor(seq / 3) * 3000, 4);
        b.writeUInt32BE(SSRC, 8);
        const pictureId = Math.floor(seq / 3) & 0x7fff;
        Buffer.from([0x90, 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff, seq < 30 ? 0x00 : 0x01, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]).copy(
          b,
          12,
        );
        await new Promise<void>((resolve, reject) => socket.send(b, send.tuple.localPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      }
      const inbound = await eventually(
        () => statsOf(producer),
        (s) => s.packetCount >= 200,
      );
      expect(inbound.mimeType).toBe('video/VP8');
      const [out] = await consumer.getStats();
      expect(out?.packetCount ?? 0).toBe(0);
      expect(died).toBe(false);
      expect((await worker.getResourceUsage()).ru_maxrss).toBeGreaterThan(0);
    } finally {
      socket.close();
      sink.close();
      send.close();
      recv.close();
    }
  }, 60_000);
});

describe('CodecFollower: VP9 / AV1 sent as simulcast', () => {
  it('remembers per source the codec its sender simulcasts, until the source is forgotten', () => {
    const follower = new CodecFollower(createLogger('fatal', { pretty: false }), { onCodecChange: () => undefined, onDiscarded: () => undefined });
    expect(follower.sendsSimulcast('a-v0', 'VP9')).toBe(false);
    follower.sawSimulcast('a-v0', 'vp9');
    expect(follower.sendsSimulcast('a-v0', 'VP9')).toBe(true);
    // Another codec from the same sender starts out as SVC again.
    expect(follower.sendsSimulcast('a-v0', 'AV1')).toBe(false);
    expect(follower.sendsSimulcast('b-v0', 'VP9')).toBe(false);
    follower.forget('a-v0');
    expect(follower.sendsSimulcast('a-v0', 'VP9')).toBe(false);
    follower.close();
  });
});
