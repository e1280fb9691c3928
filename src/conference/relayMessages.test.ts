/**
 * EndpointMessage and EndpointStats across relays, against three real bridges linked in a full mesh as Jicofo links
 * them (src/focus/relays.ts `linkByRelay`), with colibri-ws endpoints (no browser): JVB EndpointMessageTransport.java
 * on the sender's bridge, RelayMessageTransport.kt on the others.
 *  - one to an endpoint behind a relay reaches it, with `from` the sender; a broadcast and stats reach every other
 *    endpoint of the mesh exactly once (no bridge sends on what came over a relay: no loop, no duplicate);
 *  - a visitor's messages go nowhere, and are counted as rejected;
 *  - a flooding endpoint is limited on its own bridge, before its messages go out on the relays.
 * And AddReceiver (JVB `RelayMessageTransport.kt`): the other bridge says it once, so one for a local source not
 * signalled yet is kept until it is (its bridge may hear of the source from Jicofo first, and a source is between two
 * producers while produced again for its sender's codec); one for a source behind the relay is refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningBridge } from '../bridge.ts';
import { linkByRelay } from '../focus/relays.ts';
import { relayReceiverKey } from './Relay.ts';
import { allocate, JICOFO_MEDIA, sessionAccept, updateRelayEndpointsRequest } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';

/** Bridges a, b, c (relay ids jvb-a ...), each with 50 channel messages per second per endpoint. */
const bridges: Record<'a' | 'b' | 'c', RunningBridge> = {} as never;
beforeAll(async () => {
  for (const name of ['a', 'b', 'c'] as const) {
    bridges[name] = await startTestBridge({
      ENABLE_OCTO: '1',
      JVB_OCTO_REGION: name,
      JVB_OCTO_RELAY_ID: `jvb-${name}`,
      OCTOBRIDGE_FOCUS: '0',
      OCTOBRIDGE_CHANNEL_MESSAGES_PER_SECOND: '50',
    });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(bridges).map((b) => b.close()));
});

/** An endpoint's colibri-ws socket and every message it got. */
interface Client {
  id: string;
  ws: WebSocket;
  received: Record<string, unknown>[];
}

/** Allocate endpoint `id` on `bridge` (ws only) and open its colibri-ws. */
async function join(
  bridge: RunningBridge,
  meetingId: string,
  id: string,
  create: boolean,
  mucRole: 'participant' | 'visitor' = 'participant',
): Promise<Client> {
  const res = await bridge.videobridge.conferenceModify(allocate(meetingId, id, create, { mucRole, transport: { iceControlling: true } }));
  const url = res.endpoints[0]?.transport?.ice.webSockets?.[0];
  if (!url) throw new Error('no web-socket URL');
  const ws = new WebSocket(url);
  const received: Record<string, unknown>[] = [];
  ws.on('message', (data) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { id, ws, received };
}

function ofClass(c: Client, cls: string): Record<string, unknown>[] {
  return c.received.filter((m) => m.colibriClass === cls);
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('endpoint messages across relays', () => {
  it("reach the endpoints of the other bridges once, with from kept; not a visitor's; limited at the sender", async () => {
    const meetingId = randomUUID();
    const a1 = await join(bridges.a, meetingId, 'a1', true);
    const a2 = await join(bridges.a, meetingId, 'a2', false);
    const av = await join(bridges.a, meetingId, 'av', false, 'visitor');
    const b1 = await join(bridges.b, meetingId, 'b1', true);
    const c1 = await join(bridges.c, meetingId, 'c1', true);
    const all = [a1, a2, av, b1, c1];
    await until('ServerHello everywhere', () => all.every((x) => ofClass(x, 'ServerHello').length === 1));

    // Jicofo's full mesh: a–b, a–c, b–c, each relay listing the (non-visitor) endpoints behind it.
    const end = (n: 'a' | 'b' | 'c') => ({ relayId: `jvb-${n}`, client: bridges[n].videobridge });
    const behind = { a: [{ id: 'a1' }, { id: 'a2' }], b: [{ id: 'b1' }], c: [{ id: 'c1' }] };
    await linkByRelay(meetingId, end('a'), end('b'), { a: behind.a, b: behind.b }, JICOFO_MEDIA);
    await linkByRelay(meetingId, end('a'), end('c'), { a: behind.a, b: behind.c }, JICOFO_MEDIA);
    await linkByRelay(meetingId, end('b'), end('c'), { a: behind.b, b: behind.c }, JICOFO_MEDIA);
    const conference = (n: 'a' | 'b' | 'c') => bridges[n].videobridge.conferenceByMeetingId(meetingId)!;
    await until('relay channels up', () =>
      (['a', 'b', 'c'] as const).every(
        (n) =>
          conference(n).relays().length === 2 &&
          conference(n)
            .relays()
            .every((r) => r.media.open),
      ),
    );

    // To one endpoint behind a relay: only it, from the sender; and back the other way.
    a1.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'b1', msgPayload: { n: 1 } }));
    c1.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'a2', from: 'spoofed', msgPayload: { n: 2 }, extra: 'kept' }));
    await until('1:1 messages', () => ofClass(b1, 'EndpointMessage').length === 1 && ofClass(a2, 'EndpointMessage').length === 1);
    expect(ofClass(b1, 'EndpointMessage')[0]).toEqual({ colibriClass: 'EndpointMessage', to: 'b1', from: 'a1', msgPayload: { n: 1 } });
    expect(ofClass(a2, 'EndpointMessage')[0]).toEqual({ colibriClass: 'EndpointMessage', to: 'a2', from: 'c1', msgPayload: { n: 2 }, extra: 'kept' });

    // A broadcast from b1 and stats from c1: every other endpoint of the mesh (the visitor too), once.
    b1.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { n: 3 } }));
    c1.ws.send(JSON.stringify({ colibriClass: 'EndpointStats', bitrate: { upload: 40 }, jvbRTT: 7 }));
    const others = (x: Client) => all.filter((y) => y !== x);
    await until(
      'broadcast and stats',
      () =>
        others(b1).every((x) => ofClass(x, 'EndpointMessage').some((m) => m.from === 'b1')) &&
        others(c1).every((x) => ofClass(x, 'EndpointStats').length === 1),
    );
    for (const x of others(c1))
      expect(ofClass(x, 'EndpointStats'), x.id).toEqual([{ colibriClass: 'EndpointStats', from: 'c1', bitrate: { upload: 40 }, jvbRTT: 7 }]);

    // The visitor's messages go nowhere (JVB drops them), counted as rejected on its bridge.
    const rejected = conference('a').rejectedMessages;
    av.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { n: 4 } }));
    av.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'b1', msgPayload: { n: 5 } }));
    av.ws.send(JSON.stringify({ colibriClass: 'EndpointStats', jvbRTT: 1 }));
    // A message for an endpoint nobody has is dropped as well.
    a1.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'nobody', msgPayload: { n: 6 } }));
    await until('visitor messages rejected', () => conference('a').rejectedMessages === rejected + 3);
    await sleep(300);
    // Nothing more arrived anywhere: no duplicate over the second path of the mesh, nothing from the visitor.
    const counts = Object.fromEntries(all.map((x) => [x.id, [ofClass(x, 'EndpointMessage').length, ofClass(x, 'EndpointStats').length]]));
    expect(counts).toEqual({ a1: [1, 1], a2: [2, 1], av: [1, 1], b1: [1, 1], c1: [1, 0] });

    // A flood from a1 is cut to its own channel's rate (burst 100 + 50/s) before it reaches the relays.
    for (let i = 0; i < 1000; i++) a1.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { flood: i } }));
    await sleep(1000);
    const flood = (x: Client) => ofClass(x, 'EndpointMessage').filter((m) => m.from === 'a1').length;
    expect(flood(c1)).toBeGreaterThanOrEqual(90);
    expect(flood(c1)).toBeLessThan(250);
    expect(flood(b1)).toBe(flood(c1) + 1); // + the 1:1 message
    expect(flood(a2)).toBe(flood(c1));
    expect(conference('a').endpoint('a1')?.channel.counters.rateLimited).toBeGreaterThan(700);

    for (const x of all) x.ws.close();
    for (const n of ['a', 'b', 'c'] as const) await bridges[n].videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });
});

