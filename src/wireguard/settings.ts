/**
 * The WireGuard tunnel's settings (`octobridge.relay.wireguard` in jvb.conf, `OCTOBRIDGE_WG_*` in the environment):
 * their types, conversions and the checks across keys; config/config.ts reads them in its layering.
 */
import net from 'node:net';
import path from 'node:path';
import {
  bool,
  ConfigError,
  duration,
  fromJson,
  HOUR,
  int,
  ipAddr,
  isObject,
  MINUTE,
  nonEmpty,
  oneOf,
  optStr,
  scalar,
  SECOND,
  str,
  strList,
  type Conv,
} from '../util/settings.ts';

/** How the bridge gets its WireGuard interface (`octobridge.relay.wireguard.mode`). */
export type WireGuardMode = 'auto' | 'kernel' | 'userspace' | 'external';

/** One `octobridge.relay.wireguard.peers` entry: another bridge at the far end of the tunnel. */
export interface WireGuardPeerConfig {
  /** The peer's WireGuard public key (base64, 44 characters). */
  publicKey: string;
  /** `host:port` (or `[v6]:port`) where the peer listens; undefined = the peer connects to us. */
  endpoint: string | undefined;
  /** CIDRs routed to the peer (`wg ... allowed-ips`). */
  allowedIps: string[];
  /** The peer bridge's region (labels, logs, health). */
  region: string | undefined;
  /** The peer bridge's relay id. */
  relayId: string | undefined;
  /** s between keepalives (`wg ... persistent-keepalive`), 0 = off; default 25. */
  persistentKeepaliveS: number;
  /**
   * The tunnel address pinged for the RTT and liveness probe: `probe-address`, else the first
   * allowed-ip's address when it names one host (`/32`, `/128`, or host bits set); null = no probe.
   */
  probeAddress: string | null;
}

/** `octobridge.relay.wireguard`: the tunnel the relays run in (src/wireguard/wireguard.ts). */
export interface WireGuardConfig {
  /** Interface name, unique on the machine (wireguard-go's UAPI socket is machine-wide). */
  interface: string;
  mode: WireGuardMode;
  /** File holding this bridge's private key; only its path is ever handled (`wg set ... private-key <file>`). */
  privateKeyFile: string | undefined;
  /** UDP port WireGuard listens on (51820 in the managed modes; undefined for `external`). */
  listenPort: number | undefined;
  /** This bridge's tunnel address with prefix (`10.100.0.1/24`); required unless `external`. */
  address: string | undefined;
  /** ms between checks (`wg show dump` + RTT probes). */
  checkIntervalMs: number;
  /** ms: a peer whose latest handshake is older (and not proven alive by a probe) is down. */
  handshakeTimeoutMs: number;
  /** Consecutive failed RTT probes after which a peer is down; 0 = probes only measure. */
  probeFailures: number;
  peers: WireGuardPeerConfig[];
}

/** The jvb.conf block. */
export const WG = 'octobridge.relay.wireguard';
const WG_MODES = ['auto', 'kernel', 'userspace', 'external'] as const;
const WG_PEER_KEYS = ['public-key', 'endpoint', 'allowed-ips', 'region', 'relay-id', 'persistent-keepalive', 'probe-address'];

/** The WireGuard block while layering: values plus the key each came from (file path or variable). */
export interface PendingWireGuard {
  /** Seen at all: the file block or any `OCTOBRIDGE_WG_*` (`enabled` may still turn it off). */
  present: boolean;
  /** The file has the block (a missing key is then named by its HOCON path, else by its variable). */
  inFile: boolean;
  enabled: boolean;
  values: Partial<Omit<WireGuardConfig, 'peers'>> & { peers?: WireGuardPeerConfig[] };
  keys: Record<string, string>;
}

/** Nothing seen yet. */
export function pendingWireGuard(): PendingWireGuard {
  return { present: false, inFile: false, enabled: true, values: {}, keys: {} };
}

/** A WireGuard key: 32 bytes in base64 (44 characters, one `=`). */
const wgKey: Conv<string> = (key, v) => {
  const s = str(key, v);
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s)) throw new ConfigError(key, `'${s}' is not a WireGuard public key (44 base64 characters)`);
  return s;
};

/** Linux interface name (IFNAMSIZ: at most 15 bytes). */
const ifName: Conv<string> = (key, v) => {
  const s = str(key, v);
  if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(s) || s === '.' || s === '..') throw new ConfigError(key, `'${s}' is not an interface name (1-15 of [A-Za-z0-9_=+.-])`);
  return s;
};

