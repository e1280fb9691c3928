/**
 * A synthetic participant of the forwarding benchmark: one werift RTCPeerConnection that answers
 * the bridge's offer, then either sends the pre-built RTP of {@link SyntheticStream} (a sender) or
 * counts what arrives (a receiver).
 *
 * The client negotiates exactly {@link CLIENT_MEDIA}: opus 111, VP8 100 + RTX 96, with
 * ssrc-audio-level / abs-send-time / transport-cc / sdes:mid. Both targets build their offer from
 * the same list, so the same codecs and header extensions are used on each.
 *
 * Receivers count every RTP packet their DTLS transport decrypts (werift's `RTCDtlsTransport.onRtp`,
 * before its SSRC demultiplexing), per SSRC. They do not renegotiate an m-line per forwarded
 * source as lib-jitsi-meet does; werift therefore has no RTCRtpReceiver for those SSRCs and sends
 * no receiver reports, NACKs or transport-cc feedback for them. With octobridge a receiver opens
 * the bridge channel (SCTP data channel `JVB data channel`, protocol
 * `http://jitsi.org/protocols/colibri`) and records the SSRCs announced in `AudioSourcesMap` /
 * `VideoSourcesMap`, so packets can be attributed to announced SSRCs.
 */
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useAbsSendTime,
  useAudioLevelIndication,
  useOPUS,
  useSdesMid,
  useTransportWideCC,
  useVP8,
  type RTCDataChannel,
  type RtpPacket,
} from 'werift';
import type { Media } from '../../src/colibri2/types.ts';
import { readTrailer, SyntheticStream, type LoadProfile, type PacketSink } from './media.ts';
import type { Samples } from './measure.ts';

/** Label and protocol of lib-jitsi-meet's bridge channel (BridgeChannel.ts). */
const BRIDGE_CHANNEL_LABEL = 'JVB data channel';
const BRIDGE_CHANNEL_PROTOCOL = 'http://jitsi.org/protocols/colibri';

const TCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const VIDEO_FB = [{ type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' }, { type: 'transport-cc' }];

/**
 * What every client can send and receive, as colibri2 `<media>` (Jicofo's numbering: opus 111,
 * VP8 100 / RTX 96; ssrc-audio-level 1, abs-send-time 3, transport-cc 5, sdes:mid 10). No RED:
 * werift would wrap every audio packet in RED.
 */
export const CLIENT_MEDIA: Media[] = [
  {
    type: 'audio',
    payloadTypes: [
      {
        id: 111,
        name: 'opus',
        clockrate: 48000,
        channels: 2,
        parameters: [
          { name: 'minptime', value: '10' },
          { name: 'useinbandfec', value: '1' },
        ],
        rtcpFbs: [{ type: 'transport-cc' }],
      },
    ],
    rtpHdrExts: [
      { id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' },
      { id: 5, uri: TCC },
      { id: 10, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
    ],
    extmapAllowMixed: true,
  },
  {
    type: 'video',
    payloadTypes: [
      { id: 100, name: 'VP8', clockrate: 90000, parameters: [], rtcpFbs: VIDEO_FB },
      { id: 96, name: 'rtx', clockrate: 90000, parameters: [{ name: 'apt', value: '100' }], rtcpFbs: [] },
    ],
    rtpHdrExts: [
      { id: 3, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' },
      { id: 5, uri: TCC },
      { id: 10, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
    ],
    extmapAllowMixed: true,
  },
];

/** werift's codec list for {@link CLIENT_MEDIA} (built with werift's factories, as werift wants). */
export function weriftCodecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  const fb = VIDEO_FB.map((f) => (f.subtype ? { type: f.type, parameter: f.subtype } : { type: f.type }));
  return {
    audio: [useOPUS({ payloadType: 111, parameters: 'minptime=10;useinbandfec=1', rtcpFeedback: [{ type: 'transport-cc' }] })],
    video: [
      useVP8({ payloadType: 100, rtcpFeedback: fb }),
      new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: 96, parameters: 'apt=100' }),
    ],
  };
}

/**
 * A werift peer connection that negotiates exactly {@link CLIENT_MEDIA} and uses only
 * `localAddress` for ICE (default 127.0.0.1: the bridges listen on loopback; a namespace's veth
 * address to reach a server inside a network namespace).
 */
export function clientPeerConnection(localAddress = '127.0.0.1'): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: weriftCodecs(),
    headerExtensions: {
      audio: [useAudioLevelIndication(), useTransportWideCC(), useSdesMid()],
      video: [useAbsSendTime(), useTransportWideCC(), useSdesMid()],
    },
    iceAdditionalHostAddresses: [localAddress],
    iceUseIpv6: false,
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === localAddress,
  });
}

