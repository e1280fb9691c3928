/**
 * Put a test participant behind a rate-limited downlink: a network namespace joined to the host
 * by a veth pair, with a token bucket (tc `tbf`) on the host side of the pair, and Chromium
 * launched inside the namespace (there is no netem on the test
 * machines, so rate limits only — no delay, no random loss).
 *
 * ```
 *  host namespace                              namespace `ob<i>p<pid>`
 *  bridge (UDP + HTTP on 10.213.<i>.1) ── ob<i>h ══ veth ══ ob<i>n ── Chromium (10.213.<i>.2)
 *                                          └ tbf: the namespace's downlink
 * ```
 *
 * The host side of the veth is a local address of the host, so peers in the host namespace
 * (plain {@link openPeer}) reach the bridge on it too (over loopback, unshaped): start the bridge
 * with {@link netnsBridgeEnv} and every peer gets the one ICE candidate that works for all.
 *
 * Needs root and a working `ip netns` ({@link netnsSupport}); every namespace is removed by
 * {@link Netns.close}, on process exit, and (after a SIGKILL) by the next {@link createNetns} of
 * any process, which deletes the namespaces of dead test processes.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, openPeerWith, type BrowserPeer } from './chromium.ts';

/** The /16 the namespaces' /24 subnets are taken from (10.213.<index>.0/24, index 1..254). */
const SUBNET16 = '10.213';
/** Namespaces made by this helper: `ob<index>p<owner pid>`. */
const NAME_RE = /^ob(\d{1,3})p(\d+)$/;
/** A full-size Ethernet frame as tbf counts it (1500 B IP + 14 B header). */
const FRAME_BYTES = 1514;

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => fs.existsSync(p)) ?? 'ip';
const TC = ['/usr/sbin/tc', '/sbin/tc', '/usr/bin/tc', '/bin/tc'].find((p) => fs.existsSync(p)) ?? 'tc';

/** Shaping knobs of {@link Netns.setDownlinkRate}; the defaults are explained there. */
export interface ShapingOptions {
  /** Longest time a packet may wait in the queue, ms (default 100). */
  latencyMs?: number;
  /** Token bucket size, bytes (default max(1600, rate · 10 ms)). */
  burstBytes?: number;
  /** Queue limit, bytes, instead of the one derived from `latencyMs`; at least `burstBytes`. */
  limitBytes?: number;
}

/** tbf counters of the downlink (`tc -s qdisc show`), cumulative since the qdisc was set. */
export interface DownlinkStats {
  /** Bytes sent into the namespace (Ethernet frames, as tbf counts them). */
  bytes: number;
  packets: number;
  /** Packets dropped because the queue was full (the shaping at work). */
  drops: number;
  /** Times a packet had to wait for tokens. */
  overlimits: number;
  /** Bytes queued right now. */
  backlogBytes: number;
}

