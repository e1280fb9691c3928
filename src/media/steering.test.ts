/**
 * The steering characters and the Binding request that checks a worker is reached (media/steering.ts): the request
 * is one another STUN implementation (werift's) accepts with its integrity and fingerprint, and the answer's class
 * decides. The request reaching the right worker through the real port is tested in test/e2e/udp-port.test.ts.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from 'werift';
import { answeredWithSuccess, bindingRequest, MAX_STEERED_WORKERS, steeringPrefix } from './steering.ts';

describe('steeringPrefix', () => {
  it('is A..Z, a..z, 0..9 for the group indexes, and refuses more', () => {
    expect([0, 25, 26, 51, 52, 61].map(steeringPrefix).join('')).toBe('AZaz09');
    expect(MAX_STEERED_WORKERS).toBe(62);
    expect(() => steeringPrefix(62)).toThrow(RangeError);
  });
});

describe('bindingRequest', () => {
  it('is a Binding request with USERNAME first, signed with the password, with a FINGERPRINT', () => {
    const { datagram, transactionId } = bindingRequest('Aufrag:steer', 'secret-password');
    expect(datagram.readUInt16BE(0)).toBe(0x0001);
    expect(datagram.readUInt16BE(20)).toBe(0x0006);
    const parsed = parseMessage(datagram, Buffer.from('secret-password'));
    expect(parsed?.transactionId.equals(transactionId)).toBe(true);
    expect(parsed?.getAttributeValue('USERNAME')).toBe('Aufrag:steer');
    expect(parseMessage(datagram, Buffer.from('wrong'))).toBeUndefined();
  });
});

describe('answeredWithSuccess', () => {
  let server: dgram.Socket | undefined;
  afterEach(() => server?.close());

  /** A STUN server on loopback answering each request with `type` (or not at all). */
  async function answering(type: number | undefined): Promise<number> {
    server = dgram.createSocket('udp4');
    server.on('message', (msg, rinfo) => {
      if (type === undefined) return;
      const answer = Buffer.alloc(20);
      answer.writeUInt16BE(type, 0);
      msg.copy(answer, 4, 4, 20);
      server?.send(answer, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => server?.bind(0, '127.0.0.1', () => r()));
    return server.address().port;
  }

  it('is true for a success, false for an error or silence', async () => {
    expect(await answeredWithSuccess('127.0.0.1', await answering(0x0101), 'u', 'p')).toBe(true);
    server?.close();
    expect(await answeredWithSuccess('127.0.0.1', await answering(0x0111), 'u', 'p')).toBe(false);
    server?.close();
    expect(await answeredWithSuccess('127.0.0.1', await answering(undefined), 'u', 'p', 20)).toBe(false);
  });
});
