/**
 * The HTTP servers' settings (JVB's `videobridge.http-servers`, `videobridge.rest`, `videobridge.apis.rest` and
 * `videobridge.websockets`), their defaults and where each is read; config/config.ts assembles them.
 */
import { bool, ConfigError, int, ipAddr, nonEmpty, port, strList, type Conv, type SettingsTable } from '../util/settings.ts';

/** `videobridge.http-servers`: the public server (page, focus signalling, colibri-ws) and the private one. */
export interface HttpSettings {
  publicHost: string;
  publicPort: number;
  /** Health, version, stats, drain, shutdown, metrics (JVB's private REST API). */
  privateHost: string;
  privatePort: number;
}

/** JVB's public server is off (port -1); octobridge's serves the page, the focus and colibri-ws. */
export const DEFAULT_HTTP: Readonly<HttpSettings> = { publicHost: '0.0.0.0', publicPort: 9090, privateHost: '127.0.0.1', privatePort: 8080 };

/** `-1` is JVB's "no public server", which octobridge cannot do without. */
const publicPort: Conv<number> = (k, v) => {
  const p = int(-1, 65535)(k, v);
  if (p === -1)
    throw new ConfigError(k, "-1 (JVB: no public server) is not supported: octobridge's carries the page, the focus and colibri-ws; set a port (default 9090)");
  return p;
};

/** Where each HTTP server setting is read. */
export const HTTP_SETTINGS: SettingsTable<HttpSettings> = [
  { key: 'publicHost', file: 'videobridge.http-servers.public.host', env: 'OCTOBRIDGE_PUBLIC_HOST', value: ipAddr },
  { key: 'publicPort', file: 'videobridge.http-servers.public.port', value: publicPort },
  { key: 'publicPort', env: 'OCTOBRIDGE_PUBLIC_PORT', value: port },
  { key: 'privateHost', file: 'videobridge.http-servers.private.host', env: 'OCTOBRIDGE_PRIVATE_HOST', value: ipAddr },
  { key: 'privatePort', file: 'videobridge.http-servers.private.port', env: 'OCTOBRIDGE_PRIVATE_PORT', value: port },
];

/** The REST modules (`videobridge.rest.<module>.enabled`); `colibri` is `videobridge.apis.rest.enabled`. */
export interface RestSettings {
  colibri: boolean;
  health: boolean;
  version: boolean;
  drain: boolean;
  shutdown: boolean;
  prometheus: boolean;
  /** Debug routes (fault injection), octobridge's. */
  debug: boolean;
}

/** JVB's defaults; the debug routes only when asked for. */
export const DEFAULT_REST: Readonly<RestSettings> = {
  colibri: false,
  health: true,
  version: true,
  drain: true,
  shutdown: false,
  prometheus: true,
  debug: false,
};

/** Where each REST module is switched (docker-jitsi-meet's `COLIBRI_REST_ENABLED` and `SHUTDOWN_REST_ENABLED`). */
export const REST_SETTINGS: SettingsTable<RestSettings> = [
  { key: 'colibri', file: 'videobridge.apis.rest.enabled', env: 'COLIBRI_REST_ENABLED', value: bool },
  { key: 'shutdown', file: 'videobridge.rest.shutdown.enabled', env: 'SHUTDOWN_REST_ENABLED', value: bool },
  { key: 'drain', file: 'videobridge.rest.drain.enabled', value: bool },
  { key: 'health', file: 'videobridge.rest.health.enabled', value: bool },
  { key: 'version', file: 'videobridge.rest.version.enabled', value: bool },
  { key: 'prometheus', file: 'videobridge.rest.prometheus.enabled', value: bool },
  { key: 'debug', file: 'videobridge.rest.debug.enabled', env: 'OCTOBRIDGE_REST_DEBUG', value: bool },
];

/** `videobridge.websockets`: colibri-ws. */
export interface WebSocketSettings {
  enabled: boolean;
  /** `server-id`: the path segment of the URLs this bridge hands out. */
  serverId: string;
  /** `domains` (host[:port]); empty = derive from the request / public port. */
  domains: string[];
  /** wss:// instead of ws://. */
  tls: boolean;
}

/** JVB: websockets off; octobridge: on, for the standalone page's `channel=ws`. */
export const DEFAULT_WEBSOCKETS: Readonly<WebSocketSettings> = { enabled: true, serverId: 'default-id', domains: [], tls: false };

/**
 * Where each colibri-ws setting is read. JVB's older single `videobridge.websockets.domain` is read by
 * config/config.ts after these (it goes first when not already in `domains`). `ENABLE_COLIBRI_WEBSOCKET` was removed
 * from docker-jitsi-meet in 9ea0cbba (2026-07) and is still in many deployments' .env.
 */
export const WEBSOCKET_SETTINGS: SettingsTable<WebSocketSettings> = [
  { key: 'enabled', file: 'videobridge.websockets.enabled', env: 'ENABLE_COLIBRI_WEBSOCKET', value: bool },
  { key: 'serverId', file: 'videobridge.websockets.server-id', env: 'JVB_WS_SERVER_ID', value: nonEmpty },
  { key: 'domains', file: 'videobridge.websockets.domains', env: 'JVB_WS_DOMAIN', value: strList },
  { key: 'tls', file: 'videobridge.websockets.tls', env: 'JVB_WS_TLS', value: bool },
];
