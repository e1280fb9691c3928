/**
 * /metrics against a real bridge: JVB's names, types and `_total` counters in the Prometheus text
 * format (parsed with parse-prometheus-text-format), values that follow colibri2 requests, the
 * OpenMetrics and JSON forms, content negotiation, the relay setters, and the Grafana dashboard's
 * expressions (parsed as PromQL) using only metric names the registry exports.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parser as promql } from '@prometheus-io/lezer-promql';
import parsePrometheusTextFormat, { type ParsedFamily as Family } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningBridge } from '../bridge.ts';
import { allocate, sessionAccept } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { SPARES_PER_FLAVOUR } from '../media/SpareTransports.ts';
import { stressLevel } from './StatsCollector.ts';
import { attachMetrics, type MetricsAttachment } from './attach.ts';
import { CONTENT_TYPE_JSON, CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT, negotiateFormat } from './exposition.ts';

let bridge: RunningBridge;
let attached: MetricsAttachment;

beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0' });
  attached = attachMetrics({
    videobridge: bridge.videobridge,
    media: bridge.media,
    stats: bridge.stats,
    xmpp: bridge.xmpp,
    region: 'europe',
  });
});
afterAll(async () => {
  attached?.detach();
  await bridge?.close();
});

async function scrape(): Promise<Map<string, Family>> {
  const out = await attached.renderMetrics(undefined);
  expect(out.contentType).toBe(CONTENT_TYPE_TEXT);
  const families = parsePrometheusTextFormat(out.body);
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of an unlabelled counter or gauge (or the series with `labels`). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  if (!f) throw new Error(`${name} not exported`);
  const m = f.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  if (!m?.value) throw new Error(`${name}${JSON.stringify(labels)} has no sample`);
  return Number(m.value);
}

/** JVB's metrics octobridge exports, with their Prometheus type. */
const JVB_COUNTERS = [
  'xmpp_disconnects',
  'conferences_created',
  'conferences_completed',
  'conference_seconds',
  'endpoints',
  'visitors',
  'endpoints_no_message_transport_after_delay',
  'endpoints_ice_failed',
  'endpoints_dtls_failed',
  'ice_succeeded',
  'ice_failed',
  'packets_received',
  'packets_sent',
  'bytes_received',
  'bytes_sent',
  'data_channel_messages_received',
  'data_channel_messages_sent',
  'colibri_web_socket_messages_received',
  'colibri_web_socket_messages_sent',
  'colibri_web_socket_close_normal',
  'colibri_web_socket_close_abnormal',
  'colibri_web_socket_error',
];
const JVB_GAUGES = [
  'graceful_shutdown',
  'shutting_down',
  'drain_mode',
  'healthy',
  'startup_time',
  'stress',
  'muc_clients_configured',
  'muc_clients_connected',
  'mucs_connected',
  'mucs_joined',
  'region_info',
  'conferences',
  'local_endpoints',
  'current_visitors',
  'incoming_loss_fraction',
  'outgoing_loss_fraction',
  'loss_fraction',
  'incoming_bitrate',
  'outgoing_bitrate',
  'incoming_packet_rate',
  'outgoing_packet_rate',
  'average_rtt',
  'largest_conference',
  'current_endpoints',
  'endpoints_with_high_outgoing_loss',
  'active_endpoints',
  'endpoints_sending_audio',
  'endpoints_sending_video',
  'endpoints_recvonly',
  'endpoints_inactive',
  'conferences_inactive',
  'conferences_p2p',
];
const JVB_HISTOGRAMS = ['conferences_by_size', 'conferences_by_audio_sender', 'conferences_by_video_sender'];

