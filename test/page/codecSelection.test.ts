/**
 * The page's video codec choice (src/focus/page/codecSelection.js) against lib-jitsi-meet's
 * `modules/qualitycontrol/CodecSelection.ts`: the local order (desktop default AV1, VP9, VP8, H.264, or
 * `codecPreferenceOrder`, narrowed to what the browser decodes, AV1 and VP9 moved last on Firefox, AV1 dropped on
 * Firefox 156 and WebKit) and the choice (the first local codec every other participant announces).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ES module of the page (no build step, no .d.ts); its JSDoc documents the shapes.
import * as selectionModule from '../../src/focus/page/codecSelection.js';

type Browser = { firefox?: number; webkit?: boolean };
const selection = selectionModule as {
  parseCodecList(v: string | null): string[];
  codecPreferenceOrder(o: { configured?: string[]; decodable: string[]; browser?: Browser }): string[];
  selectVideoCodec(local: string[], remote: string[][], offered?: string[]): string | undefined;
  browserOf(ua: string): Browser;
};

/** What Chromium 156 and Firefox ESR 153 on this machine decode (`RTCRtpReceiver.getCapabilities('video')`). */
const CHROMIUM_DECODES = ['video/VP8', 'video/rtx', 'video/VP9', 'video/H264', 'video/AV1', 'video/red', 'video/ulpfec'];
const FIREFOX_DECODES = ['video/VP8', 'video/rtx', 'video/VP9', 'video/AV1', 'video/ulpfec', 'video/red'];

describe('codec preference order (LJM CodecSelection constructor)', () => {
  it("is LJM's desktop order on Chromium", () => {
    expect(selection.codecPreferenceOrder({ decodable: CHROMIUM_DECODES })).toEqual(['av1', 'vp9', 'vp8', 'h264']);
  });

  it('moves AV1 then VP9 last on Firefox, and has no H.264 without OpenH264', () => {
    expect(selection.codecPreferenceOrder({ decodable: FIREFOX_DECODES, browser: { firefox: 153 } })).toEqual(['vp8', 'av1', 'vp9']);
    expect(selection.codecPreferenceOrder({ decodable: FIREFOX_DECODES, browser: { firefox: 156 } })).toEqual(['vp8', 'vp9']);
  });

  it('drops AV1 and moves VP9 last on WebKit', () => {
    expect(selection.codecPreferenceOrder({ decodable: CHROMIUM_DECODES, browser: { webkit: true } })).toEqual(['vp8', 'h264', 'vp9']);
  });

  it('follows a configured order, kept to what the browser decodes; VP8 when nothing is left', () => {
    expect(selection.codecPreferenceOrder({ configured: ['h264', 'vp8'], decodable: CHROMIUM_DECODES })).toEqual(['h264', 'vp8']);
    expect(selection.codecPreferenceOrder({ configured: ['h264'], decodable: FIREFOX_DECODES, browser: { firefox: 153 } })).toEqual(['vp8']);
    expect(selection.codecPreferenceOrder({ decodable: [] })).toEqual(['vp8']);
  });

  it('parses a codec list parameter: known codecs, lower case, no repeats', () => {
    expect(selection.parseCodecList('VP8, h264,foo,VP8')).toEqual(['vp8', 'h264']);
    expect(selection.parseCodecList(null)).toEqual([]);
  });

  it('tells Firefox, WebKit and Chromium apart by user agent', () => {
    expect(selection.browserOf('Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0')).toEqual({ firefox: 153 });
    expect(selection.browserOf('Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15')).toEqual({ webkit: true });
    expect(selection.browserOf('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36')).toEqual({});
    expect(selection.browserOf('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36')).toEqual({});
  });
});

describe('codec choice (LJM CodecSelection.selectPreferredCodec)', () => {
  const chromium = ['av1', 'vp9', 'vp8', 'h264'];

  it('takes the first local codec when alone or when everyone announces it', () => {
    expect(selection.selectVideoCodec(chromium, [])).toBe('av1');
    expect(selection.selectVideoCodec(chromium, [['vp8', 'av1', 'vp9']])).toBe('av1');
  });

  it('skips a codec one participant lacks, keeps the local order, and ignores participants that announce none', () => {
    expect(
      selection.selectVideoCodec(
        ['h264', 'vp8'],
        [
          ['h264', 'vp8'],
          ['vp8', 'av1', 'vp9'],
        ],
      ),
    ).toBe('vp8');
    expect(selection.selectVideoCodec(chromium, [['h264', 'vp9'], []])).toBe('vp9');
  });

  it('has no choice when nothing is common (the current codec stays), and never picks what the bridge does not offer', () => {
    expect(selection.selectVideoCodec(['h264'], [['vp8']])).toBeUndefined();
    expect(selection.selectVideoCodec(chromium, [], ['vp8', 'h264'])).toBe('vp8');
  });
});
