/**
 * End to end: the standalone cascade. Bridge `eu` runs the embedded focus with bridge `us` in its
 * `octobridge.focus.cascade`, reached over us's colibri2 REST API (as Jicofo would reach it over XMPP). A page with
 * `?region=us` is placed on us, one with `?region=eu` on eu; the focus links the two conferences by a relay exactly
 * as Jicofo does (src/focus/relays.ts) and keeps the participants behind it up to date. Both bridges run on
 * loopback in this process; test/e2e/relay-wireguard.test.ts runs them in namespaces over WireGuard.
 */
import { describe, expect, it } from 'vitest';
import { useCascadeBridges } from '../helpers/bridge.ts';
import { openPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, until } from '../helpers/media.ts';

const { us, eu } = useCascadeBridges();

const MEDIA = 'width=640&height=360&fps=15';

describe('standalone cascade over two bridges', () => {
  it('places participants by region, links the bridges by a relay, and unlinks them when a bridge empties', async () => {
    const page = (name: string, region: string) => `http://127.0.0.1:${eu.bridge.publicPort}/cascade-room?name=${name}&region=${region}&${MEDIA}`;
    const ada = eu.track(await openPeer(page('Ada', 'eu')));
    const bob = eu.track(await openPeer(page('Bob', 'us')));
    const adaId = (await until('Ada id', ada, () => ada.evaluate<string | null>('window.octobridge.endpointId'), Boolean)) as string;
    const bobId = (await until('Bob id', bob, () => bob.evaluate<string | null>('window.octobridge.endpointId'), Boolean)) as string;

    await expectMediaFrom(ada, 1);
    await expectMediaFrom(bob, 1);
    // Each is on its region's bridge; each bridge relays to the other.
    const euConf = eu.bridge.videobridge.conferences()[0]!;
    const usConf = us.bridge.videobridge.conferences()[0]!;
    expect(euConf.endpoint(adaId)).toBeDefined();
    expect(usConf.endpoint(bobId)).toBeDefined();
    expect(euConf.meetingId).toBe(usConf.meetingId);
    expect(euConf.relays().map((r) => [r.id, r.endpointIds()])).toEqual([['jvb-us', [bobId]]]);
    expect(usConf.relays().map((r) => [r.id, r.endpointIds()])).toEqual([['jvb-eu', [adaId]]]);

    // Bob leaves: us empties, its relay and conference go; eu's relay goes too.
    await bob.close();
    await until(
      'us conference expired',
      ada,
      async () => us.bridge.videobridge.conferences().length,
      (n) => n === 0,
    );
    await until(
      'eu relay expired',
      ada,
      async () => euConf.relays().length,
      (n) => n === 0,
    );
    expect(euConf.allocator.hasSource(`${bobId}-v0`)).toBe(false);
  }, 120_000);

  it('a VP9 sender (not first in the offer) is decoded across the relay: each bridge forwards the codec it receives', async () => {
    const page = (name: string, region: string, extra: string) =>
      `http://127.0.0.1:${eu.bridge.publicPort}/cascade-vp9?name=${name}&region=${region}&${MEDIA}${extra}`;
    const ada = eu.track(await openPeer(page('Ada', 'eu', '&codec=VP9')));
    const bob = eu.track(await openPeer(page('Bob', 'us', '&video=0')));
    // Bob, behind the relay, decodes Ada's video in VP9, its frames growing.
    const decoded = (): Promise<{ codec: string; frames: number }[]> =>
      bob.evaluate(`(async () => {
        const out = [];
        const pc = window.octobridge && window.octobridge.pc;
        if (!pc) return out;
        const stats = await pc.getStats();
        stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') out.push({ codec: stats.get(s.codecId)?.mimeType ?? '', frames: s.framesDecoded ?? 0 }); });
        return out;
      })()`);
    const first = await until('Bob decodes VP9', bob, decoded, (l) => l.some((x) => x.codec === 'video/VP9' && x.frames > 0), 40_000);
    const before = first.filter((x) => x.codec === 'video/VP9').reduce((n, x) => n + x.frames, 0);
    await until('VP9 frames keep growing at Bob', bob, decoded, (l) => l.filter((x) => x.codec === 'video/VP9').reduce((n, x) => n + x.frames, 0) > before + 5);
    await ada.close();
    await bob.close();
  }, 120_000);

  it('participants without SSRC rewriting get each other on the senders’ own SSRCs across the relay', async () => {
    const page = (name: string, region: string) =>
      `http://127.0.0.1:${eu.bridge.publicPort}/cascade-plain?name=${name}&region=${region}&${MEDIA}&ssrcRewriting=0`;
    const ada = eu.track(await openPeer(page('Ada', 'eu')));
    const bob = eu.track(await openPeer(page('Bob', 'us')));
    await expectMediaFrom(ada, 1, 'signalled');
    await expectMediaFrom(bob, 1, 'signalled');
    // Each receives the other's first SIM SSRC, the one the focus signalled (Jicofo strips simulcast).
    const firstSim = (p: typeof ada, sdp: 'localDescription' | 'remoteDescription') =>
      p.evaluate<string>(`window.octobridge.pc.${sdp}.sdp`).then((s) => [...s.matchAll(/a=ssrc-group:SIM (\d+)/g)].map((m) => Number(m[1])));
    const inbound = (p: typeof ada) =>
      p.evaluate<number[]>(`(async () => { const out = []; (await window.octobridge.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.packetsReceived > 0) out.push(s.ssrc); }); return out; })()`);
    expect(await inbound(bob)).toEqual(await firstSim(ada, 'localDescription'));
    expect(await inbound(ada)).toEqual(await firstSim(bob, 'localDescription'));
    await ada.close();
    await bob.close();
  }, 120_000);
});
