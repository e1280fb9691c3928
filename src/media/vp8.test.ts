/**
 * parseVp8Packet (vp8.ts) on RTP packets built by hand: RTP header (RFC 3550 §5.1, with CSRCs,
 * an RFC 8285 header extension and padding), VP8 payload descriptor (RFC 7741 §4.2: X, S, PID;
 * I/L/T/K with a 7- or 15-bit PictureID, TL0PICIDX, TID|Y|KEYIDX) and the VP8 payload header of a
 * keyframe (RFC 7741 §4.3 / RFC 6386 §9.1: frame tag with P = 0, start code 9d 01 2a, 14-bit
 * width and height with 2-bit scale, little-endian).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseVp8Packet } from './vp8.ts';

interface RtpOpts {
  ssrc?: number;
  timestamp?: number;
  seq?: number;
  csrcs?: number[];
  /** RFC 8285 one-byte extension block: bytes after the 4-byte header, padded to 32 bits. */
  extension?: number[];
  /** Number of padding bytes (P bit; the last byte is the count). */
  padding?: number;
}

function rtp(payload: number[], o: RtpOpts = {}): Uint8Array {
  const csrcs = o.csrcs ?? [];
  const head: number[] = [0x80 | (o.padding ? 0x20 : 0) | (o.extension ? 0x10 : 0) | csrcs.length, 96];
  const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
  const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  head.push(...u16(o.seq ?? 1), ...u32(o.timestamp ?? 0x01020304), ...u32(o.ssrc ?? 0xdeadbeef));
  for (const c of csrcs) head.push(...u32(c));
  if (o.extension) {
    const ext = [...o.extension];
    while (ext.length % 4 !== 0) ext.push(0);
    head.push(0xbe, 0xde, ...u16(ext.length / 4), ...ext);
  }
  const pad = o.padding ? [...Array<number>(o.padding - 1).fill(0), o.padding] : [];
  return Uint8Array.from([...head, ...payload, ...pad]);
}

interface DescriptorOpts {
  /** S: start of a VP8 partition. */
  start?: boolean;
  /** N: non-reference frame. */
  nonReference?: boolean;
  /** Partition index (PID, 3 bits). */
  partition?: number;
  /** I: PictureID, 7-bit (< 128 and !long) or 15-bit (M = 1). */
  pictureId?: number;
  longPictureId?: boolean;
  /** L: TL0PICIDX. */
  tl0PicIdx?: number;
  /** T: temporal layer index. */
  tid?: number;
  /** Y: layer sync. */
  layerSync?: boolean;
  /** K: KEYIDX. */
  keyIdx?: number;
}

/** The VP8 payload descriptor (RFC 7741 §4.2). X is set when any extension field is present. */
function descriptor(d: DescriptorOpts): number[] {
  const i = d.pictureId !== undefined;
  const l = d.tl0PicIdx !== undefined;
  const t = d.tid !== undefined;
  const k = d.keyIdx !== undefined;
  const x = i || l || t || k;
  const out = [(x ? 0x80 : 0) | (d.nonReference ? 0x20 : 0) | ((d.start ?? true) ? 0x10 : 0) | ((d.partition ?? 0) & 0x07)];
  if (!x) return out;
  out.push((i ? 0x80 : 0) | (l ? 0x40 : 0) | (t ? 0x20 : 0) | (k ? 0x10 : 0));
  if (i) {
    const id = d.pictureId as number;
    if (d.longPictureId ?? id > 127) out.push(0x80 | ((id >> 8) & 0x7f), id & 0xff);
    else out.push(id & 0x7f);
  }
  if (l) out.push((d.tl0PicIdx as number) & 0xff);
  if (t || k) out.push((((d.tid ?? 0) & 0x03) << 6) | (d.layerSync ? 0x20 : 0) | ((d.keyIdx ?? 0) & 0x1f));
  return out;
}

/**
 * The start of a VP8 keyframe (RFC 6386 §9.1): 3-byte frame tag (key_frame bit 0 = keyframe,
 * version 0, show_frame 1, first_part_size), start code, then width and height (14 bits each,
 * 2-bit scale on top), little-endian, then some bytes of compressed data.
 */
function keyframe(width: number, height: number, scale = 0): number[] {
  const firstPartSize = 1234;
  const tag = (firstPartSize << 5) | 0x10; // show_frame
  const w = (scale << 14) | width;
  const h = (scale << 14) | height;
  return [tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, 0x00, 0x11, 0x22];
}

/** An interframe's start: frame tag with key_frame bit 1. */
function interframe(): number[] {
  const tag = (500 << 5) | 0x10 | 0x01;
  return [tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01];
}

