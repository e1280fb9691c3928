/**
 * What the relay benchmark measures besides bench/lib/measure.ts's per-process CPU and delay samples: the whole
 * machine's busy CPU (kernel work such as veth, tun and UDP processing is not charged to any one process reliably),
 * the bytes crossing an underlay veth inside a namespace, and the per-packet delay between two receivers of the same
 * packets.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { which } from '../lib/wireguard.ts';
import type { BenchClient } from '../lib/client.ts';
import { readTrailer } from '../lib/media.ts';

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
  const [info] = JSON.parse(execFileSync(IP, ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as {
    stats64?: { rx: { bytes: number }; tx: { bytes: number } };
  }[];
  return (info?.stats64?.rx.bytes ?? 0) + (info?.stats64?.tx.bytes ?? 0);
}

/**
 * Per-packet arrival times at two receivers of the same packets (keyed by the trailer's sender index and send
 * time, bench/lib/media.ts), for the delay one path adds over the other on the very same packets at the same
 * moment: whatever stalls this process or the machine hits both alike.
 */
export class PairedArrivals {
  readonly #at: [Map<string, bigint>, Map<string, bigint>] = [new Map(), new Map()];
  recording = false;

  /** Record what `client`'s DTLS transports decrypt as side 0 or 1 (after it answered: the transports exist). */
  attach(client: BenchClient, side: 0 | 1): void {
    for (const dtls of new Set(client.pc.dtlsTransports)) {
      dtls.onRtp.subscribe((rtp) => {
        if (!this.recording) return;
        const now = process.hrtime.bigint();
        const t = readTrailer(rtp.payload);
        if (t) this.#at[side].set(`${t.senderIndex}:${t.sentNs}`, now);
      });
    }
  }

  /** Arrival at side 1 − arrival at side 0 per packet both got, ms, sorted; and how many only one side got. */
  differences(): { sorted: Float64Array; onlyOne: number } {
    const [a, b] = this.#at;
    const out: number[] = [];
    for (const [k, tb] of b) {
      const ta = a.get(k);
      if (ta !== undefined) out.push(Number(tb - ta) / 1e6);
    }
    return { sorted: Float64Array.from(out).sort(), onlyOne: a.size + b.size - 2 * out.length };
  }
}
