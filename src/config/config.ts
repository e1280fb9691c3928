/**
 * octobridge's one typed configuration, built once at start from defaults, then environment
 * variables (docker-jitsi-meet's JVB names where one exists, see shared/docs/rest.md §5).
 * Keys mirror jvb.conf (`videobridge.*`) where JVB has an equivalent.
 *
 * Invalid values are rejected at start with a {@link ConfigError} naming the key.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Thrown by {@link loadConfig} for an invalid value; `key` is the config key or env var. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`invalid config ${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export interface Config {
  /** Bridge id: MUC nickname, `<server-id>` default source, logs. */
  bridgeId: string;
  version: string;
  media: {
    /** mediasoup-worker binary; default `native/out/mediasoup-worker`. */
    workerBin: string;
    logLevel: 'debug' | 'warn' | 'error' | 'none';
    /** `videobridge.ice.udp.port` / JVB_PORT: the single shared UDP media port. */
    udpPort: number;
    /** Address the WebRtcServer binds to. */
    listenIp: string;
    /** JVB_ADVERTISE_IPS: addresses put in ICE candidates instead of the listen address. */
    advertiseIps: string[];
    /** `videobridge.ice.tcp`: ICE-TCP candidate (JVB's old 4443 fallback), off by default. */
    iceTcp: { enabled: boolean; port: number };
    /** `videobridge.entity-expiration.timeout`, ms: no ICE consent / no channel for this long → expire. */
    endpointExpireMs: number;
    /** mediasoup WebRtcTransport initialAvailableOutgoingBitrate, bps. */
    initialOutgoingBitrateBps: number;
  };
  http: {
    /** `videobridge.http-servers.public`: page, focus signalling and colibri-ws. */
    publicHost: string;
    publicPort: number;
    /** `videobridge.http-servers.private`: health, version (REST issue extends it). */
    privateHost: string;
    privatePort: number;
  };
  websockets: {
    /** `videobridge.websockets.enabled`. */
    enabled: boolean;
    /** `videobridge.websockets.server-id`. */
    serverId: string;
    /** `videobridge.websockets.domains` (host[:port]); empty = derive from the request / public port. */
    domains: string[];
    /** `videobridge.websockets.tls`: wss:// instead of ws://. */
    tls: boolean;
  };
  sctp: { enabled: boolean };
  focus: {
    /** Run the embedded focus and serve the standalone page. */
    enabled: boolean;
    /** Video codecs the focus offers, in preference order (Jicofo's `jicofo.codec.video`). */
    videoCodecs: ('VP8' | 'VP9' | 'H264' | 'AV1')[];
  };
  log: { level: string };
  /** Brewery connections to Jicofo's XMPP server(s) (`videobridge.apis.xmpp-client`); none = standalone only. */
  xmpp: {
    /** One connection per configured server (JVB: one `configs.<name>` block each). */
    connections: {
      id: string;
      mode: 'client' | 'component';
      /** `xmpp://host:port`. */
      service: string;
      /** Login domain (client) or component domain (component). */
      domain: string;
      username: string;
      password: string;
      mucJids: string[];
      nickname: string;
    }[];
    /** `videobridge.apis.xmpp-client.presence-interval`, ms. */
    presenceIntervalMs: number;
  };
  /** `videobridge.relay.region` / `relay-id` (published in presence when set). */
  region: string | undefined;
  relayId: string | undefined;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The project root (where package.json is). */
export const PROJECT_ROOT = ROOT;

function defaults(): Config {
  return {
    bridgeId: os.hostname(),
    version: '0.1.0',
    media: {
      workerBin: path.join(ROOT, 'native', 'out', 'mediasoup-worker'),
      logLevel: 'warn',
      udpPort: 10000,
      listenIp: '0.0.0.0',
      advertiseIps: [],
      iceTcp: { enabled: false, port: 4443 },
      endpointExpireMs: 60_000,
      initialOutgoingBitrateBps: 1_000_000,
    },
    http: { publicHost: '0.0.0.0', publicPort: 9090, privateHost: '127.0.0.1', privatePort: 8080 },
    websockets: { enabled: true, serverId: 'default-id', domains: [], tls: false },
    sctp: { enabled: true },
    focus: { enabled: true, videoCodecs: ['VP8'] },
    log: { level: 'info' },
    xmpp: { connections: [], presenceIntervalMs: 5000 },
    region: undefined,
    relayId: undefined,
  };
}

