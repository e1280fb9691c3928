/**
 * The worker as the ICE-controlling agent (worker patch 0011, node-patch 0003), without a browser: werift's ICE agent
 * plays a full, ICE-controlled peer (what a browser is when it answers Jicofo's offer, RFC 8445 §6.1.1) against a
 * WebRtcTransport on a WebRtcServer, as the bridge makes them.
 *
 * - Given the peer's ufrag/pwd (`connect({ iceParameters })`), the transport answers the peer's ICE-CONTROLLED
 *   checks with 200 and nominates with its own Binding requests (RFC 8445 §7.2.2): USERNAME `peer:ours`, PRIORITY,
 *   ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY keyed with the peer's password, FINGERPRINT. The peer stays
 *   controlled and selects the pair; the transport goes `completed` on that tuple.
 * - Without them, the signed 487 Role Conflict of patch 0003: the peer switches to controlling and nominates.
 * - ICE restart: new local credentials (`restartIce`), a peer with new ones of its own (a second `connect` that
 *   carries them; DTLS untouched): the transport nominates again, signed with the new password.
 *
 * The worker binary: OCTOBRIDGE_WORKER_BIN (as the bridge's config) or native/out/mediasoup-worker.
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import { Candidate, Connection, type IceOptions, type Message } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/config.ts';

const BIN = process.env.OCTOBRIDGE_WORKER_BIN ?? path.join(PROJECT_ROOT, 'native', 'out', 'mediasoup-worker');
/** DTLS parameters of the peer (DTLS itself never starts here: the peer sends no ClientHello). */
const DTLS: ms.DtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };

let worker: ms.Worker;
let server: ms.WebRtcServer;
let router: ms.Router;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ workerBin: BIN, logLevel: 'warn' });
  server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
});
afterAll(() => {
  worker?.close();
});

/** A Binding request werift received: its raw bytes, when (performance.now(), ms) and on which of its ports. */
interface Received {
  message: Message;
  raw: Buffer;
  at: number;
  port: number;
}

/** Whether MESSAGE-INTEGRITY of a raw STUN message is HMAC-SHA1 keyed with `password` (RFC 5389 §15.4). */
function integrityValid(raw: Buffer, password: string): boolean {
  for (let off = 20; off + 4 <= raw.length; ) {
    const type = raw.readUInt16BE(off);
    const len = raw.readUInt16BE(off + 2);
    if (type === 0x0008) {
      const head = Buffer.from(raw.subarray(0, off));
      head.writeUInt16BE(off + 24 - 20, 2); // length as if MESSAGE-INTEGRITY were the last attribute
      return createHmac('sha1', password)
        .update(head)
        .digest()
        .equals(raw.subarray(off + 4, off + 24));
    }
    off += 4 + Math.ceil(len / 4) * 4;
  }
  return false;
}

/**
 * werift as a full ICE agent on loopback, controlled unless it switches; records the Binding requests it gets.
 * `hosts`: its host candidates' addresses (127.0.0.1; a second one makes a second candidate pair).
 */
class Peer {
  readonly ice: Connection;
  readonly requests: Received[] = [];
  readonly #watched = new Set<unknown>();

  constructor(hosts = ['127.0.0.1'], options: Partial<IceOptions> = {}) {
    this.ice = new Connection(false, {
      useIpv4: true,
      useIpv6: false,
      additionalHostAddresses: hosts,
      filterCandidatePair: (pair) => hosts.includes(pair.localCandidate.host),
      ...options,
    });
  }

