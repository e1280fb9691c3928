/**
 * A transport's RTP totals in the real (patched) mediasoup worker (worker patch 0018): packets in and out, packets
 * lost on the way in (sequence gaps on a producer's stream) and on the way out (a receiver's RTCP Receiver Report,
 * RFC 3550 §6.4.2, on a consumer's stream), and the consumers' round-trip times from that report's LSR/DLSR. What a
 * producer or consumer counted stays in its transport's totals after it is closed: the bridge reads one transport per
 * endpoint for JVB's `total_packets_*` and loss figures instead of every producer and consumer.
 */
import dgram from 'node:dgram';
import type * as ms from 'mediasoup/types';
import { describe, expect, it } from 'vitest';
import { useVp8Router, vp8Frame, vp8SimulcastProducer } from '../../test/fixtures/vp8Rtp.ts';

const fixture = useVp8Router();

/** The RTCP Sender Reports (PT 200) in a compound packet: sender SSRC and the middle 32 bits of its NTP time. */
function senderReports(packet: Buffer): { ssrc: number; lsr: number }[] {
  const out: { ssrc: number; lsr: number }[] = [];
  for (let at = 0; at + 20 <= packet.length; ) {
    const words = packet.readUInt16BE(at + 2) + 1;
    if (packet[at + 1] === 200) out.push({ ssrc: packet.readUInt32BE(at + 4), lsr: packet.readUInt32BE(at + 10) });
    at += words * 4;
  }
  return out;
}

/** An RTCP Receiver Report (RFC 3550 §6.4.2) with one report block on `ssrc`. */
function receiverReport(p: { ssrc: number; lost: number; highestSeq: number; lsr: number; dlsrUnits: number }): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81; // V=2, RC=1
  b[1] = 201;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(0x0badcafe, 4);
  b.writeUInt32BE(p.ssrc, 8);
  b.writeUInt32BE(p.lost & 0xffffff, 12); // fraction lost 0, cumulative lost
  b.writeUInt32BE(p.highestSeq, 16);
  b.writeUInt32BE(0, 20); // jitter
  b.writeUInt32BE(p.lsr, 24);
  b.writeUInt32BE(p.dlsrUnits, 28);
  return b;
}

async function stats(t: ms.Transport): Promise<ms.PlainTransportStat> {
  const [s] = (await t.getStats()) as ms.PlainTransportStat[];
  if (!s) throw new Error('no transport stats');
  return s;
}

describe('transport RTP totals (worker patch 0018)', () => {
  it('count packets and losses both ways, and keep them after the producer and consumer close', async () => {
    const SSRC = 0x3333;
    const router = fixture.router();
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const inbound = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true, rtcpMux: true });
    const outbound = await router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true });
    await outbound.connect({ ip: '127.0.0.1', port: socket.address().port });
    const producer = await vp8SimulcastProducer(inbound, [SSRC]);
    const consumer = await outbound.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const consumerSsrc = consumer.rtpParameters.encodings?.[0]?.ssrc as number;
    let forwarded = 0;
    let lastSr: { lsr: number; at: number } | undefined;
    // The socket also gets the inbound transport's RTCP (it sends there too): RTP is told by its SSRC.
    socket.on('message', (m: Buffer) => {
      if (m.length < 12 || m[1] === undefined) return;
      if (m[1] >= 192 && m[1] <= 223) {
        for (const sr of senderReports(m)) if (sr.ssrc === consumerSsrc) lastSr = { lsr: sr.lsr, at: Date.now() };
      } else if (m.readUInt32BE(8) === consumerSsrc) forwarded++;
    });

    // 61 frames, every sixth sequence number skipped: 51 sent, 10 lost on the way in (the last one sent comes after
    // the last gap).
    let sent = 0;
    for (let i = 0; i < 61; i++) {
      if (i % 6 === 5) continue;
      socket.send(vp8Frame({ ssrc: SSRC, seq: 1000 + i, ts: i * 3000, key: i === 0 }), inbound.tuple.localPort, '127.0.0.1');
      sent++;
      await new Promise((r) => setTimeout(r, 10));
    }
    try {
      // The producer's loss is taken when the worker makes its next Receiver Report (its RTCP timer).
      await expect.poll(async () => (await stats(inbound)).rtpPacketsLostReceived, { timeout: 8000, interval: 200 }).toBe(10);
      const inStats = await stats(inbound);
      expect(inStats.rtpPacketsReceived).toBe(sent);
      await expect.poll(() => forwarded, { timeout: 2000, interval: 20 }).toBe(sent);
      expect((await stats(outbound)).rtpPacketsSent).toBe(sent);

      // The receiver reports 7 lost, answering the consumer's Sender Report 60 ms after it and saying it held it for
      // 10 ms (DLSR in 1/65536 s; the worker takes no round trip from a DLSR of 0): about 50 ms of round trip.
      await expect.poll(() => lastSr, { timeout: 8000, interval: 100 }).toBeDefined();
      const sr = lastSr as { lsr: number; at: number };
      await new Promise((r) => setTimeout(r, Math.max(0, 60 - (Date.now() - sr.at))));
      socket.send(receiverReport({ ssrc: consumerSsrc, lost: 7, highestSeq: 0, lsr: sr.lsr, dlsrUnits: 655 }), outbound.tuple.localPort, '127.0.0.1');
      await expect.poll(async () => (await stats(outbound)).rtpPacketsLostSent, { timeout: 2000, interval: 20 }).toBe(7);
      const out = await stats(outbound);
      expect(out.rttCount).toBe(1);
      // At least the 50 ms; more when this process's event loop was slow to take the Sender Report off its socket.
      expect(out.rttSumMs).toBeGreaterThanOrEqual(30);
      expect(out.rttSumMs).toBeLessThan(10_000);

      // Closed: the totals stay, the round-trip times go with the consumer.
      consumer.close();
      producer.close();
      const [afterIn, afterOut] = [await stats(inbound), await stats(outbound)];
      expect(afterIn.rtpPacketsLostReceived).toBe(10);
      expect(afterIn.rtpPacketsReceived).toBe(sent);
      expect(afterOut.rtpPacketsLostSent).toBe(7);
      expect(afterOut.rtpPacketsSent).toBe(sent);
      expect(afterOut.rttCount).toBe(0);
    } finally {
      socket.close();
      inbound.close();
      outbound.close();
    }
  });
});