function int(key: string, v: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(key, `'${v}' is not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(key, `${n} is outside ${min}..${max}`);
  return n;
}

function bool(key: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  throw new ConfigError(key, `'${v}' is not a boolean`);
}

function ip(key: string, v: string): string {
  const s = v.trim();
  if (!/^[0-9a-fA-F:.]+$/.test(s)) throw new ConfigError(key, `'${v}' is not an IP address`);
  return s;
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Build the config from defaults and `env` (process.env by default).
 *
 * Environment (docker-jitsi-meet names first): `JVB_PORT`, `JVB_ADVERTISE_IPS` (comma list;
 * `ip#port` keeps only the ip here), `JVB_TCP_HARVESTER_DISABLED` / `JVB_TCP_PORT`,
 * `JVB_WS_SERVER_ID`, `JVB_WS_DOMAIN`, `JVB_BREWERY_MUC`-style names come with the XMPP issue.
 * octobridge's own: `OCTOBRIDGE_ID`, `OCTOBRIDGE_PUBLIC_PORT`, `OCTOBRIDGE_PUBLIC_HOST`,
 * `OCTOBRIDGE_PRIVATE_PORT`, `OCTOBRIDGE_LISTEN_IP`, `OCTOBRIDGE_WORKER_BIN`,
 * `OCTOBRIDGE_EXPIRE_MS`, `OCTOBRIDGE_FOCUS`, `OCTOBRIDGE_VIDEO_CODECS`, `OCTOBRIDGE_PRESENCE_INTERVAL_MS`,
 * `LOG_LEVEL`; XMPP: see {@link xmppConnections}; `JVB_OCTO_REGION`, `JVB_OCTO_RELAY_ID`.
 *
 * @throws ConfigError naming the variable when a value is invalid.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const c = defaults();
  const e = (k: string): string | undefined => (env[k] !== undefined && env[k] !== '' ? env[k] : undefined);
  let v: string | undefined;
  if ((v = e('OCTOBRIDGE_ID'))) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new ConfigError('OCTOBRIDGE_ID', `'${v}' must be 1-64 of [A-Za-z0-9_.-]`);
    c.bridgeId = v;
  }
  if ((v = e('JVB_PORT'))) c.media.udpPort = int('JVB_PORT', v, 0, 65535);
  if ((v = e('OCTOBRIDGE_LISTEN_IP'))) c.media.listenIp = ip('OCTOBRIDGE_LISTEN_IP', v);
  if ((v = e('JVB_ADVERTISE_IPS'))) c.media.advertiseIps = list(v).map((s) => ip('JVB_ADVERTISE_IPS', s.split('#')[0] ?? ''));
  if ((v = e('JVB_TCP_HARVESTER_DISABLED'))) c.media.iceTcp.enabled = !bool('JVB_TCP_HARVESTER_DISABLED', v);
  if ((v = e('JVB_TCP_PORT'))) c.media.iceTcp.port = int('JVB_TCP_PORT', v, 0, 65535);
  if ((v = e('OCTOBRIDGE_WORKER_BIN'))) c.media.workerBin = path.resolve(v);
  if ((v = e('OCTOBRIDGE_EXPIRE_MS'))) c.media.endpointExpireMs = int('OCTOBRIDGE_EXPIRE_MS', v, 1000, 3_600_000);
  if ((v = e('OCTOBRIDGE_PUBLIC_PORT'))) c.http.publicPort = int('OCTOBRIDGE_PUBLIC_PORT', v, 0, 65535);
  if ((v = e('OCTOBRIDGE_PUBLIC_HOST'))) c.http.publicHost = ip('OCTOBRIDGE_PUBLIC_HOST', v);
  if ((v = e('OCTOBRIDGE_PRIVATE_PORT'))) c.http.privatePort = int('OCTOBRIDGE_PRIVATE_PORT', v, 0, 65535);
  if ((v = e('JVB_WS_SERVER_ID'))) c.websockets.serverId = v;
  if ((v = e('JVB_WS_DOMAIN'))) c.websockets.domains = list(v);
  if ((v = e('OCTOBRIDGE_FOCUS'))) c.focus.enabled = bool('OCTOBRIDGE_FOCUS', v);
  if ((v = e('OCTOBRIDGE_VIDEO_CODECS'))) {
    const codecs = list(v).map((s) => s.toUpperCase());
    for (const codec of codecs) {
      if (!['VP8', 'VP9', 'H264', 'AV1'].includes(codec)) throw new ConfigError('OCTOBRIDGE_VIDEO_CODECS', `unknown codec '${codec}'`);
    }
    if (codecs.length === 0) throw new ConfigError('OCTOBRIDGE_VIDEO_CODECS', 'empty');
    c.focus.videoCodecs = codecs as Config['focus']['videoCodecs'];
  }
  c.xmpp.connections = xmppConnections(e, c.bridgeId);
  if ((v = e('OCTOBRIDGE_PRESENCE_INTERVAL_MS'))) c.xmpp.presenceIntervalMs = int('OCTOBRIDGE_PRESENCE_INTERVAL_MS', v, 100, 600_000);
  if ((v = e('JVB_OCTO_REGION'))) c.region = v;
  if ((v = e('JVB_OCTO_RELAY_ID'))) c.relayId = v;
  if ((v = e('LOG_LEVEL'))) {
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(v)) throw new ConfigError('LOG_LEVEL', `'${v}' is not a pino level`);
    c.log.level = v;
  }
  return c;
}

