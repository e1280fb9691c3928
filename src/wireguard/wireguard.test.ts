/**
 * Unit tests of the WireGuard management (no root, no wireguard-go: commands go to a fake runner):
 * the `octobridge.relay.wireguard` config and its errors, `wg show dump` parsing, the up/down
 * decision, the command sequence of a start, and that the private key never reaches a log line,
 * an error, the health detail, the metrics or the config dump.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, loadConfig, redactConfig, type Config } from '../config/config.ts';
import { defaultProbeAddress, type WireGuardConfig } from './settings.ts';
import { Metrics } from '../metrics/Metrics.ts';
import { routesOutside, WireGuardError, WireGuardManager, type CommandResult, type CommandRunner } from './wireguard.ts';
import { evaluatePeer, parsePingRtt, parseWgDump, scrubSecrets, shortKey, type PeerEvidence } from './wireguardStatus.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'octobridge-wg-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A random WireGuard-shaped key (32 bytes, base64). */
const newKey = (): string => crypto.randomBytes(32).toString('base64');

const PRIV = newKey();
const PSK = newKey();
const PUB_SELF = newKey();
const PUB_B = newKey();
const PUB_C = newKey();
const KEY_FILE = path.join(dir, 'private.key');
fs.writeFileSync(KEY_FILE, `${PRIV}\n`, { mode: 0o600 });

let n = 0;
async function fromFile(text: string, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  const file = path.join(dir, `jvb-${++n}.conf`);
  fs.writeFileSync(file, text);
  return loadConfig(env, { file });
}

async function keyOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).key;
  }
  throw new Error('no ConfigError');
}

