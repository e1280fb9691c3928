/**
 * Just enough RTP and VP8 parsing to learn a simulcast layer's resolution and frame rate from
 * the bitstream, the way jitsi-videobridge's `Vp8Parser` does: the frame size is in every VP8
 * keyframe header, the temporal layer in the payload descriptor.
 *
 * RTP: RFC 3550 §5.1 (+ RFC 8285 header extensions). VP8 payload descriptor: RFC 7741 §4.2.
 * VP8 keyframe header: RFC 6386 §9.1 (frame tag, start code 0x9d 0x01 0x2a, 14-bit width/height).
 */

/** What one RTP packet tells about its VP8 frame. */
export interface Vp8PacketInfo {
  ssrc: number;
  /** RTP timestamp (one per frame). */
  timestamp: number;
  /** Temporal layer id, 0 when the descriptor has none. */
  tid: number;
  /** Present on the first packet of a keyframe: the coded frame size, px. */
  keyframe?: { width: number; height: number };
}

/**
 * Parse an RTP packet carrying VP8.
 * @returns undefined for anything that is not a well-formed RTP packet with a VP8 payload.
 */
export function parseVp8Packet(buf: Uint8Array): Vp8PacketInfo | undefined {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const csrcCount = buf[0]! & 0x0f;
  let off = 12 + 4 * csrcCount;
  if (buf[0]! & 0x10) {
    if (off + 4 > buf.length) return undefined;
    off += 4 + 4 * view.getUint16(off + 2);
  }
  let end = buf.length;
  if (buf[0]! & 0x20) end -= buf[end - 1]!;
  if (off >= end) return undefined;
  const info: Vp8PacketInfo = { ssrc: view.getUint32(8), timestamp: view.getUint32(4), tid: 0 };
  // Payload descriptor.
  const first = buf[off++]!;
  const start = (first & 0x10) !== 0;
  const partition = first & 0x07;
  if (first & 0x80) {
    if (off >= end) return undefined;
    const ext = buf[off++]!;
    if (ext & 0x80) {
      if (off >= end) return undefined;
      off += buf[off]! & 0x80 ? 2 : 1;
    }
    if (ext & 0x40) off += 1;
    if (ext & 0x30) {
      if (off >= end) return undefined;
      if (ext & 0x20) info.tid = buf[off]! >> 6;
      off += 1;
    }
  }
  // Payload header of the frame's first packet: a keyframe carries its size.
  if (start && partition === 0 && off + 10 <= end && (buf[off]! & 0x01) === 0) {
    if (buf[off + 3] === 0x9d && buf[off + 4] === 0x01 && buf[off + 5] === 0x2a) {
      info.keyframe = { width: view.getUint16(off + 6, true) & 0x3fff, height: view.getUint16(off + 8, true) & 0x3fff };
    }
  }
  return info;
}
