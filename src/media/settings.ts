/**
 * The media layer's settings: the `media` section of the configuration (config/config.ts reads them from jvb.conf
 * and the environment; the README's Configuration section lists each key).
 */
import { bitrate, duration, HOUR, int, ipAddr, oneOf, port, SECOND, type SettingsTable } from '../util/settings.ts';

export interface MediaSettings {
  /** mediasoup-worker binary; default `native/out/mediasoup-worker`. */
  workerBin: string;
  /** mediasoup workers; default one per core (`os.availableParallelism()`). */
  numWorkers: number;
  /**
   * A conference's consumers on one worker before its new endpoints go to another worker
   * (media then crosses with pipeToRouter); default 500, mediasoup's guidance for one worker.
   */
  conferenceWorkerConsumers: number;
  logLevel: 'debug' | 'warn' | 'error' | 'none';
  /** `videobridge.ice.udp.port` / JVB_PORT: the UDP media port of the first worker (worker i: + i). */
  udpPort: number;
  /** Address the WebRtcServer binds to. */
  listenIp: string;
  /** The public addresses of the `ice.staticMappings` setting, put in ICE candidates instead of the listen address. */
  advertiseIps: string[];
  /** `videobridge.ice.tcp`: ICE-TCP candidate (JVB's old 4443 fallback), off by default. */
  iceTcp: { enabled: boolean; port: number };
  /** `videobridge.entity-expiration.timeout`, ms: no ICE consent / no channel for this long → expire. */
  endpointExpireMs: number;
  /**
   * mediasoup WebRtcTransport initialAvailableOutgoingBitrate, bps: where each receiver's
   * estimate starts (`jmt.bwe.estimator.initial-bw`, 2.5 Mbps as in JVB).
   */
  initialOutgoingBitrateBps: number;
}

/**
 * Where the media settings are read. The worker binary (a path relative to the config file), ICE-TCP (docker's
 * `JVB_TCP_HARVESTER_DISABLED` is inverted) and the advertised addresses (from the ICE static mappings) are read by
 * config/config.ts itself. Two entries for one field: the later wins.
 */
export const MEDIA_SETTINGS: SettingsTable<MediaSettings> = [
  { key: 'udpPort', file: 'videobridge.ice.udp.port', env: 'JVB_PORT', value: port },
  { key: 'numWorkers', file: 'octobridge.media.workers', env: 'OCTOBRIDGE_WORKERS', value: int(1, 256) },
  {
    key: 'conferenceWorkerConsumers',
    file: 'octobridge.media.conference-worker-consumers',
    env: 'OCTOBRIDGE_WORKER_CONFERENCE_CONSUMERS',
    value: int(1, 1_000_000),
  },
  { key: 'listenIp', file: 'octobridge.media.listen-ip', env: 'OCTOBRIDGE_LISTEN_IP', value: ipAddr },
  { key: 'logLevel', file: 'octobridge.media.log-level', value: oneOf(['debug', 'warn', 'error', 'none'] as const) },
  { key: 'endpointExpireMs', file: 'videobridge.entity-expiration.timeout', value: duration(SECOND, HOUR) },
  { key: 'endpointExpireMs', env: 'OCTOBRIDGE_EXPIRE_MS', value: int(SECOND, HOUR) },
  // JVB's name for the estimate's start, then octobridge's (bps).
  { key: 'initialOutgoingBitrateBps', file: 'jmt.bwe.estimator.initial-bw', value: bitrate(10_000, 1e9) },
  { key: 'initialOutgoingBitrateBps', file: 'octobridge.media.initial-outgoing-bitrate', value: int(10_000, 100_000_000) },
];
