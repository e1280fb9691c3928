/**
 * The pure parts of the WireGuard checks (src/wireguard/wireguard.ts): parsing `wg show <if> dump`,
 * deciding whether a peer is up, parsing `ping`'s RTT, and scrubbing key material out of any text
 * that may reach a log or an error.
 *
 * `wg show <if> dump` prints, tab-separated, first the interface —
 * `private-key public-key listen-port fwmark` — then one line per peer —
 * `public-key preshared-key endpoint allowed-ips latest-handshake rx-bytes tx-bytes persistent-keepalive`
 * (`(none)` for an absent key, endpoint or allowed-ips list; `off` for no fwmark / keepalive;
 * latest-handshake in seconds since the epoch, 0 = never). The first line carries this bridge's
 * **private key** and a peer line its **preshared key**: {@link parseWgDump} drops both at once,
 * and neither the dump nor any line of it is ever logged or put in an error.
 */

/** The interface line of a dump, without its private key. */
export interface WgDumpInterface {
  /** This bridge's public key, or null when no private key is set yet. */
  publicKey: string | null;
  /** UDP port, 0 when none. */
  listenPort: number;
  /** `off` or the mark. */
  fwmark: string;
}

/** A peer line of a dump, without its preshared key. */
export interface WgDumpPeer {
  publicKey: string;
  /** Whether a preshared key is set (its value is dropped). */
  hasPresharedKey: boolean;
  /** `host:port` the peer was last seen at (or configured), null when none. */
  endpoint: string | null;
  allowedIps: string[];
  /** ms since the epoch; null = no handshake yet. */
  latestHandshakeMs: number | null;
  rxBytes: number;
  txBytes: number;
  /** s; null = off. */
  persistentKeepaliveS: number | null;
}

/** A parsed `wg show <if> dump`. */
export interface WgDump {
  interface: WgDumpInterface;
  peers: WgDumpPeer[];
}

/** Thrown by {@link parseWgDump}; the message names the line number and field, never the text. */
export class WgDumpError extends Error {
  constructor(message: string) {
    super(`wg show dump: ${message}`);
    this.name = 'WgDumpError';
  }
}

const NONE = '(none)';

function count(line: number, field: string, s: string): number {
  if (!/^\d+$/.test(s)) throw new WgDumpError(`line ${line}: ${field} is not a number`);
  return Number(s);
}

/**
 * Parse the output of `wg show <if> dump` (one interface; `wg show all dump`'s extra first column
 * is not accepted). The private and preshared keys are dropped.
 *
 * @throws WgDumpError naming the line and field (never quoting the line) on a malformed dump.
 */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0];
  if (head === undefined) throw new WgDumpError('empty output');
  const h = head.split('\t');
  if (h.length !== 4) throw new WgDumpError(`line 1: ${h.length} fields, expected 4 (private-key public-key listen-port fwmark)`);
  const iface: WgDumpInterface = {
    publicKey: h[1] === NONE || !h[1] ? null : h[1],
    listenPort: count(1, 'listen-port', h[2] ?? ''),
    fwmark: h[3] ?? 'off',
  };
  const peers = lines.slice(1).map((line, i): WgDumpPeer => {
    const n = i + 2;
    const f = line.split('\t');
    if (f.length !== 8)
      throw new WgDumpError(
        `line ${n}: ${f.length} fields, expected 8 (public-key preshared-key endpoint allowed-ips latest-handshake rx tx persistent-keepalive)`,
      );
    const [pub = '', psk = '', endpoint = '', allowed = '', hs = '', rx = '', tx = '', ka = ''] = f;
    if (!/^[A-Za-z0-9+/]{43}=$/.test(pub)) throw new WgDumpError(`line ${n}: public-key is not a key`);
    const handshake = count(n, 'latest-handshake', hs);
    return {
      publicKey: pub,
      hasPresharedKey: psk !== NONE && psk !== '',
      endpoint: endpoint === NONE || endpoint === '' ? null : endpoint,
      allowedIps: allowed === NONE || allowed === '' ? [] : allowed.split(','),
      latestHandshakeMs: handshake === 0 ? null : handshake * 1000,
      rxBytes: count(n, 'rx-bytes', rx),
      txBytes: count(n, 'tx-bytes', tx),
      persistentKeepaliveS: ka === 'off' || ka === '' ? null : count(n, 'persistent-keepalive', ka),
    };
  });
  return { interface: iface, peers };
}

