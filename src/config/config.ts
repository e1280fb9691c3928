/**
 * octobridge's one typed configuration, built once at start from three layers, each overriding
 * the one before: defaults (JVB's reference.conf unless noted) < a config file in jvb.conf's
 * HOCON syntax < environment variables (docker-jitsi-meet's JVB names,
 * then octobridge's own `OCTOBRIDGE_*`).
 *
 * The file is `OCTOBRIDGE_CONFIG`, else `/etc/jitsi/videobridge/jvb.conf` when it exists. Its
 * `videobridge.*` and `ice4j.*` keys mean what they mean to JVB (keys octobridge has no use for
 * are ignored, as a real jvb.conf has many); octobridge's own keys live under `octobridge { }`,
 * where an unknown key is an error. `${path}` substitutions work, `${VAR}` / `${?VAR}` fall back
 * to the process environment, and `include "file"` resolves beside the file (a missing one is
 * skipped, as in HOCON).
 *
 * Invalid values are rejected at start with a {@link ConfigError} naming the HOCON path or the
 * environment variable.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import parseHocon from '@pushcorn/hocon-parser';
import { ALLOCATION_SETTINGS, DEFAULT_ALLOCATION_CONFIG, type AllocationConfig } from '../allocation/settings.ts';
import { DEFAULT_SHUTDOWN, SHUTDOWN_SETTINGS, type ShutdownSettings } from '../conference/Lifecycle.ts';
import { DEFAULT_RELAY, RELAY_SETTINGS, type RelaySettings } from '../conference/Relay.ts';
import { DEFAULT_VIDEOBRIDGE, VIDEOBRIDGE_SETTINGS, type VideobridgeSettings } from '../conference/settings.ts';
import { DEFAULT_LIMITS, LIMITS_SETTINGS, type BridgeLimitsConfig } from '../limits/limits.ts';
import { DEFAULT_METRICS, METRICS_SETTINGS, type MetricsSettings } from '../metrics/settings.ts';
import { DEFAULT_SSRC_LIMITS, SSRC_LIMIT_SETTINGS, type SsrcLimits } from '../media/Forwarder.ts';
import { DEFAULT_ICE, ICE_SETTINGS, MEDIA_SETTINGS, type IceSettings, type MediaSettings } from '../media/settings.ts';

export type { StaticMapping } from '../media/settings.ts';
import { DEFAULT_SCTP, SCTP_SETTINGS, type SctpSettings } from '../channel/BridgeChannel.ts';
import { DEFAULT_FOCUS, FOCUS_SETTINGS, type FocusSettings } from '../focus/settings.ts';

export { JICOFO_VIDEO_CODECS, type CascadeBridgeConfig } from '../focus/settings.ts';
import {
  DEFAULT_HTTP,
  DEFAULT_REST,
  DEFAULT_WEBSOCKETS,
  HTTP_SETTINGS,
  REST_SETTINGS,
  WEBSOCKET_SETTINGS,
  type HttpSettings,
  type RestSettings,
  type WebSocketSettings,
} from '../http/settings.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { finishWireGuard, pendingWireGuard, readWireGuardEnv, readWireGuardFile, type PendingWireGuard, type WireGuardConfig } from '../wireguard/settings.ts';

export type { WireGuardConfig, WireGuardMode, WireGuardPeerConfig } from '../wireguard/settings.ts';
import {
  bool,
  ConfigError,
  duration,
  int,
  isObject,
  ipAddr,
  MINUTE,
  nonEmpty,
  optStr,
  oneOf,
  port,
  readSettings,
  scalar,
  SECOND,
  str,
  strList,
  type Conv,
  type SettingsTable,
} from '../util/settings.ts';

export { ConfigError };

/** One brewery connection (JVB: one `videobridge.apis.xmpp-client.configs.<id>` block). */
export interface XmppConnectionConfig {
  /** The block's name (`shard0` ...), or `component`. */
  id: string;
  mode: 'client' | 'component';
  /** `xmpp://host:port`. */
  service: string;
  /** Login domain (client) or component domain (component). */
  domain: string;
  username: string;
  /** Client password or component secret. */
  password: string;
  mucJids: string[];
  nickname: string;
  /** `DISABLE_CERTIFICATE_VERIFICATION` (docker-jitsi-meet sets it). */
  disableCertificateVerification: boolean;
}

/** The effective configuration; see the README's Configuration section for every key. */
/** The effective configuration: the bridge-wide `videobridge.*` settings (conference/settings.ts) and one section per feature. */
export interface Config extends VideobridgeSettings {
  /** Bridge id: MUC nickname default, `<server-id>` default source, logs. */
  bridgeId: string;
  version: string;
  /** The media layer's settings (media/settings.ts). */
  media: MediaSettings;
  /** ICE candidates (media/settings.ts). */
  ice: IceSettings;

