/**
 * A userspace UDP impairment relay (the test machines have no netem): the light participants'
 * offers get the relay's address instead of the bridge's ICE candidates, and the relay forwards
 * between them, dropping each RTP/RTCP packet with a fixed probability in both directions.
 *
 * One pipe per peer connection: a client-facing socket (the candidate the client sees) and a
 * bridge-facing one (the remote address the bridge sees, so each client keeps its own 5-tuple).
 * STUN (first byte 0-3) and DTLS (20-63) always pass, so ICE and the handshake come up and the
 * loss applies to media and its feedback only (RFC 7983 demultiplexing); RTP/RTCP are 128-191.
 */
import dgram from 'node:dgram';
import type { IceCandidate } from '../../../src/colibri2/types.ts';
import type { CandidateRewriter } from './light.ts';

/** Packets the relay passed and dropped, per direction. */
export interface RelayCounters {
  up: { passed: number; dropped: number };
  down: { passed: number; dropped: number };
}

/** See the module docstring. */
export class ImpairmentRelay implements CandidateRewriter {
  #loss: number;
  readonly #sockets: dgram.Socket[] = [];
  readonly counters: RelayCounters = { up: { passed: 0, dropped: 0 }, down: { passed: 0, dropped: 0 } };

  /** @param loss drop probability of an RTP/RTCP packet, 0..1, each direction */
  constructor(loss: number) {
    if (!(loss >= 0 && loss < 1)) throw new RangeError(`loss must be in [0, 1), got ${loss}`);
    this.#loss = loss;
  }

  /** Change the drop probability (0..1) from now on, for every pipe. */
  setLoss(loss: number): void {
    if (!(loss >= 0 && loss < 1)) throw new RangeError(`loss must be in [0, 1), got ${loss}`);
    this.#loss = loss;
  }

  #drop(msg: Buffer, dir: 'up' | 'down'): boolean {
    const b = msg[0] ?? 0;
    const media = b >= 128 && b <= 191;
    const drop = media && Math.random() < this.#loss;
    this.counters[dir][drop ? 'dropped' : 'passed'] += 1;
    return drop;
  }

  /**
   * A pipe to the bridge's UDP candidate (127.0.0.1 preferred) and the candidate list the client
   * should use instead: one host candidate on the pipe's client-facing port.
   * @throws Error when the offer has no UDP candidate.
   */
  async rewrite(candidates: IceCandidate[]): Promise<IceCandidate[]> {
    const udp = candidates.filter((c) => c.protocol === 'udp');
    const target = udp.find((c) => c.ip === '127.0.0.1') ?? udp[0];
    if (!target) throw new Error('impairment relay: the offer has no UDP candidate');
    const client = dgram.createSocket('udp4');
    const bridge = dgram.createSocket('udp4');
    this.#sockets.push(client, bridge);
    await Promise.all([client, bridge].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    let peer: { address: string; port: number } | undefined;
    client.on('message', (msg, from) => {
      peer = { address: from.address, port: from.port };
      if (!this.#drop(msg, 'up')) bridge.send(msg, target.port, target.ip);
    });
    bridge.on('message', (msg) => {
      if (peer && !this.#drop(msg, 'down')) client.send(msg, peer.port, peer.address);
    });
    return [{ ...target, ip: '127.0.0.1', port: client.address().port, type: 'host' }];
  }

  /** Close every pipe. */
  close(): void {
    for (const s of this.#sockets) s.close();
    this.#sockets.length = 0;
  }
}
