/**
 * WireGuard between network namespaces for the relay tests and benchmark: key pairs, a full mesh of
 * namespaces joined by veth links (the underlay) with each site's `OCTOBRIDGE_WG_*` env, and a
 * whole octobridge process running inside a namespace (`ip netns exec <ns> node src/main.ts`), as
 * an operator would run one per region (wireguard-go, interface names
 * unique machine-wide).
 *
 * ```
 *   namespace eu                              namespace us
 *   bridge eu ── wg <ifEu> 10.100.<s>.1 ═══ WireGuard ═══ wg <ifUs> 10.100.<s>.2 ── bridge us
 *                     └ UDP 51820 ── obl<n>a ══ veth (underlay) ══ obl<n>b ── UDP 51820 ┘
 *   Chromium / clients ── ob<i>n (createNetns' link to the host: the namespace's own address)
 * ```
 *
 * Each namespace also keeps its link to the host from {@link createNetns} (the host does not
 * forward between namespaces: `ip_forward` is off), so the only path between two sites is their
 * underlay veth, and with WireGuard the only addresses they share are the tunnel's.
 *
 * Needs root, `ip netns`, wireguard-go, wg and ping ({@link wireguardSupport}).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createNetns, linkNetns, netnsSupport, type Netns, type NetnsLink } from './netns.ts';

/** The repository root (for `src/main.ts`). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path of `name` in the usual bin directories (sbin is not always on PATH), undefined when missing. */
export function which(name: string): string | undefined {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'].map((d) => `${d}/${name}`).find((p) => fs.existsSync(p));
}

/**
 * Whether WireGuard tests can run here: namespaces ({@link netnsSupport}), wireguard-go, wg, ping
 * and /dev/net/tun, plus `extra` binaries (e.g. `tcpdump`). Never throws; `reason` is for the skip
 * message.
 */
export function wireguardSupport(extra: readonly string[] = []): { ok: true } | { ok: false; reason: string } {
  const ns = netnsSupport();
  if (!ns.ok) return ns;
  const missing = ['wireguard-go', 'wg', 'ping', ...extra].filter((b) => !which(b));
  if (missing.length) return { ok: false, reason: `missing ${missing.join(', ')} (sh scripts/setup.sh test installs them)` };
  if (!fs.existsSync('/dev/net/tun')) return { ok: false, reason: 'no /dev/net/tun for wireguard-go' };
  return { ok: true };
}

/** A WireGuard key pair; the private key lives in `file` (mode 600), as `wg genkey` writes it. */
export interface WgKey {
  file: string;
  pub: string;
  priv: string;
}

/** `wg genkey` into `<dir>/<name>.key` (600) and its public key. */
export function makeWgKey(dir: string, name: string): WgKey {
  const priv = execFileSync(which('wg') ?? 'wg', ['genkey'], { encoding: 'utf8' }).trim();
  const pub = execFileSync(which('wg') ?? 'wg', ['pubkey'], { input: `${priv}\n`, encoding: 'utf8' }).trim();
  const file = path.join(dir, `${name}.key`);
  fs.writeFileSync(file, `${priv}\n`, { mode: 0o600 });
  return { file, pub, priv };
}

/** A prefix for interface names that no other process on the machine uses (wireguard-go's UAPI sockets are machine-wide). */
export function wgInterfacePrefix(tag = 'obwg'): string {
  return `${tag}${process.pid % 100000}`;
}

// ------------------------------------------------------------------------------- commands in a namespace

/**
 * An HTTP request from inside `ns` (a one-line node script under `ip netns exec`): how the tests
 * reach a bridge's private server, which listens on its tunnel address only. Never rejects on an
 * HTTP error status; `status` 0 when the request itself failed (`body` then says why).
 */
