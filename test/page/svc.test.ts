/**
 * The page's codec choice and SVC sender settings (src/focus/page/svc.js), against what lib-jitsi-meet does:
 * `SDPUtil.preferCodec` (payload types of the codec, then their RTX, first on the video m-line) and
 * `TPCUtils._calculateActiveEncodingParams` in full-SVC mode (`L3T3_KEY` / `L2T3_KEY` / `L1T3` by quality level,
 * `StandardVideoQualitySettings` bitrates, scaled to the requested height; the SIM group's other encodings off).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ES module of the page (no build step, no .d.ts); its JSDoc documents the shapes.
import * as svcModule from '../../src/focus/page/svc.js';

interface Encoding {
  active: boolean;
  maxBitrate?: number;
  scalabilityMode?: string;
  scaleResolutionDownBy?: number;
}
const svc = svcModule as {
  codecParam(v: string | null): string | undefined;
  isSvcCodec(c: string | undefined): boolean;
  preferVideoCodec(sdp: string, codec: string): string;
  svcEncodings(codec: 'VP9' | 'AV1', captureHeight: number, maxHeight: number): Encoding[];
};

const ANSWER = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 100 96 101 97 41 42',
  'a=rtpmap:100 VP8/90000',
  'a=rtpmap:96 rtx/90000',
  'a=fmtp:96 apt=100',
  'a=rtpmap:101 VP9/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=101',
  'a=rtpmap:41 AV1/90000',
  'a=rtpmap:42 rtx/90000',
  'a=fmtp:42 apt=41',
  '',
].join('\r\n');

describe('page svc.js', () => {
  it('codecParam accepts the four codecs in any case, nothing else', () => {
    expect(['av1', 'VP9', 'vp8', 'h264', 'opus', null, ''].map((v) => svc.codecParam(v))).toEqual([
      'AV1',
      'VP9',
      'VP8',
      'H264',
      undefined,
      undefined,
      undefined,
    ]);
    expect([svc.isSvcCodec('AV1'), svc.isSvcCodec('VP9'), svc.isSvcCodec('VP8'), svc.isSvcCodec(undefined)]).toEqual([true, true, false, false]);
  });

  it('preferVideoCodec moves the codec and its RTX to the front of the video m-line only', () => {
    const out = svc.preferVideoCodec(ANSWER, 'AV1');
    expect(out.split('\r\n')[3]).toBe('m=video 9 UDP/TLS/RTP/SAVPF 41 42 100 96 101 97');
    expect(out.split('\r\n')[1]).toBe('m=audio 9 UDP/TLS/RTP/SAVPF 111');
    expect(svc.preferVideoCodec(ANSWER, 'H264')).toBe(ANSWER);
  });

  it('svcEncodings: L3T3_KEY for 720p, L2T3_KEY for 360p, L1T3 for 180p, with LJM bitrates and scaling', () => {
    expect(svc.svcEncodings('AV1', 720, 720)).toEqual([
      { active: true, maxBitrate: 1_000_000, scalabilityMode: 'L3T3_KEY', scaleResolutionDownBy: 1 },
      { active: false },
      { active: false },
    ]);
    expect(svc.svcEncodings('VP9', 720, 360)[0]).toEqual({ active: true, maxBitrate: 300_000, scalabilityMode: 'L2T3_KEY', scaleResolutionDownBy: 2 });
    expect(svc.svcEncodings('AV1', 720, 180)[0]).toEqual({ active: true, maxBitrate: 100_000, scalabilityMode: 'L1T3', scaleResolutionDownBy: 4 });
    expect(svc.svcEncodings('VP9', 720, 720)[0]?.maxBitrate).toBe(1_200_000);
  });

  it('svcEncodings: no constraint yet or more than captured → the capture height; 0 → off', () => {
    expect(svc.svcEncodings('AV1', 720, -1)[0]).toMatchObject({ active: true, scalabilityMode: 'L3T3_KEY', scaleResolutionDownBy: 1 });
    expect(svc.svcEncodings('AV1', 360, 1080)[0]).toMatchObject({ active: true, scalabilityMode: 'L2T3_KEY', scaleResolutionDownBy: 1 });
    expect(svc.svcEncodings('VP9', 720, 0)).toEqual([{ active: false }, { active: false }, { active: false }]);
  });
});