/** Captures a pino logger's JSON lines. */
function capture(): { log: pino.Logger; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    log: pino({ level: 'debug' }, stream),
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const WG_BLOCK = `
octobridge.relay.wireguard {
  interface = wg-eu
  private-key-file = private.key
  listen-port = 51821
  address = "10.100.0.1/24"
  peers = [
    { public-key = "${PUB_B}", endpoint = "198.51.100.7:51820", allowed-ips = ["10.100.0.2/32", "10.100.8.0/24"], region = us, relay-id = bridge-us }
    { public-key = "${PUB_C}", allowed-ips = "10.100.0.0/24", region = ap, persistent-keepalive = 0 }
  ]
}
`;

describe('config: octobridge.relay.wireguard', () => {
  it('is off by default', () => {
    expect(buildConfig({}).relay.wireguard).toBeUndefined();
  });

  it('reads the file block with its defaults', async () => {
    const c = await fromFile(WG_BLOCK);
    expect(c.relay.wireguard).toEqual({
      interface: 'wg-eu',
      mode: 'auto',
      privateKeyFile: KEY_FILE, // beside the config file
      listenPort: 51821,
      address: '10.100.0.1/24',
      checkIntervalMs: 5000,
      handshakeTimeoutMs: 180_000,
      probeFailures: 3,
      peers: [
        {
          publicKey: PUB_B,
          endpoint: '198.51.100.7:51820',
          allowedIps: ['10.100.0.2/32', '10.100.8.0/24'],
          region: 'us',
          relayId: 'bridge-us',
          persistentKeepaliveS: 25,
          probeAddress: '10.100.0.2',
        },
        { publicKey: PUB_C, endpoint: undefined, allowedIps: ['10.100.0.0/24'], region: 'ap', relayId: undefined, persistentKeepaliveS: 0, probeAddress: null },
      ],
    } satisfies WireGuardConfig);
  });

  it('reads durations, keepalive in seconds, probe settings and mode', async () => {
    const c = await fromFile(`octobridge.relay.wireguard {
      mode = userspace, private-key-file = "${KEY_FILE}", address = "fd00::1/64", check-interval = 2 seconds, handshake-timeout = 1 minute, probe-failures = 0
      peers = [{ public-key = "${PUB_B}", endpoint = "[fd01::2]:51820", allowed-ips = ["fd00::2/128"], persistent-keepalive = 10 seconds, probe-address = "fd00::22" }]
    }`);
    expect(c.relay.wireguard).toMatchObject({
      mode: 'userspace',
      listenPort: 51820,
      interface: 'wg-octobridge',
      checkIntervalMs: 2000,
      handshakeTimeoutMs: 60_000,
      probeFailures: 0,
    });
    expect(c.relay.wireguard?.peers[0]).toMatchObject({ endpoint: '[fd01::2]:51820', persistentKeepaliveS: 10, probeAddress: 'fd00::22' });
  });

  it('external mode needs no key file, address or port', async () => {
    const c = await fromFile(`octobridge.relay.wireguard { mode = external, interface = wg0 }`);
    expect(c.relay.wireguard).toMatchObject({
      mode: 'external',
      interface: 'wg0',
      privateKeyFile: undefined,
      listenPort: undefined,
      address: undefined,
      peers: [],
    });
  });

  it('reads OCTOBRIDGE_WG_* (peers as JSON with the file keys), over the file', async () => {
    const env = {
      OCTOBRIDGE_WG_INTERFACE: 'wg-env',
      OCTOBRIDGE_WG_MODE: 'kernel',
      OCTOBRIDGE_WG_PRIVATE_KEY_FILE: KEY_FILE,
      OCTOBRIDGE_WG_LISTEN_PORT: '51999',
      OCTOBRIDGE_WG_ADDRESS: '10.100.5.1/24',
      OCTOBRIDGE_WG_CHECK_INTERVAL_MS: '1000',
      OCTOBRIDGE_WG_HANDSHAKE_TIMEOUT_MS: '30000',
      OCTOBRIDGE_WG_PROBE_FAILURES: '5',
      OCTOBRIDGE_WG_PEERS: JSON.stringify([{ 'public-key': PUB_C, endpoint: 'bridge-c.example.com:51820', 'allowed-ips': ['10.100.5.3/32'], region: 'ap' }]),
    };
    const fromEnv = buildConfig(env).relay.wireguard;
    expect(fromEnv).toMatchObject({
      interface: 'wg-env',
      mode: 'kernel',
      privateKeyFile: KEY_FILE,
      listenPort: 51999,
      address: '10.100.5.1/24',
      checkIntervalMs: 1000,
      handshakeTimeoutMs: 30_000,
      probeFailures: 5,
    });
    expect(fromEnv?.peers).toEqual([
      {
        publicKey: PUB_C,
        endpoint: 'bridge-c.example.com:51820',
        allowedIps: ['10.100.5.3/32'],
        region: 'ap',
        relayId: undefined,
        persistentKeepaliveS: 25,
        probeAddress: '10.100.5.3',
      },
    ]);
    const layered = await fromFile(WG_BLOCK, { OCTOBRIDGE_WG_LISTEN_PORT: '52000' });
    expect(layered.relay.wireguard).toMatchObject({ interface: 'wg-eu', listenPort: 52000 });
    expect(layered.relay.wireguard?.peers).toHaveLength(2);
    expect((await fromFile(WG_BLOCK, { OCTOBRIDGE_WG_ENABLED: '0' })).relay.wireguard).toBeUndefined();
    expect((await fromFile(`${WG_BLOCK}\noctobridge.relay.wireguard.enabled = false`)).relay.wireguard).toBeUndefined();
  });

  const WG = 'octobridge.relay.wireguard';
  const peer = (extra: string): string => `${WG} { private-key-file = k, address = "10.100.0.1/24", peers = [{ ${extra} }] }`;
  const fileCases: [string, string][] = [
    [`${WG} { address = "10.100.0.1/24" }`, `${WG}.private-key-file`],
    [`${WG} { private-key-file = k }`, `${WG}.address`],
    [`${WG} { private-key-file = k, address = "10.100.0.1" }`, `${WG}.address`],
    [`${WG} { private-key-file = k, address = "10.100.0.300/24" }`, `${WG}.address`],
    [`${WG} { private-key-file = k, address = "10.100.0.1/33" }`, `${WG}.address`],
    [`${WG} { mode = magic }`, `${WG}.mode`],
    [`${WG} { interface = "this-name-is-too-long" }`, `${WG}.interface`],
    [`${WG} { interface = "a/b" }`, `${WG}.interface`],
    [`${WG} { listen-port = 0 }`, `${WG}.listen-port`],
    [`${WG} { check-interval = 10ms }`, `${WG}.check-interval`],
    [`${WG} { handshake-timeout = soon }`, `${WG}.handshake-timeout`],
    [`${WG} { probe-failures = -1 }`, `${WG}.probe-failures`],
    [`${WG} { peers = { a = 1 } }`, `${WG}.peers`],
    [`${WG} { colour = blue }`, `${WG}.colour`],
    [`${WG} = 5`, 'octobridge.relay.wireguard'],
    [peer('endpoint = "1.2.3.4:51820", allowed-ips = ["10.100.0.2/32"]'), `${WG}.peers[0].public-key`],
    [peer('public-key = "not-a-key", allowed-ips = ["10.100.0.2/32"]'), `${WG}.peers[0].public-key`],
    [peer(`public-key = "${PUB_B}"`), `${WG}.peers[0].allowed-ips`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2"]`), `${WG}.peers[0].allowed-ips[0]`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"], endpoint = "1.2.3.4"`), `${WG}.peers[0].endpoint`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"], endpoint = "1.2.3.4:99999"`), `${WG}.peers[0].endpoint`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"], persistent-keepalive = 1500ms`), `${WG}.peers[0].persistent-keepalive`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"], persistent-keepalive = 70000`), `${WG}.peers[0].persistent-keepalive`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"], probe-address = "x.y"`), `${WG}.peers[0].probe-address`],
    [peer(`public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"], privat-key = "x"`), `${WG}.peers[0].privat-key`],
    [
      `${WG} { private-key-file = k, address = "10.100.0.1/24", peers = [{ public-key = "${PUB_B}", allowed-ips = ["10.100.0.2/32"] }, { public-key = "${PUB_B}", allowed-ips = ["10.100.0.3/32"] }] }`,
      `${WG}.peers[1].public-key`,
    ],
  ];
  it.each(fileCases)('%s → %s', async (text, key) => {
    expect(await keyOf(fromFile(text))).toBe(key);
  });

  const envCases: [NodeJS.ProcessEnv, string][] = [
    [{ OCTOBRIDGE_WG_MODE: 'kernel' }, 'OCTOBRIDGE_WG_PRIVATE_KEY_FILE'],
    [{ OCTOBRIDGE_WG_PRIVATE_KEY_FILE: KEY_FILE, OCTOBRIDGE_WG_ADDRESS: 'nope' }, 'OCTOBRIDGE_WG_ADDRESS'],
    [{ OCTOBRIDGE_WG_LISTEN_PORT: '70000' }, 'OCTOBRIDGE_WG_LISTEN_PORT'],
    [{ OCTOBRIDGE_WG_CHECK_INTERVAL_MS: '5 seconds' }, 'OCTOBRIDGE_WG_CHECK_INTERVAL_MS'],
    [{ OCTOBRIDGE_WG_PEERS: '[{' }, 'OCTOBRIDGE_WG_PEERS'],
    [{ OCTOBRIDGE_WG_PEERS: JSON.stringify([{ 'public-key': 'short' }]) }, 'OCTOBRIDGE_WG_PEERS[0].public-key'],
    [
      { OCTOBRIDGE_WG_PRIVATE_KEY_FILE: KEY_FILE, OCTOBRIDGE_WG_ADDRESS: '10.1.0.1/24', OCTOBRIDGE_WG_PEERS: JSON.stringify([{ 'public-key': PUB_B }]) },
      'OCTOBRIDGE_WG_PEERS[0].allowed-ips',
    ],
  ];
  it.each(envCases)('%j → %s', async (env, key) => {
    expect(await keyOf(() => buildConfig(env))).toBe(key);
  });

  it('derives the probe address from the first allowed-ip when it names one host', () => {
    expect(defaultProbeAddress(['10.100.0.2/32', '10.1.0.0/16'])).toBe('10.100.0.2');
    expect(defaultProbeAddress(['10.100.0.2/24'])).toBe('10.100.0.2'); // host bits set: the peer's address
    expect(defaultProbeAddress(['10.100.0.0/24'])).toBeNull();
    expect(defaultProbeAddress(['fd00::2/128'])).toBe('fd00::2');
    expect(defaultProbeAddress(['fd00::/64'])).toBeNull();
    expect(defaultProbeAddress([])).toBeNull();
  });

  it('keeps only the key file path: the config dump carries no key', async () => {
    const c = await fromFile(WG_BLOCK);
    const out = JSON.stringify(redactConfig(c));
    expect(out).toContain(KEY_FILE);
    expect(out).not.toContain(PRIV);
  });
});

