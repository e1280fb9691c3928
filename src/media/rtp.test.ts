/** colibri2 sources and media → mediasoup RTP parameters (pure mapping). */
import { describe, expect, it } from 'vitest';
import { JICOFO_MEDIA, LJM_CAMERA } from '../../bench/lib/jicofo.ts';
import type { Media } from '../colibri2/types.ts';
import {
  codecOfPayloadType,
  expectedCodecOrder,
  fmtpParameters,
  JICOFO_NUMBERING,
  pickCodec,
  producerRtpParameters,
  routerCodecs,
  rtpCapabilitiesOf,
  RtpMappingError,
  sourceLayout,
} from './rtp.ts';

const video = JICOFO_MEDIA[1];

describe('sourceLayout', () => {
  it('SIM gives the layers low to high, FID their RTX', () => {
    expect(sourceLayout(LJM_CAMERA).encodings).toEqual([
      { ssrc: 1, rtxSsrc: 2 },
      { ssrc: 3, rtxSsrc: 4 },
      { ssrc: 5, rtxSsrc: 6 },
    ]);
  });
  it('a single primary with FID', () => {
    expect(sourceLayout({ type: 'video', id: 'v', sources: [{ ssrc: 7 }, { ssrc: 8 }], ssrcGroups: [{ semantics: 'FID', ssrcs: [7, 8] }] }).encodings).toEqual([
      { ssrc: 7, rtxSsrc: 8 },
    ]);
  });
  it('rejects groups naming unknown SSRCs, two primaries without SIM, no SSRC', () => {
    expect(() => sourceLayout({ ...LJM_CAMERA, ssrcGroups: [{ semantics: 'SIM', ssrcs: [1, 99] }] })).toThrow(RtpMappingError);
    expect(() => sourceLayout({ type: 'video', id: 'v', sources: [{ ssrc: 1 }, { ssrc: 2 }], ssrcGroups: [] })).toThrow('2 primary SSRCs');
    expect(() => sourceLayout({ type: 'audio', id: 'a', sources: [], ssrcGroups: [] })).toThrow('no SSRC');
    expect(() => sourceLayout({ type: 'video', id: 'v', sources: [{ ssrc: 1 }], ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 1] }] })).toThrow('distinct');
  });
});

describe('producer and consumer parameters', () => {
  it('simulcast VP8 with the sender payload types, RTX and L1T3 layers', () => {
    const rtp = producerRtpParameters(LJM_CAMERA, video, ['VP8'], 'ep');
    expect(rtp.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([
      ['video/VP8', 100],
      ['video/rtx', 96],
    ]);
    expect(rtp.encodings).toEqual([
      { ssrc: 1, rtx: { ssrc: 2 }, scalabilityMode: 'L1T3' },
      { ssrc: 3, rtx: { ssrc: 4 }, scalabilityMode: 'L1T3' },
      { ssrc: 5, rtx: { ssrc: 6 }, scalabilityMode: 'L1T3' },
    ]);
    expect(rtp.headerExtensions?.map((e) => e.id)).toEqual([11, 3, 5]);
  });
  it("every codec of Jicofo's offer the router has, expected first, each with its RTX", () => {
    const rtp = producerRtpParameters(LJM_CAMERA, video, ['VP8', 'AV1', 'H264', 'VP9'], 'ep');
    expect(rtp.codecs.map((c) => [c.mimeType, c.payloadType, c.parameters])).toEqual([
      ['video/VP8', 100, {}],
      ['video/AV1', 41, {}],
      ['video/H264', 107, { 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1, 'packetization-mode': 1 }],
      ['video/VP9', 101, {}],
      ['video/rtx', 96, { apt: 100 }],
      ['video/rtx', 42, { apt: 41 }],
      ['video/rtx', 99, { apt: 107 }],
      ['video/rtx', 97, { apt: 101 }],
    ]);
    // Codecs the router does not have are left out.
    expect(producerRtpParameters(LJM_CAMERA, video, ['VP9'], 'ep').codecs.map((c) => c.payloadType)).toEqual([101, 97]);
  });
  it('picks opus even when RED comes first, and fails clearly without a usable codec', () => {
    expect(pickCodec(JICOFO_MEDIA[0], ['opus'])?.main.id).toBe(111);
    const vp8Only: Media = { type: 'video', rtpHdrExts: [], payloadTypes: (video?.payloadTypes ?? []).filter((p) => p.id === 100 || p.id === 96) };
    expect(() => producerRtpParameters(LJM_CAMERA, vp8Only, ['H264'], 'ep')).toThrow('no usable video codec');
  });
  it("splits Jicofo's H.264 fmtp value into its parameters", () => {
    expect(
      fmtpParameters({
        id: 107,
        name: 'H264',
        clockrate: 90000,
        parameters: [{ name: 'profile-level-id', value: '42e01f;level-asymmetry-allowed=1;packetization-mode=1;' }],
        rtcpFbs: [],
      }),
    ).toEqual({
      'profile-level-id': '42e01f',
      'level-asymmetry-allowed': 1,
      'packetization-mode': 1,
    });
  });
  it('codec of a payload type, and the order a source is produced with', () => {
    const rtp = producerRtpParameters(LJM_CAMERA, video, ['VP8', 'VP9'], 'ep');
    expect(codecOfPayloadType(rtp, 101)).toBe('VP9');
    expect(codecOfPayloadType(rtp, 97)).toBeUndefined();
    expect(codecOfPayloadType(rtp, 77)).toBeUndefined();
    const jicofo = ['AV1', 'VP8', 'H264', 'VP9'];
    expect(expectedCodecOrder(jicofo, false)).toEqual(jicofo);
    expect(expectedCodecOrder(jicofo, true)).toEqual(['VP8', 'H264', 'AV1', 'VP9']);
    expect(expectedCodecOrder(jicofo, true, 'VP9')).toEqual(['VP9', 'AV1', 'VP8', 'H264']);
  });
  it('receiver capabilities keep its numbering and leave out sdes:mid', () => {
    const caps = rtpCapabilitiesOf(JICOFO_MEDIA);
    expect(caps.codecs?.find((c) => c.mimeType === 'audio/opus')?.preferredPayloadType).toBe(111);
    expect(caps.headerExtensions?.some((e) => e.uri.endsWith('sdes:mid'))).toBe(false);
  });
  it('router codecs use Jicofo payload types including RTX', () => {
    const codecs = routerCodecs(['VP8', 'H264'], JICOFO_NUMBERING);
    expect(codecs.map((c) => [c.mimeType, c.preferredPayloadType, c.rtxPayloadType])).toEqual([
      ['audio/opus', 111, undefined],
      ['video/VP8', 100, 96],
      ['video/H264', 107, 99],
    ]);
  });
});
