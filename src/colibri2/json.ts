/**
 * colibri2 JSON ⇄ the typed form of `types.ts`: the form JVB's private REST API speaks
 * (`POST /colibri/v2/conferences`, `PATCH /colibri/v2/conferences/{meetingId}`, jitsi-videobridge
 * `doc/rest-colibri2.md`, `rest/root/colibri/v2/conferences/Conferences.java`), a direct mapping of the XML that
 * `src/colibri2/xml.ts` reads. Both forms produce the same typed objects and share their field rules
 * (`fields.ts`). Lives beside `types.ts` rather than in `src/xmpp/` because nothing in it is XMPP: the private HTTP
 * server (`src/http/colibri2Rest.ts`) uses the parser, and a focus driving a remote bridge over REST uses the
 * request serializer and the response parser.
 *
 * Follows (read, not copied) jitsi-xmpp-extensions `colibri2/json/Colibri2JSONSerializer.kt`,
 * `Colibri2JSONDeserializer.kt` and the colibri1 `colibri/json/JSONSerializer.java` / `JSONDeserializer.java` they
 * call for payload types, the ICE transport and sources; samples: `Colibri2JSONSerializerTest.kt`.
 *
 * ```jsonc
 * // conference-modify
 * { "meeting-id": "…", "name"?: "room@muc", "create"?: true, "expire"?: true, "rtcstats-enabled"?: false,
 *   "endpoints"?: [ { "id": "…", "create"?, "expire"?, "stats-id"?, "muc-role"?: "moderator|participant|visitor",
 *       "medias"?: [ { "type": "audio|video",
 *           "payload-types"?: [ { "id": "111", "name": "opus", "clockrate": "48000", "channels"?: "2",
 *                                 "parameters"?: { "minptime": "10", "null": "111/111" },
 *                                 "rtcp-fbs"?: [ { "type": "nack", "subtype"?: "pli" } ] } ],
 *           "rtp-hdrexts"?: [ { "id": 1, "uri": "…" } ], "extmap-allow-mixed"?: true } ],
 *       "transport"?: { "ice-controlling"?: true, "use-unique-port"?: false, "ice-restart"?: true,
 *           "transport"?: { "xmlns": "urn:xmpp:jingle:transports:ice-udp:1", "ufrag"?, "pwd"?, "ice-generation"?,
 *               "fingerprints"?: [ { "fingerprint": "AA:…", "hash": "sha-256", "setup"?: "active", "cryptex"?: true } ],
 *               "candidates"?: [ { "component": "1", "foundation": "1", "generation": "0", "id": "…", "network": "0",
 *                   "priority": "2130706431", "protocol": "udp", "type": "host", "ip": "…", "port": "10000",
 *                   "rel-addr"?, "rel-port"?, "tcptype"? } ],
 *               "web-sockets"?: [ "wss://…" ], "rtcp-mux"?: true },
 *           "sctp"?: { "role"?: "server", "port"?: 5000 } },
 *       "sources"?: [ { "type": "video", "id": "ep-v0", "synthetic"?: true,
 *           "sources"?: [ 437485591, { "ssrc": 1565856603, "name"?, "videoType"?, "rid"?, "parameters"?: { "msid": "…" } } ],
 *           "ssrc-groups"?: [ { "semantics": "SIM|FID|FEC-FR", "sources": [ 437485591, 1565856603 ] } ] } ],
 *       "force-mute"?: { "audio"?: true, "video"?: false }, "initial-last-n"?: { "value": 5 },
 *       "capabilities"?: [ "source-names" ] } ],
 *   "relays"?: [ { "id": "…", "mesh-id"?, "create"?, "expire"?, "medias"?, "transport"?,
 *       "endpoints"?: [ { "id", "create"?, "expire"?, "stats-id"?, "sources"? } ] } ] }
 * // conference-modified
 * { "endpoints"?: [ { "id": "…", "expire"?: true, "transport"?: { "transport": {…ice-udp…}, "sctp"?: { "port": 5000, "role": "server" } } } ],
 *   "relays"?: [ same as endpoints ], "sources"?: [ media sources, as above ] }
 * ```
 *
 * Parsing, as the Kotlin deserializer does it:
 * - Structural members are typed: flags (`create`, `expire`, `ice-controlling`, `synthetic`, `force-mute.audio` …)
 *   must be JSON booleans, ids and names strings, lists arrays of objects; otherwise `bad-request` "Expected boolean
 *   for create in endpoints[0], got string". Unknown members are ignored, and so is `connects` (as `<connects>`
 *   is in the XML form: octobridge exports no media).
 * - Payload types, candidates, fingerprints and the ICE transport are attribute bags (JSONDeserializer
 *   .deserializeAbstractPacketExtensionAttributes): any scalar is read as its text (`"id": "111"` and `"id": 111`
 *   alike; `null` as `"null"`), objects and arrays in them are not attributes. The text then meets the same rules
 *   as the XML attribute (`fields.ts`): `Invalid id '200' in endpoints[0].medias[0].payload-types[0]`.
 * - What JVB's JSON reader drops, this drops: an inner `transport` whose `xmlns` is not
 *   `urn:xmpp:jingle:transports:ice-udp:1` (so it must be given), an `rtp-hdrext` without `id` or `uri`, a
 *   `"web-sockets"` entry `"active"` (the typed form keeps only URLs, like the XML reader), JSON `null` for
 *   `fingerprints`/`candidates`/`web-sockets`/`parameters`/`rtcp-fbs`; plus everything `fields.ts` drops.
 *   `"extmap-allow-mixed"` is set by any boolean, `false` included (the Kotlin reader only checks the type).
 *   `"rtcp-mux"` is true for `true` or the text `"true"` (any case), otherwise absent.
 * - Stricter than Kotlin where it would go wrong later anyway, with the XML form's rule: SSRCs are uint32 (no
 *   negative or wrapped values), a `source` object needs `ssrc`, an `ssrc-group` needs `semantics`, non-integer
 *   numbers are refused.
 * - Every failure is {@link Colibri2Error} `bad-request` naming the member and its path; nothing else is thrown.
 *
 * Serializing writes what Colibri2JSONSerializer writes for the same IQ: attribute-bag values as strings (as JVB
 * holds them; `rtp-hdrext` id, `sctp` port, `ssrc`s and `initial-last-n` as numbers, `cryptex` as a boolean),
 * lists only when non-empty (`sources` whenever defined: it is a full replacement), and every other optional field
 * exactly when it is defined (Kotlin leaves out defaults, which the typed form never holds unless set), so
 * `parse(serialize(x))` equals `x`. A source with nothing but an SSRC is the bare number. JSON-only limits of the
 * round trip: `parameters` is an object, so two parameters of one name keep the last, and a parameter named
 * `null` reads back nameless.
 */
