/**
 * Just enough VP9 RTP parsing to learn an SVC stream's layers from the bitstream, as jitsi-videobridge's
 * `Vp9Parser` does: spatial and temporal layer ids from the payload descriptor's layer indices, and the frame size of
 * every spatial layer from the scalability structure (SS) a sender puts in the first packet of each keyframe.
 *
 * VP9 payload descriptor: RFC 9628 §4.2 (I P L F B E V Z; picture id; layer indices; reference indices in flexible
 * mode; SS data §4.2.1). RTP header: see vp8.ts.
 */
import { rtpPayload } from './rtpPayload.ts';

/** What one RTP packet tells about its VP9 frame. */
export interface Vp9PacketInfo {
  ssrc: number;
  /** RTP timestamp (one per picture: every spatial layer of a picture shares it). */
  timestamp: number;
  /** Spatial layer id, 0 when the descriptor has no layer indices. */
  sid: number;
  /** Temporal layer id, 0 when the descriptor has no layer indices. */
  tid: number;
  /** First packet of a picture that does not reference an earlier one (P = 0, B = 1). */
  keyframe: boolean;
  /** From the SS data: each spatial layer's frame size (index = sid), px. */
  sizes?: { width: number; height: number }[];
}

/**
 * Parse an RTP packet carrying VP9.
 * @returns undefined for anything that is not a well-formed RTP packet with a VP9 payload descriptor.
 */
export function parseVp9Packet(buf: Uint8Array): Vp9PacketInfo | undefined {
  const rtp = rtpPayload(buf);
  if (!rtp) return undefined;
  const { view } = rtp;
  let off = rtp.offset;
  const end = rtp.end;
  const first = buf[off++]!;
  const hasPictureId = (first & 0x80) !== 0;
  const interPicture = (first & 0x40) !== 0;
  const hasLayers = (first & 0x20) !== 0;
  const flexible = (first & 0x10) !== 0;
  const begin = (first & 0x08) !== 0;
  const hasSs = (first & 0x02) !== 0;
  const info: Vp9PacketInfo = { ssrc: view.getUint32(8), timestamp: view.getUint32(4), sid: 0, tid: 0, keyframe: false };
  if (hasPictureId) {
    if (off >= end) return undefined;
    off += buf[off]! & 0x80 ? 2 : 1;
  }
  if (hasLayers) {
    if (off >= end) return undefined;
    const layer = buf[off++]!;
    info.tid = layer >> 5;
    info.sid = (layer >> 1) & 0x07;
    if (!flexible) off += 1; // TL0PICIDX
  }
  if (flexible && interPicture) {
    // Up to three P_DIFF bytes, each with N (another follows) in its low bit.
    for (let i = 0; i < 3; i++) {
      if (off >= end) return undefined;
      if ((buf[off++]! & 0x01) === 0) break;
    }
  }
  info.keyframe = begin && !interPicture;
  if (hasSs) {
    if (off >= end) return undefined;
    const ss = buf[off++]!;
    const layers = (ss >> 5) + 1;
    if (ss & 0x10) {
      if (off + 4 * layers > end) return undefined;
      info.sizes = [];
      for (let i = 0; i < layers; i++) {
        info.sizes.push({ width: view.getUint16(off), height: view.getUint16(off + 2) });
        off += 4;
      }
    }
  }
  if (off > end) return undefined;
  return info;
}
