/**
 * Drain and shutdown, as JVB's `Videobridge.setDrainMode` and `ShutdownManager.kt` do them:
 * - drain: a flag in presence (`drain=true`); Jicofo avoids the bridge for new conferences, the
 *   bridge still accepts them (JVB does too).
 * - graceful shutdown: presence says `graceful_shutdown=true`, new conferences are refused with
 *   `graceful_shutdown`; once the participants drop to `minParticipants` (0) — or after
 *   `maxDurationMs` — the state becomes shutting down (`shutting_down=true` in presence) and after
 *   `shuttingDownDelayMs` the bridge exits (the `exit` event).
 * - plain shutdown: `exit` at once.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import { duration, HOUR, int, MINUTE, type SettingsTable } from '../util/settings.ts';
import type { Videobridge } from './Videobridge.ts';

/** `videobridge.shutdown.*` (JVB `ShutdownConfig`). */
export interface ShutdownSettings {
  /** `graceful-shutdown-min-participants`: shut down when at most this many remain (JVB default 0). */
  minParticipants: number;
  /** `graceful-shutdown-max-duration`: shut down after this long regardless, ms (JVB default 24 h). */
  maxDurationMs: number;
  /** `shutting-down-delay`: time in the shutting-down state before exiting, ms (JVB default 1 min). */
  shuttingDownDelayMs: number;
}

/** JVB's reference.conf values. */
export const DEFAULT_SHUTDOWN: Readonly<ShutdownSettings> = { maxDurationMs: 24 * HOUR, minParticipants: 0, shuttingDownDelayMs: MINUTE };

/** Where each `videobridge.shutdown.*` setting is read (jvb.conf only, as JVB). */
export const SHUTDOWN_SETTINGS: SettingsTable<ShutdownSettings> = [
  { key: 'maxDurationMs', file: 'videobridge.shutdown.graceful-shutdown-max-duration', value: duration(0, 30 * 24 * HOUR) },
  { key: 'minParticipants', file: 'videobridge.shutdown.graceful-shutdown-min-participants', value: int(0, 1_000_000) },
  { key: 'shuttingDownDelayMs', file: 'videobridge.shutdown.shutting-down-delay', value: duration(0, 24 * HOUR) },
];

/** {@link ShutdownSettings} and `videobridge.initial-drain-mode`. */
export interface LifecycleOptions extends ShutdownSettings {
  initialDrain: boolean;
}

export type LifecycleState = 'running' | 'graceful-shutdown' | 'shutting-down';

interface Events {
  /** The process should exit now (after closing the bridge). */
  exit: [reason: string];
  stateChange: [LifecycleState];
}

/** See the module docstring. */
export class Lifecycle extends EventEmitter<Events> {
  readonly #bridge: Videobridge;
  readonly #opts: LifecycleOptions;
  readonly #log: Logger;
  #drain: boolean;
  #state: LifecycleState = 'running';
  #timers: NodeJS.Timeout[] = [];

  constructor(bridge: Videobridge, opts: LifecycleOptions, log: Logger) {
    super();
    this.#bridge = bridge;
    this.#opts = opts;
    this.#log = log;
    this.#drain = opts.initialDrain;
    const check = (): void => this.#maybeShutDown();
    bridge.on('endpointExpired', check);
    bridge.on('conferenceExpired', check);
  }

  get drain(): boolean {
    return this.#drain;
  }

  /** Enable or disable drain mode (REST `/colibri/drain/enable|disable`). */
  setDrain(on: boolean): void {
    if (on !== this.#drain) this.#log.info({ drain: on }, 'drain mode changed');
    this.#drain = on;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /** Presence / stats flags. */
  flags(): { drain: boolean; graceful_shutdown: boolean; shutting_down: boolean } {
    return { drain: this.#drain, graceful_shutdown: this.#state !== 'running', shutting_down: this.#state === 'shutting-down' };
  }

  /** Participants on this bridge. */
  #participants(): number {
    return this.#bridge.conferences().reduce((n, c) => n + c.endpointCount, 0);
  }

  /**
   * Start a shutdown (REST `/colibri/shutdown`). Graceful: refuse new conferences, exit when
   * the participants are gone. Not graceful: exit now. A second graceful request is a no-op.
   */
  initiateShutdown(graceful: boolean): void {
    if (!graceful) {
      this.#log.warn('shutdown requested');
      this.emit('exit', 'shutdown');
      return;
    }
    if (this.#state !== 'running') return;
    this.#state = 'graceful-shutdown';
    this.#bridge.gracefulShutdown = true;
    this.#log.info({ participants: this.#participants() }, 'graceful shutdown started');
    this.emit('stateChange', this.#state);
    const max = setTimeout(() => this.#startShuttingDown('graceful-shutdown-max-duration reached'), this.#opts.maxDurationMs);
    max.unref();
    this.#timers.push(max);
    this.#maybeShutDown();
  }

  #maybeShutDown(): void {
    if (this.#state !== 'graceful-shutdown') return;
    if (this.#participants() <= this.#opts.minParticipants) this.#startShuttingDown('participants gone');
  }

  #startShuttingDown(why: string): void {
    if (this.#state === 'shutting-down') return;
    this.#state = 'shutting-down';
    this.#log.info({ why, delayMs: this.#opts.shuttingDownDelayMs }, 'shutting down');
    this.emit('stateChange', this.#state);
    const t = setTimeout(() => this.emit('exit', 'graceful shutdown'), this.#opts.shuttingDownDelayMs);
    this.#timers.push(t);
  }

  /** Cancel timers (bridge closing). */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
  }
}
