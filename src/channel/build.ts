/**
 * Helpers on bridge-channel messages and constructors of the ones the bridge sends. See messages.ts.
 */
import type {
  AddReceiver,
  AudioSourceMapping,
  AudioSourcesMap,
  ClientHello,
  ConnectionStats,
  DominantSpeakerEndpointChangeEvent,
  EndpointConnectivityStatusChangeEvent,
  EndpointMessage,
  EndpointStats,
  ForwardedSources,
  LastNChangedEvent,
  RemoveReceiver,
  SenderSourceConstraints,
  ServerHello,
  SourceVideoTypeMessage,
  SyntheticSourceSendingChangeEvent,
  VideoConstraints,
  VideoSourceMapping,
  VideoSourcesMap,
  VideoType,
} from './types.ts';
import { videoConstraintsValue } from './serialize.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers and constructors
// ---------------------------------------------------------------------------------------------------------------

// Kotlin's String.isBlank(): Character.isWhitespace || Character.isSpaceChar, i.e. \t \n \v \f \r, U+001C..U+001F
// and the Unicode Zs/Zl/Zp categories.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+001C..U+001F are blank to Kotlin, so to JVB.
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
export function syntheticSourceSendingChange(sourceName: string, sending: boolean, timestamp: number): SyntheticSourceSendingChangeEvent {
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
