/**
 * `/metrics`: one prom-client registry with
 * - JVB's `jitsi_jvb_*` metrics, with JVB's names, types and help texts (jitsi-videobridge
 *   `metrics/VideobridgeMetrics.kt`, `VideobridgePeriodicMetrics.kt`, and the few registered
 *   elsewhere: `healthy`, `muc_*`, `ice_*`), for every one octobridge has a real value for.
 *   Counters are registered with their `_total` name (jicoco `registerCounter` appends it), boolean
 *   metrics are gauges of 0/1, the region is a `jitsi_jvb_region_info{region}` gauge of 1;
 * - octobridge's own `octobridge_*` (workers, colibri2 latency, bridge channel, XMPP, and gauges
 *   the relay issue feeds through setters);
 * - Node's process metrics (prom-client `collectDefaultMetrics`, its default names; the event-loop delay sampled
 *   every `octobridge.metrics.event-loop-resolution`, 100 ms, not prom-client's 10: metrics/settings.ts).
 *
 * Nothing here measures: {@link attachMetrics} (attach.ts) feeds the metrics from the running
 * bridge, on events, on each stats run (every `videobridge.stats.interval`, as JVB updates its
 * periodic metrics) and, for in-memory state, just before a scrape. A scrape does no I/O.
 *
 * Units are the metric's: JVB's (`*_bitrate` bps, `*_packet_rate` packets/s, `average_rtt` ms,
 * `startup_time` ms since the epoch, `conference_seconds` s) and base units for octobridge's
 * (seconds, bytes, bits per second).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_OPENMETRICS,
  CONTENT_TYPE_TEXT,
  negotiateFormat,
  toJvbJson,
  toOpenMetrics,
  type JsonKind,
  type RenderedMetrics,
} from './exposition.ts';
import { DEFAULT_METRICS, type MetricsSettings } from './settings.ts';

/** JVB's namespace (`VideobridgeMetricsContainer(namespace = "jitsi_jvb")`). */
export const JVB_NAMESPACE = 'jitsi_jvb';
/** Prefix of octobridge's own metrics. */
export const OCTOBRIDGE_PREFIX = 'octobridge';

/** JVB's `conferenceSizeBuckets`: 0, 1, ... 20 endpoints. */
export const CONFERENCE_SIZE_BUCKETS = Array.from({ length: 21 }, (_, i) => i);
/** Buckets of {@link Metrics.allocationSeconds}, s. */
export const ALLOCATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Direction of a pipe or relay bitrate. */
export type Direction = 'incoming' | 'outgoing';

/** See the module docstring. One per process (or per test). */
export class Metrics {
  readonly registry = new Registry();
  readonly #json = new Map<string, JsonKind>();
  readonly #info = new Set<string>();
  readonly #beforeScrape: (() => void)[] = [];
  /** WireGuard peer → latest handshake (ms since the epoch) and region, for the age computed at scrape. */
  readonly #handshakes = new Map<string, { at: number; region: string }>();
  /** WireGuard peer → the region label its series carry (to remove them). */
  readonly #wgRegions = new Map<string, string>();

  // ---------------------------------------------------------------- JVB: lifecycle and XMPP
  readonly gracefulShutdown: Gauge;
  readonly shuttingDown: Gauge;
  readonly drainMode: Gauge;
  readonly healthy: Gauge;
  /** ms since the epoch. */
  readonly startupTime: Gauge;
  readonly stress: Gauge;
  readonly xmppDisconnects: Counter;
  readonly mucClientsConfigured: Gauge;
  readonly mucClientsConnected: Gauge;
  /** JVB's `mucs_connected` (its help says what it counts: MUCs configured). */
  readonly mucsConfigured: Gauge;
  readonly mucsJoined: Gauge;
  readonly regionInfo: Gauge<'region'>;