describe('routes for allowed-ips outside the tunnel subnet', () => {
  it('adds routes only where the address subnet does not cover, never /0', () => {
    const peers = [
      {
        publicKey: PUB_B,
        endpoint: undefined,
        allowedIps: ['10.100.0.2/32', '10.100.8.0/24', '0.0.0.0/0', 'fd00::2/128'],
        region: undefined,
        relayId: undefined,
        persistentKeepaliveS: 25,
        probeAddress: null,
      },
    ];
    expect(routesOutside('10.100.0.1/24', peers)).toEqual(['10.100.8.0/24', 'fd00::2/128']);
    expect(routesOutside('10.100.0.1/16', peers)).toEqual(['fd00::2/128']);
  });
});

/** `wg show <if> dump` as wg prints it: tabs, the private key on line 1, a PSK on a peer line. */
function dumpText(
  peers: { pub: string; psk?: string; endpoint?: string; allowed?: string; handshakeS?: number; rx?: number; tx?: number; ka?: number }[],
  opts: { priv?: string; pub?: string; port?: number } = {},
): string {
  const head = [opts.priv ?? PRIV, opts.pub ?? PUB_SELF, String(opts.port ?? 51820), 'off'].join('\t');
  const lines = peers.map((p) =>
    [
      p.pub,
      p.psk ?? '(none)',
      p.endpoint ?? '(none)',
      p.allowed ?? '(none)',
      String(p.handshakeS ?? 0),
      String(p.rx ?? 0),
      String(p.tx ?? 0),
      p.ka ? String(p.ka) : 'off',
    ].join('\t'),
  );
  return `${[head, ...lines].join('\n')}\n`;
}