describe('/metrics text format', () => {
  it("exports JVB's metrics with JVB's names, types and _total counters, plus process metrics", async () => {
    const families = await scrape();
    for (const n of JVB_COUNTERS) {
      expect(families.get(`jitsi_jvb_${n}_total`)?.type, n).toBe('COUNTER');
      expect(families.has(`jitsi_jvb_${n}`), n).toBe(false);
    }
    for (const n of JVB_GAUGES) expect(families.get(`jitsi_jvb_${n}`)?.type, n).toBe('GAUGE');
    for (const n of JVB_HISTOGRAMS) expect(families.get(`jitsi_jvb_${n}`)?.type, n).toBe('HISTOGRAM');
    for (const [name, f] of families) if (f.type === 'COUNTER') expect(name).toMatch(/_total$/);
    expect(families.get('jitsi_jvb_conferences_created_total')?.help).toBe('The total number of conferences created on the Videobridge.');
    expect(families.get('jitsi_jvb_incoming_bitrate')?.help).toBe('Incoming RTP/RTCP bitrate in bps.');
    expect(families.get('jitsi_jvb_conferences_by_size')?.metrics[0]?.buckets).toHaveProperty('20');
    expect(value(families, 'jitsi_jvb_region_info', { region: 'europe' })).toBe(1);
    expect(value(families, 'jitsi_jvb_healthy')).toBe(1);
    expect(value(families, 'jitsi_jvb_graceful_shutdown')).toBe(0);
    expect(value(families, 'jitsi_jvb_drain_mode')).toBe(0);
    expect(value(families, 'jitsi_jvb_startup_time')).toBe(bridge.videobridge.startedAt);
    expect(value(families, 'jitsi_jvb_muc_clients_configured')).toBe(0);
    expect(families.get('process_cpu_seconds_total')?.type).toBe('COUNTER');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('GAUGE');
    // Relay placeholders: registered, no series until the relay code sets one.
    expect(families.get('octobridge_relay_bits_per_second')?.metrics ?? []).toEqual([]);
    expect(families.get('octobridge_wireguard_handshake_age_seconds')?.metrics ?? []).toEqual([]);
  });

  it('follows colibri2: conferences, endpoints, worker objects, allocation latency, requests by result', async () => {
    const before = await scrape();
    const created = value(before, 'jitsi_jvb_conferences_created_total');
    const endpoints = value(before, 'jitsi_jvb_endpoints_total');
    const completed = value(before, 'jitsi_jvb_conferences_completed_total');
    const allocations = Number(before.get('octobridge_colibri2_allocation_seconds')?.metrics[0]?.count ?? 0);
    const worker = { worker: String(bridge.media.workers[0]!.worker.pid) };

    const meetingId = randomUUID();
    const vb = bridge.videobridge;
    await vb.conferenceModify(allocate(meetingId, 'a1', true));
    await vb.conferenceModify(sessionAccept(meetingId, 'a1', 10));
    await vb.conferenceModify(allocate(meetingId, 'a2', false));
    await expect(vb.conferenceModify({ meetingId: randomUUID(), endpoints: [] })).rejects.toThrow();
    await bridge.stats.update();
    // The router's spare transports for the next allocations (SpareTransports) are made after each allocation.
    const transports = 3 + SPARES_PER_FLAVOUR;
    for (let i = 0; i < 200 && value(await scrape(), 'octobridge_worker_transports', worker) < transports; i++) await sleep(10);

    const during = await scrape();
    expect(value(during, 'jitsi_jvb_conferences_created_total')).toBe(created + 1);
    expect(value(during, 'jitsi_jvb_endpoints_total')).toBe(endpoints + 2);
    expect(value(during, 'jitsi_jvb_conferences')).toBe(1);
    expect(value(during, 'jitsi_jvb_local_endpoints')).toBe(2);
    expect(value(during, 'jitsi_jvb_current_endpoints')).toBe(2);
    expect(value(during, 'jitsi_jvb_largest_conference')).toBe(2);
    expect(value(during, 'jitsi_jvb_endpoints_sending_audio')).toBe(1);
    expect(value(during, 'jitsi_jvb_endpoints_sending_video')).toBe(1);
    // No RTP flows in this test: the conference is inactive (JVB: nobody sends), with 2 endpoints.
    expect(value(during, 'jitsi_jvb_conferences_inactive')).toBe(1);
    expect(value(during, 'jitsi_jvb_conferences_p2p')).toBe(1);
    expect(value(during, 'jitsi_jvb_endpoints_inactive')).toBe(2);
    const bySize = during.get('jitsi_jvb_conferences_by_size')?.metrics[0];
    expect(bySize?.count).toBe('1');
    expect(bySize?.buckets?.['1']).toBe('0');
    expect(bySize?.buckets?.['2']).toBe('1');
    expect(during.get('jitsi_jvb_conferences_by_audio_sender')?.metrics[0]?.buckets?.['1']).toBe('1');
    // One router, two WebRTC transports, the spares and the SCTP direct transport; a1's audio and video
    // producers, forwarded to a2 by two consumers, plus the video layer monitor's paused probe
    // consumer (VideoLayerMonitor, on the direct transport).
    expect(value(during, 'octobridge_worker_routers', worker)).toBe(1);
    expect(value(during, 'octobridge_worker_transports', worker)).toBe(transports);
    expect(value(during, 'octobridge_worker_producers', worker)).toBe(2);
    expect(value(during, 'octobridge_worker_consumers', worker)).toBe(3);
    expect(value(during, 'octobridge_worker_cpu_seconds_total', worker)).toBeGreaterThan(0);
    expect(value(during, 'octobridge_worker_max_rss_bytes', worker)).toBeGreaterThan(1_000_000);
    const allocation = during.get('octobridge_colibri2_allocation_seconds')?.metrics[0];
    expect(Number(allocation?.count)).toBe(allocations + 2);
    expect(Number(allocation?.sum)).toBeGreaterThan(0);
    expect(Number(allocation?.sum)).toBeLessThan(10);
    expect(value(during, 'octobridge_colibri2_requests_total', { result: 'item-not-found' })).toBe(1);
    expect(value(during, 'octobridge_colibri2_requests_total', { result: 'ok' })).toBeGreaterThanOrEqual(3);

    await vb.conferenceModify({ meetingId, expire: true, endpoints: [] });
    const after = await scrape();
    expect(value(after, 'jitsi_jvb_conferences')).toBe(0);
    expect(value(after, 'jitsi_jvb_local_endpoints')).toBe(0);
    expect(value(after, 'jitsi_jvb_conferences_completed_total')).toBe(completed + 1);
    expect(value(after, 'jitsi_jvb_conference_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'octobridge_worker_routers', worker)).toBe(0);
    expect(value(after, 'octobridge_worker_transports', worker)).toBe(0);
    expect(value(after, 'octobridge_worker_producers', worker)).toBe(0);
    expect(value(after, 'octobridge_worker_consumers', worker)).toBe(0);
    // Both endpoints had their remote transport applied? Only a1 (sessionAccept), and ICE never
    // came up: one ICE failure, no DTLS failure.
    expect(value(after, 'jitsi_jvb_endpoints_ice_failed_total')).toBe(1);
    expect(value(after, 'jitsi_jvb_endpoints_dtls_failed_total')).toBe(0);
  });

  it('counts bridge-channel messages by transport (colibri-ws) and socket closes', async () => {
    const meetingId = randomUUID();
    const res = await bridge.videobridge.conferenceModify(allocate(meetingId, 'w1', true, { transport: { iceControlling: true } }));
    const url = res.endpoints[0]?.transport?.ice.webSockets?.[0];
    if (!url) throw new Error('no colibri-ws URL');
    const ws = new WebSocket(url);
    const hellos: string[] = [];
    ws.on('message', (d) => hellos.push(d.toString()));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ colibriClass: 'ClientHello' }));
    for (let i = 0; i < 50 && hellos.length < 2; i++) await sleep(20);
    await sleep(100);
    const during = await scrape();
    // ServerHello, then what the bridge sends on open (ForwardedSources, sender constraints, ...).
    const sent = hellos.length;
    expect(hellos.map((h) => (JSON.parse(h) as { colibriClass: string }).colibriClass)).toContain('ServerHello');
    expect(value(during, 'jitsi_jvb_colibri_web_socket_messages_received_total')).toBe(1);
    expect(value(during, 'jitsi_jvb_colibri_web_socket_messages_sent_total')).toBe(sent);
    expect(value(during, 'octobridge_bridge_channel_messages_total', { transport: 'ws', direction: 'received' })).toBe(1);
    expect(value(during, 'octobridge_bridge_channel_messages_total', { transport: 'ws', direction: 'sent' })).toBe(sent);
    expect(value(during, 'jitsi_jvb_data_channel_messages_received_total')).toBe(0);
    ws.close(1000);
    await new Promise((resolve) => ws.once('close', resolve));
    await sleep(50);
    const after = await scrape();
    expect(value(after, 'jitsi_jvb_colibri_web_socket_close_normal_total')).toBe(1);
    expect(value(after, 'jitsi_jvb_colibri_web_socket_close_abnormal_total')).toBe(0);
    // The bridge closes the socket of an expired endpoint (1001): counted after the expiry too.
    const again = new WebSocket(url);
    await new Promise((resolve, reject) => again.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => again.once('close', resolve));
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
    expect(await closed).toBe(1001);
    await sleep(50);
    expect(value(await scrape(), 'jitsi_jvb_colibri_web_socket_close_normal_total')).toBe(2);
  });

  it('counts RTP packets the workers dropped on arrival (the media engine reports them)', async () => {
    const before = value(await scrape(), 'octobridge_rtp_packets_discarded_total');
    bridge.media.emit('rtpDiscarded', 7);
    expect(value(await scrape(), 'octobridge_rtp_packets_discarded_total')).toBe(before + 7);
  });

  it('exports relay and WireGuard series only once they are set', async () => {
    const m = attached.metrics;
    m.setRelayBitrate('relay-b', 'incoming', 1_500_000);
    m.setPipeBitrate('1234-5678', 'outgoing', 300_000);
    m.setWireGuardHandshake('peer-b', Date.now() - 5000);
    let f = await scrape();
    expect(value(f, 'octobridge_relay_bits_per_second', { relay: 'relay-b', direction: 'incoming' })).toBe(1_500_000);
    expect(value(f, 'octobridge_pipe_bits_per_second', { pipe: '1234-5678', direction: 'outgoing' })).toBe(300_000);
    const age = value(f, 'octobridge_wireguard_handshake_age_seconds', { peer: 'peer-b' });
    expect(age).toBeGreaterThanOrEqual(5);
    expect(age).toBeLessThan(60);
    m.removeRelay('relay-b');
    m.removePipe('1234-5678');
    m.setWireGuardHandshake('peer-b', 0);
    f = await scrape();
    expect(f.get('octobridge_relay_bits_per_second')?.metrics ?? []).toEqual([]);
    expect(f.get('octobridge_pipe_bits_per_second')?.metrics ?? []).toEqual([]);
    expect(f.get('octobridge_wireguard_handshake_age_seconds')?.metrics ?? []).toEqual([]);
  });
});

