/**
 * The lightweight participants (light.ts: same media, same frame tracking, NACK and PLI) joining
 * the raw mediasoup SFU of `--raw` (rawSfu.ts has the protocol) over its WebSocket, with two peer
 * connections as mediasoup-client has: a sender answers the send transport's offer with its audio
 * and video SSRCs (one VP8 stream: no simulcast here); every participant answers the receive
 * transport's offer `recvonly`, and the `consume` messages say which SSRC carries which remote
 * source (no renegotiation: PeerSession sees every SSRC at its transport).
 */
import { MediaStreamTrack } from 'werift';
import { sendSsrcsOf, type LightParticipant } from '../lib/light/light.ts';
import type { PeerSession } from '../lib/light/peer.ts';
import { nowMs } from '../lib/light/receive.ts';
import type { RawClientMessage, RawServerMessage } from './rawSfu.ts';

/**
 * Join room `p.spec.room` of the raw SFU at `url` (`ws://host:port/`). Resolves once the
 * participant's send connection (if it sends) and receive connection are up; sources appearing
 * later are announced in the background.
 * @throws Error when the server reports an error or a connection does not come up within `timeoutMs`.
 */
export async function joinRaw(p: LightParticipant, url: string, timeoutMs = 20_000): Promise<{ close(): void }> {
  const ws = new WebSocket(`${url}${encodeURIComponent(p.spec.room)}`);
  let recv: PeerSession | undefined;
  let queue = Promise.resolve();
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const first = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const timer = setTimeout(() => settle?.reject(new Error(`${p.spec.id}: not connected after ${timeoutMs} ms`)), timeoutMs);
  const post = (m: RawClientMessage): void => ws.send(JSON.stringify(m));

  const onOffer = async (direction: 'send' | 'recv', sdp: string): Promise<void> => {
    const s = p.newSession();
    if (direction === 'recv') recv = s;
    await s.pc.setRemoteDescription({ type: 'offer', sdp });
    for (const t of s.pc.getTransceivers()) {
      if (direction === 'send') {
        t.setDirection('sendonly');
        await t.sender.replaceTrack(new MediaStreamTrack({ kind: t.kind as 'audio' | 'video' }));
      } else {
        t.setDirection('recvonly');
      }
    }
    await s.pc.setLocalDescription(await s.pc.createAnswer());
    const answer = s.pc.localDescription?.sdp ?? '';
    p.startSession(s, direction === 'send' ? sendSsrcsOf(answer) : { video: [] });
    post({ type: 'answer', direction, sdp: answer });
    await s.connected(timeoutMs);
    // Connected with its first connection (a sender's send one), as the Janus participants are.
    p.connectedAt ??= nowMs();
    if (direction === 'recv') settle?.resolve();
  };

  ws.onopen = () => post({ type: 'join', id: p.spec.id, send: p.spec.send });
  ws.onerror = () => settle?.reject(new Error(`${p.spec.id}: raw SFU WebSocket error`));
  ws.onclose = (e) => {
    if (!p.connectedAt) settle?.reject(new Error(`${p.spec.id}: raw SFU closed (${e.code} ${e.reason})`));
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as RawServerMessage;
    if (m.type === 'offer') {
      queue = queue
        .then(() => onOffer(m.direction, m.sdp))
        .catch((err: unknown) => {
          const msg = `${m.direction} offer: ${(err as Error).message}`;
          p.errors.push(msg);
          settle?.reject(new Error(`${p.spec.id}: ${msg}`));
        });
    } else if (m.type === 'consume' && recv) {
      const source = `${m.owner}-${m.kind === 'audio' ? 'a0' : 'v0'}`;
      p.announce(recv, m.ssrc, m.kind, source, m.owner);
      if (m.rtx !== undefined) p.announce(recv, m.rtx, m.kind, source, m.owner, true);
    } else if (m.type === 'error') {
      p.errors.push(`raw: ${m.message}`);
      settle?.reject(new Error(`${p.spec.id}: raw: ${m.message}`));
    }
  };
  try {
    await first;
  } finally {
    clearTimeout(timer);
  }
  return { close: () => ws.close(1000, 'leave') };
}
