/**
 * The raw mediasoup baseline of the forwarding benchmark: the same worker binary
 * (`native/out/mediasoup-worker`), one router with octobridge's codecs and Jicofo's numbering
 * (src/media/rtp.ts `routerCodecs` / `JICOFO_NUMBERING`), a WebRtcServer on one UDP port (as
 * octobridge has), and per client one WebRtcTransport with the same options octobridge uses.
 * Wired the way mediasoup's examples do: the client's answer gives the producer's RTP parameters;
 * a receiver consumes every producer (`paused: true`, then `resume()` once its transport is
 * connected). No octobridge code runs on the media path or in the control plane.
 *
 * The offer is built straight from the transport's parameters, as mediasoup-client's RemoteSdp
 * does: `a=ice-lite`, `a=setup:actpass`, one audio and one video m-line (`recvonly` towards a
 * sender, `sendonly` towards a receiver) with {@link CLIENT_MEDIA}'s codecs and extensions.
 * Receivers count packets at their transport (client.ts), so no m-line per consumer is needed.
 */
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import sdpTransform from 'sdp-transform';
import type { Media } from '../../src/colibri2/types.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { JICOFO_NUMBERING, routerCodecs } from '../../src/media/rtp.ts';
import { CLIENT_MEDIA } from './client.ts';
import type { Target } from './target.ts';

/** The worker octobridge runs (native/build.sh output). */
export const WORKER_BIN = path.join(PROJECT_ROOT, 'native', 'out', 'mediasoup-worker');

/** Header extensions forwarded to receivers: octobridge's set (no sdes:mid, see src/media/rtp.ts). */
const FORWARDED_URIS = new Set([
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
]);

/** Start the baseline and return it as a {@link Target}. */
export async function startRaw(name: string): Promise<Target> {
  const worker = await mediasoup.createWorker({ workerBin: WORKER_BIN, logLevel: 'warn' });
  const router = await worker.createRouter({
    mediaCodecs: routerCodecs(['VP8'], JICOFO_NUMBERING),
    headerExtensionIds: JICOFO_NUMBERING.headerExtensionIds,
  } as ms.RouterOptions);
  const webRtcServer = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const producers: ms.Producer[] = [];
  const transports: ms.WebRtcTransport[] = [];

  const newTransport = async (): Promise<ms.WebRtcTransport> => {
    const t = await router.createWebRtcTransport({
      webRtcServer,
      enableUdp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      iceConsentTimeout: 30,
    });
    transports.push(t);
    return t;
  };

  return {
    name,
    async addSender(client) {
      const transport = await newTransport();
      const answer = await client.answer(offerSdp(transport, 'recvonly'));
      await connect(transport, answer);
      for (const rtp of producerParameters(answer, client.id)) {
        producers.push(await transport.produce({ kind: rtp.kind, rtpParameters: rtp.parameters }));
      }
      await client.connected();
    },
    async addReceiver(client) {
      const transport = await newTransport();
      const answer = await client.answer(offerSdp(transport, 'sendonly'));
      await connect(transport, answer);
      await client.connected();
      const caps = receiverCapabilities(router.rtpCapabilities, CLIENT_MEDIA);
      for (const producer of producers) {
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
        const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
        if (ssrc !== undefined) client.announced.set(ssrc, { kind: consumer.kind, source: producer.id, owner: producer.id });
        await consumer.resume();
      }
    },
    workerPids: () => [worker.pid],
    placement: async () => undefined,
    async close() {
      for (const t of transports) t.close();
      worker.close();
    },
  };
}

/** The offer for one client (see the module docstring); the torture harness's raw target uses it too. */
export function offerSdp(transport: ms.WebRtcTransport, direction: 'recvonly' | 'sendonly'): string {
  const fp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  if (!fp) throw new Error('transport has no sha-256 fingerprint');
  const session = ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=ice-lite', 'a=group:BUNDLE 0 1', 'a=msid-semantic: WMS *'];
  const sections = CLIENT_MEDIA.map((m, mid) => mediaSection(m, String(mid), transport, fp.value, direction));
  return `${[...session, ...sections.flat()].join('\r\n')}\r\n`;
}

