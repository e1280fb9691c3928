import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { U32, colibri2Arbitraries } from '../../test/fixtures/colibri2Arbitraries.ts';
import { EXPECTED_6_1, EXPECTED_6_3, RESPONSE_6_2, SAMPLE_6_1, SAMPLE_6_2, SAMPLE_6_3, parseXml } from '../../test/fixtures/colibri2Samples.ts';
import { Element } from '@xmpp/xml';
import { Colibri2Error, badRequest, conferenceNotFound, endpointNotFound, inGracefulShutdown } from './errors.ts';
import type { ConferenceModifyRequest } from './types.ts';
import {
  NS,
  colibri2ErrorElement,
  errorIq,
  parseColibri2Error,
  parseConferenceModified,
  parseConferenceModify,
  serializeConferenceModified,
  serializeConferenceModify,
} from './xml.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** A conference-modify parsed from a string (wrapped in an IQ when it is not one). */
function cm(s: string): Element {
  const e = parseXml(s.trimStart().startsWith('<iq') ? s : `<iq type='get' id='t'>${s}</iq>`);
  return e.getName() === 'iq' ? (e.getChildElements()[0] as Element) : e;
}

interface Norm {
  name: string;
  ns: string | undefined;
  attrs: Record<string, string>;
  text: string;
  children: Norm[];
}

/** A namespace-resolved, comparable form of a tree (xmlns declarations dropped, text trimmed). */
function norm(e: Element, unordered = false): Norm {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:') || v === undefined) continue;
    attrs[k] = String(v);
  }
  const kids = e.getChildElements().map((c) => norm(c, unordered));
  if (unordered) kids.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const ns: unknown = e.getNS();
  return { name: e.getName(), ns: typeof ns === 'string' ? ns : undefined, attrs, text: e.getText().trim(), children: kids };
}

/** Run `f`, expecting a Colibri2Error, and return it. */
function c2error(f: () => unknown): Colibri2Error {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Colibri2Error);
    return e as Colibri2Error;
  }
  throw new Error('expected a Colibri2Error');
}

function badRequestText(xml: string): string {
  const e = c2error(() => parseConferenceModify(cm(xml)));
  expect(e.condition).toBe('bad-request');
  expect(e.reason).toBeUndefined();
  return e.message;
}

