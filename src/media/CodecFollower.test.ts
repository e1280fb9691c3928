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
import { JICOFO_MEDIA } from '../../test/fixtures/jicofo.ts';
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
    const producer = await transport.produce({ kind: 'video', rtpParameters: producerRtpParameters(source, JICOFO_MEDIA[1], ['VP8', 'AV1', 'H264', 'VP9'], 'ep') });
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
      const vp9 = await eventually(() => statsOf(producer), (s) => s.packetCount >= 20);
      expect(vp9.mimeType).toBe('video/VP9');
      await eventually(async () => changes, (c) => c.length > 0, 12_000);
      expect(changes).toEqual([['ep-v0', 'VP9']]);
      expect(follower.order('ep-v0', ['AV1', 'VP8', 'H264', 'VP9'], true)[0]).toBe('VP9');

      // 50 packets with a payload type nobody negotiated: dropped, counted, nothing else changes.
      for (let i = 0; i < 50; i++) await send(123, seq++);
      const bad = await eventually(() => statsOf(producer), (s) => s.packetsDiscarded >= 50);
      expect(bad.packetsDiscarded).toBe(50);
      expect(bad.packetCount).toBe(vp9.packetCount);
      expect(bad.mimeType).toBe('video/VP9');
      await eventually(async () => discarded, (n) => n >= 50, 12_000);
      expect(discarded).toBe(50);

      // The sender switches to H.264 on the same SSRC: the stream follows, packets count again.
      for (let i = 0; i < 20; i++) await send(107, seq++);
      const h264 = await eventually(() => statsOf(producer), (s) => s.mimeType === 'video/H264');
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