/**
 * Open lib-jitsi-meet's bridge channel on `pc` and pass every text message to `onMessage`.
 * Stream 0, as a browser that is the DTLS client opens it (RFC 8832 §6: the DTLS client uses
 * even ids). werift picks the parity from its ICE role instead, which against octobridge may be either
 * (controlled when the bridge nominates, controlling after an early 487), so it could open stream 1, which the
 * bridge does not listen on.
 * Resolves with the channel once it is open. @throws Error when it is not open within `timeoutMs`.
 */
export async function openBridgeChannel(pc: RTCPeerConnection, onMessage: (text: string) => void, timeoutMs = 10_000): Promise<RTCDataChannel> {
  const dc = pc.createDataChannel(BRIDGE_CHANNEL_LABEL, { protocol: BRIDGE_CHANNEL_PROTOCOL, ordered: true, id: 0 });
  dc.onMessage.subscribe((data) => onMessage(typeof data === 'string' ? data : data.toString('utf8')));
  if (dc.readyState !== 'open') await dc.stateChanged.watch((s) => s === 'open', timeoutMs);
  return dc;
}

/** One entry of a source map: `ssrc` (and `rtx`, video) now carry `source` of `owner`. */
export interface SourceMapEntry extends AnnouncedSource {
  ssrc: number;
  rtx?: number;
}

/** The entries of a bridge-channel `AudioSourcesMap` / `VideoSourcesMap` message; [] for any other text. */
export function sourceMapEntries(text: string): SourceMapEntry[] {
  let m: { colibriClass?: string; mappedSources?: { source: string; owner: string | null; ssrc: number; rtx?: number }[] };
  try {
    m = JSON.parse(text);
  } catch {
    return [];
  }
  const kind = m.colibriClass === 'VideoSourcesMap' ? 'video' : m.colibriClass === 'AudioSourcesMap' ? 'audio' : undefined;
  if (!kind) return [];
  return (m.mappedSources ?? []).map((s) => ({
    kind,
    source: s.source,
    owner: s.owner ?? '',
    ssrc: s.ssrc,
    ...(kind === 'video' && s.rtx !== undefined && s.rtx !== -1 ? { rtx: s.rtx } : {}),
  }));
}

/** Counters and samples a receiver writes into; shared by every receiver of a run. */
export interface ReceiveLog {
  /** Delay samples (ms), taken while `recording`. */
  delays: Samples;
  recording: boolean;
}

/** A source announced to a receiver on the bridge channel. */
export interface AnnouncedSource {
  kind: 'audio' | 'video';
  source: string;
  owner: string;
}

/** See the module docstring. */
export class BenchClient {
  readonly id: string;
  readonly role: 'sender' | 'receiver';
  readonly pc: RTCPeerConnection;
  /** RTP packets received, by SSRC (receivers). */
  readonly received = new Map<number, number>();
  /** SSRCs announced in source maps (octobridge receivers). */
  readonly announced = new Map<number, AnnouncedSource>();
  /** The SSRCs this client sends with (from its answer). */
  sendSsrcs: { audio?: number; video?: number; videoRtx?: number } = {};
  /** PLIs received for this client's video (senders). */
  plis = 0;
  readonly #log: ReceiveLog;
  readonly #tracks = { audio: new MediaStreamTrack({ kind: 'audio' }), video: new MediaStreamTrack({ kind: 'video' }) };
  readonly #stream: SyntheticStream | undefined;
  #channel: RTCDataChannel | undefined;
  #receivedTotal = 0;

  /**
   * @param index sender index (written into each packet's trailer) or receiver index
   * @param log where receivers put their delay samples
   * @param localAddress the one address ICE uses ({@link clientPeerConnection}; a namespace's host-side address to
   *   reach a bridge inside it, bench/relay.ts)
   */
  constructor(id: string, role: 'sender' | 'receiver', index: number, profile: LoadProfile, log: ReceiveLog, localAddress?: string) {
    this.id = id;
    this.role = role;
    this.#log = log;
    this.#stream = role === 'sender' ? new SyntheticStream(index, profile) : undefined;
    this.pc = clientPeerConnection(localAddress);
  }