function cloneEl(e: Element): Element {
  const c = new Element(e.name, { ...e.attrs });
  for (const k of e.children) c.append(typeof k === 'string' ? k : cloneEl(k as Element));
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// The colibri2 samples of test/fixtures/colibri2Samples.ts
// ---------------------------------------------------------------------------------------------------------------

const SAMPLE_ERROR = `
<iq type="error" id="a3"><conference-modify xmlns="jitsi:colibri2" meeting-id="M"/>
  <error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>
    <text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">Endpoint not found for ID: 79f0273e</text>
    <error xmlns="jitsi:colibri2" reason="unknown_endpoint"/>
    <endpoint xmlns="jitsi:colibri2" id="79f0273e"/>
  </error></iq>`;

// ---------------------------------------------------------------------------------------------------------------
// Samples
// ---------------------------------------------------------------------------------------------------------------

describe('colibri2 samples', () => {
  it('§6.1 create conference + endpoint parses to the typed request', () => {
    expect(parseConferenceModify(cm(SAMPLE_6_1))).toEqual(EXPECTED_6_1);
  });

  it('§6.1 serializes back to the same tree Jicofo sent', () => {
    const sent = cm(SAMPLE_6_1);
    expect(norm(serializeConferenceModify(parseConferenceModify(sent)))).toEqual(norm(sent));
  });

  it('§6.1 accepts the <iq> itself', () => {
    expect(parseConferenceModify(parseXml(SAMPLE_6_1))).toEqual(EXPECTED_6_1);
  });

  it('§6.3 update endpoint (transport + simulcast sources) parses to the typed request', () => {
    expect(parseConferenceModify(cm(SAMPLE_6_3))).toEqual(EXPECTED_6_3);
    const sent = cm(SAMPLE_6_3);
    expect(norm(serializeConferenceModify(parseConferenceModify(sent)), true)).toEqual(norm(sent, true));
  });

  it('§6.4 short forms parse', () => {
    expect(
      parseConferenceModify(cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="79f0273e" expire="true"/></conference-modify>`)),
    ).toEqual({ meetingId: 'M', endpoints: [{ id: '79f0273e', expire: true }] });
    expect(
      parseConferenceModify(
        cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M">
          <endpoint id="a"><force-mute audio="true" video="false"/></endpoint>
          <endpoint id="b"><force-mute audio="true" video="false"/></endpoint>
        </conference-modify>`),
      ),
    ).toEqual({
      meetingId: 'M',
      endpoints: [
        { id: 'a', forceMute: { audio: true, video: false } },
        { id: 'b', forceMute: { audio: true, video: false } },
      ],
    });
    expect(parseConferenceModify(cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="88ff288c-5eeb-4ea9-bc2f-93ea38c43b78" expire="true"/>`))).toEqual({
      meetingId: '88ff288c-5eeb-4ea9-bc2f-93ea38c43b78',
      expire: true,
      endpoints: [],
    });
  });

  it('§6.2 response serializes to the same structure (and parses back)', () => {
    const sample = parseXml(SAMPLE_6_2).getChild('conference-modified', NS.COLIBRI2) as Element;
    expect(norm(serializeConferenceModified(RESPONSE_6_2), true)).toEqual(norm(sample, true));
    expect(parseConferenceModified(sample)).toEqual(RESPONSE_6_2);
  });

  it('§6.2 inner transport children come in JVB order: rtcp-mux, fingerprint, web-socket, candidates', () => {
    const inner = serializeConferenceModified(RESPONSE_6_2).getChild('endpoint')?.getChild('transport')?.getChild('transport', NS.ICE_UDP) as Element;
    expect(inner.getChildElements().map((c) => c.getName())).toEqual(['rtcp-mux', 'fingerprint', 'web-socket', 'candidate', 'candidate']);
  });

  it('error sample: errorIq builds the same IQ (JVB adds xml:lang, writes <error> before the echo)', () => {
    const request = parseXml(`<iq type="get" id="a3"><conference-modify xmlns="jitsi:colibri2" meeting-id="M">
      <endpoint id="79f0273e" stats-id="x"><initial-last-n value="5"/></endpoint></conference-modify></iq>`);
    const built = errorIq(request, endpointNotFound('79f0273e'));
    const expected = parseXml(SAMPLE_ERROR);
    // Smack's setDescriptiveEnText writes xml:lang='en' on <text>; the doc's sample leaves it out.
    const text = expected.getChild('error')?.getChild('text', NS.STANZAS);
    if (!text) throw new Error('the sample has no <error><text>');
    text.attrs['xml:lang'] = 'en';
    expect(norm(parseXml(built.toString()), true)).toEqual(norm(expected, true));
    expect(built.getChildElements().map((c) => c.getName())).toEqual(['error', 'conference-modify']);
    const error = built.getChild('error') as Element;
    expect(norm(colibri2ErrorElement(endpointNotFound('79f0273e')))).toEqual(norm(error));
    expect(error.getChildElements().map((c) => `${c.getName()} ${c.getNS()}`)).toEqual([
      `item-not-found ${NS.STANZAS}`,
      `text ${NS.STANZAS}`,
      `error ${NS.COLIBRI2}`,
      `endpoint ${NS.COLIBRI2}`,
    ]);
  });

  it('error sample parses back into the Colibri2Error Jicofo acts on', () => {
    const fromErrorEl = parseColibri2Error(parseXml(SAMPLE_ERROR).getChild('error') as Element);
    const fromIq = parseColibri2Error(parseXml(SAMPLE_ERROR));
    for (const e of [fromErrorEl, fromIq]) {
      expect(e).toBeInstanceOf(Colibri2Error);
      expect(e.condition).toBe('item-not-found');
      expect(e.reason).toBe('unknown_endpoint');
      expect(e.endpointId).toBe('79f0273e');
      expect(e.message).toBe('Endpoint not found for ID: 79f0273e');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Namespaces, tolerance, relays
// ---------------------------------------------------------------------------------------------------------------

describe('parseConferenceModify details', () => {
  it('is namespace-aware: repeated, prefixed and foreign namespaces', () => {
    const r = parseConferenceModify(
      cm(`<c:conference-modify xmlns:c="jitsi:colibri2" meeting-id="M">
        <c:endpoint id="a"/>
        <endpoint xmlns="jitsi:colibri2" id="b"><media xmlns="jitsi:colibri2" type="audio"/></endpoint>
        <endpoint id="not-colibri2"/>
        <endpoint xmlns="urn:other" id="c"/>
        <c:endpoint id="d"><media type="audio"><payload-type id="1" name="x" clockrate="1"/></media></c:endpoint>
      </c:conference-modify>`),
    );
    // Unprefixed <endpoint> inside a prefixed root has no namespace: not ours. The payload-type without the
    // jingle namespace is not a payload type (Smack has no provider for it in colibri2).
    expect(r.endpoints).toEqual([{ id: 'a' }, { id: 'b', media: [{ type: 'audio', payloadTypes: [], rtpHdrExts: [] }] }, { id: 'd' }]);
  });

  it('ignores unknown children, a trace-parent extension and <connects>', () => {
    const r = parseConferenceModify(
      cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M" unknown-attr="1">
        <traceparent xmlns="http://jitsi.org/protocol/trace" trace-id="0af7651916cd43dd8448eb211c80319c" span-id="b7ad6b7169203331" flags="01"/>
        <connects><connect url="wss://x" protocol="mediajson" type="transcriber" audio="true"/></connects>
        <something-new/>
        <endpoint id="a"><whatever xmlns="urn:x"><capability name="hidden"/></whatever><capability name="source-names"/></endpoint>
      </conference-modify>`),
    );
    expect(r).toEqual({ meetingId: 'M', endpoints: [{ id: 'a', capabilities: ['source-names'] }] });
  });

  it('reads booleans case-insensitively and keeps explicit false', () => {
    const r = parseConferenceModify(
      cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M" create="TRUE" rtcstats-enabled="False">
        <endpoint id="a" create="True" expire="false"><transport ice-controlling="tRuE" ice-restart="true" use-unique-port="FALSE"/></endpoint>
      </conference-modify>`),
    );
    expect(r).toEqual({
      meetingId: 'M',
      create: true,
      rtcstatsEnabled: false,
      endpoints: [{ id: 'a', create: true, expire: false, transport: { iceControlling: true, iceRestart: true, useUniquePort: false } }],
    });
  });

  it('takes the first of repeated single-valued children (Smack getFirstChildOfType)', () => {
    const r = parseConferenceModify(
      cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a">
        <force-mute audio="true"/><force-mute video="true"/><initial-last-n value="-1"/><initial-last-n value="3"/>
        <sources/><sources><media-source type="audio" id="x"/></sources>
      </endpoint></conference-modify>`),
    );
    expect(r.endpoints[0]).toEqual({ id: 'a', forceMute: { audio: true }, initialLastN: -1, sources: [] });
  });

  it('drops what JVB logs and skips', () => {
    const r = parseConferenceModify(
      cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a" muc-role="None">
        <media type="data"><payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" id="x"/></media>
        <media type="Video"><payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" id="100" name="VP8" clockrate="90000">
          <parameter/><parameter value="nameless"/><rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0"/>
        </payload-type></media>
        <transport><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1">
          <fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" setup="active">AA</fingerprint>
          <fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active"> </fingerprint>
          <fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="holdconn" cryptex="true">
            AA:BB
          </fingerprint>
          <candidate component="1" foundation="1" priority="1" protocol="UDP" type="host" ip="10.0.0.1" port="1"/>
          <candidate component="1" foundation="1" generation="0" priority="1" protocol="UDP" type="Host" ip="10.0.0.1" port="1"/>
          <web-socket xmlns="http://jitsi.org/protocol/colibri" active="true"/>
        </transport></transport>
        <sources><media-source type="data" id="d"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="junk"/></media-source>
          <media-source type="video" id="v"><ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="DUP"><source ssrc="1"/></ssrc-group>
            <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="fid"><source ssrc="1"/><source ssrc="2"/></ssrc-group></media-source></sources>
        <capability/>
      </endpoint></conference-modify>`),
    );
    expect(r.endpoints[0]).toEqual({
      id: 'a',
      media: [
        {
          type: 'video',
          payloadTypes: [{ id: 100, name: 'VP8', clockrate: 90000, parameters: [{ value: 'nameless' }], rtcpFbs: [] }],
          rtpHdrExts: [],
        },
      ],
      transport: {
        ice: {
          candidates: [
            { component: 1, foundation: '1', generation: 0, id: '', network: 0, priority: 1, protocol: 'udp', type: 'host', ip: '10.0.0.1', port: 1 },
          ],
          fingerprints: [{ hash: 'sha-256', value: 'AA:BB', cryptex: true }],
        },
      },
      sources: [{ type: 'video', id: 'v', sources: [], ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 2] }] }],
    });
  });

  it('reads msid, videoType, rid, synthetic and ice-generation', () => {
    const r = parseConferenceModify(
      cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a">
        <transport><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="u" pwd="p" ice-generation="2"/><sctp role="SERVER" port="5000"/></transport>
        <sources><media-source type="video" id="a-v1" synthetic="true">
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="4294967295" videoType="desktop" rid="h">
            <parameter name="msid" value="s t"/><parameter name="other" value="o"/>
          </source></media-source></sources>
      </endpoint></conference-modify>`),
    );
    expect(r.endpoints[0]).toEqual({
      id: 'a',
      transport: { ice: { ufrag: 'u', pwd: 'p', iceGeneration: 2, candidates: [], fingerprints: [] }, sctp: { role: 'server', port: 5000 } },
      sources: [{ type: 'video', id: 'a-v1', synthetic: true, sources: [{ ssrc: 4294967295, videoType: 'desktop', rid: 'h', msid: 's t' }], ssrcGroups: [] }],
    });
  });

  it("relays: Jicofo's create request parses; JVB's combination checks in JVB order", () => {
    // Colibri2Session.buildCreateRelayRequest (jicofo-selector) as sent to the initiator; endpoint/sources block as
    // in jitsi-xmpp-extensions Colibri2JSONSerializerTest "Relay with endpoints".
    const req = parseConferenceModify(
      cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><relay id="jvb-y" mesh-id="0" create="true">
        <media type="audio"><payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" name="opus" id="111" clockrate="48000" channels="2"/>
          <rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level" id="1"/></media>
        <endpoints><endpoint id="6f14308e" create="true" stats-id="Ada-x1"><sources>
          <media-source type="audio" id="6f14308e-a0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="3166599606"/></media-source>
        </sources></endpoint><endpoint id="gone" expire="true"/></endpoints>
        <transport ice-controlling="true" use-unique-port="true"><sctp role="client"/></transport>
      </relay></conference-modify>`),
    );
    expect(req.endpoints).toEqual([]);
    expect(req.relays).toEqual([
      {
        id: 'jvb-y',
        meshId: '0',
        create: true,
        media: [
          {
            type: 'audio',
            payloadTypes: [{ id: 111, name: 'opus', clockrate: 48000, channels: 2, parameters: [], rtcpFbs: [] }],
            rtpHdrExts: [{ id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' }],
          },
        ],
        endpoints: [
          { id: '6f14308e', create: true, statsId: 'Ada-x1', sources: [{ type: 'audio', id: '6f14308e-a0', sources: [{ ssrc: 3166599606 }], ssrcGroups: [] }] },
          { id: 'gone', expire: true },
        ],
        transport: { iceControlling: true, useUniquePort: true, sctp: { role: 'client' } },
      },
    ]);
    expect(parseConferenceModify(serializeConferenceModify(req))).toEqual(req);
    // The answer (conference-modified with the relay's transport) round-trips too.
    const res = {
      endpoints: [],
      relays: [
        {
          id: 'jvb-y',
          transport: {
            ice: {
              ufrag: 'octobridge-relay-1',
              pwd: 'p',
              rtcpMux: true,
              fingerprints: [{ hash: 'sha-256', value: 'AB:CD', setup: 'actpass' as const }],
              candidates: [],
            },
            sctp: { port: 5000, role: 'server' as const },
          },
        },
      ],
    };
    expect(parseConferenceModified(serializeConferenceModified(res))).toEqual(res);
    const mixed = c2error(() =>
      parseConferenceModify(cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a"/><relay id="r1"/></conference-modify>`)),
    );
    expect([mixed.condition, mixed.reason, mixed.message]).toEqual([
      'feature-not-implemented',
      'feature_not_implemented',
      "Using both 'relay' and 'endpoint' in a request",
    ]);
    const two = c2error(() =>
      parseConferenceModify(cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><relay id="r1"/><relay id="r2"/></conference-modify>`)),
    );
    expect([two.condition, two.reason, two.message]).toEqual([
      'feature-not-implemented',
      'feature_not_implemented',
      "Updating more than one 'relay' in a request.",
    ]);
    expect(badRequestText(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><relay/></conference-modify>`)).toBe('Missing id in <relay>');
    // A <relay> in another namespace is not a relay.
    expect(parseConferenceModify(cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><relay xmlns="urn:x" id="r"/></conference-modify>`))).toEqual({
      meetingId: 'M',
      endpoints: [],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------------------------

const wrap = (endpoint: string, attrs = ''): string =>
  `<conference-modify xmlns="jitsi:colibri2" meeting-id="M"${attrs}><endpoint id="a">${endpoint}</endpoint></conference-modify>`;
const src = (s: string): string => wrap(`<sources><media-source type="video" id="a-v0">${s}</media-source></sources>`);
const ice = (s: string): string => wrap(`<transport><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1">${s}</transport></transport>`);
const cand = (attrs: string): string => ice(`<candidate ${attrs}/>`);
const CAND = 'component="1" foundation="1" generation="0" priority="1" protocol="udp" type="host" ip="1.2.3.4" port="1"';
const pt = (attrs: string, inner = ''): string =>
  wrap(`<media type="audio"><payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" ${attrs}>${inner}</payload-type></media>`);

describe('malformed conference-modify → bad-request naming the attribute and element', () => {
  const cases: [string, string, string][] = [
    ['missing meeting-id', `<conference-modify xmlns="jitsi:colibri2"/>`, 'Missing meeting-id in <conference-modify>'],
    ['blank meeting-id', `<conference-modify xmlns="jitsi:colibri2" meeting-id="  "/>`, "Invalid meeting-id '  ' in <conference-modify>"],
    ['bad conference boolean', `<conference-modify xmlns="jitsi:colibri2" meeting-id="M" expire="1"/>`, "Invalid expire '1' in <conference-modify>"],
    [
      'bad rtcstats-enabled',
      `<conference-modify xmlns="jitsi:colibri2" meeting-id="M" rtcstats-enabled="no"/>`,
      "Invalid rtcstats-enabled 'no' in <conference-modify>",
    ],
    [
      'endpoint without id',
      `<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint create="true"/></conference-modify>`,
      'Missing id in <endpoint>',
    ],
    ['endpoint with empty id', `<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id=""/></conference-modify>`, "Invalid id '' in <endpoint>"],
    [
      'bad endpoint boolean',
      `<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a" create="yes"/></conference-modify>`,
      "Invalid create 'yes' in <endpoint>",
    ],
    [
      'boolean with spaces',
      `<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a" expire=" true"/></conference-modify>`,
      "Invalid expire ' true' in <endpoint>",
    ],
    [
      'bad muc-role',
      `<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a" muc-role="admin"/></conference-modify>`,
      "Invalid muc-role 'admin' in <endpoint>",
    ],
    ['bad ssrc', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="x"/>`), "Invalid ssrc 'x' in <source>"],
    ['missing ssrc', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="n"/>`), 'Missing ssrc in <source>'],
    ['negative ssrc', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="-1"/>`), "Invalid ssrc '-1' in <source>"],
    ['ssrc beyond 32 bits', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="4294967296"/>`), "Invalid ssrc '4294967296' in <source>"],
    [
      'huge ssrc',
      src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="99999999999999999999999999"/>`),
      "Invalid ssrc '99999999999999999999999999' in <source>",
    ],
    ['ssrc with plus', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="+5"/>`), "Invalid ssrc '+5' in <source>"],
    ['ssrc in hex', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="0x10"/>`), "Invalid ssrc '0x10' in <source>"],
    ['ssrc with exponent', src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="1e3"/>`), "Invalid ssrc '1e3' in <source>"],
    [
      'ssrc-group with non-numeric ssrc',
      src(`<ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="1"/><source ssrc="two"/></ssrc-group>`),
      "Invalid ssrc 'two' in <ssrc-group>",
    ],
    [
      'ssrc-group source without ssrc',
      src(`<ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="SIM"><source/></ssrc-group>`),
      'Missing ssrc in <ssrc-group>',
    ],
    [
      'ssrc-group without semantics',
      src(`<ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><source ssrc="1"/></ssrc-group>`),
      'Missing semantics in <ssrc-group>',
    ],
    ['media-source without id', wrap(`<sources><media-source type="audio"/></sources>`), 'Missing id in <media-source>'],
    ['media-source without type', wrap(`<sources><media-source id="x"/></sources>`), 'Missing type in <media-source>'],
    ['media-source bad type', wrap(`<sources><media-source type="smell" id="x"/></sources>`), "Invalid type 'smell' in <media-source>"],
    ['media-source bad synthetic', wrap(`<sources><media-source type="audio" id="x" synthetic="1"/></sources>`), "Invalid synthetic '1' in <media-source>"],
    ['media without type', wrap(`<media/>`), 'Missing type in <media>'],
    ['media bad type', wrap(`<media type="hologram"/>`), "Invalid type 'hologram' in <media>"],
    ['payload-type bad id', pt(`id="abc" name="opus" clockrate="48000"`), "Invalid id 'abc' in <payload-type>"],
    ['payload-type id > 127', pt(`id="128" name="opus" clockrate="48000"`), "Invalid id '128' in <payload-type>"],
    ['payload-type without name', pt(`id="111" clockrate="48000"`), 'Missing name in <payload-type>'],
    ['payload-type without clockrate', pt(`id="111" name="opus"`), 'Missing clockrate in <payload-type>'],
    ['payload-type bad channels', pt(`id="111" name="opus" clockrate="48000" channels="two"`), "Invalid channels 'two' in <payload-type>"],
    ['payload-type huge clockrate', pt(`id="111" name="opus" clockrate="2147483648"`), "Invalid clockrate '2147483648' in <payload-type>"],
    ['named parameter without value', pt(`id="111" name="opus" clockrate="48000"`, `<parameter name="minptime"/>`), 'Missing value in <parameter>'],
    [
      'rtp-hdrext id 0',
      wrap(`<media type="audio"><rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" id="0" uri="u"/></media>`),
      "Invalid id '0' in <rtp-hdrext>",
    ],
    [
      'rtp-hdrext without uri',
      wrap(`<media type="audio"><rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" id="1"/></media>`),
      'Missing uri in <rtp-hdrext>',
    ],
    ['bad transport boolean', wrap(`<transport ice-controlling="maybe"/>`), "Invalid ice-controlling 'maybe' in <transport>"],
    ['bad sctp role', wrap(`<transport><sctp role="peer"/></transport>`), "Invalid role 'peer' in <sctp>"],
    ['bad sctp port', wrap(`<transport><sctp port="65536"/></transport>`), "Invalid port '65536' in <sctp>"],
    ['candidate huge port', cand(CAND.replace('port="1"', 'port="99999999999"')), "Invalid port '99999999999' in <candidate>"],
    ['candidate priority > 32 bits', cand(CAND.replace('priority="1"', 'priority="4294967296"')), "Invalid priority '4294967296' in <candidate>"],
    ['candidate without ip', cand(CAND.replace('ip="1.2.3.4"', '')), 'Missing ip in <candidate>'],
    ['candidate bad protocol', cand(CAND.replace('protocol="udp"', 'protocol="sctp"')), "Invalid protocol 'sctp' in <candidate>"],
    ['candidate bad type', cand(CAND.replace('type="host"', 'type="stun"')), "Invalid type 'stun' in <candidate>"],
    ['candidate bad generation', cand(CAND.replace('generation="0"', 'generation="zero"')), "Invalid generation 'zero' in <candidate>"],
    ['candidate bad tcptype', cand(`${CAND} tcptype="x"`), "Invalid tcptype 'x' in <candidate>"],
    [
      'fingerprint bad cryptex',
      ice(`<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" cryptex="ja">AA</fingerprint>`),
      "Invalid cryptex 'ja' in <fingerprint>",
    ],
    ['bad ice-generation', ice('').replace('ice-udp:1"', 'ice-udp:1" ice-generation="-1"'), `Invalid ice-generation '-1' in <transport xmlns='${NS.ICE_UDP}'>`],
    ['force-mute bad boolean', wrap(`<force-mute audio="on"/>`), "Invalid audio 'on' in <force-mute>"],
    ['initial-last-n without value', wrap(`<initial-last-n/>`), 'Missing value in <initial-last-n>'],
    ['initial-last-n not an integer', wrap(`<initial-last-n value="1.5"/>`), "Invalid value '1.5' in <initial-last-n>"],
    ['initial-last-n beyond int32', wrap(`<initial-last-n value="-2147483649"/>`), "Invalid value '-2147483649' in <initial-last-n>"],
    [
      'not a conference-modify',
      `<conference-modified xmlns="jitsi:colibri2"/>`,
      "Expected <conference-modify xmlns='jitsi:colibri2'>, got <conference-modified>",
    ],
    [
      'conference-modify in another namespace',
      `<conference-modify xmlns="jitsi:colibri" meeting-id="M"/>`,
      "Expected <conference-modify xmlns='jitsi:colibri2'>, got <conference-modify>",
    ],
  ];
  it.each(cases)('%s', (_name, xml, text) => {
    expect(badRequestText(xml)).toBe(text);
  });

  it('quotes at most 64 characters of a bad value', () => {
    const text = badRequestText(src(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="${'9'.repeat(5000)}"/>`));
    expect(text).toBe(`Invalid ssrc '${'9'.repeat(64)}…' in <source>`);
  });

  it('does not trip over attribute names of Object.prototype', () => {
    const el = cm(`<conference-modify xmlns="jitsi:colibri2" meeting-id="M"><endpoint id="a"/></conference-modify>`);
    const ep = el.getChild('endpoint') as Element;
    delete ep.attrs.id;
    expect(c2error(() => parseConferenceModify(el)).message).toBe('Missing id in <endpoint>');
    Reflect.set(ep.attrs, 'constructor', 'x');
    expect(c2error(() => parseConferenceModify(el)).message).toBe('Missing id in <endpoint>');
  });

  it('never throws anything but Colibri2Error on odd inputs', () => {
    const nameless = Object.assign(new Element('conference-modify'), { name: undefined });
    const getter = new Element('conference-modify', { xmlns: NS.COLIBRI2 });
    Object.defineProperty(getter.attrs, 'meeting-id', {
      enumerable: true,
      get() {
        throw new RangeError('boom');
      },
    });
    expect(c2error(() => parseConferenceModify(getter)).message).toBe('Malformed <conference-modify>: boom');
    for (const bad of [null, undefined, 42, 'x', {}, nameless, new Element('iq'), new Element('conference-modify')] as unknown[]) {
      expect(c2error(() => parseConferenceModify(bad as Element)).condition).toBe('bad-request');
      expect(c2error(() => parseConferenceModified(bad as Element)).condition).toBe('bad-request');
    }
  });
});

describe('malformed conference-modified → bad-request', () => {
  const resp = (endpoint: string): string => `<conference-modified xmlns="jitsi:colibri2"><endpoint id="a">${endpoint}</endpoint></conference-modified>`;
  const parse = (s: string): string => {
    const e = c2error(() => parseConferenceModified(cm(s)));
    expect(e.condition).toBe('bad-request');
    return e.message;
  };
  it.each([
    [resp('<transport/>'), `Missing <transport xmlns='${NS.ICE_UDP}'> in <transport>`],
    [resp(`<transport><transport xmlns="${NS.ICE_UDP}" pwd="p"/></transport>`), `Missing ufrag in <transport xmlns='${NS.ICE_UDP}'>`],
    [resp(`<transport><transport xmlns="${NS.ICE_UDP}" ufrag="u"/></transport>`), `Missing pwd in <transport xmlns='${NS.ICE_UDP}'>`],
    [resp(`<transport><transport xmlns="${NS.ICE_UDP}" ufrag="u" pwd="p"/><sctp role="server"/></transport>`), 'Missing port in <sctp>'],
    [resp(`<transport><transport xmlns="${NS.ICE_UDP}" ufrag="u" pwd="p"/><sctp port="5000"/></transport>`), 'Missing role in <sctp>'],
    [`<conference-modified xmlns="jitsi:colibri2"><endpoint/></conference-modified>`, 'Missing id in <endpoint>'],
    [`<conference-modified xmlns="jitsi:colibri2"><endpoint id="a" expire="yes"/></conference-modified>`, "Invalid expire 'yes' in <endpoint>"],
    [
      `<conference-modified xmlns="jitsi:colibri2"><sources><media-source type="audio" id="jvb-a0"><source xmlns="${NS.SSMA}" ssrc="x"/></media-source></sources></conference-modified>`,
      "Invalid ssrc 'x' in <source>",
    ],
  ])('%s', (xml, text) => {
    expect(parse(xml)).toBe(text);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

describe('errors', () => {
  it('bad-request: type modify, <text>, no colibri2 extensions', () => {
    const e = colibri2ErrorElement(badRequest('Source name support is mandatory.'));
    expect(norm(e)).toEqual({
      name: 'error',
      ns: undefined,
      attrs: { type: 'modify' },
      text: '',
      children: [
        { name: 'bad-request', ns: NS.STANZAS, attrs: {}, text: '', children: [] },
        { name: 'text', ns: NS.STANZAS, attrs: { 'xml:lang': 'en' }, text: 'Source name support is mandatory.', children: [] },
      ],
    });
  });

  it('graceful shutdown and conference-not-found carry only the colibri2 reason', () => {
    for (const [err, cond, reason] of [
      [inGracefulShutdown(), 'service-unavailable', 'graceful_shutdown'],
      [conferenceNotFound('M'), 'item-not-found', 'conference_not_found'],
    ] as const) {
      const e = colibri2ErrorElement(err);
      expect(e.attrs.type).toBe('cancel');
      expect(e.getChildElements().map((c) => c.getName())).toEqual([cond, 'text', 'error']);
      expect(e.getChild('error', NS.COLIBRI2)?.attrs.reason).toBe(reason);
      const back = parseColibri2Error(e);
      expect([back.condition, back.reason, back.endpointId, back.message]).toEqual([cond, reason, undefined, err.message]);
    }
  });

  it('round-trips every condition / reason combination', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('bad-request', 'conflict', 'feature-not-implemented', 'item-not-found', 'service-unavailable', 'internal-server-error'),
        fc.option(
          fc.constantFrom(
            'conference_not_found',
            'conference_already_exists',
            'feature_not_implemented',
            'graceful_shutdown',
            'unknown_endpoint',
            'unspecified',
          ),
          { nil: undefined },
        ),
        fc.option(fc.string(), { nil: undefined }),
        fc.string(),
        (condition, reason, endpointId, text) => {
          const err = new Colibri2Error(condition, text, reason, endpointId);
          const back = parseColibri2Error(parseXml(`<iq type='error' id='x'>${colibri2ErrorElement(err).toString()}</iq>`));
          expect([back.condition, back.reason, back.endpointId, back.message]).toEqual([condition, reason, endpointId, text]);
        },
      ),
    );
  });

  it('parseColibri2Error tolerates foreign errors', () => {
    const muc = parseColibri2Error(parseXml(`<iq type='error'><error type='wait'><recipient-unavailable xmlns='${NS.STANZAS}'/></error></iq>`));
    expect([muc.condition, muc.reason, muc.message]).toEqual(['internal-server-error', undefined, 'recipient-unavailable']);
    const other = parseColibri2Error(
      parseXml(
        `<error type='cancel'><gone xmlns='${NS.STANZAS}'/><text xmlns='${NS.STANZAS}'>moved</text><error xmlns='jitsi:colibri2' reason='NEW_REASON'/></error>`,
      ),
    );
    expect([other.condition, other.reason, other.message]).toEqual(['internal-server-error', 'unspecified', 'gone: moved']);
    const noReason = parseColibri2Error(parseXml(`<error type='cancel'><conflict xmlns='${NS.STANZAS}'/><error xmlns='jitsi:colibri2'/></error>`));
    expect([noReason.condition, noReason.reason, noReason.message]).toEqual(['conflict', 'unspecified', '']);
    expect(parseColibri2Error(parseXml(`<iq type='error'/>`)).condition).toBe('internal-server-error');
  });

  it('errorIq echoes conference-modify as Smack re-serializes it: attributes only, defaults dropped', () => {
    const request = parseXml(`<iq type='get' id='q1' from='focus@auth.example.com/focus' to='jvbbrewery@internal.example.com/jvb1'>
      <conference-modify xmlns='jitsi:colibri2' meeting-id='M' name='r@c.example.com' create='TRUE' expire='false' rtcstats-enabled='no' foo='bar'>
        <endpoint id='a' create='true'/><traceparent xmlns='urn:x'/>
      </conference-modify></iq>`);
    const iq = errorIq(request, badRequest('Attempt to create endpoint a with no <transport>'));
    expect(iq.attrs).toEqual({ type: 'error', id: 'q1', to: 'focus@auth.example.com/focus', from: 'jvbbrewery@internal.example.com/jvb1' });
    const echo = iq.getChild('conference-modify', NS.COLIBRI2) as Element;
    expect(echo.attrs).toEqual({ xmlns: NS.COLIBRI2, 'meeting-id': 'M', name: 'r@c.example.com', 'rtcstats-enabled': 'false', create: 'true' });
    expect(echo.children).toEqual([]);
    expect(iq.getChild('error')?.attrs.type).toBe('modify');
    // Without from/to there is nothing to swap; a foreign child is echoed by name and namespace.
    const other = errorIq(parseXml(`<iq type='get' id='q2'><query xmlns='urn:x'><y/></query></iq>`), inGracefulShutdown());
    expect(other.attrs).toEqual({ type: 'error', id: 'q2' });
    expect(norm(other.getChildElements()[1] as Element)).toEqual({ name: 'query', ns: 'urn:x', attrs: {}, text: '', children: [] });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Round trips (fast-check)
// ---------------------------------------------------------------------------------------------------------------

/** Any JS string (direct round trip through ltx elements). */
const anyStrings = colibri2Arbitraries(fc.string({ unit: 'binary', maxLength: 12 }));
/** Printable ASCII, which also survives XML text (ltx escapes quotes, `<`, `&`; no whitespace normalisation needed). */
const xmlStrings = colibri2Arbitraries(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }));

/** Through the wire: Element → string → xmpp.js parser → Element. */
const overTheWire = (e: Element): Element => parseXml(`<iq type='get' id='rt'>${e.toString()}</iq>`).getChildElements()[0] as Element;

describe('round trips', () => {
  it('parseConferenceModify(serializeConferenceModify(r)) equals r', () => {
    fc.assert(
      fc.property(anyStrings.request, (r) => {
        expect(parseConferenceModify(serializeConferenceModify(r))).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it('… also through XML text and the xmpp.js parser', () => {
    fc.assert(
      fc.property(xmlStrings.request, (r) => {
        expect(parseConferenceModify(overTheWire(serializeConferenceModify(r)))).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it('parseConferenceModified(serializeConferenceModified(r)) equals r', () => {
    fc.assert(
      fc.property(anyStrings.response, (r) => {
        expect(parseConferenceModified(serializeConferenceModified(r))).toEqual(r);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(xmlStrings.response, (r) => {
        expect(parseConferenceModified(overTheWire(serializeConferenceModified(r)))).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the namespaces Smack writes: colibri2 repeated on top-level children, jingle on their elements', () => {
    const req: ConferenceModifyRequest = {
      meetingId: 'M',
      endpoints: [
        {
          id: 'a',
          transport: { ice: { candidates: [], fingerprints: [{ hash: 'sha-256', value: 'AA' }] }, sctp: {} },
          sources: [{ type: 'audio', id: 'a-a0', sources: [{ ssrc: 1, msid: 'm' }], ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 2] }] }],
        },
      ],
    };
    const x = serializeConferenceModify(req);
    const ep = x.getChild('endpoint') as Element;
    expect(ep.attrs.xmlns).toBe(NS.COLIBRI2);
    const inner = ep.getChild('transport')?.getChild('transport') as Element;
    expect(inner.attrs.xmlns).toBe(NS.ICE_UDP);
    expect(inner.getChild('fingerprint')?.attrs.xmlns).toBe(NS.DTLS);
    const source = ep.getChild('sources')?.getChild('media-source')?.getChild('source') as Element;
    expect(source.attrs.xmlns).toBe(NS.SSMA);
    expect(source.getChild('parameter')?.attrs).toEqual({ xmlns: NS.JINGLE_RTP, name: 'msid', value: 'm' });
    const group = ep.getChild('sources')?.getChild('media-source')?.getChild('ssrc-group') as Element;
    expect(group.getChildElements().map((s) => s.attrs)).toEqual([{ ssrc: '1' }, { ssrc: '2' }]);
    expect(serializeConferenceModified({ endpoints: [], sources: [] }).getChild('sources')?.attrs.xmlns).toBe(NS.COLIBRI2);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Mutation fuzzing of the samples
// ---------------------------------------------------------------------------------------------------------------

const ELEMENT_NAMES = [
  'iq',
  'conference-modify',
  'endpoint',
  'relay',
  'media',
  'payload-type',
  'parameter',
  'rtcp-fb',
  'rtp-hdrext',
  'extmap-allow-mixed',
  'transport',
  'candidate',
  'fingerprint',
  'rtcp-mux',
  'web-socket',
  'sctp',
  'sources',
  'media-source',
  'source',
  'ssrc-group',
  'force-mute',
  'capability',
  'initial-last-n',
  'connects',
  'x',
];
const ATTR_NAMES = [
  'meeting-id',
  'name',
  'create',
  'expire',
  'rtcstats-enabled',
  'id',
  'stats-id',
  'muc-role',
  'type',
  'clockrate',
  'channels',
  'value',
  'subtype',
  'uri',
  'ice-controlling',
  'use-unique-port',
  'ice-restart',
  'ufrag',
  'pwd',
  'ice-generation',
  'hash',
  'setup',
  'cryptex',
  'component',
  'foundation',
  'generation',
  'network',
  'priority',
  'protocol',
  'ip',
  'port',
  'rel-addr',
  'rel-port',
  'tcptype',
  'role',
  'ssrc',
  'videoType',
  'rid',
  'semantics',
  'synthetic',
  'audio',
  'video',
  'xmlns',
  'constructor',
  'toString',
  'hasOwnProperty',
  '__proto__',
];
const junk = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'x',
    '-1',
    '0',
    '1',
    '+1',
    '1.5',
    '1e3',
    '0x1F',
    '127',
    '128',
    '65536',
    '4294967295',
    '4294967296',
    '99999999999999999999999',
    'true',
    'TRUE',
    'false',
    'yes',
    'audio',
    'video',
    'data',
    'SIM',
    'FID',
    'server',
    'client',
    'udp',
    'host',
    'active',
    'none',
    'visitor',
    'NaN',
    'Infinity',
    '٣',
    '\u0000',
  ),
  fc.string({ maxLength: 8 }),
);
const nsArb = fc.oneof(fc.constantFrom(...Object.values(NS), '', 'urn:x', 'jabber:client'), fc.string({ maxLength: 6 }));
const mutation = fc.record({
  kind: fc.constantFrom('dropAttr', 'junkAttr', 'addAttr', 'remove', 'duplicate', 'rename', 'namespace', 'text', 'move'),
  pick: fc.nat(),
  pick2: fc.nat(),
  junk,
  name: fc.oneof(fc.constantFrom(...ELEMENT_NAMES), fc.string({ maxLength: 6 })),
  attrName: fc.constantFrom(...ATTR_NAMES),
  ns: nsArb,
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function descendants(e: Element, out: Element[] = []): Element[] {
  out.push(e);
  for (const c of e.getChildElements()) descendants(c, out);
  return out;
}

function mutate(root: Element, m: Mutation): void {
  const all = descendants(root);
  const target = all[m.pick % all.length] as Element;
  const keys = Object.keys(target.attrs);
  const key = keys.length > 0 ? (keys[m.pick2 % keys.length] as string) : undefined;
  const parent = target.parent as Element | null;
  switch (m.kind) {
    case 'dropAttr':
      if (key !== undefined) delete target.attrs[key];
      break;
    case 'junkAttr':
      if (key !== undefined) target.attrs[key] = m.junk;
      break;
    case 'addAttr':
      target.attrs[m.attrName] = m.junk;
      break;
    case 'remove':
      if (parent) parent.children = parent.children.filter((c) => c !== target);
      break;
    case 'duplicate':
      if (parent) {
        const copy = cloneEl(target);
        copy.parent = parent;
        parent.children.splice(parent.children.indexOf(target), 0, copy);
      }
      break;
    case 'rename':
      target.name = m.name;
      break;
    case 'namespace':
      target.attrs.xmlns = m.ns;
      break;
    case 'text':
      target.children.push(m.junk);
      break;
    case 'move': {
      const dest = all[m.pick2 % all.length] as Element;
      if (parent && !descendants(target).includes(dest)) {
        parent.children = parent.children.filter((c) => c !== target);
        dest.append(target);
      }
      break;
    }
  }
}

/** Light invariants of a parsed request (the round trip below checks the rest). */
function checkRequest(r: ConferenceModifyRequest): void {
  expect(typeof r.meetingId).toBe('string');
  expect(r.meetingId.trim()).not.toBe('');
  for (const ep of r.endpoints) {
    expect(ep.id.trim()).not.toBe('');
    for (const ms of ep.sources ?? []) {
      for (const s of ms.sources) expect(Number.isInteger(s.ssrc) && s.ssrc >= 0 && s.ssrc <= U32).toBe(true);
      for (const g of ms.ssrcGroups) expect(['SIM', 'FID', 'FEC-FR']).toContain(g.semantics);
    }
    for (const m of ep.media ?? []) {
      expect(['audio', 'video']).toContain(m.type);
      for (const pt of m.payloadTypes) expect(pt.id >= 0 && pt.id <= 127).toBe(true);
    }
    for (const c of ep.transport?.ice?.candidates ?? []) expect(c.port >= 0 && c.port <= 65535).toBe(true);
  }
}

describe('mutated samples parse to a valid request or throw Colibri2Error, nothing else', () => {
  for (const [name, sample] of [
    ['§6.1', SAMPLE_6_1],
    ['§6.3', SAMPLE_6_3],
  ] as const) {
    it(name, () => {
      const original = parseXml(sample);
      let parsed = 0;
      let refused = 0;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => {
          const root = cloneEl(original);
          for (const m of mutations) mutate(root, m);
          let r: ConferenceModifyRequest;
          try {
            r = parseConferenceModify(root);
          } catch (e) {
            if (!(e instanceof Colibri2Error)) throw new Error(`not a Colibri2Error: ${String(e)}`);
            expect(['bad-request', 'feature-not-implemented']).toContain(e.condition);
            if (e.condition === 'bad-request') expect(e.message).toMatch(/^(Missing|Invalid|Expected) /);
            refused++;
            return;
          }
          parsed++;
          checkRequest(r);
          expect(parseConferenceModify(serializeConferenceModify(r))).toEqual(r);
        }),
        { numRuns: 3000 },
      );
      expect(parsed).toBeGreaterThan(100);
      expect(refused).toBeGreaterThan(100);
    });
  }
});
