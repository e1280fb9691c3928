/**
 * The JSON form of colibri2 (json.ts) against the samples of jitsi-xmpp-extensions
 * `src/test/kotlin/org/jitsi/xmpp/extensions/colibri2/json/Colibri2JSONSerializerTest.kt` (each an XML IQ with its
 * JSON; test names quoted), jitsi-videobridge `doc/rest-colibri2.md`, and the colibri2 XML samples of test/fixtures/colibri2Samples.ts
 * (Jicofo's create, JVB's response, an update, short forms; their JSON written here in the Kotlin serializer's form): JSON and XML parse to the same typed object, the
 * typed object serializes to the sample's JSON, round trips, and malformed input is a Colibri2Error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { U32, colibri2Arbitraries } from '../../test/fixtures/colibri2Arbitraries.ts';
import { EXPECTED_6_1, EXPECTED_6_3, RESPONSE_6_2, SAMPLE_6_1, SAMPLE_6_2, SAMPLE_6_3, parseXml } from '../../test/fixtures/colibri2Samples.ts';
import { parseConferenceModified, parseConferenceModify, serializeConferenceModify } from './xml.ts';
import { Colibri2Error, conferenceAlreadyExists, conferenceNotFound, endpointNotFound, featureNotImplemented, inGracefulShutdown } from './errors.ts';
import {
  colibri2ErrorJson,
  parseColibri2ErrorJson,
  parseConferenceModifiedJson,
  parseConferenceModifyJson,
  serializeConferenceModifiedJson,
  serializeConferenceModifyJson,
} from './json.ts';
import type { ConferenceModifyRequest, IceUdpTransport, MediaSource, PayloadType } from './types.ts';

/** Run `f`, expecting a Colibri2Error `bad-request`, and return its text. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Colibri2Error);
    expect((e as Colibri2Error).condition).toBe('bad-request');
    return (e as Error).message;
  }
  throw new Error('expected a Colibri2Error');
}

const modify = (json: string, meetingId?: string): ConferenceModifyRequest =>
  parseConferenceModifyJson(JSON.parse(json), meetingId === undefined ? {} : { meetingId });
/** Through the wire: typed → JSON text → JSON.parse. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

// ---------------------------------------------------------------------------------------------------------------
// Colibri2JSONSerializerTest.kt
// ---------------------------------------------------------------------------------------------------------------

/** "Something that should be exercising all the fields", abridged: VP9 (101) and its rtx (97) left out. */
const ALL_FIELDS_XML = `
<iq xmlns="jabber:client" id="id" type="get">
  <conference-modify xmlns="jitsi:colibri2" meeting-id="beccf2ed-5441-4bfe-96d6-f0f3a6796378" name="torture819371@conference.beta.meet.jit.si" create="true">
    <endpoint xmlns="jitsi:colibri2" create="true" id="79f0273e" stats-id="Garett-w1o" muc-role="visitor">
      <media type="audio">
        <payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" channels="2" name="red" id="112" clockrate="48000">
          <parameter value="111/111"/>
        </payload-type>
        <payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" channels="2" name="opus" id="111" clockrate="48000">
          <parameter value="1" name="useinbandfec"/>
          <parameter value="10" name="minptime"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="transport-cc"/>
        </payload-type>
        <rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level" id="1"/>
        <rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" uri="http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01" id="5"/>
        <extmap-allow-mixed xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" />
      </media>
      <media type="video">
        <payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" name="VP8" id="100" clockrate="90000">
          <parameter value="800" name="x-google-start-bitrate"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="ccm" subtype="fir"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="nack"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="nack" subtype="pli"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="transport-cc"/>
        </payload-type>
        <payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" name="rtx" id="96" clockrate="90000">
          <parameter value="100" name="apt"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="ccm" subtype="fir"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="nack"/>
          <rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0" type="nack" subtype="pli"/>
        </payload-type>
        <rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" id="3"/>
        <rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" uri="http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01" id="5"/>
        <extmap-allow-mixed xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0" />
      </media>
      <transport ice-controlling="true"/>
      <capability name="source-names"/>
    </endpoint>
    <connects>
      <connect url='wss://example.com/audio' protocol='mediajson' type='transcriber' audio='true'/>
      <connect url='wss://example.com/video' protocol='mediajson' type='recorder' video='true'/>
    </connects>
  </conference-modify>
</iq>`;

const ALL_FIELDS_JSON = `{
  "meeting-id":"beccf2ed-5441-4bfe-96d6-f0f3a6796378",
  "name":"torture819371@conference.beta.meet.jit.si",
  "create":true,
  "endpoints":[
    {
      "create":true, "id":"79f0273e", "stats-id":"Garett-w1o", "muc-role":"visitor",
      "medias":[
        {
          "type":"audio",
          "payload-types":[
            { "name": "red", "id": "112", "channels": "2", "clockrate": "48000", "parameters": { "null": "111/111" } },
            { "name": "opus", "id": "111", "channels": "2", "clockrate": "48000",
              "parameters": {"useinbandfec": "1", "minptime": "10" }, "rtcp-fbs": [{"type": "transport-cc"}] }
          ],
          "rtp-hdrexts":[
            { "uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id":1 },
            { "uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id":5 }
          ],
          "extmap-allow-mixed":true
        },
        {
          "type": "video",
          "payload-types":[
            { "name": "VP8", "id": "100", "clockrate": "90000", "parameters": {"x-google-start-bitrate": "800"},
              "rtcp-fbs":[ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" }, { "type": "transport-cc" } ] },
            { "name": "rtx", "id": "96", "clockrate": "90000", "parameters": {"apt": "100"},
              "rtcp-fbs":[ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" } ] }
          ],
          "rtp-hdrexts":[
            { "uri":"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id":3 },
            { "uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id":5 }
          ],
          "extmap-allow-mixed":true
        }
      ],
      "transport": { "ice-controlling": true },
      "capabilities": [ "source-names" ]
    }
  ],
  "connects": [
    { "url": "wss://example.com/audio", "protocol": "mediajson", "type": "transcriber", "audio": true },
    { "url": "wss://example.com/video", "protocol": "mediajson", "type": "recorder", "video": true }
  ]
}`;