  /** `videobridge.http-servers` (http/settings.ts). */
  http: HttpSettings;
  /** `videobridge.rest.<module>.enabled`, `videobridge.apis.rest.enabled` (http/settings.ts). */
  rest: RestSettings;
  /** `videobridge.websockets` (http/settings.ts). */
  websockets: WebSocketSettings;
  /** `videobridge.sctp` (channel/BridgeChannel.ts). */
  sctp: SctpSettings;
  /** `octobridge.focus` (focus/settings.ts). */
  focus: FocusSettings;

  /**
   * `octobridge.limits.*`: what one client can cost. 0 turns a limit off. When one bites, the excess is refused or
   * dropped and `octobridge_limit_exceeded_total{limit}` counts it.
   */
  limits: BridgeLimitsConfig;
  log: { level: string };
  /** Brewery connections to Jicofo's XMPP server(s) (`videobridge.apis.xmpp-client`); none = standalone only. */
  xmpp: {
    /** One connection per configured server. */
    connections: XmppConnectionConfig[];
    /** `videobridge.apis.xmpp-client.presence-interval`, ms (default: the stats interval). */
    presenceIntervalMs: number;
  };
  /** `videobridge.shutdown.*`. */
  shutdown: ShutdownSettings;
  /** `octobridge.metrics.*` (metrics/settings.ts). */
  metrics: MetricsSettings;
  /** `videobridge.relay.*` (`region` and `relay-id` are required when enabled). */
  relay: RelaySettings & {
    /** `octobridge.relay.wireguard` / `OCTOBRIDGE_WG_*` (wireguard/settings.ts); undefined = no WireGuard management. */
    wireguard: WireGuardConfig | undefined;
  };
  /** Published in presence when set (JVB: `relay.region`, even with relays off). */
  region: string | undefined;
  /** Published in presence only with relays on (JVB: `relay_id` only when `relay.enabled`). */
  relayId: string | undefined;
  /** `videobridge.cc.*`: the bandwidth allocation (plus `octobridge.cc.min-time-between-calculations`). */
  cc: AllocationConfig;
  /**
   * `videobridge.ssrc-limit.{video,audio}` (JVB `SsrcLimitConfig`): the most send SSRCs of each kind an endpoint with
   * SSRC rewriting gets; sources beyond them are re-mapped onto those SSRCs (media/SsrcSlots.ts). The video one
   * also caps every receiver's last-N.
   */
  ssrcLimits: SsrcLimits;
  /** Where the config came from: the file read, and notes on settings accepted but ignored (log at debug). */
  source: { file: string | undefined; notes: string[] };
}

/** The project root (where package.json is): util/paths.ts. */
export { PROJECT_ROOT };

/** The file read when `OCTOBRIDGE_CONFIG` is unset (JVB's Debian package path), if it exists. */
export const DEFAULT_CONFIG_FILE = '/etc/jitsi/videobridge/jvb.conf';

function defaults(): Config {
  return {
    ...DEFAULT_VIDEOBRIDGE,
    bridgeId: os.hostname(),
    version: '0.1.0',
    media: {
      workerBin: path.join(PROJECT_ROOT, 'native', 'out', 'mediasoup-worker'),
      numWorkers: os.availableParallelism(),
      conferenceWorkerConsumers: 500,
      udpPortMode: 'single',
      logLevel: 'warn',
      udpPort: 10000,
      listenIp: '0.0.0.0',
      advertiseIps: [],
      // JVB removed ICE/TCP (2024, port 443); docker-jitsi-meet's old JVB_TCP_PORT default was 4443.
      iceTcp: { enabled: false, port: 4443 },
      endpointExpireMs: MINUTE,
      initialOutgoingBitrateBps: 2_500_000,
    },
    ice: { ...DEFAULT_ICE, stunServers: [], staticMappings: [] },
    http: { ...DEFAULT_HTTP },
    rest: { ...DEFAULT_REST },
    websockets: { ...DEFAULT_WEBSOCKETS, domains: [] },
    sctp: { ...DEFAULT_SCTP },
    focus: { ...DEFAULT_FOCUS, videoCodecs: [...DEFAULT_FOCUS.videoCodecs], cascade: [], allowedOrigins: [] },
    limits: { ...DEFAULT_LIMITS },
    log: { level: 'info' },
    xmpp: { connections: [], presenceIntervalMs: 5 * SECOND },
    shutdown: { ...DEFAULT_SHUTDOWN },
    metrics: { ...DEFAULT_METRICS },
    relay: { ...DEFAULT_RELAY, wireguard: undefined },
    region: undefined,
    relayId: undefined,
    cc: { ...DEFAULT_ALLOCATION_CONFIG },
    ssrcLimits: { ...DEFAULT_SSRC_LIMITS },
    source: { file: undefined, notes: [] },
  };
}