  // ---------------------------------------------------------------- JVB: conferences and endpoints
  readonly conferences: Gauge;
  readonly conferencesCreated: Counter;
  readonly conferencesCompleted: Counter;
  /** s. */
  readonly conferenceSeconds: Counter;
  readonly endpointsCreated: Counter;
  readonly localEndpoints: Gauge;
  readonly visitorsCreated: Counter;
  readonly currentVisitors: Gauge;
  readonly endpointsNoMessageTransportAfterDelay: Counter;
  readonly endpointsIceFailed: Counter;
  readonly endpointsDtlsFailed: Counter;
  readonly iceSucceeded: Counter;
  readonly iceFailed: Counter;

  // ---------------------------------------------------------------- JVB: traffic
  readonly packetsReceived: Counter;
  readonly packetsSent: Counter;
  /** Bytes. */
  readonly bytesReceived: Counter;
  readonly bytesSent: Counter;

  // ---------------------------------------------------------------- JVB: bridge channel
  readonly dataChannelMessagesReceived: Counter;
  readonly dataChannelMessagesSent: Counter;
  readonly colibriWebSocketMessagesReceived: Counter;
  readonly colibriWebSocketMessagesSent: Counter;
  readonly colibriWebSocketCloseNormal: Counter;
  readonly colibriWebSocketCloseAbnormal: Counter;
  readonly colibriWebSocketErrors: Counter;

  // ---------------------------------------------------------------- JVB: periodic (every stats run)
  readonly incomingLoss: Gauge;
  readonly outgoingLoss: Gauge;
  readonly loss: Gauge;
  /** bps. */
  readonly incomingBitrate: Gauge;
  readonly outgoingBitrate: Gauge;
  /** packets/s. */
  readonly incomingPacketRate: Gauge;
  readonly outgoingPacketRate: Gauge;
  /** ms. */
  readonly averageRtt: Gauge;
  readonly largestConference: Gauge;
  readonly currentEndpoints: Gauge;
  readonly endpointsWithHighOutgoingLoss: Gauge;
  readonly activeEndpoints: Gauge;
  readonly endpointsSendingAudio: Gauge;
  readonly endpointsSendingVideo: Gauge;
  readonly endpointsRecvOnly: Gauge;
  readonly endpointsInactive: Gauge;
  readonly conferencesInactive: Gauge;
  readonly conferencesP2p: Gauge;
  readonly conferencesBySize: Histogram;
  readonly conferencesByAudioSender: Histogram;
  readonly conferencesByVideoSender: Histogram;

  // ---------------------------------------------------------------- octobridge
  /** s, per worker pid. */
  readonly workerCpuSeconds: Counter<'worker'>;
  /** Bytes, per worker pid. */
  readonly workerMaxRssBytes: Gauge<'worker'>;
  readonly workerRouters: Gauge<'worker'>;
  readonly workerTransports: Gauge<'worker'>;
  readonly workerProducers: Gauge<'worker'>;
  readonly workerConsumers: Gauge<'worker'>;
  /** s. */
  readonly allocationSeconds: Histogram;
  readonly colibri2Requests: Counter<'result'>;
  readonly bridgeChannelMessages: Counter<'transport' | 'direction'>;
  readonly bridgeChannelMalformed: Counter;
  /** Items refused or dropped by an `octobridge.limits.*` limit, by limit (limits/limits.ts `LimitName`). */
  readonly limitExceeded: Counter<'limit'>;
  /** RTP packets from senders that producers dropped (payload type never negotiated, sequence number out of range). */
  readonly rtpPacketsDiscarded: Counter;
  readonly xmppConnected: Gauge<'connection'>;
  /** bps. */
  readonly pipeBitrate: Gauge<'pipe' | 'direction'>;
  readonly relayBitrate: Gauge<'relay' | 'direction'>;
  /** s, per WireGuard peer (`peer` = the public key's first 8 characters) and its region. */
  readonly wireguardHandshakeAge: Gauge<'peer' | 'region'>;
  /** 0/1, per WireGuard peer. */
  readonly wireguardPeerUp: Gauge<'peer' | 'region'>;
  /** s: round trip of a probe through the tunnel, per WireGuard peer. */
  readonly relayRtt: Gauge<'peer' | 'region'>;

