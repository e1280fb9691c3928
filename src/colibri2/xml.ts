/**
 * colibri2 XML ⇄ the typed form of `src/colibri2/types.ts`: the one place where a `<conference-modify>`
 * becomes a {@link ConferenceModifyRequest}, a {@link ConferenceModifiedResponse} becomes
 * `<conference-modified>`, and a {@link Colibri2Error} becomes the `<error>` of an error IQ (and back, for
 * focuses talking to a bridge over XMPP).
 *
 * Follows (read, not copied): jitsi-xmpp-extensions `colibri2/*.java` + `InitialLastN.kt` and their providers
 * (`IqProviderUtils.registerProviders` decides which (element, namespace) pairs are understood), the jingle
 * extensions (`PayloadTypePacketExtension`, `RtcpFbPacketExtension`, `RTPHdrExtPacketExtension`,
 * `IceUdpTransportPacketExtension`, `CandidatePacketExtension`, `DtlsFingerprintPacketExtension`,
 * `colibri/WebSocketPacketExtension`, `colibri/SourcePacketExtension`, `SourceGroupPacketExtension`,
 * `ParameterPacketExtension`, registered by `JingleIQProvider`); Jicofo `Colibri2Session.kt` / `Extensions.kt`
 * (what is really sent); JVB `Colibri2ConferenceHandler.kt`, `Colibri2Util.kt`, `Endpoint.kt`,
 * `transport/{ice/IceTransport,dtls/DtlsTransport}.kt` (what is really read and written); jicoco
 * `xmpp/util/ErrorUtil.kt` and Smack 4.4.8 `StanzaError`/`ErrorIQ` (the error IQ).
 *
 * Parsing rules, for every `parse*` function here:
 * - Namespace-aware: an element counts only with its expected name *and* namespace (inherited or repeated
 *   `xmlns`, or a prefix); anything else, like an unknown child, is ignored, as Smack ignores extensions it
 *   has no provider for. The first of a repeated single-valued child wins (Smack's `getFirstChildOfType`).
 * - Booleans are `true`/`false`, case-insensitive; integers are plain decimal digits within the field's range.
 * - Malformed input throws {@link Colibri2Error} `bad-request` whose text names the attribute and element,
 *   e.g. `Missing meeting-id in <conference-modify>`, `Invalid ssrc 'x' in <source>`. Nothing else is thrown
 *   (an unexpected failure, i.e. a bug or a non-ltx object, becomes `bad-request` "Malformed <…>: …").
 * - Where JVB itself tolerates a value (logs and skips it), so does the parser: a `<fingerprint>` without hash
 *   or value, an unknown DTLS `setup`, a `<candidate>` without `generation` (never matches JVB's agent), an
 *   `<ssrc-group>` with unknown semantics, a nameless `<capability>` / `<rtcp-fb>` without type / `<web-socket>`
 *   without url / nameless value-less `<parameter>`, `<media>`/`<media-source>` of another jitsi media type
 *   (`data`, `application` ...), `muc-role='none'`: all are dropped. A `<candidate>` without `network` or `id`
 *   (JVB reads neither) reads as `0` / `''`.
 * - Presence flags (`<extmap-allow-mixed/>`, `<rtcp-mux/>`) read `true` or stay absent; lists that are written
 *   only when non-empty (`media`, `capabilities`, `webSockets`) stay absent when empty; `sources` (a full
 *   replacement) is `[]` for an empty `<sources/>`.
 * - The value and record rules (ranges, enums, what is dropped, error texts) live in `src/colibri2/fields.ts`,
 *   shared with the JSON form (`src/colibri2/json.ts`), so both forms read a field the same way.
 */
import { Element } from '@xmpp/xml';
import {
  badRequest,
  COLIBRI2_REASONS,
  Colibri2Error,
  featureNotImplemented,
  STANZA_ERROR_CONDITIONS,
  type Colibri2Reason,
  type StanzaErrorCondition,
} from './errors.ts';
import * as F from './fields.ts';
import { INT32_MAX, INT32_MIN, missing, show } from './fields.ts';
import type {
  ConferenceModifiedResponse,
  ConferenceModifyRequest,
  EndpointModified,
  EndpointModify,
  ForceMute,
  IceUdpTransport,
  Media,
  MediaSource,
  MediaType,
  PayloadType,
  RtpHdrExt,
  RelayModified,
  RelayModify,
  Source,
  SsrcGroup,
  TransportRequest,
  TransportResponse,
} from './types.ts';

