/**
 * The bridge's periodic statistics, with JVB's names and units (jitsi-videobridge
 * `VideobridgeStatisticsShim.kt`): published in the brewery presence
 * and (REST issue) `/colibri/stats`. Recomputed every `videobridge.stats.interval` (5 s).
 *
 * `stress_level` follows JVB's load-management idea with mediasoup's unit of capacity, the
 * worker (one core): the larger of the busiest worker's CPU over JVB's cpu-usage load threshold (0.9 of one
 * core) and the busiest worker's packet rate (in + out) over JVB's packet-rate load threshold (50 000 packets/s,
 * which JVB measures for the whole bridge: one worker does the work of a JVB on one core). A bridge is as loaded as
 * its busiest worker, so a 32-core bridge does not report full at 50 000 packets/s in all. Jicofo treats >= 0.8 as
 * overloaded.
 */
import { EventEmitter } from 'node:events';
import type { Videobridge } from '../conference/Videobridge.ts';
import { addTraffic, emptyTraffic, type MediaEngine } from '../media/MediaEngine.ts';
import type { MediaEndpoint } from '../media/MediaEndpoint.ts';
import type { EngineTraffic } from '../media/types.ts';

/** JVB `load-measurements.cpu-usage.load-threshold`: fraction of one core. */
export const CPU_LOAD_THRESHOLD = 0.9;
/** JVB `load-measurements.packet-rate.load-threshold`: packets/s. */
export const PACKET_RATE_LOAD_THRESHOLD = 50_000;
/**
 * JVB's `stress_level` with a worker as the unit of capacity (see the module docstring): the larger of the busiest
 * worker's CPU (fraction of one core) over {@link CPU_LOAD_THRESHOLD} and its packets/s (in + out) over
 * {@link PACKET_RATE_LOAD_THRESHOLD}. 1 is a full worker; Jicofo avoids a bridge at 0.8 and above.
 */
export function stressLevel(busiestWorkerCpu: number, busiestWorkerPacketsPerSecond: number): number {
  return Math.max(busiestWorkerCpu / CPU_LOAD_THRESHOLD, busiestWorkerPacketsPerSecond / PACKET_RATE_LOAD_THRESHOLD);
}

/** JVB `load-management.average-participant-stress`. */
export const AVERAGE_PARTICIPANT_STRESS = 0.01;

/** A stats snapshot: JVB stat name → value (numbers, strings, booleans as JVB publishes them). */
export type StatsSnapshot = Record<string, number | string | boolean>;

/** Identity and lifecycle flags that go into every snapshot. */
export interface StatsIdentity {
  version: string;
  region?: string;
  relayId?: string;
  release?: string;
  /** Extra flags owned by other modules (drain, shutting_down, MUC counts ...). */
  flags?: () => StatsSnapshot;
}

/** `yyyy-MM-dd HH:mm:ss.SSS` in UTC, as JVB's `current_timestamp`. */
export function jvbTimestamp(d = new Date()): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * Traffic since the bridge started, summed from each endpoint's increases between stats runs
 * (so they never go down when endpoints leave). An endpoint that expired since the previous run
 * adds its final counters (read before its transport closed), so endpoints that lived less than
 * an interval and each endpoint's last interval are counted too; only what a worker that died
 * handled after its last read is lost. Bytes are transport bytes (RTP, RTCP, ICE, DTLS, SCTP);
 * packets are RTP packets (producers in, consumers out).
 */
export interface TrafficTotals {
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsSent: number;
}

/** One endpoint in a {@link PeriodicStats}. */
export interface EndpointPeriodic {
  /** RTP arrived from the endpoint during the interval (JVB's "sending audio or video"). */
  sending: boolean;
  /** Fraction of the RTP sent to it during the interval that its RTCP reports lost (0..1). */
  outgoingLoss: number;
}

/** A mediasoup worker's resource usage (getrusage). */
export interface WorkerUsage {
  pid: number;
  /** User + system CPU time since the worker started, s. */
  cpuSeconds: number;
  /** Peak resident set size, bytes. */
  maxRssBytes: number;
}

