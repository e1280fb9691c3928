import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  COLIBRI_CLASSES,
  MAX_BRIDGE_CHANNEL_MESSAGE_BYTES,
  MAX_JSON_NESTING_DEPTH,
  MAX_JSON_NUMBER_LENGTH,
  VIDEO_TYPES,
  addReceiver,
  audioSourcesMap,
  clientHello,
  connectionStats,
  dominantSpeakerChange,
  endpointConnectivityStatus,
  endpointMessage,
  endpointMessageFrom,
  endpointStatsFrom,
  forwardedSources,
  isBroadcast,
  lastNChanged,
  normalizeVideoType,
  parseBridgeChannelMessage,
  removeReceiver,
  senderSourceConstraints,
  serializeBridgeChannelMessage,
  serverHello,
  sourceVideoType,
  syntheticSourceSendingChange,
  videoSourcesMap,
  type BridgeChannelMessage,
  type EndpointMessage,
  type ParseResult,
} from './messages.ts';

/** Parse, expecting a known message. */
function ok(text: string, opts?: Parameters<typeof parseBridgeChannelMessage>[1]): BridgeChannelMessage {
  const r = parseBridgeChannelMessage(text, opts);
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  if ('unknown' in r) throw new Error(`expected a known class, got ${r.colibriClass}`);
  return r.message;
}

/** Parse, expecting an error; returns the error text. */
function bad(text: string, opts?: Parameters<typeof parseBridgeChannelMessage>[1]): string {
  const r = parseBridgeChannelMessage(text, opts);
  if (r.ok) throw new Error(`expected an error for ${text.slice(0, 200)}`);
  return r.error;
}

function isWellFormed(r: ParseResult): boolean {
  if (!r.ok) return typeof r.error === 'string' && r.error.length > 0;
  if ('unknown' in r) return r.unknown && typeof r.colibriClass === 'string' && typeof r.raw === 'object';
  return COLIBRI_CLASSES.includes(r.message.colibriClass);
}

// Bridge-channel messages as lib-jitsi-meet and JVB put them on the wire, verbatim (the ReceiverVideoConstraints
// example joined onto one line).
// `canonical`: our serialiser reproduces the text byte for byte.
const WIRE_EXAMPLES: { text: string; canonical: boolean }[] = [
  { text: '{"colibriClass":"ServerHello","version":"2.3.220-gabcdef"}', canonical: true },
  { text: '{"colibriClass":"EndpointMessage","to":"","msgPayload":{"type":"e2e-ping","id":3}}', canonical: true },
  {
    text: '{"colibriClass":"EndpointMessage","to":"","from":"79f0273e","msgPayload":{"type":"e2e-ping","id":3}}',
    canonical: true,
  },
  {
    text:
      '{"colibriClass":"EndpointStats","from":"fda767f7","bitrate":{"upload":40,"download":175,"audio":{"upload":32,' +
      '"download":31},"video":{"upload":8,"download":144}},"packetLoss":{"total":0,"download":0,"upload":0},' +
      '"connectionQuality":20,"jvbRTT":1,"maxEnabledResolution":180}',
    canonical: true,
  },
  { text: '{"colibriClass":"LastNChangedEvent","lastN":5}', canonical: true },
  {
    text:
      '{"colibriClass":"ReceiverVideoConstraints","lastN":2,"selectedSources":["A-v0","B-v0"],' +
      '"onStageSources":["A-v1","C-v0","D-v0"],"defaultConstraints":{"maxHeight":180},' +
      '"constraints":{"A-v1":{"maxHeight":720},"B-v0":{"maxHeight":360}}}',
    canonical: true,
  },
  {
    text: '{"colibriClass":"ReceiverAudioSubscription","all":true,"include":[],"exclude":["abcd1234-a0"]}',
    canonical: true,
  },
  { text: '{"colibriClass":"SourceVideoTypeMessage","sourceName":"79f0273e-v0","videoType":"desktop"}', canonical: false },
  {
    text: '{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"79f0273e",' + '"previousSpeakers":["a1b2c3d4"],"silence":false}',
    canonical: true,
  },
  { text: '{"colibriClass":"ForwardedSources","forwardedSources":["79f0273e-v0","a1b2c3d4-v0"]}', canonical: true },
  { text: '{"colibriClass":"SenderSourceConstraints","sourceName":"endpoint1-v0","maxHeight":180}', canonical: true },
  {
    text: '{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a1b2c3d4","active":"false"}',
    canonical: true,
  },
  {
    text:
      '{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"a1b2c3d4-v0","owner":"a1b2c3d4",' + '"ssrc":1234567,"rtx":7654321,"videoType":"CAMERA"}]}',
    canonical: true,
  },
  {
    text: '{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"a1b2c3d4-a0","owner":"a1b2c3d4","ssrc":2345678}]}',
    canonical: true,
  },
  { text: '{"colibriClass":"ConnectionStats","estimatedDownlinkBandwidth":2450000}', canonical: true },
  {
    text: '{"colibriClass":"AddReceiver","bridgeId":"jvb-2","sourceName":"a1b2c3d4-v0",' + '"videoConstraints":{"maxHeight":360,"maxFrameRate":-1.0}}',
    canonical: false,
  },
  { text: '{"colibriClass":"RemoveReceiver","bridgeId":"jvb-2","endpointId":"a1b2c3d4"}', canonical: true },
];

