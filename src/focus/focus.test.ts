/**
 * The embedded focus: Jingle conversions as Jicofo does them, page message parsing, and the
 * focus socket against a real bridge (bad room name, bad input, join → session-initiate).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningBridge } from '../bridge.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { offerMedia } from './codecs.ts';
import { buildSessionInitiate, remoteSourcesToJingle, sessionAcceptToColibri2, stripSimulcast } from './jingle.ts';
import type { MediaSource } from '../colibri2/types.ts';
import { parsePageMessage } from './pageMessages.ts';
import type { FocusMessage, JingleSession } from './protocol.ts';

/** A bridge's conference-modified for endpoint ep1 (transport, SCTP, feedback sources). */
const allocation = {
  endpoints: [
    {
      id: 'ep1',
      transport: {
        ice: {
          ufrag: 'u',
          pwd: 'p'.repeat(24),
          candidates: [
            {
              component: 1,
              foundation: '1',
              generation: 0,
              id: 'c1',
              network: 0,
              priority: 1,
              protocol: 'udp' as const,
              type: 'host' as const,
              ip: '127.0.0.1',
              port: 10000,
            },
          ],
          fingerprints: [
            { hash: 'sha-256', value: 'AA:BB', setup: 'actpass' as const },
            { hash: 'sha-512', value: 'CC' },
          ],
          webSockets: ['ws://x/colibri-ws/default-id/c/ep1?pwd=z'],
        },
        sctp: { port: 5000, role: 'server' as const },
      },
    },
  ],
  sources: [
    { type: 'audio' as const, id: 'jvb-a0', sources: [{ ssrc: 11, name: 'jvb-a0' }], ssrcGroups: [] },
    { type: 'video' as const, id: 'jvb-v0', sources: [{ ssrc: 22, name: 'jvb-v0' }], ssrcGroups: [] },
  ],
};

