/**
 * Leaving at any point of a join releases everything at once: clients of the standalone focus (plain
 * WebSockets from the test, as the page speaks) close their socket at each step of the join — before
 * `join`, right after it, on `room`, on `session-initiate`, right after `session-accept`, after a
 * `source-update` — alone and in bursts, and one second later the bridge holds no conference and no
 * endpoint. Also: the focus's per-client limits (joins per address, source updates) bite and are counted,
 * and the bridge's conference limit refuses colibri2 creates with `service-unavailable`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FocusMessage, JingleSession } from '../../src/focus/protocol.ts';
import { startTestBridge, useTestBridge } from '../helpers/bridge.ts';

const fixture = useTestBridge();

type Step = 'open' | 'join' | 'room' | 'session-initiate' | 'session-accept' | 'source-update';

/** A fake DTLS fingerprint: the endpoint never connects, which does not matter to its release. */
const FINGERPRINT = {
  hash: 'sha-256',
  value: Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'),
  setup: 'active' as const,
};

/** The page's answer to `offer` (lib-jitsi-meet's session-accept): its own transport and one audio + one video source. */
function answer(offer: JingleSession, endpointId: string, ssrcBase: number): JingleSession {
  return {
    groups: offer.groups,
    contents: offer.contents.map((c) => ({
      ...c,
      description: {
        ...c.description,
        sources:
          c.description.media === 'audio'
            ? [{ ssrc: ssrcBase, name: `${endpointId}-a0` }]
            : c.description.media === 'video'
              ? [{ ssrc: ssrcBase + 1, name: `${endpointId}-v0`, videoType: 'camera' }]
              : [],
        ssrcGroups: [],
      },
      transport: { ufrag: randomBytes(3).toString('hex'), pwd: randomBytes(12).toString('hex'), candidates: [], fingerprints: [FINGERPRINT], rtcpMux: true },
    })),
  };
}

/** Open a focus socket to `room` and close it at `step`; resolves once it is closed. */
function joinAndClose(port: number, room: string, step: Step): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/focus/${room}`);
    let endpointId = '';
    const close = (): void => ws.terminate();
    ws.on('error', reject);
    ws.on('close', () => resolve());
    ws.on('open', () => {
      if (step === 'open') return close();
      ws.send(JSON.stringify({ type: 'join', displayName: 'leaver' }));
      if (step === 'join') close();
    });
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as FocusMessage;
      if (m.type === 'room') {
        endpointId = m.endpointId;
        if (step === 'room') close();
      } else if (m.type === 'session-initiate') {
        if (step === 'session-initiate') return close();
        const accept = answer(m.jingle, endpointId, 1000 + Math.floor(Math.random() * 1e8));
        ws.send(JSON.stringify({ type: 'session-accept', jingle: accept }));
        if (step === 'session-accept') return close();
        ws.send(JSON.stringify({ type: 'source-update', jingle: answer(m.jingle, endpointId, 2000 + Math.floor(Math.random() * 1e8)) }));
        close();
      } else if (m.type === 'error') {
        reject(new Error(`focus error: ${m.message}`));
      }
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A participant with no media: joined through the focus, answered, and its bridge channel open over colibri-ws. */
async function wsParticipant(port: number, room: string): Promise<{ channel: WebSocket; close(): void }> {
  const focus = new WebSocket(`ws://127.0.0.1:${port}/focus/${room}`);
  const { endpointId, jingle } = await new Promise<{ endpointId: string; jingle: JingleSession }>((resolve, reject) => {
    let id = '';
    focus.on('error', reject);
    focus.on('open', () => focus.send(JSON.stringify({ type: 'join', displayName: 'ws' })));
    focus.on('message', (data) => {
      const m = JSON.parse(String(data)) as FocusMessage;
      if (m.type === 'room') id = m.endpointId;
      if (m.type === 'session-initiate') resolve({ endpointId: id, jingle: m.jingle });
    });
  });
  focus.send(JSON.stringify({ type: 'session-accept', jingle: answer(jingle, endpointId, 50_000 + Math.floor(Math.random() * 1e8)) }));
  const url = jingle.contents.flatMap((c) => c.transport.webSockets ?? [])[0];
  if (!url) throw new Error('no colibri-ws URL in the session-initiate');
  const channel = new WebSocket(url);
  await new Promise((resolve, reject) => {
    channel.once('open', resolve);
    channel.once('error', reject);
  });
  return {
    channel,
    close() {
      channel.terminate();
      focus.terminate();
    },
  };
}

/** Conferences and endpoints the bridge holds now. */
function held(): { conferences: number; endpoints: number } {
  const conferences = fixture.bridge.videobridge.conferences();
  return { conferences: conferences.length, endpoints: conferences.reduce((n, c) => n + c.endpoints().length, 0) };
}

describe('leaving at any point of a join', () => {
  const steps: Step[] = ['open', 'join', 'room', 'session-initiate', 'session-accept', 'source-update'];
  for (const step of steps) {
    it(`releases everything within 1 s when the socket closes at ${step}`, async () => {
      await joinAndClose(fixture.bridge.publicPort, `leave-${step}`, step);
      await sleep(1000);
      expect(held()).toEqual({ conferences: 0, endpoints: 0 });
    });
  }

  it('releases a burst of 40 join-and-close clients at random steps, in shared and own rooms', async () => {
    const port = fixture.bridge.publicPort;
    await Promise.all(Array.from({ length: 40 }, (_, i) => joinAndClose(port, i % 2 === 0 ? 'burst-shared' : `burst-${i}`, steps[i % steps.length] as Step)));
    await sleep(1000);
    expect(held()).toEqual({ conferences: 0, endpoints: 0 });
  });
});

