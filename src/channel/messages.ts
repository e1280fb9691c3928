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
 *
 * The types (types.ts), the parser (parse.ts), the serializer (serialize.ts) and the constructors of the messages
 * the bridge sends (build.ts) each have their own file; this module is their one entry point.
 */
export * from './types.ts';
export * from './parse.ts';
export * from './serialize.ts';
export * from './build.ts';
