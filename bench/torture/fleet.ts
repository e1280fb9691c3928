/**
 * The participants of a torture run, whatever their kind: lightweight ones spread round-robin
 * over client agents (agent.ts, child processes), Chromium ones in this process (chromium.ts).
 * One interface to join them, sample them, tell them of faults, collect their reports, and name
 * their processes for the cost figures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandOf, descendantsOf } from '../lib/measure.ts';
import { ChromiumParticipant } from './chromium.ts';
import { pssMiB, rssMiB } from '../lib/sampler.ts';
import type { RelayCounters } from '../lib/light/impair.ts';
import type { AgentCommand, AgentConfig, AgentEvent, ParticipantReport, ParticipantSample, ParticipantSpec } from '../lib/light/types.ts';

const AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'agent.ts');

/** One agent process and what is waiting on it. */
interface Agent {
  proc: ChildProcess;
  pid: number;
  /** PSS and RSS with no participant, MiB (Node + werift + the clip). */
  base: { pss: number; rss: number };
  participants: number;
  /** Frames its pacer skipped so far, from its last answered sample (a late agent keeps its count). */
  skippedFrames: number;
  joins: Map<string, { resolve: (connectedAt: number) => void; reject: (e: Error) => void }>;
  waiting: ((e: AgentEvent) => void)[];
}

/** Pacing and event-loop health of the agents at a sample. */
export interface AgentHealth {
  /** Frames the agents' pacers skipped so far (event loop stalled > 2 frames). */
  skippedFrames: number;
  /** Worst p99 event loop delay over the agents in the last interval, ms. */
  eventLoopDelayMs: number;
}

/** See the module docstring. */
export class Fleet {
  readonly #agents: Agent[] = [];
  readonly #chromium: ChromiumParticipant[] = [];
  readonly #publicUrl: string;
  readonly #chromiumOpts: { simulcast: boolean; width: number; height: number };
  /** Latest sample per participant (a late agent keeps its last one). */
  readonly latest = new Map<string, ParticipantSample>();
  #next = 0;

  private constructor(publicUrl: string, chromiumOpts: { simulcast: boolean; width: number; height: number }) {
    this.#publicUrl = publicUrl;
    this.#chromiumOpts = chromiumOpts;
  }

  /**
   * Fork `agents` client agents with `cfg` (none when 0) and wait until each is ready.
   * `publicUrl`: the standalone page for Chromium participants.
   * @throws Error when an agent does not start within 20 s.
   */
  static async start(cfg: AgentConfig, agents: number, publicUrl: string, chromiumOpts: { simulcast: boolean; width: number; height: number }): Promise<Fleet> {
    const fleet = new Fleet(publicUrl, chromiumOpts);
    await Promise.all(Array.from({ length: agents }, () => fleet.#fork(cfg)));
    return fleet;
  }

  async #fork(cfg: AgentConfig): Promise<void> {
    const proc = fork(AGENT, [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const agent: Agent = { proc, pid: proc.pid as number, base: { pss: 0, rss: 0 }, participants: 0, skippedFrames: 0, joins: new Map(), waiting: [] };
    proc.on('message', (e: AgentEvent) => {
      if (e.type === 'joined') agent.joins.get(e.id)?.resolve(e.connectedAt);
      else if (e.type === 'error') agent.joins.get(e.id)?.reject(new Error(e.message));
      else agent.waiting.shift()?.(e);
    });
    proc.on('exit', () => {
      for (const j of agent.joins.values()) j.reject(new Error(`client agent ${agent.pid} exited`));
      for (const w of agent.waiting.splice(0)) w({ type: 'ready' });
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('client agent did not start within 20 s')), 20_000);
      agent.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    agent.base = { pss: pssMiB([agent.pid]), rss: rssMiB([agent.pid]) };
    this.#agents.push(agent);
  }

  /** Send a command and wait for the next event of that agent (sample / report), at most `timeoutMs`. */
  #ask(agent: Agent, cmd: AgentCommand, timeoutMs: number): Promise<AgentEvent | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = agent.waiting.indexOf(done);
        if (i >= 0) agent.waiting.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      const done = (e: AgentEvent): void => {
        clearTimeout(timer);
        resolve(e);
      };
      agent.waiting.push(done);
      agent.proc.send(cmd);
    });
  }

