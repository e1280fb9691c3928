/**
 * Bridge-channel messages: the JSON objects exchanged between an endpoint (lib-jitsi-meet) and the bridge, and
 * between two bridges over a relay, on the SCTP data channel (PPID 51, string) or a colibri websocket (text frame).
 *
 * Every message is a UTF-8 JSON object with a mandatory `colibriClass` discriminant. The set of classes, their
 * fields, and the parsing rules follow JVB's
 * `jvb/src/main/kotlin/org/jitsi/videobridge/message/BridgeChannelMessage.kt` (Jackson with
 * `ACCEPT_CASE_INSENSITIVE_ENUMS` and `STRICT_DUPLICATE_DETECTION`), its `VideoConstraints.kt` and
 * `jitsi-media-transform/.../nlj/VideoType.kt`; the client side is lib-jitsi-meet `modules/RTC/BridgeChannel.ts`.
 *
 * The TypeScript types below mirror the wire JSON exactly (field names, JSON types), so that
 * `serializeBridgeChannelMessage` is a canonical `JSON.stringify`. Parsing normalises in three places only:
 * `videoType` is upper-cased (and `NONE` becomes `DISABLED`), the legacy `ReceiverAudioSubscription` `mode`/`list`
 * form becomes `all`/`include`/`exclude`, and a missing `EndpointMessage.to` becomes `""`.
 *
 * `parseBridgeChannelMessage` never throws. Errors name the offending field, e.g.
 * `ReceiverVideoConstraints.constraints["A-v1"].maxHeight: expected an integer, got string`.
 */

// ---------------------------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------------------------

/**
 * Largest accepted message, in bytes of UTF-8 (64 KiB). Longer input is rejected before JSON parsing.
 * JVB itself has no such check in `BridgeChannelMessage.parse`; 64 KiB is Jetty's default websocket text-message
 * limit and far above any real message. Override per call with {@link ParseOptions.maxBytes}.
 */
export const MAX_BRIDGE_CHANNEL_MESSAGE_BYTES = 64 * 1024;

/**
 * Deepest accepted nesting of JSON objects/arrays (the top-level object counts as 1). Same as Jackson's
 * `StreamReadConstraints` default (`maxNestingDepth = 1000`, jackson-core 2.15+; JVB uses 2.19), so anything JVB
 * would relay we relay, and re-serialising a parsed message cannot overflow the stack.
 */
export const MAX_JSON_NESTING_DEPTH = 1000;

/** Longest accepted JSON number literal, in characters. Jackson's `StreamReadConstraints.maxNumberLength` default. */
export const MAX_JSON_NUMBER_LENGTH = 1000;

/** Longest accepted JSON object key, in UTF-16 code units. Jackson's `StreamReadConstraints.maxNameLength` default. */
export const MAX_JSON_NAME_LENGTH = 50_000;

/** `VideoConstraints.maxHeight` value meaning "no height limit" (JVB `VideoConstraints.UNLIMITED_HEIGHT`). */
export const UNLIMITED_HEIGHT = -1;

/** `VideoConstraints.maxFrameRate` value meaning "no frame-rate limit" (JVB `VideoConstraints.UNLIMITED_FRAME_RATE`). */
export const UNLIMITED_FRAME_RATE = -1;

// ---------------------------------------------------------------------------------------------------------------
// Shared value types
// ---------------------------------------------------------------------------------------------------------------

// The video types (one declaration for the bridge channel, colibri2 sources, media and the allocation).
import { normalizeVideoType, VIDEO_TYPES, type VideoType } from '../jingle/types.ts';
export { normalizeVideoType, VIDEO_TYPES, type VideoType };

/**
 * Per-source receive constraints (JVB `cc/allocation/VideoConstraints.kt`).
 * - `maxHeight`: px of the smaller video dimension; `-1` unlimited, `0` do not forward, `> 0` soft cap. A Java int.
 * - `maxFrameRate`: fps; `-1` (the default when absent) unlimited, otherwise `>= 0`. A Java double.
 * Unknown fields inside a constraints object are ignored and dropped (`@JsonIgnoreProperties(ignoreUnknown=true)`).
 */
