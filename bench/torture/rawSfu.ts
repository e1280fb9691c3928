/**
 * The raw mediasoup SFU of the torture harness's `--raw` target, run as its own child process
 * (rawServer.ts starts it): what an SFU must do on octobridge's worker binary and nothing more.
 * No octobridge code runs in it apart from the codec table (src/media/rtp.ts `routerCodecs`,
 * Jicofo's numbering) and the forwarding benchmark's SDP helpers (bench/lib/raw.ts).
 *
 * - `RAW_WORKERS` mediasoup workers (default one per core, as octobridge), each with a
 *   WebRtcServer on one loopback UDP port; one router per room, rooms round robin over the workers;
 * - signalling: a WebSocket per participant at `/<room>`, mediasoup-client style (the server
 *   offers from its transport's parameters, `a=ice-lite`): the client sends
 *   `{type: 'join', id, send}`; a sender gets an `offer` for its send transport (`recvonly`
 *   audio + video m-lines), answers, and each sending m-line of the answer becomes a producer; then
 *   every participant gets an `offer` for its receive transport (`sendonly`), answers, and
 *   consumes every producer of the other participants of its room, now and as they appear
 *   (paused until that transport's DTLS is connected, then resumed); each
 *   consumer is announced as `{type: 'consume', kind, ssrc, rtx, owner}` (no renegotiation: the
 *   light clients see every SSRC at their transport, bench/lib/light/peer.ts);
 * - no bandwidth allocation, layer selection, last-N, stats polling or bridge channel.
 *
 * Prints `{"msg":"raw started","port":N}` on stdout once it listens on 127.0.0.1:N.
 */
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import { WebSocketServer, type WebSocket } from 'ws';
import { JICOFO_NUMBERING, routerCodecs } from '../../src/media/rtp.ts';
import { CLIENT_MEDIA } from '../lib/client.ts';
import { connect, offerSdp, producerParameters, receiverCapabilities, WORKER_BIN } from '../lib/raw.ts';

/** Client → server. */
export type RawClientMessage = { type: 'join'; id: string; send: boolean } | { type: 'answer'; direction: 'send' | 'recv'; sdp: string };
/** Server → client. */
export type RawServerMessage =
  | { type: 'offer'; direction: 'send' | 'recv'; sdp: string }
  | { type: 'consume'; kind: 'audio' | 'video'; ssrc: number; rtx?: number; owner: string }
  | { type: 'error'; message: string };

/** One participant of a room. */
interface Peer {
  id: string;
  ws: WebSocket;
  transports: ms.WebRtcTransport[];
  recv?: ms.WebRtcTransport;
  producers: ms.Producer[];
  /** Producers consumed (or being consumed) on `recv`: each once. */
  consumed: Set<string>;
  /** Consumers waiting for `recv` to connect. */
  paused: ms.Consumer[];
}

interface Room {
  router: ms.Router;
  webRtcServer: ms.WebRtcServer;
  peers: Set<Peer>;
}

const count = Number(process.env.RAW_WORKERS) || os.cpus().length;
const workers = await Promise.all(Array.from({ length: count }, () => mediasoup.createWorker({ workerBin: WORKER_BIN, logLevel: 'warn' })));
const servers = await Promise.all(workers.map((w) => w.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] })));
const rooms = new Map<string, Promise<Room>>();

/** The room `name`, its router on the next worker round robin. */
function roomOf(name: string): Promise<Room> {
  let room = rooms.get(name);
  if (!room) {
    const i = rooms.size % workers.length;
    room = (workers[i] as ms.Worker)
      .createRouter({ mediaCodecs: routerCodecs(['VP8'], JICOFO_NUMBERING), headerExtensionIds: JICOFO_NUMBERING.headerExtensionIds } as ms.RouterOptions)
      .then((router) => ({ router, webRtcServer: servers[i] as ms.WebRtcServer, peers: new Set<Peer>() }));
    rooms.set(name, room);
  }
  return room;
}

const send = (peer: Peer, m: RawServerMessage): void => {
  if (peer.ws.readyState === peer.ws.OPEN) peer.ws.send(JSON.stringify(m));
};

