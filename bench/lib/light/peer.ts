/**
 * The media side of one werift peer connection of a lightweight participant, below werift's
 * RTCRtpSender/Receiver: RTP goes out and comes in at the DTLS transport
 * (`RTCDtlsTransport.sendRtp` / `onRtp`), so that the participant controls its SSRCs (three for
 * simulcast, which werift does not send) and sees every SSRC the server forwards, whether or not
 * an m-line was negotiated for it (octobridge announces sources on the bridge channel; a
 * lib-jitsi-meet client would add an m-line per source, werift need not).
 *
 * Sending: audio (opus, pt 111) and video (VP8, pt 100) with the SSRCs of the answer, every packet
 * with a transport-wide sequence number (extension id 5, so the server runs its send-side
 * congestion control feedback as for a browser); the last 1024 video packets per SSRC are kept,
 * and a NACK for them is answered on the RTX SSRC (pt 96, RFC 4588); a PLI or FIR asks the
 * participant for a keyframe; a Sender Report per SSRC every second (mediasoup aligns simulcast
 * layers by their NTP ↔ RTP mapping).
 * Receiving: every RTP packet goes to `onRtp` (decrypted by werift); or, when `onRtpHeader` is
 * set before {@link PeerSession.start}, RTP datagrams are taken off the ICE connection before
 * werift's SRTP decryption and only their clear header goes to `onRtpHeader` (rtpTap.ts; RTCP
 * still goes through werift). NACKs and PLIs go out with {@link sendNack} / {@link sendPli}.
 */
import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  type RtpHeader,
  type RtpPacket,
  wrapRtx,
  type RTCDtlsTransport,
  type RTCPeerConnection,
  type RtcpPacket,
} from 'werift';
import { clientPeerConnection } from '../client.ts';
import { nowMs } from './receive.ts';
import { tapRtpHeaders, type RtpHeaderInfo } from './rtpTap.ts';

/** Payload types of {@link CLIENT_MEDIA}: opus, VP8 and VP8's RTX. */
export const PT = { opus: 111, vp8: 100, rtx: 96 } as const;
/** transport-cc header extension id (Jicofo's numbering). */
const TCC_EXT_ID = 5;
/** Video packets kept per SSRC for retransmission. */
const RTX_BUFFER = 1024;
/** 2^32: NTP fraction scale. */
const NTP_FRAC = 4294967296;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2208988800;

/** The SSRCs a participant sends with: audio, and video per simulcast layer (low to high) with its RTX. */
export interface SendSsrcs {
  audio?: number;
  video: { ssrc: number; rtx?: number }[];
}

/** Per-SSRC send state for Sender Reports. */
interface SendState {
  clockRate: number;
  lastTs: number;
  lastAt: number;
  packets: number;
  octets: number;
}

/** See the module docstring. */
export class PeerSession {
  readonly pc: RTCPeerConnection;
  /** SSRC of this side's RTCP (feedback). */
  readonly rtcpSsrc = 1 + Math.floor(Math.random() * 0xfffffffe);
  /** Called for every RTP packet received (decrypted), with its arrival time (ms, {@link nowMs}). */
  onRtp: (rtp: RtpPacket, t: number) => void = () => undefined;
  /**
   * Header-only reception: set before {@link start} to receive the clear header of every RTP
   * datagram (SRTP not decrypted, `onRtp` not called) with its arrival time (ms, {@link nowMs}).
   */
  onRtpHeader: ((h: RtpHeaderInfo, t: number) => void) | undefined;
  /** Called when the server asks for a keyframe of video layer `layer` (PLI or FIR). */
  onKeyFrameRequest: (layer: number) => void = () => undefined;
  /** Packets retransmitted on RTX after a NACK, and NACKed packets no longer kept. */
  retransmitted = 0;
  missedRetransmissions = 0;
  #dtls: RTCDtlsTransport | undefined;
  #send: SendSsrcs = { video: [] };
  readonly #buffers = new Map<number, RtpPacket[]>();
  readonly #state = new Map<number, SendState>();
  #rtxSeq = Math.floor(Math.random() * 0xffff);
  #tccSeq = Math.floor(Math.random() * 0xffff);
  #srTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @param localAddress the one address ICE uses (see {@link clientPeerConnection}) */
  constructor(localAddress: string) {
    this.pc = clientPeerConnection(localAddress);
  }