/** `a.b.c.d/n` or `v6/n` (the prefix is required), returned as written. */
function cidr(key: string, v: unknown): string {
  const s = str(key, v);
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const family = m ? net.isIP(m[1] ?? '') : 0;
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) throw new ConfigError(key, `'${s}' is not an address with a prefix (e.g. 10.100.0.1/24)`);
  return s;
}

/** `host:port` or `[v6]:port`. */
const hostPort: Conv<string> = (key, v) => {
  const s = str(key, v);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d+)$/.exec(s);
  if (!m || (m[1] !== undefined && net.isIPv6(m[1]) === false)) throw new ConfigError(key, `'${s}' is not host:port`);
  int(1, 65535)(key, m[3]);
  return s;
};

/** Seconds as wg writes them (a bare number is seconds here, as `PersistentKeepalive = 25`), or a HOCON duration. */
function seconds(min: number, max: number): Conv<number> {
  return (key, v) => {
    const s = scalar(key, v).trim();
    if (/^\d+$/.test(s)) return int(min, max)(key, s);
    const ms = duration(min * SECOND, max * SECOND)(key, s);
    if (ms % SECOND !== 0) throw new ConfigError(key, `${s} is not a whole number of seconds`);
    return ms / SECOND;
  };
}

/** The probe address a peer gets by default: the first allowed-ip's address when it names one host. */
export function defaultProbeAddress(allowedIps: readonly string[]): string | null {
  const first = allowedIps[0];
  if (!first) return null;
  const [addr = '', bitsText = ''] = first.split('/');
  const family = net.isIP(addr);
  if (family === 0) return null;
  const bits = Number(bitsText);
  const width = family === 4 ? 32 : 128;
  if (bits >= width) return addr;
  const value = ipToBigInt(addr);
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  return (value & hostMask) !== 0n ? addr : null;
}

