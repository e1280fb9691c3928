/**
 * Unit tests for the standalone page's SDP logic (src/focus/page/sdp.js). The expected SDPs are the examples of
 * the lib-jitsi-meet research notes (ljm-sdp.md, Example 1 and Example 2): what LJM applies on Chromium.
 */
import { describe, expect, it } from 'vitest';
import type { IceCandidate } from '../../src/colibri2/types.ts';
import type { JingleContent, JingleSession, JingleTransport } from '../../src/focus/protocol.ts';
// @ts-expect-error -- plain ES module of the page (no build step, no .d.ts); its JSDoc documents the shapes.
import * as sdpModule from '../../src/focus/page/sdp.js';

interface SdpApi {
  jingleToSdp(jingle: JingleSession, options?: { sessionId?: number | string; iceLite?: boolean }): string;
  addSourcesToRemoteSdp(sdp: string, mediaType: 'audio' | 'video', entries: object[], counters: Counters): SourceMapResult;
  createSourceCounters(): Counters;
  answerToJingle(sdp: string, options: { endpointId: string; tpcId?: number; videoType?: string }): JingleSession;
  mediaByMid(sdp: string): Map<string, { type: string; direction?: string; ssrcs: number[]; msid?: string }>;
  candidateToJingle(line: string): IceCandidate | null;
  candidateFromJingle(candidate: IceCandidate): string;
}
interface Counters {
  audio: number;
  video: number;
  ssrcs: Record<string, { mediaType: string; mid: string; owner: string | null; source: string | null; msid: string; rtx?: number; videoType?: string }>;
  sources: Record<string, number>;
}
interface SourceMapResult {
  sdp: string;
  changed: boolean;
  counters: Counters;
  added: { mid: string; ssrc: number; rtx?: number; source: string; owner: string; msid: string; videoType?: string }[];
  remapped: { ssrc: number; source: string; owner: string; previousSource: string | null; previousOwner: string | null }[];
  unmapped: number[];
}

const sdp = sdpModule as unknown as SdpApi;

const UFRAG = 'k3r4qz0cbtmm8p6b';
const PWD = 'u7a2cw9j0x1hn5e3d8ofqg6vy4lirm2t';
const FINGERPRINT = '7C:2B:A1:0F:9E:44:D3:58:61:B2:C7:E0:13:8A:5F:96:3D:E4:27:B8:0C:71:AF:52:9D:36:E8:4B:C0:15:A6:F3';
const AUDIO_SSRC = 3490535668;
const VIDEO_SSRC = 1348796334;
const SESSION_ID = 1755700000000;

const HDREXT = {
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  tcc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  dd: 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
};

const lines = (...l: string[]) => `${l.join('\r\n')}\r\n`;

/** Jicofo's transport after `updateOffer` (cloneTransportAndCandidates of the bridge's transport). */
function bridgeTransport(): JingleTransport {
  return {
    ufrag: UFRAG,
    pwd: PWD,
    rtcpMux: true,
    fingerprints: [{ hash: 'sha-256', value: FINGERPRINT, setup: 'actpass' }],
    candidates: [
      {
        component: 1,
        foundation: '1',
        generation: 0,
        id: 'a1b2c3',
        network: 0,
        priority: 2130706431,
        protocol: 'udp',
        type: 'host',
        ip: '127.0.0.1',
        port: 10000,
      },
    ],
    webSockets: ['ws://127.0.0.1:9090/colibri-ws/default-id/c0ffee/ep1?pwd=secret'],
  };
}