describe('/metrics negotiation', () => {
  it('picks the format like JVB: by q, first served type wins; text 0.0.4 by default', () => {
    expect(negotiateFormat(undefined)).toBe('text');
    expect(negotiateFormat('')).toBe('text');
    expect(negotiateFormat('*/*')).toBe('text');
    expect(negotiateFormat('text/plain; version=0.0.4;')).toBe('text');
    expect(negotiateFormat('application/json')).toBe('json');
    expect(negotiateFormat('application/openmetrics-text')).toBe('openmetrics');
    expect(negotiateFormat('text/plain;q=0.5, application/json')).toBe('json');
    expect(negotiateFormat('application/json;q=0, text/html')).toBe('text');
    expect(negotiateFormat('image/png')).toBe('text');
    // Prometheus 3's scrape header.
    expect(
      negotiateFormat(
        'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
      ),
    ).toBe('openmetrics');
  });

  it('OpenMetrics: counter families without _total, samples with it, info type, # EOF', async () => {
    const out = await attached.renderMetrics('application/openmetrics-text; version=1.0.0');
    expect(out.contentType).toBe(CONTENT_TYPE_OPENMETRICS);
    expect(out.body.endsWith('# EOF\n')).toBe(true);
    const lines = out.body.trimEnd().split('\n');
    expect(lines.filter((l) => l === '# EOF')).toHaveLength(1);
    expect(lines).toContain('# TYPE jitsi_jvb_conferences_created counter');
    expect(lines.some((l) => /^jitsi_jvb_conferences_created_total \d+$/.test(l))).toBe(true);
    expect(lines).toContain('# TYPE jitsi_jvb_region info');
    expect(lines).toContain('jitsi_jvb_region_info{region="europe"} 1');
    expect(lines).toContain('# TYPE jitsi_jvb_conferences_by_size histogram');
    // Every sample belongs to the family declared above it, with the suffixes its type allows.
    const suffixes: Record<string, string[]> = { counter: ['_total'], gauge: [''], histogram: ['_bucket', '_count', '_sum'], info: ['_info'] };
    let family = '';
    let type = '';
    for (const l of lines) {
      const t = /^# TYPE (\S+) (\S+)$/.exec(l);
      if (t) {
        family = t[1] ?? '';
        type = t[2] ?? '';
        expect(type, l).toMatch(/^(counter|gauge|histogram|info)$/);
        // (prom-client's nodejs_active_resources_total is a gauge, so only counters are checked)
        if (type === 'counter') expect(family.endsWith('_total'), l).toBe(false);
        continue;
      }
      if (l.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? '';
      expect(
        suffixes[type]?.map((s) => family + s),
        l,
      ).toContain(name);
      expect(l).toMatch(/ (-?[0-9.e+-]+|\+Inf|NaN)$/);
    }
  });

  it("JSON: JVB's flat keys (no namespace, counters with _total), booleans, region, histograms as objects", async () => {
    const out = await attached.renderMetrics('application/json');
    expect(out.contentType).toBe(CONTENT_TYPE_JSON);
    const json = JSON.parse(out.body) as Record<string, unknown>;
    expect(typeof json.conferences_created_total).toBe('number');
    expect(json.conferences).toBe(0);
    expect(json.graceful_shutdown).toBe(false);
    expect(json.healthy).toBe(true);
    expect(json.region).toBe('europe');
    expect(typeof json.incoming_bitrate).toBe('number');
    expect(json.conferences_by_size).toMatchObject({
      'bucket_le_0.0': expect.any(Number),
      'bucket_le_20.0': expect.any(Number),
      'bucket_le_+Inf': expect.any(Number),
      count: expect.any(Number),
      sum: expect.any(Number),
    });
    expect(json.octobridge_colibri2_allocation_seconds).toHaveProperty('count');
    // As JVB: labelled metrics are not in the JSON; neither are process metrics.
    expect(json).not.toHaveProperty('octobridge_worker_producers');
    expect(json).not.toHaveProperty('process_cpu_seconds_total');
    expect(Object.keys(json).some((k) => k.startsWith('jitsi_jvb_'))).toBe(false);
  });
});

describe('Grafana dashboard', () => {
  interface Panel {
    type: string;
    title: string;
    targets?: { expr?: string }[];
    panels?: Panel[];
  }

  /** Metric names a PromQL expression selects (VectorSelector identifiers), or throws on a syntax error. */
  function selectedMetrics(expr: string): string[] {
    // Grafana's variables, as Grafana substitutes them before sending the query.
    const query = expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?\w+\}?/g, 'x');
    const tree = promql.parse(query);
    const names: string[] = [];
    const cursor = tree.cursor();
    do {
      if (cursor.type.isError) throw new Error(`PromQL syntax error in ${expr} at ${cursor.from}`);
      if (cursor.name === 'VectorSelector') {
        const node = cursor.node.getChild('Identifier');
        if (node) names.push(query.slice(node.from, node.to));
      }
    } while (cursor.next());
    return names;
  }

  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's input placeholder, literally.
  it('is valid JSON with a ${DS_PROMETHEUS} input, and every expression uses only exported metrics', async () => {
    const dash = JSON.parse(readFileSync(new URL('../../grafana/octobridge.json', import.meta.url), 'utf8')) as {
      schemaVersion: number;
      __inputs: { name: string; pluginId: string }[];
      panels: Panel[];
      templating: { list: { query: { query: string } | string }[] };
    };
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dash.__inputs).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }));
    // Exported sample names: gauges and counters as they are; histograms with their suffixes.
    const families = await attached.metrics.registry.getMetricsAsJSON();
    const exported = new Set<string>();
    for (const f of families) {
      if ((f.type as unknown as string) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(f.name + s);
      else exported.add(f.name);
    }
    const exprs: string[] = [];
    const walk = (panels: Panel[]): void => {
      for (const p of panels) {
        for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
        walk(p.panels ?? []);
      }
    };
    walk(dash.panels);
    expect(exprs.length).toBeGreaterThan(30);
    const used = new Set<string>();
    for (const e of exprs) for (const n of selectedMetrics(e)) used.add(n);
    for (const v of dash.templating.list) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /label_values\((\w+)/.exec(q);
      if (m?.[1]) used.add(m[1]);
    }
    for (const n of used) expect(exported, n).toContain(n);
    // The panels the dashboard promises.
    for (const n of [
      'jitsi_jvb_conferences',
      'jitsi_jvb_local_endpoints',
      'jitsi_jvb_stress',
      'jitsi_jvb_incoming_bitrate',
      'jitsi_jvb_incoming_packet_rate',
      'jitsi_jvb_loss_fraction',
      'octobridge_worker_cpu_seconds_total',
      'octobridge_colibri2_allocation_seconds_bucket',
      'octobridge_bridge_channel_messages_total',
      'octobridge_xmpp_connected',
    ]) {
      expect(used, n).toContain(n);
    }
  });
});

describe('stress_level', () => {
  it('is the busiest worker’s load: its CPU over 0.9 of a core, or its packets/s over 50 000, whichever is larger', () => {
    expect(stressLevel(0.45, 10_000)).toBeCloseTo(0.5);
    expect(stressLevel(0.1, 40_000)).toBeCloseTo(0.8);
    // Four workers at 20 000 packets/s each: 80 000 in all, but each worker (one core) is at 0.4, and so is the bridge.
    const workers = [20_000, 20_000, 20_000, 20_000];
    expect(stressLevel(0.2, Math.max(...workers))).toBeCloseTo(0.4);
  });
});