/** An IPv4 or IPv6 address as an integer (for prefix arithmetic). */
export function ipToBigInt(addr: string): bigint {
  if (net.isIPv4(addr)) return addr.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = ipToBigInt(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** `peers = [{ public-key, endpoint?, allowed-ips, region?, relay-id?, persistent-keepalive?, probe-address? }]`. */
const wgPeers: Conv<WireGuardPeerConfig[]> = (key, v) => {
  if (!Array.isArray(v)) throw new ConfigError(key, 'expected a list of { public-key, endpoint, allowed-ips, region, relay-id, persistent-keepalive }');
  const seen = new Map<string, number>();
  return v.map((p: unknown, i) => {
    const k = `${key}[${i}]`;
    if (!isObject(p)) throw new ConfigError(k, 'expected an object');
    for (const name of Object.keys(p)) {
      if (!WG_PEER_KEYS.includes(name)) throw new ConfigError(`${k}.${name}`, `unknown key (known: ${WG_PEER_KEYS.join(', ')})`);
    }
    const field = <T>(name: string, conv: Conv<T>): T | undefined => (p[name] === undefined || p[name] === null ? undefined : conv(`${k}.${name}`, p[name]));
    const publicKey = field('public-key', wgKey);
    if (!publicKey) throw new ConfigError(`${k}.public-key`, 'required');
    const dup = seen.get(publicKey);
    if (dup !== undefined) throw new ConfigError(`${k}.public-key`, `the same key as ${key}[${dup}]`);
    seen.set(publicKey, i);
    const allowedIps = (field('allowed-ips', strList) ?? []).map((a, j) => cidr(`${k}.allowed-ips[${j}]`, a));
    const probe = field('probe-address', ipAddr);
    if (probe !== undefined && net.isIP(probe) === 0) throw new ConfigError(`${k}.probe-address`, `'${probe}' is not an IP address`);
    return {
      publicKey,
      endpoint: field('endpoint', hostPort),
      allowedIps,
      region: field('region', optStr),
      relayId: field('relay-id', optStr),
      persistentKeepaliveS: field('persistent-keepalive', seconds(0, 65535)) ?? 25,
      probeAddress: probe ?? defaultProbeAddress(allowedIps),
    };
  });
};

/**
 * Read the jvb.conf block into `w`: `lookup(path)` is the value at a dotted HOCON path; a relative
 * `private-key-file` is resolved against `fileDir`.
 * @throws ConfigError for a value out of range or not an object where one is expected.
 */
export function readWireGuardFile(w: PendingWireGuard, lookup: (dotted: string) => unknown, fileDir: string): void {
  const block = lookup(WG);
  if (block === undefined) return;
  if (!isObject(block)) throw new ConfigError(WG, 'expected an object');
  w.present = true;
  w.inFile = true;
  const at = <T>(name: string, conv: Conv<T>, apply: (v: T) => void): void => {
    const v = lookup(`${WG}.${name}`);
    if (v === undefined) return;
    apply(conv(`${WG}.${name}`, v));
    w.keys[name] = `${WG}.${name}`;
  };
  at('enabled', bool, (v) => (w.enabled = v));
  at('interface', ifName, (v) => (w.values.interface = v));
  at('mode', oneOf(WG_MODES), (v) => (w.values.mode = v));
  at('private-key-file', nonEmpty, (v) => (w.values.privateKeyFile = path.resolve(fileDir, v)));
  at('listen-port', int(1, 65535), (v) => (w.values.listenPort = v));
  at('address', cidr, (v) => (w.values.address = v));
  at('check-interval', duration(100, 10 * MINUTE), (v) => (w.values.checkIntervalMs = v));
  at('handshake-timeout', duration(SECOND, HOUR), (v) => (w.values.handshakeTimeoutMs = v));
  at('probe-failures', int(0, 1000), (v) => (w.values.probeFailures = v));
  at('peers', wgPeers, (v) => (w.values.peers = v));
}

/**
 * Read the `OCTOBRIDGE_WG_*` variables into `w` (they win over the file); `e(name)` is a variable's value.
 * @throws ConfigError for a value out of range, or peers that are not JSON.
 */
export function readWireGuardEnv(w: PendingWireGuard, e: (k: string) => string | undefined): void {
  const at = <T>(name: string, envVar: string, conv: Conv<T>, apply: (v: T) => void): void => {
    const v = e(envVar);
    if (v === undefined) return;
    w.present = true;
    apply(conv(envVar, v));
    w.keys[name] = envVar;
  };
  at('enabled', 'OCTOBRIDGE_WG_ENABLED', bool, (v) => (w.enabled = v));
  at('interface', 'OCTOBRIDGE_WG_INTERFACE', ifName, (v) => (w.values.interface = v));
  at('mode', 'OCTOBRIDGE_WG_MODE', oneOf(WG_MODES), (v) => (w.values.mode = v));
  at('private-key-file', 'OCTOBRIDGE_WG_PRIVATE_KEY_FILE', nonEmpty, (v) => (w.values.privateKeyFile = path.resolve(v)));
  at('listen-port', 'OCTOBRIDGE_WG_LISTEN_PORT', int(1, 65535), (v) => (w.values.listenPort = v));
  at('address', 'OCTOBRIDGE_WG_ADDRESS', cidr, (v) => (w.values.address = v));
  at('check-interval', 'OCTOBRIDGE_WG_CHECK_INTERVAL_MS', int(100, 10 * MINUTE), (v) => (w.values.checkIntervalMs = v));
  at('handshake-timeout', 'OCTOBRIDGE_WG_HANDSHAKE_TIMEOUT_MS', int(SECOND, HOUR), (v) => (w.values.handshakeTimeoutMs = v));
  at('probe-failures', 'OCTOBRIDGE_WG_PROBE_FAILURES', int(0, 1000), (v) => (w.values.probeFailures = v));
  // The file's peer list as JSON, with the same keys.
  at('peers', 'OCTOBRIDGE_WG_PEERS', fromJson(wgPeers), (v) => (w.values.peers = v));
}

/** Defaults and the checks across keys (a managed interface needs a key file and an address). */
export function finishWireGuard(w: PendingWireGuard): WireGuardConfig | undefined {
  if (!w.present || !w.enabled) return undefined;
  const v = w.values;
  const mode = v.mode ?? 'auto';
  const keyOf = (name: string): string => w.keys[name] ?? (w.inFile ? `${WG}.${name}` : `OCTOBRIDGE_WG_${name.toUpperCase().replaceAll('-', '_')}`);
  const peers = v.peers ?? [];
  if (mode !== 'external') {
    if (!v.privateKeyFile)
      throw new ConfigError(keyOf('private-key-file'), `required with mode ${mode} (a file holding the private key, as \`wg genkey\` writes it)`);
    if (!v.address) throw new ConfigError(keyOf('address'), `required with mode ${mode} (this bridge's tunnel address with prefix, e.g. 10.100.0.1/24)`);
    peers.forEach((p, i) => {
      if (p.allowedIps.length === 0)
        throw new ConfigError(`${keyOf('peers')}[${i}].allowed-ips`, "required (at least the peer's tunnel address, e.g. 10.100.0.2/32)");
    });
  }
  return {
    interface: v.interface ?? 'wg-octobridge',
    mode,
    privateKeyFile: v.privateKeyFile,
    listenPort: v.listenPort ?? (mode === 'external' ? undefined : 51820),
    address: v.address,
    checkIntervalMs: v.checkIntervalMs ?? 5 * SECOND,
    handshakeTimeoutMs: v.handshakeTimeoutMs ?? 180 * SECOND,
    probeFailures: v.probeFailures ?? 3,
    peers,
  };
}