describe('parseVp8Packet', () => {
  it('a keyframe with the minimal descriptor (no X): size, SSRC, timestamp, TID 0', () => {
    const p = parseVp8Packet(rtp([...descriptor({}), ...keyframe(640, 360)], { ssrc: 0x11223344, timestamp: 0xfffffff0 }));
    expect(p).toEqual({ ssrc: 0x11223344, timestamp: 0xfffffff0, tid: 0, keyframe: { width: 640, height: 360 } });
  });

  it('Chrome simulcast layout: X, I with a 15-bit PictureID, L, T (TID 2, Y) on an interframe', () => {
    const p = parseVp8Packet(rtp([...descriptor({ pictureId: 0x1234, tl0PicIdx: 77, tid: 2, layerSync: true }), ...interframe()]));
    expect(p).toEqual({ ssrc: 0xdeadbeef, timestamp: 0x01020304, tid: 2 });
  });

  it('a keyframe behind a full descriptor (I 15-bit, L, T, K); scale bits are masked off the size', () => {
    const p = parseVp8Packet(rtp([...descriptor({ pictureId: 300, tl0PicIdx: 1, tid: 0, keyIdx: 5 }), ...keyframe(1280, 720, 3)]));
    expect(p?.keyframe).toEqual({ width: 1280, height: 720 });
    expect(p?.tid).toBe(0);
  });

  it('a 7-bit PictureID and T only: TID 1', () => {
    expect(parseVp8Packet(rtp([...descriptor({ pictureId: 5, longPictureId: false, tid: 1 }), ...interframe()]))?.tid).toBe(1);
  });

  it('K without T: the TID|Y|KEYIDX byte is skipped, its TID bits are not a temporal layer', () => {
    const bytes = [0x80 | 0x10, 0x10, 0xc0 | 0x07, ...keyframe(320, 180)]; // TID bits = 3 but T = 0
    const p = parseVp8Packet(rtp(bytes));
    expect(p?.tid).toBe(0);
    expect(p?.keyframe).toEqual({ width: 320, height: 180 });
  });

  it('skips CSRCs and the RFC 8285 header extension', () => {
    const packet = rtp([...descriptor({ pictureId: 9000, tl0PicIdx: 3, tid: 1 }), ...keyframe(960, 540)], {
      csrcs: [1, 2],
      extension: [0x10, 0xaa, 0x22, 0x01, 0x02, 0x03], // id 1 len 1, id 2 len 3
    });
    expect(parseVp8Packet(packet)).toEqual({ ssrc: 0xdeadbeef, timestamp: 0x01020304, tid: 1, keyframe: { width: 960, height: 540 } });
  });

  it('ignores RTP padding', () => {
    expect(parseVp8Packet(rtp([...descriptor({ tid: 2 }), ...keyframe(1920, 1080)], { padding: 4 }))).toMatchObject({
      tid: 2,
      keyframe: { width: 1920, height: 1080 },
    });
  });

  it('reads a packet inside a larger buffer (byteOffset ≠ 0, as Node pool Buffers are)', () => {
    const packet = rtp([...descriptor({ tid: 1 }), ...keyframe(480, 270)], { ssrc: 42, timestamp: 7 });
    const big = new Uint8Array(packet.length + 20).fill(0xee);
    big.set(packet, 13);
    expect(parseVp8Packet(big.subarray(13, 13 + packet.length))).toEqual({ ssrc: 42, timestamp: 7, tid: 1, keyframe: { width: 480, height: 270 } });
    expect(parseVp8Packet(Buffer.from(packet))).toEqual({ ssrc: 42, timestamp: 7, tid: 1, keyframe: { width: 480, height: 270 } });
  });

  describe('no keyframe size unless it is the first packet of a keyframe', () => {
    it('interframe (P = 1)', () => {
      expect(parseVp8Packet(rtp([...descriptor({}), ...interframe()]))?.keyframe).toBeUndefined();
    });
    it('a continuation packet (S = 0), even if its bytes look like a keyframe header', () => {
      expect(parseVp8Packet(rtp([...descriptor({ start: false }), ...keyframe(640, 360)]))?.keyframe).toBeUndefined();
    });
    it('the start of another partition (PID ≠ 0)', () => {
      expect(parseVp8Packet(rtp([...descriptor({ partition: 1 }), ...keyframe(640, 360)]))?.keyframe).toBeUndefined();
    });
    it('no start code', () => {
      const bad = keyframe(640, 360);
      bad[4] = 0x02;
      expect(parseVp8Packet(rtp([...descriptor({}), ...bad]))?.keyframe).toBeUndefined();
    });
    it('a payload header too short to hold the size: still parsed, without a size', () => {
      const p = parseVp8Packet(rtp([...descriptor({ tid: 1 }), ...keyframe(640, 360).slice(0, 9)]));
      expect(p).toEqual({ ssrc: 0xdeadbeef, timestamp: 0x01020304, tid: 1 });
    });
  });

  describe('malformed input → undefined', () => {
    it('shorter than an RTP header, or not RTP version 2', () => {
      expect(parseVp8Packet(new Uint8Array(0))).toBeUndefined();
      expect(parseVp8Packet(new Uint8Array(11).fill(0x80))).toBeUndefined();
      const v1 = rtp([...descriptor({}), ...keyframe(640, 360)]);
      v1[0] = ((v1[0] as number) & 0x3f) | 0x40; // version 1
      expect(parseVp8Packet(v1)).toBeUndefined();
    });
    it('no payload at all', () => {
      expect(parseVp8Packet(rtp([]))).toBeUndefined();
      expect(parseVp8Packet(rtp([], { csrcs: [1] }))).toBeUndefined();
    });
    it('header extension or CSRCs running past the end', () => {
      const p = rtp([]);
      p[0] = 0x90; // X set, no extension header present
      expect(parseVp8Packet(p)).toBeUndefined();
      const q = rtp([0x10, 0x00]);
      q[0] = 0x8f; // 15 CSRCs claimed
      expect(parseVp8Packet(q)).toBeUndefined();
    });
    it('padding longer than the payload', () => {
      const p = rtp([0x10], { padding: 2 });
      p[p.length - 1] = 200;
      expect(parseVp8Packet(p)).toBeUndefined();
    });
    it('a truncated descriptor: X without its byte, I without the PictureID, T without its byte', () => {
      expect(parseVp8Packet(rtp([0x90]))).toBeUndefined();
      expect(parseVp8Packet(rtp([0x90, 0x80]))).toBeUndefined();
      expect(parseVp8Packet(rtp([0x90, 0x20]))).toBeUndefined();
      expect(parseVp8Packet(rtp([0x90, 0xe0, 0x81, 0x02, 0x03]))).toBeUndefined(); // I (15-bit), L, T: TID byte missing
    });
  });

  it('property: round-trips the descriptor’s TID and the keyframe size', () => {
    fc.assert(
      fc.property(
        fc.record({
          ssrc: fc.integer({ min: 0, max: 0xffffffff }),
          timestamp: fc.integer({ min: 0, max: 0xffffffff }),
          csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 3 }),
          extension: fc.option(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 }), { nil: undefined }),
          padding: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
          pictureId: fc.option(fc.integer({ min: 0, max: 0x7fff }), { nil: undefined }),
          tl0PicIdx: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
          tid: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
          keyIdx: fc.option(fc.integer({ min: 0, max: 31 }), { nil: undefined }),
          frame: fc.option(
            fc.record({ width: fc.integer({ min: 1, max: 0x3fff }), height: fc.integer({ min: 1, max: 0x3fff }), scale: fc.integer({ min: 0, max: 3 }) }),
            { nil: undefined },
          ),
        }),
        (r) => {
          const d: DescriptorOpts = {};
          if (r.pictureId !== undefined) d.pictureId = r.pictureId;
          if (r.tl0PicIdx !== undefined) d.tl0PicIdx = r.tl0PicIdx;
          if (r.tid !== undefined) d.tid = r.tid;
          if (r.keyIdx !== undefined) d.keyIdx = r.keyIdx;
          const o: RtpOpts = { ssrc: r.ssrc, timestamp: r.timestamp, csrcs: r.csrcs };
          if (r.extension) o.extension = r.extension;
          if (r.padding) o.padding = r.padding;
          const payload = [...descriptor(d), ...(r.frame ? keyframe(r.frame.width, r.frame.height, r.frame.scale) : interframe())];
          const expected = {
            ssrc: r.ssrc,
            timestamp: r.timestamp,
            tid: r.tid ?? 0,
            ...(r.frame ? { keyframe: { width: r.frame.width, height: r.frame.height } } : {}),
          };
          expect(parseVp8Packet(rtp(payload, o))).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: never throws on arbitrary bytes, and reads only a TID in 0..3', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, asRtp) => {
        if (asRtp && bytes.length > 0) bytes[0] = ((bytes[0] as number) & 0x3f) | 0x80;
        const p = parseVp8Packet(bytes);
        if (p) {
          expect(p.tid).toBeGreaterThanOrEqual(0);
          expect(p.tid).toBeLessThanOrEqual(3);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
