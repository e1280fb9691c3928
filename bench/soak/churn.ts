/**
 * Participants that come and go for the soak benchmark: werift light participants of the torture
 * harness (bench/lib/light/light.ts), joining standalone rooms through the focus WebSocket
 * (`/focus/<room>`) exactly like the page. Each one either stays a random time and leaves cleanly
 * (closes its focus socket with 1000 "leave" and its peer connection), or closes its focus socket
 * at a random moment of its join — before the socket opened, after `join`, after the
 * session-initiate (an endpoint allocated and never accepted), during ICE/DTLS, or just after it
 * connected — and drops its peer connection without a goodbye. Half of them (by default) send
 * synthetic VP8-shaped video and opus-shaped audio (bench/lib/media.ts) from one pacer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pacer } from '../lib/media.ts';
import { joinOctobridge, LightParticipant } from '../lib/light/light.ts';
import { syntheticAgentConfig, type AgentConfig } from '../lib/light/types.ts';

/** Churn settings. */
export interface ChurnOptions {
  /** Focus WebSocket base, `ws://host:port/focus/`. */
  focusBase: string;
  /** Number of rooms the participants spread over (`soak-0` …). */
  rooms: number;
  /** Fraction of participants that send media (0..1). */
  sendFraction: number;
  /** Fraction of participants that close their socket at a random moment of their join (0..1). */
  abortFraction: number;
  /** A clean participant stays uniformly 0.5..1.5 × this long after its join, ms. */
  stayMs: number;
  /** An aborting participant closes its socket uniformly within this long after it started, ms. */
  abortWindowMs: number;
}

/** What the churn did so far. */
export interface ChurnCounts {
  started: number;
  /** Joins that completed (ICE + DTLS + bridge channel up). */
  joined: number;
  /** Left cleanly after their stay. */
  left: number;
  /** Closed their socket at a random point of the join; `abortedJoined`: of those, after the join completed. */
  aborted: number;
  abortedJoined: number;
  /** Clean participants whose join failed. */
  failed: number;
  /** Join times of the completed joins, ms. */
  joinMs: number[];
}

// joinOctobridge opens its focus socket with the global WebSocket, synchronously: this subclass
// remembers the last one made, so an aborting participant can close its own.
const NativeWebSocket = globalThis.WebSocket;
let lastSocket: WebSocket | undefined;
globalThis.WebSocket = class extends NativeWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    lastSocket = this;
  }
} as typeof WebSocket;

/** See the module docstring. */
export class Churn {
  readonly counts: ChurnCounts = { started: 0, joined: 0, left: 0, aborted: 0, abortedJoined: 0, failed: 0, joinMs: [] };
  readonly #o: ChurnOptions;
  readonly #cfg: AgentConfig;
  readonly #pacer = new Pacer({ videoFps: 30, packetsPerFrame: 3, videoKbps: 600, keyframeInterval: 300, audioPps: 50, audioBytes: 80 }, { maxBurstFrames: 2 });
  readonly #running = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #n = 0;

  constructor(o: ChurnOptions) {
    this.#o = o;
    this.#cfg = syntheticAgentConfig(o.focusBase);
    this.#pacer.start();
  }

  /** Participants now between start and end. */
  get active(): number {
    return this.#running.size;
  }

  /** Start `ratePerSecond` participants a second until {@link stop}. */
  start(ratePerSecond: number): void {
    this.#timer = setInterval(() => this.#spawn(), 1000 / ratePerSecond);
  }

  /** Start no more; resolve once every participant has left. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Stop the pacer (after {@link stop}). */
  close(): void {
    this.#pacer.stop();
  }

  #spawn(): void {
    const n = this.#n++;
    const life = this.#life(n).catch(() => undefined);
    this.#running.add(life);
    void life.finally(() => this.#running.delete(life));
  }

  async #life(n: number): Promise<void> {
    const o = this.#o;
    this.counts.started += 1;
    const spec = { id: `p${n}`, conference: n % o.rooms, room: `soak-${n % o.rooms}`, kind: 'light' as const, send: Math.random() < o.sendFraction };
    const p = new LightParticipant(spec, this.#cfg, this.#pacer, undefined);
    const started = performance.now();
    const joining = joinOctobridge(p, o.focusBase, this.#cfg, undefined, 15_000);
    const socket = lastSocket;
    if (Math.random() < o.abortFraction) {
      const at = Math.random() * o.abortWindowMs;
      let joined = false;
      void joining.then(
        () => {
          joined = true;
          this.#joined(started);
        },
        () => undefined,
      );
      await sleep(at);
      socket?.close();
      this.counts.aborted += 1;
      if (joined) this.counts.abortedJoined += 1;
      await joining.catch(() => undefined);
      // A session-initiate being applied when the socket closed may still make a peer connection.
      await sleep(500);
      await p.close();
      return;
    }
    try {
      const session = await joining;
      this.#joined(started);
      await sleep(o.stayMs * (0.5 + Math.random()));
      session.close();
      this.counts.left += 1;
    } catch {
      this.counts.failed += 1;
      socket?.close();
    } finally {
      await p.close();
    }
  }

  #joined(started: number): void {
    this.counts.joined += 1;
    this.counts.joinMs.push(performance.now() - started);
  }
}