// ---------------------------------------------------------------- value conversions
// Each takes the key (for the error) and a raw value: a string from the environment, or any
// HOCON value from the file (HOCON, like Typesafe Config, lets a quoted "5222" be a number).

const PINO_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const bridgeIdConv: Conv<string> = (key, v) => {
  const s = str(key, v);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(s)) throw new ConfigError(key, `'${s}' must be 1-64 of [A-Za-z0-9_.-]`);
  return s;
};
/** Optional string: empty = unset. */

/** `host[:port]` → `xmpp://host:port` (default port given). */
function xmppService(key: string, hostPort: string, defaultPort: number): string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d+))?$/.exec(hostPort.trim());
  const host = m?.[1] ?? m?.[2];
  if (!m || !host) throw new ConfigError(key, `'${hostPort}' is not host[:port]`);
  const p = m[3] ? int(1, 65535)(key, m[3]) : defaultPort;
  return `xmpp://${host.includes(':') ? `[${host}]` : host}:${p}`;
}

// ---------------------------------------------------------------- the file

type Tree = Record<string, unknown>;

/** The value at a dotted path, undefined when absent or null; an error when a step is not an object. */
function lookup(root: Tree, dotted: string): unknown {
  let cur: unknown = root;
  let at = '';
  for (const part of dotted.split('.')) {
    if (cur === undefined || cur === null) return undefined;
    if (!isObject(cur)) throw new ConfigError(at, 'expected an object');
    cur = cur[part];
    at = at ? `${at}.${part}` : part;
  }
  return cur ?? undefined;
}

/**
 * The `octobridge { }` keys (anything else under it is rejected as a typo): those of the settings tables, and those
 * read by hand below (the XMPP component, WireGuard relays).
 */
const OCTOBRIDGE_KEYS = new Set([
  ...settingsSections(defaults()).flatMap(({ table }) => table.flatMap((e) => (e.file?.startsWith('octobridge.') ? [e.file.slice('octobridge.'.length)] : []))),
  'id',
  'log.level',
  'media.worker-bin',
  'xmpp-component.hostname',
  'xmpp-component.port',
  'xmpp-component.domain',
  'xmpp-component.secret',
  'xmpp-component.muc-jids',
  'xmpp-component.muc-nickname',
  'relay.wireguard.enabled',
  'relay.wireguard.interface',
  'relay.wireguard.mode',
  'relay.wireguard.private-key-file',
  'relay.wireguard.listen-port',
  'relay.wireguard.address',
  'relay.wireguard.check-interval',
  'relay.wireguard.handshake-timeout',
  'relay.wireguard.probe-failures',
  'relay.wireguard.peers',
]);

function checkOctobridgeKeys(v: unknown, rel: string): void {
  if (OCTOBRIDGE_KEYS.has(rel)) return; // a known key: its converter checks the value (objects in lists too)
  if (isObject(v)) {
    for (const [k, sub] of Object.entries(v)) checkOctobridgeKeys(sub, rel ? `${rel}.${k}` : k);
  } else if (!OCTOBRIDGE_KEYS.has(rel)) {
    throw new ConfigError(rel ? `octobridge.${rel}` : 'octobridge', `unknown key (known: ${[...OCTOBRIDGE_KEYS].join(', ')})`);
  }
}

/**
 * Parse a config file in HOCON (jvb.conf's syntax) into a plain object.
 *
 * @throws ConfigError naming the file (with line and column) when it cannot be read or parsed.
 */
