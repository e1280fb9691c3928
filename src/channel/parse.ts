/**
 * Parsing bridge-channel messages: bytes become typed messages here, once. See messages.ts.
 */
import {
  type AudioSourceMapping,
  type BridgeChannelMessage,
  type DominantSpeakerEndpointChangeEvent,
  type EndpointMessage,
  type EndpointStats,
  MAX_BRIDGE_CHANNEL_MESSAGE_BYTES,
  MAX_JSON_NAME_LENGTH,
  MAX_JSON_NESTING_DEPTH,
  MAX_JSON_NUMBER_LENGTH,
  type ReceiverAudioSubscription,
  type ReceiverVideoConstraints,
  type SourceVideoTypeMessage,
  UNLIMITED_FRAME_RATE,
  UNLIMITED_HEIGHT,
  VIDEO_TYPES,
  type VideoConstraints,
  type VideoSourceMapping,
  type VideoType,
  type VideoTypeMessage,
  normalizeVideoType,
} from './types.ts';

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

/**
 * Result of {@link parseBridgeChannelMessage}:
 * - `{ok: true, message}`: a known, valid message (normalised as described in the module doc).
 * - `{ok: true, unknown: true, colibriClass, raw}`: valid JSON object with an unknown `colibriClass`; the caller
 *   should count and ignore it. `raw` is the parsed object. Tell the two `ok` forms apart with `'unknown' in r`.
 * - `{ok: false, error}`: anything else; `error` is human-readable and names the offending field.
 */
export type ParseResult =
  | { ok: true; message: BridgeChannelMessage }
  | { ok: true; unknown: true; colibriClass: string; raw: Record<string, unknown> }
  | { ok: false; error: string };

/** Options for {@link parseBridgeChannelMessage}. */
export interface ParseOptions {
  /** Maximum input size in UTF-8 bytes. Default {@link MAX_BRIDGE_CHANNEL_MESSAGE_BYTES}. */
  maxBytes?: number;
  /**
   * Accept (and drop) fields a message type does not define. Default `false`, like JVB, whose Jackson mapper keeps
   * `FAIL_ON_UNKNOWN_PROPERTIES` on (only `EndpointMessage`, `EndpointStats` and `VideoConstraints` tolerate extra
   * fields, and the first two keep them).
   */
  ignoreUnknownFields?: boolean;
}

/** Internal: thrown by the field readers, caught in {@link parseBridgeChannelMessage}. */
class FieldError extends Error {}

type JsonObject = Record<string, unknown>;

/**
 * Parses one bridge-channel message (the text of a websocket frame or an SCTP PPID-51 message).
 * Never throws. Rejects: non-string input, input over `maxBytes` UTF-8 bytes, invalid JSON, JSON nested deeper than
 * {@link MAX_JSON_NESTING_DEPTH}, number literals longer than {@link MAX_JSON_NUMBER_LENGTH}, keys longer than
 * {@link MAX_JSON_NAME_LENGTH}, duplicate keys in any object (JVB's `STRICT_DUPLICATE_DETECTION`), a top level that
 * is not an object, a missing or non-string `colibriClass`, missing required fields, fields of the wrong JSON type
 * or out of range, and (unless `ignoreUnknownFields`) fields the type does not define.
 * Follows JVB `BridgeChannelMessage.parse` (`message/BridgeChannelMessage.kt`).
 */
export function parseBridgeChannelMessage(text: string, options: ParseOptions = {}): ParseResult {
  try {
    return parseUnchecked(text, options);
  } catch (e) {
    // Only FieldError is expected; anything else is a bug, but the contract is "never throw".
    return { ok: false, error: e instanceof Error ? e.message : 'invalid message' };
  }
}

function parseUnchecked(text: string, options: ParseOptions): ParseResult {
  if (typeof text !== 'string') return { ok: false, error: `message is not a string (got ${describe(text)})` };
  const maxBytes = options.maxBytes ?? MAX_BRIDGE_CHANNEL_MESSAGE_BYTES;
  // text.length <= UTF-8 length <= 3 * text.length: only measure when it matters.
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes)) {
    return { ok: false, error: `message too large (over ${maxBytes} bytes)` };
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const structureError = checkJsonStructure(text);
  if (structureError !== null) return { ok: false, error: structureError };

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: `message is not a JSON object (got ${describe(value)})` };
  }
  const obj = value as JsonObject;
  if (!Object.hasOwn(obj, 'colibriClass')) return { ok: false, error: 'missing colibriClass' };
  const cls = obj.colibriClass;
  if (typeof cls !== 'string') return { ok: false, error: `colibriClass: expected a string, got ${describe(cls)}` };

  const strict = options.ignoreUnknownFields !== true;
  try {
    const message = decode(cls, obj, strict);
    if (message === undefined) return { ok: true, unknown: true, colibriClass: cls, raw: obj };
    return { ok: true, message };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, error: e.message };
    throw e;
  }
}