/**
 * What one stats run measured, in base units (the snapshot rounds to JVB's units): the source
 * of /metrics' periodic gauges (JVB's `VideobridgePeriodicMetrics`).
 */
export interface PeriodicStats {
  /** End of the run, ms since the epoch. */
  at: number;
  /** Length of the interval the rates and losses cover, s (0 on the first run: rates are 0). */
  intervalSeconds: number;
  /** Bitrates over every endpoint transport (mediasoup's estimate), bps. */
  incomingBitrateBps: number;
  outgoingBitrateBps: number;
  /** RTP packet rates over the interval, packets/s. */
  incomingPacketRate: number;
  outgoingPacketRate: number;
  /** Loss over the interval, fractions 0..1 (incoming: producers; outgoing: receivers' reports). */
  incomingLoss: number;
  outgoingLoss: number;
  overallLoss: number;
  /** Mean RTCP round-trip time over the consumers that have one, ms (0 without any). */
  averageRttMs: number;
  /** `stress_level` unrounded. */
  stress: number;
  totals: TrafficTotals;
  /** Per endpoint sampled in this run. */
  endpoints: ReadonlyMap<MediaEndpoint, EndpointPeriodic>;
  /** Per worker (none when the worker could not be asked). */
  workers: WorkerUsage[];
}

interface CollectorEvents {
  /** A stats run finished (every interval, and on {@link StatsCollector.update}). */
  updated: [PeriodicStats];
}

/** See the module docstring. */
export class StatsCollector extends EventEmitter<CollectorEvents> {
  readonly #bridge: Videobridge;
  readonly #media: MediaEngine;
  readonly #identity: StatsIdentity;
  #snapshot: StatsSnapshot;
  #last?: { at: number; workerCpuMs: Map<number, number> };
  /** Each endpoint's counters as far as they are in the totals (per field, the largest read). */
  readonly #counted = new Map<MediaEndpoint, EngineTraffic>();
  /** Endpoints created since the previous run (an endpoint may close before any run sees it). */
  readonly #created = new Set<MediaEndpoint>();
  readonly #traffic: TrafficTotals = { bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsSent: 0 };
  #periodic?: PeriodicStats;
  /** Totals since start (JVB's total_* stats). */
  readonly #totals = { conferencesCreated: 0, conferencesCompleted: 0, conferenceSeconds: 0, participants: 0 };
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;

