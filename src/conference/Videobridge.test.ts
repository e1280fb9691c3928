/**
 * colibri2 semantics against a real mediasoup worker: Jicofo's request sequence and every error
 * Jicofo distinguishes, with JVB's condition + reason (Colibri2Util.kt, Colibri2ConferenceHandler.kt).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBridge } from '../bridge.ts';
import { allocate, expireEndpoints, sessionAccept } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { Colibri2Error } from '../colibri2/errors.ts';
import type { ConferenceModifyRequest } from '../colibri2/types.ts';

let bridge: RunningBridge;
beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
});
afterAll(async () => {
  await bridge?.close();
});

async function rejection(req: ConferenceModifyRequest): Promise<Colibri2Error> {
  try {
    await bridge.videobridge.conferenceModify(req);
  } catch (err) {
    if (err instanceof Colibri2Error) return err;
    throw err;
  }
  throw new Error('request was accepted');
}

describe('conference-modify', () => {
  it('allocates an endpoint the way Jicofo reads it', async () => {
    const meetingId = randomUUID();
    const res = await bridge.videobridge.conferenceModify(allocate(meetingId, '79f0273e', true));
    const ep = res.endpoints[0];
    expect(ep?.id).toBe('79f0273e');
    const t = ep?.transport;
    expect(t?.ice.ufrag).toMatch(/^\w+$/);
    expect(t?.ice.pwd.length).toBeGreaterThanOrEqual(22);
    expect(t?.ice.rtcpMux).toBe(true);
    expect(t?.ice.fingerprints[0]).toMatchObject({ hash: 'sha-256', setup: 'actpass' });
    expect(t?.ice.fingerprints[0]?.value).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(t?.ice.candidates[0]).toMatchObject({ component: 1, protocol: 'udp', type: 'host', ip: '127.0.0.1' });
    expect(t?.sctp).toEqual({ port: 5000, role: 'server' });
    const conference = bridge.videobridge.conferenceByMeetingId(meetingId);
    expect(t?.ice.webSockets?.[0]).toBe(
      `ws://127.0.0.1:${bridge.publicPort}/colibri-ws/default-id/${conference?.id}/79f0273e?pwd=${conference?.endpoint('79f0273e')?.wsPassword}`,
    );
    expect(res.sources?.map((s) => [s.type, s.id, s.sources[0]?.name])).toEqual([
      ['audio', 'jvb-a0', 'jvb-a0'],
      ['video', 'jvb-v0', 'jvb-v0'],
    ]);
    // The update on session-accept: a bare <endpoint id> back, and producers for the sources.
    const upd = await bridge.videobridge.conferenceModify(sessionAccept(meetingId, '79f0273e'));
    expect(upd).toEqual({ endpoints: [{ id: '79f0273e' }] });
    expect(conference?.media.sourcesOf('79f0273e').sort()).toEqual(['79f0273e-a0', '79f0273e-v0']);
    // The second endpoint of the conference gets the first one's sources forwarded (paused until mapped).
    const second = await bridge.videobridge.conferenceModify(allocate(meetingId, 'a1b2c3d4', false));
    expect(second.sources?.length).toBe(2); // feedback sources with every endpoint create
    const forwarded = conference?.endpoint('a1b2c3d4')?.mediaEndpoint.forwardedSources() ?? [];
    expect(forwarded.map((f) => [f.source, f.owner, f.kind])).toEqual([
      ['79f0273e-a0', '79f0273e', 'audio'],
      ['79f0273e-v0', '79f0273e', 'video'],
    ]);
    const video = forwarded.find((f) => f.kind === 'video');
    expect(video?.ssrc).not.toBe(1001); // mediasoup picks new SSRCs: rewriting is mandatory
    expect(video?.rtx).toBeGreaterThan(0);
    // Expire both: the conference expires with its last endpoint.
    await bridge.videobridge.conferenceModify(expireEndpoints(meetingId, ['79f0273e', 'a1b2c3d4']));
    expect(bridge.videobridge.conferenceByMeetingId(meetingId)).toBeUndefined();
  });

  it('concurrent allocations in a conference: answered in order, a duplicate id refused, no transport left behind', async () => {
    const meetingId = randomUUID();
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'first', true));
    const conference = bridge.videobridge.conferenceByMeetingId(meetingId);
    const ids = ['e1', 'e2', 'e3', 'e4', 'e2'];
    const results = await Promise.allSettled(ids.map((id) => bridge.videobridge.conferenceModify(allocate(meetingId, id, false))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((results[4] as PromiseRejectedResult).reason).toMatchObject({ condition: 'conflict' });
    for (const [i, r] of results.slice(0, 4).entries()) {
      const ep = (r as PromiseFulfilledResult<Awaited<ReturnType<typeof bridge.videobridge.conferenceModify>>>).value.endpoints[0];
      expect(ep?.id).toBe(ids[i]);
      expect(ep?.transport?.ice.ufrag).toBe(conference?.endpoint(ids[i]!)?.mediaEndpoint.localTransport([]).ufrag);
    }
    expect(conference?.endpoints().map((e) => e.id)).toEqual(['first', 'e1', 'e2', 'e3', 'e4']);
    // The refused duplicate's early transport is closed and no longer counted on its worker.
    await new Promise((r) => setTimeout(r, 50));
    const counted = bridge.media.alive().reduce((n, w) => n + bridge.media.endpointsOn(w), 0);
    expect(counted).toBe(bridge.videobridge.conferences().reduce((n, c) => n + c.endpointCount, 0));
    await bridge.videobridge.conferenceModify(expireEndpoints(meetingId, ['first', 'e1', 'e2', 'e3', 'e4']));
  });

  it('conference_already_exists, conference_not_found', async () => {
    const meetingId = randomUUID();
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'e1', true));
    const dup = await rejection(allocate(meetingId, 'e2', true));
    expect([dup.condition, dup.reason, dup.message]).toEqual(['conflict', 'conference_already_exists', `Conference already exists for ID: ${meetingId}`]);
    const missing = await rejection(allocate(randomUUID(), 'e3', false));
    expect([missing.condition, missing.reason]).toEqual(['item-not-found', 'conference_not_found']);
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
    expect(bridge.videobridge.conferenceByMeetingId(meetingId)).toBeUndefined();
  });

  it('unknown_endpoint carries the endpoint id; expire and force-mute ignore unknown ids', async () => {
    const meetingId = randomUUID();
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'known', true));
    const err = await rejection(sessionAccept(meetingId, 'ghost'));
    expect([err.condition, err.reason, err.endpointId, err.message]).toEqual([
      'item-not-found',
      'unknown_endpoint',
      'ghost',
      'Endpoint not found for ID: ghost',
    ]);
    const res = await bridge.videobridge.conferenceModify({
      meetingId,
      endpoints: [
        { id: 'ghost', forceMute: { audio: true } },
        { id: 'known', forceMute: { audio: true } },
      ],
    });
    expect(res.endpoints.map((e) => e.id)).toEqual(['ghost', 'known']);
    const exp = await bridge.videobridge.conferenceModify(expireEndpoints(meetingId, ['ghost2']));
    expect(exp.endpoints).toEqual([{ id: 'ghost2', expire: true }]);
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });

  it('bad requests change nothing', async () => {
    const meetingId = randomUUID();
    const noNames = await rejection(allocate(meetingId, 'x', true, { capabilities: ['ssrc-rewriting'] }));
    expect([noNames.condition, noNames.reason, noNames.message]).toEqual(['bad-request', undefined, 'Source name support is mandatory.']);
    expect(bridge.videobridge.conferenceByMeetingId(meetingId)).toBeUndefined(); // the create was undone

    const noTransport = allocate(meetingId, 'x', true);
    delete noTransport.endpoints[0]?.transport;
    expect((await rejection(noTransport)).message).toBe('Attempt to create endpoint x with no <transport>');

    const role = await rejection(allocate(meetingId, 'x', true, { transport: { iceControlling: true, sctp: { role: 'client' } } }));
    expect([role.condition, role.reason, role.message]).toEqual(['feature-not-implemented', undefined, 'Unsupported SCTP role: client']);
    const port = await rejection(allocate(meetingId, 'x', true, { transport: { sctp: { port: 5001 } } }));
    expect([port.condition, port.message]).toEqual(['bad-request', 'Specific SCTP port requested, not supported.']);

    const name = await rejection({ ...allocate(meetingId, 'x', true), name: 'not a jid' });
    expect([name.condition, name.message]).toEqual(['bad-request', 'Invalid conference name (not a JID)']);

    const two = allocate(meetingId, 'x', true);
    two.endpoints.push({ ...two.endpoints[0]!, id: 'y' });
    const fni = await rejection(two);
    expect([fni.condition, fni.reason]).toEqual(['feature-not-implemented', 'feature_not_implemented']);

    // Malformed sources on an existing endpoint: bad-request, the endpoint keeps what it had.
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'x', true));
    await bridge.videobridge.conferenceModify(sessionAccept(meetingId, 'x', 5000));
    const bad = sessionAccept(meetingId, 'x', 7000);
    bad.endpoints[0]!.sources![1]!.ssrcGroups[0] = { semantics: 'SIM', ssrcs: [7001, 9999] };
    const srcErr = await rejection(bad);
    expect(srcErr.condition).toBe('bad-request');
    expect(srcErr.message).toContain('unknown SSRC 9999');
    const conference = bridge.videobridge.conferenceByMeetingId(meetingId);
    expect(conference?.endpoint('x')?.sources[0]?.sources[0]?.ssrc).toBe(5000);
    // Another endpoint may not reuse x's SSRCs.
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'y', false));
    const stolen = await rejection(sessionAccept(meetingId, 'y', 5000));
    expect(stolen.message).toContain('already used by endpoint x');
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });

  it('graceful shutdown refuses new conferences', async () => {
    bridge.videobridge.gracefulShutdown = true;
    try {
      const err = await rejection(allocate(randomUUID(), 'e', true));
      expect([err.condition, err.reason, err.message]).toEqual(['service-unavailable', 'graceful_shutdown', 'In graceful shutdown']);
    } finally {
      bridge.videobridge.gracefulShutdown = false;
    }
  });
});

describe('expiry', () => {
  it('expires an endpoint with no ICE and no channel after the timeout, then the empty conference', async () => {
    const short = await startTestBridge({ OCTOBRIDGE_FOCUS: '0', OCTOBRIDGE_EXPIRE_MS: '1500' });
    try {
      const meetingId = randomUUID();
      const expired: string[] = [];
      short.videobridge.on('endpointExpired', (_c, id, reason) => expired.push(`${id}:${reason}`));
      await short.videobridge.conferenceModify(allocate(meetingId, 'silent', true));
      await new Promise((r) => setTimeout(r, 3000));
      expect(expired).toEqual(['silent:timeout']);
      await new Promise((r) => setTimeout(r, 2000));
      expect(short.videobridge.conferenceByMeetingId(meetingId)).toBeUndefined();
    } finally {
      await short.close();
    }
  });
});

describe('ICE-TCP', () => {
  it('is off by default and, when enabled, adds a passive TCP host candidate on its port', async () => {
    const plain = await bridge.videobridge.conferenceModify(allocate(randomUUID(), 'udp-only', true));
    expect(plain.endpoints[0]?.transport?.ice.candidates.map((c) => c.protocol)).toEqual(['udp']);
    const tcp = await startTestBridge({ OCTOBRIDGE_FOCUS: '0', JVB_TCP_HARVESTER_DISABLED: 'false', JVB_TCP_PORT: '0' });
    try {
      const res = await tcp.videobridge.conferenceModify(allocate(randomUUID(), 'both', true));
      const candidates = res.endpoints[0]?.transport?.ice.candidates ?? [];
      expect(candidates.map((c) => [c.protocol, c.tcptype])).toEqual([
        ['udp', undefined],
        ['tcp', 'passive'],
      ]);
      expect(candidates[1]?.priority).toBeLessThan(candidates[0]?.priority ?? 0);
    } finally {
      await tcp.close();
    }
  });
});

describe('ICE restart', () => {
  it("answers <transport ice-restart='true'> with the endpoint's transport and the round's ice-generation (JVB: a transport means restarted)", async () => {
    const meetingId = randomUUID();
    const created = await bridge.videobridge.conferenceModify(allocate(meetingId, 'r1', true));
    const res = await bridge.videobridge.conferenceModify({ meetingId, endpoints: [{ id: 'r1', transport: { iceRestart: true } }] });
    const t = res.endpoints[0]?.transport;
    expect(t?.ice.fingerprints).toEqual(created.endpoints[0]?.transport?.ice.fingerprints);
    expect(t?.ice.candidates.length).toBeGreaterThan(0);
    expect(t?.sctp).toEqual({ port: 5000, role: 'server' });
    // Each restart round is numbered, as JVB tags its rotated transport (Jicofo ColibriV2SessionManagerTest).
    expect(t?.ice.iceGeneration).toBe(1);
    const again = await bridge.videobridge.conferenceModify({ meetingId, endpoints: [{ id: 'r1', transport: { iceRestart: true } }] });
    expect(again.endpoints[0]?.transport?.ice.iceGeneration).toBe(2);
    expect(created.endpoints[0]?.transport?.ice.iceGeneration).toBeUndefined();
    // Unknown endpoint: unknown_endpoint as for any update.
    await expect(bridge.videobridge.conferenceModify({ meetingId, endpoints: [{ id: 'nope', transport: { iceRestart: true } }] })).rejects.toMatchObject({
      reason: 'unknown_endpoint',
    });
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });
});