export interface VideoConstraints {
  maxHeight: number;
  maxFrameRate?: number;
}

/**
 * One entry of {@link VideoSourcesMap} (JVB `VideoSourceMapping`): which receive SSRC slot carries which source.
 * - `source`: source name, e.g. `"a1b2c3d4-v0"`.
 * - `owner`: endpoint id of the sender, or `null` (JVB's field is nullable and serialised as `null`).
 * - `ssrc`, `rtx`: primary and RTX SSRC the receiver sees (unsigned 32-bit values; any integer is accepted on
 *   parse, like JVB's `Long`). `rtx` is -1 when the receiver gets no RTX for the source; it is written as the string
 *   `"-1"` then, because lib-jitsi-meet (`JingleSessionPC.processSourceMap`) tests `rtx !== '-1'` before adding an FID
 *   group, and the number would give its remote SDP an `a=ssrc:-1`. A number or an integer string is accepted on
 *   parse (Jackson coerces a string to JVB's `Long`).
 * - `videoType`: see {@link VideoType}.
 * - `mid`: the mid the bridge stamps on this source's packets (mid-based demux only); omitted otherwise.
 */
/** How a {@link VideoSourceMapping} without RTX is written: lib-jitsi-meet compares `rtx` with this string. */
export const NO_RTX = '-1';

export interface VideoSourceMapping {
  source: string;
  owner: string | null;
  ssrc: number;
  rtx: number;
  videoType: VideoType;
  mid?: string;
}

/**
 * One entry of {@link AudioSourcesMap} (JVB `AudioSourceMapping`). Fields as in {@link VideoSourceMapping};
 * `ssrc` is the SSRC the receiver sees.
 */
