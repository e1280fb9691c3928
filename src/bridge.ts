/**
 * Assembles a running octobridge from a {@link Config}: WireGuard (when configured), media engine,
 * colibri2 bridge, bridge channel services, embedded focus (standalone mode) and the HTTP servers.
 * Used by main.ts and by the end-to-end tests (which run the bridge in-process on free ports).
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { ColibriWebSocketService } from './http/ColibriWebSocketService.ts';
import { Lifecycle } from './conference/Lifecycle.ts';
import { Videobridge } from './conference/Videobridge.ts';
import type { Config } from './config/config.ts';
import { RestColibri2Client } from './focus/RestColibri2Client.ts';
import { Focus } from './focus/Focus.ts';
import { videobridgeRestBackend } from './http/colibri2Rest.ts';
import { startPrivateServer } from './http/PrivateServer.ts';
import { startPublicServer } from './http/PublicServer.ts';
import type { Logger } from './logger.ts';
import type { OnLimit } from './limits/limits.ts';
import { MediaEngine } from './media/MediaEngine.ts';
import { attachMetrics } from './metrics/attach.ts';
import { Metrics } from './metrics/Metrics.ts';
import { WireGuardManager } from './wireguard/wireguard.ts';
import { StatsCollector } from './metrics/StatsCollector.ts';
import { BreweryConnection } from './xmpp/BreweryConnection.ts';

/** A running bridge. */
export interface RunningBridge {
  config: Config;
  videobridge: Videobridge;
  media: MediaEngine;
  focus: Focus | undefined;
  stats: StatsCollector;
  lifecycle: Lifecycle;
  /** Brewery connections to Jicofo's XMPP server(s) (none in standalone-only mode). */
  xmpp: BreweryConnection[];
  publicServer: http.Server;
  privateServer: http.Server;
  /** Actual public / private ports (differ from config when it said 0). */
  publicPort: number;
  privatePort: number;
  /** The WireGuard interface the relays run in (`octobridge.relay.wireguard`), undefined when not configured. */
  wireguard: WireGuardManager | undefined;
  close(): Promise<void>;
}

/**
 * Start everything. WireGuard comes first (its interface exists before anything announces the
 * relay address) and is stopped again when a later part fails to start.
 * `opts.wireguardNetns`: run the WireGuard commands in that network namespace (tests: the bridge
 * stays in the host namespace, its tunnel lives in a test namespace).
 * @throws Error when the worker cannot start, a port is taken, or the WireGuard interface cannot be
 * brought up (WireGuardError; the message says which).
 */
export async function startBridge(config: Config, log: Logger, opts: { wireguardNetns?: string } = {}): Promise<RunningBridge> {
  const metricsRegistry = new Metrics({ eventLoopResolutionMs: config.metrics.eventLoopResolutionMs });
  const wireguard = config.relay.wireguard
    ? new WireGuardManager(config.relay.wireguard, log.child({ component: 'wireguard' }), {
        metrics: metricsRegistry,
        ...(opts.wireguardNetns ? { netns: opts.wireguardNetns } : {}),
      })
    : undefined;
  await wireguard?.start();
  try {
    return await startParts(config, log, wireguard, metricsRegistry);
  } catch (err) {
    await wireguard?.stop();
    throw err;
  }
}

