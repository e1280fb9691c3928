/**
 * End to end: a conference spread over two octobridges joined by a relay (colibri2 `<relay>`, a mediasoup
 * PlainTransport with SCTP per side). Each bridge runs its own standalone room with one Chromium participant; the
 * test plays Jicofo for the relay (bench/lib/jicofo.ts `createRelay`/`setRelayTransport`, from
 * Colibri2Session.kt): create on both, then each answer forwarded to the other.
 *  - Each participant decodes the other's video and hears its audio, with SSRCs from its own bridge's maps.
 *  - What crosses is pulled: the relay carries the layer the other side's receivers want (AddReceiver).
 *  - Errors: relays disabled, unknown relay, a non-octobridge transport; expiring the relay stops the media.
 * This test runs both bridges on loopback; test/e2e/relay-wireguard.test.ts runs them in namespaces over WireGuard.
 */
import { describe, expect, it } from 'vitest';
import type { RunningBridge } from '../../src/bridge.ts';
import type { Conference } from '../../src/conference/Conference.ts';
import { Colibri2Error } from '../../src/colibri2/errors.ts';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, until } from '../helpers/media.ts';
import { createRelayRequest as createRelay, expireRelayRequest as expireRelay, setRelayTransportRequest as setRelayTransport } from '../../bench/lib/jicofo.ts';
import { JICOFO_MEDIA } from '../../bench/lib/jicofo.ts';

const east = useTestBridge({ ENABLE_OCTO: '1', JVB_OCTO_REGION: 'eu', JVB_OCTO_RELAY_ID: 'jvb-eu', OCTOBRIDGE_REST_DEBUG: 'true' });
const west = useTestBridge({ ENABLE_OCTO: '1', JVB_OCTO_REGION: 'us', JVB_OCTO_RELAY_ID: 'jvb-us' });
const plain = useTestBridge();

/** 720p capture at 15 fps: 3 simulcast layers (180/360/720) within 2 cores for two browsers. */
const MEDIA = 'width=1280&height=720&fps=15';

async function join(
  fx: { bridge: RunningBridge; track<T extends { close(): Promise<void> }>(p: T): T },
  room: string,
  name: string,
): Promise<{ peer: BrowserPeer; id: string; conference: Conference }> {
  const peer = fx.track(await openPeer(`http://127.0.0.1:${fx.bridge.publicPort}/${room}?name=${name}&${MEDIA}`));
  const id = (await until(`${name} id`, peer, () => peer.evaluate<string | null>('window.octobridge.endpointId'), Boolean)) as string;
  const conference = await until(`${name}'s conference`, peer, async () => fx.bridge.videobridge.conferences().find((c) => c.endpoint(id)), Boolean);
  // Its sources are signalled (session-accept) before the relay lists them.
  await until(
    `${name}'s sources`,
    peer,
    async () => conference!.endpoint(id)?.sources.length ?? 0,
    (n) => n >= 2,
  );
  return { peer, id, conference: conference! };
}

