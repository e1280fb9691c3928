/**
 * The bridge channel over colibri-ws against a real bridge: URL checks (404/403 as
 * ColibriWebSocketServlet.java), ServerHello on connect, EndpointMessage routing with `from`,
 * EndpointStats relay, malformed input dropped without harm, replacement of a socket, and
 * close code 1001 when the endpoint expires.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningBridge } from '../bridge.ts';
import { allocate, expireEndpoints } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';

let bridge: RunningBridge;
beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
});
afterAll(async () => {
  await bridge?.close();
});

/** A websocket that records every JSON message it gets. */
interface Client {
  ws: WebSocket;
  received: Record<string, unknown>[];
  next(cls: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function connect(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const received: Record<string, unknown>[] = [];
    const waiters: { cls: string; resolve: (m: Record<string, unknown>) => void }[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      received.push(m);
      const i = waiters.findIndex((w) => w.cls === m.colibriClass);
      if (i >= 0) waiters.splice(i, 1)[0]?.resolve(m);
    });
    const next = (cls: string, timeoutMs = 3000): Promise<Record<string, unknown>> => {
      const seen = received.find((m) => m.colibriClass === cls);
      if (seen) {
        received.splice(received.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no ${cls} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          cls,
          resolve: (m) => {
            clearTimeout(timer);
            received.splice(received.indexOf(m), 1);
            res(m);
          },
        });
      });
    };
    ws.once('open', () => resolve({ ws, received, next }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function endpointUrl(meetingId: string, id: string, create: boolean): Promise<string> {
  const res = await bridge.videobridge.conferenceModify(allocate(meetingId, id, create, { transport: { iceControlling: true } }));
  const url = res.endpoints[0]?.transport?.ice.webSockets?.[0];
  if (!url) throw new Error('no web-socket URL');
  return url;
}

describe('colibri-ws', () => {
  it('checks the URL like JVB: 404 for a wrong server id or path, 403 for a wrong pwd or unknown endpoint', async () => {
    const meetingId = randomUUID();
    const url = await endpointUrl(meetingId, 'aaaa0001', true);
    await expect(connect(url.replace('/default-id/', '/other-id/'))).rejects.toThrow('HTTP 404');
    await expect(connect(url.replace(/\?pwd=.*/, '?pwd=wrong'))).rejects.toThrow('HTTP 403');
    await expect(connect(url.replace('aaaa0001', 'bbbb0002'))).rejects.toThrow('HTTP 403');
    await expect(connect(url.replace(/colibri-ws\/default-id\/[0-9a-f]+\//, 'colibri-ws/default-id/'))).rejects.toThrow('HTTP 404');
    const ok = await connect(url);
    ok.ws.close();
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });

  it('sends ServerHello, routes EndpointMessage and EndpointStats with from, drops malformed input', async () => {
    const meetingId = randomUUID();
    const a = await connect(await endpointUrl(meetingId, 'aaaa0001', true));
    const b = await connect(await endpointUrl(meetingId, 'bbbb0002', false));
    const c = await connect(await endpointUrl(meetingId, 'cccc0003', false));
    for (const x of [a, b, c]) expect(await x.next('ServerHello')).toEqual({ colibriClass: 'ServerHello' });

    // Directed: only b gets it, with from=a.
    a.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'bbbb0002', msgPayload: { type: 'e2e-ping', id: 3 } }));
    expect(await b.next('EndpointMessage')).toEqual({
      colibriClass: 'EndpointMessage',
      to: 'bbbb0002',
      from: 'aaaa0001',
      msgPayload: { type: 'e2e-ping', id: 3 },
    });
    // Broadcast: everyone but the sender, extra fields preserved.
    b.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { hi: 1 }, extra: 'kept' }));
    for (const x of [a, c]) expect(await x.next('EndpointMessage')).toMatchObject({ from: 'bbbb0002', to: '', msgPayload: { hi: 1 }, extra: 'kept' });
    c.ws.send(JSON.stringify({ colibriClass: 'EndpointStats', bitrate: { upload: 40 }, jvbRTT: 1 }));
    for (const x of [a, b])
      expect(await x.next('EndpointStats')).toEqual({ colibriClass: 'EndpointStats', from: 'cccc0003', bitrate: { upload: 40 }, jvbRTT: 1 });
    // ClientHello is answered.
    a.ws.send(JSON.stringify({ colibriClass: 'ClientHello' }));
    expect(await a.next('ServerHello')).toEqual({ colibriClass: 'ServerHello' });

    // Malformed input is dropped; the channel keeps working for everyone.
    const conference = bridge.videobridge.conferenceByMeetingId(meetingId);
    const before = conference?.endpoint('aaaa0001')?.channel.counters.malformed ?? 0;
    for (const bad of ['not json', '[]', '{"colibriClass":5}', '{"colibriClass":"EndpointMessage","to":"x","to":"y"}', 'x'.repeat(70_000)]) a.ws.send(bad);
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    a.ws.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: 'cccc0003', msgPayload: {} }));
    expect(await c.next('EndpointMessage')).toMatchObject({ from: 'aaaa0001' });
    expect((conference?.endpoint('aaaa0001')?.channel.counters.malformed ?? 0) - before).toBe(6);
    expect(b.received.filter((m) => m.colibriClass === 'EndpointMessage')).toEqual([]);

    // A second socket replaces the first (closed 1000 "replaced").
    const closed = new Promise<number>((r) => a.ws.once('close', (code) => r(code)));
    const a2 = await connect(a.ws.url);
    expect(await closed).toBe(1000);
    await a2.next('ServerHello');

    // Expiring the endpoint closes its socket with 1001.
    const gone = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    await bridge.videobridge.conferenceModify(expireEndpoints(meetingId, ['cccc0003']));
    expect(await gone).toBe(1001);
    a2.ws.close();
    b.ws.close();
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });
});