const MODIFIED_XML = `
<iq xmlns="jabber:client" id="id" type="result">
  <conference-modified xmlns="jitsi:colibri2">
    <endpoint xmlns="jitsi:colibri2" id="79f0273e">
      <transport>
        <transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" pwd="1a5ejbent91k6io6a3fauikg22" ufrag="2ivqh1fvtf0l3h">
          <fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" setup="actpass" hash="sha-256" cryptex="true">2E:CC:85:71:32:5B:B5:60:64:C8:F6:7B:6D:45:D4:34:2B:51:A0:06:B5:EA:2F:84:BC:7B:64:1F:A3:0A:69:23</fingerprint>
          <web-socket xmlns="http://jitsi.org/protocol/colibri" url="wss://beta-us-ashburn-1-global-2808-jvb-83-102-26.jitsi.net:443/colibri-ws/default-id/3d937bbdf97a23e0/79f0273e?pwd=1a5ejbent91k6io6a3fauikg22"/>
          <rtcp-mux/>
          <candidate component="1" foundation="2" generation="0" id="653aa1ba295b62480ffffffffdc52c0d9" network="0" priority="1694498815" protocol="udp" type="srflx" ip="129.80.210.199" port="10000" rel-addr="0.0.0.0" rel-port="9"/>
        </transport>
      </transport>
    </endpoint>
    <sources xmlns="jitsi:colibri2">
      <media-source type="audio" id="jvb-a0" synthetic="true">
        <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="411312308" name="jvb-a0">
          <parameter xmlns="urn:xmpp:jingle:apps:rtp:1" name="msid" value="mixedmslabel mixedlabelaudio0"/>
        </source>
      </media-source>
      <media-source type="video" id="jvb-v0">
        <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="3929652146" name="jvb-v0">
          <parameter xmlns="urn:xmpp:jingle:apps:rtp:1" name="msid" value="mixedmslabel mixedlabelvideo0"/>
        </source>
      </media-source>
    </sources>
  </conference-modified>
</iq>`;

const MODIFIED_JSON = `{
  "endpoints": [
    {
      "id":"79f0273e",
      "transport": {
        "transport": {
          "candidates": [
            { "generation": "0", "rel-port": "9", "component": "1", "protocol": "udp", "port": "10000", "ip": "129.80.210.199",
              "foundation": "2", "id": "653aa1ba295b62480ffffffffdc52c0d9", "rel-addr": "0.0.0.0", "priority": "1694498815",
              "type": "srflx", "network": "0" }
          ],
          "xmlns": "urn:xmpp:jingle:transports:ice-udp:1",
          "ufrag": "2ivqh1fvtf0l3h",
          "rtcp-mux": true,
          "pwd": "1a5ejbent91k6io6a3fauikg22",
          "web-sockets": [
            "wss://beta-us-ashburn-1-global-2808-jvb-83-102-26.jitsi.net:443/colibri-ws/default-id/3d937bbdf97a23e0/79f0273e?pwd=1a5ejbent91k6io6a3fauikg22"
          ],
          "fingerprints": [
            { "fingerprint": "2E:CC:85:71:32:5B:B5:60:64:C8:F6:7B:6D:45:D4:34:2B:51:A0:06:B5:EA:2F:84:BC:7B:64:1F:A3:0A:69:23",
              "setup": "actpass", "hash": "sha-256", "cryptex": true }
          ]
        }
      }
    }
  ],
  "sources": [
    { "type": "audio", "id": "jvb-a0", "synthetic": true,
      "sources": [ { "ssrc":411312308, "name": "jvb-a0", "parameters": { "msid": "mixedmslabel mixedlabelaudio0" } } ] },
    { "type": "video", "id": "jvb-v0",
      "sources": [ { "ssrc":3929652146, "name": "jvb-v0", "parameters": { "msid": "mixedmslabel mixedlabelvideo0" } } ] }
  ]
}`;

const UPDATE_XML = `
<iq xmlns="jabber:client" id="id" type="get">
  <conference-modify xmlns="jitsi:colibri2" meeting-id="beccf2ed-5441-4bfe-96d6-f0f3a6796378">
    <endpoint xmlns="jitsi:colibri2" id="79f0273e" stats-id="Garett-w1o">
      <transport>
        <transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" pwd="PirYicPKtYw4+mkIUOm1wWQm" ufrag="sXoJ">
          <fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" setup="active" hash="sha-256">BB:50:EE:83:47:4C:EB:04:4F:9E:32:5D:EC:42:9C:33:1E:E5:DF:17:46:C3:AA:20:E1:F5:C6:0B:E7:C4:78:BF</fingerprint>
          <rtcp-mux/>
        </transport>
      </transport>
      <sources>
        <media-source type="audio" id="79f0273e-a0">
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-a0" ssrc="3166599606"/>
        </media-source>
        <media-source type="video" id="79f0273e-v0">
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-v0" ssrc="437485591"/>
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-v0" ssrc="2958490935"/>
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-v0" ssrc="1565856603"/>
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-v0" ssrc="1153580044"/>
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-v0" ssrc="23279666"/>
          <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" name="79f0273e-v0" ssrc="382686375"/>
          <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="437485591"/><source ssrc="2958490935"/></ssrc-group>
          <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="SIM">
            <source ssrc="437485591"/><source ssrc="1565856603"/><source ssrc="1153580044"/>
          </ssrc-group>
          <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="1565856603"/><source ssrc="23279666"/></ssrc-group>
          <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="1153580044"/><source ssrc="382686375"/></ssrc-group>
        </media-source>
      </sources>
    </endpoint>
  </conference-modify>
</iq>`;

const UPDATE_JSON = `{
  "meeting-id": "beccf2ed-5441-4bfe-96d6-f0f3a6796378",
  "endpoints": [
    {
      "id":"79f0273e",
      "stats-id":"Garett-w1o",
      "transport": {
        "transport": {
          "xmlns": "urn:xmpp:jingle:transports:ice-udp:1",
          "ufrag":"sXoJ",
          "pwd":"PirYicPKtYw4+mkIUOm1wWQm",
          "fingerprints": [
            { "fingerprint": "BB:50:EE:83:47:4C:EB:04:4F:9E:32:5D:EC:42:9C:33:1E:E5:DF:17:46:C3:AA:20:E1:F5:C6:0B:E7:C4:78:BF",
              "setup": "active", "hash": "sha-256" }
          ],
          "rtcp-mux": true
        }
      },
      "sources": [
        { "type": "audio", "id": "79f0273e-a0", "sources": [{ "ssrc": 3166599606, "name": "79f0273e-a0"}] },
        {
          "type": "video", "id": "79f0273e-v0",
          "sources": [
            { "ssrc": 437485591, "name": "79f0273e-v0" }, { "ssrc": 2958490935, "name": "79f0273e-v0" },
            { "ssrc": 1565856603, "name": "79f0273e-v0" }, { "ssrc": 1153580044, "name": "79f0273e-v0" },
            { "ssrc": 23279666, "name": "79f0273e-v0" }, { "ssrc": 382686375, "name": "79f0273e-v0" }
          ],
          "ssrc-groups": [
            { "semantics": "FID", "sources": [ 437485591, 2958490935 ] },
            { "semantics": "SIM", "sources": [ 437485591, 1565856603, 1153580044 ] },
            { "semantics": "FID", "sources": [ 1565856603, 23279666 ] },
            { "semantics": "FID", "sources": [ 1153580044, 382686375 ] }
          ]
        }
      ]
    }
  ]
}`;

const RELAY_XML = `
<iq xmlns="jabber:client" id="id" type="get">
  <conference-modify xmlns="jitsi:colibri2" meeting-id="cbccc2bd-c3c7-4880-acb8-cdb7accc4073">
    <relay xmlns="jitsi:colibri2" id="10.44.106.218:4096" mesh-id="2">
      <endpoints>
        <endpoint id="6f14308e">
          <sources>
            <media-source type="video" id="6f14308e-v0">
              <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="215028838"/>
              <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="300407142"/>
              <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="443647824"/>
              <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="604327257"/>
              <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="1827691320"/>
              <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="2580436281"/>
              <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="1827691320"/><source ssrc="300407142"/></ssrc-group>
              <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="SIM">
                <source ssrc="1827691320"/><source ssrc="2580436281"/><source ssrc="604327257"/>
              </ssrc-group>
              <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="2580436281"/><source ssrc="443647824"/></ssrc-group>
              <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="604327257"/><source ssrc="215028838"/></ssrc-group>
            </media-source>
          </sources>
        </endpoint>
      </endpoints>
    </relay>
  </conference-modify>
</iq>`;

