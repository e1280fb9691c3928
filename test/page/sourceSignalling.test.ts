/**
 * Unit tests for the page's Jingle source signalling without SSRC rewriting (src/focus/page/sdp.js
 * `updateRemoteSources`, `registerSignalledSources`, `jingleSourceMap`): what lib-jitsi-meet's
 * `SDP.updateRemoteSources` does with a `source-add` / `source-remove` from Jicofo in a non-P2P session.
 */
import { describe, expect, it } from 'vitest';
import sdpTransform from 'sdp-transform';
// @ts-expect-error -- plain ES module of the page (no build step, no .d.ts); its JSDoc documents the shapes.
import * as sdpModule from '../../src/focus/page/sdp.js';

interface Content {
  media: 'audio' | 'video';
  sources: { ssrc: number; name?: string; owner?: string; msid?: string; videoType?: string }[];
  ssrcGroups: { semantics: string; ssrcs: number[] }[];
}
interface Counters {
  ssrcs: Record<string, { mediaType: string; owner: string | null; source: string | null; msid: string; rtx?: number; videoType?: string }>;
  sources: Record<string, number>;
}
interface Api {
  updateRemoteSources(sdp: string, contents: Content[], isAdd: boolean): { sdp: string; changed: boolean };
  registerSignalledSources(counters: Counters, contents: Content[]): Counters;
  createSourceCounters(): Counters;
}
const page = sdpModule as unknown as Api;

/** A remote description as the browser re-serialises the bridge's offer: audio, video (feedback sources), data. */
const OFFER = [
  'v=0',
  'o=- 1 3 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'a=msid-semantic: WMS *',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendrecv',
  'a=rtpmap:111 opus/48000/2',
  'a=ssrc:11 msid:mixedmslabel mixedlabelaudio0',
  'm=video 9 UDP/TLS/RTP/SAVPF 100 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendrecv',
  'a=rtpmap:100 VP8/90000',
  'a=rtpmap:96 rtx/90000',
  'a=fmtp:96 apt=100',
  'a=ssrc:22 msid:mixedmslabel mixedlabelvideo0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=mid:2',
  'a=sctp-port:5000',
  '',
].join('\r\n');

const ADD: Content[] = [
  { media: 'audio', sources: [{ ssrc: 7, name: 'ep2-a0', owner: 'ep2', msid: 'ep2-s ep2-a' }], ssrcGroups: [] },
  {
    media: 'video',
    sources: [
      { ssrc: 1, name: 'ep2-v0', owner: 'ep2', msid: 'ep2-s ep2-v', videoType: 'camera' },
      { ssrc: 11, name: 'ep2-v0', owner: 'ep2', msid: 'ep2-s ep2-v', videoType: 'camera' },
    ],
    ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 11] }],
  },
];

describe('source-add / source-remove without SSRC rewriting', () => {
  it('adds a sendonly m-line per source, mid = m-line count, BUNDLE extended, ssrc and FID lines', () => {
    const { sdp, changed } = page.updateRemoteSources(OFFER, ADD, true);
    expect(changed).toBe(true);
    const parsed = sdpTransform.parse(sdp);
    expect(parsed.media.map((m) => [m.type, String(m.mid), m.direction ?? ''])).toEqual([
      ['audio', '0', 'sendrecv'],
      ['video', '1', 'sendrecv'],
      ['application', '2', ''],
      ['audio', '3', 'sendonly'],
      ['video', '4', 'sendonly'],
    ]);
    expect(parsed.groups?.[0]?.mids).toBe('0 1 2 3 4');
    expect(parsed.media[4]?.ssrcs?.map((s) => [s.id, s.value])).toEqual([
      [1, 'ep2-s ep2-v'],
      [11, 'ep2-s ep2-v'],
    ]);
    expect(parsed.media[4]?.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: '1 11' }]);
    expect(parsed.media[3]?.ssrcs?.map((s) => s.id)).toEqual([7]);
  });

  it('removes a source by rejecting its m-line (inactive, port 0, no ssrc lines); nothing is renumbered', () => {
    const added = page.updateRemoteSources(OFFER, ADD, true).sdp;
    const { sdp, changed } = page.updateRemoteSources(added, [ADD[1] as Content], false);
    expect(changed).toBe(true);
    const video = sdpTransform.parse(sdp).media[4];
    expect([String(video?.mid), video?.port, video?.direction, video?.ssrcs, video?.ssrcGroups]).toEqual(['4', 0, 'inactive', undefined, undefined]);
    expect(sdpTransform.parse(sdp).media[3]?.ssrcs?.map((s) => s.id)).toEqual([7]);
    // An unknown source changes nothing.
    expect(page.updateRemoteSources(sdp, [{ media: 'video', sources: [{ ssrc: 99, name: 'x', owner: 'y' }], ssrcGroups: [] }], false)).toEqual({
      sdp,
      changed: false,
    });
  });

  it('registers each remote SSRC with its owner and source name, skipping the bridge’s own', () => {
    const counters = page.registerSignalledSources(page.createSourceCounters(), [
      { media: 'video', sources: [{ ssrc: 22, name: 'jvb-v0', owner: 'jvb', msid: 'mixedmslabel mixedlabelvideo0' }], ssrcGroups: [] },
      ...ADD,
    ]);
    expect(counters.ssrcs['1']).toMatchObject({ mediaType: 'video', owner: 'ep2', source: 'ep2-v0', rtx: 11, videoType: 'camera' });
    expect(counters.ssrcs['7']).toMatchObject({ mediaType: 'audio', owner: 'ep2', source: 'ep2-a0' });
    expect(counters.ssrcs['22']).toBeUndefined();
    expect(counters.sources).toEqual({ 'ep2-a0': 7, 'ep2-v0': 1 });
  });
});