const videoFeedback = [{ type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' }];

/** A session-initiate as Jicofo sends it with SSRC rewriting: feedback sources only (owner `jvb`). */
function sessionInitiate(): JingleSession {
  const audio: JingleContent = {
    name: 'audio',
    creator: 'initiator',
    senders: 'both',
    description: {
      media: 'audio',
      payloadTypes: [
        {
          id: 111,
          name: 'opus',
          clockrate: 48000,
          channels: 2,
          parameters: [
            { name: 'minptime', value: '10' },
            { name: 'useinbandfec', value: '1' },
          ],
          rtcpFbs: [{ type: 'transport-cc' }],
        },
        { id: 126, name: 'telephone-event', clockrate: 8000, parameters: [], rtcpFbs: [] },
      ],
      rtpHdrExts: [
        { id: 1, uri: HDREXT.audioLevel },
        { id: 10, uri: HDREXT.mid },
        { id: 5, uri: HDREXT.tcc },
      ],
      extmapAllowMixed: true,
      rtcpMux: true,
      sources: [{ ssrc: AUDIO_SSRC, name: 'jvb-a0', owner: 'jvb', msid: 'mixedmslabel mixedlabelaudio0' }],
      ssrcGroups: [],
    },
    transport: bridgeTransport(),
  };
  const video: JingleContent = {
    name: 'video',
    creator: 'initiator',
    senders: 'both',
    description: {
      media: 'video',
      payloadTypes: [
        { id: 100, name: 'VP8', clockrate: 90000, parameters: [], rtcpFbs: [...videoFeedback, { type: 'transport-cc' }] },
        { id: 96, name: 'rtx', clockrate: 90000, parameters: [{ name: 'apt', value: '100' }], rtcpFbs: videoFeedback },
      ],
      rtpHdrExts: [
        { id: 11, uri: HDREXT.dd },
        { id: 10, uri: HDREXT.mid },
        { id: 3, uri: HDREXT.absSendTime },
        { id: 5, uri: HDREXT.tcc },
      ],
      extmapAllowMixed: true,
      rtcpMux: true,
      sources: [{ ssrc: VIDEO_SSRC, name: 'jvb-v0', videoType: 'camera', owner: 'jvb', msid: 'mixedmslabel mixedlabelvideo0' }],
      ssrcGroups: [],
    },
    transport: bridgeTransport(),
  };
  const data: JingleContent = {
    name: 'data',
    creator: 'initiator',
    senders: 'both',
    description: { media: 'application', payloadTypes: [], rtpHdrExts: [], rtcpMux: true, sources: [], ssrcGroups: [] },
    transport: { ...bridgeTransport(), sctpmap: { number: 5000, protocol: 'webrtc-datachannel', streams: 1024 } },
  };

  return { contents: [audio, video, data], groups: [{ semantics: 'BUNDLE', contents: ['audio', 'video', 'data'] }] };
}

const TRANSPORT_LINES = [
  `a=ice-ufrag:${UFRAG}`,
  `a=ice-pwd:${PWD}`,
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'a=candidate:1 1 udp 2130706431 127.0.0.1 10000 typ host generation 0',
];
const AUDIO_CODEC_LINES = ['a=rtpmap:111 opus/48000/2', 'a=rtpmap:126 telephone-event/8000', 'a=fmtp:111 minptime=10;useinbandfec=1'];
const AUDIO_EXTMAP_LINES = [`a=extmap:1 ${HDREXT.audioLevel}`, `a=extmap:10 ${HDREXT.mid}`, `a=extmap:5 ${HDREXT.tcc}`];
const VIDEO_CODEC_LINES = ['a=rtpmap:100 VP8/90000', 'a=rtpmap:96 rtx/90000', 'a=fmtp:96 apt=100'];
const VIDEO_FB_LINES = [
  'a=rtcp-fb:100 ccm fir',
  'a=rtcp-fb:100 nack',
  'a=rtcp-fb:100 nack pli',
  'a=rtcp-fb:100 transport-cc',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
];
const VIDEO_EXTMAP_LINES = [`a=extmap:11 ${HDREXT.dd}`, `a=extmap:10 ${HDREXT.mid}`, `a=extmap:3 ${HDREXT.absSendTime}`, `a=extmap:5 ${HDREXT.tcc}`];

/** ljm-sdp.md Example 1, line for line. */
const EXAMPLE_1 = lines(
  'v=0',
  `o=- ${SESSION_ID} 3 IN IP4 0.0.0.0`,
  's=-',
  't=0 0',
  'a=msid-semantic: WMS *',
  'a=group:BUNDLE 0 1 2',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
  'c=IN IP4 0.0.0.0',
  ...AUDIO_CODEC_LINES,
  'a=rtcp:1 IN IP4 0.0.0.0',
  'a=rtcp-fb:111 transport-cc',
  ...AUDIO_EXTMAP_LINES,
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  ...TRANSPORT_LINES,
  `a=ssrc:${AUDIO_SSRC} msid:mixedmslabel mixedlabelaudio0`,
  'a=rtcp-mux',
  'a=extmap-allow-mixed',
  'm=video 9 UDP/TLS/RTP/SAVPF 100 96',
  'c=IN IP4 0.0.0.0',
  ...VIDEO_CODEC_LINES,
  'a=rtcp:1 IN IP4 0.0.0.0',
  ...VIDEO_FB_LINES,
  ...VIDEO_EXTMAP_LINES,
  'a=setup:actpass',
  'a=mid:1',
  'a=sendrecv',
  ...TRANSPORT_LINES,
  `a=ssrc:${VIDEO_SSRC} msid:mixedmslabel mixedlabelvideo0`,
  'a=rtcp-mux',
  'a=extmap-allow-mixed',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=setup:actpass',
  'a=mid:2',
  'a=sendrecv',
  ...TRANSPORT_LINES,
  'a=rtcp-mux',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
);

/**
 * What Chromium's `pc.remoteDescription.sdp` reads back after Example 1 was applied ("Chrome
 * re-serialises"): its own attribute order, port 10000, `c=IN IP4 127.0.0.1`, `a=rtcp:9`, empty cnames, the
 * application m-line without direction and rtcp-mux.
 */
const CHROME_CANDIDATE = 'a=candidate:1 1 udp 2130706431 127.0.0.1 10000 typ host generation 0';
const chromeTransport = (mid: string) => [
  CHROME_CANDIDATE,
  `a=ice-ufrag:${UFRAG}`,
  `a=ice-pwd:${PWD}`,
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'a=setup:actpass',
  `a=mid:${mid}`,
];
const CHROME_REMOTE_1 = lines(
  'v=0',
  `o=- ${SESSION_ID} 3 IN IP4 127.0.0.1`,
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'a=msid-semantic: WMS mixedmslabel',
  'm=audio 10000 UDP/TLS/RTP/SAVPF 111 126',
  'c=IN IP4 127.0.0.1',
  'a=rtcp:9 IN IP4 0.0.0.0',
  ...chromeTransport('0'),
  ...AUDIO_EXTMAP_LINES,
  'a=extmap-allow-mixed',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:126 telephone-event/8000',
  `a=ssrc:${AUDIO_SSRC} cname:`,
  `a=ssrc:${AUDIO_SSRC} msid:mixedmslabel mixedlabelaudio0`,
  'm=video 10000 UDP/TLS/RTP/SAVPF 100 96',
  'c=IN IP4 127.0.0.1',
  'a=rtcp:9 IN IP4 0.0.0.0',
  ...chromeTransport('1'),
  ...VIDEO_EXTMAP_LINES,
  'a=extmap-allow-mixed',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:100 VP8/90000',
  ...VIDEO_FB_LINES.slice(0, 4),
  'a=rtpmap:96 rtx/90000',
  ...VIDEO_FB_LINES.slice(4),
  'a=fmtp:96 apt=100',
  `a=ssrc:${VIDEO_SSRC} cname:`,
  `a=ssrc:${VIDEO_SSRC} msid:mixedmslabel mixedlabelvideo0`,
  'm=application 10000 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 127.0.0.1',
  ...chromeTransport('2'),
  'a=sctp-port:5000',
  'a=max-message-size:262144',
);

const EXAMPLE_2_TRANSPORT = [`a=ice-ufrag:${UFRAG}`, `a=ice-pwd:${PWD}`, `a=fingerprint:sha-256 ${FINGERPRINT}`, CHROME_CANDIDATE];

/** ljm-sdp.md Example 2: the m-line appended for VideoSourcesMap [{abcd1234-v0, ssrc 111, rtx 222}]. */
const EXAMPLE_2_VIDEO = lines(
  'm=video 10000 UDP/TLS/RTP/SAVPF 100 96',
  'c=IN IP4 127.0.0.1',
  ...VIDEO_CODEC_LINES,
  'a=rtcp:9 IN IP4 0.0.0.0',
  ...VIDEO_FB_LINES,
  ...VIDEO_EXTMAP_LINES,
  'a=setup:actpass',
  'a=mid:3',
  'a=sendonly',
  ...EXAMPLE_2_TRANSPORT,
  'a=ssrc:111 msid:remote-video-1 remote-video-1',
  'a=ssrc:222 msid:remote-video-1 remote-video-1',
  'a=ssrc-group:FID 111 222',
  'a=rtcp-mux',
  'a=extmap-allow-mixed',
);

/** ljm-sdp.md Example 2: the m-line appended for AudioSourcesMap [{abcd1234-a0, ssrc 333}]. */
const EXAMPLE_2_AUDIO = lines(
  'm=audio 10000 UDP/TLS/RTP/SAVPF 111 126',
  'c=IN IP4 127.0.0.1',
  ...AUDIO_CODEC_LINES,
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=rtcp-fb:111 transport-cc',
  ...AUDIO_EXTMAP_LINES,
  'a=setup:actpass',
  'a=mid:4',
  'a=sendonly',
  ...EXAMPLE_2_TRANSPORT,
  'a=ssrc:333 msid:remote-audio-1 remote-audio-1',
  'a=rtcp-mux',
  'a=extmap-allow-mixed',
);

/** The media sections of an SDP as strings (each with its trailing CRLF); [0] is the session part. */
function sections(text: string): string[] {
  const [session, ...media] = text.split('\r\nm=');

  return [`${session}\r\n`, ...media.map((m, i) => `m=${m}${i < media.length - 1 ? '\r\n' : ''}`)];
}

const sortedLines = (text: string) => text.split('\r\n').filter(Boolean).sort();

const VIDEO_MAP = { source: 'abcd1234-v0', owner: 'abcd1234', ssrc: 111, rtx: 222, videoType: 'CAMERA' };
const AUDIO_MAP = { source: 'abcd1234-a0', owner: 'abcd1234', ssrc: 333 };

describe('jingleToSdp (LJM SDP.fromJingle + non-P2P post-processing)', () => {
  it('builds Example 1 line for line from a Jicofo session-initiate', () => {
    expect(sdp.jingleToSdp(sessionInitiate(), { sessionId: SESSION_ID })).toBe(EXAMPLE_1);
  });

  it('gives bridge sources without an msid the jvb msid', () => {
    const jingle = sessionInitiate();

    for (const content of jingle.contents) for (const s of content.description.sources) delete s.msid;
    expect(sdp.jingleToSdp(jingle, { sessionId: SESSION_ID })).toBe(EXAMPLE_1);
  });

  it('uses Date.now() for the session id by default and never adds a=ice-lite or end-of-candidates', () => {
    const before = Date.now();
    const offer = sdp.jingleToSdp(sessionInitiate());
    const sessionId = Number(/^o=- (\d+) 3 /m.exec(offer)?.[1]);

    expect(sessionId).toBeGreaterThanOrEqual(before);
    expect(offer).not.toContain('ice-lite');
    expect(offer).not.toContain('end-of-candidates');
  });

  it('adds a session-level a=ice-lite when asked (the forwarding bench) and changes nothing else', () => {
    const offer = sdp.jingleToSdp(sessionInitiate(), { sessionId: SESSION_ID, iceLite: true });

    expect(offer).toMatch(/^a=ice-lite\r$/m);
    expect(offer.split('\r\nm=')[0]).toContain('a=ice-lite');
    expect(offer.replace('a=ice-lite\r\n', '')).toBe(EXAMPLE_1);
  });

  it('gives each further source its own sendonly m-line, FID partner moved along, mids renumbered', () => {
    const jingle = sessionInitiate();
    const video = jingle.contents[1]!.description;

    video.sources.push({ ssrc: 5001, msid: 'ep-video-0-1 t-1', owner: 'ep' }, { ssrc: 5002, msid: 'ep-video-0-1 t-1', owner: 'ep' });
    video.ssrcGroups.push({ semantics: 'FID', ssrcs: [5001, 5002] });
    const offer = sdp.jingleToSdp(jingle, { sessionId: SESSION_ID });
    const byMid = sdp.mediaByMid(offer);

    expect(offer).toContain('a=group:BUNDLE 0 1 2 3\r\n');
    expect([...byMid.keys()]).toEqual(['0', '1', '2', '3']);
    expect(byMid.get('1')).toMatchObject({ type: 'video', direction: 'sendrecv', ssrcs: [VIDEO_SSRC] });
    expect(byMid.get('2')).toMatchObject({ type: 'video', direction: 'sendonly', ssrcs: [5001, 5002], msid: 'ep-video-0-1 t-1' });
    expect(byMid.get('3')).toMatchObject({ type: 'application' });
    expect(sections(offer)[3]).toContain('a=ssrc-group:FID 5001 5002\r\n');
  });

  it('writes candidates like SDPUtil.candidateFromJingle', () => {
    expect(
      sdp.candidateFromJingle({
        component: 1,
        foundation: '7',
        generation: 0,
        id: 'x',
        network: 1,
        priority: 1694498815,
        protocol: 'udp',
        type: 'srflx',
        ip: '203.0.113.7',
        port: 10000,
        relAddr: '10.0.0.2',
        relPort: 10000,
      }),
    ).toBe('a=candidate:7 1 udp 1694498815 203.0.113.7 10000 typ srflx raddr 10.0.0.2 rport 10000 generation 0\r\n');
    expect(
      sdp.candidateFromJingle({
        component: 1,
        foundation: '2',
        generation: 1,
        id: 'y',
        network: 1,
        priority: 1518280447,
        protocol: 'tcp',
        type: 'host',
        ip: '10.0.0.2',
        port: 4443,
        tcptype: 'passive',
      }),
    ).toBe('a=candidate:2 1 tcp 1518280447 10.0.0.2 4443 typ host tcptype passive generation 1\r\n');
  });
});

describe('addSourcesToRemoteSdp (LJM processSourceMap + addMlineForNewSource)', () => {
  it('appends Example 2 for a VideoSourcesMap and then an AudioSourcesMap', () => {
    const first = sdp.addSourcesToRemoteSdp(CHROME_REMOTE_1, 'video', [VIDEO_MAP], sdp.createSourceCounters());

    expect(first.changed).toBe(true);
    const afterVideo = sections(first.sdp);

    expect(afterVideo).toHaveLength(5);
    expect(afterVideo[0]).toContain('a=group:BUNDLE 0 1 2 3\r\n');
    expect(afterVideo[4]).toBe(EXAMPLE_2_VIDEO);
    // m-lines 0..2 keep their content (sdp-transform reorders the attributes only).
    const chrome = sections(CHROME_REMOTE_1);

    for (const i of [1, 2, 3]) expect(sortedLines(afterVideo[i]!)).toEqual(sortedLines(chrome[i]!));
    expect(first.added).toEqual([
      {
        mid: '3',
        ssrc: 111,
        rtx: 222,
        source: 'abcd1234-v0',
        owner: 'abcd1234',
        msid: 'remote-video-1 remote-video-1',
        videoType: 'camera',
      },
    ]);
    expect(first.counters.video).toBe(1);
    expect(first.counters.ssrcs['111']).toMatchObject({ mediaType: 'video', mid: '3', owner: 'abcd1234', source: 'abcd1234-v0', rtx: 222 });
    expect(first.counters.sources).toEqual({ 'abcd1234-v0': 111 });

    // Chrome re-serialises again before the next map: the new m-line gets its empty cnames.
    const chromeRemote2 = first.sdp
      .replace('a=ssrc:111 msid:', 'a=ssrc:111 cname:\r\na=ssrc:111 msid:')
      .replace('a=ssrc:222 msid:', 'a=ssrc:222 cname:\r\na=ssrc:222 msid:');
    const second = sdp.addSourcesToRemoteSdp(chromeRemote2, 'audio', [AUDIO_MAP], first.counters);
    const afterAudio = sections(second.sdp);

    expect(afterAudio).toHaveLength(6);
    expect(afterAudio[0]).toBe(
      lines('v=0', `o=- ${SESSION_ID} 3 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=msid-semantic: WMS mixedmslabel', 'a=group:BUNDLE 0 1 2 3 4'),
    );
    expect(afterAudio[5]).toBe(EXAMPLE_2_AUDIO);
    expect(afterAudio[4]).toContain(
      lines(
        'a=ssrc:111 cname:',
        'a=ssrc:111 msid:remote-video-1 remote-video-1',
        'a=ssrc:222 cname:',
        'a=ssrc:222 msid:remote-video-1 remote-video-1',
        'a=ssrc-group:FID 111 222',
      ),
    );
    expect(second.added).toEqual([{ mid: '4', ssrc: 333, source: 'abcd1234-a0', owner: 'abcd1234', msid: 'remote-audio-1 remote-audio-1' }]);
    expect(second.counters).toMatchObject({ audio: 1, video: 1 });
    expect(sdp.mediaByMid(second.sdp).get('4')).toEqual({ type: 'audio', direction: 'sendonly', ssrcs: [333], msid: 'remote-audio-1 remote-audio-1' });
  });

  it('does not change the SDP for a known SSRC; re-maps owner and source (slot re-use)', () => {
    const first = sdp.addSourcesToRemoteSdp(CHROME_REMOTE_1, 'video', [VIDEO_MAP], sdp.createSourceCounters());
    const same = sdp.addSourcesToRemoteSdp(first.sdp, 'video', [VIDEO_MAP], first.counters);

    expect(same).toMatchObject({ sdp: first.sdp, changed: false, added: [], remapped: [] });

    const reuse = { source: 'ffff0000-v0', owner: 'ffff0000', ssrc: 111, rtx: 222, videoType: 'CAMERA' };
    const remapped = sdp.addSourcesToRemoteSdp(first.sdp, 'video', [reuse], first.counters);

    expect(remapped.changed).toBe(false);
    expect(remapped.sdp).toBe(first.sdp);
    expect(remapped.remapped).toEqual([{ ssrc: 111, source: 'ffff0000-v0', owner: 'ffff0000', previousSource: 'abcd1234-v0', previousOwner: 'abcd1234' }]);
    expect(remapped.counters.ssrcs['111']).toMatchObject({ owner: 'ffff0000', source: 'ffff0000-v0', mid: '3' });
    expect(remapped.counters.sources).toEqual({ 'ffff0000-v0': 111 });
    // The input state is not mutated.
    expect(first.counters.ssrcs['111']!.owner).toBe('abcd1234');
  });

  it('clears the owner of the old SSRC when a source moves to a new SSRC, keeping its m-line', () => {
    const first = sdp.addSourcesToRemoteSdp(CHROME_REMOTE_1, 'video', [VIDEO_MAP], sdp.createSourceCounters());
    const moved = sdp.addSourcesToRemoteSdp(first.sdp, 'video', [{ ...VIDEO_MAP, ssrc: 444, rtx: 555 }], first.counters);

    expect(moved.changed).toBe(true);
    expect(moved.unmapped).toEqual([111]);
    expect(moved.counters.ssrcs['111']).toMatchObject({ owner: null, source: null });
    expect(moved.added[0]).toMatchObject({ mid: '4', ssrc: 444, rtx: 555, msid: 'remote-video-2 remote-video-2' });
    const byMid = sdp.mediaByMid(moved.sdp);

    expect(byMid.get('3')!.ssrcs).toEqual([111, 222]);
    expect(byMid.get('4')!.ssrcs).toEqual([444, 555]);
  });

  it('adds one m-line per new entry, honours an entry mid, and skips an rtx of -1', () => {
    const result = sdp.addSourcesToRemoteSdp(
      CHROME_REMOTE_1,
      'video',
      [
        { source: 'aaaa-v0', owner: 'aaaa', ssrc: 1001, rtx: -1, videoType: 'DESKTOP' },
        { source: 'bbbb-v0', owner: 'bbbb', ssrc: 2001, rtx: 2002, videoType: 'CAMERA', mid: 'v7' },
      ],
      sdp.createSourceCounters(),
    );
    const media = sections(result.sdp);

    expect(media[0]).toContain('a=group:BUNDLE 0 1 2 3 v7\r\n');
    expect(media[4]).toContain('a=mid:3\r\n');
    expect(media[4]).toContain('a=ssrc:1001 msid:remote-video-1 remote-video-1\r\n');
    expect(media[4]).not.toContain('ssrc-group');
    expect(media[4]).not.toContain('-1 msid');
    expect(media[5]).toContain('a=mid:v7\r\n');
    expect(media[5]).toContain('a=ssrc-group:FID 2001 2002\r\n');
    expect(result.added.map((a) => [a.mid, a.ssrc, a.rtx, a.videoType])).toEqual([
      ['3', 1001, undefined, 'desktop'],
      ['v7', 2001, 2002, 'camera'],
    ]);
  });
});

/** A Chromium answer to Example 2's offer: local tracks on mids 0 and 1, recvonly for mids 3 and 4. */
const ENDPOINT_ID = '79f0273e';
const LOCAL_FINGERPRINT = 'E1:5A:0C:93:7B:2D:64:F8:11:C6:A9:3E:70:D4:8B:25:9F:06:BC:47:E2:31:5D:A8:6F:C0:14:9B:73:2E:D5:08';
const STREAM = '1b9c2f4e-8d7a-4c3b-9e21-5f6a7b8c9d0e';
const AUDIO_TRACK = 'a3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b';
const VIDEO_TRACK = 'c9e8d7f6-5a4b-4c3d-8e2f-1a0b9c8d7e6f';
const answerTransport = (mid: string) => [
  'c=IN IP4 0.0.0.0',
  ...(mid === '2' ? [] : ['a=rtcp:9 IN IP4 0.0.0.0']),
  'a=candidate:3928474 1 udp 2113937151 7f3c9a1e-6b2d-4e8f-a0c1-d2e3f4a5b6c7.local 54321 typ host generation 0 network-cost 999',
  'a=ice-ufrag:Ab3x',
  'a=ice-pwd:Q1w2E3r4T5y6U7i8O9p0aSdF',
  'a=ice-options:trickle',
  `a=fingerprint:sha-256 ${LOCAL_FINGERPRINT}`,
  'a=setup:active',
  `a=mid:${mid}`,
];
const CHROME_ANSWER = lines(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2 3 4',
  'a=extmap-allow-mixed',
  `a=msid-semantic: WMS ${STREAM}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
  ...answerTransport('0'),
  ...AUDIO_EXTMAP_LINES,
  'a=sendrecv',
  `a=msid:${STREAM} ${AUDIO_TRACK}`,
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:2951617181 cname:Hk3mV9pQ2sLx7Zr1',
  `a=ssrc:2951617181 msid:${STREAM} ${AUDIO_TRACK}`,
  'm=video 9 UDP/TLS/RTP/SAVPF 100 96',
  ...answerTransport('1'),
  ...VIDEO_EXTMAP_LINES,
  'a=sendrecv',
  `a=msid:${STREAM} ${VIDEO_TRACK}`,
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:100 VP8/90000',
  ...VIDEO_FB_LINES.slice(0, 4),
  'a=rtpmap:96 rtx/90000',
  'a=fmtp:96 apt=100',
  'a=ssrc-group:FID 1823647291 3745128904',
  'a=ssrc:1823647291 cname:Hk3mV9pQ2sLx7Zr1',
  `a=ssrc:1823647291 msid:${STREAM} ${VIDEO_TRACK}`,
  'a=ssrc:3745128904 cname:Hk3mV9pQ2sLx7Zr1',
  `a=ssrc:3745128904 msid:${STREAM} ${VIDEO_TRACK}`,
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  ...answerTransport('2'),
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  'm=video 9 UDP/TLS/RTP/SAVPF 100 96',
  ...answerTransport('3'),
  ...VIDEO_EXTMAP_LINES,
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:100 VP8/90000',
  ...VIDEO_FB_LINES.slice(0, 4),
  'a=rtpmap:96 rtx/90000',
  'a=fmtp:96 apt=100',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
  ...answerTransport('4'),
  ...AUDIO_EXTMAP_LINES,
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:126 telephone-event/8000',
);

describe('answerToJingle (LJM LocalSdpMunger + SDP.toJingle)', () => {
  const expectedTransport = {
    ufrag: 'Ab3x',
    pwd: 'Q1w2E3r4T5y6U7i8O9p0aSdF',
    fingerprints: [{ hash: 'sha-256', value: LOCAL_FINGERPRINT, setup: 'active' }],
    candidates: [
      {
        component: 1,
        foundation: '3928474',
        generation: 0,
        id: expect.any(String),
        network: 1,
        priority: 2113937151,
        protocol: 'udp',
        type: 'host',
        ip: '7f3c9a1e-6b2d-4e8f-a0c1-d2e3f4a5b6c7.local',
        port: 54321,
      },
    ],
  };

  it('produces the session-accept of a Chromium answer', () => {
    const jingle = sdp.answerToJingle(CHROME_ANSWER, { endpointId: ENDPOINT_ID });

    expect(jingle.groups).toEqual([{ semantics: 'BUNDLE', contents: ['audio', 'video', 'data'] }]);
    expect(jingle.contents.map((c) => [c.name, c.creator, c.senders])).toEqual([
      ['audio', 'responder', 'both'],
      ['video', 'responder', 'both'],
      ['data', 'responder', 'both'],
    ]);
    const [audio, video, data] = jingle.contents;

    expect(audio!.description).toEqual({
      media: 'audio',
      payloadTypes: [
        {
          id: 111,
          name: 'opus',
          clockrate: 48000,
          channels: 2,
          parameters: [
            { name: 'minptime', value: '10' },
            { name: 'useinbandfec', value: '1' },
          ],
          rtcpFbs: [{ type: 'transport-cc' }],
        },
        { id: 126, name: 'telephone-event', clockrate: 8000, channels: 1, parameters: [], rtcpFbs: [] },
      ],
      rtpHdrExts: [
        { id: 1, uri: HDREXT.audioLevel },
        { id: 10, uri: HDREXT.mid },
        { id: 5, uri: HDREXT.tcc },
      ],
      extmapAllowMixed: true,
      rtcpMux: true,
      sources: [{ ssrc: 2951617181, name: `${ENDPOINT_ID}-a0`, msid: `${ENDPOINT_ID}-audio-0-1 ${AUDIO_TRACK}-1` }],
      ssrcGroups: [],
    });
    expect(audio!.transport).toEqual(expectedTransport);

    expect(video!.description.payloadTypes).toEqual([
      { id: 100, name: 'VP8', clockrate: 90000, channels: 1, parameters: [], rtcpFbs: [...videoFeedback, { type: 'transport-cc' }] },
      { id: 96, name: 'rtx', clockrate: 90000, channels: 1, parameters: [{ name: 'apt', value: '100' }], rtcpFbs: [] },
    ]);
    const videoMsid = `${ENDPOINT_ID}-video-0-1 ${VIDEO_TRACK}-1`;

    expect(video!.description.sources).toEqual([
      { ssrc: 1823647291, name: `${ENDPOINT_ID}-v0`, msid: videoMsid, videoType: 'camera' },
      { ssrc: 3745128904, name: `${ENDPOINT_ID}-v0`, msid: videoMsid, videoType: 'camera' },
    ]);
    expect(video!.description.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [1823647291, 3745128904] }]);
    expect(video!.description.rtpHdrExts.map((e) => e.id)).toEqual([11, 10, 3, 5]);

    expect(data!.description.sources).toEqual([]);
    expect(data!.transport).toEqual({ ...expectedTransport, sctpmap: { number: 5000, protocol: 'webrtc-datachannel', streams: 0 } });
  });

  it('signals no sources for recvonly m-lines (not sending audio) and names them from the sending ones only', () => {
    const answer = CHROME_ANSWER.replace(/a=sendrecv\r\n(a=msid:[^\r]+\r\n)/, 'a=recvonly\r\n').replace(/a=ssrc:2951617181[^\r]*\r\n/g, '');
    const jingle = sdp.answerToJingle(answer, { endpointId: ENDPOINT_ID });

    expect(jingle.contents[0]).toMatchObject({ name: 'audio', senders: 'responder' });
    expect(jingle.contents[0]!.description.sources).toEqual([]);
    expect(jingle.contents[1]!.description.sources.map((s) => s.name)).toEqual([`${ENDPOINT_ID}-v0`, `${ENDPOINT_ID}-v0`]);
  });

  it('keeps SIM and FID groups of a simulcast-munged video m-line and takes the track id from a=msid', () => {
    const sim = [1001, 1002, 1003];
    const rtx = [2001, 2002, 2003];
    const ssrcLines = [...sim, ...rtx].map((s) => `a=ssrc:${s} cname:Hk3mV9pQ2sLx7Zr1`);
    const answer = CHROME_ANSWER.replace(
      /a=ssrc-group:FID [^\r]+\r\n(a=ssrc:(1823647291|3745128904)[^\r]*\r\n)+/,
      lines(
        `a=ssrc-group:FID ${sim[0]} ${rtx[0]}`,
        ...ssrcLines,
        `a=ssrc-group:SIM ${sim.join(' ')}`,
        `a=ssrc-group:FID ${sim[1]} ${rtx[1]}`,
        `a=ssrc-group:FID ${sim[2]} ${rtx[2]}`,
      ),
    );
    const video = sdp.answerToJingle(answer, { endpointId: ENDPOINT_ID, tpcId: 2 }).contents[1]!.description;

    expect(video.sources.map((s) => s.ssrc)).toEqual([...sim, ...rtx]);
    expect(new Set(video.sources.map((s) => s.msid))).toEqual(new Set([`${ENDPOINT_ID}-video-0-2 ${VIDEO_TRACK}-2`]));
    expect(video.ssrcGroups).toEqual([
      { semantics: 'FID', ssrcs: [1001, 2001] },
      { semantics: 'SIM', ssrcs: sim },
      { semantics: 'FID', ssrcs: [1002, 2002] },
      { semantics: 'FID', ssrcs: [1003, 2003] },
    ]);
  });

  it('marks a rejected data m-line (no data channel, colibri-ws) as senders="rejected"', () => {
    const answer = CHROME_ANSWER.replace('m=application 9 ', 'm=application 0 ');

    expect(sdp.answerToJingle(answer, { endpointId: ENDPOINT_ID }).contents[2]!.senders).toBe('rejected');
  });

  it('parses candidates like SDPUtil.candidateToJingle', () => {
    expect(
      sdp.candidateToJingle('a=candidate:842163049 1 udp 1677729535 198.51.100.4 61234 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999'),
    ).toEqual({
      component: 1,
      foundation: '842163049',
      generation: 0,
      id: expect.any(String),
      network: 1,
      priority: 1677729535,
      protocol: 'udp',
      type: 'srflx',
      ip: '198.51.100.4',
      port: 61234,
      relAddr: '0.0.0.0',
      relPort: 0,
    });
    expect(sdp.candidateToJingle('a=end-of-candidates')).toBeNull();
  });
});