export async function fetchInNetns(
  ns: Netns,
  url: string,
  opts: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const script =
    'const [u, m, b, t] = process.argv.slice(1);' +
    'try { const r = await fetch(u, { method: m, body: b || undefined, headers: b ? { "content-type": "application/json" } : {}, signal: AbortSignal.timeout(Number(t)) });' +
    ' process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })); }' +
    ' catch (e) { process.stdout.write(JSON.stringify({ status: 0, body: String(e?.cause?.message ?? e?.message ?? e) })); }';
  const timeoutMs = opts.timeoutMs ?? 5000;
  const { stdout } = await ns.exec([process.execPath, '--input-type=module', '-e', script, url, opts.method ?? 'GET', opts.body ?? '', String(timeoutMs)], {
    timeoutMs: timeoutMs + 5000,
  });
  return JSON.parse(stdout) as { status: number; body: string };
}

// ------------------------------------------------------------------------------- the mesh

/** One region's namespace in a {@link WgMesh}. */
export interface WgSite {
  /** Region name (`JVB_OCTO_REGION`), e.g. `eu`. */
  readonly region: string;
  /** Relay id (`JVB_OCTO_RELAY_ID`), `jvb-<region>`. */
  readonly relayId: string;
  readonly ns: Netns;
  /** The namespace's own address (its link to the host): bridges listen for media here, local clients reach it. */
  readonly localIp: string;
  /** The tunnel address (no prefix) and the WireGuard interface (unique machine-wide). */
  readonly tunnelIp: string;
  readonly ifName: string;
  readonly key: WgKey;
  readonly listenPort: number;
  /** The underlay towards each other region: this side's veth and address, and the other side's address. */
  readonly links: ReadonlyMap<string, { veth: string; localIp: string; remoteIp: string }>;
}

/** Options of {@link createWgMesh}. */
export interface WgMeshOptions {
  /** The tunnel's /24, e.g. `10.100.7` (addresses .1, .2, ... in region order). Default `10.100.<pid % 250>`. */
  tunnelSubnet?: string;
  /** WireGuard listen port in every namespace (each has its own stack). Default 51820. */
  listenPort?: number;
  /**
   * Also route each namespace's {@link WgSite.localIp} to the others over the underlay (a /32 via the link): what a
   * relay needs when it listens on the plain veth path instead of the tunnel (bench/relay.ts, `--path veth`).
   */
  routeLocalIps?: boolean;
}

