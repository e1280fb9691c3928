/**
 * End to end: bridge-channel traffic between participants of one room on two bridges, as with JVB
 * (EndpointMessageTransport.java on the sender's bridge, RelayMessageTransport.kt on the other). The standalone
 * cascade of test/e2e/cascade.test.ts places Ada and Cy on bridge `eu`, Bob on bridge `us`, and links the bridges by
 * a relay. Through the page's test hook (`window.octobridge.send`, `.received`):
 *  - an `EndpointMessage` to one endpoint crosses the relay both ways, to that endpoint only, `from` set by the
 *    sender's bridge (a `from` the client wrote is overwritten);
 *  - a broadcast reaches the other bridge's participants and the local one, once each;
 *  - `EndpointStats` cross the relay too (and reach the local participant).
 * Audio-only pages keep three browsers light on two cores.
 */
import { describe, expect, it } from 'vitest';
import { useCascadeBridges } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { until } from '../helpers/media.ts';

const { us, eu } = useCascadeBridges();

type Received = { colibriClass: string; from?: string; to?: string; [k: string]: unknown }[];

/** Open the page as `name` in `region`, with its bridge channel open; its endpoint id. */
async function join(name: string, region: string): Promise<{ peer: BrowserPeer; id: string }> {
  const peer = eu.track(await openPeer(`http://127.0.0.1:${eu.bridge.publicPort}/relay-messages?name=${name}&region=${region}&video=0`));
  const id = (await until(`${name} id`, peer, () => peer.evaluate<string | null>('window.octobridge.endpointId'), Boolean)) as string;
  await until(`${name}'s bridge channel`, peer, () => peer.evaluate<boolean>('window.octobridge.channelOpen'), Boolean);
  return { peer, id };
}

/** What `peer` received of `cls`. */
function receivedOf(peer: BrowserPeer, cls: string): Promise<Received> {
  return peer.evaluate<Received>(`window.octobridge.received.filter((m) => m.colibriClass === ${JSON.stringify(cls)})`);
}

async function send(peer: BrowserPeer, message: Record<string, unknown>): Promise<void> {
  expect(await peer.evaluate(`window.octobridge.send(${JSON.stringify(message)})`)).toBe(true);
}

describe('bridge-channel messages across a relay', () => {
  it('EndpointMessage to one endpoint and broadcast, and EndpointStats, reach the participants of the other bridge', async () => {
    const [ada, bob, cy] = [await join('Ada', 'eu'), await join('Bob', 'us'), await join('Cy', 'eu')];
    const euConf = eu.bridge.videobridge.conferences()[0]!;
    const usConf = us.bridge.videobridge.conferences()[0]!;
    expect(euConf.endpoint(ada.id) && euConf.endpoint(cy.id) && usConf.endpoint(bob.id)).toBeTruthy();
    // The focus lists each bridge's participants in the other's relay; its channel is up.
    const linked = async (): Promise<boolean> => {
      const [e, u] = [euConf.relays()[0], usConf.relays()[0]];
      return !!e && !!u && e.hasEndpoint(bob.id) && u.hasEndpoint(ada.id) && u.hasEndpoint(cy.id) && e.media.open && u.media.open;
    };
    await until('the relay between eu and us', ada.peer, linked, Boolean);

    // One to one, both ways across the relay; the bridge writes `from`.
    await send(ada.peer, { colibriClass: 'EndpointMessage', to: bob.id, from: 'someone-else', msgPayload: { hello: 'Bob' } });
    await send(bob.peer, { colibriClass: 'EndpointMessage', to: ada.id, msgPayload: { hello: 'Ada' } });
    const atBob = await until(
      'Ada → Bob',
      bob.peer,
      () => receivedOf(bob.peer, 'EndpointMessage'),
      (l) => l.length >= 1,
    );
    expect(atBob).toEqual([{ colibriClass: 'EndpointMessage', to: bob.id, from: ada.id, msgPayload: { hello: 'Bob' } }]);
    const atAda = await until(
      'Bob → Ada',
      ada.peer,
      () => receivedOf(ada.peer, 'EndpointMessage'),
      (l) => l.length >= 1,
    );
    expect(atAda).toEqual([{ colibriClass: 'EndpointMessage', to: ada.id, from: bob.id, msgPayload: { hello: 'Ada' } }]);

    // Broadcasts: Bob's reaches Ada and Cy over the relay; Cy's reaches Ada here and Bob over the relay.
    await send(bob.peer, { colibriClass: 'EndpointMessage', to: '', msgPayload: { all: 'from Bob' } });
    await send(cy.peer, { colibriClass: 'EndpointMessage', to: '', msgPayload: { all: 'from Cy' } });
    // Stats from each bridge.
    await send(bob.peer, { colibriClass: 'EndpointStats', connectionQuality: 97.5, jvbRTT: 12 });
    await send(ada.peer, { colibriClass: 'EndpointStats', connectionQuality: 88, bitrate: { upload: 32 } });
    const settled = (p: BrowserPeer, messages: number, stats: number) => async () =>
      (await receivedOf(p, 'EndpointMessage')).length >= messages && (await receivedOf(p, 'EndpointStats')).length >= stats;
    await until('Ada: messages from Bob and Cy, stats from Bob', ada.peer, settled(ada.peer, 3, 1), Boolean);
    await until('Bob: messages from Ada and Cy, stats from Ada', bob.peer, settled(bob.peer, 2, 1), Boolean);
    await until('Cy: a message from Bob, stats from both', cy.peer, settled(cy.peer, 1, 2), Boolean);
    // Time for a duplicate (or the 1:1 messages going astray) to show.
    await new Promise((r) => setTimeout(r, 500));

    const payloads = async (p: BrowserPeer) => (await receivedOf(p, 'EndpointMessage')).map((m) => [m.from, m.to, m.msgPayload]);
    expect(await payloads(ada.peer)).toEqual(
      expect.arrayContaining([
        [bob.id, ada.id, { hello: 'Ada' }],
        [bob.id, '', { all: 'from Bob' }],
        [cy.id, '', { all: 'from Cy' }],
      ]),
    );
    expect(await payloads(ada.peer)).toHaveLength(3);
    expect(await payloads(bob.peer)).toEqual(
      expect.arrayContaining([
        [ada.id, bob.id, { hello: 'Bob' }],
        [cy.id, '', { all: 'from Cy' }],
      ]),
    );
    expect(await payloads(bob.peer)).toHaveLength(2);
    expect(await payloads(cy.peer)).toEqual([[bob.id, '', { all: 'from Bob' }]]);

    expect(await receivedOf(ada.peer, 'EndpointStats')).toEqual([{ colibriClass: 'EndpointStats', from: bob.id, connectionQuality: 97.5, jvbRTT: 12 }]);
    expect(await receivedOf(bob.peer, 'EndpointStats')).toEqual([
      { colibriClass: 'EndpointStats', from: ada.id, connectionQuality: 88, bitrate: { upload: 32 } },
    ]);
    const atCy = await receivedOf(cy.peer, 'EndpointStats');
    expect(atCy.map((m) => m.from).sort()).toEqual([ada.id, bob.id].sort());
  }, 60_000);
});
