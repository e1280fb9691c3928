/**
 * JVB's REST API on the private server, with real HTTP against a real bridge
 * (jitsi-videobridge rest/root/..., jicoco Health.java/Version.java).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBridge } from '../bridge.ts';
import { allocate, sessionAccept } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { parseShutdownBody } from './PrivateServer.ts';

let bridge: RunningBridge;
let base: string;
beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
  base = `http://127.0.0.1:${bridge.privatePort}`;
});
afterAll(async () => {
  await bridge?.close();
});

describe('private REST server', () => {
  it('GET /about/health: 200 with an empty body', async () => {
    const res = await fetch(`${base}/about/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('GET /about/version: name, version, os', async () => {
    const res = await fetch(`${base}/about/version`);
    expect(await res.json()).toEqual({ name: 'octobridge', version: '0.1.0', os: 'Linux' });
  });

  it("GET /colibri/stats: JVB's field names, units and values", async () => {
    const meetingId = randomUUID();
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'a1', true));
    await bridge.videobridge.conferenceModify(sessionAccept(meetingId, 'a1', 10));
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'a2', false));
    await bridge.stats.update();
    const stats = (await (await fetch(`${base}/colibri/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({
      conferences: 1,
      participants: 2,
      endpoints: 2,
      largest_conference: 2,
      endpoints_sending_audio: 1,
      endpoints_sending_video: 1,
      drain: false,
      graceful_shutdown: false,
      shutting_down: false,
      healthy: true,
      version: '0.1.0',
      octo_endpoints: 0,
    });
    for (const key of [
      'stress_level',
      'bit_rate_download',
      'bit_rate_upload',
      'packet_rate_download',
      'packet_rate_upload',
      'rtt_aggregate',
      'incoming_loss',
      'outgoing_loss',
      'overall_loss',
      'threads',
      'current_timestamp',
      'total_conferences_created',
    ]) {
      expect(stats, key).toHaveProperty(key);
    }
    expect(stats.current_timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
  });

  it('drain: GET shows it, POST enable/disable sets it, presence stats follow', async () => {
    expect(await (await fetch(`${base}/colibri/drain`)).json()).toEqual({ drain: false });
    expect((await fetch(`${base}/colibri/drain/enable`, { method: 'POST' })).status).toBe(200);
    expect(await (await fetch(`${base}/colibri/drain`)).json()).toEqual({ drain: true });
    expect(bridge.stats.snapshot().drain).toBe(true);
    await fetch(`${base}/colibri/drain/disable`, { method: 'POST' });
    expect(bridge.stats.snapshot().drain).toBe(false);
  });

  it('wrong method 405, unknown path 404, shutdown disabled by default (404), all with a JSON error', async () => {
    const wrong = await fetch(`${base}/colibri/drain/enable`);
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toEqual({ error: 'method GET not allowed' });
    expect((await fetch(`${base}/about/health`, { method: 'POST' })).status).toBe(405);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not found' });
    expect((await fetch(`${base}/colibri/shutdown`, { method: 'POST', body: '{"graceful-shutdown":true}' })).status).toBe(404);
  });

  it('shutdown body: true/"true" graceful, false immediate, anything else a 400 reason', () => {
    expect(parseShutdownBody('{"graceful-shutdown":true}')).toBe(true);
    expect(parseShutdownBody('{"graceful-shutdown":"true"}')).toBe(true);
    expect(parseShutdownBody('{"graceful-shutdown":false}')).toBe(false);
    expect(parseShutdownBody('nope')).toEqual({ error: 'body is not JSON' });
    expect(parseShutdownBody('{}')).toEqual({ error: '"graceful-shutdown" must be true or false' });
    expect(parseShutdownBody('[]')).toEqual({ error: 'body must be a JSON object' });
  });
});

describe('health', () => {
  it('is 500 with the reason when XMPP is configured but no server is reachable', async () => {
    const lonely = await startTestBridge({ OCTOBRIDGE_FOCUS: '0', XMPP_SERVER: '127.0.0.1:1', XMPP_DOMAIN: 'meet.test', JVB_AUTH_PASSWORD: 'x' });
    try {
      const res = await fetch(`http://127.0.0.1:${lonely.privatePort}/about/health`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'XMPP: not connected to any server' });
    } finally {
      await lonely.close();
    }
  });

  it('is unhealthy while no worker is alive, healthy again once the replacement is up', async () => {
    const victim = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
    try {
      const healthAtDeath = new Promise<boolean>((r) => victim.media.once('workerDied', () => r(victim.media.healthy)));
      const replaced = new Promise((r) => victim.media.once('workerStarted', r));
      process.kill(victim.media.workers[0]!.worker.pid, 'SIGKILL');
      expect(await healthAtDeath).toBe(false);
      await replaced;
      const res = await fetch(`http://127.0.0.1:${victim.privatePort}/about/health`);
      expect(res.status).toBe(200);
    } finally {
      await victim.close();
    }
  });
});

describe('/metrics', () => {
  it("serves JVB's names in the Prometheus text format, OpenMetrics and JSON by Accept", async () => {
    const text = await fetch(`${base}/metrics`);
    expect(text.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const body = await text.text();
    expect(body).toMatch(/^# TYPE jitsi_jvb_conferences gauge$/m);
    expect(body).toMatch(/^jitsi_jvb_conferences_created_total \d+$/m);
    const om = await fetch(`${base}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(om.headers.get('content-type')).toContain('application/openmetrics-text');
    expect(await om.text()).toMatch(/# EOF\n$/);
    const json = (await (await fetch(`${base}/metrics`, { headers: { Accept: 'application/json' } })).json()) as Record<string, unknown>;
    expect(json).toHaveProperty('conferences');
  });
});