export async function readConfigFile(file: string): Promise<Tree> {
  const abs = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  if (!stat.isFile()) throw new ConfigError(file, 'not a file');
  try {
    fs.accessSync(abs, fs.constants.R_OK);
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  let tree: unknown;
  try {
    tree = await parseHocon({ url: abs, strict: false });
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    const where = /line: (\d+), col: (\d+)/.exec(msg);
    const what = msg.replace(/\s*\((?:Source|Token):[\s\S]*$/, '').replace(/\s*Token: \{[\s\S]*$/, '');
    throw new ConfigError(file, where ? `line ${where[1]} column ${where[2]}: ${what}` : what);
  }
  if (tree === undefined || tree === null) return {};
  if (!isObject(tree)) throw new ConfigError(file, 'the root must be an object');
  return tree;
}

/** A connection from the file before the environment may fill in the login (JVB_AUTH_*). */
type PendingConnection = Omit<XmppConnectionConfig, 'username' | 'password' | 'nickname'> & {
  username: string | undefined;
  password: string | undefined;
  nickname: string | undefined;
  /** The HOCON path of the block, for errors. */
  key: string;
};

/** State carried from the file layer to the environment layer. */
interface Layering {
  presenceSet: boolean;
  fileConnections: PendingConnection[];
  fileDir: string;
  /** WireGuard settings so far, and the key (HOCON path or variable) each came from, for errors. */
  wg: PendingWireGuard;
}

const XMPP_CONFIGS = 'videobridge.apis.xmpp-client.configs';
const MUC_CLIENT_KEYS = [
  'HOSTNAME',
  'PORT',
  'DOMAIN',
  'USERNAME',
  'PASSWORD',
  'MUC_JIDS',
  'MUC_NICKNAME',
  'DISABLE_CERTIFICATE_VERIFICATION',
  'IQ_HANDLER_MODE',
  'SECURITY_MODE',
];

/** `configs.<name>` blocks; keys are case-insensitive, as in jicoco's MucClientConfiguration. */
function fileConnections(root: Tree, notes: string[]): PendingConnection[] {
  const configs = lookup(root, XMPP_CONFIGS);
  if (configs === undefined) return [];
  if (!isObject(configs)) throw new ConfigError(XMPP_CONFIGS, 'expected an object');
  return Object.entries(configs).map(([name, block]) => {
    const key = `${XMPP_CONFIGS}.${name}`;
    if (!isObject(block)) throw new ConfigError(key, 'expected an object');
    const props = new Map<string, { key: string; v: unknown }>();
    for (const [k, v] of Object.entries(block)) {
      const upper = k.toUpperCase();
      if (!MUC_CLIENT_KEYS.includes(upper)) notes.push(`${key}.${k}: ignored (unknown MUC client key)`);
      if (v !== null && v !== undefined) props.set(upper, { key: `${key}.${k}`, v });
    }
    const get = <T>(p: string, conv: Conv<T>): T | undefined => {
      const e = props.get(p);
      return e ? conv(e.key, e.v) : undefined;
    };
    const hostname = get('HOSTNAME', nonEmpty);
    if (!hostname) throw new ConfigError(`${key}.HOSTNAME`, 'required');
    const mucJids = get('MUC_JIDS', strList);
    if (!mucJids?.length) throw new ConfigError(`${key}.MUC_JIDS`, 'required (comma list of brewery room JIDs)');
    get('SECURITY_MODE', oneOf(['required', 'ifpossible', 'disabled']));
    get('IQ_HANDLER_MODE', oneOf(['sync', 'async']));
    if (props.has('SECURITY_MODE') || props.has('IQ_HANDLER_MODE')) notes.push(`${key}: SECURITY_MODE / IQ_HANDLER_MODE ignored`);
    return {
      key,
      id: name,
      mode: 'client' as const,
      service: xmppService(`${key}.HOSTNAME`, hostname, get('PORT', int(1, 65535)) ?? 5222),
      domain: get('DOMAIN', optStr) ?? hostname,
      username: get('USERNAME', optStr),
      password: get('PASSWORD', (k, v) => scalar(k, v) || undefined),
      nickname: get('MUC_NICKNAME', optStr),
      mucJids,
      disableCertificateVerification: get('DISABLE_CERTIFICATE_VERIFICATION', bool) ?? false,
    };
  });
}

/** A settings table bound to the section of the config it fills. */
interface SettingsSection {
  table: readonly { file?: string }[];
  read(which: 'file' | 'env', get: (name: string) => unknown): void;
}

/**
 * Each feature's settings table with the section of the config it fills. The file, then the environment, is read
 * through all of them first; what no table can say comes after (it may build on them: docker's `ip#port` on
 * JVB_PORT, `JVB_DISABLE_STUN` and `stun.enabled` on the STUN servers, JVB's older `websockets.domain` on `domains`).
 */
function settingsSections(c: Config): SettingsSection[] {
  const section = <S>(table: SettingsTable<S>, into: S): SettingsSection => ({
    table,
    read: (which, get) => readSettings(table, into, which, get),
  });
  return [
    section(VIDEOBRIDGE_SETTINGS, c),
    section(MEDIA_SETTINGS, c.media),
    section(ICE_SETTINGS, c.ice),
    section(HTTP_SETTINGS, c.http),
    section(WEBSOCKET_SETTINGS, c.websockets),
    section(REST_SETTINGS, c.rest),
    section(SCTP_SETTINGS, c.sctp),
    section(RELAY_SETTINGS, c.relay),
    section(SHUTDOWN_SETTINGS, c.shutdown),
    section(METRICS_SETTINGS, c.metrics),
    section(ALLOCATION_SETTINGS, c.cc),
    section(SSRC_LIMIT_SETTINGS, c.ssrcLimits),
    section(FOCUS_SETTINGS, c.focus),
    section(LIMITS_SETTINGS, c.limits),
  ];
}

function applyFile(c: Config, root: Tree, st: Layering): void {
  const notes = c.source.notes;
  const at = <T>(p: string, conv: Conv<T>, apply: (v: T) => void): void => {
    const v = lookup(root, p);
    if (v !== undefined) apply(conv(p, v));
  };
  const vb = 'videobridge';
  const ob = lookup(root, 'octobridge');
  if (ob !== undefined) checkOctobridgeKeys(ob, '');
  for (const { read } of settingsSections(c)) read('file', (k) => lookup(root, k));
  at(`${vb}.ice.tcp.enabled`, bool, (v) => (c.media.iceTcp.enabled = v));
  at(`${vb}.ice.tcp.port`, port, (v) => (c.media.iceTcp.port = v));
  // docker-jitsi-meet writes `stun.enabled = false` for JVB_DISABLE_STUN (ice4j reads no such key;
  // it just has no addresses then).
  at('ice4j.harvest.mapping.stun.enabled', bool, (v) => {
    if (!v) c.ice.stunServers = [];
  });
  // JVB's older single `domain` goes first when it is not already in `domains`.
  at(`${vb}.websockets.domain`, nonEmpty, (v) => {
    if (!c.websockets.domains.includes(v)) c.websockets.domains.unshift(v);
  });
  at(`${vb}.apis.xmpp-client.presence-interval`, duration(100, 10 * MINUTE), (v) => {
    c.xmpp.presenceIntervalMs = v;
    st.presenceSet = true;
  });
  st.fileConnections = fileConnections(root, notes);
  // `connection-stats.enabled = false`: no ConnectionStats (interval 0).
  at(`${vb}.connection-stats.enabled`, bool, (v) => {
    if (!v) c.connectionStatsIntervalMs = 0;
  });

  at('octobridge.id', bridgeIdConv, (v) => (c.bridgeId = v));
  at('octobridge.log.level', oneOf(PINO_LEVELS), (v) => (c.log.level = v));
  at('octobridge.media.worker-bin', nonEmpty, (v) => (c.media.workerBin = path.resolve(st.fileDir, v)));
  readWireGuardFile(st.wg, (k) => lookup(root, k), st.fileDir);
  const comp = lookup(root, 'octobridge.xmpp-component');
  if (comp !== undefined) {
    const k = 'octobridge.xmpp-component';
    const req = <T>(name: string, conv: Conv<T>): T => {
      const v = lookup(root, `${k}.${name}`);
      if (v === undefined) throw new ConfigError(`${k}.${name}`, 'required');
      return conv(`${k}.${name}`, v);
    };
    const compPort = lookup(root, `${k}.port`);
    const nick = lookup(root, `${k}.muc-nickname`);
    st.fileConnections.push({
      key: k,
      id: 'component',
      mode: 'component',
      service: xmppService(`${k}.hostname`, req('hostname', nonEmpty), compPort === undefined ? 5347 : int(1, 65535)(`${k}.port`, compPort)),
      domain: req('domain', nonEmpty),
      username: '',
      password: req('secret', nonEmpty),
      mucJids: req('muc-jids', strList),
      nickname: nick === undefined ? undefined : nonEmpty(`${k}.muc-nickname`, nick),
      disableCertificateVerification: false,
    });
  }
}

// ---------------------------------------------------------------- the environment

/** docker-jitsi-meet JVB variables with no meaning for octobridge: accepted, noted at debug. */
const IGNORED_ENV: Record<string, string> = {
  DISABLE_AWS_HARVESTER: 'no AWS harvester: set JVB_ADVERTISE_IPS',
  ENABLE_VLA: 'mediasoup runs its own congestion control',
  BWE_ESTIMATOR_ENGINE: 'mediasoup runs its own congestion control',
  JVB_REQUIRE_VALID_ADDRESS: 'the health check does not look at addresses',
  JVB_USE_USRSCTP: "mediasoup's SCTP stack is always used",
  JVB_OCTO_PUBLIC_ADDRESS: "JVB's legacy UDP Octo; relays use ICE on the media port",
  JVB_OCTO_BIND_PORT: "JVB's legacy UDP Octo; relays use ICE on the media port",
  JVB_INSTANCE_ID: 'read by the autoscaler sidecar, not the bridge',
  JVB_LOG_FILE: 'logs go to stdout',
  VIDEOBRIDGE_MAX_MEMORY: 'a JVM heap size',
  JVB_COLIBRI_PORT: "docker-compose's host-side port; the bridge's is OCTOBRIDGE_PRIVATE_PORT",
  PUBLIC_URL: 'docker-jitsi-meet no longer derives the colibri-ws domain from it; set JVB_WS_DOMAIN',
};
const IGNORED_ENV_PREFIXES: Record<string, string> = {
  AUTOSCALER_: 'the autoscaler sidecar is not part of the bridge',
  SENTRY_: 'no Sentry reporting',
};

function applyEnv(c: Config, env: NodeJS.ProcessEnv, st: Layering): void {
  const notes = c.source.notes;
  const e = (k: string): string | undefined => envValue(env, k);
  const at = <T>(k: string, conv: Conv<T>, apply: (v: T) => void): void => {
    const v = e(k);
    if (v !== undefined) apply(conv(k, v));
  };
  for (const [k, why] of Object.entries(IGNORED_ENV)) if (e(k)) notes.push(`${k}: ignored (${why})`);
  for (const [prefix, why] of Object.entries(IGNORED_ENV_PREFIXES)) {
    const set = Object.keys(env).filter((k) => k.startsWith(prefix) && e(k));
    if (set.length) notes.push(`${set.join(', ')}: ignored (${why})`);
  }

  at('OCTOBRIDGE_ID', bridgeIdConv, (v) => (c.bridgeId = v));
  // Before the rest: the advertised addresses' `ip#port` maps JVB_PORT, JVB_DISABLE_STUN empties the STUN servers.
  for (const { read } of settingsSections(c)) read('env', e);
  // docker: DOCKER_HOST_ADDRESS is the deprecated name of JVB_ADVERTISE_IPS.
  const advertiseVar = e('JVB_ADVERTISE_IPS') ? 'JVB_ADVERTISE_IPS' : e('DOCKER_HOST_ADDRESS') ? 'DOCKER_HOST_ADDRESS' : undefined;
  if (advertiseVar) {
    const local = e('LOCAL_ADDRESS') ? ipAddr('LOCAL_ADDRESS', e('LOCAL_ADDRESS')) : undefined;
    c.ice.staticMappings = strList(advertiseVar, e(advertiseVar)).map((item, i) => {
      const [ip, publicPort] = item.split('#');
      const pp = publicPort === undefined ? undefined : int(1, 65535)(advertiseVar, publicPort);
      return {
        localAddress: local,
        publicAddress: ipAddr(advertiseVar, ip),
        // docker: `ip#port` maps the media port to `port` (local-port = JVB_PORT).
        localPort: pp === undefined ? undefined : c.media.udpPort,
        publicPort: pp,
        name: `ip-${i}`,
      };
    });
  }
  at('JVB_DISABLE_STUN', bool, (v) => {
    if (v) c.ice.stunServers = [];
  });
  at('JVB_TCP_HARVESTER_DISABLED', bool, (v) => (c.media.iceTcp.enabled = !v));
  at('JVB_TCP_PORT', port, (v) => (c.media.iceTcp.port = v));
  at('OCTOBRIDGE_WORKER_BIN', nonEmpty, (v) => (c.media.workerBin = path.resolve(v)));
  at('OCTOBRIDGE_PRESENCE_INTERVAL_MS', int(100, 10 * MINUTE), (v) => {
    c.xmpp.presenceIntervalMs = v;
    st.presenceSet = true;
  });
  // docker: the relay block only with ENABLE_OCTO; region defaults to "europe", relay-id to JVB_OCTO_BIND_ADDRESS.
  const octo = e('ENABLE_OCTO') !== undefined && bool('ENABLE_OCTO', e('ENABLE_OCTO'));
  if (octo) {
    c.relay.enabled = true;
    c.relay.region ??= 'europe';
  }
  readWireGuardEnv(st.wg, e);
  at(
    'LOG_LEVEL',
    (k, v) => {
      const s = str(k, v);
      if (!(PINO_LEVELS as readonly string[]).includes(s)) throw new ConfigError(k, `'${s}' is not a pino level`);
      return s;
    },
    (v) => (c.log.level = v),
  );
  c.xmpp.connections = xmppConnections(e, c, st);
}

/**
 * Brewery connections: from docker-jitsi-meet's variables when `XMPP_SERVER`,
 * `ENABLE_JVB_XMPP_SERVER` or `OCTOBRIDGE_XMPP_COMPONENT_DOMAIN` is set, or when only
 * `JVB_AUTH_PASSWORD` is (docker always sets it; the servers then default as in docker);
 * these replace the file's. Otherwise the file's, with `JVB_AUTH_USER`, `JVB_AUTH_PASSWORD`,
 * `JVB_MUC_NICKNAME` filling in or overriding each client block's login. `JVB_DISABLE_XMPP`
 * turns XMPP off.
 */
function xmppConnections(e: (k: string) => string | undefined, c: Config, st: Layering): XmppConnectionConfig[] {
  const notes = c.source.notes;
  if (e('JVB_DISABLE_XMPP') !== undefined && bool('JVB_DISABLE_XMPP', e('JVB_DISABLE_XMPP'))) return [];
  const jvbServer = e('ENABLE_JVB_XMPP_SERVER') !== undefined && bool('ENABLE_JVB_XMPP_SERVER', e('ENABLE_JVB_XMPP_SERVER'));
  const componentDomain = e('OCTOBRIDGE_XMPP_COMPONENT_DOMAIN');
  const fromEnv = Boolean(e('XMPP_SERVER') || jvbServer || componentDomain || (e('JVB_AUTH_PASSWORD') && st.fileConnections.length === 0));

  if (!fromEnv) {
    return st.fileConnections.map((p) => {
      const fill = (field: 'username' | 'password' | 'nickname', envVar: string, hocon: string, fallback?: string): string => {
        const v = (p.mode === 'client' ? e(envVar) : undefined) ?? p[field] ?? fallback;
        if (v === undefined) throw new ConfigError(`${p.key}.${hocon}`, `required (or set ${envVar})`);
        return v;
      };
      const { key: _key, ...rest } = p;
      return {
        ...rest,
        username: p.mode === 'component' ? '' : fill('username', 'JVB_AUTH_USER', 'USERNAME'),
        password: fill('password', 'JVB_AUTH_PASSWORD', p.mode === 'component' ? 'secret' : 'PASSWORD'),
        nickname: fill(
          'nickname',
          'JVB_MUC_NICKNAME',
          p.mode === 'component' ? 'muc-nickname' : 'MUC_NICKNAME',
          p.mode === 'component' ? c.bridgeId : undefined,
        ),
      };
    });
  }
  if (st.fileConnections.length) notes.push(`${XMPP_CONFIGS}: replaced by the XMPP_* / JVB_* environment`);

  // docker-jitsi-meet's defaults (jvb/rootfs/defaults/jvb.conf); with XMPP_DOMAIN, the Debian layout.
  const domain = e('XMPP_DOMAIN');
  const servers = strList(
    jvbServer ? 'JVB_XMPP_SERVER' : 'XMPP_SERVER',
    (jvbServer ? e('JVB_XMPP_SERVER') : e('XMPP_SERVER')) ?? (jvbServer ? 'xmpp.jvb.meet.jitsi' : 'xmpp.meet.jitsi'),
  );
  const serverVar = jvbServer ? 'JVB_XMPP_SERVER' : 'XMPP_SERVER';
  if (servers.length === 0) throw new ConfigError(serverVar, 'empty');
  const portVar = jvbServer ? 'JVB_XMPP_PORT' : 'XMPP_PORT';
  const xmppPort = int(1, 65535)(portVar, e(portVar) ?? (jvbServer ? '6222' : '5222'));
  const authDomain = jvbServer
    ? (e('JVB_XMPP_AUTH_DOMAIN') ?? 'auth.jvb.meet.jitsi')
    : (e('XMPP_AUTH_DOMAIN') ?? (domain ? `auth.${domain}` : 'auth.meet.jitsi'));
  const mucDomain = jvbServer
    ? (e('JVB_XMPP_INTERNAL_MUC_DOMAIN') ?? 'muc.jvb.meet.jitsi')
    : (e('XMPP_INTERNAL_MUC_DOMAIN') ?? (domain ? `internal.auth.${domain}` : 'internal-muc.meet.jitsi'));
  const muc = `${e('JVB_BREWERY_MUC') ?? 'jvbbrewery'}@${mucDomain}`;
  const nickname = e('JVB_MUC_NICKNAME') ?? c.bridgeId;

  if (componentDomain) {
    const secret = e('OCTOBRIDGE_XMPP_COMPONENT_SECRET');
    if (!secret) throw new ConfigError('OCTOBRIDGE_XMPP_COMPONENT_SECRET', 'required with OCTOBRIDGE_XMPP_COMPONENT_DOMAIN');
    const compPort = int(1, 65535)('OCTOBRIDGE_XMPP_COMPONENT_PORT', e('OCTOBRIDGE_XMPP_COMPONENT_PORT') ?? '5347');
    const host = (servers[0] ?? '').replace(/:\d+$/, '');
    return [
      {
        id: 'component',
        mode: 'component',
        service: xmppService(serverVar, host, compPort),
        domain: componentDomain,
        username: '',
        password: secret,
        mucJids: [muc],
        nickname,
        disableCertificateVerification: false,
      },
    ];
  }
  const password = e('JVB_AUTH_PASSWORD');
  if (!password) throw new ConfigError('JVB_AUTH_PASSWORD', `required with ${serverVar} (unless JVB_DISABLE_XMPP=1)`);
  return servers.map((server, i) => ({
    id: `shard${i}`,
    mode: 'client' as const,
    service: xmppService(serverVar, server, xmppPort),
    domain: authDomain,
    username: e('JVB_AUTH_USER') ?? 'jvb',
    password,
    mucJids: [muc],
    nickname,
    // docker-jitsi-meet writes DISABLE_CERTIFICATE_VERIFICATION = true for every shard.
    disableCertificateVerification: true,
  }));
}

// ---------------------------------------------------------------- entry points

/**
 * Build the config from defaults, an already parsed config file (`tree`, see
 * {@link readConfigFile}) and `env`, in that order of precedence. Synchronous and free of I/O.
 *
 * @throws ConfigError naming the HOCON path or the variable when a value is invalid.
 */
export function buildConfig(env: NodeJS.ProcessEnv, tree?: Tree, file?: string): Config {
  const c = defaults();
  c.source.file = file;
  const st: Layering = { presenceSet: false, fileConnections: [], fileDir: file ? path.dirname(path.resolve(file)) : process.cwd(), wg: pendingWireGuard() };
  if (tree) applyFile(c, tree, st);
  applyEnv(c, env, st);
  // reference.conf: presence-interval = ${videobridge.stats.interval}
  if (!st.presenceSet) c.xmpp.presenceIntervalMs = c.statsIntervalMs;
  c.media.advertiseIps = [...new Set(c.ice.staticMappings.map((m) => m.publicAddress))];
  if (c.relay.enabled && !c.relay.relayId) {
    throw new ConfigError(envValue(env, 'ENABLE_OCTO') ? 'JVB_OCTO_RELAY_ID' : 'videobridge.relay.relay-id', 'required when relays are enabled');
  }
  if (c.focus.cascade.length > 0 && (!c.relay.enabled || !c.relay.region)) {
    throw new ConfigError(
      envValue(env, 'OCTOBRIDGE_CASCADE') ? 'OCTOBRIDGE_CASCADE' : 'octobridge.focus.cascade',
      'needs relays on here, with a region and relay-id (videobridge.relay / ENABLE_OCTO)',
    );
  }
  c.region = c.relay.region;
  c.relayId = c.relay.enabled ? c.relay.relayId : undefined;
  c.relay.wireguard = finishWireGuard(st.wg);
  return c;
}

function envValue(env: NodeJS.ProcessEnv, k: string): string | undefined {
  return env[k] !== undefined && env[k] !== '' ? env[k] : undefined;
}

/**
 * The config file to read: `OCTOBRIDGE_CONFIG`, else {@link DEFAULT_CONFIG_FILE} when it exists,
 * else none.
 */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = envValue(env, 'OCTOBRIDGE_CONFIG');
  if (named) {
    if (!fs.existsSync(named)) throw new ConfigError('OCTOBRIDGE_CONFIG', `'${named}' does not exist`);
    return named;
  }
  return fs.existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}

/**
 * Load the config: defaults < the HOCON file < `env` (process.env by default).
 *
 * `opts.file`: a file to read instead of {@link configFilePath}'s, or `null` for none (tests).
 *
 * @throws ConfigError naming the HOCON path, the variable or the file when something is invalid.
 * @example const config = await loadConfig(); log.info({ config: redactConfig(config) }, 'config');
 */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { file?: string | null } = {}): Promise<Config> {
  const file = opts.file === null ? undefined : (opts.file ?? configFilePath(env));
  const tree = file ? await readConfigFile(file) : undefined;
  return buildConfig(env, tree, file);
}

const SECRET_KEY = /pass(word)?$|secret|token|credential/i;

/**
 * A deep copy of `config` with every password and secret replaced by `[redacted]`, for logging.
 */
export function redactConfig(config: Config): Config {
  const walk = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return SECRET_KEY.test(key) && typeof v === 'string' && v !== '' ? '[redacted]' : v;
  };
  return walk(config, '') as Config;
}