  /** RTP packets received so far, all SSRCs. */
  get receivedTotal(): number {
    return this.#receivedTotal;
  }

  /**
   * Apply the bridge's offer and return the answer SDP: a sender sends on the first audio and
   * video m-line (`sendonly`), a receiver answers every m-line `recvonly`.
   */
  async answer(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    const used = new Set<string>();
    for (const t of this.pc.getTransceivers()) {
      const kind = t.kind as 'audio' | 'video';
      if (this.role === 'sender' && !used.has(kind)) {
        used.add(kind);
        t.setDirection('sendonly');
        await t.sender.replaceTrack(this.#tracks[kind]);
        this.#ssrcsOf(kind, t.sender.ssrc, t.sender.rtxSsrc);
        if (kind === 'video') t.sender.onPictureLossIndication.subscribe(() => this.#onPli());
      } else {
        t.setDirection(this.role === 'sender' ? 'inactive' : 'recvonly');
      }
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    if (this.role === 'receiver') {
      for (const dtls of new Set(this.pc.dtlsTransports)) dtls.onRtp.subscribe((rtp) => this.#onRtp(rtp));
    }
    return this.pc.localDescription?.sdp ?? '';
  }

  #ssrcsOf(kind: 'audio' | 'video', ssrc: number, rtx: number): void {
    if (kind === 'audio') this.sendSsrcs.audio = ssrc;
    else this.sendSsrcs = { ...this.sendSsrcs, video: ssrc, videoRtx: rtx };
  }

  #onPli(): void {
    this.plis += 1;
    this.#stream?.requestKeyFrame();
  }

  #onRtp(rtp: RtpPacket): void {
    const now = process.hrtime.bigint();
    this.#receivedTotal += 1;
    const ssrc = rtp.header.ssrc;
    this.received.set(ssrc, (this.received.get(ssrc) ?? 0) + 1);
    if (!this.#log.recording) return;
    const t = readTrailer(rtp.payload);
    if (t) this.#log.delays.add(Number(now - t.sentNs) / 1e6);
  }

  /** Wait until ICE + DTLS are up. @throws Error on timeout or failure. */
  async connected(timeoutMs = 15_000): Promise<void> {
    const t0 = Date.now();
    while (this.pc.connectionState !== 'connected') {
      if (this.pc.connectionState === 'failed' || Date.now() - t0 > timeoutMs) {
        throw new Error(`${this.id}: connection ${this.pc.connectionState} after ${Date.now() - t0} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Open the bridge channel as lib-jitsi-meet does, record the source maps it carries, and say what this receiver
   * wants (`ReceiverVideoConstraints`, every source up to `maxHeight`, default 720): octobridge, as JVB, forwards no
   * video before a receiver's first constraints (`initial-max-height-px` 0).
   * Resolves when the channel is open. @throws Error on timeout.
   */
  async openBridgeChannel(timeoutMs = 10_000, maxHeight = 720): Promise<void> {
    this.#channel = await openBridgeChannel(this.pc, (text) => this.#onChannelMessage(text), timeoutMs);
    this.#channel.send(JSON.stringify({ colibriClass: 'ReceiverVideoConstraints', lastN: -1, defaultConstraints: { maxHeight } }));
  }

  #onChannelMessage(text: string): void {
    for (const { ssrc, rtx, ...entry } of sourceMapEntries(text)) {
      this.announced.set(ssrc, entry);
      if (rtx !== undefined) this.announced.set(rtx, entry);
    }
  }

  /** Packets received on announced SSRCs (octobridge receivers). */
  receivedOnAnnounced(): number {
    let n = 0;
    for (const [ssrc, count] of this.received) if (this.announced.has(ssrc)) n += count;
    return n;
  }

  /** Where the pacer hands this sender's packets: straight into werift's tracks. */
  sink(): PacketSink {
    return {
      sendVideo: (p) => this.#tracks.video.writeRtp(p),
      sendAudio: (p) => this.#tracks.audio.writeRtp(p),
    };
  }

  /** The sender's packet source (senders only). */
  get stream(): SyntheticStream {
    if (!this.#stream) throw new Error(`${this.id} is not a sender`);
    return this.#stream;
  }

  async close(): Promise<void> {
    this.#channel?.close();
    await this.pc.close();
  }
}