/** Namespaces of several regions, each pair joined by its own veth ({@link createWgMesh}). */
export interface WgMesh {
  readonly sites: readonly WgSite[];
  /** The site of a region. @throws Error for an unknown region. */
  site(region: string): WgSite;
  /** A scratch directory (0700) holding the private keys; removed by {@link close}. */
  readonly dir: string;
  /**
   * The `OCTOBRIDGE_WG_*` env of a site's bridge: userspace mode (wireguard-go), its interface, key file, tunnel
   * address /24, listen port, and every other site as a peer (public key, endpoint = the other side's underlay
   * address, allowed-ips = its tunnel /32, region, relay-id). `checkIntervalMs` default 1000.
   */
  wireguardEnv(region: string, opts?: { checkIntervalMs?: number; handshakeTimeoutMs?: number; probeFailures?: number }): Record<string, string>;
  /** Delete the namespaces (processes still in them are killed), stale UAPI sockets and the key directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Make one namespace per region ({@link createNetns}) and join every pair by a veth ({@link linkNetns}): a full
 * mesh underlay. Keys and tunnel addresses are assigned; nothing runs yet (the bridges bring WireGuard up
 * themselves from {@link WgMesh.wireguardEnv}). On failure everything made so far is removed.
 */
export async function createWgMesh(regions: readonly string[], opts: WgMeshOptions = {}): Promise<WgMesh> {
  const subnet = opts.tunnelSubnet ?? `10.100.${process.pid % 250}`;
  const listenPort = opts.listenPort ?? 51820;
  const prefix = wgInterfacePrefix();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'octobridge-wgmesh-'));
  fs.chmodSync(dir, 0o700);
  const namespaces: Netns[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(namespaces.map((ns) => ns.close()));
    for (const r of regions) fs.rmSync(`/var/run/wireguard/${prefix}${r}.sock`, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const _ of regions) namespaces.push(await createNetns());
    const links = new Map<string, Map<string, { veth: string; localIp: string; remoteIp: string }>>(regions.map((r) => [r, new Map()]));
    for (let i = 0; i < regions.length; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        const l: NetnsLink = await linkNetns(namespaces[i]!, namespaces[j]!);
        links.get(regions[i]!)!.set(regions[j]!, { veth: l.aVeth, localIp: l.aIp, remoteIp: l.bIp });
        links.get(regions[j]!)!.set(regions[i]!, { veth: l.bVeth, localIp: l.bIp, remoteIp: l.aIp });
      }
    }
    const sites: WgSite[] = regions.map((region, i) => ({
      region,
      relayId: `jvb-${region}`,
      ns: namespaces[i]!,
      localIp: namespaces[i]!.nsIp,
      tunnelIp: `${subnet}.${i + 1}`,
      ifName: `${prefix}${region}`.slice(0, 15),
      key: makeWgKey(dir, region),
      listenPort,
      links: links.get(region)!,
    }));
    if (opts.routeLocalIps) {
      for (const s of sites) {
        for (const [other, l] of s.links) {
          const o = sites.find((x) => x.region === other)!;
          await s.ns.exec(['ip', 'route', 'add', `${o.localIp}/32`, 'via', l.remoteIp, 'dev', l.veth]);
        }
      }
    }
    const site = (region: string): WgSite => {
      const s = sites.find((x) => x.region === region);
      if (!s) throw new Error(`no site ${region} in the mesh (${regions.join(', ')})`);
      return s;
    };
    return {
      sites,
      site,
      dir,
      wireguardEnv(region, o = {}) {
        const s = site(region);
        const peers = sites
          .filter((p) => p !== s)
          .map((p) => ({
            'public-key': p.key.pub,
            endpoint: `${s.links.get(p.region)!.remoteIp}:${p.listenPort}`,
            'allowed-ips': [`${p.tunnelIp}/32`],
            region: p.region,
            'relay-id': p.relayId,
          }));
        return {
          OCTOBRIDGE_WG_INTERFACE: s.ifName,
          OCTOBRIDGE_WG_MODE: 'userspace',
          OCTOBRIDGE_WG_PRIVATE_KEY_FILE: s.key.file,
          OCTOBRIDGE_WG_ADDRESS: `${s.tunnelIp}/24`,
          OCTOBRIDGE_WG_LISTEN_PORT: String(s.listenPort),
          OCTOBRIDGE_WG_CHECK_INTERVAL_MS: String(o.checkIntervalMs ?? 1000),
          ...(o.handshakeTimeoutMs ? { OCTOBRIDGE_WG_HANDSHAKE_TIMEOUT_MS: String(o.handshakeTimeoutMs) } : {}),
          ...(o.probeFailures !== undefined ? { OCTOBRIDGE_WG_PROBE_FAILURES: String(o.probeFailures) } : {}),
          OCTOBRIDGE_WG_PEERS: JSON.stringify(peers),
        };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

// ------------------------------------------------------------------------------- a bridge process in a namespace

/** An octobridge process started by {@link startBridgeInNetns}. */
export interface BridgeProcess {
  readonly name: string;
  readonly ns: Netns;
  /** The node process (`ip netns exec` execs, so this is the bridge itself). */
  readonly pid: number;
  readonly publicPort: number;
  readonly privatePort: number;
  /** Its log lines (pino JSON, stdout and stderr), the last 5000. */
  readonly log: string[];
  /** Pids of its mediasoup workers (its `mediasoup-worker` children). */
  workerPids(): number[];
  /** Pid of its wireguard-go (a child in its own process group), undefined when none runs. */
  wireguardGoPid(): number | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGINT by pid, octobridge's immediate stop (SIGTERM is its graceful shutdown), and wait for the exit (the bridge
   * closes its conferences, deletes its WireGuard link and waits for wireguard-go); SIGKILL after `timeoutMs`
   * (default 10 s). Idempotent.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/** Children of `pid` whose command starts with `comm` (from /proc). */
function childrenNamed(pid: number, comm: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && name.startsWith(comm)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Start `node src/main.ts` inside `ns` with `env` on top of a clean environment (PATH, HOME, `LOG_LEVEL=info`,
 * one worker; none of the host's XMPP or bridge variables leak in) and wait until it logs `octobridge started` (at
 * info: `env.LOG_LEVEL` may not be less verbose).
 * Its ports come from `env` (`OCTOBRIDGE_PUBLIC_PORT`, `OCTOBRIDGE_PRIVATE_PORT`: fixed ports are fine, every
 * namespace has its own). The process is stopped with {@link BridgeProcess.stop}; {@link Netns.close} kills it
 * otherwise.
 *
 * @throws Error with its last log lines when it exits or is not ready within `readyTimeoutMs` (default 30 s).
 */
export async function startBridgeInNetns(ns: Netns, name: string, env: Record<string, string>, opts: { readyTimeoutMs?: number } = {}): Promise<BridgeProcess> {
  if (env.LOG_LEVEL && !['info', 'debug', 'trace'].includes(env.LOG_LEVEL))
    throw new Error(`startBridgeInNetns: LOG_LEVEL ${env.LOG_LEVEL} would hide the 'octobridge started' line it waits for`);
  const ip = which('ip') ?? 'ip';
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    LOG_LEVEL: 'info',
    OCTOBRIDGE_WORKERS: '1',
    ...(process.env.OCTOBRIDGE_WORKER_BIN ? { OCTOBRIDGE_WORKER_BIN: process.env.OCTOBRIDGE_WORKER_BIN } : {}),
    ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
    ...env,
  };
  const child: ChildProcess = spawn(ip, ['netns', 'exec', ns.name, process.execPath, path.join(REPO_ROOT, 'src/main.ts')], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let onLine: ((line: string) => void) | undefined;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    readline.createInterface({ input: stream }).on('line', (line) => {
      log.push(line);
      if (log.length > 5000) log.shift();
      onLine?.(line);
    });
  }
  const tail = (): string => log.slice(-25).join('\n');
  const ports = await new Promise<{ publicPort: number; privatePort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bridge ${name} in ${ns.name} not ready within ${opts.readyTimeoutMs ?? 30_000} ms:\n${tail()}`)),
      opts.readyTimeoutMs ?? 30_000,
    );
    onLine = (line) => {
      if (!line.includes('"octobridge started"')) return;
      try {
        const j = JSON.parse(line) as { publicPort: number; privatePort: number };
        clearTimeout(timer);
        resolve({ publicPort: j.publicPort, privatePort: j.privatePort });
      } catch {
        // not JSON: keep waiting
      }
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`bridge ${name} in ${ns.name} exited (${signal ?? `code ${code}`}) before it was ready:\n${tail()}`));
    });
  }).catch((err: unknown) => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    throw err;
  });
  onLine = undefined;
  const pid = child.pid as number;
  let stopping: Promise<void> | undefined;
  return {
    name,
    ns,
    pid,
    ...ports,
    log,
    exited,
    workerPids: () => childrenNamed(pid, 'mediasoup-worke'),
    wireguardGoPid: () => childrenNamed(pid, 'wireguard-go')[0],
    stop(timeoutMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        process.kill(pid, 'SIGINT');
        const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
        if (!done) {
          process.kill(pid, 'SIGKILL');
          await exited;
        }
      })();
      return stopping;
    },
  };
}
