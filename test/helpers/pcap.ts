/**
 * Packet captures for the tests: `tcpdump -w` inside a network namespace, and a small reader for
 * the classic pcap files it writes (Ethernet link type, IPv4/IPv6, UDP), with the classifiers the
 * relay tests need: WireGuard messages and RTP in clear. No dependency beyond tcpdump itself
 * (Debian `tcpdump`, installed by scripts/setup.sh test).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Netns } from './netns.ts';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => fs.existsSync(p)) ?? 'ip';

/** One captured frame. */
export interface PcapPacket {
  /** Capture time, µs since the epoch. */
  tsUs: number;
  /** The bytes captured (at most the snap length). */
  data: Buffer;
  /** The frame's length on the wire. */
  origLen: number;
}

/** A frame decoded down to UDP where it is UDP. */
export interface DecodedPacket {
  tsUs: number;
  origLen: number;
  /** `ipv4`, `ipv6`, `arp` or `other` (ethertype in hex). */
  l3: 'ipv4' | 'ipv6' | 'arp' | `other:${string}`;
  /** IP protocol number (IPv4 protocol / IPv6 next header), undefined for non-IP. */
  proto?: number;
  src?: string;
  dst?: string;
  udp?: { srcPort: number; dstPort: number; payload: Buffer };
}

/** Parse a classic pcap file (µs or ns timestamps, either byte order). @throws Error when it is not one. */
export function readPcap(buf: Buffer): { linkType: number; packets: PcapPacket[] } {
  if (buf.length < 24) throw new Error(`not a pcap file (${buf.length} bytes)`);
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else if (buf.readUInt32BE(0) === 0xa1b2c3d4 || buf.readUInt32BE(0) === 0xa1b23c4d) {
    le = false;
    nano = buf.readUInt32BE(0) === 0xa1b23c4d;
  } else {
    throw new Error(`not a pcap file (magic ${buf.subarray(0, 4).toString('hex')}; pcapng is not supported)`);
  }
  const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const linkType = u32(20) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let at = 24;
  // A capture stopped mid-write may end in a partial record: ignore it.
  while (at + 16 <= buf.length) {
    const sec = u32(at);
    const frac = u32(at + 4);
    const incl = u32(at + 8);
    const orig = u32(at + 12);
    if (at + 16 + incl > buf.length) break;
    packets.push({ tsUs: sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac), data: buf.subarray(at + 16, at + 16 + incl), origLen: orig });
    at += 16 + incl;
  }
  return { linkType, packets };
}

const ipv4 = (b: Buffer, at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const ipv6 = (b: Buffer, at: number): string => Array.from({ length: 8 }, (_, i) => b.readUInt16BE(at + 2 * i).toString(16)).join(':');

/** Decode an Ethernet frame (link type 1) down to UDP. */
export function decodeEthernet(p: PcapPacket): DecodedPacket {
  const d = p.data;
  const base = { tsUs: p.tsUs, origLen: p.origLen };
  if (d.length < 14) return { ...base, l3: 'other:short' };
  let type = d.readUInt16BE(12);
  let off = 14;
  if (type === 0x8100 && d.length >= 18) {
    type = d.readUInt16BE(16);
    off = 18;
  }
  if (type === 0x0806) return { ...base, l3: 'arp' };
  let proto: number;
  let l4: number;
  let src: string;
  let dst: string;
  let l3: 'ipv4' | 'ipv6';
  if (type === 0x0800 && d.length >= off + 20) {
    l3 = 'ipv4';
    const ihl = (d[off]! & 0x0f) * 4;
    proto = d[off + 9]!;
    src = ipv4(d, off + 12);
    dst = ipv4(d, off + 16);
    l4 = off + ihl;
  } else if (type === 0x86dd && d.length >= off + 40) {
    l3 = 'ipv6';
    proto = d[off + 6]!; // extension headers are not followed (none on this path)
    src = ipv6(d, off + 8);
    dst = ipv6(d, off + 24);
    l4 = off + 40;
  } else {
    return { ...base, l3: `other:${type.toString(16)}` };
  }
  const out: DecodedPacket = { ...base, l3, proto, src, dst };
  if (proto === 17 && d.length >= l4 + 8) {
    out.udp = { srcPort: d.readUInt16BE(l4), dstPort: d.readUInt16BE(l4 + 2), payload: d.subarray(l4 + 8) };
  }
  return out;
}

/**
 * The WireGuard message type (1 initiation, 2 response, 3 cookie reply, 4 transport data) when `payload` starts
 * like one (type byte 1..4 followed by three reserved zero bytes), else undefined. With a short snap length only the
 * header is checked, not the message size.
 */
export function wireguardType(payload: Buffer): 1 | 2 | 3 | 4 | undefined {
  if (payload.length < 4) return undefined;
  const t = payload[0]!;
  if (t < 1 || t > 4 || payload[1] !== 0 || payload[2] !== 0 || payload[3] !== 0) return undefined;
  return t as 1 | 2 | 3 | 4;
}

/**
 * Whether `payload` looks like RTP in clear: version 2 and a dynamic payload type (96..127) in the second byte's
 * low 7 bits. RTCP (packet types 200..207 → 72..79 without the top bit) and STUN (first byte 0/1) do not match.
 */
export function looksLikeRtp(payload: Buffer): boolean {
  if (payload.length < 12) return false;
  const pt = payload[1]! & 0x7f;
  return payload[0]! >> 6 === 2 && pt >= 96 && pt <= 127;
}

/** A running capture ({@link startCapture}). */
export interface Capture {
  /** Stop tcpdump (SIGTERM by pid), wait for it, and read the file. */
  stop(): Promise<{ linkType: number; packets: DecodedPacket[]; tcpdump: string }>;
}

/**
 * `tcpdump -i <iface> -w <file> -U -n -s <snaplen>` inside `ns` (every frame, no filter), resolved once tcpdump
 * says it is listening. `-U` writes each packet as it comes, so the file is complete when it stops. `-Z root`:
 * Debian's tcpdump would otherwise drop to user tcpdump, which cannot write into a private temp directory.
 * @throws Error with tcpdump's output when it exits or does not start listening within 5 s.
 */
export async function startCapture(ns: Netns, iface: string, file: string, opts: { snaplen?: number } = {}): Promise<Capture> {
  const child = spawn(IP, ['netns', 'exec', ns.name, 'tcpdump', '-i', iface, '-w', file, '-U', '-n', '-Z', 'root', '-s', String(opts.snaplen ?? 128)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start listening on ${iface} in 5 s: ${err}`)), 5000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited: ${err}`));
    });
  });
  return {
    async stop() {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
      const { linkType, packets } = readPcap(fs.readFileSync(file));
      if (linkType !== 1) throw new Error(`capture link type ${linkType}, expected Ethernet (1)`);
      return { linkType, packets: packets.map(decodeEthernet), tcpdump: err.trim() };
    },
  };
}
