/**
 * Mapping between colibri2's media descriptions (Jingle payload types, rtp-hdrexts, ssma
 * sources) and mediasoup's RTP parameters / capabilities (mediasoup `RtpParameters.ts`).
 *
 * Pure functions, no I/O. Errors are thrown as {@link RtpMappingError} with a message naming
 * the offending source / SSRC, so the colibri2 layer can answer `bad-request` and change nothing.
 */
import type * as ms from 'mediasoup/types';
import type { Media, MediaSource, MediaType, PayloadType } from '../jingle/types.ts';
import { svcDecision } from './svc.ts';
import type { SignalledSsrcs } from './types.ts';

/** Thrown for media descriptions or sources mediasoup cannot use. */
export class RtpMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtpMappingError';
  }
}

/** Video codec names the bridge can route, in the router's order. */
export type VideoCodecName = 'VP8' | 'VP9' | 'H264' | 'AV1';

/**
 * The payload types and header extension ids a conference's router uses. mediasoup forwards
 * packets with the router's numbers, so they must be the numbers the receivers negotiated:
 * with Jicofo every endpoint of a conference gets the same offer, so one numbering per router
 * serves them all. Set with the patched `createRouter({headerExtensionIds})` and
 * `mediaCodecs[].rtxPayloadType` (native/node-patches), and the worker writes each consumer's
 * extension ids (native/patches/0004).
 */
export interface RtpNumbering {
  payloadTypes: { opus: number } & Record<VideoCodecName, { pt: number; rtx: number }>;
  /** Header extension URI → id. URIs not listed are not offered by the router. */
  headerExtensionIds: Record<string, number>;
}

/**
 * Jicofo's default numbering (jicofo `reference.conf` `jicofo.codec`):
 * opus 111; AV1 41/42, VP8 100/96, H264 107/99, VP9 101/97 (codec/RTX); ssrc-audio-level 1,
 * toffset 2, abs-send-time 3, rid 4, transport-cc 5, sdes:mid 10, dependency-descriptor 11.
 */
export const JICOFO_NUMBERING: RtpNumbering = {
  payloadTypes: {
    opus: 111,
    AV1: { pt: 41, rtx: 42 },
    VP8: { pt: 100, rtx: 96 },
    H264: { pt: 107, rtx: 99 },
    VP9: { pt: 101, rtx: 97 },
  },
  headerExtensionIds: {
    'urn:ietf:params:rtp-hdrext:ssrc-audio-level': 1,
    'urn:ietf:params:rtp-hdrext:toffset': 2,
    'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time': 3,
    'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id': 4,
    'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01': 5,
    'urn:ietf:params:rtp-hdrext:sdes:mid': 10,
    'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension': 11,
  },
};

/** A media codec with the patched mediasoup's `rtxPayloadType` (native/node-patches). */
type RouterCodec = ms.RouterRtpCodecCapability & { rtxPayloadType?: number };

/**
 * Router codecs: opus plus the given video codecs, with the numbering's payload types.
 */
export function routerCodecs(video: readonly VideoCodecName[], numbering: RtpNumbering = JICOFO_NUMBERING): RouterCodec[] {
  const codecs: RouterCodec[] = [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: numbering.payloadTypes.opus }];
  for (const name of video) {
    const { pt, rtx } = numbering.payloadTypes[name];
    const base = { kind: 'video' as const, clockRate: 90000, preferredPayloadType: pt, rtxPayloadType: rtx };
    switch (name) {
      case 'VP8':
        codecs.push({ ...base, mimeType: 'video/VP8' });
        break;
      case 'VP9':
        codecs.push({ ...base, mimeType: 'video/VP9', parameters: { 'profile-id': 0 } });
        break;
      case 'H264':
        codecs.push({
          ...base,
          mimeType: 'video/H264',
          parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
        });
        break;
      case 'AV1':
        codecs.push({ ...base, mimeType: 'video/AV1' });
        break;
    }
  }
  return codecs;
}

/**
 * Check that the router really uses `numbering` (i.e. the node-patches are applied).
 * @throws Error naming the fix when it does not.
 */