import { badRequest, COLIBRI2_REASONS, Colibri2Error, STANZA_ERROR_CONDITIONS } from './errors.ts';
import * as F from './fields.ts';
import type {
  ConferenceModifiedResponse,
  ConferenceModifyRequest,
  EndpointModified,
  EndpointModify,
  IceCandidate,
  IceUdpTransport,
  Media,
  MediaSource,
  PayloadType,
  RelayModified,
  RelayModify,
  RtpHdrExt,
  Source,
  SsrcGroup,
  TransportRequest,
  TransportResponse,
} from './types.ts';

/** A JSON value as `JSON.stringify` writes it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The inner transport's `xmlns` (IceUdpTransportPacketExtension.NAMESPACE); JVB ignores the transport without it. */
export const ICE_UDP_XMLNS = 'urn:xmpp:jingle:transports:ice-udp:1';

// ---------------------------------------------------------------------------------------------------------------
// Reading helpers
// ---------------------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
/** What endpoints and relays share (jitsi-xmpp-extensions AbstractConferenceEntity). */
type Entity = Pick<EndpointModify, 'id' | 'create' | 'expire' | 'media' | 'transport' | 'sources'>;

const ROOTS = new Set(['conference-modify', 'conference-modified']);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own member (never one of Object.prototype's). */
function member(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The path of `key` inside `where` (top-level members are named bare: `endpoints[0]`). */
function join(where: string, key: string): string {
  return ROOTS.has(where) ? key : `${where}.${key}`;
}

function expected(what: string, key: string, where: string, v: unknown): Colibri2Error {
  return badRequest(`Expected ${what} for ${key} in ${where}, got ${kind(v)}`);
}

function optString(o: Obj, key: string, where: string): string | undefined {
  const v = member(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw expected('string', key, where, v);
  return v;
}

function reqString(o: Obj, key: string, where: string): string {
  const v = optString(o, key, where);
  if (v === undefined) throw F.missing(key, where);
  return v;
}

function optBoolean(o: Obj, key: string, where: string): boolean | undefined {
  const v = member(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw expected('boolean', key, where, v);
  return v;
}

/**
 * The defined members of `o` that `read` accepts, renamed to typed fields: `{"ice-controlling": "iceControlling"}`
 * (checked in the order given).
 */
function members<K extends string, V>(
  o: Obj,
  where: string,
  read: (o: Obj, key: string, where: string) => V | undefined,
  names: Record<string, K>,
): Partial<Record<K, V>> {
  const out: Partial<Record<K, V>> = {};
  for (const [key, field] of Object.entries(names)) {
    const v = read(o, key, where);
    if (v !== undefined) out[field] = v;
  }
  return out;
}

/** A JSON number as text, for the integer rules of `fields.ts` (a fraction or an exponent fails them). */
function optNumberText(o: Obj, key: string, where: string): string | undefined {
  const v = member(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw expected('number', key, where, v);
  return String(v);
}

function optObject(o: Obj, key: string, where: string): Obj | undefined {
  const v = member(o, key);
  if (v === undefined) return undefined;
  if (!isObj(v)) throw expected('object', key, where, v);
  return v;
}

/** An optional array; `nullIsAbsent` where JSONDeserializer checks `isNull()` first. */
function optArray(o: Obj, key: string, where: string, nullIsAbsent = false): unknown[] | undefined {
  const v = member(o, key);
  if (v === undefined || (nullIsAbsent && v === null)) return undefined;
  if (!Array.isArray(v)) throw expected('array', key, where, v);
  return v;
}

/** The objects of an optional array, each with its path (`endpoints[0]`). */
function objects(o: Obj, key: string, where: string, nullIsAbsent = false): [Obj, string][] {
  return (optArray(o, key, where, nullIsAbsent) ?? []).map((v, i) => {
    const at = `${join(where, key)}[${i}]`;
    if (!isObj(v)) throw badRequest(`Expected object for ${at}, got ${kind(v)}`);
    return [v, at];
  });
}

/** A scalar as Jackson's `asText` gives it; `undefined` for an object or array (not an attribute). */
function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  return undefined;
}

/** An attribute bag (payload-type, candidate, fingerprint, ICE transport) as `fields.ts` reads attributes. */
function bag(o: Obj): F.AttrReader {
  return (name) => scalarText(member(o, name));
}

/** Fixed fields as an attribute reader. */
function fieldsOf(values: Record<string, string | undefined>): F.AttrReader {
  return (name) => (Object.hasOwn(values, name) ? values[name] : undefined);
}

function rootObject(value: unknown, what: string): Obj {
  if (!isObj(value)) throw badRequest(`Expected a JSON object for ${what}, got ${kind(value)}`);
  return value;
}

const nonNull = <T>(v: T | null): v is T => v !== null;

// ---------------------------------------------------------------------------------------------------------------
// Reading: media, ICE transport, sources
// ---------------------------------------------------------------------------------------------------------------

function readPayloadType(o: Obj, where: string): PayloadType {
  const pt = F.readPayloadType(bag(o), where);
  const params = member(o, 'parameters');
  if (params !== undefined && params !== null) {
    if (!isObj(params)) throw expected('object', 'parameters', where, params);
    const pw = join(where, 'parameters');
    for (const [name, v] of Object.entries(params)) {
      const value = v === null ? undefined : scalarText(v);
      if (v !== null && value === undefined) throw expected('string', name, pw, v);
      // JSON keys cannot be null: the nameless parameter (RED's 111/111) is keyed "null".
      const p = F.readParameter(name === 'null' ? undefined : name, value, pw);
      if (p) pt.parameters.push(p);
    }
  }
  for (const [fb, at] of objects(o, 'rtcp-fbs', where, true)) {
    const p = F.readRtcpFb(optString(fb, 'type', at), optString(fb, 'subtype', at));
    if (p) pt.rtcpFbs.push(p);
  }
  return pt;
}

function readHdrExt(o: Obj, where: string): RtpHdrExt | null {
  const id = optNumberText(o, 'id', where);
  const uri = optString(o, 'uri', where);
  if (id === undefined || uri === undefined) return null;
  return { id: F.parseDecimal(id, 'id', where, 1, 255), uri };
}

function readMedia(o: Obj, where: string): Media | null {
  const type = F.parseMediaType(reqString(o, 'type', where), where);
  const payloadTypes = objects(o, 'payload-types', where).map(([p, at]) => readPayloadType(p, at));
  const rtpHdrExts = objects(o, 'rtp-hdrexts', where)
    .map(([h, at]) => readHdrExt(h, at))
    .filter(nonNull);
  const allowMixed = optBoolean(o, 'extmap-allow-mixed', where);
  if (type === null) return null;
  const m: Media = { type, payloadTypes, rtpHdrExts };
  if (allowMixed !== undefined) m.extmapAllowMixed = true;
  return m;
}

/** The inner ICE transport, or `undefined` when its `xmlns` is not ice-udp (JSONDeserializer.deserializeTransport). */
function readIceUdp(o: Obj, where: string): IceUdpTransport | undefined {
  if (member(o, 'xmlns') !== ICE_UDP_XMLNS) return undefined;
  const ice = F.readIceUdp(bag(o), where);
  for (const [fp, at] of objects(o, 'fingerprints', where, true)) {
    const f = F.readFingerprint(bag(fp), scalarText(member(fp, 'fingerprint')), at);
    if (f) ice.fingerprints.push(f);
  }
  for (const [c, at] of objects(o, 'candidates', where, true)) {
    const cand = F.readCandidate(bag(c), at);
    if (cand) ice.candidates.push(cand);
  }
  const urls: string[] = [];
  (optArray(o, 'web-sockets', where, true) ?? []).forEach((url, i) => {
    if (typeof url !== 'string') throw expected('string', `web-sockets[${i}]`, where, url);
    if (url !== 'active') urls.push(url);
  });
  if (urls.length > 0) ice.webSockets = urls;
  const mux = member(o, 'rtcp-mux');
  if (mux === true || (typeof mux === 'string' && mux.toLowerCase() === 'true')) ice.rtcpMux = true;
  return ice;
}

/** `sctp`'s members (Colibri2JSONDeserializer.deserializeSctp: `role` a string, `port` a number) for `fields.ts`. */
function sctpFields(sctp: Obj, where: string): F.AttrReader {
  return fieldsOf({ role: optString(sctp, 'role', where), port: optNumberText(sctp, 'port', where) });
}

function readTransportRequest(o: Obj, where: string): TransportRequest {
  const t: TransportRequest = members(o, where, optBoolean, {
    'ice-controlling': 'iceControlling',
    'use-unique-port': 'useUniquePort',
    'ice-restart': 'iceRestart',
  });
  const inner = optObject(o, 'transport', where);
  const ice = inner && readIceUdp(inner, join(where, 'transport'));
  if (ice) t.ice = ice;
  const sctp = optObject(o, 'sctp', where);
  if (sctp) t.sctp = F.readSctp(sctpFields(sctp, join(where, 'sctp')), join(where, 'sctp'));
  return t;
}

/** A source: a bare SSRC (number or numeric text) or `{ssrc, name?, videoType?, rid?, parameters?: {msid}}`. */
function readSource(v: unknown, where: string): Source {
  if (typeof v === 'number' || typeof v === 'string') return { ssrc: F.parseSsrc(String(v), where) };
  if (!isObj(v)) throw badRequest(`Expected number, string or object for ${where}, got ${kind(v)}`);
  const ssrc = member(v, 'ssrc');
  if (ssrc !== undefined && typeof ssrc !== 'number' && typeof ssrc !== 'string') throw expected('number', 'ssrc', where, ssrc);
  // name, videoType and rid count only as strings (JSONDeserializer.deserializeSource).
  const text = (key: string): string | undefined => {
    const x = member(v, key);
    return typeof x === 'string' ? x : undefined;
  };
  let msid: string | undefined;
  const params = member(v, 'parameters');
  if (params !== undefined && params !== null) {
    if (!isObj(params)) throw expected('object', 'parameters', where, params);
    const m = member(params, 'msid');
    msid = m === null ? undefined : scalarText(m);
    if (m !== undefined && m !== null && msid === undefined) throw expected('string', 'msid', join(where, 'parameters'), m);
  }
  const fields = { ssrc: ssrc === undefined ? undefined : String(ssrc), name: text('name'), videoType: text('videoType'), rid: text('rid') };
  return F.readSource(fieldsOf(fields), msid, where);
}

function readSsrcGroup(o: Obj, where: string): SsrcGroup | null {
  const semantics = reqString(o, 'semantics', where);
  const ssrcs = (optArray(o, 'sources', where, true) ?? []).map((s, i) => readSource(s, `${join(where, 'sources')}[${i}]`).ssrc);
  return F.readSsrcGroup(semantics, ssrcs);
}

function readMediaSource(o: Obj, where: string): MediaSource | null {
  const type = F.parseMediaType(reqString(o, 'type', where), where);
  const id = F.parseNonBlank(reqString(o, 'id', where), 'id', where);
  const synthetic = optBoolean(o, 'synthetic', where);
  const sources = (optArray(o, 'sources', where) ?? []).map((s, i) => readSource(s, `${join(where, 'sources')}[${i}]`));
  const ssrcGroups = objects(o, 'ssrc-groups', where)
    .map(([g, at]) => readSsrcGroup(g, at))
    .filter(nonNull);
  if (type === null) return null;
  const ms: MediaSource = { type, id, sources, ssrcGroups };
  if (synthetic !== undefined) ms.synthetic = synthetic;
  return ms;
}

function readMediaSources(o: Obj, where: string): MediaSource[] | undefined {
  if (member(o, 'sources') === undefined) return undefined;
  return objects(o, 'sources', where)
    .map(([s, at]) => readMediaSource(s, at))
    .filter(nonNull);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: conference-modify
// ---------------------------------------------------------------------------------------------------------------

/** What endpoints and relays share (AbstractConferenceEntity): id, create, expire, medias, transport, sources. */
function readEntity(o: Obj, where: string): Entity {
  const e: Entity = {
    id: F.parseNonBlank(reqString(o, 'id', where), 'id', where),
    ...members(o, where, optBoolean, { create: 'create', expire: 'expire' }),
  };
  const media = objects(o, 'medias', where)
    .map(([m, at]) => readMedia(m, at))
    .filter(nonNull);
  if (media.length > 0) e.media = media;
  const transport = optObject(o, 'transport', where);
  if (transport) e.transport = readTransportRequest(transport, join(where, 'transport'));
  const sources = readMediaSources(o, where);
  if (sources) e.sources = sources;
  return e;
}

function readEndpoint(o: Obj, where: string): EndpointModify {
  const ep: EndpointModify = { ...readEntity(o, where), ...members(o, where, optString, { 'stats-id': 'statsId' }) };
  const role = optString(o, 'muc-role', where);
  const mucRole = role === undefined ? undefined : F.parseMucRole(role, where);
  if (mucRole !== undefined) ep.mucRole = mucRole;
  const fm = optObject(o, 'force-mute', where);
  if (fm) ep.forceMute = members(fm, join(where, 'force-mute'), optBoolean, { audio: 'audio', video: 'video' });
  const lastN = optObject(o, 'initial-last-n', where);
  if (lastN) {
    const at = join(where, 'initial-last-n');
    const value = optNumberText(lastN, 'value', at);
    if (value === undefined) throw F.missing('value', at);
    ep.initialLastN = F.parseDecimal(value, 'value', at, F.INT32_MIN, F.INT32_MAX);
  }
  const caps = (optArray(o, 'capabilities', where) ?? []).map((c, i) => {
    if (typeof c !== 'string') throw expected('string', `capabilities[${i}]`, where, c);
    return c;
  });
  if (caps.length > 0) ep.capabilities = caps;
  return ep;
}

function readRelay(o: Obj, where: string): RelayModify {
  // A relay's own `sources` are read (and checked) as for any entity, but colibri2 relays carry them per endpoint.
  const { sources: _sources, ...entity } = readEntity(o, where);
  const relay: RelayModify = { ...entity, ...members(o, where, optString, { 'mesh-id': 'meshId' }) };
  if (member(o, 'endpoints') !== undefined) {
    relay.endpoints = objects(o, 'endpoints', where).map(([e, at]) => F.relayEndpoint(readEndpoint(e, at)));
  }
  return relay;
}

/**
 * Parse a conference-modify in JSON (the body of `POST /colibri/v2/conferences` and `PATCH …/{meetingId}`) into a
 * {@link ConferenceModifyRequest}; shape and rules in the module comment (Colibri2JSONDeserializer
 * .deserializeConferenceModify).
 *
 * @param value the parsed JSON (`JSON.parse` of the body); anything but an object is refused.
 * @param opts.meetingId the meeting id from the URL (PATCH): it replaces the body's, which may then be absent
 *   (a present one must still be a string), as JVB's `Conferences.patchConference` does with `setMeetingId`.
 * @throws Colibri2Error `bad-request` for malformed input, naming the member and its path: `Missing meeting-id in
 *   conference-modify`, `Expected array for endpoints in conference-modify, got object`, `Invalid ssrc '-1' in
 *   endpoints[0].sources[1].sources[0]`, … Never anything else. Combinations JVB does not implement (relays with
 *   endpoints, several relays) are left to `Videobridge.conferenceModify`, as the Kotlin reader leaves them to JVB.
 */
export function parseConferenceModifyJson(value: unknown, opts: { meetingId?: string } = {}): ConferenceModifyRequest {
  return F.guarded('conference-modify', () => {
    const w = 'conference-modify';
    const o = rootObject(value, w);
    const endpoints = objects(o, 'endpoints', w).map(([e, at]) => readEndpoint(e, at));
    const relays = objects(o, 'relays', w).map(([r, at]) => readRelay(r, at));
    const bodyMeetingId = optString(o, 'meeting-id', w);
    const meetingId = opts.meetingId ?? bodyMeetingId;
    if (meetingId === undefined) throw F.missing('meeting-id', w);
    const req: ConferenceModifyRequest = {
      meetingId: F.parseNonBlank(meetingId, 'meeting-id', w),
      ...members(o, w, optString, { name: 'name' }),
      ...members(o, w, optBoolean, { create: 'create', expire: 'expire', 'rtcstats-enabled': 'rtcstatsEnabled' }),
      endpoints,
    };
    if (relays.length > 0) req.relays = relays;
    return req;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: conference-modified
// ---------------------------------------------------------------------------------------------------------------

function readTransportAnswer(o: Obj, where: string): TransportResponse {
  const inner = optObject(o, 'transport', where);
  const at = join(where, 'transport');
  const ice = inner && readIceUdp(inner, at);
  if (!ice) throw F.missing(`transport (with "xmlns": "${ICE_UDP_XMLNS}")`, where);
  const t: TransportResponse = { ice: F.answerIce(ice, at) };
  const sctp = optObject(o, 'sctp', where);
  if (sctp) t.sctp = F.readSctpAnswer(sctpFields(sctp, join(where, 'sctp')), join(where, 'sctp'));
  return t;
}

/** An endpoint or relay of a conference-modified (the same shape). */
function readModified(o: Obj, where: string): EndpointModified {
  const out: EndpointModified = { id: F.parseNonBlank(reqString(o, 'id', where), 'id', where), ...members(o, where, optBoolean, { expire: 'expire' }) };
  const t = optObject(o, 'transport', where);
  if (t) out.transport = readTransportAnswer(t, join(where, 'transport'));
  return out;
}

/**
 * Parse a conference-modified in JSON (what `POST`/`PATCH /colibri/v2/conferences…` answer, JVB's or ours) into a
 * {@link ConferenceModifiedResponse}, for a focus driving a bridge over REST (Colibri2JSONDeserializer
 * .deserializeConferenceModified). An endpoint's or relay's `transport` needs the ice-udp `transport` with
 * `ufrag` and `pwd`, and its `sctp` both `port` and `role` (the XML form's rules).
 * @throws Colibri2Error `bad-request` for malformed input (as {@link parseConferenceModifyJson}); nothing else.
 */
export function parseConferenceModifiedJson(value: unknown): ConferenceModifiedResponse {
  return F.guarded('conference-modified', () => {
    const w = 'conference-modified';
    const o = rootObject(value, w);
    const res: ConferenceModifiedResponse = { endpoints: objects(o, 'endpoints', w).map(([e, at]) => readModified(e, at)) };
    const relays = objects(o, 'relays', w).map(([r, at]) => readModified(r, at));
    if (relays.length > 0) res.relays = relays;
    const sources = readMediaSources(o, w);
    if (sources) res.sources = sources;
    return res;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

/** An object of the defined members only. */
function obj(members: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(members)) if (v !== undefined) out[k] = v;
  return out;
}

/** `list` mapped, or `undefined` when empty (Kotlin writes these lists only when non-empty). */
function nonEmpty<T>(list: readonly T[] | undefined, f: (x: T) => JsonValue): JsonValue[] | undefined {
  return list && list.length > 0 ? list.map(f) : undefined;
}

const text = (n: number | undefined): string | undefined => (n === undefined ? undefined : String(n));

function payloadTypeJson(pt: PayloadType): JsonObject {
  return obj({
    id: String(pt.id),
    name: pt.name,
    clockrate: String(pt.clockrate),
    channels: text(pt.channels),
    // Object.fromEntries defines own members, so a parameter named "__proto__" stays a parameter.
    parameters: pt.parameters.length > 0 ? Object.fromEntries(pt.parameters.map((p) => [p.name ?? 'null', p.value])) : undefined,
    'rtcp-fbs': nonEmpty(pt.rtcpFbs, (f) => obj({ type: f.type, subtype: f.subtype })),
  });
}

function mediaJson(m: Media): JsonObject {
  return obj({
    type: m.type,
    'payload-types': nonEmpty(m.payloadTypes, payloadTypeJson),
    'rtp-hdrexts': nonEmpty(m.rtpHdrExts, (h) => ({ id: h.id, uri: h.uri })),
    'extmap-allow-mixed': m.extmapAllowMixed === true ? true : undefined,
  });
}

function candidateJson(c: IceCandidate): JsonObject {
  return obj({
    component: String(c.component),
    foundation: c.foundation,
    generation: String(c.generation),
    id: c.id,
    network: String(c.network),
    priority: String(c.priority),
    protocol: c.protocol,
    type: c.type,
    ip: c.ip,
    port: String(c.port),
    'rel-addr': c.relAddr,
    'rel-port': text(c.relPort),
    tcptype: c.tcptype,
  });
}

/** The inner ICE transport (JSONSerializer.serializeTransport). */
function iceJson(ice: IceUdpTransport): JsonObject {
  return obj({
    xmlns: ICE_UDP_XMLNS,
    ufrag: ice.ufrag,
    pwd: ice.pwd,
    'ice-generation': text(ice.iceGeneration),
    fingerprints: nonEmpty(ice.fingerprints, (f) => obj({ fingerprint: f.value, hash: f.hash, setup: f.setup, cryptex: f.cryptex })),
    candidates: nonEmpty(ice.candidates, candidateJson),
    'web-sockets': nonEmpty(ice.webSockets, (url) => url),
    'rtcp-mux': ice.rtcpMux === true ? true : undefined,
  });
}

function transportRequestJson(t: TransportRequest): JsonObject {
  return obj({
    'ice-controlling': t.iceControlling,
    'use-unique-port': t.useUniquePort,
    'ice-restart': t.iceRestart,
    transport: t.ice && iceJson(t.ice),
    sctp: t.sctp && obj({ port: t.sctp.port, role: t.sctp.role }),
  });
}

function transportResponseJson(t: TransportResponse): JsonObject {
  return obj({ transport: iceJson(t.ice), sctp: t.sctp && { port: t.sctp.port, role: t.sctp.role } });
}

/** A source: the bare SSRC when that is all there is (JSONSerializer.serializeSource), else an object. */
function sourceJson(s: Source): JsonValue {
  if (s.name === undefined && s.videoType === undefined && s.rid === undefined && s.msid === undefined) return s.ssrc;
  return obj({
    ssrc: s.ssrc,
    name: s.name,
    videoType: s.videoType,
    rid: s.rid,
    parameters: s.msid === undefined ? undefined : { msid: s.msid },
  });
}

function mediaSourceJson(ms: MediaSource): JsonObject {
  return obj({
    type: ms.type,
    id: ms.id,
    synthetic: ms.synthetic,
    sources: nonEmpty(ms.sources, sourceJson),
    'ssrc-groups': nonEmpty(ms.ssrcGroups, (g) => ({ semantics: g.semantics, sources: g.ssrcs })),
  });
}

const sourcesJson = (list: MediaSource[] | undefined): JsonValue[] | undefined => list?.map(mediaSourceJson);

/** What endpoints and relays share (serializeAbstractConferenceEntity): id, create, expire, medias, transport, sources. */
function entityMembers(e: Entity): Record<string, JsonValue | undefined> {
  return {
    id: e.id,
    create: e.create,
    expire: e.expire,
    medias: nonEmpty(e.media, mediaJson),
    transport: e.transport && transportRequestJson(e.transport),
    sources: sourcesJson(e.sources),
  };
}

function endpointJson(ep: EndpointModify): JsonObject {
  return obj({
    ...entityMembers(ep),
    'stats-id': ep.statsId,
    'muc-role': ep.mucRole,
    'force-mute': ep.forceMute && obj({ audio: ep.forceMute.audio, video: ep.forceMute.video }),
    'initial-last-n': ep.initialLastN === undefined ? undefined : { value: ep.initialLastN },
    capabilities: nonEmpty(ep.capabilities, (c) => c),
  });
}

function relayJson(r: RelayModify): JsonObject {
  return obj({
    ...entityMembers(r),
    'mesh-id': r.meshId,
    endpoints: r.endpoints?.map((ep) => obj({ ...entityMembers(ep), 'stats-id': ep.statsId })),
  });
}

/**
 * Serialize a {@link ConferenceModifyRequest} as Colibri2JSONSerializer.serializeConferenceModify writes it (the
 * body a focus sends to `POST`/`PATCH /colibri/v2/conferences…`); see the module comment for the value forms.
 * `parseConferenceModifyJson(serializeConferenceModifyJson(r))` equals `r` (but for the JSON-only limits on
 * `parameters`). Does not validate; does not throw.
 */
export function serializeConferenceModifyJson(req: ConferenceModifyRequest): JsonObject {
  return obj({
    endpoints: nonEmpty(req.endpoints, endpointJson),
    relays: nonEmpty(req.relays, relayJson),
    create: req.create,
    expire: req.expire,
    'rtcstats-enabled': req.rtcstatsEnabled,
    'meeting-id': req.meetingId,
    name: req.name,
  });
}

/**
 * Serialize a {@link ConferenceModifiedResponse} as Colibri2JSONSerializer.serializeConferenceModified writes it
 * (the 200 body of the REST API): `endpoints` and `relays` when non-empty, each `{id, expire?, transport?}`,
 * then `sources` (the feedback sources) when defined. `parseConferenceModifiedJson` reads it back to `res`.
 * Does not throw.
 */
export function serializeConferenceModifiedJson(res: ConferenceModifiedResponse): JsonObject {
  const entity = (e: EndpointModified | RelayModified): JsonObject =>
    obj({ id: e.id, expire: e.expire, transport: e.transport && transportResponseJson(e.transport) });
  return obj({
    endpoints: nonEmpty(res.endpoints, entity),
    relays: nonEmpty(res.relays, entity),
    sources: sourcesJson(res.sources),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** JVB's prefix on every conference-modify failure (Conferences.getVideobridgeIqResponseAsJson). */
export const FAILED_PREFIX = 'Failed to create conference: ';

/**
 * The JSON body of a colibri2 REST error:
 * `{"error": message, "message": message[, "condition", "reason"?, "endpoint"?]}`. `message` is what Jetty's JSON
 * error page of JVB carries (the text JVB passes to the error response); `error` is every other octobridge REST
 * error's member; `condition`/`reason`/`endpoint` (octobridge only) are the {@link Colibri2Error}'s XMPP condition,
 * colibri2 reason and unknown endpoint id, which JVB's REST API loses, so a client can fail over like Jicofo.
 */
export function colibri2ErrorJson(message: string, err?: Colibri2Error): JsonObject {
  return obj({ error: message, message, condition: err?.condition, reason: err?.reason, endpoint: err?.endpointId });
}

/**
 * Read a REST error back into a {@link Colibri2Error} (for a focus driving a bridge over REST). `body` is the parsed
 * JSON body (ours, or Jetty's `{"message": …}` that JVB sends for `Accept: application/json`) or its raw text.
 * - With `condition` (octobridge): that condition, `reason` and `endpoint`; the text without JVB's
 *   "Failed to create conference: " prefix.
 * - Otherwise (JVB) from the text, whose colibri2 part is JVB's own (errors.ts): "Endpoint not found for ID: x" →
 *   `item-not-found`/`unknown_endpoint` with endpoint x, "Conference not found for ID" → `conference_not_found`,
 *   "Conference already exists" → `conflict`/`conference_already_exists`, "In graceful shutdown" →
 *   `service-unavailable`/`graceful_shutdown`; else by status: 404 → `item-not-found`/`conference_not_found`
 *   (PATCH of an unknown meeting), 5xx → `internal-server-error`, anything else → `bad-request`.
 * Never throws.
 */
export function parseColibri2ErrorJson(status: number, body: unknown): Colibri2Error {
  const b = isObj(body) ? body : {};
  const raw = typeof body === 'string' ? body : [member(b, 'message'), member(b, 'error')].find((v) => typeof v === 'string');
  const message = typeof raw === 'string' ? raw : `HTTP ${status}`;
  const textOnly = message.startsWith(FAILED_PREFIX) ? message.slice(FAILED_PREFIX.length) : message;
  const condition = STANZA_ERROR_CONDITIONS.find((c) => c === member(b, 'condition'));
  if (condition) {
    const reason = COLIBRI2_REASONS.find((r) => r === member(b, 'reason'));
    const endpoint = member(b, 'endpoint');
    return new Colibri2Error(condition, textOnly, reason, typeof endpoint === 'string' ? endpoint : undefined);
  }
  const endpoint = /^Endpoint not found for ID: (.*)$/s.exec(textOnly);
  if (endpoint) return new Colibri2Error('item-not-found', textOnly, 'unknown_endpoint', endpoint[1]);
  if (textOnly.startsWith('Conference not found for ID')) return new Colibri2Error('item-not-found', textOnly, 'conference_not_found');
  if (textOnly.startsWith('Conference already exists for ID')) return new Colibri2Error('conflict', textOnly, 'conference_already_exists');
  if (textOnly.startsWith('In graceful shutdown')) return new Colibri2Error('service-unavailable', textOnly, 'graceful_shutdown');
  if (status === 404) return new Colibri2Error('item-not-found', textOnly, 'conference_not_found');
  return new Colibri2Error(status >= 500 ? 'internal-server-error' : 'bad-request', textOnly);
}