/** The XML namespaces colibri2 uses (checked against the extension classes' `NAMESPACE`). */
export const NS = {
  /** `conference-modify`, `conference-modified`, `endpoint`, `relay`, `media`, outer `transport`, `sources`, `media-source`, `force-mute`, `capability`, `sctp`, `initial-last-n`, colibri2 `error`. */
  COLIBRI2: 'jitsi:colibri2',
  /** `web-socket` (ColibriConferenceIQ.NAMESPACE); also accepted for `parameter`. */
  COLIBRI: 'http://jitsi.org/protocol/colibri',
  /** `payload-type`, `parameter`. */
  JINGLE_RTP: 'urn:xmpp:jingle:apps:rtp:1',
  RTCP_FB: 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0',
  /** `rtp-hdrext`, `extmap-allow-mixed`. */
  RTP_HDREXT: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0',
  /** Inner `transport`, `candidate`, `rtcp-mux`. */
  ICE_UDP: 'urn:xmpp:jingle:transports:ice-udp:1',
  DTLS: 'urn:xmpp:jingle:apps:dtls:0',
  /** `source`, `ssrc-group`. */
  SSMA: 'urn:xmpp:jingle:apps:rtp:ssma:0',
  /** Stanza error conditions and `<text>` (RFC 6120 §8.3). */
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
} as const;

/** `<parameter>` is registered in three namespaces (JingleIQProvider, IqProviderUtils). */
const PARAMETER_NS: readonly string[] = [NS.JINGLE_RTP, NS.SSMA, NS.COLIBRI];
/** `rtcp-mux` counts in the ICE namespace and in RTP's (IceUdpTransportPacketExtension.isRtcpMux checks the name). */
const RTCP_MUX_NS: readonly string[] = [NS.ICE_UDP, NS.JINGLE_RTP];

const INNER_TRANSPORT = `<transport xmlns='${NS.ICE_UDP}'>`;

// ---------------------------------------------------------------------------------------------------------------
// Reading helpers
// ---------------------------------------------------------------------------------------------------------------

function isElement(node: unknown): node is Element {
  return typeof node === 'object' && node !== null && typeof (node as Element).getName === 'function';
}

/** Child elements of `el` called `name` in one of `ns`. */
function children(el: Element, name: string, ns: string | readonly string[]): Element[] {
  const out: Element[] = [];
  for (const c of el.children) {
    if (isElement(c) && c.getName() === name && inNs(c, ns)) out.push(c);
  }
  return out;
}

function inNs(el: Element, ns: string | readonly string[]): boolean {
  const actual: unknown = el.getNS();
  return typeof ns === 'string' ? actual === ns : typeof actual === 'string' && ns.includes(actual);
}

function child(el: Element, name: string, ns: string | readonly string[]): Element | undefined {
  return children(el, name, ns)[0];
}