export function checkRouterNumbering(caps: ms.RtpCapabilities, numbering: RtpNumbering = JICOFO_NUMBERING): void {
  const opus = caps.codecs?.find((c) => c.mimeType.toLowerCase() === 'audio/opus');
  const tcc = caps.headerExtensions?.find((e) => e.uri === 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01');
  const level = caps.headerExtensions?.find((e) => e.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level');
  const rtx = caps.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/rtx');
  const ok =
    opus?.preferredPayloadType === numbering.payloadTypes.opus &&
    tcc !== undefined &&
    tcc.preferredId === numbering.headerExtensionIds[tcc.uri] &&
    level !== undefined &&
    level.preferredId === numbering.headerExtensionIds[level.uri] &&
    (rtx === undefined || Object.values(numbering.payloadTypes).some((v) => typeof v === 'object' && v.rtx === rtx.preferredPayloadType));
  if (!ok) {
    throw new Error('mediasoup router ignores the RTP numbering: node_modules/mediasoup is not patched (run: sh native/build.sh)');
  }
}

/**
 * Header extensions the bridge negotiates towards receivers. `sdes:mid` is left out on purpose:
 * with SSRC rewriting each forwarded source gets its own m-line on the client, announced with
 * its SSRC, so the client demultiplexes by SSRC (as with JVB, which strips unknown extensions).
 */
const FORWARDED_HDREXTS = new Set([
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
  'urn:3gpp:video-orientation',
  'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
]);

/** Header extensions accepted from senders (forwarded ones plus MID for demultiplexing). */
const RECEIVED_HDREXTS = new Set([...FORWARDED_HDREXTS, 'urn:ietf:params:rtp-hdrext:sdes:mid']);

/**
 * fmtp parameter values as mediasoup wants them: integers as numbers, the rest as strings. A value
 * with `;` carries more `name=value` pairs: Jicofo signals H.264 as one parameter
 * `profile-level-id` = `42e01f;level-asymmetry-allowed=1;packetization-mode=1;`
 * (jicofo `jicofo-common/src/main/resources/reference.conf`), which the client sees as the SDP line
 * `a=fmtp:107 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1;`.
 */
export function fmtpParameters(pt: PayloadType): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const put = (name: string, value: string): void => {
    out[name] = /^\d+$/.test(value) ? Number(value) : value;
  };
  for (const p of pt.parameters) {
    if (p.name === undefined || p.name === '') continue;
    const [first = '', ...more] = p.value.split(';');
    put(p.name, first);
    for (const pair of more) {
      const eq = pair.indexOf('=');
      if (eq > 0) put(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  return out;
}

function mimeType(kind: MediaType, pt: PayloadType): string {
  return `${kind}/${pt.name}`;
}

/**
 * The receiver's RTP capabilities for mediasoup `transport.consume()`: its payload types become
 * `preferredPayloadType`s and its header extension ids `preferredId`s, so forwarded packets
 * carry exactly the numbers the receiver negotiated with Jicofo's offer.
 */
export function rtpCapabilitiesOf(media: readonly Media[]): ms.RtpCapabilities {
  const codecs: ms.RtpCodecCapability[] = [];
  const headerExtensions: ms.RtpHeaderExtension[] = [];
  for (const m of media) {
    for (const pt of m.payloadTypes) {
      codecs.push({
        kind: m.type,
        mimeType: mimeType(m.type, pt),
        preferredPayloadType: pt.id,
        clockRate: pt.clockrate,
        ...(m.type === 'audio' ? { channels: pt.channels ?? 1 } : {}),
        parameters: fmtpParameters(pt),
        rtcpFeedback: pt.rtcpFbs.map((fb) => ({ type: fb.type, parameter: fb.subtype ?? '' })),
      });
    }
    for (const ext of m.rtpHdrExts) {
      if (!FORWARDED_HDREXTS.has(ext.uri)) continue;
      headerExtensions.push({
        kind: m.type,
        uri: ext.uri as ms.RtpHeaderExtensionUri,
        preferredId: ext.id,
        preferredEncrypt: false,
        direction: 'sendrecv',
      });
    }
  }
  return { codecs, headerExtensions };
}

/** The SSRC layout of one source: simulcast layers low→high, each with its RTX SSRC if any. */
export interface SourceLayout {
  encodings: { ssrc: number; rtxSsrc?: number }[];
}

/**
 * Derive the encodings of a `<media-source>` from its SSRCs and groups (Jicofo's `<media-source>` in `Colibri2Session.kt`):
 * a `SIM` group gives the layers low→high; each `FID` pair gives a layer's RTX; without `SIM`
 * the single primary SSRC (one that is not an RTX/FEC of another) is the only layer.
 *
 * @throws RtpMappingError for a source without SSRCs, a SIM/FID group naming unknown SSRCs,
 *   or several primaries without a SIM group.
 */
export function sourceLayout(source: MediaSource): SourceLayout {
  const all = new Set(source.sources.map((s) => s.ssrc));
  if (all.size === 0) throw new RtpMappingError(`source ${source.id} has no SSRC`);
  const rtxOf = new Map<number, number>();
  const secondary = new Set<number>();
  let sim: number[] | undefined;
  for (const g of source.ssrcGroups) {
    for (const s of g.ssrcs) {
      if (!all.has(s)) throw new RtpMappingError(`source ${source.id}: ${g.semantics} group names unknown SSRC ${s}`);
    }
    if (g.semantics === 'SIM') {
      if (sim) throw new RtpMappingError(`source ${source.id} has two SIM groups`);
      if (g.ssrcs.length < 1 || new Set(g.ssrcs).size !== g.ssrcs.length) throw new RtpMappingError(`source ${source.id}: bad SIM group`);
      sim = g.ssrcs;
    } else {
      const [primary, second] = g.ssrcs;
      if (g.ssrcs.length !== 2 || primary === undefined || second === undefined || primary === second) {
        throw new RtpMappingError(`source ${source.id}: ${g.semantics} group must have two distinct SSRCs`);
      }
      if (g.semantics === 'FID') rtxOf.set(primary, second);
      secondary.add(second);
    }
  }
  const primaries = sim ?? [...all].filter((s) => !secondary.has(s));
  if (primaries.length !== 1 && !sim) {
    throw new RtpMappingError(`source ${source.id} has ${primaries.length} primary SSRCs and no SIM group`);
  }
  return {
    encodings: primaries.map((ssrc) => {
      const rtx = rtxOf.get(ssrc);
      return rtx === undefined ? { ssrc } : { ssrc, rtxSsrc: rtx };
    }),
  };
}

/**
 * The SSRCs a receiver without SSRC rewriting is told for `source` (Jicofo `EndpointSourceSet.stripSimulcast`: the
 * first SSRC of the SIM group, or the single primary, with its FID partner).
 * @returns undefined for a source whose SSRCs do not form a layout ({@link sourceLayout} would throw).
 */
export function signalledSsrcs(source: MediaSource): SignalledSsrcs | undefined {
  let first: SourceLayout['encodings'][number] | undefined;
  try {
    first = sourceLayout(source).encodings[0];
  } catch {
    return undefined;
  }
  return first ? { ssrc: first.ssrc, ...(first.rtxSsrc !== undefined ? { rtx: first.rtxSsrc } : {}) } : undefined;
}

/**
 * The sender's payload type to produce with: the first of `preference` (mime names without
 * kind, e.g. `['VP8','H264']` or `['opus']`) that the endpoint signalled, plus its RTX (`apt`).
 */
export function pickCodec(media: Media | undefined, preference: readonly string[]): { main: PayloadType; rtx?: PayloadType } | undefined {
  if (!media) return undefined;
  for (const name of preference) {
    const main = media.payloadTypes.find((pt) => pt.name.toLowerCase() === name.toLowerCase());
    if (!main) continue;
    const rtx = media.payloadTypes.find((pt) => pt.name.toLowerCase() === 'rtx' && pt.parameters.some((p) => p.name === 'apt' && Number(p.value) === main.id));
    return rtx ? { main, rtx } : { main };
  }
  return undefined;
}

/**
 * mediasoup producer RTP parameters for one colibri2 source of an endpoint. Video carries every
 * payload type the endpoint negotiated whose codec is in `preference` (the router's codecs), in
 * that order, each with its RTX: the client chooses what it sends (lib-jitsi-meet
 * `modules/qualitycontrol/CodecSelection.ts` reorders its answer) and may change it mid-call, and
 * the patched worker's stream follows the payload type it receives (native/patches/0009). The
 * first is the codec expected: consumers take it, and the caller produces again with the codec
 * actually sent first when they differ ({@link codecOfPayloadType}).
 *
 * @param source the `<media-source>` (its name becomes the producer's identity)
 * @param media the endpoint's `<media>` of the same type (payload types, header extensions)
 * @param preference codec names in preference order for this kind
 * @param cname RTCP CNAME (colibri2 does not carry one; the endpoint id is used)
 * @param svcAsSimulcast the sender sends its VP9 / AV1 as simulcast (media on every SSRC of the SIM group, one
 *   spatial layer each, as Firefox and Safari do): produced as simulcast (`L1T3` encodings) instead of one SVC stream
 * @throws RtpMappingError when no usable codec is signalled or the SSRC layout is invalid.
 */
export function producerRtpParameters(
  source: MediaSource,
  media: Media | undefined,
  preference: readonly string[],
  cname: string,
  svcAsSimulcast = false,
): ms.RtpParameters {
  const layout = sourceLayout(source);
  const kind = source.type;
  // Audio: the first of `preference` only; video: every one signalled, expected first.
  const chosen = (kind === 'video' ? preference : preference.slice(0, 1)).map((name) => pickCodec(media, [name])).filter((c) => c !== undefined);
  const codec = chosen[0];
  if (!media || !codec) throw new RtpMappingError(`source ${source.id}: no usable ${source.type} codec signalled (want ${preference.join('/')})`);
  const codecs: ms.RtpCodecParameters[] = chosen.map(({ main }) => ({
    mimeType: mimeType(kind, main),
    payloadType: main.id,
    clockRate: main.clockrate,
    ...(kind === 'audio' ? { channels: main.channels ?? 1 } : {}),
    parameters: fmtpParameters(main),
    rtcpFeedback: main.rtcpFbs.map((fb) => ({ type: fb.type, parameter: fb.subtype ?? '' })),
  }));
  const useRtx = codec.rtx !== undefined && layout.encodings.some((e) => e.rtxSsrc !== undefined);
  if (useRtx) {
    for (const { main, rtx } of chosen) {
      if (rtx) codecs.push({ mimeType: `${kind}/rtx`, payloadType: rtx.id, clockRate: rtx.clockrate, parameters: { apt: main.id }, rtcpFeedback: [] });
    }
  }
  // VP9 / AV1: one SVC stream, on the first SSRC of a SIM group (media/svc.ts), unless the sender simulcasts it.
  const decided =
    kind === 'video'
      ? svcDecision(
          codec.main.name,
          media.rtpHdrExts.map((e) => e.uri),
        )
      : { svc: false as const };
  const svc = decided.svc && svcAsSimulcast && layout.encodings.length > 1 ? { svc: false as const } : decided;
  const encodings = svc.svc ? layout.encodings.slice(0, 1) : layout.encodings;
  const simulcast = encodings.length > 1;
  return {
    codecs,
    headerExtensions: media.rtpHdrExts
      .filter((e) => RECEIVED_HDREXTS.has(e.uri))
      .map((e) => ({ uri: e.uri as ms.RtpHeaderExtensionUri, id: e.id, encrypt: false })),
    encodings: encodings.map((e) => ({
      ssrc: e.ssrc,
      ...(useRtx && e.rtxSsrc !== undefined ? { rtx: { ssrc: e.rtxSsrc } } : {}),
      // Chromium's VP8/H264 simulcast layers carry 3 temporal layers each.
      ...(simulcast && kind === 'video' ? { scalabilityMode: 'L1T3' } : {}),
      ...(svc.svc ? { scalabilityMode: svc.scalabilityMode } : {}),
    })),
    rtcp: { cname, reducedSize: true },
  };
}

/**
 * Video codecs mediasoup can forward as simulcast (worker `Codecs::Tools::IsValidTypeForCodec`; VP9 and AV1 with
 * native/patches/0010). VP8 and H.264 are always produced as simulcast; VP9 and AV1 as SVC unless their sender is
 * seen to simulcast them (media/svc.ts).
 */
export const SIMULCAST_CODECS: ReadonlySet<string> = new Set(['VP8', 'H264']);

/**
 * The codec (`VP9`, without kind) of one of a producer's payload types, or undefined for an RTX /
 * FEC / unknown payload type. Used with the worker's keyframe trace, which carries the payload
 * type the sender used.
 */
export function codecOfPayloadType(rtp: ms.RtpParameters, payloadType: number): string | undefined {
  const c = rtp.codecs.find((x) => x.payloadType === payloadType);
  if (!c || /\/(rtx|red|ulpfec|flexfec)$/i.test(c.mimeType)) return undefined;
  return c.mimeType.slice(c.mimeType.indexOf('/') + 1);
}

/**
 * The video codec preference to produce a source with: the codec last seen from its sender first
 * (`sent`, when known), else for a simulcast source (several SSRCs in a SIM group) the codecs
 * mediasoup can simulcast first, else `preference` as it is.
 */
export function expectedCodecOrder(preference: readonly string[], simulcast: boolean, sent?: string): string[] {
  const order = [...preference];
  if (sent !== undefined) return [sent, ...order.filter((c) => c.toUpperCase() !== sent.toUpperCase())];
  if (simulcast) order.sort((a, b) => Number(!SIMULCAST_CODECS.has(a.toUpperCase())) - Number(!SIMULCAST_CODECS.has(b.toUpperCase())));
  return order;
}