describe('Jingle conversions', () => {
  it('builds the offer like Jicofo: audio, video, data, BUNDLE, feedback sources owned by jvb', () => {
    const jingle = buildSessionInitiate(allocation, 'ep1', offerMedia(['VP8']));
    expect(jingle.contents.map((c) => [c.name, c.senders, c.description.media])).toEqual([
      ['audio', 'both', 'audio'],
      ['video', 'both', 'video'],
      ['data', 'both', 'application'],
    ]);
    expect(jingle.groups).toEqual([{ semantics: 'BUNDLE', contents: ['audio', 'video', 'data'] }]);
    expect(jingle.contents[0]?.description.sources).toEqual([{ ssrc: 11, name: 'jvb-a0', owner: 'jvb', msid: 'mixedmslabel mixedlabelaudio0' }]);
    expect(jingle.contents[1]?.description.payloadTypes.map((p) => [p.name, p.id])).toEqual([
      ['VP8', 100],
      ['rtx', 96],
    ]);
    for (const c of jingle.contents) {
      expect(c.transport.fingerprints).toEqual([{ hash: 'sha-256', value: 'AA:BB', setup: 'actpass' }]);
      expect(c.transport.webSockets).toEqual(['ws://x/colibri-ws/default-id/c/ep1?pwd=z']);
      expect(c.description.rtcpMux).toBe(true);
    }
    expect(jingle.contents[2]?.transport.sctpmap).toEqual({ number: 5000, protocol: 'webrtc-datachannel', streams: 1024 });
  });

  it('turns session-accept into the colibri2 update Jicofo sends', () => {
    const accept: JingleSession = {
      groups: [],
      contents: [
        {
          name: 'audio',
          creator: 'responder',
          senders: 'both',
          description: { media: 'audio', payloadTypes: [], rtpHdrExts: [], sources: [{ ssrc: 5, name: 'ep1-a0', msid: 'm a' }], ssrcGroups: [] },
          transport: { ufrag: 'U', pwd: 'P', candidates: [], fingerprints: [{ hash: 'sha-256', value: 'DD:EE', setup: 'active' }] },
        },
        {
          name: 'video',
          creator: 'responder',
          senders: 'both',
          description: {
            media: 'video',
            payloadTypes: [],
            rtpHdrExts: [],
            sources: [
              { ssrc: 7, name: 'ep1-v0', videoType: 'camera' },
              { ssrc: 8, name: 'ep1-v0' },
            ],
            ssrcGroups: [{ semantics: 'FID', ssrcs: [7, 8] }],
          },
          transport: { ufrag: 'U', pwd: 'P', candidates: [], fingerprints: [{ hash: 'sha-256', value: 'DD:EE', setup: 'active' }] },
        },
      ],
    };
    const update = sessionAcceptToColibri2(accept, 'ep1');
    expect(update.transport?.ice?.fingerprints).toEqual([{ hash: 'sha-256', value: 'DD:EE', setup: 'active' }]);
    expect(update.sources).toEqual([
      { type: 'audio', id: 'ep1-a0', sources: [{ ssrc: 5, name: 'ep1-a0', msid: 'm a' }], ssrcGroups: [] },
      {
        type: 'video',
        id: 'ep1-v0',
        sources: [
          { ssrc: 7, name: 'ep1-v0', videoType: 'camera' },
          { ssrc: 8, name: 'ep1-v0' },
        ],
        ssrcGroups: [{ semantics: 'FID', ssrcs: [7, 8] }],
      },
    ]);
  });

  it('parses page messages at the edge and names the bad field', () => {
    expect(parsePageMessage('{"type":"join","displayName":"Ann"}')).toEqual({ ok: true, message: { type: 'join', displayName: 'Ann' } });
    expect(parsePageMessage('nope')).toEqual({ ok: false, error: 'invalid JSON' });
    expect(parsePageMessage('{"type":"fly"}')).toEqual({ ok: false, error: 'unknown message type "fly"' });
    expect(
      parsePageMessage(
        '{"type":"session-accept","jingle":{"contents":[{"name":"audio","description":{"media":"audio","sources":[{"ssrc":-1}]},"transport":{"ufrag":"u","pwd":"p"}}]}}',
      ),
    ).toEqual({
      ok: false,
      error: 'jingle.contents[0].description.sources[0].ssrc must be an integer 0..4294967295',
    });
    expect(parsePageMessage(JSON.stringify({ type: 'join', displayName: 'x'.repeat(100) }))).toEqual({ ok: false, error: 'displayName is longer than 64' });
    expect(parsePageMessage('{"type":"session-terminate","reason":"connectivity-error","restart":true}')).toEqual({
      ok: true,
      message: { type: 'session-terminate', reason: 'connectivity-error', restart: true },
    });
    expect(parsePageMessage('{"type":"session-terminate","restart":"yes"}')).toEqual({ ok: false, error: 'restart must be a boolean' });
    // The presence codec list (LJM `jitsi_participant_codecList`): lower-case names, at most 8.
    expect(parsePageMessage('{"type":"join","displayName":"Ann","codecList":["av1","vp9","vp8"]}')).toEqual({
      ok: true,
      message: { type: 'join', displayName: 'Ann', codecList: ['av1', 'vp9', 'vp8'] },
    });
    expect(parsePageMessage('{"type":"join","codecList":["VP8"]}')).toEqual({ ok: false, error: 'codecList[0]: lower-case letters and digits only' });
    expect(parsePageMessage('{"type":"join","codecList":"vp8"}')).toEqual({ ok: false, error: 'codecList must be an array' });
    expect(parsePageMessage(JSON.stringify({ type: 'join', codecList: Array(9).fill('vp8') }))).toEqual({
      ok: false,
      error: 'codecList has more than 8 items',
    });
    // LJM with `flags.ssrcRewritingEnabled = false`.
    expect(parsePageMessage('{"type":"join","displayName":"Ann","ssrcRewriting":false}')).toEqual({
      ok: true,
      message: { type: 'join', displayName: 'Ann', ssrcRewriting: false },
    });
    expect(parsePageMessage('{"type":"join","ssrcRewriting":true}')).toEqual({ ok: true, message: { type: 'join', displayName: '' } });
    expect(parsePageMessage('{"type":"join","ssrcRewriting":"no"}')).toEqual({ ok: false, error: 'ssrcRewriting must be a boolean' });
  });
});

describe('source signalling without SSRC rewriting (Jicofo SourceSignaling, strip-simulcast)', () => {
  const video: MediaSource = {
    type: 'video',
    id: 'ep2-v0',
    sources: [1, 2, 3, 11, 12, 13].map((ssrc) => ({ ssrc, name: 'ep2-v0', msid: 'stream track', videoType: 'camera' })),
    ssrcGroups: [
      { semantics: 'SIM', ssrcs: [1, 2, 3] },
      { semantics: 'FID', ssrcs: [1, 11] },
      { semantics: 'FID', ssrcs: [2, 12] },
      { semantics: 'FID', ssrcs: [3, 13] },
    ],
  };
  const audio: MediaSource = { type: 'audio', id: 'ep2-a0', sources: [{ ssrc: 7, name: 'ep2-a0', msid: 'stream audio' }], ssrcGroups: [] };

  it('strips simulcast to the first SIM SSRC and its FID partner', () => {
    expect(stripSimulcast(video)).toEqual({
      type: 'video',
      id: 'ep2-v0',
      sources: [1, 11].map((ssrc) => ({ ssrc, name: 'ep2-v0', msid: 'stream track', videoType: 'camera' })),
      ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 11] }],
    });
    expect(stripSimulcast(audio)).toEqual(audio);
  });

  it('writes sources as Jingle contents with their owner, and the offer carries them after the bridge feedback sources', () => {
    const contents = remoteSourcesToJingle(new Map([['ep2', [audio, video]]]));
    expect(contents).toEqual([
      { media: 'audio', sources: [{ ssrc: 7, name: 'ep2-a0', msid: 'stream audio', owner: 'ep2' }], ssrcGroups: [] },
      {
        media: 'video',
        sources: [1, 11].map((ssrc) => ({ ssrc, name: 'ep2-v0', msid: 'stream track', videoType: 'camera', owner: 'ep2' })),
        ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 11] }],
      },
    ]);
    const jingle = buildSessionInitiate(allocation, 'ep1', offerMedia(['VP8']), contents);
    expect(jingle.contents[1]?.description.sources.map((s) => [s.ssrc, s.owner])).toEqual([
      [22, 'jvb'],
      [1, 'ep2'],
      [11, 'ep2'],
    ]);
    expect(jingle.contents[1]?.description.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [1, 11] }]);
  });
});

