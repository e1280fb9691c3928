/**
 * The bridge's periodic statistics, with JVB's names and units (jitsi-videobridge
 * `VideobridgeStatisticsShim.kt`, shared/docs/brewery.md §3): published in the brewery presence
 * and (REST issue) `/colibri/stats`. Recomputed every `videobridge.stats.interval` (5 s).
 *
 * `stress_level` follows JVB's load-management idea with mediasoup's unit of capacity, the
 * worker: the larger of the busiest worker's CPU over JVB's cpu-usage load threshold (0.9 of one
 * core) and the packet rate over JVB's packet-rate load threshold (50 000 packets/s). Jicofo
 * treats >= 0.8 as overloaded.
 */
import type { Videobridge } from '../colibri2/Videobridge.ts';
import type { MediaEngine } from '../media/MediaEngine.ts';

/** JVB `load-measurements.cpu-usage.load-threshold`: fraction of one core. */
export const CPU_LOAD_THRESHOLD = 0.9;
/** JVB `load-measurements.packet-rate.load-threshold`: packets/s. */
export const PACKET_RATE_LOAD_THRESHOLD = 50_000;
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

/** See the module docstring. */
export class StatsCollector {
  readonly #bridge: Videobridge;
  readonly #media: MediaEngine;
  readonly #identity: StatsIdentity;
  #snapshot: StatsSnapshot;
  #last?: { at: number; workerCpuMs: number; packetsIn: number; packetsOut: number; lostIn: number; lostOut: number };
  /** Totals since start (JVB's total_* stats). */
  readonly #totals = { conferencesCreated: 0, conferencesCompleted: 0, conferenceSeconds: 0, participants: 0 };
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;

  constructor(bridge: Videobridge, media: MediaEngine, identity: StatsIdentity) {
    this.#bridge = bridge;
    this.#media = media;
    this.#identity = identity;
    this.#snapshot = this.#base();
    bridge.on('conferenceCreated', () => (this.#totals.conferencesCreated += 1));
    bridge.on('conferenceExpired', (c) => {
      this.#totals.conferencesCompleted += 1;
      this.#totals.conferenceSeconds += Math.round((Date.now() - c.createdAt) / 1000);
    });
    bridge.on('endpointCreated', () => (this.#totals.participants += 1));
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

  /** The latest snapshot (cheap; never waits). */
  snapshot(): StatsSnapshot {
    return {
      ...this.#snapshot,
      total_conferences_created: this.#totals.conferencesCreated,
      total_conferences_completed: this.#totals.conferencesCompleted,
      total_conference_seconds: this.#totals.conferenceSeconds,
      total_participants: this.#totals.participants,
      ...this.#flags(),
      current_timestamp: jvbTimestamp(),
    };
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
      threads: 2,
    };
  }

  async #compute(): Promise<void> {
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
    let traffic = { recvBitrate: 0, sendBitrate: 0, packetsReceived: 0, packetsSent: 0, packetsLostReceived: 0, packetsLostSent: 0, rttSumMs: 0, rttCount: 0 };
    let workerCpuMs = 0;
    try {
      traffic = await this.#media.traffic();
      const usage = await this.#media.resourceUsage();
      workerCpuMs = usage.ru_utime + usage.ru_stime;
    } catch {
      // worker gone: report what we have; `healthy` says the rest
    }
    const now = Date.now();
    const prev = this.#last;
    this.#last = {
      at: now,
      workerCpuMs,
      packetsIn: traffic.packetsReceived,
      packetsOut: traffic.packetsSent,
      lostIn: traffic.packetsLostReceived,
      lostOut: traffic.packetsLostSent,
    };
    const seconds = prev ? Math.max(0.001, (now - prev.at) / 1000) : 0;
    const rate = (cur: number, before: number): number => (seconds > 0 ? Math.max(0, (cur - before) / seconds) : 0);
    const packetRateDown = prev ? rate(traffic.packetsReceived, prev.packetsIn) : 0;
    const packetRateUp = prev ? rate(traffic.packetsSent, prev.packetsOut) : 0;
    const workerCpu = prev ? rate(workerCpuMs, prev.workerCpuMs) / 1000 : 0;
    // Loss over the interval as a fraction of what was expected (JVB's *_loss stats).
    const lossFraction = (lost: number, got: number): number => (lost + got > 0 ? lost / (lost + got) : 0);
    const dLostIn = prev ? Math.max(0, traffic.packetsLostReceived - prev.lostIn) : 0;
    const dLostOut = prev ? Math.max(0, traffic.packetsLostSent - prev.lostOut) : 0;
    const dIn = prev ? Math.max(0, traffic.packetsReceived - prev.packetsIn) : 0;
    const dOut = prev ? Math.max(0, traffic.packetsSent - prev.packetsOut) : 0;
    const stress = Math.max(workerCpu / CPU_LOAD_THRESHOLD, (packetRateDown + packetRateUp) / PACKET_RATE_LOAD_THRESHOLD);
    this.#snapshot = {
      ...this.#base(),
      stress_level: Math.round(stress * 1000) / 1000,
      conferences: conferences.length,
      participants: endpoints,
      endpoints,
      local_endpoints: endpoints,
      largest_conference: largest,
      endpoints_sending_audio: sendingAudio,
      endpoints_sending_video: sendingVideo,
      bit_rate_download: Math.round(traffic.recvBitrate / 1000),
      bit_rate_upload: Math.round(traffic.sendBitrate / 1000),
      packet_rate_download: Math.round(packetRateDown),
      packet_rate_upload: Math.round(packetRateUp),
      rtt_aggregate: traffic.rttCount > 0 ? Math.round((traffic.rttSumMs / traffic.rttCount) * 10) / 10 : 0,
      incoming_loss: lossFraction(dLostIn, dIn),
      outgoing_loss: lossFraction(dLostOut, dOut),
      overall_loss: lossFraction(dLostIn + dLostOut, dIn + dOut),
    };
  }
}
