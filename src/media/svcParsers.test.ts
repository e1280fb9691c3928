/**
 * The bitstream readers of the SVC layer probe, on packets built by hand:
 *  - parseVp9Packet (vp9.ts): RFC 9628 §4.2 payload descriptor in non-flexible mode with a keyframe's scalability
 *    structure (three spatial layers with sizes), and in flexible mode with a reference index;
 *  - DependencyDescriptorReader (av1dd.ts): AV1 RTP spec appendix A, a descriptor with a template dependency
 *    structure (two spatial × two temporal layers, render resolutions), then a short one that uses it;
 *  - rtpExtension (rtpPayload.ts): RFC 8285 one- and two-byte header extension elements.
 */
import { describe, expect, it } from 'vitest';
import type * as ms from 'mediasoup/types';
import { DependencyDescriptorReader } from './av1dd.ts';
import { rtpExtension, rtpPayload } from './rtpPayload.ts';
import { parseVp9Packet } from './vp9.ts';
import { probeParser } from './VideoLayerMonitor.ts';

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** An RTP packet; `elements` become a one-byte (ids < 15, short values) or two-byte header extension block. */
function rtp(payload: number[], o: { ssrc?: number; timestamp?: number; elements?: [number, number[]][]; twoByte?: boolean } = {}): Uint8Array {
  const head = [0x80 | (o.elements ? 0x10 : 0), 41, ...u16(7), ...u32(o.timestamp ?? 90_000), ...u32(o.ssrc ?? 0x1234)];
  if (o.elements) {
    const block: number[] = [];
    for (const [id, value] of o.elements) block.push(...(o.twoByte ? [id, value.length] : [(id << 4) | (value.length - 1)]), ...value);
    while (block.length % 4 !== 0) block.push(0);
    head.push(...(o.twoByte ? [0x10, 0x00] : [0xbe, 0xde]), ...u16(block.length / 4), ...block);
  }
  return Uint8Array.from([...head, ...payload]);
}

describe('parseVp9Packet', () => {
  it('a keyframe in non-flexible mode: layer ids and every spatial layer size from the SS', () => {
    const descriptor = [
      0b1010_1010, // I=1 P=0 L=1 F=0 B=1 E=0 V=1 Z=0
      0x80 | 0x01,
      0x23, // 15-bit picture id
      0b000_0_000_0, // TID 0, U 0, SID 0, D 0
      0x05, // TL0PICIDX
      (2 << 5) | 0x10, // N_S = 2 (three layers), Y = 1, G = 0
      ...u16(320),
      ...u16(180),
      ...u16(640),
      ...u16(360),
      ...u16(1280),
      ...u16(720),
    ];
    expect(parseVp9Packet(rtp([...descriptor, 0x82, 0x49, 0x83], { ssrc: 99, timestamp: 1234 }))).toEqual({
      ssrc: 99,
      timestamp: 1234,
      sid: 0,
      tid: 0,
      keyframe: true,
      sizes: [
        { width: 320, height: 180 },
        { width: 640, height: 360 },
        { width: 1280, height: 720 },
      ],
    });
  });

  it('an inter frame in flexible mode: its spatial and temporal layer, no sizes', () => {
    const descriptor = [
      0b1111_0100, // I=1 P=1 L=1 F=1 B=0 E=1 V=0 Z=0
      0x11, // 7-bit picture id
      (2 << 5) | (1 << 1), // TID 2, SID 1
      0x02, // P_DIFF 1, N = 0
    ];
    expect(parseVp9Packet(rtp([...descriptor, 0xaa]))).toEqual({ ssrc: 0x1234, timestamp: 90_000, sid: 1, tid: 2, keyframe: false });
  });

  it('refuses what is not RTP or ends inside the descriptor', () => {
    expect(parseVp9Packet(Uint8Array.from([0x40, 0, 0, 0]))).toBeUndefined();
    expect(parseVp9Packet(rtp([0b1010_1010, 0x80]))).toBeUndefined();
    expect(parseVp9Packet(rtp([0b0000_1010, (2 << 5) | 0x10, 0, 1]))).toBeUndefined();
  });
});

/** MSB-first bit writer for dependency descriptors. */
class BitWriter {
  readonly bits: number[] = [];
  f(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push((v >> i) & 1);
    return this;
  }
  bytes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.bits.length; i += 8) out.push(this.bits.slice(i, i + 8).reduce((a, b, j) => a | (b << (7 - j)), 0));
    return out;
  }
}