describe('AddReceiver across a relay', () => {
  it('is kept for a local source not signalled yet and dropped by RemoveReceiver; refused for a source behind the relay', async () => {
    const meetingId = randomUUID();
    const x1 = await join(bridges.a, meetingId, 'x1', true);
    const y1 = await join(bridges.b, meetingId, 'y1', true);
    // y1's sources as Jicofo lists them behind the relay on a; x1 is listed on b before it signalled any.
    const ySources = sessionAccept(meetingId, 'y1', 5000).endpoints[0]?.sources ?? [];
    await linkByRelay(
      meetingId,
      { relayId: 'jvb-a', client: bridges.a.videobridge },
      { relayId: 'jvb-b', client: bridges.b.videobridge },
      { a: [{ id: 'x1' }], b: [{ id: 'y1', sources: ySources }] },
      JICOFO_MEDIA,
    );
    const conference = (n: 'a' | 'b') => bridges[n].videobridge.conferenceByMeetingId(meetingId)!;
    await until('relay channels up', () => (['a', 'b'] as const).every((n) => conference(n).relays()[0]?.media.open === true));
    const [onA, onB] = [conference('a').relays()[0]!, conference('b').relays()[0]!];
    const wants = () => conference('a').allocator.state(relayReceiverKey('jvb-b'))?.settings.constraints;

    // b's receivers want x1's camera before a has it: kept, and still there once x1 signals it.
    onB.wantSource('x1-v0', 360);
    await until('AddReceiver kept', () => wants()?.get('x1-v0')?.maxHeight === 360);
    await bridges.a.videobridge.conferenceModify({ meetingId, endpoints: [{ id: 'x1', sources: sessionAccept(meetingId, 'x1').endpoints[0]?.sources ?? [] }] });
    expect(conference('a').allocator.ownerOf('x1-v0')).toBe('x1');
    expect(wants()?.get('x1-v0')).toEqual({ maxHeight: 360, maxFrameRate: -1 });

    // One for y1's camera, which comes to a over this relay: refused.
    const rejected = onA.rejectedMessages;
    onB.wantSource('y1-v0', 180);
    await until('AddReceiver refused', () => onA.rejectedMessages === rejected + 1);
    expect(wants()?.has('y1-v0')).toBe(false);

    // x1 leaves b's relay (Jicofo expires it there): b says RemoveReceiver, and a forgets what b wanted of it.
    await bridges.b.videobridge.conferenceModify(updateRelayEndpointsRequest(meetingId, 'jvb-a', [{ id: 'x1', expire: true }]));
    await until('RemoveReceiver applied', () => wants()?.has('x1-v0') === false);

    for (const x of [x1, y1]) x.ws.close();
    for (const n of ['a', 'b'] as const) await bridges[n].videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });
});
