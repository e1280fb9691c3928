/** DCEP (RFC 8832) parsing, on the exact OPEN lib-jitsi-meet's Chromium sends. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dcepAck, parseDcep } from './dcep.ts';

function open(label: string, protocol: string): Buffer {
  const l = Buffer.from(label);
  const p = Buffer.from(protocol);
  const head = Buffer.alloc(12);
  head.writeUInt8(0x03, 0);
  head.writeUInt8(0x00, 1); // reliable, ordered
  head.writeUInt16BE(256, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(l.length, 8);
  head.writeUInt16BE(p.length, 10);
  return Buffer.concat([head, l, p]);
}

describe('DCEP', () => {
  it('parses the bridge channel OPEN', () => {
    const buf = open('JVB data channel', 'http://jitsi.org/protocols/colibri');
    expect(buf.length).toBe(62);
    expect(buf.subarray(0, 12).toString('hex')).toBe('030001000000000000100022');
    expect(parseDcep(buf)).toEqual({
      channelType: 0,
      priority: 256,
      reliability: 0,
      label: 'JVB data channel',
      protocol: 'http://jitsi.org/protocols/colibri',
    });
  });
  it('ACK is one byte 0x02 and parses back', () => {
    expect(dcepAck()).toEqual(Buffer.from([2]));
    expect(parseDcep(dcepAck())).toBe('ack');
  });
  it('rejects malformed messages without throwing', () => {
    expect(parseDcep(Buffer.alloc(0))).toEqual({ error: 'empty DCEP message' });
    expect(parseDcep(Buffer.from([3, 0, 1]))).toHaveProperty('error');
    const bad = open('x', 'y');
    bad.writeUInt16BE(50, 8);
    expect(parseDcep(bad)).toHaveProperty('error');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        parseDcep(Buffer.from(bytes));
      }),
    );
  });
});