/** A descriptor with the structure of two spatial × two temporal layers (templates S0T0 S0T1 S1T0 S1T1). */
function descriptorWithStructure(templateId: number): number[] {
  const w = new BitWriter();
  w.f(1, 1).f(1, 1).f(6, templateId).f(16, 500); // start, end, template id, frame number
  w.f(1, 1).f(1, 0).f(1, 0).f(1, 0).f(1, 0); // structure present, no active mask, no custom dtis/fdiffs/chains
  w.f(6, 5).f(5, 3); // template_id_offset 5, four decode targets
  w.f(2, 1).f(2, 2).f(2, 1).f(2, 3); // next layer: T+1, S+1, T+1, end
  for (let t = 0; t < 4; t++) for (let d = 0; d < 4; d++) w.f(2, 2); // dtis
  w.f(1, 0); // S0T0: no fdiff
  w.f(1, 1).f(4, 0).f(1, 0); // S0T1: fdiff 1
  w.f(1, 1).f(4, 0).f(1, 0); // S1T0: fdiff 1
  w.f(1, 1).f(4, 1).f(1, 0); // S1T1: fdiff 2
  w.f(2, 0); // chain_cnt = ns(5) = 0
  w.f(1, 1).f(16, 319).f(16, 179).f(16, 639).f(16, 359); // resolutions 320×180, 640×360
  return w.bytes();
}

describe('DependencyDescriptorReader', () => {
  it('reads the structure (layers of each template, render resolutions), then short descriptors with it', () => {
    const reader = new DependencyDescriptorReader();
    expect(reader.read(Uint8Array.from(descriptorWithStructure(7)))).toEqual({
      startOfFrame: true,
      endOfFrame: true,
      frameNumber: 500,
      spatialId: 1,
      temporalId: 0,
      newStructure: true,
      widths: [320, 640],
      heights: [180, 360],
    });
    // Mandatory fields only: template 6 = index 1 = S0T1.
    const short = Uint8Array.from([0b1000_0000 | 6, ...u16(501)]);
    expect(reader.read(short)).toMatchObject({ startOfFrame: true, endOfFrame: false, frameNumber: 501, spatialId: 0, temporalId: 1, newStructure: false });
  });

  it('nothing before a structure was seen, nor for a truncated one or an unknown template', () => {
    const reader = new DependencyDescriptorReader();
    expect(reader.read(Uint8Array.from([0xc6, 0, 1]))).toBeUndefined();
    expect(reader.read(Uint8Array.from(descriptorWithStructure(7).slice(0, 6)))).toBeUndefined();
    reader.read(Uint8Array.from(descriptorWithStructure(7)));
    expect(reader.read(Uint8Array.from([0xc0 | 20, 0, 1]))).toBeUndefined();
  });
});

describe('rtpExtension', () => {
  it('finds an element in the one-byte and the two-byte form, skipping padding', () => {
    const one = rtp([1], {
      elements: [
        [3, [1, 2, 3]],
        [11, [9, 8, 7, 6, 5]],
      ],
    });
    const p1 = rtpPayload(one);
    expect(p1 && [...(rtpExtension(one, p1, 11) ?? [])]).toEqual([9, 8, 7, 6, 5]);
    expect(p1 && rtpExtension(one, p1, 4)).toBeUndefined();
    const two = rtp([1], { elements: [[11, Array.from({ length: 20 }, (_, i) => i)]], twoByte: true });
    const p2 = rtpPayload(two);
    expect(p2 && rtpExtension(two, p2, 11)?.length).toBe(20);
    expect(p2?.offset).toBe(two.length - 1);
  });
});

describe('probeParser for VP9 sent as simulcast', () => {
  it("takes the layer from the SSRC (its encoding) and the size from that stream's one-layer structure", () => {
    const keyframe360 = [
      0b1010_1010,
      0x80 | 0x01,
      0x23,
      0b000_0_000_0,
      0x05,
      (0 << 5) | 0x10, // N_S = 0 (one layer), Y = 1
      ...u16(640),
      ...u16(360),
    ];
    const consumer = {
      rtpParameters: {
        codecs: [{ mimeType: 'video/VP9', payloadType: 101, clockRate: 90000 }],
        encodings: [{ ssrc: 11 }, { ssrc: 22 }, { ssrc: 33 }],
      },
    } as unknown as Pick<ms.Consumer, 'rtpParameters'>;
    const parse = probeParser(consumer);
    expect(parse?.(rtp([...keyframe360, 0x82, 0x49, 0x83], { ssrc: 22 }))).toEqual({ spatial: 1, tid: 0, timestamp: 90_000, heights: new Map([[1, 360]]) });
    expect(parse?.(rtp([...keyframe360, 0x82], { ssrc: 44 }))).toBeUndefined();
    // One SVC stream: the layer is the packet's spatial id.
    const svc = probeParser({ rtpParameters: { ...consumer.rtpParameters, encodings: [{ ssrc: 11 }] } } as typeof consumer);
    expect(svc?.(rtp([...keyframe360, 0x82], { ssrc: 11 }))?.spatial).toBe(0);
  });
});
