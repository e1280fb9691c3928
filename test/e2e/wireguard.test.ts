/**
 * End to end: {@link WireGuardManager} with real wireguard-go in two network namespaces joined
 * only by a veth pair (there is no kernel WireGuard on the test
 * machines, so mode `auto` falls back to wireguard-go). Checks that both peers come up, the RTT
 * through the tunnel is measured, metrics and health say so; that deleting one side's interface
 * turns the other side unhealthy naming the peer, and restarting it makes it healthy again; that
 * mode `external` only checks an operator-made interface; that an existing interface is never
 * taken over; that a whole bridge configured with `OCTOBRIDGE_WG_*` shows all this in
 * `/about/health` and `/metrics`; and that no private key reaches the logs.
 *
 * Needs root, `ip netns`, wireguard-go, wg and ping (skipped otherwise, with the reason).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge.ts';
import { loadConfig, type WireGuardConfig, type WireGuardPeerConfig } from '../../src/config/config.ts';
import { Metrics } from '../../src/metrics/Metrics.ts';
import { shortKey, WireGuardManager, type PeerStatus } from '../../src/wireguard/wireguard.ts';
import { createNetns, linkNetns, type Netns, type NetnsLink } from '../helpers/netns.ts';
import { makeWgKey, wgInterfacePrefix, wireguardSupport, type WgKey } from '../../bench/lib/wireguard.ts';

const support = wireguardSupport();
if (!support.ok) console.warn(`[wireguard.test] SKIPPED: ${support.reason}`);

const CHECK_MS = 1000;
const HANDSHAKE_TIMEOUT_MS = 6000;
/** Machine-unique interface names (wireguard-go's UAPI socket is shared by all namespaces). */
const IF_PREFIX = wgInterfacePrefix();

