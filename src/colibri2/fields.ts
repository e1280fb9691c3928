/**
 * The field rules colibri2's two wire forms share: XML over XMPP (`src/colibri2/xml.ts`) and JSON over REST
 * (`src/colibri2/json.ts`). Both end in the same typed objects (`types.ts`), so a field is read and checked the
 * same way whichever form carried it: integer ranges, booleans, enums, the values JVB tolerates (and drops), and the
 * error texts. Pure functions; nothing here knows about XML or JSON.
 *
 * Attribute-like fields arrive as text, read through an {@link AttrReader}: an XML attribute, or a JSON scalar as
 * Jackson's `asText` gives it (jitsi-xmpp-extensions `JSONDeserializer.deserializeAbstractPacketExtensionAttributes`
 * turns a payload-type's, candidate's or fingerprint's JSON members into the same attributes the XML carries).
 *
 * Every refusal is a {@link Colibri2Error} `bad-request` whose text names the field and where it is:
 * `Missing <name> in <where>` or `Invalid <name> '<value>' in <where>` (`where` is `<candidate>` for XML,
 * `endpoints[0].transport.transport.candidates[1]` for JSON).
 */
import { Colibri2Error, badRequest } from './errors.ts';
import type {
  EndpointModify,
  Fingerprint,
  IceCandidate,
  IceUdpTransport,
  MediaType,
  PayloadType,
  PayloadTypeParameter,
  RelayEndpointModify,
  RtcpFeedback,
  Sctp,
  Source,
  SsrcGroup,
  TransportResponse,
} from './types.ts';

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
export const UINT32_MAX = 2 ** 32 - 1;

/** jitsi-utils MediaType values other than audio/video: JVB parses them and then ignores the element. */
const OTHER_MEDIA_TYPES = new Set(['text', 'application', 'message', 'image', 'control', 'data']);

/** A field's text by name, `undefined` when absent. */
export type AttrReader = (name: string) => string | undefined;

// ---------------------------------------------------------------------------------------------------------------
// Texts
// ---------------------------------------------------------------------------------------------------------------

/** A value as quoted in an error text: at most 64 characters. */
export function show(v: string): string {
  return v.length > 64 ? `${v.slice(0, 64)}…` : v;
}

/** `bad-request` "Missing <name> in <where>". */
export function missing(name: string, where: string): Colibri2Error {
  return badRequest(`Missing ${name} in ${where}`);
}

/** `bad-request` "Invalid <name> '<value>' in <where>". */
export function invalid(name: string, value: string, where: string): Colibri2Error {
  return badRequest(`Invalid ${name} '${show(value)}' in ${where}`);
}

/**
 * Run a parser under the "only Colibri2Error" contract: a Colibri2Error passes; anything else (a bug, an exotic
 * input object) becomes `bad-request` "Malformed <label>: <message>".
 */