/** `host[:port]` → `xmpp://host:port` (default port given). */
function xmppService(key: string, hostPort: string, defaultPort: number): string {
  const m = /^\[?([A-Za-z0-9.:-]+?)\]?(?::(\d+))?$/.exec(hostPort.trim());
  if (!m?.[1]) throw new ConfigError(key, `'${hostPort}' is not host[:port]`);
  const port = m[2] ? int(key, m[2], 1, 65535) : defaultPort;
  return `xmpp://${m[1]}:${port}`;
}

/**
 * Brewery connections from docker-jitsi-meet's JVB variables: `XMPP_SERVER` (comma list of
 * host[:port], one connection each), `XMPP_PORT` (5222), `XMPP_DOMAIN`, `XMPP_AUTH_DOMAIN`
 * (login domain, default `auth.<XMPP_DOMAIN>`), `XMPP_INTERNAL_MUC_DOMAIN` (default
 * `internal.auth.<XMPP_DOMAIN>`, the Debian layout), `JVB_AUTH_USER` (jvb), `JVB_AUTH_PASSWORD`
 * (required), `JVB_BREWERY_MUC` (jvbbrewery), `JVB_MUC_NICKNAME` (the bridge id).
 * Component mode (XEP-0114) instead when `OCTOBRIDGE_XMPP_COMPONENT_DOMAIN` is set, with
 * `OCTOBRIDGE_XMPP_COMPONENT_SECRET` (required) and `OCTOBRIDGE_XMPP_COMPONENT_PORT` (5347).
 */
function xmppConnections(e: (k: string) => string | undefined, bridgeId: string): Config['xmpp']['connections'] {
  const servers = e('XMPP_SERVER');
  if (!servers) return [];
  const domain = e('XMPP_DOMAIN');
  if (!domain) throw new ConfigError('XMPP_DOMAIN', 'required with XMPP_SERVER');
  const muc = `${e('JVB_BREWERY_MUC') ?? 'jvbbrewery'}@${e('XMPP_INTERNAL_MUC_DOMAIN') ?? `internal.auth.${domain}`}`;
  const nickname = e('JVB_MUC_NICKNAME') ?? bridgeId;
  const componentDomain = e('OCTOBRIDGE_XMPP_COMPONENT_DOMAIN');
  if (componentDomain) {
    const secret = e('OCTOBRIDGE_XMPP_COMPONENT_SECRET');
    if (!secret) throw new ConfigError('OCTOBRIDGE_XMPP_COMPONENT_SECRET', 'required with OCTOBRIDGE_XMPP_COMPONENT_DOMAIN');
    const port = int('OCTOBRIDGE_XMPP_COMPONENT_PORT', e('OCTOBRIDGE_XMPP_COMPONENT_PORT') ?? '5347', 1, 65535);
    const host = list(servers)[0] ?? '';
    return [{ id: 'component', mode: 'component', service: xmppService('XMPP_SERVER', host.split(':')[0] ?? host, port), domain: componentDomain, username: '', password: secret, mucJids: [muc], nickname }];
  }
  const password = e('JVB_AUTH_PASSWORD');
  if (!password) throw new ConfigError('JVB_AUTH_PASSWORD', 'required with XMPP_SERVER');
  const port = int('XMPP_PORT', e('XMPP_PORT') ?? '5222', 1, 65535);
  return list(servers).map((server, i) => ({
    id: `shard${i}`,
    mode: 'client' as const,
    service: xmppService('XMPP_SERVER', server, port),
    domain: e('XMPP_AUTH_DOMAIN') ?? `auth.${domain}`,
    username: e('JVB_AUTH_USER') ?? 'jvb',
    password,
    mucJids: [muc],
    nickname,
  }));
}