/** Captures a pino logger's lines (everything, debug included) to check for leaked keys. */
function capturingLogger(): { log: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

/**
 * Poll `fn` until it returns a truthy value; the value. @throws Error after `ms` naming `what`, with what `explain`
 * says then (e.g. the peers' states and probe failures).
 */
async function until<T>(what: string, ms: number, fn: () => T | undefined | false | Promise<T | undefined | false>, explain?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${explain ? `: ${explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `ping -q -c <n> -i 0.05` in `ns` → min/avg/max ms. */
async function pingStats(ns: Netns, addr: string, n = 20): Promise<{ min: number; avg: number; max: number }> {
  const { stdout } = await ns.exec(['ping', '-n', '-q', '-c', String(n), '-i', '0.05', addr], { timeoutMs: 20_000 });
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(stdout);
  if (!m) throw new Error(`no ping summary: ${stdout}`);
  return { min: Number(m[1]), avg: Number(m[2]), max: Number(m[3]) };
}

/** One sample of a text exposition, e.g. `octobridge_wireguard_peer_up{peer="abc",region="us"}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe.skipIf(!support.ok)(`WireGuard managed by the bridge (wireguard-go in two namespaces)${support.ok ? '' : ` — SKIPPED: ${support.reason}`}`, () => {
  let nsA: Netns;
  let nsB: Netns;
  let link: NetnsLink;
  let dir: string;
  const keys: Record<string, WgKey> = {};
  const managers: WireGuardManager[] = [];
  const bridges: RunningBridge[] = [];
  const operatorChildren: ChildProcess[] = [];
  const logA = capturingLogger();
  const logB = capturingLogger();

  const makeKey = (name: string): void => {
    keys[name] = makeWgKey(dir, name);
  };

  const config = (over: Partial<WireGuardConfig> & { peers: WireGuardPeerConfig[] }): WireGuardConfig => ({
    interface: `${IF_PREFIX}a`,
    mode: 'auto',
    privateKeyFile: undefined,
    listenPort: 51820,
    address: undefined,
    checkIntervalMs: CHECK_MS,
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    probeFailures: 3,
    ...over,
  });

  const peerOf = (name: string, over: Partial<WireGuardPeerConfig>): WireGuardPeerConfig => ({
    publicKey: keys[name]!.pub,
    endpoint: undefined,
    allowedIps: [],
    region: undefined,
    relayId: undefined,
    persistentKeepaliveS: 25,
    probeAddress: null,
    ...over,
  });

  beforeAll(async () => {
    [nsA, nsB] = await Promise.all([createNetns(), createNetns()]);
    link = await linkNetns(nsA, nsB);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'octobridge-wg-'));
    fs.chmodSync(dir, 0o700);
    for (const k of ['a', 'b', 'x', 'y']) makeKey(k);
  });

  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.close()));
    await Promise.all(managers.map((m) => m.stop()));
    for (const c of operatorChildren) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    await Promise.all([nsA?.close(), nsB?.close()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    // No key in any log line, at debug level (wireguard-go's output included).
    for (const text of [logA.text(), logB.text()]) {
      for (const k of Object.values(keys)) expect(text).not.toContain(k.priv);
    }
  });

  it('brings both sides up, measures the RTT, reports metrics and health; a deleted peer interface turns health unhealthy naming the peer; back → healthy', async () => {
    const metricsA = new Metrics({ processMetrics: false });
    const a = new WireGuardManager(
      config({
        interface: `${IF_PREFIX}a`,
        mode: 'auto',
        privateKeyFile: keys.a!.file,
        address: '10.100.0.1/24',
        peers: [peerOf('b', { endpoint: `${link.bIp}:51820`, allowedIps: ['10.100.0.2/32'], region: 'us', relayId: 'bridge-us', probeAddress: '10.100.0.2' })],
      }),
      logA.log,
      { netns: nsA.name, metrics: metricsA },
    );
    const b = new WireGuardManager(
      config({
        interface: `${IF_PREFIX}b`,
        mode: 'userspace',
        privateKeyFile: keys.b!.file,
        address: '10.100.0.2/24',
        peers: [peerOf('a', { endpoint: `${link.aIp}:51820`, allowedIps: ['10.100.0.1/32'], region: 'eu', relayId: 'bridge-eu', probeAddress: '10.100.0.1' })],
      }),
      logB.log,
      { netns: nsB.name },
    );
    managers.push(a, b);
    const firstRtt: number[] = [];
    a.on('checked', (peers) => {
      const rtt = peers[0]?.rttMs;
      if (rtt != null && firstRtt.length === 0) firstRtt.push(rtt);
    });

    const t0 = Date.now();
    await Promise.all([a.start(), b.start()]);
    const startedMs = Date.now() - t0;
    expect(a.mode).toBe('userspace'); // auto: no kernel WireGuard here
    expect(b.mode).toBe('userspace');
    expect(a.pid).toBeGreaterThan(0);
    const upA = await until('A sees B up', 10_000, () => a.peers().find((p) => p.up));
    await until('B sees A up', 10_000, () => b.peers().find((p) => p.up));
    const upMs = Date.now() - t0;
    expect(upA.latestHandshakeMs).not.toBeNull();
    // Probes run every check (1 s), each a ping with a 1 s timeout: CI once saw none answered for 5 s after both
    // were up (passing 6 of 6 runs alone); what the peers say is in the message should it happen again.
    const measured = await until(
      'an RTT for B',
      10_000,
      () => a.peers().find((p) => p.rttMs !== null),
      () =>
        JSON.stringify(
          a.peers().map((p) => ({ state: p.state, reason: p.reason, probeFailures: p.probeFailures, handshakeAgeS: p.handshakeAgeS, endpoint: p.endpoint })),
        ),
    );
    expect(measured.rttMs).toBeGreaterThan(0);
    expect(measured.rttMs).toBeLessThan(1000);
    expect(measured.endpoint).toBe(`${link.bIp}:51820`);

    // Health: healthy, and the detail names the peer with its handshake age and RTT.
    expect(a.healthProblem()).toBeUndefined();
    const detail = a.healthDetail();
    expect(detail).toMatchObject({ interface: `${IF_PREFIX}a`, mode: 'userspace', address: '10.100.0.1', listenPort: 51820, healthy: true });
    expect(detail.peers[0]).toMatchObject({ peer: shortKey(keys.b!.pub), region: 'us', relayId: 'bridge-us', state: 'up' });
    expect(detail.peers[0]?.handshakeAgeS).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(detail)).not.toContain(keys.a!.priv);

    // Metrics.
    const peerLabel = { peer: shortKey(keys.b!.pub), region: 'us' };
    let text = (await metricsA.render()).body;
    expect(sample(text, 'octobridge_wireguard_peer_up', peerLabel)).toBe(1);
    expect(sample(text, 'octobridge_wireguard_handshake_age_seconds', peerLabel)).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'octobridge_relay_rtt_seconds', peerLabel)).toBeGreaterThan(0);
    expect(text).not.toContain(keys.a!.priv);

    // RTT over the tunnel vs the plain veth (reported).
    const veth = await pingStats(nsA, link.bIp);
    const tunnel = await pingStats(nsA, '10.100.0.2');
    console.info(
      `[wireguard.test] start both ${startedMs} ms, both up ${upMs} ms, first probe RTT ${firstRtt[0]?.toFixed(3)} ms; ` +
        `ping veth min/avg/max ${veth.min}/${veth.avg}/${veth.max} ms, wireguard-go ${tunnel.min}/${tunnel.avg}/${tunnel.max} ms`,
    );
    expect(tunnel.avg).toBeGreaterThan(0);

    // B's interface deleted: B's wireguard-go exits, A reports B down within check + timeout.
    const lostB = new Promise<string>((r) => b.once('interfaceLost', r));
    const downAt = Date.now();
    await nsB.exec(['ip', 'link', 'del', `${IF_PREFIX}b`]);
    expect(await lostB).toMatch(/wireguard-go|wg show/);
    const down = await until('A sees B down', CHECK_MS + HANDSHAKE_TIMEOUT_MS + 3000, () => a.peers().find((p) => p.state === 'down'));
    const detectMs = Date.now() - downAt;
    console.info(`[wireguard.test] peer down detected after ${detectMs} ms (${down.reason})`);
    expect(detectMs).toBeLessThanOrEqual(CHECK_MS + HANDSHAKE_TIMEOUT_MS + 1000);
    expect(down.rttMs).toBeNull();
    const problem = a.healthProblem();
    expect(problem).toContain(shortKey(keys.b!.pub));
    expect(problem).toContain('region us');
    expect(problem).toMatch(/last handshake \d+ s ago/);
    expect(a.healthDetail()).toMatchObject({ healthy: false, problem });
    expect(b.healthProblem()).toContain(`${IF_PREFIX}b`);
    text = (await metricsA.render()).body;
    expect(sample(text, 'octobridge_wireguard_peer_up', peerLabel)).toBe(0);
    expect(sample(text, 'octobridge_relay_rtt_seconds', peerLabel)).toBeUndefined();

    // Back: B restarted (a new wireguard-go), A healthy again.
    await b.stop();
    const backAt = Date.now();
    await b.start();
    await until('A sees B up again', 15_000, () => a.peers().find((p) => p.up));
    await until('B sees A up again', 15_000, () => b.peers().find((p) => p.up));
    console.info(`[wireguard.test] peer up again ${Date.now() - backAt} ms after restart`);
    expect(a.healthProblem()).toBeUndefined();
    expect(b.healthProblem()).toBeUndefined();
    text = (await metricsA.render()).body;
    expect(sample(text, 'octobridge_wireguard_peer_up', peerLabel)).toBe(1);

    // Stop: the links are gone and wireguard-go exited.
    const pids = [a.pid, b.pid];
    await Promise.all([a.stop(), b.stop()]);
    for (const pid of pids) expect(() => process.kill(pid!, 0)).toThrow();
    await expect(nsA.exec(['ip', 'link', 'show', `${IF_PREFIX}a`])).rejects.toThrow();
    text = (await metricsA.render()).body;
    expect(sample(text, 'octobridge_wireguard_peer_up', peerLabel)).toBeUndefined();
  });

  it('mode external only checks an operator-made interface, and an existing interface is never taken over', async () => {
    // The operator's interfaces: x in A, y in B (wireguard-go in the foreground, stopped by pid).
    const ifX = `${IF_PREFIX}x`;
    const ifY = `${IF_PREFIX}y`;
    const sides: [Netns, string, string, string, string, number, number][] = [
      [nsA, ifX, 'x', 'y', link.bIp, 51830, 51831],
      [nsB, ifY, 'y', 'x', link.aIp, 51831, 51830],
    ];
    for (const [ns, ifName] of sides) {
      const child = spawn('ip', ['netns', 'exec', ns.name, 'wireguard-go', '-f', ifName], { stdio: 'ignore' });
      operatorChildren.push(child);
    }
    await until('operator interfaces', 5000, () => fs.existsSync(`/var/run/wireguard/${ifX}.sock`) && fs.existsSync(`/var/run/wireguard/${ifY}.sock`));
    for (const [ns, ifName, self, other, otherIp, port, otherPort] of sides) {
      const n = self === 'x' ? 1 : 2;
      await ns.exec([
        'wg',
        'set',
        ifName,
        'private-key',
        keys[self]!.file,
        'listen-port',
        String(port),
        'peer',
        keys[other]!.pub,
        'endpoint',
        `${otherIp}:${otherPort}`,
        'allowed-ips',
        `10.100.1.${3 - n}/32`,
      ]);
      await ns.exec(['ip', 'addr', 'add', `10.100.1.${n}/24`, 'dev', ifName]);
      await ns.exec(['ip', 'link', 'set', ifName, 'up']);
    }
    /** The interface as configured (no handshake times or counters). */
    const snapshot = async (): Promise<string> => {
      const dump = (await nsA.exec(['wg', 'show', ifX, 'dump'])).stdout
        .trim()
        .split('\n')
        .map((l, i) =>
          i === 0
            ? l
            : l
                .split('\t')
                .filter((_, j) => j < 4 || j === 7)
                .join('\t'),
        );
      const addr = (await nsA.exec(['ip', '-o', 'addr', 'show', 'dev', ifX])).stdout.replace(/valid_lft.*$/gm, '');
      const state = (await nsA.exec(['ip', '-o', 'link', 'show', 'dev', ifX])).stdout;
      return [...dump, addr, state].join('\n');
    };
    const before = await snapshot();

    const unknownKey = execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']), encoding: 'utf8' }).trim();
    const ext = new WireGuardManager(
      config({
        interface: ifX,
        mode: 'external',
        listenPort: undefined,
        peers: [
          peerOf('y', { allowedIps: ['10.100.1.2/32'], region: 'us', probeAddress: '10.100.1.2' }),
          { ...peerOf('y', { region: 'ap' }), publicKey: unknownKey },
        ],
      }),
      logA.log,
      { netns: nsA.name },
    );
    managers.push(ext);
    await ext.start();
    expect(ext.mode).toBe('external');
    expect(ext.pid).toBeUndefined();
    expect(ext.address).toBe('10.100.1.1');
    const y = await until('x sees y up', 10_000, () => ext.peers().find((p): p is PeerStatus => p.publicKey === keys.y!.pub && p.up && p.rttMs !== null));
    expect(y.region).toBe('us');
    const missing = ext.peers().find((p) => p.publicKey === unknownKey);
    expect(missing).toMatchObject({ state: 'down', reason: 'not configured on the interface' });
    expect(ext.healthProblem()).toContain(`${shortKey(unknownKey)}… (region ap) is down: not configured on the interface`);

    // Managed modes refuse an interface that exists: in its namespace, and by name anywhere on the machine.
    const takeOver = (ns: Netns, mode: WireGuardConfig['mode']): Promise<void> =>
      new WireGuardManager(config({ interface: ifX, mode, privateKeyFile: keys.a!.file, address: '10.100.9.1/24', peers: [] }), logA.log, {
        netns: ns.name,
      }).start();
    await expect(takeOver(nsA, 'auto')).rejects.toThrow(/exists already.*mode external/);
    await expect(takeOver(nsB, 'userspace')).rejects.toThrow(/exists already on this machine/);

    await ext.stop();
    expect(await snapshot()).toBe(before);
    for (const c of operatorChildren) {
      if (c.pid) process.kill(c.pid, 'SIGTERM');
    }
  });
  it('a bridge with OCTOBRIDGE_WG_* brings the tunnel up and reports it in /about/health and /metrics', async () => {
    const ifC = `${IF_PREFIX}c`;
    const ifD = `${IF_PREFIX}d`;
    const d = new WireGuardManager(
      config({
        interface: ifD,
        mode: 'userspace',
        privateKeyFile: keys.b!.file,
        listenPort: 51841,
        address: '10.100.2.2/24',
        peers: [peerOf('a', { endpoint: `${link.aIp}:51840`, allowedIps: ['10.100.2.1/32'], region: 'eu', probeAddress: '10.100.2.1' })],
      }),
      logB.log,
      { netns: nsB.name },
    );
    managers.push(d);
    await d.start();
    const log = capturingLogger();
    const cfg = await loadConfig(
      {
        JVB_PORT: '0',
        OCTOBRIDGE_WORKERS: '1',
        OCTOBRIDGE_PUBLIC_PORT: '0',
        OCTOBRIDGE_PUBLIC_HOST: '127.0.0.1',
        OCTOBRIDGE_PRIVATE_PORT: '0',
        OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
        JVB_OCTO_REGION: 'eu',
        OCTOBRIDGE_WG_INTERFACE: ifC,
        OCTOBRIDGE_WG_MODE: 'userspace',
        OCTOBRIDGE_WG_PRIVATE_KEY_FILE: keys.a!.file,
        OCTOBRIDGE_WG_LISTEN_PORT: '51840',
        OCTOBRIDGE_WG_ADDRESS: '10.100.2.1/24',
        OCTOBRIDGE_WG_CHECK_INTERVAL_MS: String(CHECK_MS),
        OCTOBRIDGE_WG_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS),
        OCTOBRIDGE_WG_PEERS: JSON.stringify([
          { 'public-key': keys.b!.pub, endpoint: `${link.bIp}:51841`, 'allowed-ips': ['10.100.2.2/32'], region: 'us', 'relay-id': 'bridge-us' },
        ]),
      },
      { file: null },
    );
    const bridge = await startBridge(cfg, log.log, { wireguardNetns: nsA.name });
    bridges.push(bridge);
    expect(bridge.wireguard?.address).toBe('10.100.2.1');
    const base = `http://127.0.0.1:${bridge.privatePort}`;
    const health = async (): Promise<{
      status: number;
      body: { error?: string; wireguard?: { healthy: boolean; peers: { state: string; rttMs: number | null; region: string }[] } };
    }> => {
      const res = await fetch(`${base}/about/health`);
      return { status: res.status, body: (await res.json()) as never };
    };
    const ok = await until('a healthy bridge with the peer up and its RTT', 10_000, async () => {
      const h = await health();
      return h.status === 200 && h.body.wireguard?.peers[0]?.state === 'up' && h.body.wireguard.peers[0].rttMs !== null && h.body;
    });
    expect(ok.wireguard).toMatchObject({ healthy: true, peers: [{ region: 'us' }] });
    const peerLabel = { peer: shortKey(keys.b!.pub), region: 'us' };
    let text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'octobridge_wireguard_peer_up', peerLabel)).toBe(1);
    expect(sample(text, 'octobridge_relay_rtt_seconds', peerLabel)).toBeGreaterThan(0);
    expect(text).toMatch(/^jitsi_jvb_healthy 1$/m);

    await nsB.exec(['ip', 'link', 'del', ifD]);
    const sick = await until('an unhealthy bridge', CHECK_MS + HANDSHAKE_TIMEOUT_MS + 3000, async () => {
      const h = await health();
      return h.status === 500 && h.body;
    });
    expect(sick.error).toContain(`WireGuard peer ${shortKey(keys.b!.pub)}… (region us, relay bridge-us) is down`);
    expect(sick.error).toMatch(/last handshake \d+ s ago/);
    expect(sick.wireguard?.healthy).toBe(false);
    text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'octobridge_wireguard_peer_up', peerLabel)).toBe(0);
    expect(text).toMatch(/^jitsi_jvb_healthy 0$/m);

    await d.stop();
    await d.start();
    await until('healthy again', 15_000, async () => (await health()).status === 200);

    const pid = bridge.wireguard?.pid;
    await bridge.close();
    expect(() => process.kill(pid!, 0)).toThrow();
    await expect(nsA.exec(['ip', 'link', 'show', ifC])).rejects.toThrow();
    expect(log.text()).not.toContain(keys.a!.priv);
    expect(log.text()).toContain('WireGuard peer down');
  });
});