export interface AudioSourceMapping {
  source: string;
  owner: string | null;
  ssrc: number;
  mid?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Message types (one per colibriClass)
// ---------------------------------------------------------------------------------------------------------------

/**
 * `ClientHello` (client → bridge). No fields; the bridge answers with {@link ServerHello} on the same channel.
 * Used by tests to check that the channel works. JVB `ClientHelloMessage`, `EndpointMessageTransport.clientHello`.
 */
export interface ClientHello {
  colibriClass: 'ClientHello';
}

/**
 * `ServerHello` (bridge → client, bridge ↔ bridge). Sent when a websocket is accepted and in reply to
 * {@link ClientHello}. `version`: the bridge version string, only when `videobridge.version.announce=true`.
 * JVB `ServerHelloMessage`; lib-jitsi-meet only logs it.
 */
export interface ServerHello {
  colibriClass: 'ServerHello';
  version?: string;
}

/**
 * `EndpointMessage` (client → bridge → client, bridge ↔ bridge): an opaque endpoint-to-endpoint message.
 * - `to`: target endpoint id; blank (`""`) means broadcast (see {@link isBroadcast}). Parsed as `""` when absent.
 * - `from`: the sender's endpoint id; set by the bridge before forwarding ({@link endpointMessageFrom}).
 * - `msgPayload`: the application payload (lib-jitsi-meet sends an object and drops messages without one).
 * - every other field is preserved verbatim and relayed.
 * JVB `EndpointMessage` (`otherFields` via `@JsonAnySetter`); lib-jitsi-meet `BridgeChannel.sendMessage`.
 */
export interface EndpointMessage {
  colibriClass: 'EndpointMessage';
  to: string;
  from?: string;
  msgPayload?: unknown;
  [field: string]: unknown;
}

/**
 * `EndpointStats` (client → bridge → clients, bridge ↔ bridge): a client's connection statistics (bitrate,
 * packetLoss, connectionQuality, jvbRTT, maxEnabledResolution, ...), relayed as-is.
 * - `from`: the sender's endpoint id, set by the bridge ({@link endpointStatsFrom}).
 * - every other field is preserved verbatim.
 * JVB `EndpointStats`; lib-jitsi-meet `BridgeChannel.sendEndpointStatsMessage`.
 */
export interface EndpointStats {
  colibriClass: 'EndpointStats';
  from?: string;
  [field: string]: unknown;
}

/**
 * `LastNChangedEvent` (client → bridge): `lastN` = the maximum number of video streams the client wants
 * (`-1` = unlimited). A Java int. JVB `LastNMessage`; lib-jitsi-meet `BridgeChannel.sendSetLastNMessage`.
 */
export interface LastNChangedEvent {
  colibriClass: 'LastNChangedEvent';
  lastN: number;
}

/**
 * `ReceiverVideoConstraints` (client → bridge). A partial update: absent fields keep their stored value.
 * - `lastN`: max number of video sources to forward, `-1` unlimited.
 * - `selectedSources`: source names the user selected (moved to the top of the allocation order).
 * - `onStageSources`: source names shown large (allocated greedily, high resolution).
 * - `defaultConstraints`: constraints for sources not listed in `constraints`.
 * - `constraints`: per-source-name constraints. A null-prototype object when produced by the parser; use
 *   `Object.hasOwn`/`in`, never rely on inherited members.
 * - `assumedBandwidthBps`: bps, overrides the bandwidth estimate (testing).
 * JVB `ReceiverVideoConstraintsMessage`; lib-jitsi-meet `ReceiveVideoController.ts` (`IReceiverVideoConstraints`).
 */
export interface ReceiverVideoConstraints {
  colibriClass: 'ReceiverVideoConstraints';
  lastN?: number;
  selectedSources?: string[];
  onStageSources?: string[];
  defaultConstraints?: VideoConstraints;
  constraints?: Record<string, VideoConstraints>;
  assumedBandwidthBps?: number;
}

/**
 * `ReceiverAudioSubscription` (client → bridge), always in the normalised form:
 * - `all`: default for sources named in neither list (synthetic sources are only received via `include`).
 * - `include`: source names always received (in addition to `all`).
 * - `exclude`: source names never received; wins over `all` and `include`.
 * The legacy form `{mode, list}` is translated on parse exactly like JVB's `ReceiverAudioSubscriptionMessage.fromJson`:
 * `All` → all; `None` → nothing; `Include` → `{all:false, include:list}`; `Exclude` → `{all:true, exclude:list}`
 * (`mode` is case-sensitive; any other value is an error). Absent fields default to `false`/`[]`.
 * lib-jitsi-meet `BridgeChannel.sendReceiverAudioSubscriptionMessage`.
 */
export interface ReceiverAudioSubscription {
  colibriClass: 'ReceiverAudioSubscription';
  all: boolean;
  include: string[];
  exclude: string[];
}

/**
 * `SourceVideoTypeMessage` (client → bridge, bridge ↔ bridge): the video type of one source.
 * - `sourceName`: e.g. `"79f0273e-v0"`.
 * - `videoType`: case-insensitive on the wire, canonical upper case here; `NONE` is parsed as `DISABLED`.
 * - `endpointId`: the owning endpoint, only on relays (otherwise implied by the channel).
 * JVB `SourceVideoTypeMessage`; lib-jitsi-meet `BridgeChannel.sendSourceVideoTypeMessage`.
 */
export interface SourceVideoTypeMessage {
  colibriClass: 'SourceVideoTypeMessage';
  sourceName: string;
  videoType: VideoType;
  endpointId?: string;
}

/**
 * `VideoTypeMessage` (deprecated; client → bridge, bridge ↔ bridge): the video type of the endpoint's only video
 * source. JVB maps it to a {@link SourceVideoTypeMessage} for the endpoint's default source name (`<endpoint>-v0`).
 * Fields as in {@link SourceVideoTypeMessage}. JVB `VideoTypeMessage`.
 */
export interface VideoTypeMessage {
  colibriClass: 'VideoTypeMessage';
  videoType: VideoType;
  endpointId?: string;
}

/**
 * `DominantSpeakerEndpointChangeEvent` (bridge → clients).
 * - `dominantSpeakerEndpoint`: endpoint id of the new dominant speaker.
 * - `previousSpeakers`: the other recent speakers, most recent first (up to `recent-speakers-count`, 10).
 * - `silence`: true when the conference is silent (only with silence detection; false when absent).
 * JVB `DominantSpeakerMessage`; lib-jitsi-meet `BridgeChannel` (`DOMINANT_SPEAKER_CHANGED`).
 */
export interface DominantSpeakerEndpointChangeEvent {
  colibriClass: 'DominantSpeakerEndpointChangeEvent';
  dominantSpeakerEndpoint: string;
  previousSpeakers?: string[];
  silence: boolean;
}

/**
 * `ForwardedSources` (bridge → client): `forwardedSources` = exactly the source names currently forwarded to this
 * receiver. JVB `ForwardedSourcesMessage`; lib-jitsi-meet `BridgeChannel` (`FORWARDED_SOURCES_CHANGED`).
 */
export interface ForwardedSources {
  colibriClass: 'ForwardedSources';
  forwardedSources: string[];
}

/**
 * `SenderSourceConstraints` (bridge → sending client): the highest resolution any receiver needs of `sourceName`.
 * `maxHeight`: px of the smaller dimension, a Java int; `0` = stop sending, `-1` = unlimited.
 * JVB `SenderSourceConstraintsMessage`; lib-jitsi-meet `BridgeChannel` (checks `sourceName` string, `maxHeight` number).
 */
export interface SenderSourceConstraints {
  colibriClass: 'SenderSourceConstraints';
  sourceName: string;
  maxHeight: number;
}

/**
 * `EndpointConnectivityStatusChangeEvent` (bridge → clients): whether the bridge receives media from `endpoint`.
 * `active` is the **string** `"true"` or `"false"` on the wire (lib-jitsi-meet compares `obj.active === 'true'`).
 * The parser also accepts JSON booleans (Jackson coerces them) and normalises them to the string form.
 * JVB `EndpointConnectionStatusMessage`.
 */
export interface EndpointConnectivityStatusChangeEvent {
  colibriClass: 'EndpointConnectivityStatusChangeEvent';
  endpoint: string;
  active: 'true' | 'false';
}

/**
 * `VideoSourcesMap` (bridge → client, SSRC rewriting): `mappedSources` = changes to the receiver's video SSRC
 * slots. JVB `VideoSourcesMap` (sent from `SsrcCache.kt`); lib-jitsi-meet `BridgeChannel` (`VIDEO_SSRCS_REMAPPED`).
 */
export interface VideoSourcesMap {
  colibriClass: 'VideoSourcesMap';
  mappedSources: VideoSourceMapping[];
}

/**
 * `AudioSourcesMap` (bridge → client, SSRC rewriting): `mappedSources` = changes to the receiver's audio SSRC
 * slots. JVB `AudioSourcesMap`; lib-jitsi-meet `BridgeChannel` (`AUDIO_SSRCS_REMAPPED`).
 */
export interface AudioSourcesMap {
  colibriClass: 'AudioSourcesMap';
  mappedSources: AudioSourceMapping[];
}

/**
 * `ConnectionStats` (bridge → client, periodic when `videobridge.connection-stats.enabled`):
 * `estimatedDownlinkBandwidth` = the bridge's send-side bandwidth estimate towards this client, in bps (a Java long).
 * JVB `ConnectionStats`; lib-jitsi-meet `BridgeChannel` (`BRIDGE_BWE_STATS_RECEIVED`).
 */
export interface ConnectionStats {
  colibriClass: 'ConnectionStats';
  estimatedDownlinkBandwidth: number;
}

/**
 * `SyntheticSourceSendingChangeEvent` (bridge → client): a bridge-generated source (e.g. translated audio)
 * started (`sending: true`) or stopped sending.
 * - `sourceName`: e.g. `"55555555-a0.hi"`.
 * - `timestamp`: RTP timestamp (source clock, 48 kHz for Opus), unsigned 32-bit; for a start the first packet's
 *   timestamp, for a stop one past the last packet. Parsed as any integer (JVB `Long`); lib-jitsi-meet rejects
 *   values outside `0..0xFFFFFFFF`, so {@link syntheticSourceSendingChange} reduces it modulo 2^32.
 * JVB `SyntheticSourceSendingChangeEvent`; lib-jitsi-meet `BridgeChannel` (validates `0..0xFFFFFFFF`).
 */
export interface SyntheticSourceSendingChangeEvent {
  colibriClass: 'SyntheticSourceSendingChangeEvent';
  sourceName: string;
  sending: boolean;
  timestamp: number;
}

/**
 * `AddReceiver` (bridge → bridge over a relay): bridge `bridgeId` wants source `sourceName` with
 * `videoConstraints`. JVB `AddReceiverMessage` (emits `maxFrameRate` always, as a double, e.g. `-1.0`).
 */
export interface AddReceiver {
  colibriClass: 'AddReceiver';
  bridgeId: string;
  sourceName: string;
  videoConstraints: VideoConstraints;
}

/**
 * `RemoveReceiver` (bridge → bridge over a relay): bridge `bridgeId` no longer wants video from endpoint
 * `endpointId`. JVB `RemoveReceiverMessage`.
 */
export interface RemoveReceiver {
  colibriClass: 'RemoveReceiver';
  bridgeId: string;
  endpointId: string;
}

/** Every bridge-channel message, discriminated by `colibriClass` (JVB's `BridgeChannelMessage` subtypes). */
export type BridgeChannelMessage =
  | ClientHello
  | ServerHello
  | EndpointMessage
  | EndpointStats
  | LastNChangedEvent
  | ReceiverVideoConstraints
  | ReceiverAudioSubscription
  | SourceVideoTypeMessage
  | VideoTypeMessage
  | DominantSpeakerEndpointChangeEvent
  | ForwardedSources
  | SenderSourceConstraints
  | EndpointConnectivityStatusChangeEvent
  | VideoSourcesMap
  | AudioSourcesMap
  | ConnectionStats
  | SyntheticSourceSendingChangeEvent
  | AddReceiver
  | RemoveReceiver;

/** The `colibriClass` of a {@link BridgeChannelMessage}. */
export type ColibriClass = BridgeChannelMessage['colibriClass'];

/** All known `colibriClass` values, in the order of JVB's `@JsonSubTypes`. */
export const COLIBRI_CLASSES: readonly ColibriClass[] = [
  'ClientHello',
  'ServerHello',
  'EndpointMessage',
  'EndpointStats',
  'LastNChangedEvent',
  'DominantSpeakerEndpointChangeEvent',
  'EndpointConnectivityStatusChangeEvent',
  'ForwardedSources',
  'VideoSourcesMap',
  'AudioSourcesMap',
  'SenderSourceConstraints',
  'AddReceiver',
  'RemoveReceiver',
  'ReceiverVideoConstraints',
  'SourceVideoTypeMessage',
  'ConnectionStats',
  'VideoTypeMessage',
  'ReceiverAudioSubscription',
  'SyntheticSourceSendingChangeEvent',
];

/** The message type whose `colibriClass` is `C`. */
export type MessageOfClass<C extends ColibriClass> = Extract<BridgeChannelMessage, { colibriClass: C }>;

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
  const cls = obj['colibriClass'];
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
      if (from === undefined) delete out['from'];
      return out;
    }

    case 'EndpointStats': {
      const from = R.optString(o, 'from');
      const out: EndpointStats = { ...o, colibriClass: 'EndpointStats' };
      if (from === undefined) delete out['from'];
      return out;
    }

    case 'LastNChangedEvent':
      R.keys(o, ['lastN']);
      return { colibriClass: 'LastNChangedEvent', lastN: R.int32(o, 'lastN') };

    case 'ReceiverVideoConstraints': {
      R.keys(o, [
        'lastN',
        'selectedSources',
        'onStageSources',
        'defaultConstraints',
        'constraints',
        'assumedBandwidthBps',
      ]);
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
            throw new FieldError(
              `${cls}.mode: expected one of "All", "None", "Include", "Exclude", got ${JSON.stringify(mode)}`,
            );
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
      throw new FieldError(
        `${this.cls}.${path}: expected one of ${VIDEO_TYPES.join(', ')} (any case) or NONE, got ${JSON.stringify(v)}`,
      );
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

// ---------------------------------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------------------------------

/**
 * Serialises a message to its wire JSON: `colibriClass` first, then the type's fields in a fixed order (JVB's
 * constructor order), optional fields omitted when `undefined`. `EndpointMessage` is `colibriClass, to, from?`
 * then its other fields in insertion order; `EndpointStats` is `colibriClass, from?` then the rest. Fields not in
 * the type are not written (except for those two). `parseBridgeChannelMessage(serializeBridgeChannelMessage(m))`
 * yields `m` for any valid `m`. Throws only if a relayed value cannot be stringified (BigInt, cycles), which
 * cannot happen for parsed messages.
 */
export function serializeBridgeChannelMessage(m: BridgeChannelMessage): string {
  switch (m.colibriClass) {
    case 'ClientHello':
      return writeObject([['colibriClass', m.colibriClass]]);
    case 'ServerHello':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['version', m.version],
      ]);
    case 'EndpointMessage':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['to', m.to],
        ['from', m.from],
        ...otherFields(m, ['colibriClass', 'to', 'from']),
      ]);
    case 'EndpointStats':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['from', m.from],
        ...otherFields(m, ['colibriClass', 'from']),
      ]);
    case 'LastNChangedEvent':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['lastN', m.lastN],
      ]);
    case 'ReceiverVideoConstraints': {
      const constraints = m.constraints;
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['lastN', m.lastN],
        ['selectedSources', m.selectedSources],
        ['onStageSources', m.onStageSources],
        ['defaultConstraints', m.defaultConstraints && videoConstraintsValue(m.defaultConstraints)],
        [
          'constraints',
          constraints &&
            rawJson(
              writeObject(
                Object.keys(constraints).map((k): [string, unknown] => [
                  k,
                  videoConstraintsValue(constraints[k] as VideoConstraints),
                ]),
              ),
            ),
        ],
        ['assumedBandwidthBps', m.assumedBandwidthBps],
      ]);
    }
    case 'ReceiverAudioSubscription':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['all', m.all],
        ['include', m.include],
        ['exclude', m.exclude],
      ]);
    case 'SourceVideoTypeMessage':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['sourceName', m.sourceName],
        ['videoType', m.videoType],
        ['endpointId', m.endpointId],
      ]);
    case 'VideoTypeMessage':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['videoType', m.videoType],
        ['endpointId', m.endpointId],
      ]);
    case 'DominantSpeakerEndpointChangeEvent':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['dominantSpeakerEndpoint', m.dominantSpeakerEndpoint],
        ['previousSpeakers', m.previousSpeakers],
        ['silence', m.silence],
      ]);
    case 'ForwardedSources':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['forwardedSources', m.forwardedSources],
      ]);
    case 'SenderSourceConstraints':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['sourceName', m.sourceName],
        ['maxHeight', m.maxHeight],
      ]);
    case 'EndpointConnectivityStatusChangeEvent':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['endpoint', m.endpoint],
        ['active', m.active],
      ]);
    case 'VideoSourcesMap':
      return writeObject([
        ['colibriClass', m.colibriClass],
        [
          'mappedSources',
          m.mappedSources.map((e) => ({
            source: e.source,
            owner: e.owner,
            ssrc: e.ssrc,
            rtx: e.rtx === -1 ? NO_RTX : e.rtx,
            videoType: e.videoType,
            mid: e.mid,
          })),
        ],
      ]);
    case 'AudioSourcesMap':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['mappedSources', m.mappedSources.map((e) => ({ source: e.source, owner: e.owner, ssrc: e.ssrc, mid: e.mid }))],
      ]);
    case 'ConnectionStats':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['estimatedDownlinkBandwidth', m.estimatedDownlinkBandwidth],
      ]);
    case 'SyntheticSourceSendingChangeEvent':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['sourceName', m.sourceName],
        ['sending', m.sending],
        ['timestamp', m.timestamp],
      ]);
    case 'AddReceiver':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['bridgeId', m.bridgeId],
        ['sourceName', m.sourceName],
        ['videoConstraints', videoConstraintsValue(m.videoConstraints)],
      ]);
    case 'RemoveReceiver':
      return writeObject([
        ['colibriClass', m.colibriClass],
        ['bridgeId', m.bridgeId],
        ['endpointId', m.endpointId],
      ]);
  }
}

