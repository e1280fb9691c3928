/**
 * One UDP port for every worker: the ICE username fragment characters that steer a STUN Binding request to a
 * worker's socket (worker patch 0017's classic BPF program on the port's SO_REUSEPORT group), and the check that a
 * request does reach the worker meant: a real Binding request (RFC 8489 §14: USERNAME, PRIORITY, ICE-CONTROLLING,
 * MESSAGE-INTEGRITY, FINGERPRINT; RFC 8445 §7.1.2) for a transport of that worker, sent to the shared port. Only
 * that worker has the transport and answers with a success; any other worker answers with an error (patch 0007's
 * signed 403) or not at all.
 */
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { crc32 } from 'node:zlib';

/** The characters of the group's indexes, in order: what the BPF program maps ('A'..'Z', 'a'..'z', '0'..'9'). */
const STEERING_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Workers one port can steer to (one character each). */
export const MAX_STEERED_WORKERS = STEERING_ALPHABET.length;

/**
 * The first character of the ICE username fragments of the worker whose socket is at `index` of the port's
 * reuseport group.
 * @throws RangeError past {@link MAX_STEERED_WORKERS}.
 */
export function steeringPrefix(index: number): string {
  const c = STEERING_ALPHABET[index];
  if (c === undefined) throw new RangeError(`one UDP port steers at most ${MAX_STEERED_WORKERS} workers`);
  return c;
}

const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

/**
 * A STUN Binding request as an ICE agent checking as controlling sends it: `username` is `<their ufrag>:<ours>`,
 * signed with `password` (MESSAGE-INTEGRITY, HMAC-SHA1), with a FINGERPRINT.
 * @returns the datagram and its transaction id.
 */
export function bindingRequest(username: string, password: string): { datagram: Buffer; transactionId: Buffer } {
  const transactionId = randomBytes(12);
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(0x6e7f1eff);
  const attrs = Buffer.concat([attribute(0x0006, Buffer.from(username)), attribute(0x0024, priority), attribute(0x802a, randomBytes(8))]);
  const header = (length: number): Buffer => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(length, 2);
    h.writeUInt32BE(MAGIC_COOKIE, 4);
    transactionId.copy(h, 8);
    return h;
  };
  // MESSAGE-INTEGRITY covers the message up to itself, its length counting it (RFC 8489 §14.5).
  const mac = createHmac('sha1', password)
    .update(Buffer.concat([header(attrs.length + 24), attrs]))
    .digest();
  const signed = Buffer.concat([attrs, attribute(0x0008, mac)]);
  // FINGERPRINT: CRC-32 of the message up to itself, its length counting it, XOR 0x5354554e (§14.7).
  const head = header(signed.length + 8);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(Buffer.concat([head, signed])) ^ FINGERPRINT_XOR) >>> 0);
  return { datagram: Buffer.concat([head, signed, attribute(0x8028, crc)]), transactionId };
}

/**
 * Whether a Binding request for the ICE credentials `ufrag`/`password` sent to `address`:`port` is answered with a
 * success (class 0b10 of the Binding method, type 0x0101), within `timeoutMs` and up to 3 sends (a datagram a
 * loaded host drops).
 */
export async function answeredWithSuccess(address: string, port: number, ufrag: string, password: string, timeoutMs = 300): Promise<boolean> {
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const { datagram, transactionId } = bindingRequest(`${ufrag}:steer`, password);
      const answer = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        socket.on('message', (msg) => {
          if (msg.length < 20 || !msg.subarray(8, 20).equals(transactionId)) return;
          clearTimeout(timer);
          resolve(msg.readUInt16BE(0));
        });
      });
      socket.send(datagram, port, address);
      const type = await answer;
      socket.removeAllListeners('message');
      if (type !== undefined) return type === 0x0101;
    }
    return false;
  } finally {
    socket.close();
  }
}
