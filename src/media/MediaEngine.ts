/**
 * The media engine: mediasoup worker(s), each with a WebRtcServer on the single shared UDP
 * port (JVB's `videobridge.ice.udp.port`, default 10000), and one router per conference.
 * The only module tree that imports mediasoup (with relay/).
 */
import os from 'node:os';
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import type { Config } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import { MediaConference } from './MediaConference.ts';
import type { MediaEndpoint } from './MediaEndpoint.ts';
import type { EngineTraffic } from './types.ts';
import { checkRouterNumbering, JICOFO_NUMBERING, routerCodecs, type VideoCodecName } from './rtp.ts';

/**
 * Options of {@link MediaEngine.create}: the `media` section of the config (udpPort 0 = any free
 * port, for tests; empty advertiseIps = every local IPv4 address plus 127.0.0.1), the video
 * codecs routers offer, and the ICE consent timeout in s (mediasoup `iceConsentTimeout`).
 */
export type MediaEngineOptions = Omit<Config['media'], 'endpointExpireMs'> & {
  videoCodecs: readonly VideoCodecName[];
  iceConsentTimeoutSec: number;
};

interface EngineEvents {
  /** A worker died (the pool issue re-creates it; here the process is unhealthy). */
  workerDied: [Error];
}

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

/**
 * Owns the mediasoup worker and its WebRtcServer.
 *
 * @example const engine = await MediaEngine.create(opts, log); const conf = await engine.createConference('3d93...');
 */
export class MediaEngine extends EventEmitter<EngineEvents> {
  readonly worker: ms.Worker;
  readonly webRtcServer: ms.WebRtcServer;
  readonly candidateAddresses: string[];
  readonly options: MediaEngineOptions;
  readonly #log: Logger;
  readonly #conferences = new Set<MediaConference>();
  #healthy = true;

  private constructor(worker: ms.Worker, server: ms.WebRtcServer, options: MediaEngineOptions, log: Logger) {
    super();
    this.worker = worker;
    this.webRtcServer = server;
    this.options = options;
    this.#log = log;
    this.candidateAddresses = options.advertiseIps.length > 0 ? [...options.advertiseIps] : localAddresses(options.listenIp);
    worker.on('died', (error) => {
      this.#healthy = false;
      this.#log.error({ err: error, pid: worker.pid }, 'mediasoup worker died');
      this.emit('workerDied', error);
    });
  }

  /**
   * Start the worker and bind the WebRtcServer.
   * @throws Error when the worker binary is missing (message names the path) or the port is taken.
   */
  static async create(options: MediaEngineOptions, log: Logger): Promise<MediaEngine> {
    let worker: ms.Worker;
    try {
      worker = await mediasoup.createWorker({ workerBin: options.workerBin, logLevel: options.logLevel });
    } catch (err) {
      throw new Error(`cannot start mediasoup worker ${options.workerBin}: ${(err as Error).message} (run: sh native/build.sh)`);
    }
    const listenInfos: ms.WebRtcServerOptions['listenInfos'] = [
      { protocol: 'udp', ip: options.listenIp, ...(options.udpPort ? { port: options.udpPort } : {}) },
    ];
    if (options.iceTcp.enabled) {
      listenInfos.push({ protocol: 'tcp', ip: options.listenIp, ...(options.iceTcp.port ? { port: options.iceTcp.port } : {}) });
    }
    let server: ms.WebRtcServer;
    try {
      server = await worker.createWebRtcServer({ listenInfos });
    } catch (err) {
      worker.close();
      throw new Error(`cannot bind media port udp/${options.udpPort} on ${options.listenIp}: ${(err as Error).message}`);
    }
    log.info({ pid: worker.pid, udpPort: options.udpPort, tcp: options.iceTcp.enabled ? options.iceTcp.port : undefined }, 'media engine started');
    return new MediaEngine(worker, server, options, log);
  }

  /** False after the worker died. */
  get healthy(): boolean {
    return this.#healthy && !this.worker.closed;
  }

  /** Create the media side of a conference (a router). `id` is for logs. */
  async createConference(id: string): Promise<MediaConference> {
    const router = await this.worker.createRouter({
      mediaCodecs: routerCodecs(this.options.videoCodecs, JICOFO_NUMBERING),
      headerExtensionIds: JICOFO_NUMBERING.headerExtensionIds,
    });
    checkRouterNumbering(router.rtpCapabilities, JICOFO_NUMBERING);
    const conf = new MediaConference(id, this, router, this.#log.child({ conference: id }));
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
   * Endpoints closed meanwhile are missing or have zeros.
   */
  async trafficByEndpoint(): Promise<Map<MediaEndpoint, EngineTraffic>> {
    const endpoints = [...this.#conferences].flatMap((c) => c.endpoints());
    const samples = await Promise.all(
      endpoints.map(async (e) => {
        const t = emptyTraffic();
        await e.addTraffic(t);
        return t;
      }),
    );
    return new Map(endpoints.map((e, i) => [e, samples[i] ?? emptyTraffic()]));
  }

  /** Worker CPU and memory (getrusage of the worker process). ru_utime/ru_stime in ms, ru_maxrss in KiB. */
  async resourceUsage(): Promise<ms.WorkerResourceUsage> {
    return this.worker.getResourceUsage();
  }

  /** Close every conference and the worker. */
  close(): void {
    for (const c of [...this.#conferences]) c.close();
    this.worker.close();
  }
}