/** Consume `producer` (of `owner`) on `peer`'s receive transport and announce it. */
async function consume(room: Room, peer: Peer, owner: Peer, producer: ms.Producer): Promise<void> {
  if (!peer.recv || peer.recv.closed || producer.closed || peer.consumed.has(producer.id)) return;
  peer.consumed.add(producer.id);
  const caps = receiverCapabilities(room.router.rtpCapabilities, CLIENT_MEDIA);
  if (!room.router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) return;
  // Paused until the receive transport is connected, then resumed (with a keyframe request), as
  // mediasoup's examples do.
  const recv = peer.recv;
  const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: caps, paused: recv.dtlsState !== 'connected' });
  if (consumer.paused) {
    if (recv.dtlsState === 'connected') await consumer.resume();
    else peer.paused.push(consumer);
  }
  const enc = consumer.rtpParameters.encodings?.[0];
  if (enc?.ssrc === undefined) return;
  send(peer, { type: 'consume', kind: consumer.kind, ssrc: enc.ssrc, ...(enc.rtx?.ssrc !== undefined ? { rtx: enc.rtx.ssrc } : {}), owner: owner.id });
}

async function newTransport(room: Room, peer: Peer): Promise<ms.WebRtcTransport> {
  const t = await room.router.createWebRtcTransport({
    webRtcServer: room.webRtcServer,
    enableUdp: true,
    preferUdp: true,
    initialAvailableOutgoingBitrate: 1_000_000,
    iceConsentTimeout: 30,
  });
  peer.transports.push(t);
  return t;
}

async function offerReceive(room: Room, peer: Peer): Promise<void> {
  const recv = await newTransport(room, peer);
  peer.recv = recv;
  recv.on('dtlsstatechange', (state) => {
    if (state === 'connected') for (const c of peer.paused.splice(0)) void c.resume().catch(() => undefined);
  });
  send(peer, { type: 'offer', direction: 'recv', sdp: offerSdp(peer.recv, 'sendonly') });
}

/** One participant's signalling (module docstring). */
function onConnection(ws: WebSocket, roomName: string): void {
  const peer: Peer = { id: '', ws, transports: [], producers: [], consumed: new Set(), paused: [] };
  const roomP = roomOf(roomName);
  let sendTransport: ms.WebRtcTransport | undefined;
  let queue = Promise.resolve();
  const handle = async (m: RawClientMessage): Promise<void> => {
    const room = await roomP;
    if (m.type === 'join') {
      peer.id = m.id;
      room.peers.add(peer);
      if (m.send) {
        sendTransport = await newTransport(room, peer);
        send(peer, { type: 'offer', direction: 'send', sdp: offerSdp(sendTransport, 'recvonly') });
      } else {
        await offerReceive(room, peer);
      }
    } else if (m.direction === 'send' && sendTransport) {
      await connect(sendTransport, m.sdp);
      for (const rtp of producerParameters(m.sdp, peer.id)) {
        const producer = await sendTransport.produce({ kind: rtp.kind, rtpParameters: rtp.parameters });
        peer.producers.push(producer);
        for (const other of room.peers) if (other !== peer) await consume(room, other, peer, producer);
      }
      await offerReceive(room, peer);
    } else if (m.direction === 'recv' && peer.recv) {
      await connect(peer.recv, m.sdp);
      for (const other of room.peers) {
        if (other === peer) continue;
        for (const producer of other.producers) await consume(room, peer, other, producer);
      }
    }
  };
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as RawClientMessage;
    queue = queue.then(() => handle(m)).catch((err: unknown) => send(peer, { type: 'error', message: (err as Error).message }));
  });
  ws.on('close', () => {
    void roomP.then((room) => room.peers.delete(peer));
    for (const t of peer.transports) t.close();
  });
}

const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: httpServer });
wss.on('connection', (ws, req) => onConnection(ws, decodeURIComponent((req.url ?? '/').slice(1))));
await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
process.stdout.write(`${JSON.stringify({ msg: 'raw started', port: (httpServer.address() as AddressInfo).port })}\n`);
const stop = (): void => {
  for (const w of workers) w.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