  /**
   * Start sending with `ssrcs` and receiving, once the local description is set (the DTLS
   * transport exists then). Call again after a renegotiation that changed the SSRCs.
   * @throws Error when the peer connection has no DTLS transport yet.
   */
  start(ssrcs: SendSsrcs): void {
    this.#send = ssrcs;
    if (this.#dtls) return;
    const dtls = this.pc.dtlsTransports[0];
    if (!dtls) throw new Error('no DTLS transport: set the local description first');
    this.#dtls = dtls;
    const onHeader = this.onRtpHeader;
    if (onHeader) tapRtpHeaders(dtls.iceTransport.connection, (h) => onHeader(h, nowMs()));
    else dtls.onRtp.subscribe((rtp) => this.onRtp(rtp, nowMs()));
    dtls.onRtcp.subscribe((rtcp) => this.#onRtcp(rtcp));
    this.#srTimer = setInterval(() => this.#senderReports(), 1000);
  }

  /** Wait until ICE + DTLS are up. @throws Error on failure or after `timeoutMs`. */
  async connected(timeoutMs = 15_000): Promise<void> {
    const t0 = Date.now();
    while (this.pc.connectionState !== 'connected') {
      if (this.#closed || this.pc.connectionState === 'failed' || Date.now() - t0 > timeoutMs) {
        throw new Error(`connection ${this.#closed ? 'closed' : this.pc.connectionState} after ${Date.now() - t0} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #stamp(header: RtpHeader): void {
    this.#tccSeq = (this.#tccSeq + 1) & 0xffff;
    const tcc = Buffer.alloc(2);
    tcc.writeUInt16BE(this.#tccSeq);
    header.extensions = [...header.extensions.filter((e) => e.id !== TCC_EXT_ID), { id: TCC_EXT_ID, payload: tcc }];
    header.extension = true;
  }

  /** Send `p`; `clockRate` set: a media packet, counted for its SSRC's Sender Reports (not RTX). */
  #transmit(p: RtpPacket, clockRate?: number): void {
    const dtls = this.#dtls;
    if (!dtls || this.#closed || this.pc.connectionState !== 'connected') return;
    this.#stamp(p.header);
    if (clockRate) {
      const s = this.#state.get(p.header.ssrc) ?? { clockRate, lastTs: 0, lastAt: 0, packets: 0, octets: 0 };
      s.lastTs = p.header.timestamp;
      s.lastAt = nowMs();
      s.packets += 1;
      s.octets += p.payload.length;
      this.#state.set(p.header.ssrc, s);
    }
    void dtls.sendRtp(p.payload, p.header);
  }

  /** Send an audio packet (its SSRC and payload type are set here). */
  sendAudio(p: RtpPacket): void {
    if (this.#send.audio === undefined) return;
    p.header.ssrc = this.#send.audio;
    p.header.payloadType = PT.opus;
    this.#transmit(p, 48_000);
  }

  /** Send a video packet of simulcast layer `layer` (0 for a single stream), kept for retransmission. */
  sendVideo(layer: number, p: RtpPacket): void {
    const ssrc = this.#send.video[layer]?.ssrc;
    if (ssrc === undefined) return;
    p.header.ssrc = ssrc;
    p.header.payloadType = PT.vp8;
    let buf = this.#buffers.get(ssrc);
    if (!buf) {
      buf = new Array<RtpPacket>(RTX_BUFFER);
      this.#buffers.set(ssrc, buf);
    }
    buf[p.header.sequenceNumber % RTX_BUFFER] = p;
    this.#transmit(p, 90_000);
  }

  /** Send RTCP packets (no-op before the transport is up or after close). */
  sendRtcp(packets: RtcpPacket[]): void {
    if (!this.#dtls || this.#closed || this.pc.connectionState !== 'connected') return;
    void this.#dtls.sendRtcp(packets).catch(() => undefined);
  }

  /** NACK sequence numbers `lost` of media SSRC `ssrc` (RFC 4585 generic NACK). */
  sendNack(ssrc: number, lost: number[]): void {
    this.sendRtcp([new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: this.rtcpSsrc, mediaSourceSsrc: ssrc, lost }) })]);
  }

  /** Ask for a keyframe of media SSRC `ssrc` (PLI). */
  sendPli(ssrc: number): void {
    this.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: this.rtcpSsrc, mediaSsrc: ssrc }) })]);
  }

  #onRtcp(rtcp: RtcpPacket): void {
    if (rtcp instanceof RtcpTransportLayerFeedback && rtcp.feedback instanceof GenericNack) {
      this.#retransmit(rtcp.feedback.mediaSourceSsrc, rtcp.feedback.lost);
    } else if (rtcp instanceof RtcpPayloadSpecificFeedback) {
      const fb = rtcp.feedback as { mediaSsrc?: number; fir?: { ssrc: number }[] };
      const ssrcs = fb.fir ? fb.fir.map((f) => f.ssrc) : fb.mediaSsrc !== undefined ? [fb.mediaSsrc] : [];
      if (rtcp.feedback.constructor.name === 'ReceiverEstimatedMaxBitrate') return;
      for (const ssrc of ssrcs) {
        const layer = this.#send.video.findIndex((v) => v.ssrc === ssrc);
        if (layer >= 0) this.onKeyFrameRequest(layer);
      }
    }
  }

  #retransmit(ssrc: number, lost: number[]): void {
    const layer = this.#send.video.find((v) => v.ssrc === ssrc);
    const buf = this.#buffers.get(ssrc);
    if (!layer?.rtx || !buf) return;
    for (const seq of lost) {
      const p = buf[seq % RTX_BUFFER];
      if (!p || p.header.sequenceNumber !== seq) {
        this.missedRetransmissions += 1;
        continue;
      }
      this.#rtxSeq = (this.#rtxSeq + 1) & 0xffff;
      const rtx = wrapRtx(p, PT.rtx, this.#rtxSeq, layer.rtx);
      this.retransmitted += 1;
      this.#transmit(rtx);
    }
  }

  /** A Sender Report per sending SSRC: now in NTP, and the RTP timestamp of now from the last packet sent. */
  #senderReports(): void {
    const now = nowMs();
    const packets: RtcpPacket[] = [];
    for (const [ssrc, s] of this.#state) {
      if (s.packets === 0) continue;
      const secs = now / 1000 + NTP_UNIX_OFFSET;
      const ntp = (BigInt(Math.floor(secs)) << 32n) | BigInt(Math.floor((secs % 1) * NTP_FRAC));
      const rtpTimestamp = (s.lastTs + Math.round(((now - s.lastAt) * s.clockRate) / 1000)) >>> 0;
      packets.push(
        new RtcpSrPacket({ ssrc, senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp, packetCount: s.packets, octetCount: s.octets }) }),
      );
    }
    if (packets.length > 0) this.sendRtcp(packets);
  }

  /** Stop timers and close the peer connection. Never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#srTimer);
    await this.pc.close().catch(() => undefined);
  }
}