/** An attribute's string value (an own, unprefixed attribute; numbers from code-built trees are accepted). */
function attr(el: Element, name: string): string | undefined {
  if (!Object.hasOwn(el.attrs, name)) return undefined;
  const v: unknown = el.attrs[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** `el`'s attributes as the shared field rules read them (src/colibri2/fields.ts). */
function attrs(el: Element): F.AttrReader {
  return (name) => attr(el, name);
}

function required(el: Element, name: string, where: string): string {
  return F.required(attrs(el), name, where);
}

function nonEmpty(el: Element, name: string, where: string): string {
  return F.requiredNonBlank(attrs(el), name, where);
}

function optBool(el: Element, name: string, where: string): boolean | undefined {
  return F.optBool(attrs(el), name, where);
}

function reqInt(el: Element, name: string, where: string, min: number, max: number): number {
  return F.reqInt(attrs(el), name, where, min, max);
}

/** `audio`/`video`, or `null` for another jitsi media type (skipped like JVB); anything else is malformed. */
function mediaType(el: Element, where: string): MediaType | null {
  return F.parseMediaType(required(el, 'type', where), where);
}

/**
 * Last line of defence for the "only Colibri2Error" contract: an exception that is not one (a bug, or an object
 * that only looks like an ltx Element) becomes `bad-request` "Malformed …". The tests hold every real refusal to
 * the "Missing / Invalid / Expected" texts, so such a bug still shows there.
 */
function guarded<T>(what: string, f: () => T): T {
  return F.guarded(`<${what}>`, f);
}

/** `el` itself, or the matching child when `el` is the `<iq>` around it. */
function unwrap(el: Element, name: string): Element {
  if (!isElement(el)) throw badRequest(`Expected <${name} xmlns='${NS.COLIBRI2}'>`);
  if (el.getName() === name && el.getNS() === NS.COLIBRI2) return el;
  if (el.getName() === 'iq') {
    const c = child(el, name, NS.COLIBRI2);
    if (c) return c;
  }
  throw badRequest(`Expected <${name} xmlns='${NS.COLIBRI2}'>, got <${show(String(el.name))}>`);
}

// ---------------------------------------------------------------------------------------------------------------
// Writing helpers
// ---------------------------------------------------------------------------------------------------------------

type Attrs = Record<string, string | number | boolean | undefined>;

/** An element with the defined attributes only (as strings), in the given order, and the given children. */
function el(name: string, attrs: Attrs, ...kids: (Element | string | undefined | false)[]): Element {
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a[k] = String(v);
  const e = new Element(name, a);
  for (const k of kids) if (k !== undefined && k !== false) e.append(k);
  return e;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces: media, ICE transport, sources
// ---------------------------------------------------------------------------------------------------------------

function parsePayloadType(e: Element): PayloadType {
  const pt = F.readPayloadType(attrs(e), '<payload-type>');
  for (const p of children(e, 'parameter', PARAMETER_NS)) {
    const param = F.readParameter(attr(p, 'name'), attr(p, 'value'), '<parameter>');
    if (param) pt.parameters.push(param);
  }
  for (const f of children(e, 'rtcp-fb', NS.RTCP_FB)) {
    const fb = F.readRtcpFb(attr(f, 'type'), attr(f, 'subtype'));
    if (fb) pt.rtcpFbs.push(fb);
  }
  return pt;
}

function parseMedia(e: Element): Media | null {
  const type = mediaType(e, '<media>');
  if (type === null) return null;
  const m: Media = {
    type,
    payloadTypes: children(e, 'payload-type', NS.JINGLE_RTP).map(parsePayloadType),
    rtpHdrExts: children(e, 'rtp-hdrext', NS.RTP_HDREXT).map(
      (h): RtpHdrExt => ({ id: reqInt(h, 'id', '<rtp-hdrext>', 1, 255), uri: required(h, 'uri', '<rtp-hdrext>') }),
    ),
  };
  if (child(e, 'extmap-allow-mixed', NS.RTP_HDREXT)) m.extmapAllowMixed = true;
  return m;
}

function mediaEl(m: Media): Element {
  return el(
    'media',
    { type: m.type },
    ...m.payloadTypes.map((pt) =>
      el(
        'payload-type',
        { xmlns: NS.JINGLE_RTP, id: pt.id, name: pt.name, clockrate: pt.clockrate, channels: pt.channels },
        ...pt.parameters.map((p) => el('parameter', { name: p.name, value: p.value })),
        ...pt.rtcpFbs.map((f) => el('rtcp-fb', { xmlns: NS.RTCP_FB, type: f.type, subtype: f.subtype })),
      ),
    ),
    ...m.rtpHdrExts.map((h) => el('rtp-hdrext', { xmlns: NS.RTP_HDREXT, id: h.id, uri: h.uri })),
    m.extmapAllowMixed === true && el('extmap-allow-mixed', { xmlns: NS.RTP_HDREXT }),
  );
}

function parseIceUdp(t: Element): IceUdpTransport {
  const ice = F.readIceUdp(attrs(t), INNER_TRANSPORT);
  for (const c of children(t, 'candidate', NS.ICE_UDP)) {
    const cand = F.readCandidate(attrs(c), '<candidate>');
    if (cand) ice.candidates.push(cand);
  }
  for (const f of children(t, 'fingerprint', NS.DTLS)) {
    const fp = F.readFingerprint(attrs(f), f.getText(), '<fingerprint>');
    if (fp) ice.fingerprints.push(fp);
  }
  if (child(t, 'rtcp-mux', RTCP_MUX_NS)) ice.rtcpMux = true;
  const urls = children(t, 'web-socket', NS.COLIBRI)
    .map((w) => attr(w, 'url'))
    .filter((u): u is string => u !== undefined);
  if (urls.length > 0) ice.webSockets = urls;
  return ice;
}

/** Inner transport in JVB's order: rtcp-mux, fingerprint(s), web-socket(s), then candidates (Smack writes them last). */
function iceUdpEl(ice: IceUdpTransport): Element {
  return el(
    'transport',
    { xmlns: NS.ICE_UDP, ufrag: ice.ufrag, pwd: ice.pwd, 'ice-generation': ice.iceGeneration },
    ice.rtcpMux === true && el('rtcp-mux', {}),
    ...ice.fingerprints.map((f) => el('fingerprint', { xmlns: NS.DTLS, hash: f.hash, setup: f.setup, cryptex: f.cryptex }, f.value)),
    ...(ice.webSockets ?? []).map((url) => el('web-socket', { xmlns: NS.COLIBRI, url })),
    ...ice.candidates.map((c) =>
      el('candidate', {
        component: c.component,
        foundation: c.foundation,
        generation: c.generation,
        id: c.id,
        network: c.network,
        priority: c.priority,
        protocol: c.protocol,
        type: c.type,
        ip: c.ip,
        port: c.port,
        'rel-addr': c.relAddr,
        'rel-port': c.relPort,
        tcptype: c.tcptype,
      }),
    ),
  );
}

function parseSource(e: Element): Source {
  const msid = children(e, 'parameter', PARAMETER_NS).find((p) => attr(p, 'name') === 'msid');
  return F.readSource(attrs(e), msid && attr(msid, 'value'), '<source>');
}

function parseSsrcGroup(e: Element): SsrcGroup | null {
  const w = '<ssrc-group>';
  const semantics = required(e, 'semantics', w);
  return F.readSsrcGroup(
    semantics,
    children(e, 'source', NS.SSMA).map((s) => F.parseSsrc(required(s, 'ssrc', w), w)),
  );
}

function parseMediaSource(e: Element): MediaSource | null {
  const w = '<media-source>';
  const type = mediaType(e, w);
  const id = nonEmpty(e, 'id', w);
  if (type === null) return null;
  const synthetic = optBool(e, 'synthetic', w);
  const sources = children(e, 'source', NS.SSMA).map(parseSource);
  const ssrcGroups = children(e, 'ssrc-group', NS.SSMA)
    .map(parseSsrcGroup)
    .filter((g): g is SsrcGroup => g !== null);
  const ms: MediaSource = { type, id, sources, ssrcGroups };
  if (synthetic !== undefined) ms.synthetic = synthetic;
  return ms;
}

function parseSources(e: Element): MediaSource[] {
  return children(e, 'media-source', NS.COLIBRI2)
    .map(parseMediaSource)
    .filter((m): m is MediaSource => m !== null);
}

/** `<sources>`; `top` repeats `xmlns='jitsi:colibri2'` as Smack does for an IQ's direct extensions. */
function sourcesEl(list: MediaSource[], top = false): Element {
  return el(
    'sources',
    top ? { xmlns: NS.COLIBRI2 } : {},
    ...list.map((ms) =>
      el(
        'media-source',
        { type: ms.type, id: ms.id, synthetic: ms.synthetic },
        ...ms.sources.map((s) =>
          el(
            'source',
            { xmlns: NS.SSMA, ssrc: s.ssrc, name: s.name, videoType: s.videoType, rid: s.rid },
            s.msid !== undefined && el('parameter', { xmlns: NS.JINGLE_RTP, name: 'msid', value: s.msid }),
          ),
        ),
        ...ms.ssrcGroups.map((g) => el('ssrc-group', { xmlns: NS.SSMA, semantics: g.semantics }, ...g.ssrcs.map((ssrc) => el('source', { ssrc })))),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// conference-modify
// ---------------------------------------------------------------------------------------------------------------

function parseTransportRequest(e: Element): TransportRequest {
  const w = '<transport>';
  const t: TransportRequest = {};
  const iceControlling = optBool(e, 'ice-controlling', w);
  if (iceControlling !== undefined) t.iceControlling = iceControlling;
  const useUniquePort = optBool(e, 'use-unique-port', w);
  if (useUniquePort !== undefined) t.useUniquePort = useUniquePort;
  const iceRestart = optBool(e, 'ice-restart', w);
  if (iceRestart !== undefined) t.iceRestart = iceRestart;
  const inner = child(e, 'transport', NS.ICE_UDP);
  if (inner) t.ice = parseIceUdp(inner);
  const s = child(e, 'sctp', NS.COLIBRI2);
  if (s) t.sctp = F.readSctp(attrs(s), '<sctp>');
  return t;
}

function parseEndpoint(e: Element): EndpointModify {
  const w = '<endpoint>';
  const ep: EndpointModify = { id: nonEmpty(e, 'id', w) };
  const create = optBool(e, 'create', w);
  if (create !== undefined) ep.create = create;
  const expire = optBool(e, 'expire', w);
  if (expire !== undefined) ep.expire = expire;
  const statsId = attr(e, 'stats-id');
  if (statsId !== undefined) ep.statsId = statsId;
  const role = attr(e, 'muc-role');
  const mucRole = role === undefined ? undefined : F.parseMucRole(role, w);
  if (mucRole !== undefined) ep.mucRole = mucRole;
  const media = children(e, 'media', NS.COLIBRI2)
    .map(parseMedia)
    .filter((m): m is Media => m !== null);
  if (media.length > 0) ep.media = media;
  const transport = child(e, 'transport', NS.COLIBRI2);
  if (transport) ep.transport = parseTransportRequest(transport);
  const sources = child(e, 'sources', NS.COLIBRI2);
  if (sources) ep.sources = parseSources(sources);
  const fm = child(e, 'force-mute', NS.COLIBRI2);
  if (fm) {
    const forceMute: ForceMute = {};
    const audio = optBool(fm, 'audio', '<force-mute>');
    if (audio !== undefined) forceMute.audio = audio;
    const video = optBool(fm, 'video', '<force-mute>');
    if (video !== undefined) forceMute.video = video;
    ep.forceMute = forceMute;
  }
  const caps = children(e, 'capability', NS.COLIBRI2)
    .map((c) => attr(c, 'name'))
    .filter((n): n is string => n !== undefined);
  if (caps.length > 0) ep.capabilities = caps;
  const lastN = child(e, 'initial-last-n', NS.COLIBRI2);
  if (lastN) ep.initialLastN = reqInt(lastN, 'value', '<initial-last-n>', INT32_MIN, INT32_MAX);
  return ep;
}

/**
 * Parse a `<conference-modify xmlns='jitsi:colibri2'>` (the child of an IQ; the `<iq>` itself is accepted too)
 * into a {@link ConferenceModifyRequest}.
 *
 * Shape (ConferenceModifyIQ(Provider), Colibri2Endpoint, Transport, Sctp, Media, Sources,
 * MediaSource, ForceMute, Capability, InitialLastN):
 * ```xml
 * <conference-modify xmlns='jitsi:colibri2' meeting-id='…' [name] [create] [expire] [rtcstats-enabled]>
 *   <endpoint id='…' [create] [expire] [stats-id] [muc-role='moderator|participant|visitor']>
 *     <media type='audio|video'>
 *       <payload-type xmlns='urn:xmpp:jingle:apps:rtp:1' id name clockrate [channels]>
 *         <parameter [name] value/> <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type [subtype]/>
 *       </payload-type>
 *       <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id uri/> <extmap-allow-mixed xmlns='…rtp-hdrext:0'/>
 *     </media>
 *     <transport [ice-controlling] [use-unique-port] [ice-restart]>
 *       <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' [ufrag] [pwd]>
 *         <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash [setup] [cryptex]>AA:…</fingerprint>
 *         <candidate component foundation generation id network priority protocol type ip port [rel-addr rel-port tcptype]/>
 *         <rtcp-mux/>
 *       </transport>
 *       <sctp [role] [port]/>
 *     </transport>
 *     <sources><media-source type id [synthetic]>
 *       <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc [name] [videoType] [rid]><parameter name='msid' value/></source>
 *       <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='SIM|FID|FEC-FR'><source ssrc/>…</ssrc-group>
 *     </media-source></sources>
 *     <force-mute [audio] [video]/> <capability name/>… <initial-last-n value/>
 *   </endpoint>…
 * </conference-modify>
 * ```
 * Ignored: unknown children (e.g. Jicofo's W3C trace-parent extension), `<connects>`.
 *
 * @throws Colibri2Error `bad-request` for malformed input (`Missing meeting-id in <conference-modify>`,
 *   `Missing id in <endpoint>`, `Invalid ssrc 'x' in <source>`, `Invalid create 'yes' in <endpoint>` …; see the
 *   module comment). `<relay>` children (relays are disabled): `feature-not-implemented` with JVB's checks in
 *   JVB's order (Colibri2ConferenceHandler.validateRequest, then the relay loop): endpoints and relays mixed →
 *   "Using both 'relay' and 'endpoint' in a request" (reason `feature_not_implemented`); several relays →
 *   "Updating more than one 'relay' in a request." (reason `feature_not_implemented`); otherwise "Octo is disabled
 *   in configuration." without a colibri2 reason. Never throws anything but Colibri2Error.
 */
export function parseConferenceModify(el: Element): ConferenceModifyRequest {
  return guarded('conference-modify', () => parseModify(el));
}

function parseModify(el: Element): ConferenceModifyRequest {
  const cm = unwrap(el, 'conference-modify');
  const w = '<conference-modify>';
  const meetingId = nonEmpty(cm, 'meeting-id', w);
  const req: ConferenceModifyRequest = { meetingId, endpoints: [] };
  const name = attr(cm, 'name');
  if (name !== undefined) req.name = name;
  const create = optBool(cm, 'create', w);
  if (create !== undefined) req.create = create;
  const expire = optBool(cm, 'expire', w);
  if (expire !== undefined) req.expire = expire;
  const rtcstats = optBool(cm, 'rtcstats-enabled', w);
  if (rtcstats !== undefined) req.rtcstatsEnabled = rtcstats;
  req.endpoints = children(cm, 'endpoint', NS.COLIBRI2).map(parseEndpoint);
  const relays = children(cm, 'relay', NS.COLIBRI2);
  if (relays.length > 0) {
    for (const r of relays) nonEmpty(r, 'id', '<relay>');
    if (req.endpoints.length > 0) throw featureNotImplemented("Using both 'relay' and 'endpoint' in a request");
    if (relays.length > 1) throw featureNotImplemented("Updating more than one 'relay' in a request.");
    req.relays = relays.map(parseRelay);
  }
  return req;
}

/** `<relay id [mesh-id] [create] [expire]>` with `<media>`, `<endpoints><endpoint …>`, `<transport>` (Colibri2Relay). */
function parseRelay(r: Element): RelayModify {
  const w = '<relay>';
  const relay: RelayModify = { id: nonEmpty(r, 'id', w) };
  const meshId = attr(r, 'mesh-id');
  if (meshId !== undefined) relay.meshId = meshId;
  const create = optBool(r, 'create', w);
  if (create !== undefined) relay.create = create;
  const expire = optBool(r, 'expire', w);
  if (expire !== undefined) relay.expire = expire;
  const media = children(r, 'media', NS.COLIBRI2)
    .map(parseMedia)
    .filter((m): m is Media => m !== null);
  if (media.length > 0) relay.media = media;
  const endpoints = child(r, 'endpoints', NS.COLIBRI2);
  if (endpoints) relay.endpoints = children(endpoints, 'endpoint', NS.COLIBRI2).map((e) => F.relayEndpoint(parseEndpoint(e)));
  const transport = child(r, 'transport', NS.COLIBRI2);
  if (transport) relay.transport = parseTransportRequest(transport);
  return relay;
}

/**
 * Serialize a {@link ConferenceModifyRequest} as Jicofo/Smack write it (Colibri2Session.kt + the extension
 * builders): `<conference-modify xmlns='jitsi:colibri2' meeting-id [name] [rtcstats-enabled] [create] [expire]>`
 * with one `<endpoint xmlns='jitsi:colibri2' id [create] [expire] [stats-id] [muc-role]>` per endpoint (Smack
 * repeats the namespace on an IQ's direct extensions), children in the builder's order: media, transport,
 * sources, force-mute, capabilities, initial-last-n; jingle children carry their own `xmlns`. The shape is the
 * one {@link parseConferenceModify} reads.
 *
 * Optional fields are written exactly when defined (Jicofo only ever sets non-defaults, e.g. `create='true'`,
 * `rtcstats-enabled='false'`), so `parseConferenceModify(serializeConferenceModify(r))` equals `r` for every
 * value the parser can produce. Presence flags (`extmapAllowMixed`, `rtcpMux`) are written when `true`.
 * Does not validate; does not throw.
 */
export function serializeConferenceModify(req: ConferenceModifyRequest): Element {
  return el(
    'conference-modify',
    {
      xmlns: NS.COLIBRI2,
      'meeting-id': req.meetingId,
      name: req.name,
      'rtcstats-enabled': req.rtcstatsEnabled,
      create: req.create,
      expire: req.expire,
    },
    ...req.endpoints.map((ep) =>
      el(
        'endpoint',
        {
          xmlns: NS.COLIBRI2,
          id: ep.id,
          create: ep.create,
          expire: ep.expire,
          'stats-id': ep.statsId,
          'muc-role': ep.mucRole,
        },
        ...(ep.media ?? []).map(mediaEl),
        ep.transport !== undefined && transportRequestEl(ep.transport),
        ep.sources !== undefined && sourcesEl(ep.sources),
        ep.forceMute !== undefined && el('force-mute', { audio: ep.forceMute.audio, video: ep.forceMute.video }),
        ...(ep.capabilities ?? []).map((name) => el('capability', { name })),
        ep.initialLastN !== undefined && el('initial-last-n', { value: ep.initialLastN }),
      ),
    ),
    ...(req.relays ?? []).map((r) =>
      el(
        'relay',
        { xmlns: NS.COLIBRI2, id: r.id, 'mesh-id': r.meshId, create: r.create, expire: r.expire },
        ...(r.media ?? []).map(mediaEl),
        r.endpoints !== undefined &&
          el(
            'endpoints',
            {},
            ...r.endpoints.map((ep) =>
              el('endpoint', { id: ep.id, create: ep.create, expire: ep.expire, 'stats-id': ep.statsId }, ep.sources !== undefined && sourcesEl(ep.sources)),
            ),
          ),
        r.transport !== undefined && transportRequestEl(r.transport),
      ),
    ),
  );
}

/** Outer `<transport ice-controlling use-unique-port ice-restart>` of a request, with its ICE and SCTP children. */
function transportRequestEl(t: TransportRequest): Element {
  return el(
    'transport',
    { 'ice-controlling': t.iceControlling, 'use-unique-port': t.useUniquePort, 'ice-restart': t.iceRestart },
    t.ice !== undefined && iceUdpEl(t.ice),
    t.sctp !== undefined && el('sctp', { role: t.sctp.role, port: t.sctp.port }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// conference-modified
// ---------------------------------------------------------------------------------------------------------------

function parseTransportResponse(e: Element): TransportResponse {
  const inner = child(e, 'transport', NS.ICE_UDP);
  if (!inner) throw missing(INNER_TRANSPORT, '<transport>');
  const t: TransportResponse = { ice: F.answerIce(parseIceUdp(inner), INNER_TRANSPORT) };
  const s = child(e, 'sctp', NS.COLIBRI2);
  if (s) t.sctp = F.readSctpAnswer(attrs(s), '<sctp>');
  return t;
}

/**
 * Parse a `<conference-modified xmlns='jitsi:colibri2'>` as JVB writes it (the `<iq type='result'>` itself is
 * accepted too) into a {@link ConferenceModifiedResponse} (for focuses talking to a bridge over XMPP):
 * ```xml
 * <conference-modified xmlns='jitsi:colibri2'>
 *   <endpoint id [expire='true']>
 *     <transport>                                                   (create / ICE restart only)
 *       <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag pwd [ice-generation]>
 *         <rtcp-mux/> <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash setup [cryptex]>…</fingerprint>
 *         <web-socket xmlns='http://jitsi.org/protocol/colibri' url/>… <candidate …/>…
 *       </transport>
 *       <sctp port role/>
 *     </transport>
 *   </endpoint>…
 *   <sources> <media-source type id> <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc name/> … </sources>
 * </conference-modified>
 * ```
 * `<relay>` answers are ignored (relays are not modelled). Sources: Colibri2ConferenceHandler.buildFeedbackSources.
 *
 * @throws Colibri2Error `bad-request` for malformed input (same rules as {@link parseConferenceModify}); an
 *   endpoint `<transport>` needs the ice-udp transport with `ufrag` and `pwd`, and `<sctp>` both `port` and `role`.
 */
export function parseConferenceModified(el: Element): ConferenceModifiedResponse {
  return guarded('conference-modified', () => parseModified(el));
}

function parseModified(el: Element): ConferenceModifiedResponse {
  const cm = unwrap(el, 'conference-modified');
  const res: ConferenceModifiedResponse = {
    endpoints: children(cm, 'endpoint', NS.COLIBRI2).map((e): EndpointModified => {
      const ep: EndpointModified = { id: nonEmpty(e, 'id', '<endpoint>') };
      const expire = optBool(e, 'expire', '<endpoint>');
      if (expire !== undefined) ep.expire = expire;
      const t = child(e, 'transport', NS.COLIBRI2);
      if (t) ep.transport = parseTransportResponse(t);
      return ep;
    }),
  };
  const relays = children(cm, 'relay', NS.COLIBRI2).map((r): RelayModified => {
    const out: RelayModified = { id: nonEmpty(r, 'id', '<relay>') };
    const expire = optBool(r, 'expire', '<relay>');
    if (expire !== undefined) out.expire = expire;
    const t = child(r, 'transport', NS.COLIBRI2);
    if (t) out.transport = parseTransportResponse(t);
    return out;
  });
  if (relays.length > 0) res.relays = relays;
  const sources = child(cm, 'sources', NS.COLIBRI2);
  if (sources) res.sources = parseSources(sources);
  return res;
}

/**
 * Serialize a {@link ConferenceModifiedResponse} as JVB writes it (Colibri2ConferenceHandler
 * .handleConferenceModifyIQ, Endpoint.describeTransport, IceTransport/DtlsTransport.describe): the shape shown
 * at {@link parseConferenceModified}, `<endpoint xmlns='jitsi:colibri2'>`s first, then `<sources
 * xmlns='jitsi:colibri2'>` when defined (Smack repeats the namespace on an IQ's direct extensions); inner ICE
 * transport children in JVB's order (rtcp-mux, fingerprint, web-socket, candidates). Optional fields are written
 * exactly when defined. Does not throw.
 */
export function serializeConferenceModified(res: ConferenceModifiedResponse): Element {
  return el(
    'conference-modified',
    { xmlns: NS.COLIBRI2 },
    ...res.endpoints.map((ep) =>
      el('endpoint', { xmlns: NS.COLIBRI2, id: ep.id, expire: ep.expire }, ep.transport !== undefined && transportResponseEl(ep.transport)),
    ),
    ...(res.relays ?? []).map((r) =>
      el('relay', { xmlns: NS.COLIBRI2, id: r.id, expire: r.expire }, r.transport !== undefined && transportResponseEl(r.transport)),
    ),
    res.sources !== undefined && sourcesEl(res.sources, true),
  );
}

/** `<transport>` of a conference-modified endpoint or relay: the ICE transport, then `<sctp port role>`. */
function transportResponseEl(t: TransportResponse): Element {
  return el('transport', {}, iceUdpEl(t.ice), t.sctp !== undefined && el('sctp', { port: t.sctp.port, role: t.sctp.role }));
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/**
 * The `<error>` child of the error IQ, as JVB builds it (Colibri2Util.kt → jicoco `createError` → Smack
 * `StanzaError.toXML`):
 * ```xml
 * <error type='modify|cancel'>
 *   <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
 *   <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Endpoint not found for ID: 79f0273e</text>
 *   <error xmlns='jitsi:colibri2' reason='unknown_endpoint'/>      (when err.reason is set)
 *   <endpoint xmlns='jitsi:colibri2' id='79f0273e'/>               (when err.endpointId is set: unknown_endpoint)
 * </error>
 * ```
 * `type` is Smack's for the condition (`modify` for bad-request, else `cancel`: {@link Colibri2Error.errorType});
 * `<text>` is always written (`setDescriptiveEnText`, so with `xml:lang='en'`), extensions in this order.
 * The element carries no `xmlns`: it inherits the stanza's (`jabber:client` / `jabber:component:accept`).
 */
export function colibri2ErrorElement(err: Colibri2Error): Element {
  return el(
    'error',
    { type: err.errorType },
    el(err.condition, { xmlns: NS.STANZAS }),
    el('text', { xmlns: NS.STANZAS, 'xml:lang': 'en' }, err.message),
    err.reason !== undefined && el('error', { xmlns: NS.COLIBRI2, reason: err.reason }),
    err.endpointId !== undefined && el('endpoint', { xmlns: NS.COLIBRI2, id: err.endpointId }),
  );
}

/**
 * Read a bridge's error back into a {@link Colibri2Error} (for focuses; Jicofo Colibri2Session.sendRequest reads
 * the same two extensions). `errorEl` is the `<error>` element (xmpp.js `StanzaError.element`) or the whole
 * `<iq type='error'>`.
 * - condition: the first child in `urn:ietf:params:xml:ns:xmpp-stanzas` other than `<text>`; one outside
 *   {@link StanzaErrorCondition} (e.g. `recipient-unavailable` from the MUC) becomes `internal-server-error`
 *   with the original name in front of the text.
 * - text: `<text>` in the same namespace (empty string when absent).
 * - reason: `<error xmlns='jitsi:colibri2' reason>`, lowercased; a missing or unknown reason is `unspecified`
 *   (Colibri2Error.Reason.parseString treats null as UNSPECIFIED); no such element → `undefined`.
 * - endpointId: `<endpoint xmlns='jitsi:colibri2' id>`.
 * Never throws (whatever it is given, it returns an error).
 */
export function parseColibri2Error(errorEl: Element): Colibri2Error {
  try {
    return readError(errorEl);
  } catch (e) {
    return new Colibri2Error('internal-server-error', `unreadable error: ${show(e instanceof Error ? e.message : String(e))}`);
  }
}

function readError(errorEl: Element): Colibri2Error {
  let e: Element | undefined = isElement(errorEl) ? errorEl : undefined;
  if (e && e.getName() === 'iq') e = e.getChildElements().find((c) => c.getName() === 'error' && c.getNS() !== NS.COLIBRI2);
  if (!e) return new Colibri2Error('internal-server-error', 'error stanza without <error>');
  const condEl = e.getChildElements().find((c) => c.getNS() === NS.STANZAS && c.getName() !== 'text');
  const text = child(e, 'text', NS.STANZAS)?.getText() ?? '';
  const condName = condEl?.getName();
  const known = STANZA_ERROR_CONDITIONS.find((c) => c === condName);
  const condition: StanzaErrorCondition = known ?? 'internal-server-error';
  const message = known || condName === undefined ? text : text ? `${condName}: ${text}` : condName;
  const c2 = child(e, 'error', NS.COLIBRI2);
  let reason: Colibri2Reason | undefined;
  if (c2) {
    const r = attr(c2, 'reason')?.toLowerCase();
    reason = COLIBRI2_REASONS.find((x) => x === r) ?? 'unspecified';
  }
  const ep = child(e, 'endpoint', NS.COLIBRI2);
  const endpointId = ep ? attr(ep, 'id') : undefined;
  return new Colibri2Error(condition, message, reason, endpointId);
}

/**
 * The complete error IQ JVB answers a request with (Smack 4.4.8 `ErrorIQ.createErrorResponse`, which since
 * 4.4.7 echoes the request's child element — SMACK-931):
 * ```xml
 * <iq type='error' id='<request id>' to='<request from>' from='<request to>'>
 *   <error type=…>…</error>                                       ({@link colibri2ErrorElement})
 *   <conference-modify xmlns='jitsi:colibri2' meeting-id [name] [rtcstats-enabled='false'] [create='true'] [expire='true']/>
 * </iq>
 * ```
 * The echo is the request's child re-serialized from its attributes only (ConferenceModifyIQ
 * .getIQChildElementBuilder: Smack's booleans, defaults omitted) and empty: the endpoints are not echoed
 * (the IQ's own extensions are, and an error IQ has none). A request child that is not a conference-modify is
 * echoed as an empty element with its name and namespace. `id`/`to`/`from` are left out when the request lacks
 * the counterpart. No `xmlns` on the `<iq>` (the stream's default applies). Does not throw.
 *
 * (xmpp.js's iq-callee, when a handler returns just the {@link colibri2ErrorElement}, builds a different IQ: it
 * appends the *whole* request child, endpoints and all, before the `<error>`. Send this IQ instead to match JVB.)
 */
export function errorIq(requestIq: Element, err: Colibri2Error): Element {
  const a = (name: string): string | undefined => (isElement(requestIq) ? attr(requestIq, name) : undefined);
  const first = isElement(requestIq) ? requestIq.getChildElements()[0] : undefined;
  let echo: Element | undefined;
  if (first && first.getName() === 'conference-modify' && first.getNS() === NS.COLIBRI2) {
    const isTrue = (name: string): boolean => attr(first, name)?.toLowerCase() === 'true';
    const rtcstats = attr(first, 'rtcstats-enabled');
    echo = el('conference-modify', {
      xmlns: NS.COLIBRI2,
      'meeting-id': attr(first, 'meeting-id'),
      name: attr(first, 'name'),
      'rtcstats-enabled': rtcstats !== undefined && rtcstats.toLowerCase() !== 'true' ? 'false' : undefined,
      create: isTrue('create') ? 'true' : undefined,
      expire: isTrue('expire') ? 'true' : undefined,
    });
  } else if (first) {
    const ns: unknown = first.getNS();
    echo = el(first.getName(), { xmlns: typeof ns === 'string' ? ns : undefined });
  }
  return el('iq', { type: 'error', id: a('id'), to: a('from'), from: a('to') }, colibri2ErrorElement(err), echo);
}