describe('wg show dump', () => {
  it('parses the interface and peer lines and drops the private and preshared keys', () => {
    const text = dumpText([
      { pub: PUB_B, psk: PSK, endpoint: '198.51.100.7:51820', allowed: '10.100.0.2/32,10.100.8.0/24', handshakeS: 1_795_561_243, rx: 1234, tx: 5678, ka: 25 },
      { pub: PUB_C },
    ]);
    const d = parseWgDump(text);
    expect(d).toEqual({
      interface: { publicKey: PUB_SELF, listenPort: 51820, fwmark: 'off' },
      peers: [
        {
          publicKey: PUB_B,
          hasPresharedKey: true,
          endpoint: '198.51.100.7:51820',
          allowedIps: ['10.100.0.2/32', '10.100.8.0/24'],
          latestHandshakeMs: 1_795_561_243_000,
          rxBytes: 1234,
          txBytes: 5678,
          persistentKeepaliveS: 25,
        },
        {
          publicKey: PUB_C,
          hasPresharedKey: false,
          endpoint: null,
          allowedIps: [],
          latestHandshakeMs: null,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepaliveS: null,
        },
      ],
    });
    expect(JSON.stringify(d)).not.toContain(PRIV);
    expect(JSON.stringify(d)).not.toContain(PSK);
  });

  it('parses an interface with no key and no peers', () => {
    expect(parseWgDump('(none)\t(none)\t0\toff\n')).toEqual({ interface: { publicKey: null, listenPort: 0, fwmark: 'off' }, peers: [] });
  });

  it('rejects malformed output naming line and field, never quoting it', () => {
    const bad = [
      '',
      `${PRIV}\t${PUB_SELF}\t51820\n`,
      `${PRIV}\t${PUB_SELF}\tport\toff\n`,
      dumpText([{ pub: PUB_B }]).replace(/\toff\n$/, '\n'),
      dumpText([{ pub: PUB_B, psk: PSK, handshakeS: 5 }]).replace('\t5\t', '\tsoon\t'),
      dumpText([{ pub: PSK.slice(1), psk: PSK }]),
      `${PUB_SELF}\t${dumpText([{ pub: PUB_B }])}`, // `wg show all dump` has an extra column
    ];
    for (const text of bad) {
      const err = (() => {
        try {
          parseWgDump(text);
        } catch (e) {
          return e as Error;
        }
        throw new Error('parsed');
      })();
      expect(err.message).toMatch(/^wg show dump: (empty output|line \d+: )/);
      expect(err.message).not.toContain(PRIV);
      expect(err.message).not.toContain(PSK);
    }
  });
});