describe('wire examples', () => {
  for (const { text, canonical } of WIRE_EXAMPLES) {
    const cls = (JSON.parse(text) as { colibriClass: string }).colibriClass;
    it(`round-trips ${cls}${text.includes('"from"') && cls === 'EndpointMessage' ? ' (with from)' : ''}`, () => {
      const m = ok(text);
      expect(m.colibriClass).toBe(cls);
      const out = serializeBridgeChannelMessage(m);
      expect(ok(out)).toEqual(m);
      expect(serializeBridgeChannelMessage(ok(out))).toBe(out);
      if (canonical) expect(out).toBe(text);
      // Same JSON content as the input, except the normalised fields.
      if (canonical) expect(JSON.parse(out)).toEqual(JSON.parse(text));
    });
  }

  it('normalises videoType to upper case', () => {
    const m = ok(WIRE_EXAMPLES.find((e) => e.text.includes('SourceVideoTypeMessage'))!.text);
    expect(m).toEqual({ colibriClass: 'SourceVideoTypeMessage', sourceName: '79f0273e-v0', videoType: 'DESKTOP' });
    expect(serializeBridgeChannelMessage(m)).toBe('{"colibriClass":"SourceVideoTypeMessage","sourceName":"79f0273e-v0","videoType":"DESKTOP"}');
  });

  it('keeps AddReceiver maxFrameRate -1.0 as -1', () => {
    const m = ok(WIRE_EXAMPLES.find((e) => e.text.includes('AddReceiver'))!.text);
    expect(m).toEqual({
      colibriClass: 'AddReceiver',
      bridgeId: 'jvb-2',
      sourceName: 'a1b2c3d4-v0',
      videoConstraints: { maxHeight: 360, maxFrameRate: -1 },
    });
  });

  it('covers every known colibriClass in the examples or below', () => {
    const seen = new Set(WIRE_EXAMPLES.map((e) => (JSON.parse(e.text) as { colibriClass: string }).colibriClass));
    const rest = COLIBRI_CLASSES.filter((c) => !seen.has(c));
    expect(rest.sort()).toEqual(['ClientHello', 'SyntheticSourceSendingChangeEvent', 'VideoTypeMessage']);
  });
});