const RELAY_JSON = `{
  "meeting-id":"cbccc2bd-c3c7-4880-acb8-cdb7accc4073",
  "relays": [
    {
      "id":"10.44.106.218:4096",
      "mesh-id":"2",
      "endpoints": [
        {
          "id":"6f14308e",
          "sources": [
            {
              "type": "video",
              "id": "6f14308e-v0",
              "sources": [ 215028838, 300407142, 443647824, 604327257, 1827691320, 2580436281 ],
              "ssrc-groups": [
                { "semantics": "FID", "sources": [ 1827691320, 300407142 ] },
                { "semantics": "SIM", "sources": [ 1827691320, 2580436281, 604327257 ] },
                { "semantics": "FID", "sources": [ 2580436281, 443647824 ] },
                { "semantics": "FID", "sources": [ 604327257, 215028838 ] }
              ]
            }
          ]
        }
      ]
    }
  ]
}`;

const EXPIRE_XML = `<iq xmlns="jabber:client" id="id" type="get">
  <conference-modify xmlns="jitsi:colibri2" meeting-id="cbccc2bd-c3c7-4880-acb8-cdb7accc4073" expire="true"/></iq>`;
const EXPIRE_JSON = `{ "meeting-id":"cbccc2bd-c3c7-4880-acb8-cdb7accc4073", "expire": true }`;

const CONNECT_XML = `<iq xmlns="jabber:client" id="id" type="get">
  <conference-modify xmlns="jitsi:colibri2" meeting-id="test-meeting-id" create="true">
    <connects>
      <connect url='wss://example.com/webhook' protocol='mediajson' type='transcriber' audio='true' video='true'>
        <http-header name='Authorization' value='Bearer token123'/>
        <ping interval='1000' timeout='2000'/>
      </connect>
    </connects>
  </conference-modify>
</iq>`;
const CONNECT_JSON = `{
  "meeting-id": "test-meeting-id", "create": true,
  "connects": [ { "url": "wss://example.com/webhook", "protocol": "mediajson", "type": "transcriber", "audio": true, "video": true,
                  "headers": { "Authorization": "Bearer token123" }, "ping": { "interval": 1000, "timeout": 2000 } } ]
}`;

/** The Kotlin mappings, by their test names; `connects` (ignored by both forms here) is left out of the expected JSON. */
const KOTLIN: { name: string; xml: string; json: string; modified?: true }[] = [
  { name: 'Something that should be exercising all the fields', xml: ALL_FIELDS_XML, json: ALL_FIELDS_JSON },
  { name: 'Conference-modified with transport for an endpoint and feedback sources', xml: MODIFIED_XML, json: MODIFIED_JSON, modified: true },
  { name: 'Update endpoint with transport and sources', xml: UPDATE_XML, json: UPDATE_JSON },
  { name: 'Relay with endpoints', xml: RELAY_XML, json: RELAY_JSON },
  { name: 'Expire conference', xml: EXPIRE_XML, json: EXPIRE_JSON },
  { name: 'Connect with HTTP headers and Ping', xml: CONNECT_XML, json: CONNECT_JSON },
];

function withoutConnects(json: string): unknown {
  const { connects: _connects, ...rest } = JSON.parse(json) as Record<string, unknown>;
  return rest;
}