export function guarded<T>(label: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Colibri2Error) throw e;
    throw badRequest(`Malformed ${label}: ${show(e instanceof Error ? e.message : String(e))}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------------

/** `true`/`false`, case-insensitive (Smack / `Boolean.parseBoolean` reading of colibri2 flags). */
export function parseBool(value: string, name: string, where: string): boolean {
  const l = value.toLowerCase();
  if (l === 'true') return true;
  if (l === 'false') return false;
  throw invalid(name, value, where);
}

/** Strict decimal integer in [min, max]: digits only (a leading `-` when min < 0), no `+`, spaces, exponents. */
export function parseDecimal(value: string, name: string, where: string, min: number, max: number): number {
  if (!(min < 0 ? /^-?[0-9]{1,10}$/ : /^[0-9]{1,10}$/).test(value)) throw invalid(name, value, where);
  const n = Number(value);
  if (n < min || n > max) throw invalid(name, value, where);
  return n;
}

/** One of `allowed` (lowercase), matched case-insensitively. */
export function parseOneOf<T extends string>(value: string, allowed: readonly T[], name: string, where: string): T {
  const l = value.toLowerCase();
  const hit = allowed.find((a) => a === l);
  if (hit === undefined) throw invalid(name, value, where);
  return hit;
}

/** A `type` of `<media>`/`<media-source>`: `audio`/`video`, `null` for another jitsi media type (JVB skips it). */
export function parseMediaType(value: string, where: string): MediaType | null {
  const l = value.toLowerCase();
  if (l === 'audio' || l === 'video') return l;
  if (OTHER_MEDIA_TYPES.has(l)) return null;
  throw invalid('type', value, where);
}

/** An id that must not be blank (meeting-id, endpoint/relay/media-source id). */
export function parseNonBlank(value: string, name: string, where: string): string {
  if (value.trim() === '') throw invalid(name, value, where);
  return value;
}

/** A 32-bit unsigned SSRC. */
export function parseSsrc(value: string, where: string): number {
  return parseDecimal(value, 'ssrc', where, 0, UINT32_MAX);
}

/**
 * `muc-role` (Smack `MUCRole`, case-insensitive): `moderator|participant|visitor`; `none` reads as absent (JVB only
 * asks "is it visitor?").
 */
export function parseMucRole(value: string, where: string): EndpointModify['mucRole'] {
  const r = parseOneOf(value, ['moderator', 'participant', 'visitor', 'none'] as const, 'muc-role', where);
  return r === 'none' ? undefined : r;
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------------------------

export function required(get: AttrReader, name: string, where: string): string {
  const v = get(name);
  if (v === undefined) throw missing(name, where);
  return v;
}

export function requiredNonBlank(get: AttrReader, name: string, where: string): string {
  return parseNonBlank(required(get, name, where), name, where);
}

export function optBool(get: AttrReader, name: string, where: string): boolean | undefined {
  const v = get(name);
  return v === undefined ? undefined : parseBool(v, name, where);
}

export function optInt(get: AttrReader, name: string, where: string, min: number, max: number): number | undefined {
  const v = get(name);
  return v === undefined ? undefined : parseDecimal(v, name, where, min, max);
}

export function reqInt(get: AttrReader, name: string, where: string, min: number, max: number): number {
  return parseDecimal(required(get, name, where), name, where, min, max);
}

// ---------------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------------

/**
 * `payload-type` attributes (PayloadTypePacketExtension): `id` 0-127, `name`, `clockrate` (Hz), optional `channels`;
 * `parameters`/`rtcpFbs` start empty (see {@link readParameter}, {@link readRtcpFb}).
 */
export function readPayloadType(get: AttrReader, where: string): PayloadType {
  const pt: PayloadType = {
    id: reqInt(get, 'id', where, 0, 127),
    name: required(get, 'name', where),
    clockrate: reqInt(get, 'clockrate', where, 0, INT32_MAX),
    parameters: [],
    rtcpFbs: [],
  };
  const channels = optInt(get, 'channels', where, 0, INT32_MAX);
  if (channels !== undefined) pt.channels = channels;
  return pt;
}

/**
 * A payload-type `parameter`: nameless and valueless → `null` (skipped, as JVB skips nameless parameters before
 * reading the value); named without a value → `bad-request` (it breaks JVB); a nameless one with a value is RED's
 * `111/111`.
 */
export function readParameter(name: string | undefined, value: string | undefined, where: string): PayloadTypeParameter | null {
  if (value === undefined) {
    if (name === undefined) return null;
    throw missing('value', where);
  }
  const param: PayloadTypeParameter = { value };
  if (name !== undefined) param.name = name;
  return param;
}

/** An `rtcp-fb`; without `type` → `null` (dropped, as RtcpFbPacketExtension readers do). */
export function readRtcpFb(type: string | undefined, subtype: string | undefined): RtcpFeedback | null {
  if (type === undefined) return null;
  const fb: RtcpFeedback = { type };
  if (subtype !== undefined) fb.subtype = subtype;
  return fb;
}

/**
 * An ICE `candidate` (CandidatePacketExtension). Without `generation` → `null`: it is -1 to JVB, never its agent's
 * generation, so it is dropped there too. Without `network` / `id` (JVB reads neither) → `0` / `''`.
 */
export function readCandidate(get: AttrReader, where: string): IceCandidate | null {
  const generation = optInt(get, 'generation', where, 0, INT32_MAX);
  const c: IceCandidate = {
    component: reqInt(get, 'component', where, 0, INT32_MAX),
    foundation: required(get, 'foundation', where),
    generation: generation ?? 0,
    id: get('id') ?? '',
    network: optInt(get, 'network', where, 0, INT32_MAX) ?? 0,
    priority: reqInt(get, 'priority', where, 0, UINT32_MAX),
    protocol: parseOneOf(required(get, 'protocol', where), ['udp', 'tcp'] as const, 'protocol', where),
    type: parseOneOf(required(get, 'type', where), ['host', 'srflx', 'prflx', 'relay'] as const, 'type', where),
    ip: required(get, 'ip', where),
    port: reqInt(get, 'port', where, 0, 65535),
  };
  const relAddr = get('rel-addr');
  if (relAddr !== undefined) c.relAddr = relAddr;
  const relPort = optInt(get, 'rel-port', where, 0, 65535);
  if (relPort !== undefined) c.relPort = relPort;
  const tcptype = get('tcptype');
  if (tcptype !== undefined) c.tcptype = parseOneOf(tcptype, ['active', 'passive', 'so'] as const, 'tcptype', where);
  return generation === undefined ? null : c;
}

/**
 * A DTLS `fingerprint` (DtlsFingerprintPacketExtension): `hash`, `setup`, `cryptex` attributes and the fingerprint
 * `text`. Without hash or text → `null` (JVB: "Ignoring empty DtlsFingerprint extension"); an unknown `setup` is
 * left out.
 */
export function readFingerprint(get: AttrReader, text: string | undefined, where: string): Fingerprint | null {
  const hash = get('hash');
  const value = (text ?? '').trim();
  if (hash === undefined || value === '') return null;
  const f: Fingerprint = { hash, value };
  const setup = get('setup')?.toLowerCase();
  if (setup === 'actpass' || setup === 'active' || setup === 'passive') f.setup = setup;
  const cryptex = optBool(get, 'cryptex', where);
  if (cryptex !== undefined) f.cryptex = cryptex;
  return f;
}

/** The ICE transport's own attributes (`ufrag`, `pwd`, `ice-generation`), lists empty. */
export function readIceUdp(get: AttrReader, where: string): IceUdpTransport {
  const ice: IceUdpTransport = { candidates: [], fingerprints: [] };
  const ufrag = get('ufrag');
  if (ufrag !== undefined) ice.ufrag = ufrag;
  const pwd = get('pwd');
  if (pwd !== undefined) ice.pwd = pwd;
  const generation = optInt(get, 'ice-generation', where, 0, INT32_MAX);
  if (generation !== undefined) ice.iceGeneration = generation;
  return ice;
}

/** A conference-modified transport's ICE part: `ufrag` and `pwd` are required there. */
export function answerIce(ice: IceUdpTransport, where: string): TransportResponse['ice'] {
  const { ufrag, pwd } = ice;
  if (ufrag === undefined) throw missing('ufrag', where);
  if (pwd === undefined) throw missing('pwd', where);
  return { ...ice, ufrag, pwd };
}

/** A request's `sctp` (colibri2 Sctp): optional `role` client|server, optional `port`. */
export function readSctp(get: AttrReader, where: string): Sctp {
  const sctp: Sctp = {};
  const role = get('role');
  if (role !== undefined) sctp.role = parseOneOf(role, ['client', 'server'] as const, 'role', where);
  const port = optInt(get, 'port', where, 0, 65535);
  if (port !== undefined) sctp.port = port;
  return sctp;
}

/** A conference-modified `sctp`: `port` and `role` both required. */
export function readSctpAnswer(get: AttrReader, where: string): NonNullable<TransportResponse['sctp']> {
  return {
    port: reqInt(get, 'port', where, 0, 65535),
    role: parseOneOf(required(get, 'role', where), ['client', 'server'] as const, 'role', where),
  };
}

/** An ssma `source`: `ssrc` (required, uint32), `name`, `videoType`, `rid`, and its `msid` parameter. */
export function readSource(get: AttrReader, msid: string | undefined, where: string): Source {
  const s: Source = { ssrc: parseSsrc(required(get, 'ssrc', where), where) };
  const name = get('name');
  if (name !== undefined) s.name = name;
  const videoType = get('videoType');
  if (videoType !== undefined) s.videoType = videoType;
  const rid = get('rid');
  if (rid !== undefined) s.rid = rid;
  if (msid !== undefined) s.msid = msid;
  return s;
}

/**
 * An `ssrc-group`: `semantics` uppercased; one JVB does not know (Colibri2ConferenceHandler.parseAssociationType)
 * → `null` (dropped).
 */
export function readSsrcGroup(semantics: string, ssrcs: number[]): SsrcGroup | null {
  const s = semantics.toUpperCase();
  if (s !== 'SIM' && s !== 'FID' && s !== 'FEC-FR') return null;
  return { semantics: s, ssrcs };
}

/** What a relay's `<endpoint>` keeps of a parsed endpoint: id, create, expire, stats-id, sources. */
export function relayEndpoint(ep: EndpointModify): RelayEndpointModify {
  const out: RelayEndpointModify = { id: ep.id };
  if (ep.create !== undefined) out.create = ep.create;
  if (ep.expire !== undefined) out.expire = ep.expire;
  if (ep.statsId !== undefined) out.statsId = ep.statsId;
  if (ep.sources !== undefined) out.sources = ep.sources;
  return out;
}
