/**
 * End to end: real headless Chromium instances (Debian's chromium, fake camera and mic) join one
 * room through the standalone page, served by a real octobridge on a real mediasoup worker.
 * The page builds the offer exactly as lib-jitsi-meet builds it from Jingle (no a=ice-lite), so
 * this also proves the worker's ICE-controlling nomination (native patch 0011). Checks decoded video, received audio, the SSRCs
 * against the source maps, the bridge channel over SCTP and colibri-ws, join/leave.
 */
import { describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, until } from '../helpers/media.ts';

const fixture = useTestBridge();

/** Small video keeps three encoders and six decoders within 2 cores. */
const MEDIA = 'width=320&height=180&fps=15';

async function join(room: string, name: string, extra = ''): Promise<BrowserPeer> {
  const peer = await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${MEDIA}${extra}`);
  fixture.track(peer);
  return peer;
}

/** The page's test hook. */
interface Hook {
  endpointId: string | null;
  channelOpen: boolean;
  channelKind: string;
  offerSdp: string | null;
  received: { colibriClass: string; [k: string]: unknown }[];
  sourceMaps: { audio: { ssrc: number; owner: string; source: string }[]; video: { ssrc: number; owner: string; source: string }[] };
  tiles(): { owner: string; source: string; displayName: string; ssrc: number }[];
  send(m: object): boolean;
}

async function hook<T>(peer: BrowserPeer, fn: (h: Hook) => T): Promise<T> {
  return peer.evaluate<T>(`(${fn.toString()})(window.octobridge)`);
}

describe('standalone room', () => {
  it('rejects a bad room name with 400 and serves the page for a good one', async () => {
    const bad = await fetch(`http://127.0.0.1:${fixture.bridge.publicPort}/bad%20room!`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: expect.stringContaining('invalid room name') });
    const good = await fetch(`http://127.0.0.1:${fixture.bridge.publicPort}/good-room`);
    expect(good.status).toBe(200);
    expect(await good.text()).toContain('<script type="module" src="/page/app.js">');
    const lib = await fetch(`http://127.0.0.1:${fixture.bridge.publicPort}/lib/sdp-transform.js`);
    expect(await lib.text()).toContain('export default');
  });

  it('two, then three browsers see and hear each other; a leaver is removed', async () => {
    const room = 'e2e-room';
    const alice = await join(room, 'Alice');
    const bob = await join(room, 'Bob');

    // The offer is lib-jitsi-meet's: no ice-lite, actpass, BUNDLE of audio, video and data.
    const offer = (await hook(alice, (h) => h.offerSdp)) ?? '';
    expect(offer).not.toContain('a=ice-lite');
    expect(offer).toContain('a=setup:actpass');
    expect(offer).toMatch(/a=group:BUNDLE 0 1 2\r\n/);
    expect(offer).toMatch(/m=audio 9 UDP\/TLS\/RTP\/SAVPF 111/);
    // Jicofo's default video codecs (jicofo CodecUtil order), each with its RTX.
    expect(offer).toMatch(/m=video 9 UDP\/TLS\/RTP\/SAVPF 41 100 107 101 42 96 99 97\r\n/);
    expect(offer).toContain('m=application 9 UDP/DTLS/SCTP webrtc-datachannel');
    expect(offer).toContain(`a=ssrc:${String(fixture.bridge.videobridge.conferences()[0]?.localAudioSsrc)} msid:mixedmslabel mixedlabelaudio0`);

    await expectMediaFrom(alice, 1);
    await expectMediaFrom(bob, 1);
    for (const [p, other] of [
      [alice, 'Bob'],
      [bob, 'Alice'],
    ] as const) {
      expect((await hook(p, (h) => h.tiles())).map((t) => t.displayName)).toEqual([other]);
      const hello = await hook(p, (h) => h.received.find((m) => m.colibriClass === 'ServerHello'));
      expect(hello).toBeDefined();
      expect(await hook(p, (h) => h.channelKind)).toBe('sctp');
    }

    // Header extensions arrive with the ids the client negotiated (Jicofo's numbering, worker
    // patch 0004): ssrc-audio-level (id 1) on audio, and no audio level on video, where
    // mediasoup's internal id 1 (sdes:mid) would otherwise be read as one.
    const levels = await until(
      'audio levels',
      alice,
      () =>
        alice.page.evaluate(() => {
          const pc = (window as unknown as { octobridge: { pc: RTCPeerConnection } }).octobridge.pc;
          return pc.getReceivers().flatMap((r) => r.getSynchronizationSources().map((s) => ({ kind: r.track.kind, level: s.audioLevel })));
        }),
      (l) => l.some((x) => x.kind === 'audio' && typeof x.level === 'number'),
    );
    expect(levels.filter((x) => x.kind === 'video').every((x) => x.level === undefined)).toBe(true);

    const carol = await join(room, 'Carol', '&channel=ws');
    await expectMediaFrom(carol, 2);
    await expectMediaFrom(alice, 2);
    await expectMediaFrom(bob, 2);
    expect(await hook(carol, (h) => h.channelKind)).toBe('ws');
    for (const p of [alice, bob, carol]) {
      expect((await hook(p, (h) => h.tiles())).length).toBe(2);
    }

    // EndpointMessage over SCTP (Alice) to colibri-ws (Carol), directed and broadcast.
    const ids = { alice: await hook(alice, (h) => h.endpointId), bob: await hook(bob, (h) => h.endpointId), carol: await hook(carol, (h) => h.endpointId) };
    await alice.page.evaluate(`window.octobridge.send({colibriClass:'EndpointMessage', to:'${ids.carol}', msgPayload:{hello:'carol'}})`);
    await carol.page.evaluate(`window.octobridge.send({colibriClass:'EndpointMessage', to:'', msgPayload:{hello:'all'}})`);
    const got = (p: BrowserPeer) => () => hook(p, (h) => h.received.filter((m) => m.colibriClass === 'EndpointMessage'));
    const toCarol = await until('EndpointMessage at Carol', carol, got(carol), (l) => l.length >= 1);
    expect(toCarol[0]).toMatchObject({ from: ids.alice, to: ids.carol, msgPayload: { hello: 'carol' } });
    for (const p of [alice, bob]) {
      const l = await until('broadcast', p, got(p), (x) => x.some((m) => (m.msgPayload as { hello?: string }).hello === 'all'));
      expect(l.find((m) => (m.msgPayload as { hello?: string }).hello === 'all')).toMatchObject({ from: ids.carol, to: '' });
    }
    expect((await got(bob)()).some((m) => (m.msgPayload as { hello?: string }).hello === 'carol')).toBe(false);

    // Bob closes his tab: the focus expires his endpoint, the others drop his tile.
    const conference = fixture.bridge.videobridge.conferences().find((c) => c.endpoint(ids.alice ?? ''));
    expect(conference?.endpointCount).toBe(3);
    await bob.page.close({ runBeforeUnload: true });
    for (const p of [alice, carol]) {
      await until(
        'Bob gone',
        p,
        () => hook(p, (h) => h.tiles().map((t) => t.displayName)),
        (names) => !names.includes('Bob') && names.length === 1,
      );
    }
    await until(
      'bridge expired Bob',
      alice,
      async () => conference?.endpointCount,
      (n) => n === 2,
    );
    expect(conference?.endpoint(ids.bob ?? '')).toBeUndefined();
    // Media between the two who stayed keeps flowing.
    await expectMediaFrom(alice, 1);
  });
});