  /**
   * @param options.processMetrics register Node's process metrics (default true)
   * @param options.eventLoopResolutionMs period of their event-loop delay sampler, ms (default
   *   {@link DEFAULT_METRICS}; see {@link MetricsSettings})
   */
  constructor(options: { processMetrics?: boolean; eventLoopResolutionMs?: number } = {}) {
    const jvb = (name: string): string => `${JVB_NAMESPACE}_${name}`;
    const own = (name: string): string => `${OCTOBRIDGE_PREFIX}_${name}`;

    this.gracefulShutdown = this.#bool(jvb('graceful_shutdown'), 'Whether the bridge is in graceful shutdown mode (not accepting new conferences).');
    this.shuttingDown = this.#bool(jvb('shutting_down'), 'Whether the bridge is shutting down.');
    this.drainMode = this.#bool(jvb('drain_mode'), 'Whether the bridge is in drain shutdown mode.');
    this.healthy = this.#bool(jvb('healthy'), 'Whether the Videobridge instance is healthy or not.');
    this.startupTime = this.#gauge(jvb('startup_time'), 'The startup time of the service.');
    this.stress = this.#gauge(jvb('stress'), 'Current stress (between 0 and 1).');
    this.xmppDisconnects = this.#counter(jvb('xmpp_disconnects'), 'The number of times one of the XMPP connections has disconnected.');
    this.mucClientsConfigured = this.#gauge(jvb('muc_clients_configured'), 'Number of MUC clients that are configured.');
    this.mucClientsConnected = this.#gauge(jvb('muc_clients_connected'), 'Number of MUC clients that are connected.');
    this.mucsConfigured = this.#gauge(jvb('mucs_connected'), 'Number of MUCs that are configured.');
    this.mucsJoined = this.#gauge(jvb('mucs_joined'), 'Number of MUCs that are joined.');
    this.regionInfo = new Gauge({ name: jvb('region_info'), help: 'The currently configured region.', labelNames: ['region'], registers: [this.registry] });
    this.#json.set(jvb('region_info'), 'info');
    this.#info.add(jvb('region_info'));

    this.conferences = this.#gauge(jvb('conferences'), 'Current number of conferences.');
    this.conferencesCreated = this.#counter(jvb('conferences_created'), 'The total number of conferences created on the Videobridge.');
    this.conferencesCompleted = this.#counter(jvb('conferences_completed'), 'The total number of conferences completed/expired on the Videobridge.');
    this.conferenceSeconds = this.#counter(jvb('conference_seconds'), 'The total duration in seconds of all completed conferences.');
    this.endpointsCreated = this.#counter(jvb('endpoints'), 'The total number of endpoints created.');
    this.localEndpoints = this.#gauge(jvb('local_endpoints'), 'Number of local endpoints that exist currently.');
    this.visitorsCreated = this.#counter(jvb('visitors'), 'The total number of visitor endpoints created.');
    this.currentVisitors = this.#gauge(jvb('current_visitors'), 'Number of visitor endpoints.');
    this.endpointsNoMessageTransportAfterDelay = this.#counter(
      jvb('endpoints_no_message_transport_after_delay'),
      'Number of endpoints which had not established a relay message transport even after some delay.',
    );
    this.endpointsIceFailed = this.#counter(jvb('endpoints_ice_failed'), 'Number of endpoints for which ICE failed to establish.');
    this.endpointsDtlsFailed = this.#counter(
      jvb('endpoints_dtls_failed'),
      "Number of endpoints whose ICE connection was established, but DTLS wasn't (at time of expiration).",
    );
    this.iceSucceeded = this.#counter(jvb('ice_succeeded'), 'Number of times an ICE Agent succeeded.');
    this.iceFailed = this.#counter(jvb('ice_failed'), 'Number of times an ICE Agent failed to establish connectivity.');

    this.packetsReceived = this.#counter(jvb('packets_received'), 'Number of RTP packets received in conferences on this videobridge.');
    this.packetsSent = this.#counter(jvb('packets_sent'), 'Number of RTP packets sent in conferences on this videobridge.');
    this.bytesReceived = this.#counter(jvb('bytes_received'), 'The total number of bytes received in RTP packets.');
    this.bytesSent = this.#counter(jvb('bytes_sent'), 'The total number of bytes sent in RTP packets.');

    const dcReceived = 'Number of messages received from the data channels of the endpoints of this conference.';
    const dcSent = 'Number of messages sent via the data channels of the endpoints of this conference.';
    this.dataChannelMessagesReceived = this.#counter(jvb('data_channel_messages_received'), dcReceived);
    this.dataChannelMessagesSent = this.#counter(jvb('data_channel_messages_sent'), dcSent);
    // JVB registers the websocket counters with the data channel help texts.
    this.colibriWebSocketMessagesReceived = this.#counter(jvb('colibri_web_socket_messages_received'), dcReceived);
    this.colibriWebSocketMessagesSent = this.#counter(jvb('colibri_web_socket_messages_sent'), dcSent);
    this.colibriWebSocketCloseNormal = this.#counter(jvb('colibri_web_socket_close_normal'), 'Number of times a colibri web socket was closed normally.');
    this.colibriWebSocketCloseAbnormal = this.#counter(jvb('colibri_web_socket_close_abnormal'), 'Number of times a colibri web socket was closed abnormally.');
    this.colibriWebSocketErrors = this.#counter(jvb('colibri_web_socket_error'), 'Number of times a colibri web socket reported an error.');

    this.incomingLoss = this.#gauge(jvb('incoming_loss_fraction'), 'Fraction of incoming RTP packets that are lost.');
    this.outgoingLoss = this.#gauge(jvb('outgoing_loss_fraction'), 'Fraction of outgoing RTP packets that are lost.');
    this.loss = this.#gauge(jvb('loss_fraction'), 'Fraction of RTP packets that are lost (incoming and outgoing combined).');
    this.incomingBitrate = this.#gauge(jvb('incoming_bitrate'), 'Incoming RTP/RTCP bitrate in bps.');
    this.outgoingBitrate = this.#gauge(jvb('outgoing_bitrate'), 'Outgoing RTP/RTCP bitrate in bps.');
    this.incomingPacketRate = this.#gauge(jvb('incoming_packet_rate'), 'Incoming RTP/RTCP packet rate in pps.');
    this.outgoingPacketRate = this.#gauge(jvb('outgoing_packet_rate'), 'Outgoing RTP/RTCP packet rate in pps.');
    this.averageRtt = this.#gauge(jvb('average_rtt'), 'Average RTT across all local endpoints in ms.');
    this.largestConference = this.#gauge(jvb('largest_conference'), 'The size of the largest conference (number of endpoints).');
    this.currentEndpoints = this.#gauge(jvb('current_endpoints'), 'Number of current endpoints (local and relayed).');
    this.endpointsWithHighOutgoingLoss = this.#gauge(jvb('endpoints_with_high_outgoing_loss'), 'Number of endpoints that have high outgoing loss (>10%).');
    this.activeEndpoints = this.#gauge(
      jvb('active_endpoints'),
      'The number of active local endpoints (in a conference where at least one endpoint sends audio or video).',
    );
    this.endpointsSendingAudio = this.#gauge(jvb('endpoints_sending_audio'), 'The number of local endpoints sending audio.');
    this.endpointsSendingVideo = this.#gauge(jvb('endpoints_sending_video'), 'The number of local endpoints sending video.');
    this.endpointsRecvOnly = this.#gauge(jvb('endpoints_recvonly'), 'Number of endpoints that are not sending audio or video (but are receiveing).');
    this.endpointsInactive = this.#gauge(jvb('endpoints_inactive'), 'Number of endpoints in inactive conferences (where no endpoint sends audio or video).');
    this.conferencesInactive = this.#gauge(jvb('conferences_inactive'), 'Number of inactive conferences (no endpoint is sending audio or video).');
    this.conferencesP2p = this.#gauge(jvb('conferences_p2p'), 'Number of p2p conferences (inactive with 2 endpoints).');
    this.conferencesBySize = this.#histogram(jvb('conferences_by_size'), 'Histogram of conferences by total number of endpoints.', CONFERENCE_SIZE_BUCKETS);
    this.conferencesByAudioSender = this.#histogram(
      jvb('conferences_by_audio_sender'),
      'Histogram of conferences by number of local endpoints sending audio.',
      CONFERENCE_SIZE_BUCKETS,
    );
    this.conferencesByVideoSender = this.#histogram(
      jvb('conferences_by_video_sender'),
      'Histogram of conferences by number of local endpoints sending video.',
      CONFERENCE_SIZE_BUCKETS,
    );

    const reg = [this.registry];
    this.workerCpuSeconds = new Counter({
      name: own('worker_cpu_seconds_total'),
      help: 'CPU time (user + system) a mediasoup worker has used, in seconds (updated every stats interval).',
      labelNames: ['worker'],
      registers: reg,
    });
    this.workerMaxRssBytes = new Gauge({
      name: own('worker_max_rss_bytes'),
      help: 'Peak resident set size of a mediasoup worker, in bytes (updated every stats interval).',
      labelNames: ['worker'],
      registers: reg,
    });
    this.workerRouters = new Gauge({
      name: own('worker_routers'),
      help: 'Routers (one per conference) on a mediasoup worker.',
      labelNames: ['worker'],
      registers: reg,
    });
    this.workerTransports = new Gauge({
      name: own('worker_transports'),
      help: 'Transports on a mediasoup worker (one WebRTC transport per endpoint, a few spare ones per conference made ahead of its next allocations, plus direct and pipe transports).',
      labelNames: ['worker'],
      registers: reg,
    });
    this.workerProducers = new Gauge({
      name: own('worker_producers'),
      help: 'Producers (received RTP streams) on a mediasoup worker.',
      labelNames: ['worker'],
      registers: reg,
    });
    this.workerConsumers = new Gauge({
      name: own('worker_consumers'),
      help: 'Consumers (forwarded RTP streams) on a mediasoup worker.',
      labelNames: ['worker'],
      registers: reg,
    });
    this.allocationSeconds = this.#histogram(
      own('colibri2_allocation_seconds'),
      'Time the bridge took to answer a colibri2 conference-modify that allocated endpoints, in seconds (successful ones).',
      ALLOCATION_BUCKETS,
    );
    this.colibri2Requests = new Counter({
      name: own('colibri2_requests_total'),
      help: 'colibri2 conference-modify requests answered, by result (ok, or the XMPP error condition).',
      labelNames: ['result'],
      registers: reg,
    });
    this.bridgeChannelMessages = new Counter({
      name: own('bridge_channel_messages_total'),
      help: 'Bridge channel messages, by transport (sctp: data channel, ws: colibri-ws) and direction (received, sent).',
      labelNames: ['transport', 'direction'],
      registers: reg,
    });
    this.bridgeChannelMalformed = this.#counter(own('bridge_channel_malformed_messages_total'), 'Malformed bridge channel messages dropped.');
    this.limitExceeded = new Counter({
      name: own('limit_exceeded_total'),
      help: 'Joins, colibri2 creates, source updates and bridge channel messages refused or dropped by a limit (octobridge.limits), by limit.',
      labelNames: ['limit'],
      registers: reg,
    });
    this.rtpPacketsDiscarded = this.#counter(
      own('rtp_packets_discarded_total'),
      'RTP packets from senders dropped on arrival: a payload type the endpoint never negotiated, or a sequence number out of range (counted every 5 s).',
    );
    this.xmppConnected = new Gauge({
      name: own('xmpp_connected'),
      help: 'Whether a brewery XMPP connection is online (1) or not (0), by connection id.',
      labelNames: ['connection'],
      registers: reg,
    });
    this.pipeBitrate = new Gauge({
      name: own('pipe_bits_per_second'),
      help: 'Bitrate of a pipe transport between mediasoup workers, in bits per second (set by the pipe owner).',
      labelNames: ['pipe', 'direction'],
      registers: reg,
    });
    this.relayBitrate = new Gauge({
      name: own('relay_bits_per_second'),
      help: 'Bitrate of a relay (bridge-to-bridge) connection, in bits per second (set by the relay owner).',
      labelNames: ['relay', 'direction'],
      registers: reg,
    });
    this.wireguardHandshakeAge = new Gauge({
      name: own('wireguard_handshake_age_seconds'),
      help: "Time since a WireGuard peer's latest handshake, in seconds.",
      labelNames: ['peer', 'region'],
      registers: reg,
    });
    this.wireguardPeerUp = new Gauge({
      name: own('wireguard_peer_up'),
      help: 'Whether a WireGuard peer is up (1: recent handshake and answering probes through the tunnel) or not (0).',
      labelNames: ['peer', 'region'],
      registers: reg,
    });
    this.relayRtt = new Gauge({
      name: own('relay_rtt_seconds'),
      help: 'Round-trip time to a WireGuard peer through the tunnel (ICMP echo to its tunnel address), in seconds.',
      labelNames: ['peer', 'region'],
      registers: reg,
    });
    this.beforeScrape(() => {
      const now = Date.now();
      for (const [peer, { at, region }] of this.#handshakes) this.wireguardHandshakeAge.set({ peer, region }, Math.max(0, (now - at) / 1000));
    });

    if (options.processMetrics ?? true) {
      const eventLoopMonitoringPrecision = options.eventLoopResolutionMs ?? DEFAULT_METRICS.eventLoopResolutionMs;
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision });
    }
  }

  #counter(name: string, help: string): Counter {
    const full = name.endsWith('_total') ? name : `${name}_total`;
    this.#json.set(full, 'number');
    return new Counter({ name: full, help, registers: [this.registry] });
  }

  #gauge(name: string, help: string): Gauge {
    this.#json.set(name, 'number');
    return new Gauge({ name, help, registers: [this.registry] });
  }

  #bool(name: string, help: string): Gauge {
    this.#json.set(name, 'boolean');
    return new Gauge({ name, help, registers: [this.registry] });
  }

  #histogram(name: string, help: string, buckets: number[]): Histogram {
    this.#json.set(name, 'histogram');
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }

  /** Run `fn` at the start of every render (in-memory reads only: no I/O, nothing async). */
  beforeScrape(fn: () => void): () => void {
    this.#beforeScrape.push(fn);
    return () => {
      const i = this.#beforeScrape.indexOf(fn);
      if (i >= 0) this.#beforeScrape.splice(i, 1);
    };
  }

  /** Set the `jitsi_jvb_region_info{region}` series (JVB registers it when a region is configured). */
  setRegion(region: string | undefined): void {
    this.regionInfo.reset();
    if (region) this.regionInfo.set({ region }, 1);
  }

  // ---------------------------------------------------------------- setters for the relay issue

  /** A pipe transport's bitrate, bps. Nothing is exported for a pipe until this is called. */
  setPipeBitrate(pipe: string, direction: Direction, bps: number): void {
    this.pipeBitrate.set({ pipe, direction }, bps);
  }

  /** Stop exporting a pipe (closed). */
  removePipe(pipe: string): void {
    for (const direction of ['incoming', 'outgoing'] as const) this.pipeBitrate.remove({ pipe, direction });
  }

  /** A relay's bitrate, bps (`relay` = the remote relay id). Nothing is exported until this is called. */
  setRelayBitrate(relay: string, direction: Direction, bps: number): void {
    this.relayBitrate.set({ relay, direction }, bps);
  }

  /**
   * Stop exporting a mediasoup worker's series (`worker` = its pid): it died and a replacement
   * (another pid) took its place.
   */
  removeWorker(worker: string): void {
    for (const m of [this.workerCpuSeconds, this.workerMaxRssBytes, this.workerRouters, this.workerTransports, this.workerProducers, this.workerConsumers]) {
      m.remove({ worker });
    }
  }

  /** Stop exporting a relay (expired). */
  removeRelay(relay: string): void {
    for (const direction of ['incoming', 'outgoing'] as const) this.relayBitrate.remove({ relay, direction });
  }

  /**
   * A WireGuard peer's latest handshake, ms since the epoch (`wg show latest-handshakes` × 1000);
   * the exported age is computed at each scrape. 0 or undefined (no handshake yet) removes the
   * peer's age series. `region`: the peer's (label; empty = none).
   */
  setWireGuardHandshake(peer: string, latestHandshakeMs: number | undefined, region = ''): void {
    this.#wgRegion(peer, region);
    if (!latestHandshakeMs) {
      this.#handshakes.delete(peer);
      this.wireguardHandshakeAge.remove({ peer, region });
      return;
    }
    this.#handshakes.set(peer, { at: latestHandshakeMs, region });
  }

  /** Whether a WireGuard peer is up (`octobridge_wireguard_peer_up` 1/0). */
  setWireGuardPeerUp(peer: string, up: boolean, region = ''): void {
    this.#wgRegion(peer, region);
    this.wireguardPeerUp.set({ peer, region }, up ? 1 : 0);
  }

  /** The RTT to a WireGuard peer through the tunnel, seconds; null (no answer, no probe) removes the series. */
  setRelayRtt(peer: string, seconds: number | null, region = ''): void {
    this.#wgRegion(peer, region);
    if (seconds === null) this.relayRtt.remove({ peer, region });
    else this.relayRtt.set({ peer, region }, seconds);
  }

  /** Stop exporting a WireGuard peer (handshake age, up, RTT). */
  removeWireGuardPeer(peer: string): void {
    const region = this.#wgRegions.get(peer) ?? '';
    this.#wgRegions.delete(peer);
    this.#handshakes.delete(peer);
    for (const g of [this.wireguardHandshakeAge, this.wireguardPeerUp, this.relayRtt]) g.remove({ peer, region });
  }

  /** Remember the region label of `peer`'s series; a changed region drops the old series. */
  #wgRegion(peer: string, region: string): void {
    const old = this.#wgRegions.get(peer);
    if (old !== undefined && old !== region) this.removeWireGuardPeer(peer);
    this.#wgRegions.set(peer, region);
  }

  // ---------------------------------------------------------------- rendering

  /**
   * The `/metrics` answer for an `Accept` header (exposition.ts: text 0.0.4 by default,
   * OpenMetrics or JVB's JSON when asked). Reads cached values only.
   */
  async render(accept?: string): Promise<RenderedMetrics> {
    for (const fn of this.#beforeScrape) fn();
    const format = negotiateFormat(accept);
    if (format === 'text') return { contentType: CONTENT_TYPE_TEXT, body: await this.registry.metrics() };
    const families = await this.registry.getMetricsAsJSON();
    if (format === 'openmetrics') return { contentType: CONTENT_TYPE_OPENMETRICS, body: toOpenMetrics(families, this.#info) };
    return { contentType: CONTENT_TYPE_JSON, body: JSON.stringify(toJvbJson(families, this.#json, JVB_NAMESPACE)) };
  }

  /** Every metric family name this registry exports (for checks such as the dashboard test). */
  metricNames(): string[] {
    return this.registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name);
  }
}
