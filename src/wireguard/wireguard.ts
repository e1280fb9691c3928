/**
 * WireGuard, managed by the bridge: the tunnel octobridge's relays run in.
 *
 * {@link WireGuardManager} brings up this bridge's WireGuard interface from
 * `octobridge.relay.wireguard` ({@link WireGuardConfig}) — kernel WireGuard where the module
 * exists, else Debian's `wireguard-go` — applies the peers with `wg set`, and then checks them every
 * `check-interval`: `wg show <if> dump` (latest handshake, endpoint, bytes) plus one `ping` through
 * the tunnel per peer (RTT, liveness). Results go to {@link WireGuardManager.peers}, events, the
 * `octobridge_wireguard_*` / `octobridge_relay_rtt_seconds` metrics and `/about/health`
 * ({@link WireGuardManager.healthProblem}, {@link WireGuardManager.healthDetail}).
 *
 * Modes: `auto` (kernel, else userspace), `kernel`, `userspace`, `external` (an interface the
 * operator set up: only checked, never modified, left as it is on stop).
 *
 * Secrets: the private key is never read here; its file's path goes to
 * `wg set <if> private-key <file>`. `wg show dump`'s private and preshared keys are dropped while
 * parsing (wireguardStatus.ts), and every command's stderr is scrubbed of key-like text
 * ({@link scrubSecrets}) before it is logged or put in an error (wg quotes a malformed key file's
 * content). Public keys are logged.
 *
 * Machine constraints: wireguard-go's UAPI socket
 * `/var/run/wireguard/<if>.sock` is shared by every network namespace, so interface names must be
 * unique on the machine; deleting the link makes wireguard-go exit. Managing an interface needs
 * CAP_NET_ADMIN (root) and `/dev/net/tun` for wireguard-go.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { defaultProbeAddress, ipToBigInt, type WireGuardConfig, type WireGuardPeerConfig } from './settings.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import { evaluatePeer, parsePingRtt, parseWgDump, scrubSecrets, shortKey, type PeerState, type WgDump } from './wireguardStatus.ts';

export { parseWgDump, scrubSecrets, shortKey, evaluatePeer, type PeerState } from './wireguardStatus.ts';

/** Thrown by {@link WireGuardManager.start}; the message never carries key material. */
export class WireGuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireGuardError';
  }
}

/** What a command returned: `code` null when it could not start, was killed or timed out (then `stderr` says so). */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `argv` (no shell); never rejects. Injectable for tests ({@link WireGuardManagerOptions.run}). */
export type CommandRunner = (argv: readonly string[], opts: { timeoutMs: number }) => Promise<CommandResult>;

/** One peer as the last check saw it. */
export interface PeerStatus {
  publicKey: string;
  /** The public key's first 8 characters: metric label, name in logs and health. */
  peer: string;
  region: string | undefined;
  relayId: string | undefined;
  state: PeerState;
  /** `state === 'up'`: use a relay to this peer only then. */
  up: boolean;
  /** Why not up (no key material). */
  reason: string | undefined;
  /** Where WireGuard last saw the peer (or its configured endpoint), null when unknown. */
  endpoint: string | null;
  allowedIps: string[];
  /** ms since the epoch, null = no handshake yet. */
  latestHandshakeMs: number | null;
  /** s since the latest handshake at the check, null = none. */
  handshakeAgeS: number | null;
  rxBytes: number;
  txBytes: number;
  /** The tunnel address probed, null = no probe. */
  probeAddress: string | null;
  /** ms of the last probe's round trip, null when it got no answer (or there is no probe). */
  rttMs: number | null;
  /** Probes unanswered in a row. */
  probeFailures: number;
  /** When the check ran, ms since the epoch. */
  checkedAtMs: number;
}

