/**
 * A CPU cap for a server under test: a cgroup whose CFS quota lets its processes use at most
 * `cores` of CPU time (0.5 = half of one core) however many threads they run. On a machine where
 * the load generator shares the cores with the server, capping the server makes it reach its
 * limit first, and its capacity per core is then the figure at the cap divided by `cores`.
 *
 * The kernel's CFS bandwidth control (Documentation/scheduler/sched-bwc.rst): cgroup v1's `cpu`
 * controller (`cpu.cfs_period_us`, `cpu.cfs_quota_us`) where it is mounted, else cgroup v2's
 * `cpu.max` ("quota period") with `cpu` enabled in the root's `cgroup.subtree_control`. Needs root.
 * The period is short (10 ms) so that a capped server is paused for at most a few ms at a time,
 * not for half of the default 100 ms period.
 */
import fs from 'node:fs';
import path from 'node:path';

const V1_CPU = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';
/** The CFS period, µs. */
const PERIOD_US = 10_000;

/** A cgroup with a CPU quota; processes started through {@link CpuCap.command} run inside it. */
export interface CpuCap {
  /** The cap, in cores. */
  readonly cores: number;
  /** The cgroup's folder. */
  readonly dir: string;
  /**
   * The command that runs `cmd args` inside the cgroup: `/bin/sh` writes its own pid into the
   * cgroup and then execs `cmd`, so the spawned child keeps its pid and everything it starts
   * (e.g. mediasoup workers) is inside from its first instruction.
   */
  command(cmd: string, args: readonly string[]): { cmd: string; args: string[] };
  /** CPU time the cgroup's processes were throttled for since it was made, ms (undefined: not reported). */
  throttledMs(): number | undefined;
  /** Remove the cgroup once its processes have exited (retries for up to 2 s). */
  close(): Promise<void>;
}

/**
 * Make a cgroup named `name` (under the `cpu` hierarchy) capped at `cores` of CPU time.
 * @throws Error when no writable `cpu` controller is found (not root, or no cgroup `cpu` support),
 *   or `cores` is not positive.
 */
export function createCpuCap(name: string, cores: number): CpuCap {
  if (!(cores > 0)) throw new Error(`a CPU cap must be > 0 cores, got ${cores}`);
  const quota = Math.max(1000, Math.round(cores * PERIOD_US));
  const v1 = fs.existsSync(path.join(V1_CPU, 'cpu.cfs_quota_us'));
  if (!v1 && !readText(path.join(V2_ROOT, 'cgroup.controllers'))?.split(/\s+/).includes('cpu')) {
    throw new Error(`no cgroup cpu controller at ${V1_CPU} (v1) or ${V2_ROOT} (v2): cannot cap the server's CPU`);
  }
  const dir = path.join(v1 ? V1_CPU : V2_ROOT, name);
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (v1) {
      fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
    } else {
      const control = path.join(V2_ROOT, 'cgroup.subtree_control');
      if (!readText(control)?.split(/\s+/).includes('cpu')) fs.writeFileSync(control, '+cpu');
      fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    }
  } catch (err) {
    throw new Error(`cannot make the CPU cap ${dir} (${(err as Error).message}); it needs root`);
  }
  const procs = path.join(dir, 'cgroup.procs');
  const stat = path.join(dir, 'cpu.stat');
  return {
    cores,
    dir,
    command: (cmd, args) => ({ cmd: '/bin/sh', args: ['-c', 'echo $$ > "$0" && exec "$@"', procs, cmd, ...args] }),
    throttledMs: () => {
      const text = readText(stat);
      if (!text) return undefined;
      const v1Ns = /^throttled_time (\d+)$/m.exec(text);
      if (v1Ns) return Number(v1Ns[1]) / 1e6;
      const v2Us = /^throttled_usec (\d+)$/m.exec(text);
      return v2Us ? Number(v2Us[1]) / 1e3 : undefined;
    },
    close: async () => {
      for (let i = 0; i < 20; i++) {
        try {
          fs.rmdirSync(dir);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
