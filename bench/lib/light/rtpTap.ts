/**
 * Header-only reception of SRTP: the fixed RTP header (RFC 3550 §5.1: marker bit, payload type,
 * sequence number, timestamp, SSRC) is sent in clear in SRTP (RFC 3711 §3.1: only the payload is
 * encrypted, the header is authenticated), so a receiver that only counts and times packets needs
 * no decryption. {@link tapRtpHeaders} takes RTP datagrams off a werift ICE connection before its
 * DTLS transport decrypts them (werift decrypts every SRTP packet in JS, AES-CM + HMAC-SHA1, the
 * bulk of a light receiver's cost) and hands their headers to a callback; everything else (STUN,
 * DTLS, SRTCP) goes on to werift as before.
 *
 * Demultiplexing follows RFC 7983 §7 (first byte 128..191: RTP or RTCP) and RFC 5761 §4 (second
 * byte, the RTCP packet type, 192..223: RTCP). The authentication tag is not checked: the harness
 * trusts its own loopback network.
 */

/** What the clear RTP header of one received datagram says. */
export interface RtpHeaderInfo {
  ssrc: number;
  /** 16-bit sequence number. */
  sequenceNumber: number;
  /** 32-bit RTP timestamp (media clock). */
  timestamp: number;
  marker: boolean;
  payloadType: number;
  /** P bit: the payload ends with padding (its length is in the encrypted last byte). */
  padding: boolean;
  /** Bytes of the datagram (SRTP: header, encrypted payload, authentication tag). */
  bytes: number;
}

/** Whether `buf` is RTP (not RTCP) by RFC 7983 / RFC 5761 demultiplexing. */
export function isRtpDatagram(buf: Uint8Array): boolean {
  if (buf.length < 12) return false;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  return b0 > 127 && b0 < 192 && !(b1 >= 192 && b1 <= 223);
}

/** The clear header of an RTP (or SRTP) datagram; undefined when it is not RTP version 2 or too short. */
export function parseRtpHeader(buf: Buffer): RtpHeaderInfo | undefined {
  if (!isRtpDatagram(buf)) return undefined;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  return {
    ssrc: buf.readUInt32BE(8),
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    padding: (b0 & 0x20) !== 0,
    bytes: buf.length,
  };
}

/** A werift UDP transport (`UdpTransport`): the callback its socket's `message` handler calls per datagram. */
interface TappableTransport {
  onData: (data: Buffer, addr: unknown) => void;
}

/**
 * The part of werift's ICE connection (`IceConnection`) the tap needs: its data event and, not in
 * werift's typings, its STUN protocols (`protocols[].transport`, one UDP socket per local address).
 */
export interface TappableConnection {
  onData: { execute: (data: Buffer) => void };
}

/**
 * From now on, RTP datagrams arriving on `connection` go to `onHeader` (with their header) and
 * no longer reach werift (its SRTP session, `RTCDtlsTransport.onRtp`); RTCP, DTLS, STUN and
 * anything else still do. The tap sits at each local UDP transport's datagram callback, before
 * werift's STUN parse and its two event dispatches (each of which also starts a promise per
 * datagram), and at the connection's data event for datagrams that come another way. Returns a
 * function that restores werift's path.
 */
export function tapRtpHeaders(connection: TappableConnection, onHeader: (h: RtpHeaderInfo) => void): () => void {
  const undo: (() => void)[] = [];
  const protocols = (connection as { protocols?: { transport?: Partial<TappableTransport> }[] }).protocols ?? [];
  for (const protocol of protocols) {
    const transport = protocol.transport;
    const original = transport?.onData;
    if (!transport || typeof original !== 'function') continue;
    transport.onData = (data: Buffer, addr: unknown): void => {
      const h = parseRtpHeader(data);
      if (h) onHeader(h);
      else original(data, addr);
    };
    undo.push(() => {
      transport.onData = original;
    });
  }
  const ev = connection.onData;
  const original = ev.execute;
  ev.execute = (data: Buffer): void => {
    const h = parseRtpHeader(data);
    if (h) onHeader(h);
    else original(data);
  };
  undo.push(() => {
    ev.execute = original;
  });
  return () => {
    for (const u of undo) u();
  };
}
