/**
 * Bridge-channel message types: one per `colibriClass`, mirroring the wire JSON exactly (field names, JSON types),
 * with the limits and value types they share. See messages.ts.
 */
import { normalizeVideoType, VIDEO_TYPES, type VideoType } from '../jingle/types.ts';

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

// `VideoConstraints` values meaning "no limit": the allocation's (JVB's messages use `cc.allocation.VideoConstraints`).
import { UNLIMITED_FRAME_RATE, UNLIMITED_HEIGHT } from '../allocation/types.ts';
export { UNLIMITED_FRAME_RATE, UNLIMITED_HEIGHT };

// ---------------------------------------------------------------------------------------------------------------
// Shared value types
// ---------------------------------------------------------------------------------------------------------------

// The video types (one declaration for the bridge channel, colibri2 sources, media and the allocation).
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