describe('relay between two octobridges', () => {
  it('participants on two bridges see and hear each other through the relay; expiring it stops that', async () => {
    const a = await join(east, 'cascade', 'Ada');
    const b = await join(west, 'cascade', 'Bob');
    const media = a.conference.endpoint(a.id)!.media;
    const behind = (x: typeof a) => [{ id: x.id, statsId: x.id, sources: x.conference.endpoint(x.id)!.sources }];

    // Jicofo: create the relay on both bridges (east initiates), then hand each answer to the other.
    const resEast = await east.bridge.videobridge.conferenceModify(createRelay(a.conference.meetingId, 'jvb-us', behind(b), true, media));
    const resWest = await west.bridge.videobridge.conferenceModify(createRelay(b.conference.meetingId, 'jvb-eu', behind(a), false, media));
    const answerEast = resEast.relays?.[0]?.transport;
    const answerWest = resWest.relays?.[0]?.transport;
    if (!answerEast || !answerWest) throw new Error('no relay transport in the answers');
    expect(answerEast.ice.fingerprints[0]?.setup).toBe('actpass');
    expect(answerEast.sctp).toEqual({ port: 5000, role: 'server' });
    expect(answerWest.sctp).toEqual({ port: 5000, role: 'client' });
    expect(answerEast.ice.candidates).toHaveLength(1);
    await east.bridge.videobridge.conferenceModify(setRelayTransport(a.conference.meetingId, 'jvb-us', answerWest, true));
    await west.bridge.videobridge.conferenceModify(setRelayTransport(b.conference.meetingId, 'jvb-eu', answerEast, false));

    await expectMediaFrom(a.peer, 1);
    await expectMediaFrom(b.peer, 1);
    // The remote participant's sources are announced by the local bridge, owned by the remote endpoint.
    const tilesA = await a.peer.evaluate<{ owner: string; source: string }[]>('window.octobridge.tiles()');
    expect(tilesA.map((t) => t.source)).toContain(`${b.id}-v0`);
    // Pulled, not pushed: east sends Ada's video over the relay because west's receiver asked for it (180p).
    const relayEast = a.conference.relays()[0]!;
    expect(
      relayEast.media
        .forwardedSources()
        .map((m) => m.source)
        .sort(),
    ).toEqual([`${a.id}-a0`, `${a.id}-v0`]);
    const relayTarget = () => a.conference.allocator.state('relay/jvb-us')?.allocation.sources.find((s) => s.source === `${a.id}-v0`)?.target?.height ?? 0;
    await until(
      'AddReceiver arrived (Bob wants Ada at 180p)',
      a.peer,
      async () => relayTarget(),
      (h) => h === 180,
    );

    // Only the layer the other side needs crosses: Bob puts Ada on stage (720p), then back to a thumbnail.
    const relayKbps = async (): Promise<number> => {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        samples.push((await relayEast.media.traffic()).sendBitrate / 1000);
      }
      return samples.reduce((x, y) => x + y, 0) / samples.length;
    };
    const adaAtBob = async () =>
      b.peer.evaluate<number>(`(async () => { let h = 0; const ssrc = window.octobridge.tiles().find((t) => t.source === ${JSON.stringify(`${a.id}-v0`)})?.ssrc;
        (await window.octobridge.pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.ssrc === ssrc) h = s.frameHeight ?? 0; }); return h; })()`);
    const thumbKbps = await relayKbps();
    await b.peer.evaluate(`window.octobridge.stage(${JSON.stringify(`${a.id}-v0`)})`);
    await until('Ada at 720p on Bob, through the relay', b.peer, adaAtBob, (h) => h === 720, 20_000);
    expect(relayTarget()).toBe(720);
    const stageKbps = await relayKbps();
    await b.peer.evaluate('window.octobridge.stage(null)');
    await until('Ada back at 180p on Bob', b.peer, adaAtBob, (h) => h === 180, 10_000);
    const backKbps = await relayKbps();
    console.log(
      `[relay] east → west: thumbnail ${thumbKbps.toFixed(0)} kbit/s, on stage ${stageKbps.toFixed(0)} kbit/s, thumbnail again ${backKbps.toFixed(0)} kbit/s`,
    );
    expect(stageKbps).toBeGreaterThan(thumbKbps * 2);
    expect(backKbps).toBeLessThan(stageKbps / 2);

    // Fault injection (REST /debug): a 2 s relay outage freezes Bob at Ada, then his video comes back.
    const bobFrames = async () =>
      a.peer.evaluate<number>(`(async () => { let n = 0; const ssrc = window.octobridge.tiles().find((t) => t.source === ${JSON.stringify(`${b.id}-v0`)})?.ssrc;
        (await window.octobridge.pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.ssrc === ssrc) n = s.framesDecoded ?? 0; }); return n; })()`);
    const debug = (path: string) => fetch(`http://127.0.0.1:${east.bridge.privatePort}${path}`, { method: 'POST' });
    expect((await debug('/debug/relays/nope/outage?ms=1000')).status).toBe(404);
    expect((await debug('/debug/relays/jvb-us/outage?ms=0')).status).toBe(400);
    const out = await debug('/debug/relays/jvb-us/outage?ms=2000');
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ relays: 1 });
    await new Promise((r) => setTimeout(r, 500));
    const during0 = await bobFrames();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await bobFrames(), 'no frames from Bob during the outage').toBeLessThanOrEqual(during0 + 1);
    const outageEnd = Date.now() + 500;
    const back = await until('Bob decoding at Ada again', a.peer, bobFrames, (n) => n > during0 + 5, 10_000);
    console.log(`[relay] outage: Bob's video back ${Date.now() - outageEnd} ms after it ended (frames ${during0} → ${back})`);

    // Errors, as JVB: an unknown relay, a second create, a transport that is not an octobridge relay.
    await expect(
      east.bridge.videobridge.conferenceModify({ meetingId: a.conference.meetingId, endpoints: [], relays: [{ id: 'nope', endpoints: [] }] }),
    ).rejects.toMatchObject({ condition: 'bad-request', message: 'Unknown relay nope' });
    await expect(east.bridge.videobridge.conferenceModify(createRelay(a.conference.meetingId, 'jvb-us', [], true, media))).rejects.toMatchObject({
      condition: 'conflict',
    });
    const jvbAnswer = { ...answerWest, ice: { ...answerWest.ice, ufrag: 'k3l2' } };
    await expect(east.bridge.videobridge.conferenceModify(setRelayTransport(a.conference.meetingId, 'jvb-us', jvbAnswer, true))).rejects.toMatchObject({
      condition: 'feature-not-implemented',
    });

    // Expire the relay on east: Bob's sources leave Ada's bridge.
    await east.bridge.videobridge.conferenceModify(expireRelay(a.conference.meetingId, 'jvb-us'));
    expect(a.conference.relays()).toHaveLength(0);
    expect(a.conference.allocator.hasSource(`${b.id}-v0`)).toBe(false);
  }, 120_000);

  it('a bridge with relays disabled refuses <relay> as JVB does', async () => {
    const c = await join(plain, 'solo', 'Cy');
    const err = await plain.bridge.videobridge.conferenceModify(createRelay(c.conference.meetingId, 'jvb-x', [], true, JICOFO_MEDIA)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Colibri2Error);
    expect(err).toMatchObject({ condition: 'feature-not-implemented', message: 'Octo is disabled in configuration.' });
  }, 60_000);
});
