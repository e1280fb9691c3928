/**
 * The octobridge target of the forwarding benchmark: a real bridge in this process
 * (bench/lib/bridge.ts, focus off), each client allocated the way Jicofo does it through the
 * typed colibri2 API:
 *   1. `conference-modify` with `create` (bench/lib/jicofo.ts `allocate` shape: `<media>` =
 *      what the werift client offers, `ice-controlling`, `<sctp/>`, source-names + ssrc-rewriting);
 *   2. the answer → Jicofo's `session-initiate` (src/focus/jingle.ts `buildSessionInitiate`) →
 *      the remote offer lib-jitsi-meet would apply (src/focus/page/sdp.js `jingleToSdp`: no
 *      `a=ice-lite`, `a=setup:actpass`, one m-line per bridge source, BUNDLE with data);
 *   3. werift's answer → `session-accept` (`answerToJingle`) → Jicofo's endpoint update
 *      (`sessionAcceptToColibri2`: transport with `setup=active`, the client's sources).
 * Receivers then open the bridge channel; octobridge resumes forwarding once it announced the
 * source maps on it. Senders never open it, so the consumers octobridge creates towards them (every
 * endpoint gets every other endpoint's sources) stay paused: they cost the worker a check per packet
 * but send nothing, and the senders receive nothing, as with the baseline's send-only clients.
 */
import { randomUUID } from 'node:crypto';
import type { RunningBridge } from '../../src/bridge.ts';
import type { ConferenceModifyRequest, EndpointModify } from '../../src/colibri2/types.ts';
import type { Colibri2Client } from '../../src/focus/Focus.ts';
import { buildSessionInitiate, sessionAcceptToColibri2 } from '../../src/focus/jingle.ts';
import { startTestBridge } from './bridge.ts';
import { CLIENT_MEDIA, type BenchClient } from './client.ts';
import { childrenOf, commandOf } from './measure.ts';
import { pageSdp as sdp } from './pageSdp.ts';
import type { Target } from './target.ts';

/** A mediasoup worker as the pool may expose it (`bridge.media.workers[i].worker`). */
interface PoolEntry {
  worker: { pid: number };
}

/** Options of {@link startOctobridge}. */
export interface OctobridgeOptions {
  /** Extra bridge env (e.g. OCTOBRIDGE_WORKERS). */
  env: Record<string, string>;
  /** Put `a=ice-lite` into the offer (lib-jitsi-meet does not; see docs/standalone.md). */
  iceLite: boolean;
}

/**
 * Steps 1–3 above for one client on `bridge` (in-process or over REST): allocate (creating the conference when
 * `create`), offer, werift's answer, the session-accept update.
 * @returns the endpoint update sent in step 3 (the client's transport and sources).
 * @throws Colibri2Error from the bridge.
 */
export async function allocateBenchClient(
  bridge: Colibri2Client,
  meetingId: string,
  client: BenchClient,
  opts: { create: boolean; name: string; iceLite?: boolean },
): Promise<EndpointModify> {
  const req: ConferenceModifyRequest = {
    meetingId,
    ...(opts.create ? { create: true, name: opts.name } : {}),
    endpoints: [
      {
        id: client.id,
        create: true,
        statsId: client.id,
        mucRole: 'participant',
        media: structuredClone(CLIENT_MEDIA),
        transport: { iceControlling: true, sctp: {} },
        capabilities: ['source-names', 'ssrc-rewriting'],
      },
    ],
  };
  const allocation = await bridge.conferenceModify(req);
  const offer = sdp.jingleToSdp(buildSessionInitiate(allocation, client.id, CLIENT_MEDIA), { iceLite: opts.iceLite ?? false });
  const answer = await client.answer(offer);
  const update = sessionAcceptToColibri2(sdp.answerToJingle(answer, { endpointId: client.id }), client.id);
  await bridge.conferenceModify({ meetingId, endpoints: [update] });
  return update;
}

/** Start a bridge and return it as a {@link Target}. */
export async function startOctobridge(name: string, opts: OctobridgeOptions): Promise<Target> {
  const bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0', ...opts.env });
  const meetingId = randomUUID();
  let created = false;
  const join = async (client: BenchClient): Promise<void> => {
    await allocateBenchClient(bridge.videobridge, meetingId, client, { create: !created, name: 'bench@conference.example.com', iceLite: opts.iceLite });
    created = true;
  };

  return {
    name,
    async addSender(client) {
      await join(client);
      await client.connected();
    },
    async addReceiver(client) {
      await join(client);
      await client.connected();
      await client.openBridgeChannel();
    },
    workerPids: () => workerPids(bridge),
    placement: () => placement(bridge),
    async close() {
      await bridge.close();
    },
  };
}

/** The bridge's media engine as seen here: a pool (`workers`) or, before the pool, one `worker`. */
interface MediaShape {
  workers?: PoolEntry[];
  worker?: { pid: number };
}

/** The pool's workers when the bridge has one (`media.workers`). */
function poolOf(bridge: RunningBridge): PoolEntry[] | undefined {
  const workers = (bridge.media as unknown as MediaShape).workers;
  return Array.isArray(workers) && workers.every((w) => typeof w?.worker?.pid === 'number') ? workers : undefined;
}

/** Worker pids: the pool's, else `media.worker`'s, else this process's mediasoup-worker children. */
function workerPids(bridge: RunningBridge): number[] {
  const single = (bridge.media as unknown as MediaShape).worker;
  return poolOf(bridge)?.map((w) => w.worker.pid) ?? (single ? [single.pid] : mediasoupChildren());
}

function mediasoupChildren(): number[] {
  return childrenOf(process.pid).filter((pid) => commandOf(pid).startsWith('mediasoup-worke'));
}

/** Endpoints per worker, e.g. `8+4 endpoints` (a router's spare transports, made ahead of allocations, not counted). */
async function placement(bridge: RunningBridge): Promise<string | undefined> {
  const pool = poolOf(bridge);
  if (!pool) return undefined;
  const counts = pool.map(() => 0);
  for (const c of bridge.videobridge.conferences()) {
    for (const e of c.endpoints()) {
      const i = pool.findIndex((w) => w.worker.pid === e.mediaEndpoint.slot.worker.pid);
      if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
    }
  }
  return `${counts.join('+')} endpoints`;
}
