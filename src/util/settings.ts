/**
 * Settings as JVB reads them (its `*Config.kt` over Typesafe Config), for the features that declare theirs: the value
 * conversions of jvb.conf (HOCON) and environment values, with their errors, and the table a feature lists its
 * settings in ({@link SettingsTable}), which config/config.ts reads from the file and the environment.
 */

/** Thrown for an invalid setting (config/config.ts `loadConfig`); `key` is the HOCON path, the env var or the file. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`invalid config ${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** Reads one value (from HOCON: a string, number, boolean, list or object; from the environment: a string). `key`
 * names it in errors. @throws ConfigError when the value is refused. */
export type Conv<T> = (key: string, v: unknown) => T;

/** Whether a HOCON value is an object (not a list, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string, number or boolean as a string. @throws ConfigError for a list or an object. */
export function scalar(key: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ConfigError(key, `expected a value, got ${Array.isArray(v) ? 'a list' : 'an object'}`);
}

/** A scalar, trimmed. */
export const str: Conv<string> = (key, v) => scalar(key, v).trim();

/** A scalar, trimmed; undefined when empty. */
export const optStr: Conv<string | undefined> = (key, v) => str(key, v) || undefined;

/** A non-empty scalar, trimmed. */
export const nonEmpty: Conv<string> = (key, v) => {
  const s = str(key, v);
  if (!s) throw new ConfigError(key, 'must not be empty');
  return s;
};

/** An integer within [min, max]. */
export function int(min: number, max: number): Conv<number> {
  return (key, v) => {
    const s = scalar(key, v).trim();
    if (!/^-?\d+$/.test(s)) throw new ConfigError(key, `'${s}' is not an integer`);
    const n = Number(s);
    if (n < min || n > max) throw new ConfigError(key, `${n} is outside ${min}..${max}`);
    return n;
  };
}

/** A TCP or UDP port, 0 (any free port) to 65535. */
export const port = int(0, 65535);

/** A boolean: HOCON's, or 1/t/true/yes/on and 0/f/false/no/off/empty, any case. */
export const bool: Conv<boolean> = (key, v) => {
  if (typeof v === 'boolean') return v;
  const s = scalar(key, v).trim().toLowerCase();
  if (['1', 't', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'f', 'false', 'no', 'off', ''].includes(s)) return false;
  throw new ConfigError(key, `'${s}' is not a boolean`);
};

/** An IPv4 or IPv6 address (its characters; not resolved). */
export const ipAddr: Conv<string> = (key, v) => {
  const s = str(key, v);
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !/[.:]/.test(s)) throw new ConfigError(key, `'${s}' is not an IP address`);
  return s;
};

/** HOCON duration units (Typesafe Config's list) in ms. */
const DURATION_UNITS: Record<string, number> = {};
for (const [ms, names] of [
  [1e-6, 'ns nano nanos nanosecond nanoseconds'],
  [1e-3, 'us micro micros microsecond microseconds'],
  [1, 'ms milli millis millisecond milliseconds'],
  [SECOND, 's second seconds'],
  [MINUTE, 'm minute minutes'],
  [HOUR, 'h hour hours'],
  [24 * HOUR, 'd day days'],
] as const) {
  for (const name of names.split(' ')) DURATION_UNITS[name] = ms;
}

/** A HOCON duration (`5 seconds`, `60s`, `1 minute`, a bare number = ms) → ms within [min, max]. */
export function duration(minMs: number, maxMs: number): Conv<number> {
  return (key, v) => {
    const s = scalar(key, v).trim();
    const m = /^(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(s);
    const unit = m ? DURATION_UNITS[m[2] || 'ms'] : undefined;
    if (!m || unit === undefined) throw new ConfigError(key, `'${s}' is not a duration (e.g. 5 seconds, 60s, 1 minute)`);
    const ms = Math.round(Number(m[1]) * unit);
    if (ms < minMs || ms > maxMs) throw new ConfigError(key, `${s} is outside ${fmtMs(minMs)}..${fmtMs(maxMs)}`);
    return ms;
  };
}

function fmtMs(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A number (HOCON number or numeric string) within [min, max]. */
export function num(min: number, max: number): Conv<number> {
  return (key, v) => {
    const s = scalar(key, v).trim();
    const n = Number(s);
    if (s === '' || !Number.isFinite(n)) throw new ConfigError(key, `'${s}' is not a number`);
    if (n < min || n > max) throw new ConfigError(key, `${n} is outside ${min}..${max}`);
    return n;
  };
}

/** Bandwidth units of jitsi-utils' `Bandwidth` parser, in bps. */
const BITRATE_UNITS: Record<string, number> = { bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9 };

/** A bitrate as JVB writes it (`500 kbps`, `2.5 Mbps`, a bare number = bps) → bps within [min, max]. */
export function bitrate(min: number, max: number): Conv<number> {
  return (key, v) => {
    const s = scalar(key, v).trim();
    const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(s);
    const unit = m ? BITRATE_UNITS[(m[2] || 'bps').toLowerCase()] : undefined;
    if (!m || unit === undefined) throw new ConfigError(key, `'${s}' is not a bitrate (e.g. 500 kbps, 2.5 Mbps)`);
    const bps = Math.round(Number(m[1]) * unit);
    if (bps < min || bps > max) throw new ConfigError(key, `${s} is outside ${min}..${max} bps`);
    return bps;
  };
}

/** A list: a HOCON array of values, or a comma-separated string (env vars, MUC_JIDS). */
export const strList: Conv<string[]> = (key, v) => {
  const items = Array.isArray(v) ? v.map((x, i) => scalar(`${key}[${i}]`, x)) : scalar(key, v).split(',');
  return items.map((s) => s.trim()).filter(Boolean);
};

/** A value given as JSON text (an environment variable standing for a jvb.conf list or object), read by `conv`. */
export function fromJson<T>(conv: Conv<T>): Conv<T> {
  return (key, v) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(str(key, v));
    } catch (err) {
      throw new ConfigError(key, `not JSON: ${(err as Error).message}`);
    }
    return conv(key, parsed);
  };
}

/** One of `values`, after `normalize` (identity by default). */
export function oneOf<T extends string>(values: readonly T[], normalize: (s: string) => string = (s) => s): Conv<T> {
  return (key, v) => {
    const s = normalize(str(key, v));
    if (!(values as readonly string[]).includes(s)) throw new ConfigError(key, `'${s}' is not one of ${values.join(', ')}`);
    return s as T;
  };
}

/**
 * One setting of a feature: its field, its jvb.conf key (a dotted HOCON path) and its environment variable (either
 * may be absent), and how a value is read and checked. A value in the environment wins over one in the file.
 */
export interface Setting<S, K extends keyof S = keyof S> {
  key: K;
  file?: string;
  env?: string;
  value: Conv<S[K]>;
}

/** A feature's settings, one entry each (as one JVB `*Config.kt`). */
export type SettingsTable<S> = readonly { [K in keyof S]: Setting<S, K> }[keyof S][];

/**
 * Read the settings of `table` into `into` from one source: `get(name)` is the value under a jvb.conf key (`which:
 * 'file'`) or an environment variable (`'env'`), undefined when not set.
 * @throws ConfigError for a value its conversion refuses.
 */
export function readSettings<S>(table: SettingsTable<S>, into: S, which: 'file' | 'env', get: (name: string) => unknown): void {
  for (const setting of table) {
    const name = setting[which];
    if (name === undefined) continue;
    const v = get(name);
    if (v !== undefined) into[setting.key] = setting.value(name, v);
  }
}