describe('individual messages', () => {
  it('ClientHello', () => {
    expect(ok('{"colibriClass":"ClientHello"}')).toEqual(clientHello());
    expect(serializeBridgeChannelMessage(clientHello())).toBe('{"colibriClass":"ClientHello"}');
  });

  it('ServerHello without version; null version is absent', () => {
    expect(serializeBridgeChannelMessage(serverHello())).toBe('{"colibriClass":"ServerHello"}');
    expect(ok('{"colibriClass":"ServerHello","version":null}')).toEqual({ colibriClass: 'ServerHello' });
    expect(serverHello('2.3')).toEqual({ colibriClass: 'ServerHello', version: '2.3' });
  });

  it('EndpointMessage: missing `to` is a broadcast, extra fields kept, from added in canonical position', () => {
    const m = ok('{"msgPayload":{"a":[1,{"b":null}]},"colibriClass":"EndpointMessage","x":1,"from":"spoofed"}');
    expect(m.colibriClass).toBe('EndpointMessage');
    const em = m as EndpointMessage;
    expect(em.to).toBe('');
    expect(isBroadcast(em)).toBe(true);
    const fwd = endpointMessageFrom(em, '79f0273e');
    expect(serializeBridgeChannelMessage(fwd)).toBe('{"colibriClass":"EndpointMessage","to":"","from":"79f0273e","msgPayload":{"a":[1,{"b":null}]},"x":1}');
    // The original is untouched.
    expect(em.from).toBe('spoofed');
  });

  it('EndpointMessage: blank `to` is a broadcast (Kotlin isBlank), an id is not', () => {
    expect(isBroadcast(endpointMessage('', {}))).toBe(true);
    expect(isBroadcast(endpointMessage(' \t\u00a0\u2003', {}))).toBe(true);
    expect(isBroadcast(endpointMessage('a1b2c3d4', {}))).toBe(false);
    expect(isBroadcast(endpointMessage('\ufeff', {}))).toBe(false);
  });

  it('EndpointMessage: from:null is dropped, keeps a null extra field', () => {
    const m = ok('{"colibriClass":"EndpointMessage","to":"x","from":null,"other_null":null}') as EndpointMessage;
    expect('from' in m).toBe(false);
    expect(Object.hasOwn(m, 'other_null')).toBe(true);
    expect(serializeBridgeChannelMessage(m)).toBe('{"colibriClass":"EndpointMessage","to":"x","other_null":null}');
  });

  it('EndpointMessage: a __proto__ key is kept as data and does not pollute', () => {
    const text = '{"colibriClass":"EndpointMessage","to":"","__proto__":{"polluted":1},"msgPayload":{"__proto__":2}}';
    const m = ok(text) as EndpointMessage;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(m, '__proto__')).toBe(true);
    const out = serializeBridgeChannelMessage(endpointMessageFrom(m, 'f'));
    expect(out).toBe('{"colibriClass":"EndpointMessage","to":"","from":"f","__proto__":{"polluted":1},"msgPayload":{"__proto__":2}}');
  });

  it('EndpointStats keeps every field and gets from', () => {
    const m = ok('{"colibriClass":"EndpointStats","connectionQuality":100,"jvbRTT":[1,2]}');
    if (m.colibriClass !== 'EndpointStats') throw new Error('wrong class');
    expect(serializeBridgeChannelMessage(endpointStatsFrom(m, 'e1'))).toBe(
      '{"colibriClass":"EndpointStats","from":"e1","connectionQuality":100,"jvbRTT":[1,2]}',
    );
  });

  it('ReceiverVideoConstraints: empty, maxFrameRate, ignored unknown constraint fields, null = absent', () => {
    expect(ok('{"colibriClass":"ReceiverVideoConstraints"}')).toEqual({ colibriClass: 'ReceiverVideoConstraints' });
    const m = ok(
      '{"colibriClass":"ReceiverVideoConstraints","lastN":null,"defaultConstraints":{"maxHeight":0},' +
        '"constraints":{"e":{"maxHeight":180,"maxFrameRate":30,"ignored":true},"constructor":{"maxHeight":-1}},' +
        '"assumedBandwidthBps":10000000}',
    );
    expect(m).toEqual({
      colibriClass: 'ReceiverVideoConstraints',
      defaultConstraints: { maxHeight: 0 },
      constraints: { e: { maxHeight: 180, maxFrameRate: 30 }, constructor: { maxHeight: -1 } },
      assumedBandwidthBps: 10000000,
    });
    if (m.colibriClass !== 'ReceiverVideoConstraints') throw new Error('wrong class');
    // Null-prototype map: no inherited members.
    expect(Object.getPrototypeOf(m.constraints)).toBe(null);
    expect(serializeBridgeChannelMessage(m)).toBe(
      '{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":{"maxHeight":0},' +
        '"constraints":{"e":{"maxHeight":180,"maxFrameRate":30},"constructor":{"maxHeight":-1}},' +
        '"assumedBandwidthBps":10000000}',
    );
  });

  it('ReceiverAudioSubscription: defaults and the legacy mode/list form', () => {
    const sub = (all: boolean, include: string[] = [], exclude: string[] = []) => ({
      colibriClass: 'ReceiverAudioSubscription',
      all,
      include,
      exclude,
    });
    const p = (rest: string) => ok(`{"colibriClass":"ReceiverAudioSubscription"${rest}}`);
    expect(p('')).toEqual(sub(false));
    expect(p(',"mode":"All"')).toEqual(sub(true));
    expect(p(',"mode":"None"')).toEqual(sub(false));
    expect(p(',"mode":"Include","list":["s1","s2"]')).toEqual(sub(false, ['s1', 's2']));
    expect(p(',"mode":"Exclude","list":["s3"]')).toEqual(sub(true, [], ['s3']));
    expect(p(',"mode":"Include"')).toEqual(sub(false));
    // mode wins over the new fields (JVB fromJson)
    expect(p(',"mode":"None","all":true,"include":["x"]')).toEqual(sub(false));
    expect(bad('{"colibriClass":"ReceiverAudioSubscription","mode":"all"}')).toMatch(/mode/);
    expect(bad('{"colibriClass":"ReceiverAudioSubscription","mode":"Include","list":"s1"}')).toMatch(/list/);
  });

  it('video types: case-insensitive, NONE → DISABLED', () => {
    for (const [wire, t] of [
      ['camera', 'CAMERA'],
      ['Desktop', 'DESKTOP'],
      ['desktop_high_fps', 'DESKTOP_HIGH_FPS'],
      ['disabled', 'DISABLED'],
      ['nOnE', 'DISABLED'],
    ] as const) {
      expect(normalizeVideoType(wire)).toBe(t);
      expect(ok(`{"colibriClass":"VideoTypeMessage","videoType":"${wire}"}`)).toEqual({
        colibriClass: 'VideoTypeMessage',
        videoType: t,
      });
    }
    expect(normalizeVideoType('screen')).toBeUndefined();
    expect(bad('{"colibriClass":"SourceVideoTypeMessage","sourceName":"s","videoType":"screen"}')).toMatch(/SourceVideoTypeMessage\.videoType/);
    expect(ok('{"colibriClass":"SourceVideoTypeMessage","sourceName":"s","videoType":"CAMERA","endpointId":"e"}')).toEqual(sourceVideoType('s', 'CAMERA', 'e'));
  });

  it('EndpointConnectivityStatusChangeEvent: string on the wire, booleans accepted', () => {
    expect(serializeBridgeChannelMessage(endpointConnectivityStatus('a', true))).toBe(
      '{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a","active":"true"}',
    );
    expect(ok('{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a","active":false}')).toEqual(endpointConnectivityStatus('a', false));
    expect(bad('{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a","active":"yes"}')).toMatch(/active/);
  });

  it('DominantSpeakerEndpointChangeEvent: silence defaults to false', () => {
    expect(ok('{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"d"}')).toEqual({
      colibriClass: 'DominantSpeakerEndpointChangeEvent',
      dominantSpeakerEndpoint: 'd',
      silence: false,
    });
    expect(serializeBridgeChannelMessage(dominantSpeakerChange('d', ['p1', 'p2']))).toBe(
      '{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"d","previousSpeakers":["p1","p2"],"silence":false}',
    );
  });

  it('source maps: owner may be null, mid optional, no RTX written as the string "-1" (LJM compares with it)', () => {
    const v = videoSourcesMap([
      { source: 's-v0', owner: null, ssrc: 1, rtx: -1, videoType: 'DESKTOP', mid: '3' },
      { source: 't-v0', owner: 't', ssrc: 0xffffffff, rtx: 2, videoType: 'CAMERA' },
    ]);
    const text = serializeBridgeChannelMessage(v);
    expect(text).toBe(
      '{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"s-v0","owner":null,"ssrc":1,"rtx":"-1",' +
        '"videoType":"DESKTOP","mid":"3"},{"source":"t-v0","owner":"t","ssrc":4294967295,"rtx":2,"videoType":"CAMERA"}]}',
    );
    expect(ok(text)).toEqual(v);
    // JVB's own number -1, and an integer string (Jackson's coercion), parse too.
    expect(ok(text.replace('"rtx":"-1"', '"rtx":-1'))).toEqual(v);
    expect(ok(text.replace('"rtx":2', '"rtx":"2"'))).toEqual(v);
    const a = audioSourcesMap([{ source: 's-a0', owner: 's', ssrc: 5 }]);
    expect(ok(serializeBridgeChannelMessage(a))).toEqual(a);
    // missing owner = null (JVB's owner is String?)
    expect(ok('{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"x","ssrc":5}]}')).toEqual(
      audioSourcesMap([{ source: 'x', owner: null, ssrc: 5 }]),
    );
  });

  it('bridge-sent constructors serialise to the expected wire form', () => {
    expect(serializeBridgeChannelMessage(forwardedSources(new Set(['a-v0', 'b-v0'])))).toBe(
      '{"colibriClass":"ForwardedSources","forwardedSources":["a-v0","b-v0"]}',
    );
    expect(serializeBridgeChannelMessage(senderSourceConstraints('a-v0', 0))).toBe(
      '{"colibriClass":"SenderSourceConstraints","sourceName":"a-v0","maxHeight":0}',
    );
    expect(serializeBridgeChannelMessage(connectionStats(2450000.6))).toBe('{"colibriClass":"ConnectionStats","estimatedDownlinkBandwidth":2450001}');
    expect(serializeBridgeChannelMessage(syntheticSourceSendingChange('55555555-a0.hi', true, 2 ** 32 + 5))).toBe(
      '{"colibriClass":"SyntheticSourceSendingChangeEvent","sourceName":"55555555-a0.hi","sending":true,"timestamp":5}',
    );
    expect(serializeBridgeChannelMessage(addReceiver('b', 's', { maxHeight: 360 }))).toBe(
      '{"colibriClass":"AddReceiver","bridgeId":"b","sourceName":"s","videoConstraints":{"maxHeight":360}}',
    );
    expect(serializeBridgeChannelMessage(removeReceiver('b', 'e'))).toBe('{"colibriClass":"RemoveReceiver","bridgeId":"b","endpointId":"e"}');
    expect(serializeBridgeChannelMessage(lastNChanged(-1))).toBe('{"colibriClass":"LastNChangedEvent","lastN":-1}');
  });
});

