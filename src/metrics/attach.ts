/**
 * Feeds a {@link Metrics} from the running bridge (see Metrics.ts for what is exported):
 *
 * - events: conferences and endpoints created/expired (Videobridge), endpoint ICE/DTLS states
 *   (MediaEndpoint), mediasoup routers/transports/producers/consumers (the worker's observer);
 * - every stats run (StatsCollector `updated`, each `videobridge.stats.interval`, as JVB's
 *   `VideobridgePeriodicMetrics.update`): bitrates, packet rates, loss, RTT, traffic totals,
 *   worker CPU, and the conference-shape gauges and histograms;
 * - just before a scrape, in-memory reads only: current conferences/endpoints/visitors, drain and
 *   shutdown flags, health, XMPP state, bridge-channel counters;
 * - colibri2 latency: the Videobridge's `colibri2Request` event, one per `conferenceModify` (so the XMPP
 *   layer, the embedded focus and any REST caller are all measured; the XML parse and serialise
 *   around it are not).
 *
 * Definitions where octobridge differs from JVB's internals:
 * - "sending audio/video" (endpoints_sending_*, conferences_by_*_sender) is the presence's: a
 *   signalled, not force-muted source of that kind; "active" (active_endpoints, endpoints_inactive,
 *   endpoints_recvonly, conferences_inactive, conferences_p2p) is "RTP arrived from the endpoint
 *   during the last stats interval", the way JVB's transceiver decides;
 * - endpoints_ice_failed / ice_failed: an endpoint expired without ICE ever connecting although its
 *   DTLS/ICE parameters were applied (the client answered). mediasoup is ICE-lite, so a client that
 *   cannot reach the bridge is only visible as silence;
 * - endpoints_dtls_failed: an endpoint expired with ICE connected at some point and DTLS never;
 * - packets/bytes counters grow every stats interval from each endpoint's increase (JVB adds an
 *   endpoint's totals when it expires); bytes are transport bytes.
 */
import type { Conference } from '../conference/Conference.ts';
import type { Endpoint } from '../conference/Endpoint.ts';
import type { Videobridge } from '../conference/Videobridge.ts';
import type { ChannelCounters } from '../channel/BridgeChannel.ts';
import type { Logger } from '../logger.ts';
import type { MediaEngine } from '../media/MediaEngine.ts';
import type { BreweryConnection } from '../xmpp/BreweryConnection.ts';
import type { RenderedMetrics } from './exposition.ts';
import { Metrics } from './Metrics.ts';
import type { PeriodicStats, StatsCollector, TrafficTotals } from './StatsCollector.ts';

/** JVB `Endpoint.scheduleEndpointMessageTransportTimeout`: 30 s. */
export const MESSAGE_TRANSPORT_TIMEOUT_MS = 30_000;

/** How long an expired endpoint's channel counters are still read (its websocket's close comes after the expiry), ms. */
const DEPARTED_CHANNEL_MS = 60_000;

/** JVB's threshold for `endpoints_with_high_outgoing_loss`. */
const HIGH_OUTGOING_LOSS = 0.1;

/** What {@link attachMetrics} reads. */
export interface MetricsSources {
  videobridge: Videobridge;
  media: MediaEngine;
  stats: StatsCollector;
  /** Brewery connections (none in standalone mode). */
  xmpp?: readonly BreweryConnection[];
  /** bridge.ts's health check (undefined = healthy); default: the media engine's health. */
  healthProblem?: () => string | undefined;
  /** `videobridge.relay.region` (JVB_OCTO_REGION): exported as `jitsi_jvb_region_info{region}`. */
  region?: string;
  /** For a failure while updating the periodic metrics (logged, never thrown into the stats run). */
  log?: Logger;
}

/** A running attachment: the metrics, the `/metrics` renderer, and how to stop feeding them. */
export interface MetricsAttachment {
  readonly metrics: Metrics;
  /** `PrivateServerOptions.metrics`: the answer for an `Accept` header (text 0.0.4 by default). */
  readonly renderMetrics: (accept: string | undefined) => Promise<RenderedMetrics>;
  /** Remove every listener and timer. */
  detach(): void;
}

