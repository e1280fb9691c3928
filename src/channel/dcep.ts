/**
 * The Data Channel Establishment Protocol (RFC 8832) as the bridge channel needs it: parse the
 * client's DATA_CHANNEL_OPEN, build the DATA_CHANNEL_ACK. SCTP PPIDs from RFC 8831 §8.
 */

/** SCTP payload protocol identifiers (RFC 8831 §8, RFC 8832 §8.1). */
export const PPID = {
  DCEP: 50,
  STRING: 51,
  BINARY: 53,
  STRING_EMPTY: 56,
  BINARY_EMPTY: 57,
} as const;

const MSG_OPEN = 0x03;
const MSG_ACK = 0x02;

/** A parsed DATA_CHANNEL_OPEN (RFC 8832 §5.1). `priority` as sent; `reliability` per channel type. */
export interface DcepOpen {
  channelType: number;
  priority: number;
  reliability: number;
  label: string;
  protocol: string;
}

/**
 * Parse a DCEP message body (PPID 50). Returns the OPEN, `'ack'` for an ACK, or an error string
 * for anything malformed (never throws).
 */
export function parseDcep(buf: Buffer): DcepOpen | 'ack' | { error: string } {
  if (buf.length < 1) return { error: 'empty DCEP message' };
  if (buf[0] === MSG_ACK) return buf.length === 1 ? 'ack' : { error: 'DCEP ACK with trailing bytes' };
  if (buf[0] !== MSG_OPEN) return { error: `unknown DCEP message type ${buf[0]}` };
  if (buf.length < 12) return { error: `DCEP OPEN too short (${buf.length} bytes)` };
  const labelLen = buf.readUInt16BE(8);
  const protocolLen = buf.readUInt16BE(10);
  if (buf.length !== 12 + labelLen + protocolLen) return { error: 'DCEP OPEN length fields do not match its size' };
  return {
    channelType: buf.readUInt8(1),
    priority: buf.readUInt16BE(2),
    reliability: buf.readUInt32BE(4),
    label: buf.toString('utf8', 12, 12 + labelLen),
    protocol: buf.toString('utf8', 12 + labelLen, 12 + labelLen + protocolLen),
  };
}

/** The DATA_CHANNEL_ACK message (RFC 8832 §5.2): one byte 0x02. */
export function dcepAck(): Buffer {
  return Buffer.from([MSG_ACK]);
}