describe('bad input', () => {
  it('invalid JSON', () => {
    for (const t of ['', '{invalid json', '{"colibriClass":"ClientHello"', 'nul', '{"a":1,}', "{'a':1}"]) {
      expect(bad(t)).toMatch(/^invalid JSON/);
    }
    // Trailing content after the object (JSON.parse rejects it).
    expect(bad('{"colibriClass":"ClientHello"} x')).toMatch(/^invalid JSON/);
  });

  it('not an object', () => {
    for (const [t, what] of [
      ['[]', 'array'],
      ['"ClientHello"', 'string'],
      ['5', 'number'],
      ['null', 'null'],
      ['true', 'boolean'],
    ]) {
      expect(bad(t!)).toBe(`message is not a JSON object (got ${what})`);
    }
  });

  it('non-string input', () => {
    expect(bad(undefined as unknown as string)).toMatch(/not a string/);
    expect(bad(Buffer.from('{}') as unknown as string)).toMatch(/not a string/);
  });

  it('missing or non-string colibriClass', () => {
    expect(bad('{}')).toBe('missing colibriClass');
    expect(bad('{"to":""}')).toBe('missing colibriClass');
    expect(bad('{"colibriClass":5}')).toMatch(/colibriClass: expected a string, got number/);
    expect(bad('{"colibriClass":null}')).toMatch(/colibriClass: expected a string, got null/);
    expect(bad('{"colibriClass":["ClientHello"]}')).toMatch(/got array/);
  });

  it('unknown colibriClass is reported, not an error', () => {
    const r = parseBridgeChannelMessage('{"colibriClass":"LastNEndpointsChangeEvent","lastNEndpoints":[]}');
    expect(r).toEqual({
      ok: true,
      unknown: true,
      colibriClass: 'LastNEndpointsChangeEvent',
      raw: { colibriClass: 'LastNEndpointsChangeEvent', lastNEndpoints: [] },
    });
    // Class names are case-sensitive (Jackson type ids).
    expect('unknown' in parseBridgeChannelMessage('{"colibriClass":"clienthello"}')).toBe(true);
    // Inherited Object members are not classes.
    expect('unknown' in parseBridgeChannelMessage('{"colibriClass":"constructor"}')).toBe(true);
    // A known result has no `unknown` member.
    expect('unknown' in parseBridgeChannelMessage('{"colibriClass":"ClientHello"}')).toBe(false);
  });

  it('wrong field types, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['{"colibriClass":"LastNChangedEvent","lastN":"5"}', /LastNChangedEvent\.lastN: expected an integer, got string/],
      ['{"colibriClass":"LastNChangedEvent","lastN":5.5}', /LastNChangedEvent\.lastN: expected an integer, got number 5.5/],
      ['{"colibriClass":"LastNChangedEvent","lastN":4294967296}', /LastNChangedEvent\.lastN: .*out of range/],
      ['{"colibriClass":"LastNChangedEvent"}', /LastNChangedEvent\.lastN: missing required field/],
      ['{"colibriClass":"LastNChangedEvent","lastN":null}', /LastNChangedEvent\.lastN: missing required field/],
      ['{"colibriClass":"DominantSpeakerEndpointChangeEvent"}', /dominantSpeakerEndpoint: missing/],
      ['{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":[5]}', /dominantSpeakerEndpoint: expected a string, got array/],
      [
        '{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"d","previousSpeakers":[1]}',
        /previousSpeakers\[0\]: expected a string/,
      ],
      ['{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"d","silence":"false"}', /silence: expected a boolean/],
      ['{"colibriClass":"ReceiverVideoConstraints","lastN":"2"}', /ReceiverVideoConstraints\.lastN/],
      ['{"colibriClass":"ReceiverVideoConstraints","selectedSources":"A-v0"}', /selectedSources: expected an array/],
      ['{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":180}', /defaultConstraints: expected an object, got number/],
      ['{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":{}}', /defaultConstraints\.maxHeight: missing/],
      [
        '{"colibriClass":"ReceiverVideoConstraints","constraints":{"A-v1":{"maxHeight":"720"}}}',
        /constraints\["A-v1"\]\.maxHeight: expected an integer, got string/,
      ],
      ['{"colibriClass":"ReceiverVideoConstraints","constraints":{"A":{"maxHeight":-2}}}', /constraints\.A\.maxHeight: must be -1/],
      ['{"colibriClass":"ReceiverVideoConstraints","constraints":{"A":{"maxHeight":1,"maxFrameRate":-0.5}}}', /maxFrameRate: must be -1/],
      ['{"colibriClass":"ReceiverVideoConstraints","constraints":[]}', /constraints: expected an object, got array/],
      ['{"colibriClass":"ReceiverVideoConstraints","assumedBandwidthBps":1e300}', /assumedBandwidthBps/],
      ['{"colibriClass":"ReceiverAudioSubscription","all":"true"}', /ReceiverAudioSubscription\.all: expected a boolean/],
      ['{"colibriClass":"ReceiverAudioSubscription","exclude":[null]}', /exclude\[0\]: expected a string, got null/],
      ['{"colibriClass":"SourceVideoTypeMessage","videoType":"camera"}', /sourceName: missing/],
      ['{"colibriClass":"SourceVideoTypeMessage","sourceName":"s","videoType":1}', /videoType: expected a string/],
      ['{"colibriClass":"EndpointMessage","to":5}', /EndpointMessage\.to: expected a string, got number/],
      ['{"colibriClass":"EndpointMessage","to":null}', /EndpointMessage\.to: expected a string, got null/],
      ['{"colibriClass":"EndpointMessage","to":"","from":{}}', /EndpointMessage\.from: expected a string, got object/],
      ['{"colibriClass":"EndpointStats","from":1}', /EndpointStats\.from: expected a string/],
      ['{"colibriClass":"ServerHello","version":2}', /ServerHello\.version: expected a string/],
      ['{"colibriClass":"ForwardedSources"}', /forwardedSources: missing/],
      ['{"colibriClass":"ForwardedSources","forwardedSources":{}}', /forwardedSources: expected an array, got object/],
      ['{"colibriClass":"SenderSourceConstraints","sourceName":"s","maxHeight":"180"}', /maxHeight: expected an integer/],
      ['{"colibriClass":"EndpointConnectivityStatusChangeEvent","active":"true"}', /endpoint: missing/],
      [
        '{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"s","owner":"o","ssrc":"1","rtx":2,"videoType":"CAMERA"}]}',
        /mappedSources\[0\]\.ssrc: expected an integer/,
      ],
      ['{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"s","owner":"o","ssrc":1,"videoType":"CAMERA"}]}', /mappedSources\[0\]\.rtx: missing/],
      ['{"colibriClass":"VideoSourcesMap","mappedSources":[5]}', /mappedSources\[0\]: expected an object, got number/],
      ['{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"s","owner":7,"ssrc":1}]}', /mappedSources\[0\]\.owner: expected a string/],
      ['{"colibriClass":"ConnectionStats","estimatedDownlinkBandwidth":"1"}', /estimatedDownlinkBandwidth: expected an integer/],
      ['{"colibriClass":"SyntheticSourceSendingChangeEvent","sourceName":"s","sending":1,"timestamp":0}', /sending: expected a boolean/],
      ['{"colibriClass":"AddReceiver","bridgeId":"b","sourceName":"s"}', /videoConstraints: missing/],
      [
        '{"colibriClass":"AddReceiver","bridgeId":"b","sourceName":"s","videoConstraints":{"maxHeight":true}}',
        /videoConstraints\.maxHeight: expected an integer, got boolean/,
      ],
      ['{"colibriClass":"RemoveReceiver","bridgeId":"b"}', /RemoveReceiver\.endpointId: missing/],
    ];
    for (const [text, re] of cases) expect(bad(text), text).toMatch(re);
  });

  it('unknown fields: rejected like JVB, unless ignoreUnknownFields', () => {
    const t = '{"colibriClass":"LastNChangedEvent","lastN":5,"extra":1}';
    expect(bad(t)).toBe('LastNChangedEvent: unknown field "extra"');
    expect(ok(t, { ignoreUnknownFields: true })).toEqual({ colibriClass: 'LastNChangedEvent', lastN: 5 });
    expect(bad('{"colibriClass":"ClientHello","x":1}')).toMatch(/ClientHello: unknown field "x"/);
    expect(bad('{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"s","owner":"o","ssrc":1,"rtx":2}]}')).toBe(
      'AudioSourcesMap: unknown field mappedSources[0].rtx',
    );
    // Old pre-source-name fields are not silently accepted (JVB would reject them too).
    expect(bad('{"colibriClass":"ReceiverVideoConstraints","onStageEndpoints":["a"]}')).toMatch(/onStageEndpoints/);
  });

  it('duplicate keys anywhere', () => {
    const cases: [string, string][] = [
      ['{"colibriClass":"EndpointStats","colibriClass":"duplicate"}', 'duplicate key "colibriClass" at $'],
      ['{"colibriClass":"EndpointMessage","to":"a","to":"b"}', 'duplicate key "to" at $'],
      ['{"colibriClass":"EndpointStats","from":"a","from":"b"}', 'duplicate key "from" at $'],
      ['{"colibriClass":"EndpointStats","non-defined-prop":"a","non-defined-prop":"b"}', 'duplicate key "non-defined-prop" at $'],
      ['{"colibriClass":"EndpointMessage","to":"","msgPayload":{"a":1,"b":{"c":[{"d":1,"d":2}]}}}', 'duplicate key "d" at $.msgPayload.b.c[0]'],
      ['{"colibriClass":"EndpointMessage","to":"","\\u0074o":"x"}', 'duplicate key "to" at $'],
      ['{"colibriClass":"ReceiverVideoConstraints","constraints":{"A-v1":{"maxHeight":1},"A-v1":{"maxHeight":2}}}', 'duplicate key "A-v1" at $.constraints'],
      ['{"colibriClass":"EndpointMessage","to":"","m":[1,[2,{"x":1}],{"k":"v","k":"w"}]}', 'duplicate key "k" at $.m[2]'],
      ['{"colibriClass":"ClientHello","":1,"":2}', 'duplicate key "" at $'],
    ];
    for (const [text, error] of cases) expect(bad(text), text).toBe(error);
  });

  it('repeated keys in different objects, and key-like strings in values, are fine', () => {
    ok('{"colibriClass":"EndpointMessage","to":"","a":{"to":1},"b":[{"a":1},{"a":1}],"c":"to","d":["to","to"]}');
    ok('{"colibriClass":"EndpointMessage","to":"","s":"with \\"quotes\\" and \\\\ and {[,:]}","t":{"x":"}"}}');
  });

  it('oversized input; the limit counts UTF-8 bytes and is configurable', () => {
    const wrap = (pad: string) => `{"colibriClass":"EndpointMessage","to":"","p":"${pad}"}`;
    const overhead = wrap('').length;
    expect(ok(wrap('x'.repeat(MAX_BRIDGE_CHANNEL_MESSAGE_BYTES - overhead))).colibriClass).toBe('EndpointMessage');
    expect(bad(wrap('x'.repeat(MAX_BRIDGE_CHANNEL_MESSAGE_BYTES - overhead + 1)))).toMatch(/too large/);
    // 3 bytes per char: under the limit in UTF-16 units, over it in bytes.
    const euros = '€'.repeat(Math.ceil(MAX_BRIDGE_CHANNEL_MESSAGE_BYTES / 3));
    expect(wrap(euros).length).toBeLessThan(MAX_BRIDGE_CHANNEL_MESSAGE_BYTES);
    expect(bad(wrap(euros))).toMatch(/too large/);
    expect(bad('{"colibriClass":"ClientHello"}', { maxBytes: 10 })).toBe('message too large (over 10 bytes)');
    expect(ok(wrap('x'.repeat(100_000)), { maxBytes: 200_000 }).colibriClass).toBe('EndpointMessage');
  });

  it('nesting deeper than Jackson allows, and over-long numbers', () => {
    const nest = (depth: number) => `{"colibriClass":"EndpointMessage","to":"","p":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const deep = ok(nest(MAX_JSON_NESTING_DEPTH));
    // Re-serialising the deepest accepted message works.
    expect(serializeBridgeChannelMessage(deep).length).toBeGreaterThan(2 * MAX_JSON_NESTING_DEPTH);
    expect(bad(nest(MAX_JSON_NESTING_DEPTH + 1))).toMatch(/nested deeper than 1000/);
    expect(bad(nest(30_000))).toMatch(/nested deeper/);
    const num = (len: number) => `{"colibriClass":"EndpointMessage","to":"","n":${'9'.repeat(len)}}`;
    ok(num(MAX_JSON_NUMBER_LENGTH));
    expect(bad(num(MAX_JSON_NUMBER_LENGTH + 1))).toMatch(/number longer than 1000/);
  });
});

describe('properties', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (s) => {
        expect(isWellFormed(parseBridgeChannelMessage(s))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary JSON text', () => {
    fc.assert(
      fc.property(fc.json(), (s) => {
        expect(isWellFormed(parseBridgeChannelMessage(s))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on objects with a known colibriClass and arbitrary fields', () => {
    const knownKeys = [
      'to',
      'from',
      'msgPayload',
      'lastN',
      'selectedSources',
      'onStageSources',
      'defaultConstraints',
      'constraints',
      'assumedBandwidthBps',
      'all',
      'include',
      'exclude',
      'mode',
      'list',
      'sourceName',
      'videoType',
      'endpointId',
      'dominantSpeakerEndpoint',
      'previousSpeakers',
      'silence',
      'forwardedSources',
      'maxHeight',
      'endpoint',
      'active',
      'mappedSources',
      'estimatedDownlinkBandwidth',
      'sending',
      'timestamp',
      'bridgeId',
      'videoConstraints',
      'version',
    ];
    const key = fc.oneof(fc.constantFrom(...knownKeys), fc.string());
    fc.assert(
      fc.property(
        fc.constantFrom(...COLIBRI_CLASSES, 'Other'),
        fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        fc.boolean(),
        (cls, fields, lax) => {
          const text = JSON.stringify({ ...fields, colibriClass: cls });
          const r = parseBridgeChannelMessage(text, { ignoreUnknownFields: lax });
          expect(isWellFormed(r)).toBe(true);
          // Whatever parses also re-serialises to something that parses to the same message.
          if (r.ok && !('unknown' in r)) {
            const out = serializeBridgeChannelMessage(r.message);
            expect(ok(out)).toEqual(r.message);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  const name = fc.string({ minLength: 1, maxLength: 12 });
  const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const uint32 = fc.integer({ min: 0, max: 0xffffffff });
  const videoType = fc.constantFrom(...VIDEO_TYPES);
  const constraints = fc.record(
    {
      maxHeight: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2160 })),
      maxFrameRate: fc.oneof(fc.constant(-1), fc.double({ min: 0, max: 120, noNaN: true, noDefaultInfinity: true })),
    },
    { requiredKeys: ['maxHeight'] },
  );
  const noNegZero = <T>(v: T): boolean => !Object.is(v, -0);

  const validMessage: fc.Arbitrary<BridgeChannelMessage> = fc.oneof(
    int32.map(lastNChanged),
    fc
      .record(
        {
          colibriClass: fc.constant('ReceiverVideoConstraints' as const),
          lastN: int32,
          selectedSources: fc.array(name, { maxLength: 4 }),
          onStageSources: fc.array(name, { maxLength: 4 }),
          defaultConstraints: constraints,
          constraints: fc.dictionary(name, constraints, { maxKeys: 4 }),
          assumedBandwidthBps: fc.maxSafeNat(),
        },
        { requiredKeys: ['colibriClass'] },
      )
      .filter((m) => m.defaultConstraints?.maxFrameRate === undefined || noNegZero(m.defaultConstraints.maxFrameRate)),
    fc.tuple(fc.boolean(), fc.array(name, { maxLength: 3 }), fc.array(name, { maxLength: 3 })).map(
      ([all, include, exclude]): BridgeChannelMessage => ({
        colibriClass: 'ReceiverAudioSubscription',
        all,
        include,
        exclude,
      }),
    ),
    fc.tuple(name, videoType, fc.option(name, { nil: undefined })).map(([s, t, e]) => sourceVideoType(s, t, e)),
    fc.tuple(name, fc.array(name, { maxLength: 10 }), fc.boolean()).map(([d, p, s]) => dominantSpeakerChange(d, p, s)),
    fc.array(name, { maxLength: 5 }).map(forwardedSources),
    fc.tuple(name, int32).map(([s, h]) => senderSourceConstraints(s, h)),
    fc.tuple(name, fc.boolean()).map(([e, a]) => endpointConnectivityStatus(e, a)),
    fc
      .array(
        fc.record(
          {
            source: name,
            owner: fc.option(name, { nil: null }),
            ssrc: uint32,
            rtx: fc.oneof(fc.constant(-1), uint32),
            videoType,
            mid: name,
          },
          { requiredKeys: ['source', 'owner', 'ssrc', 'rtx', 'videoType'] },
        ),
        { maxLength: 4 },
      )
      .map(videoSourcesMap),
    fc
      .array(fc.record({ source: name, owner: fc.option(name, { nil: null }), ssrc: uint32, mid: name }, { requiredKeys: ['source', 'owner', 'ssrc'] }), {
        maxLength: 4,
      })
      .map(audioSourcesMap),
    fc.maxSafeNat().map(connectionStats),
    fc.tuple(name, fc.boolean(), uint32).map(([s, b, t]) => syntheticSourceSendingChange(s, b, t)),
    fc.tuple(name, name, constraints).map(([b, s, c]) => addReceiver(b, s, c)),
    fc.tuple(name, name).map(([b, e]) => removeReceiver(b, e)),
    fc.option(name, { nil: undefined }).map(serverHello),
    fc.constant(clientHello()),
    fc.tuple(name, fc.jsonValue({ maxDepth: 4 }), fc.option(name, { nil: undefined })).map(([to, payload, from]) => {
      const m = endpointMessage(to, payload);
      return from === undefined ? m : endpointMessageFrom(m, from);
    }),
    fc.tuple(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), name).map(([fields, from]) => {
      const extra = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'colibriClass' && k !== 'from' && k !== 'to'));
      return endpointStatsFrom({ ...extra, colibriClass: 'EndpointStats' }, from);
    }),
  );

  it('serialize ∘ parse is the identity on valid messages', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        const text = serializeBridgeChannelMessage(m);
        const parsed = ok(text);
        // Compare through the wire form (JSON has no -0 and no undefined members; no RTX is the string "-1").
        expect(serializeBridgeChannelMessage(parsed)).toBe(text);
        expect(parsed).toEqual(JSON.parse(text, (k, v: unknown) => (k === 'rtx' && v === '-1' ? -1 : v)));
      }),
      { numRuns: 3000 },
    );
  });

  it('parse ∘ serialize is the identity on generated messages without -0', () => {
    fc.assert(
      fc.property(
        validMessage.filter((m) => !JSON.stringify(m, (_k, v: unknown) => (Object.is(v, -0) ? '-0!' : v)).includes('"-0!"')),
        (m) => {
          expect(ok(serializeBridgeChannelMessage(m))).toEqual(m);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
