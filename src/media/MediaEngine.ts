/**
 * The media engine: a pool of mediasoup workers (one per core by default), each with a WebRtcServer, placement of
 * conferences and endpoints on them, and worker-death recovery. The only module tree that imports mediasoup (with
 * relay/).
 *
 * The workers' UDP port (JVB's `videobridge.ice.udp.port`, default 10000), as `media.udpPortMode` says:
 * - `single` (the default, what a docker-jitsi-meet or Kubernetes layout publishes: one port per bridge): every
 *   worker's WebRtcServer binds the port with SO_REUSEPORT, in worker order, so their sockets are the kernel's
 *   reuseport group at indexes 0..N-1. Worker patch 0017 attaches a classic BPF program to the group (no capability
 *   needed) that sends a STUN Binding request to the socket the first character of its USERNAME names (media/steering.ts:
 *   'A'.. for 0..), and each transport's ICE username fragment starts with its worker's character
 *   ({@link WorkerSlot.iceUfragPrefix}); once ICE accepts a remote address, the worker connects a socket of its own to
 *   it, which Linux prefers to the group: no datagram takes an extra hop. When a worker dies, the kernel moves the
 *   group's last socket into its place (and its worker's character changes with it); its replacement joins at the
 *   end. After the start and after each replacement, a Binding request for a transport of each worker, sent to the
 *   port, checks that it reaches that worker (and finds the character that does if not: two deaths close together
 *   can reorder the group). A host that refuses any of it (no SO_REUSEPORT or SO_ATTACH_REUSEPORT_CBPF, a request
 *   that does not reach its worker, more than 62 workers) makes the engine fall back to per-worker ports, said at
 *   start-up and in {@link udpPortProblem};
 * - `per-worker`: worker i on the port + i (each published separately).
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import type { Logger } from '../logger.ts';
import { MediaConference } from './MediaConference.ts';
import type { MediaEndpoint } from './MediaEndpoint.ts';
import type { MediaSettings } from './settings.ts';
import type { EngineTraffic } from './types.ts';
import type { WorkerPool, WorkerSlot } from './workers.ts';
import { SerialQueue } from '../util/SerialQueue.ts';
import { answeredWithSuccess, MAX_STEERED_WORKERS, steeringPrefix } from './steering.ts';
import { checkRouterNumbering, JICOFO_NUMBERING, routerCodecs, type VideoCodecName } from './rtp.ts';

/** Endpoints whose counters {@link MediaEngine.trafficByEndpoint} reads at once (the rest wait for them). */
const STATS_BATCH_ENDPOINTS = 25;

/**
 * Options of {@link MediaEngine.create}: the `media` section of the config (udpPort 0 = any free
 * port, for tests; empty advertiseIps = every local IPv4 address plus 127.0.0.1; numWorkers and
 * the per-worker consumer threshold of a conference), the video codecs routers offer, and the ICE
 * consent timeout in s (mediasoup `iceConsentTimeout`).
 */
export type MediaEngineOptions = Omit<MediaSettings, 'endpointExpireMs'> & {
  videoCodecs: readonly VideoCodecName[];
  iceConsentTimeoutSec: number;
};

interface EngineEvents {
  /** A worker (first or replacement) is up. */
  workerStarted: [WorkerSlot];
  /** A worker died; each conference recovers what it had on it, a replacement is starting. */
  workerDied: [WorkerSlot, Error];
  /** No worker is alive and the replacement of the last one failed. */
  noWorker: [];
  /** No replacement worker could be started (after retries) for a dead one. */
  replacementFailed: [index: number, Error];
  /** RTP packets senders sent that producers dropped (a payload type never negotiated, a sequence number out of range), every 5 s. */
  rtpDiscarded: [packets: number];
}

/** Binding requests, from as many source ports, that must all reach a worker for its steering to count as working. */
const STEERING_PROBES = 6;

/** Attempts to start a replacement for a dead worker, and the pause between two attempts (ms). */
const REPLACEMENT_ATTEMPTS = 3;
const REPLACEMENT_RETRY_MS = 500;

/**
 * Environment variable through which the workers get the pool's ICE secret (native patch 0007):
 * each transport's ICE password is derived from its username fragment with it, so any worker of
 * the pool, a replacement included, can answer a client of a transport that died with its
 * worker with a signed error (its ICE fails at the next check instead of timing out).
 */
