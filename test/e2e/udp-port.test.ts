/**
 * The workers' UDP port, both layouts, with real Chromium clients on two workers of one bridge:
 * - `single` (the default): every worker receives on one port (SO_REUSEPORT). Worker patch 0017 steers a STUN
 *   Binding request to the worker its ICE username fragment's first character names, and connects a socket of that
 *   worker to the remote address ICE accepts; the clients (Chromium, then Firefox as well), given one port in every
 *   candidate, reach the right worker and decode each other;
 * - `per-worker`: worker i on the port + i, each endpoint's candidates on its worker's port.
 *
 * The conference is forced across the workers by a low per-worker consumer threshold, as in worker-pool.test.ts:
 * Alice and Bob on one worker, Carol on the other. Then, with one port, the worker whose socket is first in the
 * port's group is killed: the kernel moves the other socket to its place, whose worker takes its username-fragment
 * character, and the replacement's socket joins at the end; the relocated clients and a newcomer, on the survivor
 * and the replacement, all connect.
 */
import { describe, expect, it } from 'vitest';
import { openPeer } from '../../bench/lib/chromium.ts';
import { useTestBridge } from '../helpers/bridge.ts';
import { firefoxPagePeer, openFirefoxPeer } from '../helpers/firefox.ts';
import { expectMediaFrom, type PagePeer, until } from '../helpers/media.ts';

const MEDIA = 'width=320&height=180&fps=15';

describe.each(['single', 'per-worker'] as const)('UDP port mode %s', (mode) => {
  const fixture = useTestBridge({ OCTOBRIDGE_WORKERS: '2', OCTOBRIDGE_WORKER_CONFERENCE_CONSUMERS: '2', OCTOBRIDGE_UDP_PORT_MODE: mode });
  const joined: { peer: PagePeer; id: string }[] = [];

  async function join(name: string, browser: 'chromium' | 'firefox' = 'chromium'): Promise<{ peer: PagePeer; id: string }> {
    const url = `http://127.0.0.1:${fixture.bridge.publicPort}/udp-${mode}?name=${name}&${MEDIA}`;
    const peer: PagePeer = browser === 'chromium' ? fixture.track(await openPeer(url)) : firefoxPagePeer(fixture.track(await openFirefoxPeer(url)), name);
    // The page learns its id from the focus, before the bridge has made the endpoint.
    const id = await until(
      `${name} in the conference`,
      peer,
      async () => {
        const id = await peer.evaluate<string | null>('window.octobridge.endpointId');
        return id && fixture.bridge.videobridge.conferences().some((c) => c.endpoint(id)) ? id : undefined;
      },
      (v) => !!v,
    );
    return { peer, id: id as string };
  }

  it('two workers, endpoints on both, every client decodes the others', async () => {
    const media = fixture.bridge.media;
    expect(media.udpPortMode).toBe(mode);
    expect(media.udpPortProblem).toBeUndefined();
    const ports = media.workers.map((w) => w.udpPort);
    // (JVB_PORT 0 in tests: a free port; per worker, each its own.)
    expect(new Set(ports).size).toBe(mode === 'single' ? 1 : 2);

    const alice = await join('Alice');
    const bob = await join('Bob');
    await expectMediaFrom(alice.peer, 1);
    const carol = await join('Carol');
    for (const p of [alice, bob, carol]) await expectMediaFrom(p.peer, 2);

    const conference = fixture.bridge.videobridge.conferences()[0]!;
    const slotOf = (id: string) => conference.endpoint(id)!.mediaEndpoint.slot;
    expect(slotOf(alice.id)).toBe(slotOf(bob.id));
    expect(slotOf(carol.id)).not.toBe(slotOf(alice.id));
    for (const p of [alice, bob, carol]) {
      const slot = slotOf(p.id);
      const local = conference.endpoint(p.id)!.mediaEndpoint.localTransport(['127.0.0.1']);
      // Each candidate is on the worker's port (one port for all in single mode) ...
      expect(local.candidates.map((c) => c.port)).toEqual([slot.udpPort]);
      // ... and in single mode the username fragment names the worker the port steers to.
      if (mode === 'single') expect(local.ufrag[0]).toBe(slot.iceUfragPrefix);
      else expect(slot.iceUfragPrefix).toBeUndefined();
    }
    joined.push(alice, bob, carol);
    if (mode !== 'single') return;
    // Firefox (nICEr: its own STUN attribute order) through the one port too.
    const fox = await join('Fox', 'firefox');
    await expectMediaFrom(fox.peer, 3);
    for (const p of joined) await expectMediaFrom(p.peer, 3);
    joined.push(fox);
  });

  it.runIf(mode === 'single')(
    'the first worker of the port dies: the last one takes its place, the replacement joins at the end, and clients on both connect',
    async () => {
      const media = fixture.bridge.media;
      const victim = media.workers.find((w) => w.iceUfragPrefix === 'A')!;
      const survivor = media.workers.find((w) => w !== victim)!;
      expect(survivor.iceUfragPrefix).toBe('B');
      process.kill(victim.worker.pid, 'SIGKILL');
      const replacement = await until(
        'a replacement worker',
        joined[0]!.peer,
        async () => media.workers.find((w) => w.index === victim.index && w !== victim && w.alive),
        (w) => w !== undefined,
      );
      // The kernel moved the survivor's socket to index 0 of the group; the replacement's is at index 1.
      expect([survivor.iceUfragPrefix, replacement!.iceUfragPrefix]).toEqual(['A', 'B']);
      for (const p of joined) await expectMediaFrom(p.peer, 3);
      // The relocated clients went to the survivor, or to the replacement if it was up first (both are steered by
      // their new characters): a newcomer goes to the other one, since the conference fills a worker first. Either
      // way there are clients on both.
      const dave = await join('Dave');
      const conference = fixture.bridge.videobridge.conferences()[0]!;
      const slots = [...joined, dave].map((p) => conference.endpoint(p.id)!.mediaEndpoint.slot);
      expect(new Set(slots)).toEqual(new Set([survivor, replacement]));
      const daves = conference.endpoint(dave.id)!.mediaEndpoint;
      expect(daves.localTransport(['127.0.0.1']).ufrag[0]).toBe(daves.slot.iceUfragPrefix);
      await expectMediaFrom(dave.peer, 4);
      for (const p of joined) await expectMediaFrom(p.peer, 4);
    },
  );
});