  /**
   * Join one participant; resolves with when its media session connected (ms).
   * @throws Error when it cannot join (the message says why).
   */
  async join(spec: ParticipantSpec): Promise<number> {
    if (spec.kind === 'chromium') {
      const p = await ChromiumParticipant.open(spec, this.#publicUrl, this.#chromiumOpts);
      this.#chromium.push(p);
      return p.connectedAt ?? 0;
    }
    const agent = this.#agents[this.#next++ % this.#agents.length];
    if (!agent) throw new Error('no client agent for a lightweight participant');
    agent.participants += 1;
    return new Promise<number>((resolve, reject) => {
      agent.joins.set(spec.id, { resolve, reject });
      agent.proc.send({ type: 'join', spec } satisfies AgentCommand);
    });
  }

  /** Sample every participant (agents answer within 900 ms, or keep their last sample). */
  async sample(): Promise<AgentHealth> {
    const health: AgentHealth = { skippedFrames: 0, eventLoopDelayMs: 0 };
    const answers = await Promise.all([
      ...this.#agents.map(async (a) => {
        const e = await this.#ask(a, { type: 'sample' }, 900);
        if (e?.type === 'sample') a.skippedFrames = e.skippedFrames;
        return e;
      }),
      ...this.#chromium.map(async (c) => {
        await c.poll();
        return { type: 'sample', samples: [c.sample()], skippedFrames: 0, eventLoopDelayMs: 0 } as AgentEvent;
      }),
    ]);
    for (const e of answers) {
      if (e?.type !== 'sample') continue;
      for (const s of e.samples) this.latest.set(s.id, s);
      health.eventLoopDelayMs = Math.max(health.eventLoopDelayMs, e.eventLoopDelayMs);
    }
    // Agents count from their last answer: one that missed this sample does not lower the total.
    for (const a of this.#agents) health.skippedFrames += a.skippedFrames;
    return health;
  }

  /** Tell every participant that a fault happens at `at` (ms), lasting until `until` (default: an instant). */
  fault(at: number, until = at): void {
    for (const a of this.#agents) a.proc.send({ type: 'fault', at, until } satisfies AgentCommand);
    for (const c of this.#chromium) c.fault(at, until);
  }

  /** Set the impairment relay's drop probability (0..1) in every agent. */
  setLoss(loss: number): void {
    for (const a of this.#agents) a.proc.send({ type: 'loss', loss } satisfies AgentCommand);
  }

  /** Packets the agents' impairment relays passed and dropped (summed), once {@link reports} ran; undefined without relays. */
  relay: RelayCounters | undefined;

  /** Every participant's report at `end` (ms); also sums the agents' relay counters into {@link relay}. */
  async reports(end: number): Promise<ParticipantReport[]> {
    const out: ParticipantReport[] = [];
    for (const a of this.#agents) {
      const e = await this.#ask(a, { type: 'report', end }, 10_000);
      if (e?.type !== 'report') continue;
      out.push(...e.reports);
      if (e.relay) {
        const r = (this.relay ??= { up: { passed: 0, dropped: 0 }, down: { passed: 0, dropped: 0 } });
        for (const dir of ['up', 'down'] as const) {
          r[dir].passed += e.relay[dir].passed;
          r[dir].dropped += e.relay[dir].dropped;
        }
      }
    }
    for (const c of this.#chromium) {
      await c.poll(end);
      out.push(c.report(end));
    }
    return out;
  }

  /** Pids of the agents. */
  agentPids(): number[] {
    return this.#agents.map((a) => a.pid);
  }

  /** The agents' PSS and RSS with no participant, MiB (summed). */
  agentBaseMiB(): { pss: number; rss: number } {
    return { pss: this.#agents.reduce((n, a) => n + a.base.pss, 0), rss: this.#agents.reduce((n, a) => n + a.base.rss, 0) };
  }

  /**
   * Pids of the Chromium participants' processes: the Chromium processes among this process's
   * descendants (playwright launches each browser as a child; renderers, GPU and utility
   * processes descend from it). None when there are no Chromium participants.
   */
  chromiumPids(): number[] {
    if (this.#chromium.length === 0) return [];
    return descendantsOf(process.pid).filter((pid) => commandOf(pid).startsWith('chrom'));
  }

  /** Close every participant and agent. Never throws. */
  async close(): Promise<void> {
    await Promise.all(this.#chromium.map((c) => c.close()));
    await Promise.all(
      this.#agents.map(
        (a) =>
          new Promise<void>((resolve) => {
            if (a.proc.exitCode !== null) return resolve();
            const timer = setTimeout(() => a.proc.kill('SIGKILL'), 5000);
            a.proc.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            a.proc.send({ type: 'close' } satisfies AgentCommand);
          }),
      ),
    );
  }
}