/** Marker for an already-serialised JSON fragment inside {@link writeObject}. */
class RawJson {
  readonly json: string;
  constructor(json: string) {
    this.json = json;
  }
}

function rawJson(json: string): RawJson {
  return new RawJson(json);
}

function videoConstraintsValue(c: VideoConstraints): VideoConstraints {
  return c.maxFrameRate === undefined ? { maxHeight: c.maxHeight } : { maxHeight: c.maxHeight, maxFrameRate: c.maxFrameRate };
}

function otherFields(m: Record<string, unknown>, skip: readonly string[]): [string, unknown][] {
  return Object.keys(m)
    .filter((k) => !skip.includes(k))
    .map((k): [string, unknown] => [k, m[k]]);
}

/**
 * Writes `{"k":v,...}` from entries, skipping values JSON.stringify would drop (undefined, functions). Built by
 * string concatenation so that keys like `__proto__` are written like any other.
 */
function writeObject(entries: readonly [string, unknown][]): string {
  const parts: string[] = [];
  for (const [k, v] of entries) {
    const json = v instanceof RawJson ? v.json : JSON.stringify(v);
    if (json === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers and constructors
// ---------------------------------------------------------------------------------------------------------------

// Kotlin's String.isBlank(): Character.isWhitespace || Character.isSpaceChar, i.e. \t \n \v \f \r, U+001C..U+001F
// and the Unicode Zs/Zl/Zp categories.
const BLANK = /^[\t\n\v\f\r\u001c-\u001f\p{Zs}\p{Zl}\p{Zp}]*$/u;

/**
 * Whether an {@link EndpointMessage} is a broadcast: its `to` is blank (empty or whitespace, as Kotlin's
 * `isBlank()` in JVB `EndpointMessage.isBroadcast`). Otherwise `to` is the target endpoint id.
 */
export function isBroadcast(m: EndpointMessage): boolean {
  return BLANK.test(m.to);
}

/** A `ClientHello` ({@link ClientHello}). */
export function clientHello(): ClientHello {
  return { colibriClass: 'ClientHello' };
}

/**
 * The `ServerHello` the bridge sends on websocket accept and in reply to `ClientHello` ({@link ServerHello}).
 * `version`: the bridge version string; omit unless announcing the version is configured (JVB
 * `videobridge.version.announce`, `EndpointMessageTransport.createServerHello`).
 */
export function serverHello(version?: string): ServerHello {
  return version === undefined ? { colibriClass: 'ServerHello' } : { colibriClass: 'ServerHello', version };
}

/**
 * A new `EndpointMessage` to endpoint `to` (`""` = broadcast) carrying `msgPayload` (lib-jitsi-meet
 * `BridgeChannel.sendMessage`).
 */
export function endpointMessage(to: string, msgPayload: unknown): EndpointMessage {
  return { colibriClass: 'EndpointMessage', to, msgPayload };
}

/**
 * Copy of a received `EndpointMessage` with `from` set to the sending endpoint's id (overwriting any `from` the
 * client put there), ready to forward. Other fields are kept. JVB `EndpointMessageTransport.endpointMessage`.
 */
export function endpointMessageFrom(msg: EndpointMessage, from: string): EndpointMessage {
  return { ...msg, from };
}

/** Copy of a received `EndpointStats` with `from` set to the sender's endpoint id, ready to forward. */
export function endpointStatsFrom(msg: EndpointStats, from: string): EndpointStats {
  return { ...msg, from };
}

/** A `LastNChangedEvent` (`lastN`: max video streams, `-1` unlimited). Client-side; for tests and tools. */
export function lastNChanged(lastN: number): LastNChangedEvent {
  return { colibriClass: 'LastNChangedEvent', lastN };
}

/**
 * A `SourceVideoTypeMessage` for source `sourceName`; `endpointId` (the owner) is set when forwarding to relays
 * (JVB `EndpointMessageTransport.sourceVideoType`).
 */
export function sourceVideoType(sourceName: string, videoType: VideoType, endpointId?: string): SourceVideoTypeMessage {
  const m: SourceVideoTypeMessage = { colibriClass: 'SourceVideoTypeMessage', sourceName, videoType };
  if (endpointId !== undefined) m.endpointId = endpointId;
  return m;
}

/**
 * A `DominantSpeakerEndpointChangeEvent`. `previousSpeakers`: the other recent speakers, most recent first
 * (JVB always sends the list, possibly empty); `silence`: conference silent (silence detection only).
 * JVB `DominantSpeakerMessage(recentSpeakers, silence)` from `Conference.java`.
 */
export function dominantSpeakerChange(
  dominantSpeakerEndpoint: string,
  previousSpeakers: readonly string[] = [],
  silence = false,
): DominantSpeakerEndpointChangeEvent {
  return {
    colibriClass: 'DominantSpeakerEndpointChangeEvent',
    dominantSpeakerEndpoint,
    previousSpeakers: [...previousSpeakers],
    silence,
  };
}

/** A `ForwardedSources` listing exactly the source names now forwarded to the receiver (JVB `Endpoint.kt`). */
export function forwardedSources(names: Iterable<string>): ForwardedSources {
  return { colibriClass: 'ForwardedSources', forwardedSources: [...names] };
}

/**
 * A `SenderSourceConstraints` for the sender of `sourceName`: `maxHeight` px (smaller dimension) = the highest any
 * receiver needs, `0` = stop sending, `-1` = unlimited (JVB `Endpoint.kt`, `SenderSourceConstraintsMessage`).
 */
export function senderSourceConstraints(sourceName: string, maxHeight: number): SenderSourceConstraints {
  return { colibriClass: 'SenderSourceConstraints', sourceName, maxHeight };
}

/**
 * An `EndpointConnectivityStatusChangeEvent` for `endpoint`; `active` is encoded as the string `"true"`/`"false"`
 * (JVB `EndpointConnectionStatusMessage`, sent by `EndpointConnectionStatusMonitor.kt`).
 */
export function endpointConnectivityStatus(endpoint: string, active: boolean): EndpointConnectivityStatusChangeEvent {
  return { colibriClass: 'EndpointConnectivityStatusChangeEvent', endpoint, active: active ? 'true' : 'false' };
}

/** A `VideoSourcesMap` with the given slot mappings (JVB `SsrcCache.kt`). Entries are copied. */
export function videoSourcesMap(entries: Iterable<VideoSourceMapping>): VideoSourcesMap {
  return { colibriClass: 'VideoSourcesMap', mappedSources: Array.from(entries, (e) => ({ ...e })) };
}

/** An `AudioSourcesMap` with the given slot mappings (JVB `SsrcCache.kt`). Entries are copied. */
export function audioSourcesMap(entries: Iterable<AudioSourceMapping>): AudioSourcesMap {
  return { colibriClass: 'AudioSourcesMap', mappedSources: Array.from(entries, (e) => ({ ...e })) };
}

/**
 * A `ConnectionStats` with the downlink bandwidth estimate `bps` (bits per second), rounded to an integer and
 * clamped at 0 (a Java long in JVB `Endpoint.kt`).
 */
export function connectionStats(bps: number): ConnectionStats {
  const v = Number.isFinite(bps) ? Math.max(0, Math.round(bps)) : 0;
  return { colibriClass: 'ConnectionStats', estimatedDownlinkBandwidth: v };
}

/**
 * A `SyntheticSourceSendingChangeEvent`: synthetic source `sourceName` started/stopped `sending` at RTP
 * `timestamp` (reduced modulo 2^32).
 */
export function syntheticSourceSendingChange(
  sourceName: string,
  sending: boolean,
  timestamp: number,
): SyntheticSourceSendingChangeEvent {
  return { colibriClass: 'SyntheticSourceSendingChangeEvent', sourceName, sending, timestamp: timestamp >>> 0 };
}

/** An `AddReceiver` (relay): bridge `bridgeId` wants `sourceName` with `videoConstraints`. */
export function addReceiver(bridgeId: string, sourceName: string, videoConstraints: VideoConstraints): AddReceiver {
  return { colibriClass: 'AddReceiver', bridgeId, sourceName, videoConstraints: videoConstraintsValue(videoConstraints) };
}

/** A `RemoveReceiver` (relay): bridge `bridgeId` no longer wants video from endpoint `endpointId`. */
export function removeReceiver(bridgeId: string, endpointId: string): RemoveReceiver {
  return { colibriClass: 'RemoveReceiver', bridgeId, endpointId };
}