/** The name a peer goes by in metric labels, logs and health: its public key's first 8 characters. */
export function shortKey(publicKey: string): string {
  return publicKey.slice(0, 8);
}

/**
 * `text` with anything that may be key material replaced by `[redacted]`: every 44-character
 * base64 key (`…=`) that is not one of `publicKeys`, and every `` `…' ``-quoted value (wg quotes the
 * offending text in "Key is not the correct length or format: `…'", which for `private-key`
 * is the private key file's content). Apply to every command's stderr before it is logged or
 * put in an error.
 */
export function scrubSecrets(text: string, publicKeys: ReadonlySet<string> = new Set()): string {
  return text
    .replace(/`[^`'\n]*'/g, (m) => (publicKeys.has(m.slice(1, -1)) ? m : "`[redacted]'"))
    .replace(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=(?![A-Za-z0-9+/=])/g, (m) => (publicKeys.has(m) ? m : '[redacted]'));
}

/** The RTT `ping -c 1` printed (`time=0.215 ms`), ms; null when there was no reply. */
export function parsePingRtt(stdout: string): number | null {
  const m = /time[=<]([\d.]+)\s*ms/.exec(stdout);
  return m ? Number(m[1]) : null;
}

/** A peer's up/down state: `connecting` = no handshake yet, still within the grace after start. */
export type PeerState = 'up' | 'down' | 'connecting';

/** What {@link evaluatePeer} decides from. */
export interface PeerEvidence {
  /** Now, ms since the epoch. */
  nowMs: number;
  /** When checking started (the grace for a first handshake runs from here), ms since the epoch. */
  startedAtMs: number;
  /** The local interface answered `wg show`. */
  interfaceOk: boolean;
  /** The peer is configured on the interface. */
  onInterface: boolean;
  /** ms since the epoch, null = none. */
  latestHandshakeMs: number | null;
  handshakeTimeoutMs: number;
  /** Whether a probe address exists (else only the handshake decides). */
  probing: boolean;
  /** A probe has succeeded since checking started. */
  probeEverOk: boolean;
  /** Probes failed in a row, up to now. */
  consecutiveProbeFailures: number;
  /** Failures in a row that mark the peer down; 0 = probes never do. */
  probeFailureLimit: number;
}

/**
 * Whether a peer is up, and why not:
 *
 * - down when the local interface is gone, or the peer is not on the interface;
 * - without any handshake: `connecting` during `handshakeTimeoutMs` after start, then down;
 * - down when probing and `probeFailureLimit` (> 0) probes in a row failed;
 * - up when the latest handshake is younger than `handshakeTimeoutMs`, or, older, when probes
 *   still get through (a success since start and fewer failures in a row than the limit, or than
 *   1 when the limit is 0). WireGuard re-keys only every 2 minutes on a live tunnel, and carries no
 *   traffic on keys older than 3 minutes, so an answered probe proves the session is current even
 *   when `handshakeTimeoutMs` is set below 2 minutes;
 * - otherwise down.
 *
 * `reason` is a short text for health and logs (no keys).
 */
export function evaluatePeer(e: PeerEvidence): { state: PeerState; reason: string | undefined } {
  if (!e.interfaceOk) return { state: 'down', reason: 'the local WireGuard interface is unavailable' };
  if (!e.onInterface) return { state: 'down', reason: 'not configured on the interface' };
  if (e.latestHandshakeMs === null) {
    if (e.nowMs - e.startedAtMs < e.handshakeTimeoutMs) return { state: 'connecting', reason: 'no handshake yet' };
    return { state: 'down', reason: `no handshake in ${fmtS(e.nowMs - e.startedAtMs)} since start` };
  }
  const ageMs = Math.max(0, e.nowMs - e.latestHandshakeMs);
  if (e.probing && e.probeFailureLimit > 0 && e.consecutiveProbeFailures >= e.probeFailureLimit) {
    return { state: 'down', reason: `${e.consecutiveProbeFailures} probes through the tunnel unanswered` };
  }
  if (ageMs < e.handshakeTimeoutMs) return { state: 'up', reason: undefined };
  if (e.probing && e.probeEverOk && e.consecutiveProbeFailures < Math.max(1, e.probeFailureLimit)) return { state: 'up', reason: undefined };
  return { state: 'down', reason: `no handshake for ${fmtS(ageMs)} (timeout ${fmtS(e.handshakeTimeoutMs)})` };
}

function fmtS(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