  /** Gathers, takes the transport's ICE parameters and candidates; `connect()` then runs the checks. */
  async start(transport: ms.WebRtcTransport, local: ms.IceParameters = transport.iceParameters): Promise<void> {
    await this.ice.gatherCandidates();
    // Record what arrives on werift's sockets (a private field: test only).
    type Sock = { localCandidate?: { port: number }; onRequestReceived: { subscribe(f: (m: Message, a: unknown, d: Buffer) => void): void } };
    for (const p of (this.ice as unknown as { protocols: Sock[] }).protocols) {
      if (this.#watched.has(p)) continue;
      this.#watched.add(p);
      p.onRequestReceived.subscribe((message, _addr, raw) => this.requests.push({ message, raw, at: performance.now(), port: p.localCandidate?.port ?? 0 }));
    }
    this.ice.setRemoteParams({ iceLite: false, usernameFragment: local.usernameFragment, password: local.password });
    for (const c of transport.iceCandidates) {
      await this.ice.addRemoteCandidate(new Candidate(c.foundation, 1, c.protocol, c.priority, c.address, c.port, 'host'));
    }
    await this.ice.addRemoteCandidate(undefined);
  }

  get credentials(): ms.IceParameters {
    return { usernameFragment: this.ice.localUsername, password: this.ice.localPassword };
  }

  /** Runs ICE to the end (rejects after `ms`). */
  async connect(timeoutMs = 8000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ice.connect(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`werift ICE not done in ${timeoutMs} ms (state ${this.ice.state})`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }
}

function iceState(transport: ms.WebRtcTransport, state: ms.IceState, timeoutMs = 5000): Promise<void> {
  if (transport.iceState === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`transport ICE state ${transport.iceState}, not ${state}`)), timeoutMs);
    transport.on('icestatechange', (s) => {
      if (s !== state) return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The transport's nominating requests among what the peer received. */
function nominations(peer: Peer): Received[] {
  return peer.requests.filter((r) => r.message.attributesKeys.includes('USE-CANDIDATE'));
}

describe('the worker nominates for an ICE-controlled peer', () => {
  it('with the peer ufrag/pwd: 200 to its checks, then a signed USE-CANDIDATE check; the peer stays controlled', async () => {
    const transport = await router.createWebRtcTransport({ webRtcServer: server });
    const peer = new Peer();
    try {
      await peer.start(transport);
      await transport.connect({ dtlsParameters: DTLS, iceParameters: peer.credentials });
      const completed = iceState(transport, 'completed');
      await peer.connect();
      await completed;

      expect(peer.ice.iceControlling).toBe(false);
      expect(peer.ice.nominated).toBeDefined();
      const sent = nominations(peer);
      expect(sent.length).toBeGreaterThanOrEqual(1);
      const { usernameFragment: ours } = transport.iceParameters;
      for (const { message, raw } of sent) {
        expect(message.getAttributeValue('USERNAME')).toBe(`${peer.ice.localUsername}:${ours}`);
        expect(message.attributesKeys).toEqual(expect.arrayContaining(['PRIORITY', 'ICE-CONTROLLING', 'USE-CANDIDATE', 'MESSAGE-INTEGRITY', 'FINGERPRINT']));
        expect(message.attributesKeys).not.toContain('ICE-CONTROLLED');
        expect(integrityValid(raw, peer.ice.localPassword)).toBe(true);
        expect(integrityValid(raw, transport.iceParameters.password)).toBe(false);
      }
      // One nomination per tuple: the peer's later checks on the pair (and consent checks) get their 200 only.
      const transactions = new Set(sent.map((r) => r.message.transactionIdHex));
      expect(transactions.size).toBe(1);
      // The selected tuple is the pair the peer nominated.
      const nominated = peer.ice.nominated!;
      expect(transport.iceSelectedTuple).toMatchObject({ remoteIp: '127.0.0.1', remotePort: nominated.localCandidate.port, protocol: 'udp' });
    } finally {
      await peer.ice.close();
      transport.close();
    }
  });

  it('without the peer ufrag/pwd: the signed 487 as before, and the peer switches to controlling', async () => {
    const transport = await router.createWebRtcTransport({ webRtcServer: server });
    const peer = new Peer();
    try {
      await peer.start(transport);
      await transport.connect({ dtlsParameters: DTLS });
      const completed = iceState(transport, 'completed');
      await peer.connect();
      await completed;
      expect(peer.ice.iceControlling).toBe(true);
      expect(nominations(peer)).toEqual([]);
    } finally {
      await peer.ice.close();
      transport.close();
    }
  });

  it('a pair whose nomination gets no answer: 7 transmissions of one request, 100 ms doubling, then the next pair', async () => {
    const transport = await router.createWebRtcTransport({ webRtcServer: server });
    // Two host candidates, so two pairs of equal priority: one nomination at a time. werift ignores every request on
    // the port where the first nomination arrived (its own checks from there still succeed).
    let dead: number | undefined;
    const peer = new Peer(['127.0.0.1', '127.0.0.2'], {
      filterStunResponse: (message, _addr, protocol) => {
        if (!message.attributesKeys.includes('USE-CANDIDATE')) return true;
        const port = protocol.localCandidate?.port;
        dead ??= port;
        return port !== dead;
      },
    });
    try {
      await peer.start(transport);
      await transport.connect({ dtlsParameters: DTLS, iceParameters: peer.credentials });
      const completed = iceState(transport, 'completed', 12_000);
      await peer.connect(12_000);
      await completed;

      const lost = nominations(peer).filter((r) => r.port === dead);
      expect(lost).toHaveLength(7);
      expect(new Set(lost.map((r) => r.message.transactionIdHex)).size).toBe(1);
      const gaps = lost.slice(1).map((r, i) => r.at - lost[i]!.at);
      [100, 200, 400, 800, 1600, 3200].forEach((expected, i) => {
        expect(gaps[i]).toBeGreaterThan(expected * 0.8);
        expect(gaps[i]).toBeLessThan(expected * 1.5 + 50);
      });
      const other = nominations(peer).filter((r) => r.port !== dead);
      expect(other.length).toBeGreaterThanOrEqual(1);
      // The second pair only once the first failed, 1.6 s after its last transmission.
      expect(other[0]!.at - lost[6]!.at).toBeGreaterThan(1600 * 0.8);
      expect(transport.iceSelectedTuple?.remotePort).not.toBe(dead);
      expect(transport.iceSelectedTuple?.remotePort).toBe(peer.ice.nominated?.localCandidate.port);
      expect(peer.ice.iceControlling).toBe(false);
    } finally {
      await peer.ice.close();
      transport.close();
    }
  }, 20_000);

  it('refuses ICE credentials longer than RFC 8445 §5.3 allows (256 characters)', async () => {
    const transport = await router.createWebRtcTransport({ webRtcServer: server });
    try {
      await expect(transport.connect({ dtlsParameters: DTLS, iceParameters: { usernameFragment: 'u'.repeat(257), password: 'p'.repeat(24) } })).rejects.toThrow(
        /iceParameters/,
      );
      await expect(transport.connect({ dtlsParameters: DTLS, iceParameters: { usernameFragment: 'u'.repeat(4), password: '' } })).rejects.toThrow(
        /iceParameters/,
      );
      // Nothing was applied: a valid connect() still works.
      await transport.connect({ dtlsParameters: DTLS, iceParameters: { usernameFragment: 'u'.repeat(256), password: 'p'.repeat(256) } });
    } finally {
      transport.close();
    }
  });

  it('ICE restart: a second connect() carries the peer new ufrag/pwd only, and the transport nominates again', async () => {
    const transport = await router.createWebRtcTransport({ webRtcServer: server });
    const peer = new Peer();
    try {
      await peer.start(transport);
      await transport.connect({ dtlsParameters: DTLS, iceParameters: peer.credentials });
      await peer.connect();
      await iceState(transport, 'completed');
      const before = nominations(peer).length;

      // The bridge's new credentials, the peer's new session (werift: new ufrag/pwd and sockets), then the peer's
      // answer reaches the bridge: connect() again, its DTLS parameters ignored.
      const local = await transport.restartIce();
      await peer.ice.restart();
      await peer.start(transport, local);
      await transport.connect({ dtlsParameters: DTLS, iceParameters: peer.credentials });
      await peer.connect();
      await until(() => transport.iceSelectedTuple?.remotePort === peer.ice.nominated?.localCandidate.port);

      expect(peer.ice.iceControlling).toBe(false);
      const after = nominations(peer).slice(before);
      expect(after.length).toBeGreaterThanOrEqual(1);
      for (const { message, raw } of after) {
        expect(message.getAttributeValue('USERNAME')).toBe(`${peer.ice.localUsername}:${local.usernameFragment}`);
        expect(integrityValid(raw, peer.ice.localPassword)).toBe(true);
      }
      expect(transport.iceState).toBe('completed');
      expect(transport.dtlsState).toBe('connecting');
      // A repeated connect() without ICE parameters is still refused.
      await expect(transport.connect({ dtlsParameters: DTLS })).rejects.toThrow(/already called/);
    } finally {
      await peer.ice.close();
      transport.close();
    }
  });
});

async function until(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
