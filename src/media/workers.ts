/**
 * The worker pool as the rest of media/ sees it: one worker's slot, and what a conference uses of the pool. The
 * engine (`MediaEngine`) owns the workers and hands each conference a {@link WorkerPool} of callbacks, so a
 * conference never holds the engine.
 */
import type * as ms from 'mediasoup/types';

/**
 * One mediasoup worker of the pool with its WebRtcServer. Worker `index` listens on
 * `udpPort + index` (and ICE-TCP on `tcpPort + index`): a UDP port can be bound by one worker
 * only (with SO_REUSEPORT the kernel would spread a client's packets over workers that do not
 * know its ICE ufrag), so each worker has its own port on the same advertised addresses.
 * A replacement worker (after a death) takes the same index and port.
 */
export interface WorkerSlot {
  readonly index: number;
  worker: ms.Worker;
  webRtcServer: ms.WebRtcServer;
  /** The UDP port its WebRtcServer listens on. */
  udpPort: number;
  /** False from the worker's death until its replacement is up. */
  alive: boolean;
  /** RTP packets/s in + out through its endpoints, as of the last traffic sample. */
  packetRate: number;
  /**
   * Single-port mode: what its transports' ICE username fragments start with, so that the port steers their STUN
   * to it (MediaEngine); it changes when another worker dies. Undefined with a port per worker.
   */
  iceUfragPrefix?: string;
}

/** What a conference uses of the pool (`MediaEngine.createConference` builds it). */
export interface WorkerPool {
  /** The settings every endpoint transport is created with. */
  readonly transport: {
    /** ICE over TCP as well (`media.ice-tcp.enabled`). */
    iceTcp: boolean;
    /** mediasoup `initialAvailableOutgoingBitrate`, bps: where each receiver's estimate starts. */
    initialOutgoingBitrateBps: number;
    /** mediasoup `iceConsentTimeout`, s. */
    iceConsentTimeoutSec: number;
  };
  /** Consumers on one worker above which a conference places new endpoints on another worker. */
  readonly conferenceWorkerConsumers: number;
  /** The live workers. */
  alive(): WorkerSlot[];
  /** The live worker with the fewest endpoints, not in `exclude` unless every live one is. @throws with none alive. */
  leastLoaded(exclude?: ReadonlySet<WorkerSlot>): WorkerSlot;
  /** Resolves once a worker is alive (at once when one is). @throws when none could be started. */
  untilWorkerAlive(): Promise<void>;
  /** A router on `slot` with the conference numbering (Jicofo's payload types and header extension ids). */
  createRouter(slot: WorkerSlot): Promise<ms.Router>;
  /** Count an endpoint on `slot` until the returned release is called (placement of later endpoints). */
  reserve(slot: WorkerSlot): () => void;
  /** RTP packets the conference's producers discarded (counted by the engine's `rtpDiscarded`). */
  rtpDiscarded(packets: number): void;
}

/**
 * A live worker for a relay whose worker died: `preferred` if alive, else the least-loaded live worker once one is
 * alive (when every worker died, the first replacement: {@link WorkerPool.untilWorkerAlive}).
 * @throws Error when no worker is alive and none could be started.
 */
export async function liveWorker(pool: Pick<WorkerPool, 'untilWorkerAlive' | 'leastLoaded'>, preferred: WorkerSlot | undefined): Promise<WorkerSlot> {
  if (preferred?.alive) return preferred;
  await pool.untilWorkerAlive();
  return pool.leastLoaded();
}
