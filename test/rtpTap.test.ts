/**
 * The torture harness's header-only reception (bench/lib/light/rtpTap.ts, headerReceive.ts): RTP told from RTCP by
 * RFC 7983 / RFC 5761 demultiplexing, the clear RTP header (RFC 3550 §5.1) read from a datagram, and a receiver that
 * counts packets, gaps (NACKs) and frames from headers alone.
 */
import { describe, expect, it } from 'vitest';
import { HeaderSourceReceiver } from '../bench/lib/light/headerReceive.ts';
import { isRtpDatagram, parseRtpHeader } from '../bench/lib/light/rtpTap.ts';

/** An RTP datagram (RFC 3550 §5.1) with `payload` bytes standing for the encrypted payload and tag. */
function rtp(o: { pt: number; seq: number; ts: number; ssrc: number; marker?: boolean; padding?: boolean; payload?: number }): Buffer {
  const b = Buffer.alloc(12 + (o.payload ?? 20));
  b[0] = 0x80 | (o.padding ? 0x20 : 0);
  b[1] = (o.marker ? 0x80 : 0) | o.pt;
  b.writeUInt16BE(o.seq & 0xffff, 2);
  b.writeUInt32BE(o.ts >>> 0, 4);
  b.writeUInt32BE(o.ssrc >>> 0, 8);
  return b;
}

describe('rtpTap', () => {
  it('reads the clear header of RTP and leaves RTCP, DTLS and STUN alone', () => {
    const h = parseRtpHeader(rtp({ pt: 100, seq: 65535, ts: 0xfffffff0, ssrc: 0xdeadbeef, marker: true, padding: true }));
    expect(h).toEqual({ ssrc: 0xdeadbeef, sequenceNumber: 65535, timestamp: 0xfffffff0, marker: true, payloadType: 100, padding: true, bytes: 32 });
    // RTCP: the second byte is its packet type (SR 200, RR 201, RTPFB 205, PSFB 206).
    for (const pt of [200, 201, 205, 206]) {
      const rtcp = Buffer.alloc(12);
      rtcp[0] = 0x81;
      rtcp[1] = pt;
      expect(isRtpDatagram(rtcp)).toBe(false);
    }
    expect(isRtpDatagram(Buffer.from([22, 254, 253, ...new Array(20).fill(0)]))).toBe(false); // DTLS
    expect(isRtpDatagram(Buffer.from([0, 1, 0, 0, ...new Array(16).fill(0)]))).toBe(false); // STUN binding request
    expect(parseRtpHeader(Buffer.alloc(8, 0x80))).toBeUndefined(); // too short
  });
});

describe('HeaderSourceReceiver', () => {
  it('counts packets and a gap, NACKs the missing packet once it is due, and completes frames by marker', () => {
    const rx = new HeaderSourceReceiver('a-v0', 'a', 'video');
    const ssrc = 1111;
    // Frame 1: seq 10..12 (marker on 12); frame 2: seq 13..15 with 14 missing; frame 3: 16..18.
    const frames = [
      [10, 11, 12],
      [13, 15],
      [16, 17, 18],
    ];
    let t = 1000;
    frames.forEach((seqs, i) => {
      const ts = 90_000 + i * 3000;
      const last = [12, 15, 18][i];
      for (const seq of seqs) rx.onPacket(ssrc, seq, ts, seq === last, 1200, (t += 5));
    });
    expect(rx.counters.packets).toBe(8);
    expect(rx.counters.expected).toBe(9);
    expect(rx.nacksDue(t)).toEqual([14]);
    expect(rx.nacksDue(t + 1)).toEqual([]); // not again before nackRetryMs
    expect(rx.counters.nacks).toBe(1);
    // Frame 1 is complete; frame 2 waits for 14, and frame 3 waits behind it.
    expect(rx.counters.framesDecoded).toBe(1);
    rx.onPacket(ssrc, 14, 93_000, false, 1200, (t += 5));
    expect(rx.counters.packets).toBe(9);
    expect(rx.counters.framesDecoded).toBe(3);
  });
});
