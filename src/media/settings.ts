/**
 * The media layer's settings: the `media` section of the configuration (config/config.ts reads them from jvb.conf
 * and the environment; the README's Configuration section lists each key).
 */
import {
  bitrate,
  bool,
  ConfigError,
  duration,
  HOUR,
  int,
  ipAddr,
  isObject,
  oneOf,
  optStr,
  port,
  SECOND,
  str,
  strList,
  type Conv,
  type SettingsTable,
} from '../util/settings.ts';

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
  /** `videobridge.ice.udp.port` / JVB_PORT: the UDP media port (per-worker mode: of the first worker; worker i: + i). */
  udpPort: number;
  /**
   * `single` (default): every worker receives on `udpPort` (SO_REUSEPORT, steered per endpoint by worker patch 0017;
   * no capability needed), as JVB serves every core from one port; `per-worker`: worker i on `udpPort` + i.
   */
  udpPortMode: 'single' | 'per-worker';
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
  { key: 'udpPortMode', file: 'octobridge.media.udp-port-mode', env: 'OCTOBRIDGE_UDP_PORT_MODE', value: oneOf(['single', 'per-worker'] as const) },
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

/** One `ice4j.harvest.mapping.static-mappings` entry (JVB_ADVERTISE_IPS builds one per address). */
export interface StaticMapping {
  /** The local address the mapping applies to (docker: LOCAL_ADDRESS); undefined = any. */
  localAddress: string | undefined;
  /** The address advertised in ICE candidates. */
  publicAddress: string;
  /** Both or neither (ice4j): the advertised port replaces `localPort` (JVB_ADVERTISE_IPS `ip#port`). */
  localPort: number | undefined;
  publicPort: number | undefined;
  name: string | undefined;
}

/** ICE candidates: what the bridge advertises (JVB's `videobridge.ice` and ice4j's `harvest.mapping`). */
export interface IceSettings {
  /** `videobridge.ice.advertise-private-candidates`. */
  advertisePrivateCandidates: boolean;
  /** `ice4j.harvest.mapping.stun.addresses` (`host:port`). */
  stunServers: string[];
  /** `ice4j.harvest.mapping.static-mappings`. */
  staticMappings: StaticMapping[];
}

/** JVB's defaults. */
export const DEFAULT_ICE: Readonly<IceSettings> = { advertisePrivateCandidates: true, stunServers: [], staticMappings: [] };

/** `static-mappings`: `[{ local-address, public-address, local-port?, public-port?, name? }]`. */
const staticMappings: Conv<StaticMapping[]> = (key, v) => {
  if (!Array.isArray(v)) throw new ConfigError(key, 'expected a list of { local-address, public-address, local-port?, public-port? }');
  return v.map((m: unknown, i) => {
    const k = `${key}[${i}]`;
    if (!isObject(m)) throw new ConfigError(k, 'expected an object');
    const field = <T>(name: string, conv: Conv<T>): T | undefined => (m[name] === undefined || m[name] === null ? undefined : conv(`${k}.${name}`, m[name]));
    const publicAddress = field('public-address', ipAddr);
    if (!publicAddress) throw new ConfigError(`${k}.public-address`, 'required');
    const localPort = field('local-port', int(1, 65535));
    const publicPort = field('public-port', int(1, 65535));
    if ((localPort === undefined) !== (publicPort === undefined)) {
      throw new ConfigError(`${k}.public-port`, 'local-port and public-port must both be set or both be missing');
    }
    const local = field('local-address', str);
    return { localAddress: local ? ipAddr(`${k}.local-address`, local) : undefined, publicAddress, localPort, publicPort, name: field('name', optStr) };
  });
};

/**
 * Where the ICE settings are read. docker-jitsi-meet's `JVB_ADVERTISE_IPS` (static mappings built from addresses),
 * `JVB_DISABLE_STUN` and jvb.conf's `stun.enabled = false` are read by config/config.ts itself.
 */
export const ICE_SETTINGS: SettingsTable<IceSettings> = [
  { key: 'advertisePrivateCandidates', file: 'videobridge.ice.advertise-private-candidates', env: 'JVB_ADVERTISE_PRIVATE_CANDIDATES', value: bool },
  { key: 'stunServers', file: 'ice4j.harvest.mapping.stun.addresses', env: 'JVB_STUN_SERVERS', value: strList },
  { key: 'staticMappings', file: 'ice4j.harvest.mapping.static-mappings', value: staticMappings },
];