describe('focus socket', () => {
  let bridge: RunningBridge;
  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(async () => {
    await bridge?.close();
  });

  function open(path: string): Promise<{ ws: WebSocket; next: () => Promise<FocusMessage> }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${bridge.publicPort}${path}`);
      const queue: FocusMessage[] = [];
      const waiting: ((m: FocusMessage) => void)[] = [];
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as FocusMessage;
        const w = waiting.shift();
        if (w) w(m);
        else queue.push(m);
      });
      const next = (): Promise<FocusMessage> => {
        const m = queue.shift();
        return m ? Promise.resolve(m) : new Promise((r) => waiting.push(r));
      };
      ws.once('open', () => resolve({ ws, next }));
      ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  it('refuses a bad room name with 400', async () => {
    await expect(open('/focus/bad%20room')).rejects.toThrow('HTTP 400');
  });

  it('answers bad input with an error and keeps the session', async () => {
    const { ws, next } = await open('/focus/unit-room');
    ws.send('garbage');
    expect(await next()).toEqual({ type: 'error', message: 'invalid JSON' });
    ws.send(JSON.stringify({ type: 'source-update', jingle: { contents: [] } }));
    expect(await next()).toEqual({ type: 'error', message: 'join first' });
    ws.send(JSON.stringify({ type: 'join', displayName: 'Ann' }));
    const room = await next();
    expect(room).toMatchObject({ type: 'room', room: 'unit-room', participants: [] });
    const offer = await next();
    expect(offer.type).toBe('session-initiate');
    const endpointId = room.type === 'room' ? room.endpointId : '';
    const conference = bridge.videobridge.conferences().find((c) => c.endpoint(endpointId));
    expect(conference).toBeDefined();
    // Two primary SSRCs and no SIM group: the bridge refuses, nothing changes.
    const bad: JingleSession = {
      groups: [],
      contents: [
        {
          name: 'video',
          creator: 'responder',
          senders: 'both',
          description: {
            media: 'video',
            payloadTypes: [],
            rtpHdrExts: [],
            sources: [
              { ssrc: 1, name: `${endpointId}-v0` },
              { ssrc: 2, name: `${endpointId}-v0` },
            ],
            ssrcGroups: [],
          },
          transport: { ufrag: 'u', pwd: 'p', candidates: [], fingerprints: [] },
        },
      ],
    };
    ws.send(JSON.stringify({ type: 'source-update', jingle: bad }));
    const err = await next();
    expect(err).toMatchObject({ type: 'error' });
    expect(err.type === 'error' && err.message).toContain('2 primary SSRCs and no SIM group');
    expect(conference?.endpoint(endpointId)?.sources).toEqual([]);
    ws.close();
    for (let i = 0; i < 50 && conference?.endpoint(endpointId); i++) await new Promise((r) => setTimeout(r, 20));
    expect(conference?.endpoint(endpointId)).toBeUndefined();
  });

  it("carries each participant's codec list to the others, as MUC presence does", async () => {
    const ann = await open('/focus/codec-room');
    ann.ws.send(JSON.stringify({ type: 'join', displayName: 'Ann', codecList: ['av1', 'vp9', 'vp8', 'h264'] }));
    expect(await ann.next()).toMatchObject({ type: 'room', participants: [] });
    expect((await ann.next()).type).toBe('session-initiate');
    const bo = await open('/focus/codec-room');
    bo.ws.send(JSON.stringify({ type: 'join', displayName: 'Bo', codecList: ['vp8', 'av1', 'vp9'] }));
    expect(await bo.next()).toMatchObject({ type: 'room', participants: [{ displayName: 'Ann', codecList: ['av1', 'vp9', 'vp8', 'h264'] }] });
    expect(await ann.next()).toMatchObject({ type: 'participant-joined', participant: { displayName: 'Bo', codecList: ['vp8', 'av1', 'vp9'] } });
    ann.ws.close();
    bo.ws.close();
  });
});