/** A mediasoup worker and router, as the media engine exposes them (no mediasoup import here). */
type Worker = MediaEngine['workers'][number]['worker'];
type Router = Awaited<ReturnType<Worker['createRouter']>>;

interface TrackedEndpoint {
  endpoint: Endpoint;
  channel: ChannelCounters;
  iceConnected: boolean;
  dtlsConnected: boolean;
  timer: NodeJS.Timeout;
  off: () => void;
}

const CHANNEL_FIELDS = ['sctpReceived', 'sctpSent', 'wsReceived', 'wsSent', 'malformed', 'wsCloseNormal', 'wsCloseAbnormal', 'wsErrors'] as const;

/**
 * Start feeding `metrics` (a new one by default) from the bridge's parts. Call once, after the
 * parts exist and before conferences do (mediasoup objects created before are not counted).
 */
export function attachMetrics(sources: MetricsSources, metrics: Metrics = new Metrics()): MetricsAttachment {
  const { videobridge, media, stats } = sources;
  const xmpp = sources.xmpp ?? [];
  const m = metrics;
  const cleanups: (() => void)[] = [];
  const on = <A extends unknown[]>(
    emitter: { on(e: string, l: (...a: A) => void): unknown; off(e: string, l: (...a: A) => void): unknown },
    event: string,
    listener: (...a: A) => void,
  ): void => {
    emitter.on(event, listener);
    cleanups.push(() => emitter.off(event, listener));
  };

  m.startupTime.set(videobridge.startedAt);
  m.setRegion(sources.region);

  // ------------------------------------------------------------ conferences and endpoints
  const tracked = new Map<string, TrackedEndpoint>();
  /** Expired endpoints whose colibri-ws may still report its close (the closing handshake ends later). */
  const departed = new Map<TrackedEndpoint, number>();
  const key = (c: Conference, id: string): string => `${c.id}\u0000${id}`;

  /** Add each tracked channel's counter increases (and a departed one's last ones). */
  const syncChannel = (t: TrackedEndpoint): void => {
    const cur = t.endpoint.channel.counters;
    const d = Object.fromEntries(CHANNEL_FIELDS.map((f) => [f, Math.max(0, cur[f] - t.channel[f])])) as Record<(typeof CHANNEL_FIELDS)[number], number>;
    for (const f of CHANNEL_FIELDS) t.channel[f] = cur[f];
    if (d.sctpReceived) {
      m.dataChannelMessagesReceived.inc(d.sctpReceived);
      m.bridgeChannelMessages.inc({ transport: 'sctp', direction: 'received' }, d.sctpReceived);
    }
    if (d.sctpSent) {
      m.dataChannelMessagesSent.inc(d.sctpSent);
      m.bridgeChannelMessages.inc({ transport: 'sctp', direction: 'sent' }, d.sctpSent);
    }
    if (d.wsReceived) {
      m.colibriWebSocketMessagesReceived.inc(d.wsReceived);
      m.bridgeChannelMessages.inc({ transport: 'ws', direction: 'received' }, d.wsReceived);
    }
    if (d.wsSent) {
      m.colibriWebSocketMessagesSent.inc(d.wsSent);
      m.bridgeChannelMessages.inc({ transport: 'ws', direction: 'sent' }, d.wsSent);
    }
    if (d.malformed) m.bridgeChannelMalformed.inc(d.malformed);
    if (d.wsCloseNormal) m.colibriWebSocketCloseNormal.inc(d.wsCloseNormal);
    if (d.wsCloseAbnormal) m.colibriWebSocketCloseAbnormal.inc(d.wsCloseAbnormal);
    if (d.wsErrors) m.colibriWebSocketErrors.inc(d.wsErrors);
  };

  on(videobridge, 'conferenceCreated', () => m.conferencesCreated.inc());
  on(videobridge, 'conferenceExpired', (c: Conference) => {
    m.conferencesCompleted.inc();
    m.conferenceSeconds.inc(Math.round((Date.now() - c.createdAt) / 1000));
  });
  on(videobridge, 'endpointCreated', (c: Conference, e: Endpoint) => {
    m.endpointsCreated.inc();
    if (e.visitor) m.visitorsCreated.inc();
    const t: TrackedEndpoint = {
      endpoint: e,
      channel: Object.fromEntries(CHANNEL_FIELDS.map((f) => [f, 0])) as unknown as ChannelCounters,
      iceConnected: false,
      dtlsConnected: false,
      timer: setTimeout(() => {
        if (tracked.get(key(c, e.id)) === t && !e.channel.isOpen) m.endpointsNoMessageTransportAfterDelay.inc();
      }, MESSAGE_TRANSPORT_TIMEOUT_MS),
      off: () => undefined,
    };
    t.timer.unref();
    const onIce = (state: string): void => {
      if ((state === 'connected' || state === 'completed') && !t.iceConnected) {
        t.iceConnected = true;
        m.iceSucceeded.inc();
      }
    };
    const onDtls = (state: string): void => {
      if (state === 'connected') t.dtlsConnected = true;
    };
    e.mediaEndpoint.on('iceStateChange', onIce);
    e.mediaEndpoint.on('dtlsStateChange', onDtls);
    t.off = () => {
      clearTimeout(t.timer);
      e.mediaEndpoint.off('iceStateChange', onIce);
      e.mediaEndpoint.off('dtlsStateChange', onDtls);
    };
    tracked.set(key(c, e.id), t);
  });
  on(videobridge, 'endpointExpired', (c: Conference, id: string) => {
    const t = tracked.get(key(c, id));
    if (!t) return;
    tracked.delete(key(c, id));
    t.off();
    syncChannel(t);
    departed.set(t, Date.now());
    if (!t.iceConnected && t.endpoint.mediaEndpoint.connected) {
      m.endpointsIceFailed.inc();
      m.iceFailed.inc();
    }
    if (t.iceConnected && !t.dtlsConnected) m.endpointsDtlsFailed.inc();
  });
  cleanups.push(() => {
    for (const t of tracked.values()) t.off();
    tracked.clear();
    departed.clear();
  });
  /** Sync the live channels and the recently departed ones; forget those gone for a minute. */
  const syncChannels = (): void => {
    for (const t of tracked.values()) syncChannel(t);
    const now = Date.now();
    for (const [t, at] of departed) {
      syncChannel(t);
      if (now - at > DEPARTED_CHANNEL_MS) departed.delete(t);
    }
  };

  // ------------------------------------------------------------ colibri2 latency
  on(videobridge, 'colibri2Request', (result: string, ms: number, allocation: boolean) => {
    m.colibri2Requests.inc({ result });
    if (result === 'ok' && allocation) m.allocationSeconds.observe(ms / 1000);
  });

  // ------------------------------------------------------------ mediasoup objects per worker
  /** Pids of workers that died: their series are removed and must not come back. */
  const deadWorkers = new Set<string>();
  /** Each worker's CPU seconds already added to its counter. */
  const lastCpu = new Map<string, number>();
  const trackWorker = (worker: Worker): void => {
    const labels = { worker: String(worker.pid) };
    for (const g of [m.workerRouters, m.workerTransports, m.workerProducers, m.workerConsumers]) g.set(labels, 0);
    const count = (gauge: typeof m.workerRouters, observer: { once(e: 'close', l: () => void): unknown }): void => {
      gauge.inc(labels);
      // A dead worker's objects close after its series were removed: do not re-create them.
      observer.once('close', () => {
        if (!deadWorkers.has(labels.worker)) gauge.dec(labels);
      });
    };
    const onRouter = (router: Router): void => {
      count(m.workerRouters, router.observer);
      router.observer.on('newtransport', (transport) => {
        count(m.workerTransports, transport.observer);
        transport.observer.on('newproducer', (producer) => count(m.workerProducers, producer.observer));
        transport.observer.on('newconsumer', (consumer) => count(m.workerConsumers, consumer.observer));
      });
    };
    worker.observer.on('newrouter', onRouter);
    cleanups.push(() => worker.observer.off('newrouter', onRouter));
  };
  for (const slot of media.workers) trackWorker(slot.worker);
  const onWorkerStarted = (slot: MediaEngine['workers'][number]): void => trackWorker(slot.worker);
  media.on('workerStarted', onWorkerStarted);
  cleanups.push(() => media.off('workerStarted', onWorkerStarted));
  const onWorkerDied = (slot: MediaEngine['workers'][number]): void => {
    const worker = String(slot.worker.pid);
    deadWorkers.add(worker);
    lastCpu.delete(worker);
    m.removeWorker(worker);
  };
  media.on('workerDied', onWorkerDied);
  cleanups.push(() => media.off('workerDied', onWorkerDied));
  const onRtpDiscarded = (packets: number): void => m.rtpPacketsDiscarded.inc(packets);
  media.on('rtpDiscarded', onRtpDiscarded);
  cleanups.push(() => media.off('rtpDiscarded', onRtpDiscarded));

  // ------------------------------------------------------------ every stats run
  const lastTotals: TrafficTotals = { bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsSent: 0 };
  const onUpdated = (p: PeriodicStats): void => {
    m.incomingBitrate.set(Math.round(p.incomingBitrateBps));
    m.outgoingBitrate.set(Math.round(p.outgoingBitrateBps));
    m.incomingPacketRate.set(Math.round(p.incomingPacketRate));
    m.outgoingPacketRate.set(Math.round(p.outgoingPacketRate));
    m.incomingLoss.set(p.incomingLoss);
    m.outgoingLoss.set(p.outgoingLoss);
    m.loss.set(p.overallLoss);
    m.averageRtt.set(p.averageRttMs);
    m.stress.set(p.stress);
    const add = (counter: typeof m.bytesReceived, field: keyof TrafficTotals): void => {
      const d = p.totals[field] - lastTotals[field];
      if (d > 0) counter.inc(d);
      lastTotals[field] = Math.max(lastTotals[field], p.totals[field]);
    };
    add(m.bytesReceived, 'bytesReceived');
    add(m.bytesSent, 'bytesSent');
    add(m.packetsReceived, 'packetsReceived');
    add(m.packetsSent, 'packetsSent');
    for (const w of p.workers) {
      const worker = String(w.pid);
      if (deadWorkers.has(worker)) continue; // measured just before it died
      const before = lastCpu.get(worker) ?? 0;
      if (w.cpuSeconds > before) m.workerCpuSeconds.inc({ worker }, w.cpuSeconds - before);
      lastCpu.set(worker, Math.max(before, w.cpuSeconds));
      m.workerMaxRssBytes.set({ worker }, w.maxRssBytes);
    }
    updateConferenceShape(m, videobridge.conferences(), p);
    syncChannels();
  };
  on(stats, 'updated', (p: PeriodicStats) => {
    try {
      onUpdated(p);
    } catch (err) {
      sources.log?.warn({ err }, 'cannot update the periodic metrics');
    }
    void updateRelays();
  });

  // ------------------------------------------------------------ relays (bridge-to-bridge)
  /** Relays exported last time, by remote relay id (summed over conferences). */
  let relaysExported = new Set<string>();
  const updateRelays = async (): Promise<void> => {
    const sums = new Map<string, { in: number; out: number }>();
    for (const c of videobridge.conferences()) {
      for (const r of c.relays()) {
        try {
          const t = await r.media.traffic();
          const sum = sums.get(r.id) ?? { in: 0, out: 0 };
          sum.in += t.recvBitrate;
          sum.out += t.sendBitrate;
          sums.set(r.id, sum);
        } catch {
          // closed meanwhile
        }
      }
    }
    for (const [id, sum] of sums) {
      m.setRelayBitrate(id, 'incoming', sum.in);
      m.setRelayBitrate(id, 'outgoing', sum.out);
    }
    for (const id of relaysExported) if (!sums.has(id)) m.removeRelay(id);
    relaysExported = new Set(sums.keys());
  };

  // ------------------------------------------------------------ just before a scrape
  let disconnectsSeen = 0;
  cleanups.push(
    m.beforeScrape(() => {
      const conferences = videobridge.conferences();
      let endpoints = 0;
      let visitors = 0;
      for (const c of conferences) {
        endpoints += c.endpointCount;
        for (const e of c.endpoints()) if (e.visitor) visitors += 1;
      }
      m.conferences.set(conferences.length);
      m.localEndpoints.set(endpoints);
      m.currentVisitors.set(visitors);
      const snapshot = stats.snapshot();
      m.gracefulShutdown.set(snapshot.graceful_shutdown === true ? 1 : 0);
      m.shuttingDown.set(snapshot.shutting_down === true ? 1 : 0);
      m.drainMode.set(snapshot.drain === true ? 1 : 0);
      const healthy = sources.healthProblem ? sources.healthProblem() === undefined : media.healthy;
      m.healthy.set(healthy ? 1 : 0);
      m.mucClientsConfigured.set(xmpp.length);
      m.mucClientsConnected.set(xmpp.filter((x) => x.online).length);
      m.mucsConfigured.set(xmpp.reduce((n, x) => n + x.options.mucJids.length, 0));
      m.mucsJoined.set(xmpp.reduce((n, x) => n + x.joinedMucs.length, 0));
      for (const x of xmpp) m.xmppConnected.set({ connection: x.options.id }, x.online ? 1 : 0);
      const disconnects = xmpp.reduce((n, x) => n + x.disconnects, 0);
      if (disconnects > disconnectsSeen) m.xmppDisconnects.inc(disconnects - disconnectsSeen);
      disconnectsSeen = Math.max(disconnectsSeen, disconnects);
      syncChannels();
    }),
  );

  return {
    metrics: m,
    renderMetrics: (accept) => m.render(accept),
    detach() {
      for (const fn of cleanups.splice(0).reverse()) fn();
    },
  };
}