async function startParts(config: Config, log: Logger, wireguard: WireGuardManager | undefined, metricsRegistry: Metrics): Promise<RunningBridge> {
  const media = await MediaEngine.create(
    { ...config.media, videoCodecs: config.focus.videoCodecs, iceConsentTimeoutSec: 30 },
    log.child({ component: 'media' }),
  );
  const onLimit: OnLimit = (limit) => metricsRegistry.limitExceeded.inc({ limit });
  let wsAuthority = config.websockets.domains[0] ?? `127.0.0.1:${config.http.publicPort}`;
  const scheme = config.websockets.tls ? 'wss' : 'ws';
  const videobridge = new Videobridge(
    media,
    {
      sctpEnabled: config.sctp.enabled,
      videoCodecs: config.focus.videoCodecs,
      endpointExpireMs: config.media.endpointExpireMs,
      allocation: config.cc,
      recentSpeakersCount: config.recentSpeakersCount,
      connectionStatsIntervalMs: config.connectionStatsIntervalMs,
      statsFilterThreshold: config.statsFilterThreshold,
      ssrcLimits: config.ssrcLimits,
      limits: {
        maxConferences: config.limits.maxConferences,
        maxEndpoints: config.limits.maxEndpoints,
        channelMessagesPerSecond: config.limits.channelMessagesPerSecond,
        onLimit,
      },
      ...(config.relay.enabled && config.relay.relayId ? { relay: { enabled: true, relayId: config.relay.relayId, listenIp: relayListenIp(config) } } : {}),
      ...(config.announceVersion ? { announceVersion: config.version } : {}),
      ...(config.websockets.enabled
        ? {
            webSocketUrl: (conferenceId: string, endpointId: string, pwd: string) =>
              `${scheme}://${wsAuthority}/colibri-ws/${encodeURIComponent(config.websockets.serverId)}/${conferenceId}/${endpointId}?pwd=${pwd}`,
          }
        : {}),
    },
    log.child({ component: 'colibri2' }),
  );
  const colibriWs = config.websockets.enabled
    ? new ColibriWebSocketService(
        (conferenceId, endpointId) => {
          const endpoint = videobridge.conferenceById(conferenceId)?.endpoint(endpointId);
          return endpoint ? { password: endpoint.wsPassword, attach: (ws) => endpoint.channel.attachWebSocket(ws) } : undefined;
        },
        { serverId: config.websockets.serverId },
        log.child({ component: 'colibri-ws' }),
      )
    : undefined;
  const bridgeEvents = new EventEmitter<{ endpointExpired: [string, string, string]; endpointRelocated: [string, string] }>();
  videobridge.on('endpointExpired', (conference, id, reason) => bridgeEvents.emit('endpointExpired', conference.meetingId, id, reason));
  videobridge.on('endpointRelocated', (conference, id) => bridgeEvents.emit('endpointRelocated', conference.meetingId, id));
  const focus = config.focus.enabled
    ? new Focus(
        videobridge,
        {
          videoCodecs: config.focus.videoCodecs,
          events: bridgeEvents,
          allowedOrigins: config.focus.allowedOrigins,
          limits: {
            joinsPerAddressPerMinute: config.limits.joinsPerAddressPerMinute,
            sourceUpdatesPerSecond: config.limits.sourceUpdatesPerSecond,
            onLimit,
          },
          ...(config.focus.cascade.length > 0 && config.relay.relayId && config.relay.region
            ? {
                cascade: {
                  relayId: config.relay.relayId,
                  region: config.relay.region,
                  others: config.focus.cascade.map((b) => ({ relayId: b.relayId, region: b.region, client: new RestColibri2Client(b.url) })),
                },
              }
            : {}),
        },
        log.child({ component: 'focus' }),
      )
    : undefined;
  const publicServer = await startPublicServer(
    { host: config.http.publicHost, port: config.http.publicPort, ...(focus ? { focus } : {}), ...(colibriWs ? { colibriWs } : {}) },
    log.child({ component: 'http' }),
  );
  const publicPort = (publicServer.address() as AddressInfo).port;
  if (config.websockets.domains.length === 0) wsAuthority = `127.0.0.1:${publicPort}`;
  const lifecycle = new Lifecycle(videobridge, { initialDrain: config.initialDrain, ...config.shutdown }, log.child({ component: 'lifecycle' }));
  let xmpp: BreweryConnection[] = [];
  const stats = new StatsCollector(videobridge, media, {
    version: config.version,
    ...(config.region ? { region: config.region } : {}),
    ...(config.relayId ? { relayId: config.relayId } : {}),
    flags: () => ({
      ...lifecycle.flags(),
      muc_clients_configured: xmpp.length,
      muc_clients_connected: xmpp.filter((x) => x.online).length,
      mucs_joined: xmpp.reduce((n, x) => n + x.joinedMucs.length, 0),
    }),
  });
  stats.start(config.statsIntervalMs);
  xmpp = config.xmpp.connections.map(
    (c) =>
      new BreweryConnection(
        { ...c, presenceIntervalMs: config.xmpp.presenceIntervalMs },
        {
          conferenceModify: (req) => videobridge.conferenceModify(req),
          healthProblem: () => (media.healthy ? undefined : 'mediasoup worker is not running'),
          stats: () => stats.snapshot(),
          name: 'octobridge',
          version: config.version,
        },
        log.child({ component: 'xmpp' }),
      ),
  );
  const healthProblem = (): string | undefined => {
    if (!media.healthy) return 'mediasoup worker is not running';
    if (xmpp.length > 0 && !xmpp.some((x) => x.online)) return 'XMPP: not connected to any server';
    return wireguard?.healthProblem();
  };
  const metrics = attachMetrics(
    {
      videobridge,
      media,
      stats,
      xmpp,
      healthProblem,
      ...(config.region ? { region: config.region } : {}),
      log: log.child({ component: 'metrics' }),
    },
    metricsRegistry,
  );
  const privateServer = await startPrivateServer(
    {
      host: config.http.privateHost,
      port: config.http.privatePort,
      version: config.version,
      modules: config.rest,
      healthCheck: healthProblem,
      healthDetail: () => {
        const detail: Record<string, unknown> = {};
        if (wireguard) detail.wireguard = wireguard.healthDetail();
        // One UDP port configured, a port per worker in use: the deployment publishes only the first.
        if (media.udpPortProblem) detail.media = { udpPortMode: media.udpPortMode, problem: media.udpPortProblem };
        return Object.keys(detail).length > 0 ? detail : undefined;
      },
      stats: () => stats.snapshot(),
      lifecycle,
      metrics: (accept) => metrics.renderMetrics(accept),
      colibri: videobridgeRestBackend(videobridge),
      relayOutage: async (relayId, ms) => {
        let n = 0;
        for (const c of videobridge.conferences()) {
          const relay = c.relays().find((r) => r.id === relayId);
          if (relay) {
            await relay.media.outage(ms);
            n += 1;
          }
        }
        return n;
      },
    },
    log.child({ component: 'http-private' }),
  );
  const privatePort = (privateServer.address() as AddressInfo).port;
  for (const x of xmpp) x.start();
  log.info({ bridgeId: config.bridgeId, publicPort, privatePort, udpPort: config.media.udpPort, xmpp: xmpp.length }, 'octobridge started');
  let closed = false;
  return {
    config,
    videobridge,
    media,
    focus,
    stats,
    lifecycle,
    xmpp,
    publicServer,
    privateServer,
    publicPort,
    privatePort,
    wireguard,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(xmpp.map((x) => x.stop()));
      stats.stop();
      lifecycle.close();
      metrics.detach();
      focus?.close();
      colibriWs?.close();
      videobridge.close();
      media.close();
      publicServer.closeAllConnections();
      privateServer.closeAllConnections();
      await Promise.all([new Promise<void>((r) => publicServer.close(() => r())), new Promise<void>((r) => privateServer.close(() => r()))]);
      await wireguard?.stop();
    },
  };
}

/**
 * The address relay transports listen on: the WireGuard tunnel address when the bridge manages one, else the media
 * listen address (loopback when that is the wildcard, which a relay's other end could not be told).
 */
function relayListenIp(config: Config): string {
  const tunnel = config.relay.wireguard?.address?.split('/')[0];
  if (tunnel) return tunnel;
  return config.media.listenIp === '0.0.0.0' || config.media.listenIp === '::' ? '127.0.0.1' : config.media.listenIp;
}
