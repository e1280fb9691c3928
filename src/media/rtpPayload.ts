/**
 * The RTP fixed header, CSRCs, header extension (RFC 3550 §5.1, RFC 8285) and padding of a packet: where its payload
 * is, and its header extension elements by id.
 */

/** Where the payload of an RTP packet is. */
export interface RtpPayload {
  view: DataView;
  /** First payload byte. */
  offset: number;
  /** One past the last payload byte (padding excluded). */
  end: number;
  /** Header extension block: first element byte, end, and whether it is the two-byte form (RFC 8285 §4.3). */
  extensions?: { start: number; end: number; twoByte: boolean };
}

/**
 * Locate the payload of an RTP packet.
 * @returns undefined when `buf` is not a well-formed RTP packet with a non-empty payload.
 */
export function rtpPayload(buf: Uint8Array): RtpPayload | undefined {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const csrcCount = buf[0]! & 0x0f;
  let off = 12 + 4 * csrcCount;
  let extensions: RtpPayload['extensions'];
  if (buf[0]! & 0x10) {
    if (off + 4 > buf.length) return undefined;
    const profile = view.getUint16(off);
    const length = 4 * view.getUint16(off + 2);
    if (off + 4 + length > buf.length) return undefined;
    if (profile === 0xbede || (profile & 0xfff0) === 0x1000) extensions = { start: off + 4, end: off + 4 + length, twoByte: profile !== 0xbede };
    off += 4 + length;
  }
  let end = buf.length;
  if (buf[0]! & 0x20) end -= buf[end - 1]!;
  if (off >= end) return undefined;
  return { view, offset: off, end, ...(extensions ? { extensions } : {}) };
}

/**
 * The value of header extension element `id` (RFC 8285 one- or two-byte form).
 * @returns the element's bytes (a view into `buf`), or undefined when absent
 */
export function rtpExtension(buf: Uint8Array, payload: RtpPayload, id: number): Uint8Array | undefined {
  const ext = payload.extensions;
  if (!ext) return undefined;
  let off = ext.start;
  while (off < ext.end) {
    const b = buf[off]!;
    if (b === 0) {
      off++; // padding
      continue;
    }
    let elementId: number;
    let len: number;
    if (ext.twoByte) {
      if (off + 2 > ext.end) return undefined;
      elementId = b;
      len = buf[off + 1]!;
      off += 2;
    } else {
      elementId = b >> 4;
      if (elementId === 15) return undefined;
      len = (b & 0x0f) + 1;
      off += 1;
    }
    if (off + len > ext.end) return undefined;
    if (elementId === id) return buf.subarray(off, off + len);
    off += len;
  }
  return undefined;
}
