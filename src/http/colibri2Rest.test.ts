/**
 * colibri2 REST on the private server with real HTTP against a real bridge (jitsi-videobridge
 * `rest/root/colibri/v2/conferences/Conferences.java`, `doc/rest-colibri2.md`): create a conference and an endpoint,
 * get its transport, update it, read the speech activity, expire it; JVB's status codes and error texts; 404 when the
 * API is off (the default).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, sessionAccept } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import type { RunningBridge } from '../bridge.ts';
import { parseColibri2ErrorJson, parseConferenceModifiedJson, serializeConferenceModifyJson, type JsonObject } from '../colibri2/json.ts';
import { MAX_COLIBRI2_BODY } from './colibri2Rest.ts';

let bridge: RunningBridge;
let base: string;
beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0', COLIBRI_REST_ENABLED: 'true' });
  base = `http://127.0.0.1:${bridge.privatePort}/colibri/v2/conferences`;
});
afterAll(async () => {
  await bridge?.close();
});

interface Answer {
  status: number;
  body: JsonObject;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as JsonObject, headers: res.headers };
}

/** A conference-modify body for PATCH: the meeting id is the URL's. */
function patchBody(req: Parameters<typeof serializeConferenceModifyJson>[0]): JsonObject {
  const { 'meeting-id': _id, ...body } = serializeConferenceModifyJson(req);
  return body;
}

