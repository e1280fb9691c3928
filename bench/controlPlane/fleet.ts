/**
 * The client processes of the control-plane benchmark, seen from the parent: `processes`
 * forked copies of clients.ts, conferences spread round robin over them (a conference stays in
 * one process, its endpoints joined one after the other as Jicofo does).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientCommand, ClientEvent, ConferencePlan } from './protocol.ts';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'clients.ts');

/** What one join round gave: endpoints connected and failed over all processes, wall time (ms). */
export interface JoinResult {
  connected: number;
  failed: number;
  errors: string[];
  ms: number;
}

/** See the module docstring. */
export class ClientFleet {
  readonly #children: ChildProcess[];
  #next = 0;

  /** Fork `processes` client processes (they wait for commands). */
  constructor(processes: number) {
    this.#children = Array.from({ length: processes }, () => fork(CLIENT, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  }

  /** Pids of the client processes (for their CPU). */
  get pids(): number[] {
    return this.#children.map((c) => c.pid as number);
  }

  /**
   * Join `conferences` (round robin over the processes, continuing where the previous call
   * stopped), `concurrency` conferences at a time in each process; `senders`: endpoint ids that
   * send media. Resolves when every process answered.
   */
  async join(bridgeUrl: string, conferences: ConferencePlan[], senders: string[], concurrency: number): Promise<JoinResult> {
    const t0 = performance.now();
    const parts: ConferencePlan[][] = this.#children.map(() => []);
    for (const c of conferences) parts[this.#next++ % parts.length]?.push(c);
    const answers = await Promise.all(
      this.#children.map((child, i) => this.#ask(child, { type: 'join', bridgeUrl, conferences: parts[i] ?? [], senders, concurrency })),
    );
    const joined = answers.filter((a): a is Extract<ClientEvent, { type: 'joined' }> => a.type === 'joined');
    return {
      connected: joined.reduce((s, a) => s + a.connected, 0),
      failed: joined.reduce((s, a) => s + Math.max(0, a.failed), 0),
      errors: joined.flatMap((a) => a.errors).slice(0, 5),
      ms: performance.now() - t0,
    };
  }

  /** Close every endpoint and stop the processes (killed after 10 s). */
  async close(): Promise<void> {
    await Promise.all(
      this.#children.map(async (child) => {
        if (child.exitCode !== null || !child.connected) return;
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await Promise.race([this.#ask(child, { type: 'close' }).catch(() => undefined), new Promise((r) => child.once('exit', r))]);
        clearTimeout(timer);
      }),
    );
  }

  #ask(child: ChildProcess, cmd: ClientCommand): Promise<ClientEvent> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`client process ${child.pid} exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (m: ClientEvent) => {
        child.off('exit', onExit);
        resolve(m);
      });
      child.send(cmd);
    });
  }
}
