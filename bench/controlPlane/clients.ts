/**
 * A client process of the control-plane benchmark (forked by fleet.ts): hosts many werift
 * endpoints (bench/lib/client.ts `BenchClient`), each allocated on the bridge over its
 * colibri2 REST API the way Jicofo does it (bench/lib/octobridge.ts `allocateBenchClient`:
 * allocate with `<sctp/>`, Jingle offer, werift's answer, the session-accept update with the
 * endpoint's audio and video sources), then ICE + DTLS connected and the bridge channel (SCTP
 * stream 0) opened with lib-jitsi-meet's first `ReceiverVideoConstraints`.
 *
 * Only the endpoints named in `senders` send media (the forwarding benchmark's synthetic opus +
 * VP8-shaped RTP, paced here); the others keep their transports alive with ICE consent checks
 * (werift, RFC 7675) and SCTP heartbeats, and decrypt what the bridge forwards to them.
 *
 * IPC (child_process.fork): parent → `ClientCommand`; child → `ClientEvent` (protocol.ts).
 */
import { BenchClient, type ReceiveLog } from '../lib/client.ts';
import { Pacer } from '../lib/media.ts';
import { Samples } from '../lib/measure.ts';
import { allocateBenchClient } from '../lib/octobridge.ts';
import { RestColibri2Client } from '../../src/focus/RestColibri2Client.ts';
import { SENDER_PROFILE, type ClientCommand, type ClientEvent } from './protocol.ts';

const clients: BenchClient[] = [];
const log: ReceiveLog = { delays: new Samples(), recording: false };
const pacer = new Pacer(SENDER_PROFILE, { maxBurstFrames: 3 });
let pacing = false;
let index = 0;

/** Join one endpoint: allocate, answer, connect, open the bridge channel. */
async function joinOne(bridge: RestColibri2Client, meetingId: string, id: string, create: boolean, send: boolean): Promise<void> {
  const client = new BenchClient(id, 'sender', index++, SENDER_PROFILE, log);
  clients.push(client);
  await allocateBenchClient(bridge, meetingId, client, { create, name: `${meetingId}@conference.example.com` });
  await client.connected(30_000);
  await client.openBridgeChannel(30_000);
  if (!send) return;
  pacer.add(client.stream, client.sink());
  if (!pacing) pacer.start();
  pacing = true;
}

/** Join `conferences`, `concurrency` conferences at a time, each one endpoint after the other (Jicofo's order). */
async function join(cmd: Extract<ClientCommand, { type: 'join' }>): Promise<ClientEvent> {
  const t0 = performance.now();
  const bridge = new RestColibri2Client(cmd.bridgeUrl);
  const senders = new Set(cmd.senders);
  const queue = [...cmd.conferences];
  let connected = 0;
  const errors: string[] = [];
  const worker = async (): Promise<void> => {
    for (let conf = queue.shift(); conf; conf = queue.shift()) {
      for (const [i, id] of conf.endpoints.entries()) {
        try {
          await joinOne(bridge, conf.meetingId, id, i === 0, senders.has(id));
          connected += 1;
        } catch (err) {
          errors.push(`${id}: ${(err as Error).message}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cmd.concurrency) }, worker));
  return { type: 'joined', connected, failed: errors.length, errors: errors.slice(0, 5), ms: performance.now() - t0 };
}

const send = (e: ClientEvent): void => void process.send?.(e);

process.on('message', (m: ClientCommand) => {
  if (m.type === 'join') {
    join(m).then(send, (err: unknown) => send({ type: 'joined', connected: 0, failed: -1, errors: [(err as Error).message], ms: 0 }));
  } else if (m.type === 'close') {
    pacer.stop();
    void Promise.allSettled(clients.map((c) => c.close())).then(() => {
      send({ type: 'closed' });
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(0));