/** A network namespace with a veth link to the host ({@link createNetns}). */
export interface Netns {
  /** Namespace name (`ip netns`), `ob<index>p<pid>`. */
  readonly name: string;
  /** The veth end in the host namespace (its egress is the namespace's downlink). */
  readonly hostVeth: string;
  /** The veth end inside the namespace. */
  readonly nsVeth: string;
  /** Address of {@link hostVeth}, a local address of the host: bind the bridge here. */
  readonly hostIp: string;
  /** Address of {@link nsVeth}, the namespace's own address. */
  readonly nsIp: string;
  /** The current downlink cap in kbit/s (1000 bit/s), or null when unshaped. */
  readonly downlinkKbps: number | null;
  /** True once {@link close} was called. */
  readonly closed: boolean;
  /**
   * Cap the downlink (host → namespace) at `kbps` kbit/s (1 kbit = 1000 bit, tc's unit; tbf
   * counts Ethernet frames, so IP/UDP/SRTP overhead is inside the cap), or remove the cap with
   * `null`. A token bucket on the host-side veth:
   * `tc qdisc replace dev <hostVeth> root tbf rate <kbps>kbit burst <b> limit <l>`.
   *
   * - burst `b` = max(1600 B, rate · 10 ms): at least one full-size packet (tbf drops a packet
   *   larger than the burst, so less would drop every full-size packet), at most 10 ms of traffic
   *   at line rate. Over any window the link passes at most rate · window + b: at 100 kbit/s that
   *   is 12.8 kbit extra (2.6 kbit/s over 5 s), above 1.28 Mbit/s 10 ms worth.
   * - limit `l` = b + max(rate · latencyMs, 4 full-size frames), latencyMs 100 by default: the
   *   queue holds ~100 ms, then tail-drops, like a modest router buffer. A sender overshooting the
   *   cap sees queueing delay growth and then loss (what a WebRTC bandwidth estimator reacts to),
   *   not seconds of bufferbloat. Below ~480 kbit/s the floor of 4 full-size frames (6 KB) wins:
   *   100 ms is then less than a video frame's burst of packets (at 100 kbit/s one 1200 B packet
   *   alone takes 96 ms), and tail drops would hit nearly every frame; the queue then holds up to
   *   ~190 ms at 250 kbit/s, ~610 ms at 100 kbit/s (with the burst).
   * - `opts` overrides any of these (`limitBytes` replaces the derived limit).
   *
   * @throws RangeError when `kbps` is not a positive finite number (or an option is invalid).
   * @throws Error when tc fails or the namespace is closed.
   */
  setDownlinkRate(kbps: number | null, opts?: ShapingOptions): Promise<void>;
  /** tbf counters of the downlink, or null when it is unshaped. @throws Error when tc fails. */
  downlinkStats(): Promise<DownlinkStats | null>;
  /**
   * Run `cmd` (argv, no shell) inside the namespace (`ip netns exec <name> ...cmd`) and resolve
   * with its output; `timeoutMs` (default 10 s) kills it.
   * @throws Error (with stderr) when it exits non-zero, times out, or the namespace is closed.
   */
  exec(cmd: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /**
   * Delete the namespace: kills the processes still in it (browsers opened with
   * {@link openPeerInNetns}: close them first to close cleanly), deletes the veth pair (the qdisc
   * goes with it) and the namespace, and the Chromium wrapper script. Idempotent; never throws.
   */
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------- commands

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

const SYSCTL = ['/usr/sbin/sysctl', '/sbin/sysctl', '/usr/bin/sysctl', '/bin/sysctl'].find((p) => fs.existsSync(p)) ?? 'sysctl';

/**
 * Turn IPv6 off on interfaces this helper makes (`net.ipv6.conf.<if>.disable_ipv6 = 1`), in
 * namespace `ns` (or the host's when undefined), before they go up; `nsDefault` also sets the
 * namespace's `default`, so interfaces made in it later (a WireGuard link, more veths) start
 * without IPv6 too. The test networks are IPv4-only: otherwise every link sends IPv6 router and
 * neighbour solicitations (ICMPv6 to ff02::2 etc.) of its own, which a capture would see. No-op
 * on a kernel without IPv6. @throws Error when sysctl fails.
 */
async function disableIpv6(ns: string | undefined, ifaces: readonly string[], nsDefault = false): Promise<void> {
  if (!fs.existsSync('/proc/sys/net/ipv6')) return;
  const keys = [...(nsDefault ? ['default'] : []), ...ifaces].map((i) => `net.ipv6.conf.${i}.disable_ipv6=1`);
  if (keys.length === 0) return;
  if (ns) await run(IP, ['netns', 'exec', ns, SYSCTL, '-q', '-w', ...keys]);
  else await run(SYSCTL, ['-q', '-w', ...keys]);
}

function runSync(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function netnsNames(): string[] {
  return runSync(IP, ['netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

// ------------------------------------------------------------------------------- support check

let support: { ok: true } | { ok: false; reason: string } | undefined;

/**
 * Whether namespaces can be made here: root, and `ip netns add` / `ip netns del` of a scratch
 * namespace work (checked once, synchronously, so it can feed `describe.skipIf`). Never throws.
 * `reason` says why not, for the skip message.
 */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (support) return support;
  if (process.platform !== 'linux') return (support = { ok: false, reason: `network namespaces need Linux (platform ${process.platform})` });
  if (process.getuid?.() !== 0) return (support = { ok: false, reason: `network namespaces need root (uid ${process.getuid?.()})` });
  const probe = `obprobe${process.pid % 100000}`;
  try {
    runSync(IP, ['netns', 'add', probe]);
    runSync(IP, ['netns', 'del', probe]);
    runSync(TC, ['-V']);
    support = { ok: true };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    support = { ok: false, reason: `ip netns / tc unusable: ${String(e.stderr ?? '').trim() || e.message}` };
  }
  return support;
}

// ------------------------------------------------------------------------------- cleanup

const open = new Set<NetnsImpl>();
let hooked = false;

function closeAllSync(): void {
  for (const ns of open) ns.closeSync();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', closeAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      closeAllSync();
      process.off(sig, onSignal);
      // Only ours: keep the default (die by the signal); otherwise leave it to the others.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Delete the namespaces (and their host-side veths) this helper made in processes that no longer
 * run (a test killed by SIGKILL never runs its exit hook). Namespaces of live processes are left
 * alone. Never throws.
 */
export function sweepStaleNetns(): void {
  try {
    for (const name of netnsNames()) {
      const m = NAME_RE.exec(name);
      if (!m || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
      try {
        runSync(IP, ['link', 'del', `ob${m[1]}h`]);
      } catch {
        // gone with its namespace already
      }
      try {
        runSync(IP, ['netns', 'del', name]);
      } catch {
        // raced with another sweeper
      }
    }
  } catch {
    // ip netns list failed: nothing to sweep
  }
}

// ------------------------------------------------------------------------------- the namespace

class NetnsImpl implements Netns {
  readonly name: string;
  readonly hostVeth: string;
  readonly nsVeth: string;
  readonly hostIp: string;
  readonly nsIp: string;
  downlinkKbps: number | null = null;
  closed = false;
  #wrapperDir: string | undefined;

  constructor(index: number) {
    this.name = `ob${index}p${process.pid}`;
    this.hostVeth = `ob${index}h`;
    this.nsVeth = `ob${index}n`;
    this.hostIp = `${SUBNET16}.${index}.1`;
    this.nsIp = `${SUBNET16}.${index}.2`;
  }

  #check(): void {
    if (this.closed) throw new Error(`network namespace ${this.name} is closed`);
  }

  async setDownlinkRate(kbps: number | null, opts: ShapingOptions = {}): Promise<void> {
    this.#check();
    if (kbps === null) {
      if (this.downlinkKbps === null) return;
      await run(TC, ['qdisc', 'del', 'dev', this.hostVeth, 'root']).catch((err: Error) => {
        if (!/handle of zero|No such file|Invalid handle/i.test(err.message)) throw err;
      });
      this.downlinkKbps = null;
      return;
    }
    if (!Number.isFinite(kbps) || kbps <= 0) throw new RangeError(`downlink rate must be a positive number of kbit/s, got ${kbps}`);
    const latencyMs = opts.latencyMs ?? 100;
    if (!Number.isFinite(latencyMs) || latencyMs <= 0) throw new RangeError(`latencyMs must be positive, got ${latencyMs}`);
    const bytesPerS = (kbps * 1000) / 8;
    const burst = Math.ceil(opts.burstBytes ?? Math.max(1600, bytesPerS * 0.01));
    if (!Number.isFinite(burst) || burst < FRAME_BYTES) throw new RangeError(`burstBytes must be at least ${FRAME_BYTES} (one full-size frame), got ${burst}`);
    const limit = Math.ceil(opts.limitBytes ?? burst + Math.max((bytesPerS * latencyMs) / 1000, 4 * FRAME_BYTES));
    if (!Number.isFinite(limit) || limit < burst) throw new RangeError(`limitBytes must be at least the burst (${burst} B), got ${limit}`);
    await run(TC, ['qdisc', 'replace', 'dev', this.hostVeth, 'root', 'tbf', 'rate', `${kbps}kbit`, 'burst', String(burst), 'limit', String(limit)]);
    this.downlinkKbps = kbps;
  }

  async downlinkStats(): Promise<DownlinkStats | null> {
    this.#check();
    const { stdout } = await run(TC, ['-s', '-j', 'qdisc', 'show', 'dev', this.hostVeth]);
    const q = (
      JSON.parse(stdout) as { kind: string; root?: boolean; bytes?: number; packets?: number; drops?: number; overlimits?: number; backlog?: number }[]
    ).find((x) => x.kind === 'tbf');
    if (!q) return null;
    return { bytes: q.bytes ?? 0, packets: q.packets ?? 0, drops: q.drops ?? 0, overlimits: q.overlimits ?? 0, backlogBytes: q.backlog ?? 0 };
  }

  async exec(cmd: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    this.#check();
    if (cmd.length === 0) throw new Error('exec: empty command');
    return run(IP, ['netns', 'exec', this.name, ...cmd], opts.timeoutMs ?? 10_000);
  }

  /** The Chromium wrapper script that enters the namespace (made on first use). */
  chromiumWrapper(): string {
    this.#check();
    if (!this.#wrapperDir) {
      this.#wrapperDir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.name}-`));
      // exec all the way down: ip netns exec setns()es and execs, so playwright's child pid is
      // Chromium itself, and its --remote-debugging-pipe fds 3/4 are inherited through.
      fs.writeFileSync(path.join(this.#wrapperDir, 'chromium'), `#!/bin/sh\nexec ${IP} netns exec ${this.name} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    }
    return path.join(this.#wrapperDir, 'chromium');
  }

  /** Create the veth pair (the atomic claim of `index`), then the namespace; false when `index` is taken. */
  async setUp(): Promise<boolean> {
    try {
      await run(IP, ['link', 'add', this.hostVeth, 'type', 'veth', 'peer', 'name', this.nsVeth]);
    } catch (err) {
      if (/File exists/i.test((err as Error).message)) return false;
      throw err;
    }
    try {
      await run(IP, ['netns', 'add', this.name]);
      open.add(this);
      await disableIpv6(undefined, [this.hostVeth]);
      await disableIpv6(this.name, [], true);
      await run(IP, ['link', 'set', this.nsVeth, 'netns', this.name]);
      await disableIpv6(this.name, [this.nsVeth]);
      await run(IP, ['addr', 'add', `${this.hostIp}/24`, 'dev', this.hostVeth]);
      await run(IP, ['link', 'set', this.hostVeth, 'up']);
      await run(IP, ['-n', this.name, 'addr', 'add', `${this.nsIp}/24`, 'dev', this.nsVeth]);
      await run(IP, ['-n', this.name, 'link', 'set', 'lo', 'up']);
      await run(IP, ['-n', this.name, 'link', 'set', this.nsVeth, 'up']);
      // A default route: Chromium finds its local address by "connecting" to a public address,
      // and the host-side addresses of other namespaces become reachable (weak host model).
      await run(IP, ['-n', this.name, 'route', 'add', 'default', 'via', this.hostIp]);
    } catch (err) {
      this.closeSync();
      throw err;
    }
    return true;
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    open.delete(this);
    try {
      for (const pid of runSync(IP, ['netns', 'pids', this.name]).split(/\s+/).filter(Boolean).map(Number)) {
        if (pid !== process.pid) process.kill(pid, 'SIGKILL');
      }
    } catch {
      // no namespace (set-up failed early) or the processes are gone
    }
    for (const args of [
      ['link', 'del', this.hostVeth],
      ['netns', 'del', this.name],
    ]) {
      try {
        runSync(IP, args);
      } catch {
        // already gone
      }
    }
    if (this.#wrapperDir) fs.rmSync(this.#wrapperDir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.closeSync();
  }
}

let counter = 0;

/**
 * Make a network namespace `ob<i>p<pid>` with a veth pair `ob<i>h` (host) / `ob<i>n` (namespace)
 * on 10.213.<i>.0/24 (host .1, namespace .2, default route via the host), lo and both ends up,
 * IPv6 off on both ends and by default in the namespace (IPv4-only), `i` in 1..254 chosen free machine-wide (creating the veth is the atomic claim, so concurrent
 * test processes get different subnets). `opts.downlinkKbps`: an initial downlink cap in kbit/s
 * ({@link Netns.setDownlinkRate}). First deletes namespaces left by dead test processes
 * ({@link sweepStaleNetns}); registers the namespace for removal on process exit.
 *
 * @throws Error when namespaces are unsupported ({@link netnsSupport}'s reason), no subnet is
 * free, or an `ip` command fails (everything made so far is removed again).
 */
export async function createNetns(opts: { downlinkKbps?: number | null } = {}): Promise<Netns> {
  const s = netnsSupport();
  if (!s.ok) throw new Error(s.reason);
  sweepStaleNetns();
  hookExit();
  const used = new Set<number>();
  for (const line of runSync(IP, ['-o', '-4', 'addr', 'show']).split('\n')) {
    const m = new RegExp(`inet ${SUBNET16.replace('.', '\\.')}\\.(\\d+)\\.`).exec(line);
    if (m) used.add(Number(m[1]));
  }
  for (const name of netnsNames()) {
    const m = NAME_RE.exec(name);
    if (m) used.add(Number(m[1]));
  }
  const start = (process.pid * 31 + counter++) % 254;
  for (let k = 0; k < 254; k++) {
    const index = ((start + k) % 254) + 1;
    if (used.has(index)) continue;
    const ns = new NetnsImpl(index);
    if (!(await ns.setUp())) continue;
    try {
      if (opts.downlinkKbps != null) await ns.setDownlinkRate(opts.downlinkKbps);
    } catch (err) {
      await ns.close();
      throw err;
    }
    return ns;
  }
  throw new Error(`no free subnet in ${SUBNET16}.1-254.0/24 for a network namespace`);
}

/**
 * Launch headless Chromium (same flags as {@link openPeer}) inside `ns` and open `url` in it;
 * the same {@link BrowserPeer} shape. playwright starts a wrapper script
 * (`exec ip netns exec <ns> /usr/bin/chromium "$@"`) and drives it over its usual
 * --remote-debugging-pipe, which passes through `ip netns exec` unchanged. `url` must use an
 * address reachable from the namespace (`http://<ns.hostIp>:<port>/...`, see
 * {@link netnsBridgeEnv}); an http origin is flagged as secure
 * (`--unsafely-treat-insecure-origin-as-secure`) so getUserMedia works there (only loopback http
 * origins are secure contexts by default). Close the peer before {@link Netns.close}, which
 * otherwise kills the browser.
 *
 * @throws Error when the namespace is closed, or the browser cannot start or load `url`.
 */
export async function openPeerInNetns(ns: Netns, url: string): Promise<BrowserPeer> {
  if (!(ns instanceof NetnsImpl)) throw new Error('openPeerInNetns: not a namespace from createNetns');
  const u = new URL(url);
  const extraArgs = u.protocol === 'http:' ? [`--unsafely-treat-insecure-origin-as-secure=${u.origin}`] : [];
  return openPeerWith(url, { executablePath: ns.chromiumWrapper(), extraArgs });
}

/**
 * Env for {@link startTestBridge} so that peers inside `ns` and peers in the host namespace share
 * one bridge:
 * - `OCTOBRIDGE_LISTEN_IP` = `ns.hostIp`: the media UDP port binds there, and
 * - `JVB_ADVERTISE_IPS` = `ns.hostIp`: the one ICE candidate (the bridge is ICE-lite). It is a
 *   local address of the host, so host peers reach it over loopback (unshaped) and the namespace's
 *   peer over the veth (through the tbf); 127.0.0.1 would be the namespace's own loopback there.
 * - `OCTOBRIDGE_PUBLIC_HOST` = `0.0.0.0`: the page and the focus WebSocket on every address, so
 *   host peers keep using `http://127.0.0.1:<port>` (a secure context) and the namespace's peer
 *   uses `http://<ns.hostIp>:<port>`.
 *
 * Peers in other namespaces from {@link createNetns} reach `ns.hostIp` as well (their default
 * route goes to the host, which owns the address), and their replies leave by their own veth,
 * so each namespace keeps its own downlink cap.
 */
export function netnsBridgeEnv(ns: Netns): Record<string, string> {
  return {
    OCTOBRIDGE_LISTEN_IP: ns.hostIp,
    JVB_ADVERTISE_IPS: ns.hostIp,
    OCTOBRIDGE_PUBLIC_HOST: '0.0.0.0',
  };
}

/** A veth pair joining two namespaces directly ({@link linkNetns}). */
export interface NetnsLink {
  /** The veth end in `a` / in `b`. */
  readonly aVeth: string;
  readonly bVeth: string;
  /** Their addresses (/24). */
  readonly aIp: string;
  readonly bIp: string;
}

/** The /16 of {@link linkNetns}'s subnets (10.214.<n>.0/24). */
const LINK_SUBNET16 = '10.214';
let linkCounter = 0;

/**
 * Join two namespaces from {@link createNetns} with a veth pair of their own, `obl<n>a` in `a`
 * (10.214.<n>.1/24) and `obl<n>b` in `b` (10.214.<n>.2/24), both up: traffic between the two
 * addresses goes straight over it, never through the host. IPv6 is off on both ends (IPv4-only:
 * no router or neighbour solicitations of the kernel's on the link). The pair is made inside `a`
 * (`ip -n <a> link add ... peer name ... netns <b>`), so it takes no name or address in the host
 * namespace, and it goes away with the namespaces ({@link Netns.close}). `n` counts per process
 * (1..254): the subnets only have to differ between the links of one namespace.
 *
 * @throws Error when a namespace is closed, 254 links were made already, or an `ip` command fails.
 */
export async function linkNetns(a: Netns, b: Netns): Promise<NetnsLink> {
  if (a.closed || b.closed) throw new Error('linkNetns: a namespace is closed');
  const n = ++linkCounter;
  if (n > 254) throw new Error('linkNetns: no subnet left (254 links per process)');
  const link = { aVeth: `obl${n}a`, bVeth: `obl${n}b`, aIp: `${LINK_SUBNET16}.${n}.1`, bIp: `${LINK_SUBNET16}.${n}.2` };
  await run(IP, ['-n', a.name, 'link', 'add', link.aVeth, 'type', 'veth', 'peer', 'name', link.bVeth, 'netns', b.name]);
  await disableIpv6(a.name, [link.aVeth]);
  await disableIpv6(b.name, [link.bVeth]);
  await run(IP, ['-n', a.name, 'addr', 'add', `${link.aIp}/24`, 'dev', link.aVeth]);
  await run(IP, ['-n', b.name, 'addr', 'add', `${link.bIp}/24`, 'dev', link.bVeth]);
  await run(IP, ['-n', a.name, 'link', 'set', link.aVeth, 'up']);
  await run(IP, ['-n', b.name, 'link', 'set', link.bVeth, 'up']);
  return link;
}
