/**
 * The embedded focus's settings (`octobridge.focus` in jvb.conf, `OCTOBRIDGE_FOCUS*`, `OCTOBRIDGE_VIDEO_CODECS`,
 * `OCTOBRIDGE_CASCADE` in the environment): types, defaults, conversions and where each is read.
 */
import { bool, ConfigError, fromJson, isObject, strList, type Conv, type SettingsTable } from '../util/settings.ts';

/** One `octobridge.focus.cascade` entry: another bridge the embedded focus places participants on. */
export interface CascadeBridgeConfig {
  /** Its `videobridge.relay.relay-id`. */
  relayId: string;
  /** Its region: participants whose page says `?region=<this>` go there. */
  region: string;
  /** Base URL of its private REST server, e.g. `http://10.100.0.2:8080` (colibri2 at `/colibri/v2/conferences`). */
  url: string;
}

/** The embedded focus: whether it runs, what it offers, the cascade it spreads rooms over, who may use it. */
export interface FocusSettings {
  /** Run the embedded focus and serve the standalone page. */
  enabled: boolean;
  /** Video codecs the focus offers, in preference order (Jicofo's `jicofo.codec.video`). */
  videoCodecs: ('VP8' | 'VP9' | 'H264' | 'AV1')[];
  /**
   * `octobridge.focus.cascade` / `OCTOBRIDGE_CASCADE` (JSON): other bridges of a standalone cascade, reached with
   * colibri2 over their REST API (`videobridge.apis.rest.enabled` on them); needs relays on here.
   */
  cascade: CascadeBridgeConfig[];
  /**
   * `octobridge.focus.allowed-origins` / `OCTOBRIDGE_FOCUS_ALLOWED_ORIGINS`: the `Origin`s a browser may open
   * `/focus/<room>` from (`scheme://host[:port]`, or `*` for any). Empty (the default): only the origin the page
   * itself is served from (the request's `Host`). A request without `Origin` (not a browser) is accepted.
   */
  allowedOrigins: string[];
}
const CODECS = ['VP8', 'VP9', 'H264', 'AV1'] as const;
/**
 * Jicofo's default video codecs, in the order its offer lists them: all four are enabled in jicofo
 * `jicofo-common/src/main/resources/reference.conf` (`jicofo.codec.video`), and
 * `CodecUtil.createVideoPayloadTypeExtensions` emits AV1, VP8, H264, VP9. What the embedded focus offers by default.
 */
export const JICOFO_VIDEO_CODECS = ['AV1', 'VP8', 'H264', 'VP9'] as const;
const videoCodecs: Conv<FocusSettings['videoCodecs']> = (key, v) => {
  const codecs = strList(key, v).map((s) => s.toUpperCase());
  if (codecs.length === 0) throw new ConfigError(key, 'empty');
  for (const codec of codecs) {
    if (!(CODECS as readonly string[]).includes(codec)) throw new ConfigError(key, `unknown codec '${codec}'`);
  }
  return codecs as FocusSettings['videoCodecs'];
};

/** `octobridge.focus.allowed-origins`: `*`, or origins `scheme://host[:port]` (normalised as WHATWG URL origins). */
const originList: Conv<string[]> = (key, v) =>
  strList(key, v).map((o) => {
    if (o === '*') return o;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new ConfigError(key, `'${o}' is not an origin (scheme://host[:port])`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
      throw new ConfigError(key, `'${o}' is not an origin (scheme://host[:port])`);
    }
    return url.origin;
  });

const cascadeBridges: Conv<CascadeBridgeConfig[]> = (key, v) => {
  if (!Array.isArray(v)) throw new ConfigError(key, 'expected a list of { relay-id, region, url }');
  const seen = new Set<string>();
  return v.map((b: unknown, i) => {
    const k = `${key}[${i}]`;
    if (!isObject(b)) throw new ConfigError(k, 'expected an object');
    for (const name of Object.keys(b))
      if (!['relay-id', 'region', 'url'].includes(name)) throw new ConfigError(`${k}.${name}`, 'unknown key (known: relay-id, region, url)');
    const field = (name: string): string => {
      const value = b[name];
      if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${k}.${name}`, 'required (a non-empty string)');
      return value.trim();
    };
    const relayId = field('relay-id');
    if (seen.has(relayId)) throw new ConfigError(`${k}.relay-id`, `duplicate relay id ${relayId}`);
    seen.add(relayId);
    const url = field('url');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`${k}.url`, `not a URL: ${url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${k}.url`, 'must be http:// or https://');
    return { relayId, region: field('region'), url: url.replace(/\/+$/, '') };
  });
};

/** Defaults: the focus on, offering Jicofo's codecs in Jicofo's order, no cascade, only the page's own origin. */
export const DEFAULT_FOCUS: Readonly<FocusSettings> = { enabled: true, videoCodecs: [...JICOFO_VIDEO_CODECS], cascade: [], allowedOrigins: [] };

/** Where each focus setting is read. */
export const FOCUS_SETTINGS: SettingsTable<FocusSettings> = [
  { key: 'enabled', file: 'octobridge.focus.enabled', env: 'OCTOBRIDGE_FOCUS', value: bool },
  { key: 'videoCodecs', file: 'octobridge.focus.video-codecs', env: 'OCTOBRIDGE_VIDEO_CODECS', value: videoCodecs },
  { key: 'cascade', file: 'octobridge.focus.cascade', value: cascadeBridges },
  // The same list as JSON.
  { key: 'cascade', env: 'OCTOBRIDGE_CASCADE', value: fromJson(cascadeBridges) },
  { key: 'allowedOrigins', file: 'octobridge.focus.allowed-origins', env: 'OCTOBRIDGE_FOCUS_ALLOWED_ORIGINS', value: originList },
];