  constructor(bridge: Videobridge, media: MediaEngine, identity: StatsIdentity) {
    super();
    this.#bridge = bridge;
    this.#media = media;
    this.#identity = identity;
    this.#snapshot = this.#base();
    bridge.on('conferenceCreated', () => (this.#totals.conferencesCreated += 1));
    bridge.on('conferenceExpired', (c) => {
      this.#totals.conferencesCompleted += 1;
      this.#totals.conferenceSeconds += Math.round((Date.now() - c.createdAt) / 1000);
    });
    bridge.on('endpointCreated', (_c, e) => {
      this.#totals.participants += 1;
      this.#created.add(e.mediaEndpoint);
    });
  }

  /** Recompute every `intervalMs` (JVB: 5000). */
  start(intervalMs = 5000): void {
    void this.update();
    this.#timer = setInterval(() => void this.update(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Conference and endpoint counts, taken now (cheap: no worker requests). */
  #counts(): StatsSnapshot {
    const conferences = this.#bridge.conferences();
    let endpoints = 0;
    let largest = 0;
    let sendingAudio = 0;
    let sendingVideo = 0;
    for (const c of conferences) {
      endpoints += c.endpointCount;
      largest = Math.max(largest, c.endpointCount);
      for (const e of c.endpoints()) {
        const kinds = e.mediaEndpoint.sendingKinds();
        if (kinds.has('audio')) sendingAudio += 1;
        if (kinds.has('video')) sendingVideo += 1;
      }
    }
    return {
      conferences: conferences.length,
      participants: endpoints,
      endpoints,
      local_endpoints: endpoints,
      largest_conference: largest,
      endpoints_sending_audio: sendingAudio,
      endpoints_sending_video: sendingVideo,
    };
  }

  /**
   * The latest snapshot (cheap; never waits): counts as of now, rates and loss as of the last
   * interval (JVB recomputes everything each interval; counts are cheap enough to keep current).
   */
  snapshot(): StatsSnapshot {
    return {
      ...this.#snapshot,
      ...this.#counts(),
      total_conferences_created: this.#totals.conferencesCreated,
      total_conferences_completed: this.#totals.conferencesCompleted,
      total_conference_seconds: this.#totals.conferenceSeconds,
      total_participants: this.#totals.participants,
      total_bytes_received: this.#traffic.bytesReceived,
      total_bytes_sent: this.#traffic.bytesSent,
      total_packets_received: this.#traffic.packetsReceived,
      total_packets_sent: this.#traffic.packetsSent,
      ...this.#flags(),
      current_timestamp: jvbTimestamp(),
    };
  }

  /** What the latest run measured (undefined before the first run ends). */
  periodic(): PeriodicStats | undefined {
    return this.#periodic;
  }

  /** Recompute now; concurrent calls share one run. */
  update(): Promise<void> {
    this.#running ??= this.#compute().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #flags(): StatsSnapshot {
    return {
      healthy: this.#media.healthy,
      graceful_shutdown: this.#bridge.gracefulShutdown,
      ...(this.#identity.flags?.() ?? {}),
    };
  }

  #base(): StatsSnapshot {
    const id = this.#identity;
    return {
      stress_level: 0,
      average_participant_stress: AVERAGE_PARTICIPANT_STRESS,
      drain: false,
      shutting_down: false,
      version: id.version,
      ...(id.release ? { release: id.release } : {}),
      ...(id.region ? { region: id.region } : {}),
      ...(id.relayId ? { relay_id: id.relayId } : {}),
      conferences: 0,
      participants: 0,
      endpoints: 0,
      local_endpoints: 0,
      largest_conference: 0,
      endpoints_sending_audio: 0,
      endpoints_sending_video: 0,
      bit_rate_download: 0,
      bit_rate_upload: 0,
      packet_rate_download: 0,
      packet_rate_upload: 0,
      rtt_aggregate: 0,
      incoming_loss: 0,
      outgoing_loss: 0,
      overall_loss: 0,
      // Cascading arrives with the relay issue; until then nothing is relayed.
      octo_conferences: 0,
      octo_endpoints: 0,
      // JVB reports JVM threads; octobridge's equivalent: the Node thread plus each mediasoup worker.
      threads: 1 + this.#media.workers.length,
    };
  }

  async #compute(): Promise<void> {
    let byEndpoint = new Map<MediaEndpoint, EngineTraffic>();
    let workers: WorkerUsage[] = [];
    const workerCpuMs = new Map<number, number>();
    // Endpoints closed since the previous run (seen then, or created since): their final counters.
    for (const e of this.#created) if (!this.#counted.has(e)) this.#counted.set(e, emptyTraffic());
    this.#created.clear();
    const closed = [...this.#counted.keys()].filter((e) => e.closed);
    const finals = await Promise.all(
      closed.map(async (e) => {
        const t = emptyTraffic();
        await e.addTraffic(t);
        return t;
      }),
    );
    try {
      byEndpoint = await this.#media.trafficByEndpoint();
      for (const u of await this.#media.resourceUsage()) {
        workerCpuMs.set(u.slot.worker.pid, u.cpuMs);
        workers.push({ pid: u.slot.worker.pid, cpuSeconds: u.cpuMs / 1000, maxRssBytes: u.maxRssKiB * 1024 });
      }
    } catch {
      // a worker went away meanwhile: report what we have; `healthy` says the rest
      workers = [];
    }
    const now = Date.now();
    const prev = this.#last;
    this.#last = { at: now, workerCpuMs };
    const seconds = prev ? Math.max(0.001, (now - prev.at) / 1000) : 0;
    const rate = (cur: number, before: number): number => (seconds > 0 ? Math.max(0, (cur - before) / seconds) : 0);
    // Per-endpoint increases since the previous run: an endpoint leaving does not make the sums
    // drop (a new endpoint's counters start at 0, within the interval).
    const traffic = emptyTraffic();
    const delta = emptyTraffic();
    const perEndpoint = new Map<MediaEndpoint, EndpointPeriodic>();
    const lossFraction = (lost: number, got: number): number => (lost + got > 0 ? lost / (lost + got) : 0);
    const count = (endpoint: MediaEndpoint, cur: EngineTraffic): EngineTraffic => {
      const counted = this.#counted.get(endpoint) ?? emptyTraffic();
      const d = emptyTraffic();
      for (const k of ['bytesReceived', 'bytesSent', 'packetsReceived', 'packetsSent', 'packetsLostReceived', 'packetsLostSent'] as const) {
        d[k] = Math.max(0, cur[k] - counted[k]);
        counted[k] = Math.max(counted[k], cur[k]);
      }
      this.#counted.set(endpoint, counted);
      addTraffic(delta, d);
      return d;
    };
    closed.forEach((e, i) => {
      count(e, finals[i] ?? emptyTraffic());
      this.#counted.delete(e);
    });
    for (const [endpoint, cur] of byEndpoint) {
      if (endpoint.closed) continue; // closed while we read: its final counters come next run
      addTraffic(traffic, cur);
      const d = count(endpoint, cur);
      perEndpoint.set(endpoint, { sending: d.packetsReceived > 0, outgoingLoss: lossFraction(d.packetsLostSent, d.packetsSent) });
    }
    this.#traffic.bytesReceived += delta.bytesReceived;
    this.#traffic.bytesSent += delta.bytesSent;
    this.#traffic.packetsReceived += delta.packetsReceived;
    this.#traffic.packetsSent += delta.packetsSent;
    const packetRateDown = seconds > 0 ? delta.packetsReceived / seconds : 0;
    const packetRateUp = seconds > 0 ? delta.packetsSent / seconds : 0;
    // The busiest worker (a worker uses one core): CPU fraction of that core over the interval.
    let workerCpu = 0;
    if (prev) for (const [pid, ms] of workerCpuMs) workerCpu = Math.max(workerCpu, rate(ms, prev.workerCpuMs.get(pid) ?? ms) / 1000);
    // Loss over the interval as a fraction of what was expected (JVB's *_loss stats).
    const dLostIn = prev ? delta.packetsLostReceived : 0;
    const dLostOut = prev ? delta.packetsLostSent : 0;
    const dIn = prev ? delta.packetsReceived : 0;
    const dOut = prev ? delta.packetsSent : 0;
    // The busiest worker's packets/s, as of this run's traffic sample (MediaEngine.trafficByEndpoint).
    const workerPackets = Math.max(0, ...this.#media.workers.filter((w) => w.alive).map((w) => w.packetRate));
    const stress = stressLevel(workerCpu, workerPackets);
    this.#snapshot = {
      ...this.#base(),
      stress_level: Math.round(stress * 1000) / 1000,
      ...this.#counts(),
      bit_rate_download: Math.round(traffic.recvBitrate / 1000),
      bit_rate_upload: Math.round(traffic.sendBitrate / 1000),
      packet_rate_download: Math.round(packetRateDown),
      packet_rate_upload: Math.round(packetRateUp),
      rtt_aggregate: traffic.rttCount > 0 ? Math.round((traffic.rttSumMs / traffic.rttCount) * 10) / 10 : 0,
      incoming_loss: lossFraction(dLostIn, dIn),
      outgoing_loss: lossFraction(dLostOut, dOut),
      overall_loss: lossFraction(dLostIn + dLostOut, dIn + dOut),
    };
    this.#periodic = {
      at: now,
      intervalSeconds: seconds,
      incomingBitrateBps: traffic.recvBitrate,
      outgoingBitrateBps: traffic.sendBitrate,
      incomingPacketRate: packetRateDown,
      outgoingPacketRate: packetRateUp,
      incomingLoss: lossFraction(dLostIn, dIn),
      outgoingLoss: lossFraction(dLostOut, dOut),
      overallLoss: lossFraction(dLostIn + dLostOut, dIn + dOut),
      averageRttMs: traffic.rttCount > 0 ? traffic.rttSumMs / traffic.rttCount : 0,
      stress,
      totals: { ...this.#traffic },
      endpoints: perEndpoint,
      workers,
    };
    this.emit('updated', this.#periodic);
  }
}
