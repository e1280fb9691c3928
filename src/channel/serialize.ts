/**
 * Serialising bridge-channel messages to their wire JSON. See messages.ts.
 */
import { type BridgeChannelMessage, NO_RTX, type VideoConstraints } from './types.ts';

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
      return writeObject([['colibriClass', m.colibriClass], ['to', m.to], ['from', m.from], ...otherFields(m, ['colibriClass', 'to', 'from'])]);
    case 'EndpointStats':
      return writeObject([['colibriClass', m.colibriClass], ['from', m.from], ...otherFields(m, ['colibriClass', 'from'])]);
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
            rawJson(writeObject(Object.keys(constraints).map((k): [string, unknown] => [k, videoConstraintsValue(constraints[k] as VideoConstraints)]))),
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

export function videoConstraintsValue(c: VideoConstraints): VideoConstraints {
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