/**
 * JVB's conference-shape gauges and histograms from the current conferences and the last stats
 * run (`p.endpoints` says which endpoints sent RTP during the interval).
 */
function updateConferenceShape(m: Metrics, conferences: readonly Conference[], p: PeriodicStats): void {
  let endpoints = 0;
  let largest = 0;
  let sendingAudio = 0;
  let sendingVideo = 0;
  let active = 0;
  let inactiveEndpoints = 0;
  let recvOnly = 0;
  let highLoss = 0;
  let inactiveConferences = 0;
  let p2p = 0;
  m.conferencesBySize.reset();
  m.conferencesByAudioSender.reset();
  m.conferencesByVideoSender.reset();
  for (const c of conferences) {
    const list = c.endpoints();
    const size = list.length;
    endpoints += size;
    largest = Math.max(largest, size);
    let audio = 0;
    let video = 0;
    for (const e of list) {
      const kinds = e.mediaEndpoint.sendingKinds();
      if (kinds.has('audio')) audio += 1;
      if (kinds.has('video')) video += 1;
    }
    const sample = (e: Endpoint): { sending: boolean; outgoingLoss: number } | undefined => p.endpoints.get(e.mediaEndpoint);
    const isActive = list.some((e) => sample(e)?.sending === true);
    if (isActive) {
      active += size;
      for (const e of list) {
        const s = sample(e);
        if (!s?.sending) recvOnly += 1;
        if ((s?.outgoingLoss ?? 0) > HIGH_OUTGOING_LOSS) highLoss += 1;
      }
    } else {
      inactiveConferences += 1;
      inactiveEndpoints += size;
      if (size === 2) p2p += 1;
    }
    sendingAudio += audio;
    sendingVideo += video;
    m.conferencesBySize.observe(size);
    m.conferencesByAudioSender.observe(audio);
    m.conferencesByVideoSender.observe(video);
  }
  m.currentEndpoints.set(endpoints);
  m.largestConference.set(largest);
  m.endpointsSendingAudio.set(sendingAudio);
  m.endpointsSendingVideo.set(sendingVideo);
  m.activeEndpoints.set(active);
  m.endpointsInactive.set(inactiveEndpoints);
  m.endpointsRecvOnly.set(recvOnly);
  m.endpointsWithHighOutgoingLoss.set(highLoss);
  m.conferencesInactive.set(inactiveConferences);
  m.conferencesP2p.set(p2p);
}
