/**
 * What the relay benchmark measures besides bench/forwarding/measure.ts's per-process CPU: the whole machine's busy
 * CPU (kernel work such as veth, tun and UDP processing is not charged to any one process reliably), and the bytes
 * crossing an underlay veth inside a namespace.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { which } from '../../test/helpers/wireguard.ts';

const IP = which('ip') ?? 'ip';
/** USER_HZ (clock ticks in /proc/stat). */
const CLK_TCK = 100;

/** Busy clock ticks of all CPUs so far (`/proc/stat` cpu line: everything but idle and iowait). */
function busyTicks(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

/** Machine CPU over a window: start it, then read % of one core (all processes and the kernel). */
export class MachineCpuWindow {
  readonly #t0 = performance.now();
  readonly #busy0 = busyTicks();

  percent(): number {
    const wall = (performance.now() - this.#t0) / 1000;
    return ((busyTicks() - this.#busy0) / CLK_TCK / wall) * 100;
  }
}

/** rx + tx bytes of `dev` in namespace `ns` (`ip -n <ns> -s -j link show dev <dev>`). */
export function linkBytes(ns: string, dev: string): number {
  const [info] = JSON.parse(execFileSync(IP, ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as { stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[];
  return (info?.stats64?.rx.bytes ?? 0) + (info?.stats64?.tx.bytes ?? 0);
}