export const ICE_SECRET_ENV = 'OCTOBRIDGE_ICE_SECRET';

/** An {@link EngineTraffic} of zeros. */
export function emptyTraffic(): EngineTraffic {
  return {
    bytesReceived: 0,
    bytesSent: 0,
    recvBitrate: 0,
    sendBitrate: 0,
    packetsReceived: 0,
    packetsSent: 0,
    packetsLostReceived: 0,
    packetsLostSent: 0,
    rttSumMs: 0,
    rttCount: 0,
  };
}

/** Add every field of `t` to `into`. */
export function addTraffic(into: EngineTraffic, t: EngineTraffic): void {
  for (const k of Object.keys(into) as (keyof EngineTraffic)[]) into[k] += t[k];
}

/** A UDP port free on `ip` now, from the kernel (bound to port 0 and released). */
function freeUdpPort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(0, ip, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Addresses candidates are advertised on when none are configured. */
function localAddresses(listenIp: string): string[] {
  if (listenIp !== '0.0.0.0') return [listenIp];
  const out: string[] = [];
  for (const ifaces of Object.values(os.networkInterfaces())) {
    for (const i of ifaces ?? []) if (i.family === 'IPv4' && !i.internal) out.push(i.address);
  }
  out.push('127.0.0.1');
  return out;
}

/** Per-worker CPU and memory (getrusage of the worker process). */
export interface WorkerUsage {
  slot: WorkerSlot;
  /** ru_utime + ru_stime, ms. */
  cpuMs: number;
  /** ru_maxrss, KiB. */
  maxRssKiB: number;
}

/**
 * The worker pool: one mediasoup worker per core by default, each with a WebRtcServer;
 * placement (least-loaded worker by consumers and packet rate), and the recovery of a dead
 * worker (a replacement on the same port; each conference re-creates what it had there).
 *
 * @example const engine = await MediaEngine.create(opts, log); const conf = engine.createConference('3d93...');
 */
export class MediaEngine extends EventEmitter<EngineEvents> {
  readonly workers: WorkerSlot[] = [];
  readonly candidateAddresses: string[];
  readonly options: MediaEngineOptions;
  /** The UDP port layout in use: the configured one, unless the kernel refused `single`. */
  udpPortMode: 'single' | 'per-worker';
  /** Why `single` was configured and `per-worker` is in use; undefined otherwise. */
  udpPortProblem: string | undefined;
  readonly #log: Logger;
  readonly #conferences = new Set<MediaConference>();
  /** Single-port mode: the live workers in the order of their sockets in the port's SO_REUSEPORT group. */
  readonly #group: WorkerSlot[] = [];
  /** WebRtcServers are bound one at a time, so that the group's order is the order of {@link #group}. */
  readonly #binding = new SerialQueue();
  /** Endpoints being placed on a worker and not created there yet (see {@link reserve}). */
  readonly #reserved = new Map<WorkerSlot, number>();
  /** Conference recoveries from worker deaths still running. */
  #recovering = 0;
  /** Set when the last live worker died; cleared once a worker is up and every recovery is done. */
  #outage = false;
  #lastSample?: { at: number; packets: Map<WorkerSlot, number> };
  #closed = false;

  private constructor(options: MediaEngineOptions, log: Logger) {
    super();
    this.options = options;
    this.udpPortMode = options.udpPortMode;
    this.#log = log;
    this.candidateAddresses = options.advertiseIps.length > 0 ? [...options.advertiseIps] : localAddresses(options.listenIp);
  }

  /**
   * Start the workers and bind their WebRtcServers.
   * @throws Error when the worker binary is missing (message names the path) or a port is taken.
   */
  static async create(options: MediaEngineOptions, log: Logger): Promise<MediaEngine> {
    const engine = new MediaEngine(options, log);
    // One secret per process, inherited by every worker (mediasoup passes the environment on).
    process.env[ICE_SECRET_ENV] ??= randomBytes(32).toString('hex');
    try {
      if (options.udpPortMode === 'single' && options.numWorkers > MAX_STEERED_WORKERS) {
        throw new Error(`one UDP port steers at most ${MAX_STEERED_WORKERS} workers`);
      }
      await engine.#startWorkers();
      if (engine.udpPortMode === 'single') await engine.#binding.run(() => engine.#checkSteering());
    } catch (err) {
      if (options.udpPortMode !== 'single') {
        engine.close();
        throw err;
      }
      // The kernel (or a seccomp profile) refused the shared port: port per worker, said loudly.
      for (const w of engine.workers.splice(0)) w.worker.close();
      engine.#group.length = 0;
      engine.udpPortMode = 'per-worker';
      engine.udpPortProblem = `one UDP port for every worker is not available here (${(err as Error).message}); each worker has its own port`;
      log.warn({ problem: engine.udpPortProblem }, 'falling back to a UDP port per worker');
      try {
        await engine.#startWorkers();
      } catch (err2) {
        engine.close();
        throw err2;
      }
    }
    log.info({ udpPortMode: engine.udpPortMode, workers: engine.workers.map((w) => ({ pid: w.worker.pid, udpPort: w.udpPort })) }, 'media engine started');
    return engine;
  }

  async #startWorkers(): Promise<void> {
    // Single port with a port of 0 (tests): a free one, shared by all.
    const shared = this.udpPortMode === 'single' ? this.options.udpPort || (await freeUdpPort(this.options.listenIp)) : undefined;
    for (let i = 0; i < Math.max(1, this.options.numWorkers); i++) this.workers.push(await this.#startWorker(i, shared));
  }

  /** `install` puts a replacement into {@link workers} before `workerStarted` is emitted. */
  async #startWorker(index: number, udpPort?: number, tcpPort?: number, install?: (slot: WorkerSlot) => void): Promise<WorkerSlot> {
    const o = this.options;
    let worker: ms.Worker;
    // mediasoup closes each worker when the process gets SIGTERM (its `Worker` listens for it). SIGTERM is the
    // bridge's graceful shutdown (main.ts), during which the calls go on: the engine closes its workers when the
    // bridge closes, so that listener is removed again.
    const sigtermListeners = new Set(process.listeners('SIGTERM'));
    try {
      worker = await mediasoup.createWorker({ workerBin: o.workerBin, logLevel: o.logLevel });
    } catch (err) {
      throw new Error(`cannot start mediasoup worker ${o.workerBin}: ${(err as Error).message} (run: sh native/build.sh)`);
    } finally {
      for (const l of process.listeners('SIGTERM')) if (!sigtermListeners.has(l)) process.removeListener('SIGTERM', l);
    }
    const single = this.udpPortMode === 'single';
    // Single port: the same for all; else the configured one + index (0, in tests: any free one).
    const udp = single ? (udpPort ?? o.udpPort) : (udpPort ?? (o.udpPort ? o.udpPort + index : 0));
    const tcp = tcpPort ?? (o.iceTcp.port ? o.iceTcp.port + index : 0);
    const listenInfos: ms.WebRtcServerOptions['listenInfos'] = [
      { protocol: 'udp', ip: o.listenIp, ...(udp ? { port: udp } : {}), ...(single ? { flags: { udpReusePort: true } } : {}) },
    ];
    if (o.iceTcp.enabled) listenInfos.push({ protocol: 'tcp', ip: o.listenIp, ...(tcp ? { port: tcp } : {}) });
    const slot = await this.#binding.run(async () => {
      let server: ms.WebRtcServer;
      try {
        server = await worker.createWebRtcServer({ listenInfos });
      } catch (err) {
        worker.close();
        throw new Error(`cannot bind media port udp/${udp} on ${o.listenIp}: ${(err as Error).message}`);
      }
      const dump = await server.dump();
      const bound = dump.udpSockets[0]?.port ?? udp;
      const s: WorkerSlot = { index, worker, webRtcServer: server, udpPort: bound, alive: true, packetRate: 0 };
      if (single) {
        this.#group.push(s);
        s.iceUfragPrefix = steeringPrefix(this.#group.length - 1);
      }
      return s;
    });
    worker.on('died', (error) => void this.#onDied(slot, error, tcp));
    install?.(slot);
    this.emit('workerStarted', slot);
    return slot;
  }

  /**
   * A worker died: every conference recovers what it had on it (on live workers, or on the
   * replacement when none is left), and a replacement takes its index and port. With no live
   * worker left the engine is unhealthy until a replacement is up and every recovery is done.
   */
  async #onDied(slot: WorkerSlot, error: Error, tcpPort: number): Promise<void> {
    slot.alive = false;
    this.#leaveGroup(slot);
    this.#log.error({ err: error, pid: slot.worker.pid, index: slot.index }, 'mediasoup worker died');
    if (!this.#closed && this.alive().length === 0) this.#outage = true;
    this.emit('workerDied', slot, error);
    if (this.#closed) return;
    // One dispatch to every conference (not a listener each: hundreds of conferences).
    const recoveries = [...this.#conferences].map((c) => c.recoverFrom(slot));
    this.#recovering += recoveries.length;
    const done = Promise.allSettled(recoveries).then(() => {
      this.#recovering -= recoveries.length;
      this.#maybeEndOutage();
    });
    const fresh = await this.#replace(slot, tcpPort);
    if (fresh && this.#closed) fresh.worker.close();
    if (fresh && !this.#closed && this.udpPortMode === 'single') {
      await this.#binding
        .run(() => this.#checkSteering())
        .catch((err: Error) => {
          this.#log.error({ err }, 'after a worker death, a worker of the UDP port cannot be reached');
        });
    }
    if (!fresh && !this.#closed) {
      this.emit('replacementFailed', slot.index, new Error(`no replacement for mediasoup worker ${slot.index}`));
      // Recoveries waiting for a worker give up (their conferences expire) when none is left.
      if (this.alive().length === 0) this.emit('noWorker');
    }
    await done;
  }

  /** Start a replacement for `slot` (same index and ports), retrying; undefined when every attempt failed. */
  async #replace(slot: WorkerSlot, tcpPort: number): Promise<WorkerSlot | undefined> {
    for (let attempt = 1; attempt <= REPLACEMENT_ATTEMPTS && !this.#closed; attempt++) {
      try {
        const fresh = await this.#startWorker(slot.index, slot.udpPort, tcpPort, (s) => {
          this.workers[this.workers.indexOf(slot)] = s;
        });
        this.#log.info({ pid: fresh.worker.pid, index: fresh.index, udpPort: fresh.udpPort }, 'replacement worker started');
        this.#maybeEndOutage();
        return fresh;
      } catch (err) {
        this.#log.error({ err, attempt }, 'cannot start a replacement worker');
        await new Promise((r) => setTimeout(r, REPLACEMENT_RETRY_MS));
      }
    }
    return undefined;
  }

  /**
   * A dead worker's socket left the port's reuseport group: the kernel moved the group's last socket into its place
   * (`reuseport_detach_sock`), so that socket's worker is now steered to by the dead one's character.
   */
  #leaveGroup(slot: WorkerSlot): void {
    const i = this.#group.indexOf(slot);
    if (i < 0) return;
    const last = this.#group.pop();
    if (!last || last === slot) return;
    this.#group[i] = last;
    last.iceUfragPrefix = steeringPrefix(i);
  }

  /**
   * Single port: check that a Binding request for a transport of each live worker reaches it through the port, and
   * give a worker whose character does not the one that does (two deaths close together can leave the group in
   * another order than {@link #group}).
   * @throws Error when a worker is reached by no character.
   */
  async #checkSteering(): Promise<void> {
    for (const slot of this.#group) {
      if (!slot.alive || (await this.#reaches(slot, slot.iceUfragPrefix))) continue;
      let found: string | undefined;
      for (let i = 0; i < this.#group.length && !found; i++) {
        const prefix = steeringPrefix(i);
        if (prefix !== slot.iceUfragPrefix && (await this.#reaches(slot, prefix))) found = prefix;
      }
      if (!found) throw new Error(`a STUN Binding request sent to udp/${slot.udpPort} does not reach worker ${slot.index}`);
      this.#log.warn({ worker: slot.index, was: slot.iceUfragPrefix, now: found }, 'UDP port steering: a worker has another place in the group');
      slot.iceUfragPrefix = found;
    }
  }

  /**
   * Whether Binding requests for a transport made on `slot` with `prefix` reach it through the shared port: from
   * {@link STEERING_PROBES} source ports, each hashed anew by the kernel, so that a host that does not steer is not
   * taken for one that does by a lucky hash.
   */
  async #reaches(slot: WorkerSlot, prefix: string | undefined): Promise<boolean> {
    if (!prefix) return false;
    const router = await slot.worker.createRouter();
    try {
      const transport = await router.createWebRtcTransport({ webRtcServer: slot.webRtcServer, iceUsernameFragmentPrefix: prefix });
      const ip = this.options.listenIp;
      const address = ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '::1' : ip;
      const { usernameFragment, password } = transport.iceParameters;
      for (let i = 0; i < STEERING_PROBES; i++) {
        if (!(await answeredWithSuccess(address, slot.udpPort, usernameFragment, password))) return false;
      }
      return true;
    } finally {
      router.close();
    }
  }

  #maybeEndOutage(): void {
    if (this.#outage && this.#recovering === 0 && this.alive().length > 0) {
      this.#outage = false;
      this.#log.info('media engine recovered: workers up, conferences rebuilt');
    }
  }

  /**
   * Resolves once a worker is alive (at once when one is); rejects when none is alive and no
   * replacement could be started. Recoveries wait on it when every worker died at once.
   */
  untilWorkerAlive(): Promise<void> {
    if (this.alive().length > 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error('media engine closed'));
    return new Promise((resolve, reject) => {
      const started = (): void => {
        cleanup();
        resolve();
      };
      const none = (): void => {
        cleanup();
        reject(new Error('no mediasoup worker is alive and none could be started'));
      };
      const cleanup = (): void => {
        this.off('workerStarted', started);
        this.off('noWorker', none);
      };
      this.on('workerStarted', started);
      this.on('noWorker', none);
    });
  }

  /**
   * Healthy while at least one worker is alive, except after every worker died at once: then
   * unhealthy until a replacement is up and every conference has been rebuilt (or expired).
   */
  get healthy(): boolean {
    return !this.#closed && !this.#outage && this.workers.some((w) => w.alive && !w.worker.closed);
  }

  /** Live workers. */
  alive(): WorkerSlot[] {
    return this.workers.filter((w) => w.alive && !w.worker.closed);
  }

  /** Consumers on a worker, over every conference. */
  consumersOn(slot: WorkerSlot): number {
    let n = 0;
    for (const c of this.#conferences) n += c.consumersOn(slot);
    return n;
  }

  /** Endpoints on a worker, over every conference, plus those being placed there ({@link reserve}). */
  endpointsOn(slot: WorkerSlot): number {
    let n = this.#reserved.get(slot) ?? 0;
    for (const c of this.#conferences) n += c.endpointsOn(slot);
    return n;
  }

  /**
   * Count an endpoint being placed on `slot` until the returned release is called (once its
   * transport exists and the conference counts it, or it failed): placements made meanwhile
   * see it, so a burst of new conferences spreads over the workers instead of all reading the
   * same (lagging) consumers and packet rates.
   */
  reserve(slot: WorkerSlot): () => void {
    this.#reserved.set(slot, (this.#reserved.get(slot) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#reserved.get(slot) ?? 1) - 1;
      if (n > 0) this.#reserved.set(slot, n);
      else this.#reserved.delete(slot);
    };
  }

  /**
   * The least-loaded live worker: load = consumers + packets/s / 50 (one consumer is ~50
   * packets/s of video) + endpoints (placed or being placed: a new endpoint weighs one consumer
   * before its consumers and packets show), ties to the lower index. `exclude`: workers not to
   * choose.
   * @throws Error when no worker is alive.
   */
  leastLoaded(exclude: ReadonlySet<WorkerSlot> = new Set()): WorkerSlot {
    const candidates = this.alive().filter((w) => !exclude.has(w));
    const pool = candidates.length > 0 ? candidates : this.alive();
    let best: WorkerSlot | undefined;
    let bestLoad = Infinity;
    for (const w of pool) {
      const load = this.consumersOn(w) + w.packetRate / 50 + this.endpointsOn(w);
      if (load < bestLoad) {
        best = w;
        bestLoad = load;
      }
    }
    if (!best) throw new Error('no mediasoup worker is alive');
    return best;
  }

  /** A router on `slot` with the conference numbering (media/rtp.ts). */
  async createRouter(slot: WorkerSlot): Promise<ms.Router> {
    const router = await slot.worker.createRouter({
      mediaCodecs: routerCodecs(this.options.videoCodecs, JICOFO_NUMBERING),
      headerExtensionIds: JICOFO_NUMBERING.headerExtensionIds,
    });
    checkRouterNumbering(router.rtpCapabilities, JICOFO_NUMBERING);
    return router;
  }

  /** Create the media side of a conference (routers come with its endpoints). `id` is for logs. */
  createConference(id: string): MediaConference {
    const o = this.options;
    const pool: WorkerPool = {
      transport: { iceTcp: o.iceTcp.enabled, initialOutgoingBitrateBps: o.initialOutgoingBitrateBps, iceConsentTimeoutSec: o.iceConsentTimeoutSec },
      conferenceWorkerConsumers: o.conferenceWorkerConsumers,
      alive: () => this.alive(),
      leastLoaded: (exclude) => this.leastLoaded(exclude),
      untilWorkerAlive: () => this.untilWorkerAlive(),
      createRouter: (slot) => this.createRouter(slot),
      reserve: (slot) => this.reserve(slot),
      rtpDiscarded: (packets) => this.emit('rtpDiscarded', packets),
    };
    const conf = new MediaConference(id, pool, this.#log.child({ conference: id }));
    this.#conferences.add(conf);
    conf.once('closed', () => this.#conferences.delete(conf));
    return conf;
  }

  /**
   * Traffic over every endpoint transport, summed: bytes since start and the current bitrates
   * (bps) from mediasoup transport stats; packets since start from producer (in) and consumer
   * (out) RTP stream stats. One stats request per transport and per producer/consumer.
   */
  async traffic(): Promise<EngineTraffic> {
    const out = emptyTraffic();
    for (const t of (await this.trafficByEndpoint()).values()) addTraffic(out, t);
    return out;
  }

  /**
   * {@link traffic} per endpoint transport (the same stats requests), for counters that must
   * survive endpoints leaving: a caller keeps each endpoint's last sample and adds the deltas.
   * Endpoints closed meanwhile are missing or have zeros. Also updates each worker's packet rate.
   */
  async trafficByEndpoint(): Promise<Map<MediaEndpoint, EngineTraffic>> {
    const endpoints = [...this.#conferences].flatMap((c) => c.endpoints());
    // A few endpoints at a time: each reads its transport, producers and every consumer (in a conference of n, n - 1
    // per kind), so one burst for 1,000 endpoints was ~21,000 worker requests at once, whose answers and garbage held
    // the event loop for 0.4-0.7 s. In batches the colibri2 requests, bridge-channel messages and allocations of the
    // time go on between them.
    const samples: EngineTraffic[] = [];
    for (let i = 0; i < endpoints.length; i += STATS_BATCH_ENDPOINTS) {
      const batch = endpoints.slice(i, i + STATS_BATCH_ENDPOINTS);
      samples.push(
        ...(await Promise.all(
          batch.map(async (e) => {
            const t = emptyTraffic();
            await e.addTraffic(t);
            return t;
          }),
        )),
      );
    }
    const packets = new Map<WorkerSlot, number>();
    endpoints.forEach((e, i) => {
      const slot = e.slot;
      packets.set(slot, (packets.get(slot) ?? 0) + (samples[i]?.packetsReceived ?? 0) + (samples[i]?.packetsSent ?? 0));
    });
    const now = Date.now();
    const prev = this.#lastSample;
    if (prev) {
      const seconds = Math.max(0.001, (now - prev.at) / 1000);
      for (const w of this.workers) w.packetRate = Math.max(0, ((packets.get(w) ?? 0) - (prev.packets.get(w) ?? 0)) / seconds);
    }
    this.#lastSample = { at: now, packets };
    return new Map(endpoints.map((e, i) => [e, samples[i] ?? emptyTraffic()]));
  }

  /** CPU and memory of every live worker. */
  async resourceUsage(): Promise<WorkerUsage[]> {
    const out: WorkerUsage[] = [];
    for (const slot of this.alive()) {
      try {
        const u = await slot.worker.getResourceUsage();
        out.push({ slot, cpuMs: u.ru_utime + u.ru_stime, maxRssKiB: u.ru_maxrss });
      } catch {
        // died meanwhile
      }
    }
    return out;
  }

  /** Close every conference and every worker. */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#conferences]) c.close();
    for (const w of this.workers) w.worker.close();
  }
}