function decode(cls: string, o: JsonObject, strict: boolean): BridgeChannelMessage | undefined {
  const R: Reader = new Reader(cls, strict);
  switch (cls) {
    case 'ClientHello':
      R.keys(o, []);
      return { colibriClass: 'ClientHello' };

    case 'ServerHello': {
      R.keys(o, ['version']);
      const version = R.optString(o, 'version');
      return version === undefined ? { colibriClass: 'ServerHello' } : { colibriClass: 'ServerHello', version };
    }

    case 'EndpointMessage': {
      const toRaw = get(o, 'to');
      let to = '';
      if (toRaw !== undefined) {
        if (typeof toRaw !== 'string') R.fail('to', 'a string', toRaw);
        to = toRaw;
      }
      const from = R.optString(o, 'from');
      const out: EndpointMessage = { ...o, colibriClass: 'EndpointMessage', to };
      if (from === undefined) delete out.from;
      return out;
    }

    case 'EndpointStats': {
      const from = R.optString(o, 'from');
      const out: EndpointStats = { ...o, colibriClass: 'EndpointStats' };
      if (from === undefined) delete out.from;
      return out;
    }

    case 'LastNChangedEvent':
      R.keys(o, ['lastN']);
      return { colibriClass: 'LastNChangedEvent', lastN: R.int32(o, 'lastN') };

    case 'ReceiverVideoConstraints': {
      R.keys(o, ['lastN', 'selectedSources', 'onStageSources', 'defaultConstraints', 'constraints', 'assumedBandwidthBps']);
      const out: ReceiverVideoConstraints = { colibriClass: 'ReceiverVideoConstraints' };
      const lastN = R.optInt32(o, 'lastN');
      if (lastN !== undefined) out.lastN = lastN;
      const selected = R.optStringArray(o, 'selectedSources');
      if (selected !== undefined) out.selectedSources = selected;
      const onStage = R.optStringArray(o, 'onStageSources');
      if (onStage !== undefined) out.onStageSources = onStage;
      const def = get(o, 'defaultConstraints');
      if (def !== undefined && def !== null) out.defaultConstraints = R.videoConstraints(def, 'defaultConstraints');
      const map = get(o, 'constraints');
      if (map !== undefined && map !== null) {
        if (!isObject(map)) R.fail('constraints', 'an object', map);
        const constraints: Record<string, VideoConstraints> = Object.create(null) as Record<string, VideoConstraints>;
        for (const name of Object.keys(map)) {
          constraints[name] = R.videoConstraints(map[name], `constraints${keyPath(name)}`);
        }
        out.constraints = constraints;
      }
      const bw = R.optLong(o, 'assumedBandwidthBps');
      if (bw !== undefined) out.assumedBandwidthBps = bw;
      return out;
    }

    case 'ReceiverAudioSubscription': {
      R.keys(o, ['all', 'include', 'exclude', 'mode', 'list']);
      const all = R.optBool(o, 'all');
      const include = R.optStringArray(o, 'include');
      const exclude = R.optStringArray(o, 'exclude');
      const mode = R.optString(o, 'mode');
      const list = R.optStringArray(o, 'list');
      const sub = (a: boolean, inc: string[] = [], exc: string[] = []): ReceiverAudioSubscription => ({
        colibriClass: 'ReceiverAudioSubscription',
        all: a,
        include: inc,
        exclude: exc,
      });
      if (mode !== undefined) {
        switch (mode) {
          case 'All':
            return sub(true);
          case 'None':
            return sub(false);
          case 'Include':
            return sub(false, list ?? []);
          case 'Exclude':
            return sub(true, [], list ?? []);
          default:
            throw new FieldError(`${cls}.mode: expected one of "All", "None", "Include", "Exclude", got ${JSON.stringify(mode)}`);
        }
      }
      return sub(all ?? false, include ?? [], exclude ?? []);
    }

    case 'SourceVideoTypeMessage': {
      R.keys(o, ['sourceName', 'videoType', 'endpointId']);
      const out: SourceVideoTypeMessage = {
        colibriClass: 'SourceVideoTypeMessage',
        sourceName: R.string(o, 'sourceName'),
        videoType: R.videoType(o, 'videoType'),
      };
      const endpointId = R.optString(o, 'endpointId');
      if (endpointId !== undefined) out.endpointId = endpointId;
      return out;
    }

    case 'VideoTypeMessage': {
      R.keys(o, ['videoType', 'endpointId']);
      const out: VideoTypeMessage = { colibriClass: 'VideoTypeMessage', videoType: R.videoType(o, 'videoType') };
      const endpointId = R.optString(o, 'endpointId');
      if (endpointId !== undefined) out.endpointId = endpointId;
      return out;
    }

    case 'DominantSpeakerEndpointChangeEvent': {
      R.keys(o, ['dominantSpeakerEndpoint', 'previousSpeakers', 'silence']);
      const out: DominantSpeakerEndpointChangeEvent = {
        colibriClass: 'DominantSpeakerEndpointChangeEvent',
        dominantSpeakerEndpoint: R.string(o, 'dominantSpeakerEndpoint'),
        silence: false,
      };
      const previous = R.optStringArray(o, 'previousSpeakers');
      if (previous !== undefined) out.previousSpeakers = previous;
      out.silence = R.optBool(o, 'silence') ?? false;
      return out;
    }

    case 'ForwardedSources':
      R.keys(o, ['forwardedSources']);
      return { colibriClass: 'ForwardedSources', forwardedSources: R.stringArray(o, 'forwardedSources') };

    case 'SenderSourceConstraints':
      R.keys(o, ['sourceName', 'maxHeight']);
      return {
        colibriClass: 'SenderSourceConstraints',
        sourceName: R.string(o, 'sourceName'),
        maxHeight: R.int32(o, 'maxHeight'),
      };

    case 'EndpointConnectivityStatusChangeEvent': {
      R.keys(o, ['endpoint', 'active']);
      const endpoint = R.string(o, 'endpoint');
      const active = R.required(o, 'active');
      if (active === true || active === 'true') {
        return { colibriClass: 'EndpointConnectivityStatusChangeEvent', endpoint, active: 'true' };
      }
      if (active === false || active === 'false') {
        return { colibriClass: 'EndpointConnectivityStatusChangeEvent', endpoint, active: 'false' };
      }
      return R.fail('active', '"true" or "false"', active);
    }

    case 'VideoSourcesMap':
      R.keys(o, ['mappedSources']);
      return {
        colibriClass: 'VideoSourcesMap',
        mappedSources: R.array(o, 'mappedSources', (v, path) => {
          const e = R.object(v, path);
          R.keys(e, ['source', 'owner', 'ssrc', 'rtx', 'videoType', 'mid'], path);
          const m: VideoSourceMapping = {
            source: R.string(e, 'source', path),
            owner: R.optString(e, 'owner', path) ?? null,
            ssrc: R.long(e, 'ssrc', path),
            rtx: R.longOrIntegerString(e, 'rtx', path),
            videoType: R.videoType(e, 'videoType', path),
          };
          const mid = R.optString(e, 'mid', path);
          if (mid !== undefined) m.mid = mid;
          return m;
        }),
      };

    case 'AudioSourcesMap':
      R.keys(o, ['mappedSources']);
      return {
        colibriClass: 'AudioSourcesMap',
        mappedSources: R.array(o, 'mappedSources', (v, path) => {
          const e = R.object(v, path);
          R.keys(e, ['source', 'owner', 'ssrc', 'mid'], path);
          const m: AudioSourceMapping = {
            source: R.string(e, 'source', path),
            owner: R.optString(e, 'owner', path) ?? null,
            ssrc: R.long(e, 'ssrc', path),
          };
          const mid = R.optString(e, 'mid', path);
          if (mid !== undefined) m.mid = mid;
          return m;
        }),
      };

    case 'ConnectionStats':
      R.keys(o, ['estimatedDownlinkBandwidth']);
      return { colibriClass: 'ConnectionStats', estimatedDownlinkBandwidth: R.long(o, 'estimatedDownlinkBandwidth') };

    case 'SyntheticSourceSendingChangeEvent':
      R.keys(o, ['sourceName', 'sending', 'timestamp']);
      return {
        colibriClass: 'SyntheticSourceSendingChangeEvent',
        sourceName: R.string(o, 'sourceName'),
        sending: R.bool(o, 'sending'),
        timestamp: R.long(o, 'timestamp'),
      };

    case 'AddReceiver':
      R.keys(o, ['bridgeId', 'sourceName', 'videoConstraints']);
      return {
        colibriClass: 'AddReceiver',
        bridgeId: R.string(o, 'bridgeId'),
        sourceName: R.string(o, 'sourceName'),
        videoConstraints: R.videoConstraints(R.required(o, 'videoConstraints'), 'videoConstraints'),
      };

    case 'RemoveReceiver':
      R.keys(o, ['bridgeId', 'endpointId']);
      return {
        colibriClass: 'RemoveReceiver',
        bridgeId: R.string(o, 'bridgeId'),
        endpointId: R.string(o, 'endpointId'),
      };

    default:
      return undefined;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Typed field readers for one message. Paths in errors are `<colibriClass>.<prefix><field>`. `null` counts as
 * absent for optional fields (Jackson maps JSON null to a Kotlin null) and as missing for required ones.
 */
class Reader {
  readonly cls: string;
  readonly strict: boolean;

  constructor(cls: string, strict: boolean) {
    this.cls = cls;
    this.strict = strict;
  }

  fail(path: string, expected: string, got: unknown): never {
    throw new FieldError(`${this.cls}.${path}: expected ${expected}, got ${describe(got)}`);
  }

  /**
   * When strict, rejects keys outside `allowed` (JVB: Jackson `FAIL_ON_UNKNOWN_PROPERTIES`). `path` is the
   * nested object's path; at the top level (`path` undefined) `colibriClass` is always allowed.
   */
  keys(o: JsonObject, allowed: readonly string[], path?: string): void {
    if (!this.strict) return;
    for (const k of Object.keys(o)) {
      if (allowed.includes(k) || (path === undefined && k === 'colibriClass')) continue;
      const where = path === undefined ? JSON.stringify(k) : `${path}${keyPath(k)}`;
      throw new FieldError(`${this.cls}: unknown field ${where}`);
    }
  }

  required(o: JsonObject, key: string, prefix?: string): unknown {
    const v = get(o, key);
    if (v === undefined || v === null) {
      throw new FieldError(`${this.cls}.${join(prefix, key)}: missing required field`);
    }
    return v;
  }

  object(v: unknown, path: string): JsonObject {
    if (!isObject(v)) this.fail(path, 'an object', v);
    return v;
  }

  string(o: JsonObject, key: string, prefix?: string): string {
    const v = this.required(o, key, prefix);
    if (typeof v !== 'string') this.fail(join(prefix, key), 'a string', v);
    return v;
  }

  optString(o: JsonObject, key: string, prefix?: string): string | undefined {
    const v = get(o, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(join(prefix, key), 'a string', v);
    return v;
  }

  bool(o: JsonObject, key: string): boolean {
    const v = this.required(o, key);
    if (typeof v !== 'boolean') this.fail(key, 'a boolean', v);
    return v;
  }

  optBool(o: JsonObject, key: string): boolean | undefined {
    const v = get(o, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(key, 'a boolean', v);
    return v;
  }

  private integer(v: unknown, path: string, min: number, max: number, what: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, what, v);
    if (v < min || v > max) {
      throw new FieldError(`${this.cls}.${path}: ${v} is out of range (${what}, ${min}..${max})`);
    }
    return v;
  }

  int32(o: JsonObject, key: string): number {
    return this.integer(this.required(o, key), key, INT32_MIN, INT32_MAX, 'an integer');
  }

  optInt32(o: JsonObject, key: string): number | undefined {
    const v = get(o, key);
    if (v === undefined || v === null) return undefined;
    return this.integer(v, key, INT32_MIN, INT32_MAX, 'an integer');
  }

  /** A Java long, limited to the integers a JS number holds exactly. */
  long(o: JsonObject, key: string, prefix?: string): number {
    const path = join(prefix, key);
    return this.integer(this.required(o, key, prefix), path, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'an integer');
  }

  /** {@link long}, or a string of a decimal integer (Jackson's scalar coercion, on by default in JVB). */
  longOrIntegerString(o: JsonObject, key: string, prefix?: string): number {
    const v = this.required(o, key, prefix);
    const path = join(prefix, key);
    if (typeof v === 'string' && /^-?\d{1,16}$/.test(v)) return this.integer(Number(v), path, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'an integer');
    return this.integer(v, path, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'an integer');
  }

  optLong(o: JsonObject, key: string): number | undefined {
    const v = get(o, key);
    if (v === undefined || v === null) return undefined;
    return this.integer(v, key, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'an integer');
  }

  array<T>(o: JsonObject, key: string, item: (v: unknown, path: string) => T): T[] {
    const v = this.required(o, key);
    if (!Array.isArray(v)) this.fail(key, 'an array', v);
    return v.map((x, i) => item(x, `${key}[${i}]`));
  }

  stringArray(o: JsonObject, key: string): string[] {
    return this.array(o, key, (x, path) => {
      if (typeof x !== 'string') this.fail(path, 'a string', x);
      return x;
    });
  }

  optStringArray(o: JsonObject, key: string): string[] | undefined {
    const v = get(o, key);
    if (v === undefined || v === null) return undefined;
    return this.stringArray(o, key);
  }

  videoType(o: JsonObject, key: string, prefix?: string): VideoType {
    const v = this.required(o, key, prefix);
    const path = join(prefix, key);
    if (typeof v !== 'string') this.fail(path, 'a string', v);
    const t = normalizeVideoType(v);
    if (t === undefined) {
      throw new FieldError(`${this.cls}.${path}: expected one of ${VIDEO_TYPES.join(', ')} (any case) or NONE, got ${JSON.stringify(v)}`);
    }
    return t;
  }

  /** A VideoConstraints object; unknown fields are ignored like JVB (`@JsonIgnoreProperties(ignoreUnknown=true)`). */
  videoConstraints(v: unknown, path: string): VideoConstraints {
    const o = this.object(v, path);
    const mh = get(o, 'maxHeight');
    if (mh === undefined || mh === null) throw new FieldError(`${this.cls}.${path}.maxHeight: missing required field`);
    const maxHeight = this.integer(mh, `${path}.maxHeight`, INT32_MIN, INT32_MAX, 'an integer');
    if (maxHeight < UNLIMITED_HEIGHT) {
      throw new FieldError(`${this.cls}.${path}.maxHeight: must be -1 (unlimited), 0 or positive, got ${maxHeight}`);
    }
    const out: VideoConstraints = { maxHeight };
    const fr = get(o, 'maxFrameRate');
    if (fr !== undefined && fr !== null) {
      if (typeof fr !== 'number' || !Number.isFinite(fr)) this.fail(`${path}.maxFrameRate`, 'a number', fr);
      if (fr !== UNLIMITED_FRAME_RATE && fr < 0) {
        throw new FieldError(`${this.cls}.${path}.maxFrameRate: must be -1 (unlimited) or >= 0, got ${fr}`);
      }
      out.maxFrameRate = fr;
    }
    return out;
  }
}

function join(prefix: string | undefined, key: string): string {
  return prefix === undefined ? key : `${prefix}.${key}`;
}

function get(o: JsonObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `number ${v}`;
  return typeof v;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function keyPath(key: string): string {
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Second pass over text that `JSON.parse` already accepted: finds duplicate keys (compared after unescaping, as
 * Jackson does), nesting deeper than {@link MAX_JSON_NESTING_DEPTH}, over-long numbers and keys. Returns an error
 * text or null. Linear time; relies on the input being valid JSON.
 */
function checkJsonStructure(text: string): string | null {
  // One frame per open container: the keys seen so far (objects) or null (arrays), and the current key/index
  // for error paths.
  const keys: (Set<string> | null)[] = [];
  const at: (string | number)[] = [];
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (keys.length >= MAX_JSON_NESTING_DEPTH) {
        return `JSON nested deeper than ${MAX_JSON_NESTING_DEPTH} levels at ${formatPath(at)}`;
      }
      const isObj = c === 0x7b;
      keys.push(isObj ? new Set<string>() : null);
      at.push(isObj ? '' : 0);
      expectKey = isObj;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keys.pop();
      at.pop();
      expectKey = false;
      i++;
    } else if (c === 0x2c /* , */) {
      const top = keys.length - 1;
      if (keys[top] === null) at[top] = (at[top] as number) + 1;
      expectKey = keys[top] !== null;
      i++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) {
          break;
        } else {
          j++;
        }
      }
      if (expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const top = keys.length - 1;
        const seen = keys[top] as Set<string>;
        if (key.length > MAX_JSON_NAME_LENGTH) {
          return `JSON key longer than ${MAX_JSON_NAME_LENGTH} characters at ${formatPath(at.slice(0, top))}`;
        }
        if (seen.has(key)) return `duplicate key ${JSON.stringify(key)} at ${formatPath(at.slice(0, top))}`;
        seen.add(key);
        at[top] = key;
        expectKey = false;
      }
      i = j + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        // digits . e E + -
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      if (j - i > MAX_JSON_NUMBER_LENGTH) {
        return `JSON number longer than ${MAX_JSON_NUMBER_LENGTH} characters at ${formatPath(at)}`;
      }
      i = j;
    } else {
      // whitespace, ':' and the letters of true/false/null
      i++;
    }
  }
  return null;
}

function formatPath(segments: readonly (string | number)[]): string {
  let s = '$';
  for (const seg of segments) s += typeof seg === 'number' ? `[${seg}]` : keyPath(seg);
  return s;
}