describe('per-client limits', () => {
  it('refuses joins over the per-address limit with 429 and counts them', async () => {
    const bridge = await startTestBridge({ OCTOBRIDGE_JOINS_PER_ADDRESS: '3' });
    try {
      const statuses = await Promise.all(
        Array.from(
          { length: 5 },
          () =>
            new Promise<number>((resolve) => {
              const ws = new WebSocket(`ws://127.0.0.1:${bridge.publicPort}/focus/limited`);
              ws.on('open', () => {
                ws.terminate();
                resolve(101);
              });
              ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
              ws.on('error', () => undefined);
            }),
        ),
      );
      expect(statuses.filter((s) => s === 101)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2);
      const metrics = await (await fetch(`http://127.0.0.1:${bridge.privatePort}/metrics`)).text();
      expect(metrics).toMatch(/octobridge_limit_exceeded_total\{limit="joins_per_address"\} 2/);
    } finally {
      await bridge.close();
    }
  });

  it('applies a flood of source updates as the latest one, at the configured rate, and counts the superseded', async () => {
    const bridge = await startTestBridge({ OCTOBRIDGE_SOURCE_UPDATES_PER_SECOND: '2' });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${bridge.publicPort}/focus/flood`);
      const initiate = new Promise<{ endpointId: string; jingle: JingleSession }>((resolve) => {
        let endpointId = '';
        ws.on('message', (data) => {
          const m = JSON.parse(String(data)) as FocusMessage;
          if (m.type === 'room') endpointId = m.endpointId;
          if (m.type === 'session-initiate') resolve({ endpointId, jingle: m.jingle });
        });
      });
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'join', displayName: 'flooder' }));
      const { endpointId, jingle } = await initiate;
      ws.send(JSON.stringify({ type: 'session-accept', jingle: answer(jingle, endpointId, 10_000) }));
      // 30 updates at once (within the socket's message burst): the focus keeps the latest, and sends it within the rate.
      for (let i = 1; i <= 30; i++) ws.send(JSON.stringify({ type: 'source-update', jingle: answer(jingle, endpointId, 10_000 + 2 * i) }));
      const endpoint = () => bridge.videobridge.conferences()[0]?.endpoint(endpointId);
      const lastAudioSsrc = 10_000 + 60;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !endpoint()?.sources.some((s) => s.sources.some((x) => x.ssrc === lastAudioSsrc))) await sleep(50);
      expect(
        endpoint()
          ?.sources.find((s) => s.type === 'audio')
          ?.sources.map((s) => s.ssrc),
      ).toEqual([lastAudioSsrc]);
      const metrics = await (await fetch(`http://127.0.0.1:${bridge.privatePort}/metrics`)).text();
      const superseded = Number(/octobridge_limit_exceeded_total\{limit="source_updates"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      expect(superseded).toBeGreaterThan(20);
      // Past the socket's own message limit (20/s, burst 40) the focus drops messages before parsing them.
      for (let i = 0; i < 100; i++) ws.send('{}');
      await sleep(200);
      const after = await (await fetch(`http://127.0.0.1:${bridge.privatePort}/metrics`)).text();
      expect(Number(/octobridge_limit_exceeded_total\{limit="focus_messages"\} (\d+)/.exec(after)?.[1] ?? 0)).toBeGreaterThan(50);
      ws.terminate();
    } finally {
      await bridge.close();
    }
  });

  it("drops a flooding endpoint's bridge-channel messages on its own channel, before they reach the others", async () => {
    const bridge = await startTestBridge({ OCTOBRIDGE_CHANNEL_MESSAGES_PER_SECOND: '50' });
    try {
      const [a, b] = await Promise.all([wsParticipant(bridge.publicPort, 'chatty'), wsParticipant(bridge.publicPort, 'chatty')]);
      let received = 0;
      b.channel.on('message', (data) => {
        if ((JSON.parse(String(data)) as { colibriClass?: string }).colibriClass === 'EndpointMessage') received += 1;
      });
      for (let i = 0; i < 1000; i++) a.channel.send(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msg: i }));
      await sleep(1000);
      // The burst (2 s' worth: 100) and about one second's rate (50) get through; the rest is dropped at the sender.
      expect(received).toBeGreaterThanOrEqual(100);
      expect(received).toBeLessThan(250);
      const metrics = await (await fetch(`http://127.0.0.1:${bridge.privatePort}/metrics`)).text();
      expect(Number(/octobridge_limit_exceeded_total\{limit="channel_messages"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(700);
      for (const p of [a, b]) p.close();
    } finally {
      await bridge.close();
    }
  });

  it("refuses a colibri2 create past the bridge's conference limit with service-unavailable", async () => {
    const bridge = await startTestBridge({ OCTOBRIDGE_MAX_CONFERENCES: '1' });
    try {
      const create = (meetingId: string) =>
        bridge.videobridge.conferenceModify({ meetingId, create: true, name: `${meetingId}@conference.example.com`, endpoints: [] });
      await create('8c6f2b6e-0000-4000-8000-000000000001');
      await expect(create('8c6f2b6e-0000-4000-8000-000000000002')).rejects.toMatchObject({ condition: 'service-unavailable' });
      expect(bridge.videobridge.conferences()).toHaveLength(1);
    } finally {
      await bridge.close();
    }
  });
});