describe('Colibri2JSONSerializerTest.kt mappings', () => {
  for (const m of KOTLIN) {
    it(`"${m.name}": the JSON parses to what the XML parses to`, () => {
      if (m.modified) expect(parseConferenceModifiedJson(JSON.parse(m.json))).toEqual(parseConferenceModified(parseXml(m.xml)));
      else expect(modify(m.json)).toEqual(parseConferenceModify(parseXml(m.xml)));
    });

    it(`"${m.name}": serializes to the sample's JSON`, () => {
      const out = m.modified
        ? serializeConferenceModifiedJson(parseConferenceModified(parseXml(m.xml)))
        : serializeConferenceModifyJson(parseConferenceModify(parseXml(m.xml)));
      expect(out).toEqual(withoutConnects(m.json));
    });
  }

  it('"Endpoint with sources (same as Colibri2IQTest)": its payload-type has no id, which both forms refuse alike', () => {
    const json = `{ "meeting-id":"88ff288c-5eeb-4ea9-bc2f-93ea38c43b78", "create":true, "endpoints":[ { "id": "bd9b6765",
      "medias": [{"type":"audio", "payload-types": [{"name":"opus", "clockrate":"48000", "channels": "2"}]}] } ] }`;
    const xml = `<conference-modify xmlns='jitsi:colibri2' meeting-id='m'><endpoint id='bd9b6765'><media type='audio'>
      <payload-type xmlns='urn:xmpp:jingle:apps:rtp:1' name='opus' clockrate='48000' channels='2'/></media></endpoint></conference-modify>`;
    expect(refusal(() => modify(json))).toBe('Missing id in endpoints[0].medias[0].payload-types[0]');
    expect(refusal(() => parseConferenceModify(parseXml(xml)))).toBe('Missing id in <payload-type>');
    // The rest of that sample, with an id: sources as bare SSRCs, force-mute, initial-last-n.
    const ok = modify(
      json.replace('"name":"opus"', '"id": "111", "name":"opus"').replace(
        '} ] }',
        `,
      "transport": {"ice-controlling":true}, "sources": [{"type":"video", "id":"bd9b6765-v1", "sources":[803354056]}],
      "force-mute": {"audio":true, "video":true}, "initial-last-n": {"value": 13 } } ] }`,
      ),
    );
    expect(ok.endpoints[0]).toMatchObject({
      transport: { iceControlling: true },
      sources: [{ type: 'video', id: 'bd9b6765-v1', sources: [{ ssrc: 803354056 }], ssrcGroups: [] }],
      forceMute: { audio: true, video: true },
      initialLastN: 13,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// jitsi-videobridge doc/rest-colibri2.md
// ---------------------------------------------------------------------------------------------------------------

/** The POST response of rest-colibri2.md (a real JVB's answer). */
const REST_POST_RESPONSE = `{
  "endpoints": [ { "id": "79f0273d", "transport": { "transport": {
    "candidates": [
      { "generation": "0", "component": "1", "protocol": "udp", "port": "10000", "ip": "172.18.0.4", "foundation": "1",
        "id": "5bbb5d5e101f870f0ffffffffdf286239", "priority": "2130706431", "type": "host", "network": "0" },
      { "generation": "0", "rel-port": "10000", "component": "1", "protocol": "udp", "port": "10000", "ip": "192.168.1.1",
        "foundation": "2", "id": "56f8f898101f870f0fffffffff3be6336", "rel-addr": "172.18.0.4", "priority": "1694498815",
        "type": "srflx", "network": "0" },
      { "generation": "0", "rel-port": "10000", "component": "1", "protocol": "udp", "port": "10000", "ip": "152.58.154.133",
        "foundation": "2", "id": "c6ac5101f870f0ffffffffcb50fcba", "rel-addr": "172.18.0.4", "priority": "1694498815",
        "type": "srflx", "network": "0" }
    ],
    "xmlns": "urn:xmpp:jingle:transports:ice-udp:1", "ufrag": "26ant1ioqu7qnr", "rtcp-mux": true, "pwd": "9q8uj7tg6j4rc4i6ulc1pmsq9",
    "web-sockets": [ "wss://localhost:8443/colibri-ws/172.18.0.4/7e441eda3701676e/79f0273d?pwd=9q8uj7tg6j4rc4i6ulc1pmsq9" ],
    "fingerprints": [ { "fingerprint": "F1:05:72:F8:F3:F4:B4:65:5B:9A:FC:81:24:11:23:78:D5:42:54:B1:F2:66:2F:82:CC:2B:01:1C:DB:98:BE:C0",
                        "setup": "actpass", "hash": "sha-256" } ]
  } } } ],
  "sources": [
    { "sources": [ { "ssrc": 3191927963, "name": "jvb-a0" } ], "id": "jvb-a0", "type": "audio" },
    { "sources": [ { "ssrc": 1863439907, "name": "jvb-v0" } ], "id": "jvb-v0", "type": "video" }
  ]
}`;

describe('doc/rest-colibri2.md samples', () => {
  it('POST request: the "all the fields" sample as a moderator parses', () => {
    const req = modify(ALL_FIELDS_JSON.replace('"visitor"', '"moderator"'));
    expect(req).toMatchObject({
      meetingId: 'beccf2ed-5441-4bfe-96d6-f0f3a6796378',
      create: true,
      endpoints: [{ id: '79f0273e', mucRole: 'moderator', create: true }],
    });
  });

  it("POST response: a JVB's answer parses (3 candidates, web-socket, feedback sources) and serializes back", () => {
    const res = parseConferenceModifiedJson(JSON.parse(REST_POST_RESPONSE));
    const ice = res.endpoints[0]?.transport?.ice;
    expect(ice?.candidates.map((c) => [c.type, c.ip, c.port, c.relAddr, c.relPort])).toEqual([
      ['host', '172.18.0.4', 10000, undefined, undefined],
      ['srflx', '192.168.1.1', 10000, '172.18.0.4', 10000],
      ['srflx', '152.58.154.133', 10000, '172.18.0.4', 10000],
    ]);
    expect(ice).toMatchObject({
      ufrag: '26ant1ioqu7qnr',
      pwd: '9q8uj7tg6j4rc4i6ulc1pmsq9',
      rtcpMux: true,
      fingerprints: [{ hash: 'sha-256', setup: 'actpass' }],
    });
    expect(ice?.webSockets).toHaveLength(1);
    expect(res.sources?.map((s) => [s.id, s.sources[0]?.ssrc])).toEqual([
      ['jvb-a0', 3191927963],
      ['jvb-v0', 1863439907],
    ]);
    expect(serializeConferenceModifiedJson(res)).toEqual(JSON.parse(REST_POST_RESPONSE));
  });

  it('PATCH request: the meeting id comes from the URL; the conference-modified JSON the doc sends parses as a request', () => {
    const req = modify(MODIFIED_JSON, 'from-url');
    expect(req.meetingId).toBe('from-url');
    expect(req.endpoints[0]?.transport?.ice).toMatchObject({ ufrag: '2ivqh1fvtf0l3h', rtcpMux: true, fingerprints: [{ cryptex: true }] });
    expect(modify('{"expire":true}', 'm')).toEqual({ meetingId: 'm', expire: true, endpoints: [] });
    // JVB's setMeetingId overrides the body's, which must still be a string when present.
    expect(modify('{"meeting-id":"other","expire":true}', 'm').meetingId).toBe('m');
    expect(refusal(() => modify('{"meeting-id":5}', 'm'))).toBe('Expected string for meeting-id in conference-modify, got number');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The fixture's XML samples in JSON: the same typed objects as the XML
// ---------------------------------------------------------------------------------------------------------------

const JSON_6_1 = `{
  "meeting-id": "beccf2ed-5441-4bfe-96d6-f0f3a6796378", "name": "room1@conference.example.com", "create": true,
  "endpoints": [ {
    "create": true, "id": "79f0273e", "stats-id": "Garett-w1o", "muc-role": "moderator",
    "medias": [
      { "type": "audio",
        "payload-types": [
          { "name": "red", "id": "112", "clockrate": "48000", "channels": "2", "parameters": { "null": "111/111" } },
          { "name": "opus", "id": "111", "clockrate": "48000", "channels": "2", "parameters": { "useinbandfec": "1", "minptime": "10" },
            "rtcp-fbs": [ { "type": "transport-cc" } ] } ],
        "rtp-hdrexts": [ { "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 1 },
                         { "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 5 } ],
        "extmap-allow-mixed": true },
      { "type": "video",
        "payload-types": [
          { "name": "AV1", "id": "41", "clockrate": "90000",
            "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" }, { "type": "goog-remb" }, { "type": "transport-cc" } ] },
          { "name": "VP8", "id": "100", "clockrate": "90000",
            "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" }, { "type": "goog-remb" }, { "type": "transport-cc" } ] },
          { "name": "H264", "id": "107", "clockrate": "90000", "parameters": { "profile-level-id": "42e01f;level-asymmetry-allowed=1;packetization-mode=1;" },
            "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" }, { "type": "goog-remb" }, { "type": "transport-cc" } ] },
          { "name": "VP9", "id": "101", "clockrate": "90000",
            "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" }, { "type": "goog-remb" }, { "type": "transport-cc" } ] },
          { "name": "rtx", "id": "42", "clockrate": "90000", "parameters": { "apt": "41" }, "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" } ] },
          { "name": "rtx", "id": "96", "clockrate": "90000", "parameters": { "apt": "100" }, "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" } ] },
          { "name": "rtx", "id": "97", "clockrate": "90000", "parameters": { "apt": "101" }, "rtcp-fbs": [ { "type": "ccm", "subtype": "fir" }, { "type": "nack" }, { "type": "nack", "subtype": "pli" } ] },
          { "name": "rtx", "id": "99", "clockrate": "90000", "parameters": { "apt": "107" } } ],
        "rtp-hdrexts": [ { "uri": "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension", "id": 11 },
                         { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 3 },
                         { "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 5 } ],
        "extmap-allow-mixed": true } ],
    "transport": { "ice-controlling": true, "sctp": {} },
    "capabilities": [ "source-names", "ssrc-rewriting" ]
  } ]
}`;

const JSON_6_2 = `{
  "endpoints": [ { "id": "79f0273e", "transport": {
    "transport": {
      "xmlns": "urn:xmpp:jingle:transports:ice-udp:1", "ufrag": "2ivqh1fvtf0l3h", "pwd": "1a5ejbent91k6io6a3fauikg22",
      "fingerprints": [ { "fingerprint": "2E:CC:85:71:32:5B:B5:60:64:C8:F6:7B:6D:45:D4:34:2B:51:A0:06:B5:EA:2F:84:BC:7B:64:1F:A3:0A:69:23",
                          "hash": "sha-256", "setup": "actpass" } ],
      "web-sockets": [ "wss://jvb1.example.com:443/colibri-ws/default-id/3d937bbdf97a23e0/79f0273e?pwd=1a5ejbent91k6io6a3fauikg22" ],
      "rtcp-mux": true,
      "candidates": [
        { "component": "1", "foundation": "1", "generation": "0", "id": "5bbb5d5e1", "network": "0", "priority": "2130706431",
          "protocol": "udp", "type": "host", "ip": "172.18.0.4", "port": "10000" },
        { "component": "1", "foundation": "2", "generation": "0", "id": "653aa1ba2", "network": "0", "priority": "1694498815",
          "protocol": "udp", "type": "srflx", "ip": "129.80.210.199", "port": "10000", "rel-addr": "172.18.0.4", "rel-port": "10000" } ]
    },
    "sctp": { "port": 5000, "role": "server" } } } ],
  "sources": [
    { "type": "audio", "id": "jvb-a0", "sources": [ { "ssrc": 411312308, "name": "jvb-a0" } ] },
    { "type": "video", "id": "jvb-v0", "sources": [ { "ssrc": 3929652146, "name": "jvb-v0" } ] } ]
}`;

const JSON_6_3 = UPDATE_JSON.replace(
  'BB:50:EE:83:47:4C:EB:04:4F:9E:32:5D:EC:42:9C:33:1E:E5:DF:17:46:C3:AA:20:E1:F5:C6:0B:E7:C4:78:BF',
  'BB:50:EE:83:…:78:BF',
).replace(
  // The update sample lists the SIM group first.
  `{ "semantics": "FID", "sources": [ 437485591, 2958490935 ] },
            { "semantics": "SIM", "sources": [ 437485591, 1565856603, 1153580044 ] },`,
  `{ "semantics": "SIM", "sources": [ 437485591, 1565856603, 1153580044 ] },
            { "semantics": "FID", "sources": [ 437485591, 2958490935 ] },`,
);

describe('colibri2 samples in JSON', () => {
  it('create: JSON and XML parse to the same request; it serializes to this JSON', () => {
    expect(modify(JSON_6_1)).toEqual(EXPECTED_6_1);
    expect(parseConferenceModify(parseXml(SAMPLE_6_1))).toEqual(EXPECTED_6_1);
    expect(serializeConferenceModifyJson(EXPECTED_6_1)).toEqual(JSON.parse(JSON_6_1));
  });

  it('response: JSON and XML parse to the same response; it serializes to this JSON', () => {
    expect(parseConferenceModifiedJson(JSON.parse(JSON_6_2))).toEqual(RESPONSE_6_2);
    expect(parseConferenceModified(parseXml(SAMPLE_6_2))).toEqual(RESPONSE_6_2);
    expect(serializeConferenceModifiedJson(RESPONSE_6_2)).toEqual(JSON.parse(JSON_6_2));
  });

  it('update: JSON and XML parse to the same request; it serializes to this JSON', () => {
    expect(JSON_6_3).not.toBe(UPDATE_JSON);
    expect(modify(JSON_6_3)).toEqual(EXPECTED_6_3);
    expect(parseConferenceModify(parseXml(SAMPLE_6_3))).toEqual(EXPECTED_6_3);
    expect(serializeConferenceModifyJson(EXPECTED_6_3)).toEqual(JSON.parse(JSON_6_3));
  });

  it('short forms', () => {
    expect(modify('{"meeting-id":"M","endpoints":[{"id":"79f0273e","expire":true}]}')).toEqual({
      meetingId: 'M',
      endpoints: [{ id: '79f0273e', expire: true }],
    });
    expect(modify('{"meeting-id":"M","endpoints":[{"id":"a","force-mute":{"audio":true,"video":false}},{"id":"b","force-mute":{"audio":true}}]}')).toEqual({
      meetingId: 'M',
      endpoints: [
        { id: 'a', forceMute: { audio: true, video: false } },
        { id: 'b', forceMute: { audio: true } },
      ],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// What the Kotlin reader tolerates, and JSON's own cases
// ---------------------------------------------------------------------------------------------------------------

const ep = (endpoint: string): string => `{"meeting-id":"m","endpoints":[${endpoint}]}`;
const ice = (inner: string): IceUdpTransport | undefined => modify(ep(`{"id":"a","transport":{"transport":${inner}}}`)).endpoints[0]?.transport?.ice;
const ptOf = (pt: string): PayloadType | undefined =>
  modify(ep(`{"id":"a","medias":[{"type":"audio","payload-types":[${pt}]}]}`)).endpoints[0]?.media?.[0]?.payloadTypes[0];
const XMLNS = '"xmlns":"urn:xmpp:jingle:transports:ice-udp:1"';

describe('parseConferenceModifyJson details', () => {
  it('attribute bags take any scalar as text: string or number ids alike, values of parameters too', () => {
    expect(ptOf('{"id":111,"name":"opus","clockrate":48000,"channels":2,"parameters":{"minptime":10,"stereo":true}}')).toEqual({
      id: 111,
      name: 'opus',
      clockrate: 48000,
      channels: 2,
      parameters: [
        { name: 'minptime', value: '10' },
        { name: 'stereo', value: 'true' },
      ],
      rtcpFbs: [],
    });
    expect(
      ice(
        `{${XMLNS},"ufrag":"u","candidates":[{"component":1,"foundation":1,"generation":0,"priority":1,"protocol":"UDP","type":"host","ip":"1.2.3.4","port":5}]}`,
      )?.candidates,
    ).toEqual([{ component: 1, foundation: '1', generation: 0, id: '', network: 0, priority: 1, protocol: 'udp', type: 'host', ip: '1.2.3.4', port: 5 }]);
  });

  it('drops what JVB drops: an inner transport without the ice-udp xmlns, rtp-hdrext without id or uri, "active" web-sockets, …', () => {
    expect(ice('{"ufrag":"u","pwd":"p"}')).toBeUndefined();
    expect(ice('{"xmlns":"urn:other","ufrag":"u"}')).toBeUndefined();
    expect(ice(`{${XMLNS},"web-sockets":["active","wss://x"],"fingerprints":null,"candidates":null}`)).toEqual({
      candidates: [],
      fingerprints: [],
      webSockets: ['wss://x'],
    });
    // Fingerprints without hash or value, candidates without generation (the XML form's rules, fields.ts).
    expect(
      ice(
        `{${XMLNS},"fingerprints":[{"hash":"sha-256"},{"fingerprint":"AA"},{"fingerprint":{},"hash":"h"}],"candidates":[{"component":"1","foundation":"1","priority":"1","protocol":"udp","type":"host","ip":"x","port":"1"}]}`,
      ),
    ).toEqual({
      candidates: [],
      fingerprints: [],
    });
    const media = modify(ep('{"id":"a","medias":[{"type":"audio","rtp-hdrexts":[{"id":1},{"uri":"u"},{"id":2,"uri":"v"}]},{"type":"data"}]}')).endpoints[0]
      ?.media;
    expect(media).toEqual([{ type: 'audio', payloadTypes: [], rtpHdrExts: [{ id: 2, uri: 'v' }] }]);
    expect(ptOf('{"id":"1","name":"x","clockrate":"1","parameters":{"null":null},"rtcp-fbs":[{"subtype":"pli"}]}')).toEqual({
      id: 1,
      name: 'x',
      clockrate: 1,
      parameters: [],
      rtcpFbs: [],
    });
  });

  it('flags: rtcp-mux is true for true or "true" (any case) only; extmap-allow-mixed is set by any boolean, as in Kotlin', () => {
    expect(ice(`{${XMLNS},"rtcp-mux":"TRUE"}`)?.rtcpMux).toBe(true);
    expect(ice(`{${XMLNS},"rtcp-mux":1}`)?.rtcpMux).toBeUndefined();
    expect(ice(`{${XMLNS},"rtcp-mux":false}`)?.rtcpMux).toBeUndefined();
    expect(modify(ep('{"id":"a","medias":[{"type":"video","extmap-allow-mixed":false}]}')).endpoints[0]?.media?.[0]?.extmapAllowMixed).toBe(true);
  });

  it('ignores unknown members, connects, and never reads Object.prototype', () => {
    expect(modify('{"meeting-id":"m","connects":7,"other":{"x":1},"endpoints":[{"id":"a","constructor":1,"toString":"x"}]}')).toEqual({
      meetingId: 'm',
      endpoints: [{ id: 'a' }],
    });
    expect(refusal(() => modify('{"constructor":"x","__proto__":{"meeting-id":"m"}}'))).toBe('Missing meeting-id in conference-modify');
    expect(modify('{"meeting-id":"m","__proto__":{"create":true}}')).toEqual({ meetingId: 'm', endpoints: [] });
  });

  it('a parameter named __proto__ survives serialization (own members)', () => {
    const req: ConferenceModifyRequest = {
      meetingId: 'm',
      endpoints: [
        {
          id: 'a',
          media: [
            { type: 'audio', payloadTypes: [{ id: 1, name: 'x', clockrate: 1, parameters: [{ name: '__proto__', value: 'v' }], rtcpFbs: [] }], rtpHdrExts: [] },
          ],
        },
      ],
    };
    expect(parseConferenceModifyJson(wire(serializeConferenceModifyJson(req)))).toEqual(req);
  });

  it("leaves JVB's combination checks (relays with endpoints, several relays) to the bridge", () => {
    const req = modify('{"meeting-id":"m","endpoints":[{"id":"a"}],"relays":[{"id":"r1"},{"id":"r2","endpoints":[]}]}');
    expect(req.relays).toEqual([{ id: 'r1' }, { id: 'r2', endpoints: [] }]);
  });
});

describe('malformed conference-modify → bad-request naming the member and its path', () => {
  const cases: [string, string][] = [
    ['[]', 'Expected a JSON object for conference-modify, got array'],
    ['null', 'Expected a JSON object for conference-modify, got null'],
    ['{}', 'Missing meeting-id in conference-modify'],
    ['{"meeting-id":" "}', "Invalid meeting-id ' ' in conference-modify"],
    ['{"meeting-id":"m","create":"true"}', 'Expected boolean for create in conference-modify, got string'],
    ['{"meeting-id":"m","name":null}', 'Expected string for name in conference-modify, got null'],
    ['{"meeting-id":"m","endpoints":{}}', 'Expected array for endpoints in conference-modify, got object'],
    ['{"meeting-id":"m","relays":[1]}', 'Expected object for relays[0], got number'],
    [ep('"a"'), 'Expected object for endpoints[0], got string'],
    [ep('{}'), 'Missing id in endpoints[0]'],
    [ep('{"id":""}'), "Invalid id '' in endpoints[0]"],
    [ep('{"id":"a","expire":1}'), 'Expected boolean for expire in endpoints[0], got number'],
    [ep('{"id":"a","muc-role":"owner"}'), "Invalid muc-role 'owner' in endpoints[0]"],
    [ep('{"id":"a","medias":null}'), 'Expected array for medias in endpoints[0], got null'],
    [ep('{"id":"a","medias":[{}]}'), 'Missing type in endpoints[0].medias[0]'],
    [ep('{"id":"a","medias":[{"type":"speech"}]}'), "Invalid type 'speech' in endpoints[0].medias[0]"],
    [
      ep('{"id":"a","medias":[{"type":"audio","payload-types":[{"id":"200","name":"x","clockrate":"1"}]}]}'),
      "Invalid id '200' in endpoints[0].medias[0].payload-types[0]",
    ],
    [
      ep('{"id":"a","medias":[{"type":"audio","payload-types":[{"id":true,"name":"x","clockrate":"1"}]}]}'),
      "Invalid id 'true' in endpoints[0].medias[0].payload-types[0]",
    ],
    [
      ep('{"id":"a","medias":[{"type":"audio","payload-types":[{"id":1.5,"name":"x","clockrate":"1"}]}]}'),
      "Invalid id '1.5' in endpoints[0].medias[0].payload-types[0]",
    ],
    [
      ep('{"id":"a","medias":[{"type":"audio","payload-types":[{"id":1,"name":"x","clockrate":"1","parameters":{"apt":null}}]}]}'),
      'Missing value in endpoints[0].medias[0].payload-types[0].parameters',
    ],
    [
      ep('{"id":"a","medias":[{"type":"audio","payload-types":[{"id":1,"name":"x","clockrate":"1","parameters":[]}]}]}'),
      'Expected object for parameters in endpoints[0].medias[0].payload-types[0], got array',
    ],
    [
      ep('{"id":"a","medias":[{"type":"audio","payload-types":[{"id":1,"name":"x","clockrate":"1","rtcp-fbs":[{"type":5}]}]}]}'),
      'Expected string for type in endpoints[0].medias[0].payload-types[0].rtcp-fbs[0], got number',
    ],
    [
      ep('{"id":"a","medias":[{"type":"audio","rtp-hdrexts":[{"id":"1","uri":"u"}]}]}'),
      'Expected number for id in endpoints[0].medias[0].rtp-hdrexts[0], got string',
    ],
    [ep('{"id":"a","medias":[{"type":"audio","rtp-hdrexts":[{"id":256,"uri":"u"}]}]}'), "Invalid id '256' in endpoints[0].medias[0].rtp-hdrexts[0]"],
    [ep('{"id":"a","transport":{"ice-controlling":"true"}}'), 'Expected boolean for ice-controlling in endpoints[0].transport, got string'],
    [ep('{"id":"a","transport":{"sctp":{"port":"5000"}}}'), 'Expected number for port in endpoints[0].transport.sctp, got string'],
    [ep('{"id":"a","transport":{"sctp":{"role":"peer"}}}'), "Invalid role 'peer' in endpoints[0].transport.sctp"],
    [
      ep(
        `{"id":"a","transport":{"transport":{${XMLNS},"candidates":[{"component":"1","foundation":"1","generation":"0","priority":"1","protocol":"udp","type":"host","ip":"x","port":"70000"}]}}}`,
      ),
      "Invalid port '70000' in endpoints[0].transport.transport.candidates[0]",
    ],
    [
      ep(`{"id":"a","transport":{"transport":{${XMLNS},"candidates":["c"]}}}`),
      'Expected object for endpoints[0].transport.transport.candidates[0], got string',
    ],
    [
      ep(`{"id":"a","transport":{"transport":{${XMLNS},"fingerprints":[{"fingerprint":"AA","hash":"h","cryptex":"maybe"}]}}}`),
      "Invalid cryptex 'maybe' in endpoints[0].transport.transport.fingerprints[0]",
    ],
    [
      ep(`{"id":"a","transport":{"transport":{${XMLNS},"web-sockets":[1]}}}`),
      'Expected string for web-sockets[0] in endpoints[0].transport.transport, got number',
    ],
    [ep(`{"id":"a","transport":{"transport":{${XMLNS},"ice-generation":"-1"}}}`), "Invalid ice-generation '-1' in endpoints[0].transport.transport"],
    [ep('{"id":"a","sources":{}}'), 'Expected array for sources in endpoints[0], got object'],
    [ep('{"id":"a","sources":[{"type":"video"}]}'), 'Missing id in endpoints[0].sources[0]'],
    [ep('{"id":"a","sources":[{"type":"video","id":"v","sources":[-1]}]}'), "Invalid ssrc '-1' in endpoints[0].sources[0].sources[0]"],
    [ep('{"id":"a","sources":[{"type":"video","id":"v","sources":[4294967296]}]}'), "Invalid ssrc '4294967296' in endpoints[0].sources[0].sources[0]"],
    [ep('{"id":"a","sources":[{"type":"video","id":"v","sources":["x"]}]}'), "Invalid ssrc 'x' in endpoints[0].sources[0].sources[0]"],
    [
      ep('{"id":"a","sources":[{"type":"video","id":"v","sources":[true]}]}'),
      'Expected number, string or object for endpoints[0].sources[0].sources[0], got boolean',
    ],
    [ep('{"id":"a","sources":[{"type":"video","id":"v","sources":[{"name":"n"}]}]}'), 'Missing ssrc in endpoints[0].sources[0].sources[0]'],
    [
      ep('{"id":"a","sources":[{"type":"video","id":"v","sources":[{"ssrc":1,"parameters":{"msid":{}}}]}]}'),
      'Expected string for msid in endpoints[0].sources[0].sources[0].parameters, got object',
    ],
    [ep('{"id":"a","sources":[{"type":"video","id":"v","ssrc-groups":[{"sources":[1]}]}]}'), 'Missing semantics in endpoints[0].sources[0].ssrc-groups[0]'],
    [
      ep('{"id":"a","sources":[{"type":"video","id":"v","ssrc-groups":[{"semantics":"SIM","sources":[1,"y"]}]}]}'),
      "Invalid ssrc 'y' in endpoints[0].sources[0].ssrc-groups[0].sources[1]",
    ],
    [ep('{"id":"a","force-mute":{"audio":"yes"}}'), 'Expected boolean for audio in endpoints[0].force-mute, got string'],
    [ep('{"id":"a","initial-last-n":{}}'), 'Missing value in endpoints[0].initial-last-n'],
    [ep('{"id":"a","initial-last-n":{"value":"5"}}'), 'Expected number for value in endpoints[0].initial-last-n, got string'],
    [ep('{"id":"a","initial-last-n":5}'), 'Expected object for initial-last-n in endpoints[0], got number'],
    [ep('{"id":"a","capabilities":["source-names",1]}'), 'Expected string for capabilities[1] in endpoints[0], got number'],
    ['{"meeting-id":"m","relays":[{"id":"r","mesh-id":2}]}', 'Expected string for mesh-id in relays[0], got number'],
    [
      '{"meeting-id":"m","relays":[{"id":"r","endpoints":[{"id":"e","sources":[{"type":"audio","id":"x","sources":[-5]}]}]}]}',
      "Invalid ssrc '-5' in relays[0].endpoints[0].sources[0].sources[0]",
    ],
  ];
  for (const [json, text] of cases) {
    it(text, () => {
      expect(refusal(() => modify(json))).toBe(text);
    });
  }
});

describe('malformed conference-modified → bad-request', () => {
  const res = (endpoint: string): string => `{"endpoints":[${endpoint}]}`;
  const cases: [string, string][] = [
    ['"x"', 'Expected a JSON object for conference-modified, got string'],
    [res('{}'), 'Missing id in endpoints[0]'],
    [res('{"id":"a","transport":{}}'), 'Missing transport (with "xmlns": "urn:xmpp:jingle:transports:ice-udp:1") in endpoints[0].transport'],
    [
      res('{"id":"a","transport":{"transport":{"ufrag":"u","pwd":"p"}}}'),
      'Missing transport (with "xmlns": "urn:xmpp:jingle:transports:ice-udp:1") in endpoints[0].transport',
    ],
    [res(`{"id":"a","transport":{"transport":{${XMLNS},"pwd":"p"}}}`), 'Missing ufrag in endpoints[0].transport.transport'],
    [res(`{"id":"a","transport":{"transport":{${XMLNS},"ufrag":"u","pwd":"p"},"sctp":{"port":5000}}}`), 'Missing role in endpoints[0].transport.sctp'],
    ['{"relays":[{"id":"r","expire":"yes"}]}', 'Expected boolean for expire in relays[0], got string'],
  ];
  for (const [json, text] of cases) {
    it(text, () => {
      expect(refusal(() => parseConferenceModifiedJson(JSON.parse(json)))).toBe(text);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Round trips and random input (fast-check)
// ---------------------------------------------------------------------------------------------------------------

/**
 * What JSON can carry of a typed value: `parameters` is an object (one value per name, the last; integer-like names
 * first, as JS orders keys; the name "null" reads back nameless), a "active" web-socket is JVB's marker, not a URL.
 */
function jsonLimits<T>(value: T): T {
  const v = structuredClone(value) as unknown;
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (typeof x !== 'object' || x === null) return;
    const o = x as Record<string, unknown>;
    if (Array.isArray(o.parameters) && 'rtcpFbs' in o) {
      const byName = Object.fromEntries((o.parameters as { name?: string; value: string }[]).map((p) => [p.name ?? 'null', p.value]));
      o.parameters = Object.entries(byName).map(([name, value]) => (name === 'null' ? { value } : { name, value }));
    }
    if (Array.isArray(o.webSockets)) {
      o.webSockets = (o.webSockets as string[]).filter((u) => u !== 'active');
      if ((o.webSockets as string[]).length === 0) delete o.webSockets;
    }
    Object.values(o).forEach(visit);
  };
  visit(v);
  return v as T;
}

const arbs = colibri2Arbitraries(fc.string({ unit: 'binary', maxLength: 12 }));

describe('round trips', () => {
  it('parseConferenceModifyJson(serializeConferenceModifyJson(r)) equals r, through JSON text', () => {
    fc.assert(
      fc.property(arbs.request, (r) => {
        expect(parseConferenceModifyJson(wire(serializeConferenceModifyJson(r)))).toEqual(jsonLimits(r));
      }),
      { numRuns: 500 },
    );
  });

  it('parseConferenceModifiedJson(serializeConferenceModifiedJson(r)) equals r, through JSON text', () => {
    fc.assert(
      fc.property(arbs.response, (r) => {
        expect(parseConferenceModifiedJson(wire(serializeConferenceModifiedJson(r)))).toEqual(jsonLimits(r));
      }),
      { numRuns: 500 },
    );
  });

  it('a typed value sent as XML and as JSON arrives the same', () => {
    fc.assert(
      fc.property(colibri2Arbitraries(fc.string({ unit: 'grapheme-ascii', maxLength: 8 })).request, (r) => {
        const viaJson = parseConferenceModifyJson(wire(serializeConferenceModifyJson(r)));
        const viaXml = parseConferenceModify(parseXml(`<iq type='get' id='x'>${serializeConferenceModify(r).toString()}</iq>`));
        expect(viaJson).toEqual(jsonLimits(viaXml));
      }),
      { numRuns: 200 },
    );
  });
});

/** Every node of a JSON tree with a way to replace or delete it. */
function nodes(root: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      x.forEach((c, i) => {
        out.push({ parent: x, key: i });
        walk(c);
      });
    } else if (typeof x === 'object' && x !== null) {
      for (const [k, c] of Object.entries(x)) {
        out.push({ parent: x as Record<string, unknown>, key: k });
        walk(c);
      }
    }
  };
  walk(root);
  return out;
}

const mutation = fc.record({
  kind: fc.constantFrom('replace', 'delete', 'wrap'),
  pick: fc.nat(),
  junk: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('', '-1', '4294967296', 'TRUE', 1.5, 1e21, -0, null, [], {}, 'active', 'null')),
});

function mutate(root: unknown, m: { kind: string; pick: number; junk: unknown }): void {
  const all = nodes(root);
  if (all.length === 0) return;
  const { parent, key } = all[m.pick % all.length]!;
  const p = parent as Record<string | number, unknown>;
  if (m.kind === 'replace') p[key] = m.junk;
  else if (m.kind === 'wrap') p[key] = [p[key]];
  else if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete p[key];
}

function checkRequest(r: ConferenceModifyRequest): void {
  const sources = (list: MediaSource[] | undefined): void => {
    for (const ms of list ?? []) for (const s of ms.sources) expect(Number.isInteger(s.ssrc) && s.ssrc >= 0 && s.ssrc <= U32).toBe(true);
  };
  for (const e of r.endpoints) {
    expect(e.id.trim()).not.toBe('');
    sources(e.sources);
    for (const m of e.media ?? []) for (const pt of m.payloadTypes) expect(pt.id >= 0 && pt.id <= 127).toBe(true);
  }
  for (const relay of r.relays ?? []) for (const e of relay.endpoints ?? []) sources(e.sources);
}

describe('random and mutated JSON: a typed value or a Colibri2Error, nothing else', () => {
  /** Whether `f` returned; a throw must be a bad-request with a field-naming text. */
  const accepted = (f: () => unknown): boolean => {
    try {
      f();
      return true;
    } catch (e) {
      if (!(e instanceof Colibri2Error)) throw new Error(`not a Colibri2Error: ${String(e)}`);
      expect(e.condition).toBe('bad-request');
      expect(e.message).toMatch(/^(Missing|Invalid|Expected) /);
      return false;
    }
  };

  it('any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        accepted(() => parseConferenceModifyJson(v));
        accepted(() => parseConferenceModifiedJson(v));
      }),
      { numRuns: 2000 },
    );
  });

  for (const [name, sample, parse] of [
    ['"all the fields" request', ALL_FIELDS_JSON, (v: unknown) => checkRequest(parseConferenceModifyJson(v))],
    ['"update endpoint" request', UPDATE_JSON, (v: unknown) => checkRequest(parseConferenceModifyJson(v))],
    ['relay request', RELAY_JSON, (v: unknown) => checkRequest(parseConferenceModifyJson(v))],
    ['conference-modified', REST_POST_RESPONSE, (v: unknown) => void parseConferenceModifiedJson(v)],
  ] as const) {
    it(`mutated ${name}`, () => {
      let parsed = 0;
      let refused = 0;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          const v = JSON.parse(sample) as unknown;
          for (const m of mutations) mutate(v, m);
          if (accepted(() => parse(v))) parsed++;
          else refused++;
        }),
        { numRuns: 1500 },
      );
      expect(parsed).toBeGreaterThan(100);
      expect(refused).toBeGreaterThan(100);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

describe('REST errors', () => {
  it("octobridge's body carries JVB's text plus the condition, reason and endpoint, and reads back", () => {
    for (const err of [endpointNotFound('79f0273e'), conferenceNotFound('m'), conferenceAlreadyExists('m'), inGracefulShutdown(), featureNotImplemented('x')]) {
      const body = colibri2ErrorJson(`Failed to create conference: ${err.message}`, err);
      expect(body.error).toBe(body.message);
      const back = parseColibri2ErrorJson(400, wire(body));
      expect([back.condition, back.reason, back.endpointId, back.message]).toEqual([err.condition, err.reason, err.endpointId, err.message]);
    }
    expect(colibri2ErrorJson('Failed to create conference: x', conferenceNotFound('m'))).toEqual({
      error: 'Failed to create conference: x',
      message: 'Failed to create conference: x',
      condition: 'item-not-found',
      reason: 'conference_not_found',
    });
  });

  it("JVB's bodies (Jetty's JSON error page, or text): the colibri2 error from JVB's own texts, else from the status", () => {
    const jvb = (status: number, message: string): Colibri2Error =>
      parseColibri2ErrorJson(status, { url: '/colibri/v2/conferences', status: String(status), message });
    expect(jvb(400, 'Failed to create conference: Endpoint not found for ID: e1')).toMatchObject({
      condition: 'item-not-found',
      reason: 'unknown_endpoint',
      endpointId: 'e1',
      message: 'Endpoint not found for ID: e1',
    });
    expect(jvb(400, 'Failed to create conference: Conference not found for ID: m')).toMatchObject({
      condition: 'item-not-found',
      reason: 'conference_not_found',
    });
    expect(jvb(400, 'Failed to create conference: Conference already exists for ID: m')).toMatchObject({
      condition: 'conflict',
      reason: 'conference_already_exists',
    });
    expect(jvb(400, 'Failed to create conference: In graceful shutdown')).toMatchObject({ condition: 'service-unavailable', reason: 'graceful_shutdown' });
    expect(jvb(400, 'Failed to parse ConferenceModify JSON:x')).toMatchObject({ condition: 'bad-request', reason: undefined });
    expect(jvb(404, 'Not Found')).toMatchObject({ condition: 'item-not-found', reason: 'conference_not_found' });
    expect(parseColibri2ErrorJson(500, '<html>oops</html>')).toMatchObject({ condition: 'internal-server-error', message: '<html>oops</html>' });
    expect(parseColibri2ErrorJson(502, undefined)).toMatchObject({ condition: 'internal-server-error', message: 'HTTP 502' });
  });
});