/** One m-line of the offer. */
function mediaSection(m: Media, mid: string, t: ms.WebRtcTransport, fingerprint: string, direction: string): string[] {
  const lines = [
    `m=${m.type} 7 UDP/TLS/RTP/SAVPF ${m.payloadTypes.map((p) => p.id).join(' ')}`,
    'c=IN IP4 127.0.0.1',
    `a=ice-ufrag:${t.iceParameters.usernameFragment}`,
    `a=ice-pwd:${t.iceParameters.password}`,
    'a=ice-options:renomination',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    `a=mid:${mid}`,
    `a=${direction}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  for (const p of m.payloadTypes) {
    lines.push(`a=rtpmap:${p.id} ${p.name}/${p.clockrate}${p.channels && p.channels > 1 ? `/${p.channels}` : ''}`);
    const fmtp = p.parameters.map((x) => (x.name ? `${x.name}=${x.value}` : x.value)).join(';');
    if (fmtp) lines.push(`a=fmtp:${p.id} ${fmtp}`);
    for (const fb of p.rtcpFbs) lines.push(`a=rtcp-fb:${p.id} ${fb.type}${fb.subtype ? ` ${fb.subtype}` : ''}`);
  }
  for (const e of m.rtpHdrExts) lines.push(`a=extmap:${e.id} ${e.uri}`);
  if (m.extmapAllowMixed) lines.push('a=extmap-allow-mixed');
  for (const c of t.iceCandidates) {
    lines.push(`a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ host`);
  }
  lines.push('a=end-of-candidates');
  return lines;
}

/** Apply the client's DTLS parameters (its answer says `a=setup:active`: it is the DTLS client). */
export async function connect(transport: ms.WebRtcTransport, answerSdp: string): Promise<void> {
  const sdp = sdpTransform.parse(answerSdp);
  const fp = sdp.fingerprint ?? sdp.media.find((m) => m.fingerprint)?.fingerprint;
  const setup = sdp.setup ?? sdp.media.find((m) => m.setup)?.setup;
  if (!fp) throw new Error('answer has no DTLS fingerprint');
  await transport.connect({
    dtlsParameters: {
      role: setup === 'passive' ? 'server' : 'client',
      fingerprints: [{ algorithm: fp.type as ms.FingerprintAlgorithm, value: fp.hash }],
    },
  });
}

/** Producer RTP parameters for each sending m-line of a client's answer (mediasoup-client style). */
export function producerParameters(answerSdp: string, cname: string): { kind: 'audio' | 'video'; parameters: ms.RtpParameters }[] {
  const out: { kind: 'audio' | 'video'; parameters: ms.RtpParameters }[] = [];
  for (const m of sdpTransform.parse(answerSdp).media) {
    if (m.type !== 'audio' && m.type !== 'video') continue;
    if (m.direction !== 'sendonly' && m.direction !== 'sendrecv') continue;
    const fid = m.ssrcGroups
      ?.find((g) => g.semantics === 'FID')
      ?.ssrcs.split(' ')
      .map(Number);
    const ssrc = fid?.[0] ?? Number(m.ssrcs?.[0]?.id);
    const rtx = fid?.[1];
    const media = CLIENT_MEDIA.find((x) => x.type === m.type);
    const main = media?.payloadTypes[0];
    if (!media || !main || !ssrc) continue;
    const rtxPt = media.payloadTypes.find((p) => p.name === 'rtx');
    const codecs: ms.RtpCodecParameters[] = [
      {
        mimeType: `${m.type}/${main.name}`,
        payloadType: main.id,
        clockRate: main.clockrate,
        ...(m.type === 'audio' ? { channels: main.channels ?? 1 } : {}),
        parameters: Object.fromEntries(main.parameters.map((p) => [p.name ?? '', Number(p.value)])),
        rtcpFeedback: main.rtcpFbs.map((f) => ({ type: f.type, parameter: f.subtype ?? '' })),
      },
    ];
    if (rtxPt && rtx !== undefined) {
      codecs.push({ mimeType: `${m.type}/rtx`, payloadType: rtxPt.id, clockRate: rtxPt.clockrate, parameters: { apt: main.id }, rtcpFeedback: [] });
    }
    out.push({
      kind: m.type,
      parameters: {
        mid: String(m.mid),
        codecs,
        headerExtensions: (m.ext ?? []).map((e) => ({ uri: e.uri as ms.RtpHeaderExtensionUri, id: e.value })),
        encodings: [{ ssrc, ...(rtx !== undefined && rtxPt ? { rtx: { ssrc: rtx } } : {}) }],
        rtcp: { cname, reducedSize: true },
      },
    });
  }
  return out;
}

/**
 * A receiver's RTP capabilities (what mediasoup-client's Device would report): the router's codecs
 * the client supports and the forwarded header extensions it negotiated.
 */
export function receiverCapabilities(router: ms.RtpCapabilities, media: readonly Media[]): ms.RtpCapabilities {
  const names = new Set(media.flatMap((m) => m.payloadTypes.map((p) => `${m.type}/${p.name}`.toLowerCase())));
  const uris = new Set(media.flatMap((m) => m.rtpHdrExts.map((e) => e.uri)));
  return {
    codecs: (router.codecs ?? []).filter((c) => names.has(c.mimeType.toLowerCase())),
    headerExtensions: (router.headerExtensions ?? []).filter((e) => uris.has(e.uri) && FORWARDED_URIS.has(e.uri)),
  };
}