describe('secrets in command output', () => {
  it("scrubs wg's quoted key text and any key that is not a known public key", () => {
    const known = new Set([PUB_B]);
    expect(scrubSecrets(`Key is not the correct length or format: \`${PRIV.slice(0, 40)}Q'`, known)).toBe(
      "Key is not the correct length or format: `[redacted]'",
    );
    expect(scrubSecrets(`Key is not the correct length or format: \`${PUB_B}'`, known)).toContain(PUB_B);
    expect(scrubSecrets(`peer ${PUB_B} private ${PRIV}.`, known)).toBe(`peer ${PUB_B} private [redacted].`);
    expect(scrubSecrets('fopen: No such file or directory')).toBe('fopen: No such file or directory');
  });

  it('reads the RTT of ping', () => {
    expect(parsePingRtt('64 bytes from 10.100.0.2: icmp_seq=1 ttl=64 time=0.215 ms\n')).toBe(0.215);
    expect(parsePingRtt('1 packets transmitted, 0 received, 100% packet loss')).toBeNull();
  });
});

describe('peer up/down', () => {
  const now = 1_800_000_000_000;
  const base: PeerEvidence = {
    nowMs: now,
    startedAtMs: now - 60_000,
    interfaceOk: true,
    onInterface: true,
    latestHandshakeMs: now - 10_000,
    handshakeTimeoutMs: 180_000,
    probing: true,
    probeEverOk: true,
    consecutiveProbeFailures: 0,
    probeFailureLimit: 3,
  };
  const cases: [string, Partial<PeerEvidence>, string][] = [
    ['a recent handshake', {}, 'up'],
    ['a recent handshake, no probe', { probing: false, probeEverOk: false }, 'up'],
    ['two lost probes', { consecutiveProbeFailures: 2 }, 'up'],
    ['three lost probes', { consecutiveProbeFailures: 3 }, 'down'],
    ['lost probes with the limit 0', { consecutiveProbeFailures: 10, probeFailureLimit: 0 }, 'up'],
    ['an old handshake, no probe', { probing: false, probeEverOk: false, latestHandshakeMs: now - 181_000 }, 'down'],
    ['an old handshake, probes answered (timeout below the 2 min re-key)', { handshakeTimeoutMs: 6000, latestHandshakeMs: now - 60_000 }, 'up'],
    [
      'an old handshake, one probe lost, limit 0',
      { handshakeTimeoutMs: 6000, latestHandshakeMs: now - 60_000, probeFailureLimit: 0, consecutiveProbeFailures: 1 },
      'down',
    ],
    [
      'an old handshake, never answered',
      { handshakeTimeoutMs: 6000, latestHandshakeMs: now - 60_000, probeEverOk: false, consecutiveProbeFailures: 1 },
      'down',
    ],
    ['no handshake yet, just started', { latestHandshakeMs: null, startedAtMs: now - 1000, probeEverOk: false }, 'connecting'],
    ['no handshake after the timeout', { latestHandshakeMs: null, startedAtMs: now - 200_000, probeEverOk: false }, 'down'],
    ['not on the interface', { onInterface: false }, 'down'],
    ['the local interface gone', { interfaceOk: false }, 'down'],
  ];
  it.each(cases)('%s → %s', (_name, over, state) => {
    const r = evaluatePeer({ ...base, ...over });
    expect(r.state).toBe(state);
    expect(r.reason === undefined).toBe(state === 'up');
  });
});

// ------------------------------------------------------------------------------- the manager, with a fake runner

interface Fake {
  run: CommandRunner;
  calls: string[][];
  /** Answers by the command line (netns prefix stripped), first match wins. */
  answers: [RegExp, (argv: string[]) => Partial<CommandResult>][];
}