describe('colibri2 REST: a conference over HTTP', () => {
  const meetingId = randomUUID();

  it('POST creates the conference and the endpoint, and answers its transport and the feedback sources', async () => {
    const res = await call('POST', '', serializeConferenceModifyJson(allocate(meetingId, 'ep1', true)));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const modified = parseConferenceModifiedJson(res.body);
    expect(modified.endpoints).toHaveLength(1);
    const t = modified.endpoints[0]?.transport;
    expect(modified.endpoints[0]?.id).toBe('ep1');
    expect(t?.ice.ufrag).toMatch(/.+/);
    expect(t?.ice.pwd).toMatch(/.+/);
    expect(t?.ice.candidates.length).toBeGreaterThan(0);
    expect(t?.ice.candidates[0]).toMatchObject({ ip: '127.0.0.1', protocol: 'udp', type: 'host' });
    expect(t?.ice.fingerprints[0]).toMatchObject({ hash: 'sha-256', setup: 'actpass' });
    expect(t?.sctp).toEqual({ port: 5000, role: 'server' });
    expect(modified.sources?.map((s) => s.id)).toEqual(['jvb-a0', 'jvb-v0']);
    // JVB's JSON shapes: attribute bags as strings, the ice-udp xmlns.
    const raw = (res.body.endpoints as JsonObject[])[0]?.transport as JsonObject;
    expect((raw.transport as JsonObject).xmlns).toBe('urn:xmpp:jingle:transports:ice-udp:1');
    expect(typeof ((raw.transport as JsonObject).candidates as JsonObject[])[0]?.port).toBe('string');
    expect(bridge.videobridge.conferenceByMeetingId(meetingId)?.endpoint('ep1')).toBeDefined();
  });

  it('PATCH updates it (remote transport + sources): a bare endpoint answer; the URL names the meeting', async () => {
    const res = await call('PATCH', `/${meetingId}`, { ...patchBody(sessionAccept(meetingId, 'ep1', 10)), 'meeting-id': 'ignored-as-in-jvb' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ endpoints: [{ id: 'ep1' }] });
    expect(
      bridge.videobridge
        .conferenceByMeetingId(meetingId)
        ?.endpoint('ep1')
        ?.sources.map((s) => s.id),
    ).toEqual(['ep1-a0', 'ep1-v0']);
  });

  it("GET dominant-speaker-identification: JVB's speech-activity state", async () => {
    await call('POST', '', serializeConferenceModifyJson(allocate(meetingId, 'ep2', false)));
    const res = await call('GET', `/${meetingId}/dominant-speaker-identification`, undefined, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      dominantEndpoint: 'null',
      dominantSpeakerIdentification: null,
      endpointsBySpeechActivity: ['ep1', 'ep2'],
      // ep1 signalled video sources, ep2 none yet.
      endpointsInLastNOrder: ['ep1', 'ep2'],
    });
    expect((await call('GET', '/nope/dominant-speaker-identification', undefined, {})).status).toBe(404);
  });

  it("JVB's errors: every refused conference-modify is a 400 with JVB's text, plus the colibri2 condition and reason", async () => {
    const unknownEndpoint = await call('PATCH', `/${meetingId}`, { endpoints: [{ id: 'ghost', 'stats-id': 'x', sources: [] }] });
    expect(unknownEndpoint.status).toBe(400);
    expect(unknownEndpoint.body).toEqual({
      error: 'Failed to create conference: Endpoint not found for ID: ghost',
      message: 'Failed to create conference: Endpoint not found for ID: ghost',
      condition: 'item-not-found',
      reason: 'unknown_endpoint',
      endpoint: 'ghost',
    });
    expect(parseColibri2ErrorJson(400, unknownEndpoint.body)).toMatchObject({ reason: 'unknown_endpoint', endpointId: 'ghost' });

    const exists = await call('POST', '', serializeConferenceModifyJson(allocate(meetingId, 'ep3', true)));
    expect([exists.status, exists.body.condition, exists.body.reason]).toEqual([400, 'conflict', 'conference_already_exists']);

    const unknownConference = await call('POST', '', { 'meeting-id': 'no-such-meeting', endpoints: [{ id: 'a', expire: true }] });
    expect(unknownConference.status).toBe(400);
    expect(unknownConference.body.message).toBe('Failed to create conference: Conference not found for ID: no-such-meeting');
    expect(unknownConference.body.reason).toBe('conference_not_found');

    const noSourceNames = await call('POST', '', serializeConferenceModifyJson(allocate(meetingId, 'ep4', false, { capabilities: [] })));
    expect([noSourceNames.status, noSourceNames.body.message, noSourceNames.body.condition]).toEqual([
      400,
      'Failed to create conference: Source name support is mandatory.',
      'bad-request',
    ]);

    const mixed = await call('PATCH', `/${meetingId}`, { endpoints: [{ id: 'ep1' }], relays: [{ id: 'r' }] });
    expect([mixed.status, mixed.body.condition, mixed.body.reason]).toEqual([400, 'feature-not-implemented', 'feature_not_implemented']);
  });

  it("bad bodies: not JSON, not an object, a bad field → 400 with JVB's prefixes; the conference is unchanged", async () => {
    const notJson = await call('POST', '', '{"meeting-id":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.message).toMatch(/^Failed to create conference, could not parse JSON: /);
    const array = await call('PATCH', `/${meetingId}`, '[]');
    expect([array.status, array.body.message]).toEqual([400, 'Failed to parse ConferenceModify JSON:Expected a JSON object for conference-modify, got array']);
    const field = await call('PATCH', `/${meetingId}`, { endpoints: [{ id: 'ep1', sources: [{ type: 'video', id: 'ep1-v0', sources: [-1] }] }] });
    expect([field.status, field.body.message, field.body.condition]).toEqual([
      400,
      "Failed to parse ConferenceModify JSON:Invalid ssrc '-1' in endpoints[0].sources[0].sources[0]",
      'bad-request',
    ]);
    const noMeetingId = await call('POST', '', { create: true });
    expect(noMeetingId.body.message).toBe('Failed to parse ConferenceModify JSON:Missing meeting-id in conference-modify');
    expect(
      bridge.videobridge
        .conferenceByMeetingId(meetingId)
        ?.endpoint('ep1')
        ?.sources.map((s) => s.id),
    ).toEqual(['ep1-a0', 'ep1-v0']);
  });

  it('HTTP-level answers: 415 non-JSON type, 406 non-JSON Accept, 405 with Allow, 404 path, 501 GETs, 413 too large', async () => {
    expect((await call('POST', '', '{}', { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await call('PATCH', `/${meetingId}`, '{}', { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    // No Content-Type at all is accepted (Jersey), and a charset is fine. (fetch labels a string body text/plain.)
    const bytes = new TextEncoder().encode(JSON.stringify({ endpoints: [{ id: 'ep1' }] }));
    const untyped = await fetch(`${base}/${meetingId}`, { method: 'PATCH', body: bytes });
    expect(untyped.status).toBe(200);
    expect((await call('PATCH', `/${meetingId}`, { endpoints: [{ id: 'ep1' }] }, { 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(200);
    expect((await call('POST', '', '{}', { 'Content-Type': 'application/json', Accept: 'text/html' })).status).toBe(406);
    const del = await call('DELETE', `/${meetingId}`);
    expect([del.status, del.headers.get('allow')]).toEqual([405, 'GET, PATCH, HEAD']);
    expect((await call('PUT', '')).headers.get('allow')).toBe('GET, POST, HEAD');
    expect((await call('GET', `/${meetingId}/other`, undefined, {})).status).toBe(404);
    expect((await call('GET', '', undefined, {})).status).toBe(501);
    expect((await call('GET', `/${meetingId}`, undefined, {})).status).toBe(501);
    expect((await call('GET', '/nope', undefined, {})).status).toBe(404);
    const big = await call('POST', '', JSON.stringify({ 'meeting-id': 'x', pad: 'x'.repeat(MAX_COLIBRI2_BODY) }));
    expect(big.status).toBe(413);
  });

  it('a chunked body over 1 MiB (no Content-Length) gets a clean 413 the client reads, not a reset', async () => {
    // A client that writes its whole body before it reads: 8 MiB of JSON whitespace in 64 KiB chunks.
    const answer = await new Promise<{ text: string; error?: string }>((resolve) => {
      const socket = net.connect(bridge.privatePort, '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', (err) => resolve({ text, error: err.message }));
      socket.on('end', () => resolve({ text }));
      socket.on('connect', async () => {
        try {
          socket.write('POST /colibri/v2/conferences HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          for (let i = 0; i < 128; i++) {
            socket.write(`${chunk.length.toString(16)}\r\n`);
            socket.write(chunk);
            if (!socket.write('\r\n')) await once(socket, 'drain');
          }
          socket.write('0\r\n\r\n');
        } catch {
          // the 'error' listener reports it
        }
      });
    });
    expect(answer.error, 'no reset while the body is sent').toBeUndefined();
    expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.text.toLowerCase()).toContain('connection: close');
    const body = answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toMatchObject({ error: expect.stringContaining(`${MAX_COLIBRI2_BODY}`) });
    // The server goes on.
    expect((await call('GET', '', undefined, {})).status).toBe(501);
  });

  it('PATCH {"expire": true} expires the conference; then PATCH is 404 (JVB checks the meeting first)', async () => {
    const res = await call('PATCH', `/${meetingId}/`, { expire: true });
    expect([res.status, res.body]).toEqual([200, {}]);
    expect(bridge.videobridge.conferenceByMeetingId(meetingId)).toBeUndefined();
    const gone = await call('PATCH', `/${meetingId}`, '{not json');
    expect([gone.status, gone.body.condition, gone.body.reason]).toEqual([404, 'item-not-found', 'conference_not_found']);
  });

  it('the other private routes still answer', async () => {
    expect((await fetch(`http://127.0.0.1:${bridge.privatePort}/about/health`)).status).toBe(200);
  });
});

describe('colibri2 REST disabled (the default, as JVB)', () => {
  it('is 404 like any unknown path', async () => {
    const off = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
    try {
      const url = `http://127.0.0.1:${off.privatePort}/colibri/v2/conferences`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(serializeConferenceModifyJson(allocate('m', 'e', true))),
      });
      expect(res.status).toBe(404);
      expect((await fetch(`${url}/m`, { method: 'PATCH', body: '{}' })).status).toBe(404);
      expect(off.videobridge.conferences()).toHaveLength(0);
    } finally {
      await off.close();
    }
  });
});