/** `/about/health`'s `wireguard` detail. */
export interface WireGuardHealth {
  interface: string;
  /** The mode in use (`auto` resolved to `kernel` or `userspace`), undefined when not running. */
  mode: 'kernel' | 'userspace' | 'external' | undefined;
  /** This bridge's tunnel address (no prefix). */
  address: string | undefined;
  listenPort: number | undefined;
  healthy: boolean;
  problem?: string;
  peers: {
    peer: string;
    publicKey: string;
    region: string | undefined;
    relayId: string | undefined;
    state: PeerState;
    reason: string | undefined;
    endpoint: string | null;
    handshakeAgeS: number | null;
    rttMs: number | null;
    rxBytes: number;
    txBytes: number;
  }[];
}

/** Events of {@link WireGuardManager}. */
export interface WireGuardEvents {
  /** A peer became up (from connecting or down). */
  peerUp: [PeerStatus];
  /** A peer became down (logged at warn). */
  peerDown: [PeerStatus];
  /** After every check, every peer. */
  checked: [PeerStatus[]];
  /** The local interface vanished or stopped answering (wireguard-go exited, link deleted); the reason. */
  interfaceLost: [string];
  /** The local interface answers again (external mode, or a kernel link re-made by the operator). */
  interfaceRestored: [];
}

/** Options of {@link WireGuardManager} beyond the config. */
export interface WireGuardManagerOptions {
  /** Run every command under `ip netns exec <netns>` (tests run the manager inside a namespace this way). */
  netns?: string;
  /** Metrics to feed (`octobridge_wireguard_handshake_age_seconds`, `_peer_up`, `octobridge_relay_rtt_seconds`). */
  metrics?: Metrics;
  /** Command runner (tests); default: execFile. */
  run?: CommandRunner;
  /** ms to wait for wireguard-go to exit after the link is deleted before SIGTERM (then as long again before SIGKILL); default 3000. */
  exitTimeoutMs?: number;
}

/** Where wireguard-go puts its UAPI sockets (machine-wide, not per namespace). */
export const WIREGUARD_SOCKET_DIR = '/var/run/wireguard';

const BIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of `name` in the usual directories (sbin is not always on PATH), else `name`. */
function bin(name: string): string {
  for (const d of BIN_DIRS) if (fs.existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return name;
}

const IP = bin('ip');
const WG_TOOL = bin('wg');
const WIREGUARD_GO = bin('wireguard-go');
const PING = bin('ping');

/** Default {@link CommandRunner}: execFile, utf8, never rejects. */
export const execRunner: CommandRunner = (argv, opts) =>
  new Promise((resolve) => {
    const [cmd = '', ...args] = argv;
    execFile(cmd, args, { timeout: opts.timeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      const code = typeof e.code === 'number' ? e.code : null;
      const why = e.killed ? `timed out after ${opts.timeoutMs} ms` : code === null ? e.message : '';
      resolve({ code, stdout: stdout ?? '', stderr: [stderr?.trim(), why].filter(Boolean).join('; ') });
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signal a pid; gone already is fine. */
function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // exited meanwhile
  }
}

/** Per-peer state carried from check to check. */
interface Tracked {
  config: WireGuardPeerConfig;
  status: PeerStatus | undefined;
  probeEverOk: boolean;
  probeFailures: number;
}

/**
 * Brings up and watches this bridge's WireGuard interface (see the module docstring).
 *
 * @example
 * const wg = new WireGuardManager(config.relay.wireguard, log.child({ component: 'wireguard' }), { metrics });
 * await wg.start();           // interface up, peers applied, checks running
 * wg.on('peerDown', (p) => ...);
 * await wg.stop();            // link deleted (managed modes), wireguard-go gone
 */
export class WireGuardManager extends EventEmitter<WireGuardEvents> {
  readonly config: WireGuardConfig;
  readonly #log: Logger;
  readonly #netns: string | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #run: CommandRunner;
  readonly #exitTimeoutMs: number;
  /** Public keys (config + interface) allowed through {@link scrubSecrets}. */
  readonly #publicKeys = new Set<string>();
  #mode: 'kernel' | 'userspace' | 'external' | undefined;
  #child: ChildProcess | undefined;
  #childExit: Promise<void> | undefined;
  /** Set when wireguard-go exited while running: how. */
  #childGone: string | undefined;
  #stopping = false;
  #running = false;
  #startedAtMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<unknown> | undefined;
  #tracked = new Map<string, Tracked>();
  /** Why the local interface is unusable, undefined when fine. */
  #localProblem: string | undefined;
  #address: string | undefined;

  /**
   * @param config `Config.relay.wireguard`.
   * @param log gets peer up (info) / down (warn) with public key and region, wireguard-go's output at debug.
   */
  constructor(config: WireGuardConfig, log: Logger, opts: WireGuardManagerOptions = {}) {
    super();
    this.config = config;
    this.#log = log;
    this.#netns = opts.netns;
    this.#metrics = opts.metrics;
    this.#run = opts.run ?? execRunner;
    this.#exitTimeoutMs = opts.exitTimeoutMs ?? 3000;
    for (const p of config.peers) this.#publicKeys.add(p.publicKey);
    this.#address = config.address?.split('/')[0];
  }

  /** The interface name. */
  get interfaceName(): string {
    return this.config.interface;
  }

  /** The mode in use once started (`auto` resolved), undefined when not running. */
  get mode(): 'kernel' | 'userspace' | 'external' | undefined {
    return this.#mode;
  }

  /** This bridge's tunnel address without prefix (configured, or read from the interface in external mode). */
  get address(): string | undefined {
    return this.#address;
  }

  /** wireguard-go's pid (userspace mode), else undefined. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** True between a successful {@link start} and {@link stop}. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Bring the interface up and start checking.
   *
   * Managed modes (`auto`, `kernel`, `userspace`): checks the private key file is readable (warns
   * when group/others may read it); refuses an interface that exists already (`ip link show`, or a
   * live wireguard-go UAPI socket of that name in any namespace); creates it with
   * `ip link add <if> type wireguard` (kernel; `auto` falls back on failure) or by spawning
   * `wireguard-go -f <if>` (kept as a child, its output logged at debug) and waiting for its UAPI
   * socket; then `wg set <if> private-key <file> listen-port <p> peer <pub> [endpoint <e>]
   * allowed-ips <a,b> persistent-keepalive <k|off> ...`, `ip addr add <address> dev <if>`,
   * `ip link set <if> up`, and `ip route add <cidr> dev <if>` for allowed-ips outside the address's
   * subnet (not `/0`; a failure is only a warning). Anything failing undoes what was made.
   *
   * `external`: only checks that `wg show <if> dump` works there, and reads its address.
   *
   * The first check runs at once (not awaited), then every `check-interval`.
   *
   * @throws WireGuardError when already running, the interface exists (managed modes) or does not
   * (external), kernel WireGuard is missing in mode `kernel`, wireguard-go fails to start, or a
   * command fails (the message names the command and its scrubbed stderr).
   */
  async start(): Promise<void> {
    if (this.#running) throw new WireGuardError(`WireGuard interface ${this.interfaceName}: already started`);
    this.#stopping = false;
    this.#localProblem = undefined;
    this.#childGone = undefined;
    this.#tracked = new Map(this.config.peers.map((p) => [p.publicKey, { config: p, status: undefined, probeEverOk: false, probeFailures: 0 }]));
    if (this.config.mode === 'external') {
      await this.#startExternal();
    } else {
      await this.#startManaged();
    }
    this.#running = true;
    this.#startedAtMs = Date.now();
    this.#log.info(
      {
        interface: this.interfaceName,
        mode: this.#mode,
        address: this.#address,
        listenPort: this.config.listenPort,
        peers: this.config.peers.map((p) => ({ publicKey: p.publicKey, region: p.region, endpoint: p.endpoint })),
      },
      'WireGuard interface ready',
    );
    this.#schedule(0);
  }

  /**
   * Stop checking; in managed modes delete the link (`ip link del <if>`: wireguard-go exits) and
   * wait for wireguard-go to exit (SIGTERM, then SIGKILL by pid after the exit timeout). External
   * mode leaves the interface alone. Removes this manager's metric series. Idempotent; never throws.
   */
  async stop(): Promise<void> {
    if (!this.#running && !this.#child) return;
    this.#stopping = true;
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inflight?.catch(() => undefined);
    if (this.#mode !== 'external') await this.#teardown();
    for (const t of this.#tracked.values()) this.#metrics?.removeWireGuardPeer(shortKey(t.config.publicKey));
    this.#log.info({ interface: this.interfaceName, mode: this.#mode }, 'WireGuard stopped');
    this.#mode = undefined;
  }

  /** Every peer as of the last check (configured peers; in external mode with no peers configured, the interface's). */
  peers(): PeerStatus[] {
    return [...this.#tracked.values()].map((t) => t.status).filter((s): s is PeerStatus => s !== undefined);
  }

  /** The status of the peer with this relay id (or public key), undefined when unknown or not checked yet. */
  peer(relayIdOrPublicKey: string): PeerStatus | undefined {
    return this.peers().find((p) => p.relayId === relayIdOrPublicKey || p.publicKey === relayIdOrPublicKey);
  }

  /**
   * Undefined when healthy, else one line naming what is wrong: the local interface, and each down
   * peer by key prefix, region, relay id, reason and seconds since its latest handshake. Peers
   * still `connecting` (no handshake yet, within `handshake-timeout` of start) are not problems.
   */
  healthProblem(): string | undefined {
    if (!this.#running) return undefined;
    if (this.#localProblem) return `WireGuard interface ${this.interfaceName}: ${this.#localProblem}`;
    const down = this.peers().filter((p) => p.state === 'down');
    if (down.length === 0) return undefined;
    return down
      .map((p) => {
        const who = [`region ${p.region ?? 'unknown'}`, ...(p.relayId ? [`relay ${p.relayId}`] : [])].join(', ');
        const since = p.handshakeAgeS === null ? 'no handshake' : `last handshake ${Math.round(p.handshakeAgeS)} s ago`;
        return `WireGuard peer ${p.peer}… (${who}) is down: ${p.reason ?? 'unknown'}; ${since}`;
      })
      .join('; ');
  }

  /** The `wireguard` object of `/about/health` (no key material but public keys). */
  healthDetail(): WireGuardHealth {
    const problem = this.healthProblem();
    return {
      interface: this.interfaceName,
      mode: this.#mode,
      address: this.#address,
      listenPort: this.config.listenPort,
      healthy: problem === undefined,
      ...(problem ? { problem } : {}),
      peers: this.peers().map((p) => ({
        peer: p.peer,
        publicKey: p.publicKey,
        region: p.region,
        relayId: p.relayId,
        state: p.state,
        reason: p.reason,
        endpoint: p.endpoint,
        handshakeAgeS: p.handshakeAgeS === null ? null : Math.round(p.handshakeAgeS),
        rttMs: p.rttMs,
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
      })),
    };
  }

  /**
   * One check now (the periodic loop calls this): `wg show <if> dump`, then one
   * `ping -n -c 1 -W 1 <probe address>` per peer in parallel, then the states, events, logs and
   * metrics. Resolves with every peer's status; never rejects.
   */
  async check(): Promise<PeerStatus[]> {
    const dumpRes = await this.#cmd([WG_TOOL, 'show', this.interfaceName, 'dump']);
    let dump: WgDump | undefined;
    let problem: string | undefined;
    if (dumpRes.code !== 0) {
      problem =
        this.#mode === 'userspace' && this.#child === undefined
          ? (this.#childGone ?? 'wireguard-go is not running')
          : `wg show failed: ${this.#scrub(dumpRes.stderr) || `exit ${dumpRes.code}`}`;
    } else {
      try {
        dump = parseWgDump(dumpRes.stdout);
      } catch (err) {
        problem = (err as Error).message;
      }
    }
    if (this.#stopping) return this.peers();
    this.#setLocalProblem(problem);
    const interfacePeers = new Map((dump?.peers ?? []).map((p) => [p.publicKey, p]));
    if (this.config.peers.length === 0 && dump) {
      // External mode without configured peers: watch what the interface has.
      for (const p of dump.peers) {
        if (!this.#tracked.has(p.publicKey)) {
          this.#publicKeys.add(p.publicKey);
          this.#tracked.set(p.publicKey, {
            config: {
              publicKey: p.publicKey,
              endpoint: p.endpoint ?? undefined,
              allowedIps: p.allowedIps,
              region: undefined,
              relayId: undefined,
              persistentKeepaliveS: p.persistentKeepaliveS ?? 0,
              probeAddress: defaultProbeAddress(p.allowedIps),
            },
            status: undefined,
            probeEverOk: false,
            probeFailures: 0,
          });
        }
      }
    }
    const tracked = [...this.#tracked.values()];
    const probes = await Promise.all(
      tracked.map((t) =>
        dump && interfacePeers.has(t.config.publicKey) && t.config.probeAddress ? this.#probe(t.config.probeAddress) : Promise.resolve(undefined),
      ),
    );
    if (this.#stopping) return this.peers();
    const now = Date.now();
    tracked.forEach((t, i) => {
      const seen = interfacePeers.get(t.config.publicKey);
      const rtt = probes[i];
      if (rtt !== undefined) {
        if (rtt === null) t.probeFailures += 1;
        else {
          t.probeFailures = 0;
          t.probeEverOk = true;
        }
      }
      const latest = seen?.latestHandshakeMs ?? null;
      const { state, reason } = evaluatePeer({
        nowMs: now,
        startedAtMs: this.#startedAtMs,
        interfaceOk: dump !== undefined,
        onInterface: seen !== undefined,
        latestHandshakeMs: latest,
        handshakeTimeoutMs: this.config.handshakeTimeoutMs,
        probing: t.config.probeAddress !== null,
        probeEverOk: t.probeEverOk,
        consecutiveProbeFailures: t.probeFailures,
        probeFailureLimit: this.config.probeFailures,
      });
      const prev = t.status;
      const status: PeerStatus = {
        publicKey: t.config.publicKey,
        peer: shortKey(t.config.publicKey),
        region: t.config.region,
        relayId: t.config.relayId,
        state,
        up: state === 'up',
        reason,
        endpoint: seen?.endpoint ?? t.config.endpoint ?? null,
        allowedIps: seen?.allowedIps ?? t.config.allowedIps,
        latestHandshakeMs: latest,
        handshakeAgeS: latest === null ? null : Math.max(0, (now - latest) / 1000),
        rxBytes: seen?.rxBytes ?? prev?.rxBytes ?? 0,
        txBytes: seen?.txBytes ?? prev?.txBytes ?? 0,
        probeAddress: t.config.probeAddress,
        rttMs: rtt ?? null,
        probeFailures: t.probeFailures,
        checkedAtMs: now,
      };
      t.status = status;
      this.#report(prev, status);
    });
    const all = this.peers();
    this.emit('checked', all);
    return all;
  }

  // ------------------------------------------------------------------------------- internals

  #scrub(text: string): string {
    return scrubSecrets(text, this.#publicKeys).trim();
  }

  #cmd(argv: readonly string[], timeoutMs = 10_000): Promise<CommandResult> {
    return this.#run(this.#netns ? [IP, 'netns', 'exec', this.#netns, ...argv] : argv, { timeoutMs });
  }

  /** Run a command that must succeed. @throws WireGuardError naming the command (args are paths, names, public keys) and the scrubbed stderr. */
  async #must(argv: readonly string[], what: string): Promise<CommandResult> {
    const res = await this.#cmd(argv);
    if (res.code !== 0) {
      throw new WireGuardError(
        `WireGuard interface ${this.interfaceName}: ${what} failed (${argv.join(' ')}): ${this.#scrub(res.stderr) || `exit ${res.code}`}`,
      );
    }
    return res;
  }

  async #startExternal(): Promise<void> {
    const res = await this.#cmd([WG_TOOL, 'show', this.interfaceName, 'dump']);
    if (res.code !== 0) {
      throw new WireGuardError(
        `WireGuard interface ${this.interfaceName} (mode external): not an existing WireGuard interface here: ${this.#scrub(res.stderr) || `exit ${res.code}`}. ` +
          'Mode external only checks an interface the operator set up; use mode auto to let the bridge create it.',
      );
    }
    try {
      const dump = parseWgDump(res.stdout);
      for (const p of dump.peers) this.#publicKeys.add(p.publicKey);
      const missing = this.config.peers.filter((p) => !dump.peers.some((d) => d.publicKey === p.publicKey));
      for (const p of missing)
        this.#log.warn(
          { interface: this.interfaceName, publicKey: p.publicKey, region: p.region },
          'configured WireGuard peer is not on the external interface',
        );
    } catch (err) {
      throw new WireGuardError(`WireGuard interface ${this.interfaceName}: ${(err as Error).message}`);
    }
    const addr = await this.#cmd([IP, '-o', 'addr', 'show', 'dev', this.interfaceName]);
    const m = /\binet6? ([0-9a-fA-F:.]+)\//.exec(addr.stdout);
    if (!this.#address && m?.[1]) this.#address = m[1];
    this.#mode = 'external';
  }

  async #startManaged(): Promise<void> {
    const c = this.config;
    const keyFile = c.privateKeyFile;
    if (!keyFile || !c.address || c.listenPort === undefined) {
      throw new WireGuardError(`WireGuard interface ${this.interfaceName}: private-key-file, address and listen-port are required in mode ${c.mode}`);
    }
    try {
      const st = await fs.promises.stat(keyFile);
      if (!st.isFile()) throw new Error('not a file');
      await fs.promises.access(keyFile, fs.constants.R_OK);
      if ((st.mode & 0o077) !== 0) {
        this.#log.warn(
          { privateKeyFile: keyFile, mode: (st.mode & 0o777).toString(8) },
          'the WireGuard private key file is accessible by group or others (chmod 600 it)',
        );
      }
    } catch (err) {
      throw new WireGuardError(`WireGuard private-key-file ${keyFile}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if ((await this.#cmd([IP, 'link', 'show', 'dev', this.interfaceName])).code === 0) {
      throw new WireGuardError(
        `WireGuard interface ${this.interfaceName} exists already${this.#netns ? ` in network namespace ${this.#netns}` : ''}: ` +
          'refusing to take it over (delete it, pick another interface name, or set mode external to only check it)',
      );
    }
    if (
      fs.existsSync(`${WIREGUARD_SOCKET_DIR}/${this.interfaceName}.sock`) &&
      (await this.#cmd([WG_TOOL, 'show', this.interfaceName, 'listen-port'])).code === 0
    ) {
      throw new WireGuardError(
        `WireGuard interface ${this.interfaceName} exists already on this machine (a wireguard-go UAPI socket, ${WIREGUARD_SOCKET_DIR}/${this.interfaceName}.sock, maybe in another network namespace): ` +
          'wireguard-go interface names are machine-wide; pick another interface name',
      );
    }
    if (c.mode === 'auto' || c.mode === 'kernel') {
      const res = await this.#cmd([IP, 'link', 'add', this.interfaceName, 'type', 'wireguard']);
      if (res.code === 0) {
        this.#mode = 'kernel';
      } else if (c.mode === 'kernel') {
        throw new WireGuardError(
          `WireGuard interface ${this.interfaceName}: kernel WireGuard unavailable (ip link add ... type wireguard: ${this.#scrub(res.stderr)}); use mode userspace or auto`,
        );
      } else if (/File exists/i.test(res.stderr)) {
        throw new WireGuardError(`WireGuard interface ${this.interfaceName} exists already: refusing to take it over`);
      } else {
        this.#log.debug({ interface: this.interfaceName, reason: this.#scrub(res.stderr) }, 'no kernel WireGuard, using wireguard-go');
      }
    }
    if (!this.#mode) await this.#spawnWireguardGo();
    try {
      const wgArgs = [WG_TOOL, 'set', this.interfaceName, 'private-key', keyFile, 'listen-port', String(c.listenPort)];
      for (const p of c.peers) {
        wgArgs.push('peer', p.publicKey);
        if (p.endpoint) wgArgs.push('endpoint', p.endpoint);
        wgArgs.push('allowed-ips', p.allowedIps.join(','), 'persistent-keepalive', p.persistentKeepaliveS > 0 ? String(p.persistentKeepaliveS) : 'off');
      }
      await this.#must(wgArgs, 'applying the key and peers');
      await this.#must([IP, 'addr', 'add', c.address, 'dev', this.interfaceName], 'adding the address');
      await this.#must([IP, 'link', 'set', this.interfaceName, 'up'], 'setting the link up');
      for (const cidr of routesOutside(c.address, c.peers)) {
        const res = await this.#cmd([IP, 'route', 'add', cidr, 'dev', this.interfaceName]);
        if (res.code !== 0)
          this.#log.warn({ interface: this.interfaceName, route: cidr, error: this.#scrub(res.stderr) }, "could not add the route to a peer's allowed-ips");
      }
    } catch (err) {
      await this.#teardown();
      throw err;
    }
  }

  /** Spawn `wireguard-go -f <if>` and wait until its UAPI socket answers. */
  async #spawnWireguardGo(): Promise<void> {
    const argv = this.#netns ? [IP, 'netns', 'exec', this.#netns, WIREGUARD_GO, '-f', this.interfaceName] : [WIREGUARD_GO, '-f', this.interfaceName];
    // wireguard-go reads LOG_LEVEL (verbose/error/silent): not the bridge's (docker's LOG_LEVEL=info).
    const level = this.#log.isLevelEnabled?.('debug') ? 'verbose' : 'error';
    // Its own process group: a terminal's Ctrl-C reaches only the bridge, whose shutdown then
    // deletes the link in order (wireguard-go exiting first would be reported as a lost interface).
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: level }, detached: true });
    this.#child = child;
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', (line) => {
        // The "kernel has first class support" banner is box-drawing noise.
        if (!line.trim() || /^[\s│┌└─┐┘]*$/.test(line) || line.includes('│')) return;
        const clean = this.#scrub(line);
        output.push(clean);
        if (output.length > 20) output.shift();
        this.#log.debug({ interface: this.interfaceName, pid: child.pid }, `wireguard-go: ${clean}`);
      });
    }
    let spawnError: Error | undefined;
    this.#childExit = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        if (!this.#stopping && this.#running) {
          const why = `wireguard-go (pid ${child.pid}) exited (${signal ?? `code ${code}`})`;
          this.#log.error({ interface: this.interfaceName, code, signal }, `${why}: the interface is gone`);
          this.#childGone = why;
          this.#setLocalProblem(why);
        }
        resolve();
      });
    });
    const deadline = Date.now() + 5000;
    const sock = `${WIREGUARD_SOCKET_DIR}/${this.interfaceName}.sock`;
    for (;;) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        await this.#childExit;
        this.#child = undefined;
        throw new WireGuardError(
          `WireGuard interface ${this.interfaceName}: wireguard-go did not start (${spawnError?.message ?? `exit ${child.exitCode ?? child.signalCode}`}): ${output.join(' | ') || 'no output'}`,
        );
      }
      if (fs.existsSync(sock) && (await this.#cmd([WG_TOOL, 'show', this.interfaceName, 'listen-port'], 2000)).code === 0) break;
      if (Date.now() > deadline) {
        await this.#teardown();
        throw new WireGuardError(
          `WireGuard interface ${this.interfaceName}: wireguard-go (pid ${child.pid}) did not open ${sock} within 5 s: ${output.join(' | ') || 'no output'}`,
        );
      }
      await sleep(25);
    }
    this.#mode = 'userspace';
    this.#log.debug({ interface: this.interfaceName, pid: child.pid }, 'wireguard-go started');
  }

  /** Delete the link and make sure wireguard-go is gone (by pid). Never throws. */
  async #teardown(): Promise<void> {
    const wasStopping = this.#stopping;
    this.#stopping = true;
    const del = await this.#cmd([IP, 'link', 'del', 'dev', this.interfaceName]);
    if (del.code !== 0 && !/Cannot find device|does not exist/i.test(del.stderr)) {
      this.#log.warn({ interface: this.interfaceName, error: this.#scrub(del.stderr) }, 'could not delete the WireGuard interface');
    }
    const child = this.#child;
    if (child && this.#childExit) {
      const exited = (ms: number): Promise<boolean> => Promise.race([this.#childExit!.then(() => true), sleep(ms).then(() => false)]);
      if (!(await exited(this.#exitTimeoutMs))) {
        this.#log.warn({ interface: this.interfaceName, pid: child.pid }, 'wireguard-go still running after the link was deleted: SIGTERM');
        killPid(child.pid, 'SIGTERM');
        if (!(await exited(this.#exitTimeoutMs))) {
          this.#log.warn({ interface: this.interfaceName, pid: child.pid }, 'wireguard-go ignored SIGTERM: SIGKILL');
          killPid(child.pid, 'SIGKILL');
          await exited(this.#exitTimeoutMs);
        }
      }
    }
    this.#child = undefined;
    this.#childExit = undefined;
    this.#stopping = wasStopping;
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      const started = Date.now();
      const run = this.check()
        .catch((err: unknown) => this.#log.error({ err: new Error(this.#scrub((err as Error).message)) }, 'WireGuard check failed'))
        .finally(() => {
          this.#inflight = undefined;
          this.#schedule(Math.max(0, this.config.checkIntervalMs - (Date.now() - started)));
        });
      this.#inflight = run;
    }, delayMs);
    this.#timer.unref();
  }

  /** `ping -n -c 1 -W 1 <addr>` through the tunnel: RTT ms, or null without an answer. */
  async #probe(addr: string): Promise<number | null> {
    const res = await this.#cmd([PING, '-n', '-c', '1', '-W', '1', addr], 3000);
    return res.code === 0 ? parsePingRtt(res.stdout) : null;
  }

  #setLocalProblem(problem: string | undefined): void {
    if (problem === this.#localProblem) return;
    const before = this.#localProblem;
    this.#localProblem = problem;
    if (problem && !before) {
      this.#log.error({ interface: this.interfaceName, problem }, 'WireGuard interface lost');
      this.emit('interfaceLost', problem);
    } else if (!problem && before) {
      this.#log.info({ interface: this.interfaceName }, 'WireGuard interface answers again');
      this.emit('interfaceRestored');
    }
  }

  /** Log and emit a state change; feed the metrics. */
  #report(prev: PeerStatus | undefined, s: PeerStatus): void {
    const fields = {
      interface: this.interfaceName,
      peer: s.peer,
      publicKey: s.publicKey,
      region: s.region,
      relayId: s.relayId,
      endpoint: s.endpoint,
      handshakeAgeS: s.handshakeAgeS === null ? null : Math.round(s.handshakeAgeS),
      rttMs: s.rttMs,
    };
    const was = prev?.state ?? 'connecting';
    if (s.state === 'down' && was !== 'down') {
      this.#log.warn({ ...fields, reason: s.reason }, 'WireGuard peer down');
      this.emit('peerDown', s);
    } else if (s.state === 'up' && was !== 'up') {
      this.#log.info(fields, 'WireGuard peer up');
      this.emit('peerUp', s);
    }
    const m = this.#metrics;
    if (m) {
      const region = s.region ?? '';
      m.setWireGuardHandshake(s.peer, s.latestHandshakeMs ?? undefined, region);
      m.setWireGuardPeerUp(s.peer, s.up, region);
      m.setRelayRtt(s.peer, s.rttMs === null ? null : s.rttMs / 1000, region);
    }
  }
}

/** Allowed-ips the interface address's subnet does not cover (these need a route); never `/0`. */
export function routesOutside(address: string, peers: readonly WireGuardPeerConfig[]): string[] {
  const [addr = '', bitsText = '0'] = address.split('/');
  const family = net.isIP(addr);
  const out: string[] = [];
  for (const p of peers) {
    for (const cidr of p.allowedIps) {
      const [a = '', b = '0'] = cidr.split('/');
      const bits = Number(b);
      if (bits === 0 || net.isIP(a) !== family) {
        if (bits !== 0 && net.isIP(a) !== 0) out.push(cidr);
        continue;
      }
      const width = family === 4 ? 32 : 128;
      const sub = Number(bitsText);
      const inside = bits >= sub && ipToBigInt(a) >> BigInt(width - sub) === ipToBigInt(addr) >> BigInt(width - sub);
      if (!inside) out.push(cidr);
    }
  }
  return [...new Set(out)];
}