function fakeRunner(): Fake {
  const fake: Fake = {
    calls: [],
    answers: [],
    run: async (argv) => {
      fake.calls.push([...argv]);
      const cmd = argv[0]?.endsWith('/ip') && argv[1] === 'netns' && argv[2] === 'exec' ? argv.slice(4) : [...argv];
      // The program's directory stripped; arguments as they are (a base64 key may contain or start with '/').
      const line = cmd.map((a, i) => (i === 0 ? a.replace(/^.*\//, '') : a)).join(' ');
      for (const [re, answer] of fake.answers) if (re.test(line)) return { code: 0, stdout: '', stderr: '', ...answer(cmd) };
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  return fake;
}

/**
 * Command lines without the netns prefix and the program's directory, for readable assertions. Arguments stay as
 * they are: a base64 public key may start with '/'.
 */
const lines = (f: Fake): string[] =>
  f.calls.map((argv) => (argv[1] === 'netns' ? argv.slice(4) : argv).map((a, i) => (i === 0 ? a.replace(/^.*\//, '') : a)).join(' '));

function wgConfig(over: Partial<WireGuardConfig> = {}): WireGuardConfig {
  return {
    interface: 'wgunit0',
    mode: 'kernel',
    privateKeyFile: KEY_FILE,
    listenPort: 51820,
    address: '10.100.0.1/24',
    checkIntervalMs: 60_000,
    handshakeTimeoutMs: 180_000,
    probeFailures: 1,
    peers: [
      {
        publicKey: PUB_B,
        endpoint: '198.51.100.7:51820',
        allowedIps: ['10.100.0.2/32', '10.100.8.0/24'],
        region: 'us',
        relayId: 'bridge-us',
        persistentKeepaliveS: 25,
        probeAddress: '10.100.0.2',
      },
      { publicKey: PUB_C, endpoint: undefined, allowedIps: ['10.100.0.3/32'], region: 'ap', relayId: undefined, persistentKeepaliveS: 0, probeAddress: null },
    ],
    ...over,
  };
}

describe('WireGuardManager (fake commands)', () => {
  it('kernel mode: creates the link, applies key file and peers, address, up, routes — all under the netns', async () => {
    const f = fakeRunner();
    f.answers.push([/^ip link show/, () => ({ code: 1, stderr: 'Device "wgunit0" does not exist.' })]);
    const cap = capture();
    const m = new WireGuardManager(wgConfig(), cap.log, { netns: 'nsunit', run: f.run });
    await m.start();
    expect(m.mode).toBe('kernel');
    expect(m.address).toBe('10.100.0.1');
    await m.stop();
    expect(lines(f).slice(0, 6)).toEqual([
      'ip link show dev wgunit0',
      'ip link add wgunit0 type wireguard',
      `wg set wgunit0 private-key ${KEY_FILE} listen-port 51820 peer ${PUB_B} endpoint 198.51.100.7:51820 allowed-ips 10.100.0.2/32,10.100.8.0/24 persistent-keepalive 25 peer ${PUB_C} allowed-ips 10.100.0.3/32 persistent-keepalive off`,
      'ip addr add 10.100.0.1/24 dev wgunit0',
      'ip link set wgunit0 up',
      'ip route add 10.100.8.0/24 dev wgunit0',
    ]);
    expect(lines(f)).toContain('ip link del dev wgunit0');
    for (const argv of f.calls) expect(argv.slice(0, 4).map((a) => a.replace(/^.*\//, ''))).toEqual(['ip', 'netns', 'exec', 'nsunit']);
    expect(f.calls.flat().join(' ')).not.toContain(PRIV);
  });

  it('refuses an existing interface, and kernel mode without kernel WireGuard', async () => {
    const f = fakeRunner();
    const log = capture().log;
    await expect(new WireGuardManager(wgConfig(), log, { run: f.run }).start()).rejects.toThrow(
      /wgunit0 exists already: refusing to take it over .*mode external/,
    );
    expect(lines(f)).toEqual(['ip link show dev wgunit0']);
    const g = fakeRunner();
    g.answers.push([/^ip link show/, () => ({ code: 1 })], [/^ip link add/, () => ({ code: 2, stderr: 'Error: Unknown device type.' })]);
    await expect(new WireGuardManager(wgConfig(), log, { run: g.run }).start()).rejects.toThrow(
      /kernel WireGuard unavailable.*Unknown device type.*use mode userspace or auto/,
    );
  });

  it('refuses an unreadable key file before running anything', async () => {
    const f = fakeRunner();
    const err = await new WireGuardManager(wgConfig({ privateKeyFile: path.join(dir, 'missing.key') }), capture().log, { run: f.run })
      .start()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WireGuardError);
    expect((err as Error).message).toMatch(/private-key-file .*missing\.key: cannot read: ENOENT/);
    expect(f.calls).toEqual([]);
  });

  it('never puts the private key in an error or a log line when wg rejects the key file (and undoes the link)', async () => {
    const f = fakeRunner();
    f.answers.push(
      [/^ip link show/, () => ({ code: 1 })],
      [/^wg set/, () => ({ code: 1, stderr: `Key is not the correct length or format: \`${PRIV.slice(0, 43)}'\n` })],
    );
    const cap = capture();
    const err = (await new WireGuardManager(wgConfig(), cap.log, { run: f.run }).start().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(WireGuardError);
    expect(err.message).toContain("Key is not the correct length or format: `[redacted]'");
    expect(err.message).not.toContain(PRIV.slice(0, 43));
    expect(cap.text()).not.toContain(PRIV.slice(0, 20));
    expect(lines(f).at(-1)).toBe('ip link del dev wgunit0');
  });

  it('checks: parses the dump, probes, reports up/down with events, logs, metrics and health — without the private key', async () => {
    const f = fakeRunner();
    const nowS = Math.floor(Date.now() / 1000);
    let handshakeB = nowS - 5;
    let pingOk = true;
    f.answers.push(
      [/^ip link show/, () => ({ code: 1 })],
      [
        /^wg show wgunit0 dump/,
        () => ({
          stdout: dumpText([
            {
              pub: PUB_B,
              psk: PSK,
              endpoint: '198.51.100.7:51820',
              allowed: '10.100.0.2/32,10.100.8.0/24',
              handshakeS: handshakeB,
              rx: 1000,
              tx: 2000,
              ka: 25,
            },
            { pub: PUB_C, allowed: '10.100.0.3/32' },
          ]),
        }),
      ],
      [
        /^ping /,
        () => (pingOk ? { stdout: '64 bytes from 10.100.0.2: icmp_seq=1 ttl=64 time=0.412 ms\n' } : { code: 1, stdout: '1 packets transmitted, 0 received' }),
      ],
    );
    const cap = capture();
    const metrics = new Metrics({ processMetrics: false });
    const m = new WireGuardManager(wgConfig(), cap.log, { run: f.run, metrics });
    const ups: string[] = [];
    const downs: string[] = [];
    m.on('peerUp', (p) => ups.push(p.peer));
    m.on('peerDown', (p) => downs.push(p.peer));
    await m.start();
    let peers = await m.check();
    expect(peers.map((p) => [p.peer, p.state])).toEqual([
      [shortKey(PUB_B), 'up'],
      [shortKey(PUB_C), 'connecting'],
    ]);
    expect(peers[0]).toMatchObject({
      region: 'us',
      relayId: 'bridge-us',
      rttMs: 0.412,
      rxBytes: 1000,
      txBytes: 2000,
      endpoint: '198.51.100.7:51820',
      latestHandshakeMs: handshakeB * 1000,
    });
    expect(peers[0]?.handshakeAgeS).toBeGreaterThanOrEqual(4);
    expect(ups).toEqual([shortKey(PUB_B)]);
    expect(m.healthProblem()).toBeUndefined();
    let text = (await metrics.render()).body;
    expect(text).toContain(`octobridge_wireguard_peer_up{peer="${shortKey(PUB_B)}",region="us"} 1`);
    expect(text).toContain(`octobridge_wireguard_peer_up{peer="${shortKey(PUB_C)}",region="ap"} 0`);
    expect(text).toContain(`octobridge_relay_rtt_seconds{peer="${shortKey(PUB_B)}",region="us"} 0.000412`);
    expect(text).toMatch(new RegExp(`octobridge_wireguard_handshake_age_seconds\\{peer="${shortKey(PUB_B).replace(/[+/]/g, '\\$&')}",region="us"\\} \\d`));

    // B stops answering, its handshake is old: down, named in health.
    handshakeB = nowS - 200;
    pingOk = false;
    peers = await m.check();
    expect(peers[0]).toMatchObject({ state: 'down', up: false, rttMs: null, reason: '1 probes through the tunnel unanswered' });
    expect(downs).toEqual([shortKey(PUB_B)]);
    const problem = m.healthProblem();
    expect(problem).toMatch(
      new RegExp(
        `^WireGuard peer ${shortKey(PUB_B).replace(/[+/]/g, '\\$&')}… \\(region us, relay bridge-us\\) is down: 1 probes through the tunnel unanswered; last handshake 2\\d\\d s ago$`,
      ),
    );
    const detail = m.healthDetail();
    expect(detail).toMatchObject({ interface: 'wgunit0', mode: 'kernel', address: '10.100.0.1', healthy: false, problem });
    const warn = cap.lines().find((l) => l.msg === 'WireGuard peer down');
    expect(warn).toMatchObject({ level: 40, publicKey: PUB_B, region: 'us', peer: shortKey(PUB_B) });
    text = (await metrics.render()).body;
    expect(text).toContain(`octobridge_wireguard_peer_up{peer="${shortKey(PUB_B)}",region="us"} 0`);
    expect(text).not.toContain(`octobridge_relay_rtt_seconds{peer="${shortKey(PUB_B)}"`);

    // The interface disappears: one line about it.
    f.answers.unshift([/^wg show wgunit0 dump/, () => ({ code: 1, stderr: 'Unable to access interface: No such device' })]);
    await m.check();
    expect(m.healthProblem()).toBe('WireGuard interface wgunit0: wg show failed: Unable to access interface: No such device');

    await m.stop();
    expect(m.healthProblem()).toBeUndefined();
    text = (await metrics.render()).body;
    expect(text).not.toMatch(/octobridge_wireguard_peer_up\{/);
    for (const out of [cap.text(), JSON.stringify(detail), text, problem ?? '']) {
      expect(out).not.toContain(PRIV);
      expect(out).not.toContain(PSK);
    }
  });

  it('external mode only reads: no command changes anything, stop leaves the interface', async () => {
    const f = fakeRunner();
    f.answers.push(
      [/^wg show wg0 dump/, () => ({ stdout: dumpText([{ pub: PUB_B, allowed: '10.100.0.2/32', handshakeS: Math.floor(Date.now() / 1000) }]) })],
      [/^ip -o addr show dev wg0/, () => ({ stdout: '5: wg0    inet 10.100.0.1/24 scope global wg0\\       valid_lft forever preferred_lft forever\n' })],
      [/^ping /, () => ({ stdout: 'time=0.3 ms' })],
    );
    const cap = capture();
    const m = new WireGuardManager(
      wgConfig({ interface: 'wg0', mode: 'external', privateKeyFile: undefined, address: undefined, listenPort: undefined, peers: [] }),
      cap.log,
      { run: f.run },
    );
    await m.start();
    expect(m.address).toBe('10.100.0.1');
    const peers = await m.check();
    // No peers configured: the interface's are watched, probed at their first allowed-ip.
    expect(peers).toMatchObject([{ publicKey: PUB_B, state: 'up', region: undefined, probeAddress: '10.100.0.2', rttMs: 0.3 }]);
    await m.stop();
    for (const l of lines(f)) expect(l).toMatch(/^(wg show wg0 dump|ip -o addr show dev wg0|ping -n -c 1 -W 1 10\.100\.0\.2)$/);
    expect(cap.text()).not.toContain(PRIV);
  });

  it('external mode refuses a missing interface with a clear error', async () => {
    const f = fakeRunner();
    f.answers.push([/^wg show/, () => ({ code: 1, stderr: 'Unable to access interface: No such device' })]);
    await expect(new WireGuardManager(wgConfig({ mode: 'external' }), capture().log, { run: f.run }).start()).rejects.toThrow(
      /wgunit0 \(mode external\): not an existing WireGuard interface here: Unable to access interface: No such device\. Mode external only checks/,
    );
  });
});
