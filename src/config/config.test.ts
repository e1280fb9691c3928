import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, DEFAULT_CONFIG_FILE, loadConfig, redactConfig, type Config } from './config.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'octobridge-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Write a HOCON file and load it with `env` on top. */
async function fromFile(text: string, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  const file = path.join(dir, `jvb-${++n}.conf`);
  fs.writeFileSync(file, text);
  return loadConfig(env, { file });
}

async function keyOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain((err as ConfigError).key);
    return (err as ConfigError).key;
  }
  throw new Error('no ConfigError');
}

/**
 * docker-jitsi-meet's jvb/rootfs/defaults/jvb.conf (2e6b31d8) rendered by hand with
 * XMPP_SERVER=xmpp.meet.jitsi,xmpp2.meet.jitsi:5223 JVB_AUTH_PASSWORD=s3cr3t-pw
 * JVB_MUC_NICKNAME=jvb-1 JVB_ADVERTISE_IPS=1.2.3.4,5.6.7.8#12000 LOCAL_ADDRESS=172.18.0.4
 * ENABLE_OCTO=1 JVB_OCTO_BIND_ADDRESS=10.0.0.5 SHUTDOWN_REST_ENABLED=1 JVB_PORT=10001
 * (gomplate's blank lines and indentation kept).
 */
const DOCKER_RENDERED = `

videobridge {
    cc {
        use-vla-target-bitrate = false
        trust-bwe = true
    }
    ice {
        udp {
            port = 10001
        }
        advertise-private-candidates = true
    }
    apis {
xmpp-client {
            configs {


                shard0 {
                    HOSTNAME = "xmpp.meet.jitsi"
                    PORT = "5222"
                    DOMAIN = "auth.meet.jitsi"
                    USERNAME = "jvb"
                    PASSWORD = "s3cr3t-pw"
                    MUC_JIDS = "jvbbrewery@internal-muc.meet.jitsi"
                    MUC_NICKNAME = "jvb-1"
                    DISABLE_CERTIFICATE_VERIFICATION = true
                }

                shard1 {
                    HOSTNAME = "xmpp2.meet.jitsi"
                    PORT = "5223"
                    DOMAIN = "auth.meet.jitsi"
                    USERNAME = "jvb"
                    PASSWORD = "s3cr3t-pw"
                    MUC_JIDS = "jvbbrewery@internal-muc.meet.jitsi"
                    MUC_NICKNAME = "jvb-1"
                    DISABLE_CERTIFICATE_VERIFICATION = true
                }
}
        }
rest {
            enabled = false
        }
    }
    rest {
        shutdown {
            enabled = true
        }
    }
    sctp {
      enabled = true
      use-usrsctp = false
    }
    stats {
        enabled = true
    }
    http-servers {
        private {
          host = 0.0.0.0
          send-server-version = false
        }
    }
    health {
        require-valid-address = false
    }

    relay {
        enabled = true
        region = "europe"
        relay-id = "10.0.0.5"
    }
    }

jmt {
    bwe {
        estimator {
            engine = "GoogleCc2"
        }
    }
}

ice4j {
    harvest {
        mapping {
            aws {
                enabled = false
            }
            stun {
addresses = [ "meet-jit-si-turnrelay.jitsi.net:443" ]
}
            static-mappings = [
{
                    local-address = "172.18.0.4"
                    public-address = "1.2.3.4"
                    name = "ip-0"
                },
{
                    local-address = "172.18.0.4"
                    public-address = "5.6.7.8"
                    local-port = 10001
                    public-port = 12000
                    name = "ip-1"
                },
]
        }
    }
}

include "custom-jvb.conf"
`;

describe('defaults', () => {
  it("are JVB's reference.conf values, or octobridge's where config.ts says why", () => {
    const c = buildConfig({});
    expect(c.media).toMatchObject({
      udpPort: 10000,
      udpPortMode: 'single',
      listenIp: '0.0.0.0',
      advertiseIps: [],
      iceTcp: { enabled: false, port: 4443 },
      endpointExpireMs: 60_000,
    });
    expect(c.ice).toEqual({ advertisePrivateCandidates: true, stunServers: [], staticMappings: [] });
    expect(c.http).toEqual({ publicHost: '0.0.0.0', publicPort: 9090, privateHost: '127.0.0.1', privatePort: 8080 });
    expect(c.rest).toEqual({ colibri: false, health: true, version: true, drain: true, shutdown: false, prometheus: true, debug: false });
    expect(c.focus.allowedOrigins).toEqual([]);
    expect(c.limits).toEqual({
      joinsPerAddressPerMinute: 60,
      maxConferences: 2000,
      maxEndpoints: 4000,
      sourceUpdatesPerSecond: 5,
      channelMessagesPerSecond: 50,
    });
    expect(c.websockets).toEqual({ enabled: true, serverId: 'default-id', domains: [], tls: false });
    expect(c.statsIntervalMs).toBe(5000);
    expect(c.xmpp).toEqual({ connections: [], presenceIntervalMs: 5000 });
    expect(c.shutdown).toEqual({ maxDurationMs: 24 * 3600_000, minParticipants: 0, shuttingDownDelayMs: 60_000 });
    expect(c.metrics).toEqual({ eventLoopResolutionMs: 100 });
    expect(c.initialDrain).toBe(false);
    expect(c.announceVersion).toBe(false);
    expect(c.relay).toEqual({ enabled: false, region: undefined, relayId: undefined });
    expect(c.region).toBeUndefined();
    expect(c.relayId).toBeUndefined();
    expect(c.sctp.enabled).toBe(true);
    expect(c.focus).toEqual({ enabled: true, videoCodecs: ['AV1', 'VP8', 'H264', 'VP9'], cascade: [], allowedOrigins: [] });
    expect(c.log.level).toBe('info');
    expect(c.source).toEqual({ file: undefined, notes: [] });
  });

  it('reads no file with file: null, and names the default path', async () => {
    expect((await loadConfig({}, { file: null })).source.file).toBeUndefined();
    expect(DEFAULT_CONFIG_FILE).toBe('/etc/jitsi/videobridge/jvb.conf');
  });
});

describe('environment variables', () => {
  const XMPP = { XMPP_SERVER: 'xmpp.example.com', XMPP_DOMAIN: 'example.com', JVB_AUTH_PASSWORD: 'pw' };
  const cases: [string, NodeJS.ProcessEnv, (c: Config) => void][] = [
    ['JVB_PORT', { JVB_PORT: '10001' }, (c) => expect(c.media.udpPort).toBe(10001)],
    ['OCTOBRIDGE_UDP_PORT_MODE', { OCTOBRIDGE_UDP_PORT_MODE: 'per-worker' }, (c) => expect(c.media.udpPortMode).toBe('per-worker')],
    [
      'JVB_ADVERTISE_IPS',
      { JVB_ADVERTISE_IPS: '1.2.3.4, 5.6.7.8#12000,fe80::1#12001', JVB_PORT: '10001', LOCAL_ADDRESS: '172.18.0.4' },
      (c) => {
        expect(c.media.advertiseIps).toEqual(['1.2.3.4', '5.6.7.8', 'fe80::1']);
        expect(c.ice.staticMappings).toEqual([
          { localAddress: '172.18.0.4', publicAddress: '1.2.3.4', localPort: undefined, publicPort: undefined, name: 'ip-0' },
          { localAddress: '172.18.0.4', publicAddress: '5.6.7.8', localPort: 10001, publicPort: 12000, name: 'ip-1' },
          { localAddress: '172.18.0.4', publicAddress: 'fe80::1', localPort: 10001, publicPort: 12001, name: 'ip-2' },
        ]);
      },
    ],
    ['DOCKER_HOST_ADDRESS', { DOCKER_HOST_ADDRESS: '1.2.3.4' }, (c) => expect(c.media.advertiseIps).toEqual(['1.2.3.4'])],
    [
      'DOCKER_HOST_ADDRESS under JVB_ADVERTISE_IPS',
      { DOCKER_HOST_ADDRESS: '1.2.3.4', JVB_ADVERTISE_IPS: '9.9.9.9' },
      (c) => expect(c.media.advertiseIps).toEqual(['9.9.9.9']),
    ],
    ['JVB_ADVERTISE_PRIVATE_CANDIDATES', { JVB_ADVERTISE_PRIVATE_CANDIDATES: 'false' }, (c) => expect(c.ice.advertisePrivateCandidates).toBe(false)],
    [
      'JVB_STUN_SERVERS',
      { JVB_STUN_SERVERS: 'stun1.example.com:443,stun2.example.com:3478' },
      (c) => expect(c.ice.stunServers).toEqual(['stun1.example.com:443', 'stun2.example.com:3478']),
    ],
    ['JVB_DISABLE_STUN', { JVB_STUN_SERVERS: 'stun1.example.com:443', JVB_DISABLE_STUN: '1' }, (c) => expect(c.ice.stunServers).toEqual([])],
    [
      'JVB_TCP_HARVESTER_DISABLED / JVB_TCP_PORT',
      { JVB_TCP_HARVESTER_DISABLED: 'false', JVB_TCP_PORT: '4444' },
      (c) => expect(c.media.iceTcp).toEqual({ enabled: true, port: 4444 }),
    ],
    ['COLIBRI_REST_ENABLED', { COLIBRI_REST_ENABLED: 'true' }, (c) => expect(c.rest.colibri).toBe(true)],
    ['SHUTDOWN_REST_ENABLED', { SHUTDOWN_REST_ENABLED: '1' }, (c) => expect(c.rest.shutdown).toBe(true)],
    [
      'JVB_WS_SERVER_ID / JVB_WS_DOMAIN / JVB_WS_TLS',
      { JVB_WS_SERVER_ID: 'jvb1', JVB_WS_DOMAIN: 'meet.example.com:443', JVB_WS_TLS: '1' },
      (c) => expect(c.websockets).toEqual({ enabled: true, serverId: 'jvb1', domains: ['meet.example.com:443'], tls: true }),
    ],
    ['ENABLE_COLIBRI_WEBSOCKET', { ENABLE_COLIBRI_WEBSOCKET: '0' }, (c) => expect(c.websockets.enabled).toBe(false)],
    ['ENABLE_SCTP', { ENABLE_SCTP: '0' }, (c) => expect(c.sctp.enabled).toBe(false)],
    [
      'JVB_OCTO_REGION without ENABLE_OCTO',
      { JVB_OCTO_REGION: 'us-east', JVB_OCTO_RELAY_ID: 'r1' },
      (c) => {
        expect(c.relay).toEqual({ enabled: false, region: 'us-east', relayId: 'r1' });
        expect(c.region).toBe('us-east');
        expect(c.relayId).toBeUndefined();
      },
    ],
    [
      'ENABLE_OCTO + JVB_OCTO_REGION + JVB_OCTO_RELAY_ID',
      { ENABLE_OCTO: '1', JVB_OCTO_REGION: 'us-east', JVB_OCTO_RELAY_ID: 'r1', JVB_OCTO_BIND_ADDRESS: '10.0.0.5' },
      (c) => {
        expect(c.relay).toEqual({ enabled: true, region: 'us-east', relayId: 'r1' });
        expect([c.region, c.relayId]).toEqual(['us-east', 'r1']);
      },
    ],
    [
      'ENABLE_OCTO defaults (region europe, relay-id from JVB_OCTO_BIND_ADDRESS)',
      { ENABLE_OCTO: 'true', JVB_OCTO_BIND_ADDRESS: '10.0.0.5' },
      (c) => expect(c.relay).toEqual({ enabled: true, region: 'europe', relayId: '10.0.0.5' }),
    ],
    ['OCTOBRIDGE_ID', { OCTOBRIDGE_ID: 'bridge-7' }, (c) => expect(c.bridgeId).toBe('bridge-7')],
    ['OCTOBRIDGE_LISTEN_IP', { OCTOBRIDGE_LISTEN_IP: '10.1.2.3' }, (c) => expect(c.media.listenIp).toBe('10.1.2.3')],
    ['OCTOBRIDGE_WORKER_BIN', { OCTOBRIDGE_WORKER_BIN: '/opt/w/mediasoup-worker' }, (c) => expect(c.media.workerBin).toBe('/opt/w/mediasoup-worker')],
    ['OCTOBRIDGE_EXPIRE_MS', { OCTOBRIDGE_EXPIRE_MS: '1500' }, (c) => expect(c.media.endpointExpireMs).toBe(1500)],
    ['OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS', { OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS: '10' }, (c) => expect(c.metrics.eventLoopResolutionMs).toBe(10)],
    [
      'OCTOBRIDGE_PUBLIC_PORT / _HOST',
      { OCTOBRIDGE_PUBLIC_PORT: '0', OCTOBRIDGE_PUBLIC_HOST: '127.0.0.1' },
      (c) => expect(c.http).toMatchObject({ publicPort: 0, publicHost: '127.0.0.1' }),
    ],
    [
      'OCTOBRIDGE_PRIVATE_PORT / _HOST',
      { OCTOBRIDGE_PRIVATE_PORT: '8081', OCTOBRIDGE_PRIVATE_HOST: '0.0.0.0' },
      (c) => expect(c.http).toMatchObject({ privatePort: 8081, privateHost: '0.0.0.0' }),
    ],
    ['OCTOBRIDGE_FOCUS', { OCTOBRIDGE_FOCUS: '0' }, (c) => expect(c.focus.enabled).toBe(false)],
    ['OCTOBRIDGE_VIDEO_CODECS', { OCTOBRIDGE_VIDEO_CODECS: 'vp9, VP8,h264' }, (c) => expect(c.focus.videoCodecs).toEqual(['VP9', 'VP8', 'H264'])],
    ['OCTOBRIDGE_PRESENCE_INTERVAL_MS', { OCTOBRIDGE_PRESENCE_INTERVAL_MS: '500' }, (c) => expect(c.xmpp.presenceIntervalMs).toBe(500)],
    ['LOG_LEVEL', { LOG_LEVEL: 'debug' }, (c) => expect(c.log.level).toBe('debug')],
    [
      'XMPP_SERVER (comma list, host:port) + XMPP_PORT + XMPP_DOMAIN',
      { ...XMPP, XMPP_SERVER: 'a.example.com, b.example.com:5223', XMPP_PORT: '5200' },
      (c) =>
        expect(c.xmpp.connections).toEqual([
          {
            id: 'shard0',
            mode: 'client',
            service: 'xmpp://a.example.com:5200',
            domain: 'auth.example.com',
            username: 'jvb',
            password: 'pw',
            mucJids: ['jvbbrewery@internal.auth.example.com'],
            nickname: c.bridgeId,
            disableCertificateVerification: true,
          },
          {
            id: 'shard1',
            mode: 'client',
            service: 'xmpp://b.example.com:5223',
            domain: 'auth.example.com',
            username: 'jvb',
            password: 'pw',
            mucJids: ['jvbbrewery@internal.auth.example.com'],
            nickname: c.bridgeId,
            disableCertificateVerification: true,
          },
        ]),
    ],
    [
      'XMPP_AUTH_DOMAIN / XMPP_INTERNAL_MUC_DOMAIN / JVB_AUTH_USER / JVB_BREWERY_MUC / JVB_MUC_NICKNAME',
      {
        ...XMPP,
        XMPP_AUTH_DOMAIN: 'login.example.com',
        XMPP_INTERNAL_MUC_DOMAIN: 'muc.example.com',
        JVB_AUTH_USER: 'bridge',
        JVB_BREWERY_MUC: 'brew',
        JVB_MUC_NICKNAME: 'nick-1',
      },
      (c) =>
        expect(c.xmpp.connections[0]).toMatchObject({ domain: 'login.example.com', username: 'bridge', mucJids: ['brew@muc.example.com'], nickname: 'nick-1' }),
    ],
    ['[::1]:5222 and IPv6 hosts', { ...XMPP, XMPP_SERVER: '[::1]:5300' }, (c) => expect(c.xmpp.connections[0]?.service).toBe('xmpp://[::1]:5300')],
    [
      "docker's defaults: JVB_AUTH_PASSWORD alone turns XMPP on",
      { JVB_AUTH_PASSWORD: 'pw' },
      (c) =>
        expect(c.xmpp.connections).toEqual([
          {
            id: 'shard0',
            mode: 'client',
            service: 'xmpp://xmpp.meet.jitsi:5222',
            domain: 'auth.meet.jitsi',
            username: 'jvb',
            password: 'pw',
            mucJids: ['jvbbrewery@internal-muc.meet.jitsi'],
            nickname: c.bridgeId,
            disableCertificateVerification: true,
          },
        ]),
    ],
    [
      'ENABLE_JVB_XMPP_SERVER + JVB_XMPP_*',
      {
        ...XMPP,
        ENABLE_JVB_XMPP_SERVER: '1',
        JVB_XMPP_SERVER: 'x1.jvb,x2.jvb:7000',
        JVB_XMPP_PORT: '6223',
        JVB_XMPP_AUTH_DOMAIN: 'auth.jvb',
        JVB_XMPP_INTERNAL_MUC_DOMAIN: 'muc.jvb',
      },
      (c) => {
        expect(c.xmpp.connections.map((x) => x.service)).toEqual(['xmpp://x1.jvb:6223', 'xmpp://x2.jvb:7000']);
        expect(c.xmpp.connections[0]).toMatchObject({ domain: 'auth.jvb', mucJids: ['jvbbrewery@muc.jvb'] });
      },
    ],
    [
      'ENABLE_JVB_XMPP_SERVER defaults',
      { JVB_AUTH_PASSWORD: 'pw', ENABLE_JVB_XMPP_SERVER: 'true' },
      (c) =>
        expect(c.xmpp.connections[0]).toMatchObject({
          service: 'xmpp://xmpp.jvb.meet.jitsi:6222',
          domain: 'auth.jvb.meet.jitsi',
          mucJids: ['jvbbrewery@muc.jvb.meet.jitsi'],
        }),
    ],
    ['JVB_DISABLE_XMPP', { ...XMPP, JVB_AUTH_PASSWORD: '', JVB_DISABLE_XMPP: '1' }, (c) => expect(c.xmpp.connections).toEqual([])],
    [
      'OCTOBRIDGE_XMPP_COMPONENT_*',
      {
        ...XMPP,
        XMPP_SERVER: 'xmpp.example.com:5222',
        OCTOBRIDGE_XMPP_COMPONENT_DOMAIN: 'jvb.example.com',
        OCTOBRIDGE_XMPP_COMPONENT_SECRET: 'sec',
        OCTOBRIDGE_XMPP_COMPONENT_PORT: '5348',
      },
      (c) =>
        expect(c.xmpp.connections).toEqual([
          {
            id: 'component',
            mode: 'component',
            service: 'xmpp://xmpp.example.com:5348',
            domain: 'jvb.example.com',
            username: '',
            password: 'sec',
            mucJids: ['jvbbrewery@internal.auth.example.com'],
            nickname: c.bridgeId,
            disableCertificateVerification: false,
          },
        ]),
    ],
  ];
  it.each(cases)('%s', (_name, env, check) => check(buildConfig(env)));

  it('accepts and notes the docker variables that mean nothing to octobridge', () => {
    const ignored = [
      'DISABLE_AWS_HARVESTER',
      'ENABLE_VLA',
      'BWE_ESTIMATOR_ENGINE',
      'JVB_REQUIRE_VALID_ADDRESS',
      'JVB_USE_USRSCTP',
      'JVB_OCTO_PUBLIC_ADDRESS',
      'JVB_OCTO_BIND_PORT',
      'JVB_INSTANCE_ID',
      'JVB_LOG_FILE',
      'VIDEOBRIDGE_MAX_MEMORY',
      'JVB_COLIBRI_PORT',
      'PUBLIC_URL',
      'AUTOSCALER_URL',
      'SENTRY_DSN',
    ];
    const c = buildConfig(Object.fromEntries(ignored.map((k) => [k, 'x'])));
    const notes = c.source.notes.join('\n');
    for (const k of ignored) expect(notes).toContain(k);
    expect(buildConfig({}).source.notes).toEqual([]);
  });

  it('treats an empty variable as unset', () => {
    expect(buildConfig({ JVB_PORT: '', XMPP_SERVER: '' }).media.udpPort).toBe(10000);
  });
});

describe('invalid environment values name the variable', () => {
  const cases: [NodeJS.ProcessEnv, string][] = [
    [{ JVB_PORT: 'abc' }, 'JVB_PORT'],
    [{ JVB_PORT: '70000' }, 'JVB_PORT'],
    [{ JVB_TCP_PORT: '-1' }, 'JVB_TCP_PORT'],
    [{ OCTOBRIDGE_PUBLIC_PORT: '1.5' }, 'OCTOBRIDGE_PUBLIC_PORT'],
    [{ OCTOBRIDGE_PRIVATE_PORT: '99999' }, 'OCTOBRIDGE_PRIVATE_PORT'],
    [{ OCTOBRIDGE_PRIVATE_HOST: 'localhost' }, 'OCTOBRIDGE_PRIVATE_HOST'],
    [{ OCTOBRIDGE_LISTEN_IP: 'eth0' }, 'OCTOBRIDGE_LISTEN_IP'],
    [{ JVB_ADVERTISE_IPS: '1.2.3.4,not-an-ip' }, 'JVB_ADVERTISE_IPS'],
    [{ JVB_ADVERTISE_IPS: '1.2.3.4#99999' }, 'JVB_ADVERTISE_IPS'],
    [{ LOCAL_ADDRESS: 'x', JVB_ADVERTISE_IPS: '1.2.3.4' }, 'LOCAL_ADDRESS'],
    [{ JVB_ADVERTISE_PRIVATE_CANDIDATES: 'maybe' }, 'JVB_ADVERTISE_PRIVATE_CANDIDATES'],
    [{ JVB_DISABLE_STUN: 'perhaps' }, 'JVB_DISABLE_STUN'],
    [{ JVB_TCP_HARVESTER_DISABLED: 'nope' }, 'JVB_TCP_HARVESTER_DISABLED'],
    [{ COLIBRI_REST_ENABLED: '2' }, 'COLIBRI_REST_ENABLED'],
    [{ SHUTDOWN_REST_ENABLED: 'enabled' }, 'SHUTDOWN_REST_ENABLED'],
    [{ ENABLE_OCTO: 'y' }, 'ENABLE_OCTO'],
    [{ ENABLE_OCTO: '1' }, 'JVB_OCTO_RELAY_ID'],
    [{ OCTOBRIDGE_ID: 'a b' }, 'OCTOBRIDGE_ID'],
    [{ OCTOBRIDGE_EXPIRE_MS: '10' }, 'OCTOBRIDGE_EXPIRE_MS'],
    [{ OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS: '0' }, 'OCTOBRIDGE_EVENT_LOOP_RESOLUTION_MS'],
    [{ OCTOBRIDGE_FOCUS: 'sometimes' }, 'OCTOBRIDGE_FOCUS'],
    [{ OCTOBRIDGE_VIDEO_CODECS: 'VP8,THEORA' }, 'OCTOBRIDGE_VIDEO_CODECS'],
    [{ OCTOBRIDGE_VIDEO_CODECS: ',' }, 'OCTOBRIDGE_VIDEO_CODECS'],
    [{ OCTOBRIDGE_PRESENCE_INTERVAL_MS: '5' }, 'OCTOBRIDGE_PRESENCE_INTERVAL_MS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ XMPP_SERVER: 'xmpp.example.com' }, 'JVB_AUTH_PASSWORD'],
    [{ XMPP_SERVER: 'bad host!', JVB_AUTH_PASSWORD: 'pw' }, 'XMPP_SERVER'],
    [{ XMPP_SERVER: 'h:0', JVB_AUTH_PASSWORD: 'pw' }, 'XMPP_SERVER'],
    [{ XMPP_SERVER: 'h', XMPP_PORT: 'x', JVB_AUTH_PASSWORD: 'pw' }, 'XMPP_PORT'],
    [{ XMPP_SERVER: ',', JVB_AUTH_PASSWORD: 'pw' }, 'XMPP_SERVER'],
    [{ ENABLE_JVB_XMPP_SERVER: '1', JVB_XMPP_PORT: '0', JVB_AUTH_PASSWORD: 'pw' }, 'JVB_XMPP_PORT'],
    [{ JVB_DISABLE_XMPP: 'kinda', JVB_AUTH_PASSWORD: 'pw' }, 'JVB_DISABLE_XMPP'],
    [{ XMPP_SERVER: 'h', OCTOBRIDGE_XMPP_COMPONENT_DOMAIN: 'c.example.com' }, 'OCTOBRIDGE_XMPP_COMPONENT_SECRET'],
    [
      { XMPP_SERVER: 'h', OCTOBRIDGE_XMPP_COMPONENT_DOMAIN: 'c', OCTOBRIDGE_XMPP_COMPONENT_SECRET: 's', OCTOBRIDGE_XMPP_COMPONENT_PORT: 'x' },
      'OCTOBRIDGE_XMPP_COMPONENT_PORT',
    ],
    [{ OCTOBRIDGE_CONFIG: '/nonexistent/octobridge.conf' }, 'OCTOBRIDGE_CONFIG'],
  ];
  it.each(cases)('%o → %s', async (env, key) => {
    expect(await keyOfAsync(loadConfig(env))).toBe(key);
  });
});

describe('HOCON file', () => {
  it("maps docker-jitsi-meet's rendered jvb.conf", async () => {
    const c = await fromFile(DOCKER_RENDERED);
    expect(c.source.file).toMatch(/jvb-\d+\.conf$/);
    expect(c.media.udpPort).toBe(10001);
    expect(c.media.advertiseIps).toEqual(['1.2.3.4', '5.6.7.8']);
    expect(c.ice).toEqual({
      advertisePrivateCandidates: true,
      stunServers: ['meet-jit-si-turnrelay.jitsi.net:443'],
      staticMappings: [
        { localAddress: '172.18.0.4', publicAddress: '1.2.3.4', localPort: undefined, publicPort: undefined, name: 'ip-0' },
        { localAddress: '172.18.0.4', publicAddress: '5.6.7.8', localPort: 10001, publicPort: 12000, name: 'ip-1' },
      ],
    });
    expect(c.http).toEqual({ publicHost: '0.0.0.0', publicPort: 9090, privateHost: '0.0.0.0', privatePort: 8080 });
    expect(c.rest).toMatchObject({ colibri: false, shutdown: true, drain: true });
    expect(c.sctp.enabled).toBe(true);
    expect(c.relay).toEqual({ enabled: true, region: 'europe', relayId: '10.0.0.5' });
    expect([c.region, c.relayId]).toEqual(['europe', '10.0.0.5']);
    const shard = {
      mode: 'client',
      domain: 'auth.meet.jitsi',
      username: 'jvb',
      password: 's3cr3t-pw',
      mucJids: ['jvbbrewery@internal-muc.meet.jitsi'],
      nickname: 'jvb-1',
      disableCertificateVerification: true,
    };
    expect(c.xmpp.connections).toEqual([
      { id: 'shard0', service: 'xmpp://xmpp.meet.jitsi:5222', ...shard },
      { id: 'shard1', service: 'xmpp://xmpp2.meet.jitsi:5223', ...shard },
    ]);
    expect(c.xmpp.presenceIntervalMs).toBe(5000);
  });

  it('applies custom-jvb.conf included beside the file', async () => {
    fs.writeFileSync(path.join(dir, 'custom-jvb.conf'), 'videobridge.ice.udp.port = 10002\n');
    try {
      expect((await fromFile(DOCKER_RENDERED)).media.udpPort).toBe(10002);
    } finally {
      fs.rmSync(path.join(dir, 'custom-jvb.conf'));
    }
  });

  it('reads every mapped key: dotted paths, `:`, comments, durations, substitutions, arrays, the octobridge block', async () => {
    const c = await fromFile(`
      // JVB keys
      videobridge.ice.udp.port = 10010
      videobridge.ice.tcp { enabled = true, port: 4445 }
      videobridge.ice.advertise-private-candidates: false   # trailing comment
      videobridge {
        http-servers.public { host = 127.0.0.1, port = 9091 }
        http-servers.private { host = "10.0.0.2", port = 8081 }
        websockets { enabled = false, server-id = jvb-7, domains = ["a.example.com:443", b.example.com], domain = "c.example.com", tls = true }
        apis.rest.enabled = true
        rest { shutdown.enabled = true, drain.enabled = off, health.enabled = yes, version.enabled = false, prometheus.enabled = false, debug.enabled = false }
        stats.interval = 10 seconds
        entity-expiration.timeout = 2 minutes
        initial-drain-mode = true
        shutdown {
          graceful-shutdown-max-duration = 1 hour
          graceful-shutdown-min-participants = 3
          shutting-down-delay = 30s
        }
        version.announce = true
        sctp.enabled = false
        relay { enabled = true, region = us-west, relay-id = "relay-1" }
      }
      ice4j.harvest.mapping.stun.addresses = ["stun.example.com:443"]
      my-region = ap-south
      videobridge.relay.region = \${my-region}
      octobridge {
        id = bridge-9
        log.level = warn
        focus { enabled = false, video-codecs = [vp9, VP8] }
        media { worker-bin = "bin/worker", listen-ip = 10.0.0.3, log-level = error, initial-outgoing-bitrate = 600000 }
        media.udp-port-mode = per-worker
        metrics.event-loop-resolution = 20 ms
      }
    `);
    expect(c.metrics.eventLoopResolutionMs).toBe(20);
    expect(c.media.udpPortMode).toBe('per-worker');
    expect(c.media).toMatchObject({
      udpPort: 10010,
      iceTcp: { enabled: true, port: 4445 },
      endpointExpireMs: 120_000,
      listenIp: '10.0.0.3',
      logLevel: 'error',
      initialOutgoingBitrateBps: 600_000,
    });
    expect(c.media.workerBin).toBe(path.join(dir, 'bin', 'worker'));
    expect(c.ice.advertisePrivateCandidates).toBe(false);
    expect(c.ice.stunServers).toEqual(['stun.example.com:443']);
    expect(c.http).toEqual({ publicHost: '127.0.0.1', publicPort: 9091, privateHost: '10.0.0.2', privatePort: 8081 });
    expect(c.websockets).toEqual({ enabled: false, serverId: 'jvb-7', domains: ['c.example.com', 'a.example.com:443', 'b.example.com'], tls: true });
    expect(c.rest).toEqual({ colibri: true, shutdown: true, drain: false, health: true, version: false, prometheus: false, debug: false });
    expect(c.statsIntervalMs).toBe(10_000);
    // presence-interval = ${videobridge.stats.interval} in reference.conf
    expect(c.xmpp.presenceIntervalMs).toBe(10_000);
    expect(c.initialDrain).toBe(true);
    expect(c.shutdown).toEqual({ maxDurationMs: 3600_000, minParticipants: 3, shuttingDownDelayMs: 30_000 });
    expect(c.announceVersion).toBe(true);
    expect(c.sctp.enabled).toBe(false);
    expect(c.relay).toEqual({ enabled: true, region: 'ap-south', relayId: 'relay-1' });
    expect(c.bridgeId).toBe('bridge-9');
    expect(c.log.level).toBe('warn');
    expect(c.focus).toEqual({ enabled: false, videoCodecs: ['VP9', 'VP8'], cascade: [], allowedOrigins: [] });
  });

  it('reads the limits and the focus origins (octobridge.limits, octobridge.focus.allowed-origins, and their variables)', async () => {
    const c = await fromFile(
      'octobridge.limits { joins-per-address = 10, max-conferences = 3, max-endpoints = 0, source-updates-per-second = 0.5, channel-messages-per-second = 100 }\n' +
        'octobridge.focus.allowed-origins = ["https://meet.example.com", "http://localhost:8000/"]',
    );
    expect(c.limits).toEqual({ joinsPerAddressPerMinute: 10, maxConferences: 3, maxEndpoints: 0, sourceUpdatesPerSecond: 0.5, channelMessagesPerSecond: 100 });
    expect(c.focus.allowedOrigins).toEqual(['https://meet.example.com', 'http://localhost:8000']);
    const env = buildConfig({
      OCTOBRIDGE_JOINS_PER_ADDRESS: '0',
      OCTOBRIDGE_MAX_CONFERENCES: '7',
      OCTOBRIDGE_MAX_ENDPOINTS: '9',
      OCTOBRIDGE_SOURCE_UPDATES_PER_SECOND: '2',
      OCTOBRIDGE_CHANNEL_MESSAGES_PER_SECOND: '0',
      OCTOBRIDGE_FOCUS_ALLOWED_ORIGINS: '*',
      OCTOBRIDGE_REST_DEBUG: 'true',
    });
    expect(env.limits).toEqual({ joinsPerAddressPerMinute: 0, maxConferences: 7, maxEndpoints: 9, sourceUpdatesPerSecond: 2, channelMessagesPerSecond: 0 });
    expect(env.focus.allowedOrigins).toEqual(['*']);
    expect(env.rest.debug).toBe(true);
    expect(await keyOfAsync(fromFile('octobridge.focus.allowed-origins = ["https://x.example/path"]'))).toBe('octobridge.focus.allowed-origins');
    expect(await keyOfAsync(fromFile('octobridge.limits.max-endpoints = -1'))).toBe('octobridge.limits.max-endpoints');
    expect(await keyOfAsync(fromFile('octobridge.limits.typo = 1'))).toBe('octobridge.limits.typo');
  });

  it('reads the standalone cascade (octobridge.focus.cascade / OCTOBRIDGE_CASCADE) and needs relays for it', async () => {
    const relay = 'videobridge.relay { enabled = true, region = eu, relay-id = jvb-eu }';
    const c = await fromFile(`${relay}\noctobridge.focus.cascade = [{ relay-id = jvb-us, region = us, url = "http://10.100.0.2:8080/" }]`);
    expect(c.focus.cascade).toEqual([{ relayId: 'jvb-us', region: 'us', url: 'http://10.100.0.2:8080' }]);
    const env = buildConfig({ ENABLE_OCTO: '1', JVB_OCTO_RELAY_ID: 'a', OCTOBRIDGE_CASCADE: '[{"relay-id":"b","region":"us","url":"http://x:1"}]' });
    expect(env.focus.cascade).toEqual([{ relayId: 'b', region: 'us', url: 'http://x:1' }]);
    expect(await keyOfAsync(fromFile('octobridge.focus.cascade = [{ relay-id = b, region = us, url = "http://x" }]'))).toBe('octobridge.focus.cascade');
    expect(await keyOfAsync(fromFile(`${relay}\noctobridge.focus.cascade = [{ relay-id = b, region = us, url = "ftp://x" }]`))).toBe(
      'octobridge.focus.cascade[0].url',
    );
    expect(await keyOfAsync(fromFile(`${relay}\noctobridge.focus.cascade = [{ relay-id = b, url = "http://x" }]`))).toBe('octobridge.focus.cascade[0].region');
    expect(
      await keyOfAsync(
        fromFile(`${relay}\noctobridge.focus.cascade = [{ relay-id = b, region = r, url = "http://x" }, { relay-id = b, region = s, url = "http://y" }]`),
      ),
    ).toBe('octobridge.focus.cascade[1].relay-id');
  });

  it('reads the allocation keys (videobridge.cc, speech-activity, connection-stats, jmt initial-bw) in JVB units', async () => {
    const c = await fromFile(`
      videobridge {
        cc {
          default-max-height-px = 360
          initial-max-height-px = 90
          onstage-preferred-height-px = 540
          onstage-preferred-framerate = 15
          allow-oversend-onstage = false
          max-oversend-bitrate = 300 kbps
          trust-bwe = false
          bwe-change-threshold = 0.3
          max-time-between-calculations = 5 seconds
          jvb-last-n = 8
          initial-last-n = 4
          assumed-bandwidth-limit = 5 Mbps
        }
        speech-activity.recent-speakers-count = 3
        connection-stats.interval = 2 seconds
      }
      jmt.bwe.estimator.initial-bw = 1.5 Mbps
      octobridge.cc.min-time-between-calculations = 100 ms
    `);
    expect(c.cc).toEqual({
      ...c.cc,
      defaultMaxHeightPx: 360,
      initialMaxHeightPx: 90,
      onstagePreferredHeightPx: 540,
      onstagePreferredFramerate: 15,
      allowOversendOnstage: false,
      maxOversendBitrateBps: 300_000,
      trustBwe: false,
      bweChangeThreshold: 0.3,
      maxTimeBetweenCalculationsMs: 5000,
      jvbLastN: 8,
      initialLastN: 4,
      assumedBandwidthLimitBps: 5_000_000,
      minTimeBetweenCalculationsMs: 100,
    });
    expect(c.recentSpeakersCount).toBe(3);
    expect(c.connectionStatsIntervalMs).toBe(2000);
    expect(c.media.initialOutgoingBitrateBps).toBe(1_500_000);
    expect((await fromFile('videobridge.connection-stats.enabled = false')).connectionStatsIntervalMs).toBe(0);
    // JVB reference.conf defaults.
    const d = await fromFile('');
    expect(d.cc).toMatchObject({ defaultMaxHeightPx: 180, onstagePreferredHeightPx: 360, onstagePreferredFramerate: 30, trustBwe: true, jvbLastN: -1 });
    expect(d.media.initialOutgoingBitrateBps).toBe(2_500_000);
    expect(buildConfig({ JVB_CC_TRUST_BWE: 'false' }).cc.trustBwe).toBe(false);
  });

  it('reads videobridge.stats-filter-threshold (JVB default 20), from the file only as JVB', async () => {
    expect((await fromFile('')).statsFilterThreshold).toBe(20);
    expect((await fromFile('videobridge.stats-filter-threshold = 5')).statsFilterThreshold).toBe(5);
    expect(await keyOfAsync(fromFile('videobridge.stats-filter-threshold = -1'))).toBe('videobridge.stats-filter-threshold');
    expect(await keyOfAsync(fromFile('videobridge.stats-filter-threshold = many'))).toBe('videobridge.stats-filter-threshold');
  });

  it('reads videobridge.ssrc-limit.{video,audio} (JVB default 50 each), from the file or OCTOBRIDGE_SSRC_LIMIT_*', async () => {
    expect((await fromFile('')).ssrcLimits).toEqual({ video: 50, audio: 50 });
    expect((await fromFile('videobridge.ssrc-limit { video = 8, audio = 12 }')).ssrcLimits).toEqual({ video: 8, audio: 12 });
    expect((await fromFile('videobridge.ssrc-limit.video = 8', { OCTOBRIDGE_SSRC_LIMIT_VIDEO: '4', OCTOBRIDGE_SSRC_LIMIT_AUDIO: '3' })).ssrcLimits).toEqual({
      video: 4,
      audio: 3,
    });
    // A receiver needs a slot per kind at least.
    expect(await keyOfAsync(fromFile('videobridge.ssrc-limit.video = 0'))).toBe('videobridge.ssrc-limit.video');
    expect(await keyOfAsync(fromFile('videobridge.ssrc-limit.audio = few'))).toBe('videobridge.ssrc-limit.audio');
    expect(() => buildConfig({ OCTOBRIDGE_SSRC_LIMIT_AUDIO: '-1' })).toThrow(/OCTOBRIDGE_SSRC_LIMIT_AUDIO/);
  });

  it.each([
    ['5 seconds', 5000],
    ['60s', 60_000],
    ['1 minute', 60_000],
    ['1 minutes', 60_000],
    ['500 ms', 500],
    ['500ms', 500],
    ['1.5 s', 1500],
    ['2000', 2000],
    ['2m', 120_000],
    ['250 milliseconds', 250],
  ] as const)('duration %s = %i ms', async (text, ms) => {
    expect((await fromFile(`videobridge.apis.xmpp-client.presence-interval = ${text}`)).xmpp.presenceIntervalMs).toBe(ms);
  });

  it('reads case-insensitive MUC client keys, a MUC_JIDS comma list, and DOMAIN defaulting to HOSTNAME', async () => {
    const c = await fromFile(`
      videobridge.apis.xmpp-client {
        presence-interval = 2 seconds
        configs.main { hostname = localhost, Port = 5290, username = jvb, password = "p@ss", muc_jids = "a@muc.example.com, b@muc.example.com", muc_nickname = 4b2f0d0e-9c1a-4f3e-8b1e-2a3c4d5e6f70 }
      }
    `);
    expect(c.xmpp).toEqual({
      presenceIntervalMs: 2000,
      connections: [
        {
          id: 'main',
          mode: 'client',
          service: 'xmpp://localhost:5290',
          domain: 'localhost',
          username: 'jvb',
          password: 'p@ss',
          mucJids: ['a@muc.example.com', 'b@muc.example.com'],
          nickname: '4b2f0d0e-9c1a-4f3e-8b1e-2a3c4d5e6f70',
          disableCertificateVerification: false,
        },
      ],
    });
  });

  it('reads the component block', async () => {
    const c = await fromFile(
      `octobridge.xmpp-component { hostname = xmpp.example.com, domain = jvb.example.com, secret = s3c, muc-jids = ["jvbbrewery@internal.auth.example.com"] }`,
    );
    expect(c.xmpp.connections).toEqual([
      {
        id: 'component',
        mode: 'component',
        service: 'xmpp://xmpp.example.com:5347',
        domain: 'jvb.example.com',
        username: '',
        password: 's3c',
        mucJids: ['jvbbrewery@internal.auth.example.com'],
        nickname: c.bridgeId,
        disableCertificateVerification: false,
      },
    ]);
  });

  it('reads an empty file and a JVB_DISABLE_STUN-style stun block', async () => {
    expect((await fromFile('')).media.udpPort).toBe(10000);
    expect((await fromFile('ice4j.harvest.mapping.stun { enabled = false }')).ice.stunServers).toEqual([]);
  });

  it('reads the octobridge.relay.wireguard block (details in src/wireguard/wireguard.test.ts)', async () => {
    const pub = 'hdcHBEPDGcI8UuBQbq8aDhr3z9bZH1+4msqXl7V7NCE=';
    const c = await fromFile(`octobridge.relay.wireguard {
      interface = wg-eu, private-key-file = eu.key, address = "10.100.0.1/24"
      peers = [{ public-key = "${pub}", endpoint = "10.0.0.2:51820", allowed-ips = ["10.100.0.2/32"], region = us }]
    }`);
    expect(c.relay.wireguard).toMatchObject({
      interface: 'wg-eu',
      mode: 'auto',
      privateKeyFile: path.join(dir, 'eu.key'),
      listenPort: 51820,
      checkIntervalMs: 5000,
      handshakeTimeoutMs: 180_000,
    });
    expect(c.relay.wireguard?.peers).toEqual([
      {
        publicKey: pub,
        endpoint: '10.0.0.2:51820',
        allowedIps: ['10.100.0.2/32'],
        region: 'us',
        relayId: undefined,
        persistentKeepaliveS: 25,
        probeAddress: '10.100.0.2',
      },
    ]);
    expect(buildConfig({ OCTOBRIDGE_WG_MODE: 'external', OCTOBRIDGE_WG_INTERFACE: 'wg0' }).relay.wireguard).toMatchObject({
      mode: 'external',
      interface: 'wg0',
    });
  });

  it('is found through OCTOBRIDGE_CONFIG', async () => {
    const file = path.join(dir, 'named.conf');
    fs.writeFileSync(file, 'videobridge.ice.udp.port = 10003');
    const c = await loadConfig({ OCTOBRIDGE_CONFIG: file });
    expect([c.media.udpPort, c.source.file]).toEqual([10003, file]);
  });
});

describe('invalid file values name the HOCON path', () => {
  const cases: [string, string][] = [
    ['videobridge.ice.udp.port = abc', 'videobridge.ice.udp.port'],
    ['videobridge.ice.udp.port = 70000', 'videobridge.ice.udp.port'],
    ['videobridge.ice.udp.port = [1, 2]', 'videobridge.ice.udp.port'],
    ['videobridge.ice = 5', 'videobridge.ice'],
    ['videobridge.ice.tcp.enabled = maybe', 'videobridge.ice.tcp.enabled'],
    ['videobridge.http-servers.private.port = 65536', 'videobridge.http-servers.private.port'],
    ['videobridge.http-servers.private.host = "my host"', 'videobridge.http-servers.private.host'],
    ['videobridge.http-servers.public.port = -1', 'videobridge.http-servers.public.port'],
    ['videobridge.stats.interval = 5 parsecs', 'videobridge.stats.interval'],
    ['videobridge.stats.interval = soon', 'videobridge.stats.interval'],
    ['videobridge.apis.xmpp-client.presence-interval = 10ms', 'videobridge.apis.xmpp-client.presence-interval'],
    ['videobridge.entity-expiration.timeout = 2 days', 'videobridge.entity-expiration.timeout'],
    ['videobridge.shutdown.graceful-shutdown-min-participants = -1', 'videobridge.shutdown.graceful-shutdown-min-participants'],
    ['videobridge.shutdown.shutting-down-delay = { a = 1 }', 'videobridge.shutdown.shutting-down-delay'],
    ['videobridge.initial-drain-mode = 2', 'videobridge.initial-drain-mode'],
    ['videobridge.rest.shutdown.enabled = sure', 'videobridge.rest.shutdown.enabled'],
    ['videobridge.relay.enabled = true', 'videobridge.relay.relay-id'],
    ['videobridge.websockets.server-id = ""', 'videobridge.websockets.server-id'],
    ['ice4j.harvest.mapping.static-mappings = { a = 1 }', 'ice4j.harvest.mapping.static-mappings'],
    ['ice4j.harvest.mapping.static-mappings = [{ local-address = "10.0.0.1" }]', 'ice4j.harvest.mapping.static-mappings[0].public-address'],
    ['ice4j.harvest.mapping.static-mappings = [{ public-address = "1.2.3.4", local-port = 10000 }]', 'ice4j.harvest.mapping.static-mappings[0].public-port'],
    [
      'ice4j.harvest.mapping.static-mappings = [{ public-address = "1.2.3.4", public-port = 0, local-port = 10000 }]',
      'ice4j.harvest.mapping.static-mappings[0].public-port',
    ],
    [
      'videobridge.apis.xmpp-client.configs.shard { HOSTNAME = h, USERNAME = u, MUC_JIDS = "a@b", MUC_NICKNAME = n }',
      'videobridge.apis.xmpp-client.configs.shard.PASSWORD',
    ],
    [
      'videobridge.apis.xmpp-client.configs.shard { PASSWORD = p, USERNAME = u, MUC_JIDS = "a@b", MUC_NICKNAME = n }',
      'videobridge.apis.xmpp-client.configs.shard.HOSTNAME',
    ],
    [
      'videobridge.apis.xmpp-client.configs.shard { HOSTNAME = h, PASSWORD = p, USERNAME = u, MUC_NICKNAME = n }',
      'videobridge.apis.xmpp-client.configs.shard.MUC_JIDS',
    ],
    [
      'videobridge.apis.xmpp-client.configs.shard { HOSTNAME = h, port = "x", PASSWORD = p, USERNAME = u, MUC_JIDS = "a@b", MUC_NICKNAME = n }',
      'videobridge.apis.xmpp-client.configs.shard.port',
    ],
    [
      'videobridge.apis.xmpp-client.configs.shard { HOSTNAME = h, PASSWORD = p, USERNAME = u, MUC_JIDS = "a@b", MUC_NICKNAME = n, SECURITY_MODE = loose }',
      'videobridge.apis.xmpp-client.configs.shard.SECURITY_MODE',
    ],
    ['videobridge.apis.xmpp-client.configs.shard = 5', 'videobridge.apis.xmpp-client.configs.shard'],
    ['videobridge.cc.jvb-last-n = -2', 'videobridge.cc.jvb-last-n'],
    ['videobridge.cc.max-oversend-bitrate = lots', 'videobridge.cc.max-oversend-bitrate'],
    ['videobridge.cc.trust-bwe = perhaps', 'videobridge.cc.trust-bwe'],
    ['octobridge.cc.min-time-between-calculations = 2 hours', 'octobridge.cc.min-time-between-calculations'],
    ['octobridge.log.level = loud', 'octobridge.log.level'],
    ['octobridge.media.log-level = chatty', 'octobridge.media.log-level'],
    ['octobridge.focus.video-codecs = [VP8, THEORA]', 'octobridge.focus.video-codecs'],
    ['octobridge.focus.enabeld = true', 'octobridge.focus.enabeld'],
    ['octobridge.id = "has space"', 'octobridge.id'],
    ['octobridge.xmpp-component { hostname = h, domain = d, muc-jids = ["a@b"] }', 'octobridge.xmpp-component.secret'],
    ['octobridge.relay.wireguard { address = "10.100.0.1/24" }', 'octobridge.relay.wireguard.private-key-file'],
    ['octobridge.relay.wireguard { mode = external, peers = [{ public-key = "nope" }] }', 'octobridge.relay.wireguard.peers[0].public-key'],
    ['octobridge.relay.wireguard { mode = external, listen-prot = 1 }', 'octobridge.relay.wireguard.listen-prot'],
  ];
  it.each(cases)('%s → %s', async (text, key) => {
    expect(await keyOfAsync(fromFile(text))).toBe(key);
  });

  it('names the file, line and column on a syntax error, and the file when it cannot be read', async () => {
    const err = await fromFile('videobridge {\n  ice.udp.port = [1,\n}\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toMatch(/jvb-\d+\.conf$/);
    expect((err as Error).message).toMatch(/line 3 column 1/);
    expect(await keyOfAsync(loadConfig({}, { file: dir }))).toBe(dir);
    expect(await keyOfAsync(loadConfig({}, { file: path.join(dir, 'missing.conf') }))).toBe(path.join(dir, 'missing.conf'));
  });
});

describe('precedence: defaults < file < env', () => {
  it('env overrides the file, the file overrides defaults', async () => {
    const text = 'videobridge { ice.udp.port = 10020, http-servers.private.port = 8090, websockets.server-id = from-file }';
    const c = await fromFile(text, { JVB_PORT: '10030' });
    expect(c.media.udpPort).toBe(10030);
    expect(c.http.privatePort).toBe(8090);
    expect(c.websockets.serverId).toBe('from-file');
    expect(c.http.publicPort).toBe(9090);
    expect((await fromFile('videobridge.apis.xmpp-client.presence-interval = 3s', { OCTOBRIDGE_PRESENCE_INTERVAL_MS: '700' })).xmpp.presenceIntervalMs).toBe(
      700,
    );
    expect((await fromFile('videobridge.relay { enabled = true, region = r, relay-id = a }', { JVB_OCTO_RELAY_ID: 'b' })).relayId).toBe('b');
  });

  it('JVB_AUTH_* fill in or override the login of the file blocks', async () => {
    const block = 'videobridge.apis.xmpp-client.configs.shard { HOSTNAME = h, USERNAME = u, MUC_JIDS = "a@b", MUC_NICKNAME = n }';
    const c = await fromFile(block, { JVB_AUTH_PASSWORD: 'from-env', JVB_AUTH_USER: 'env-user', JVB_MUC_NICKNAME: 'env-nick' });
    expect(c.xmpp.connections).toHaveLength(1);
    expect(c.xmpp.connections[0]).toMatchObject({ id: 'shard', service: 'xmpp://h:5222', password: 'from-env', username: 'env-user', nickname: 'env-nick' });
  });

  it('XMPP_SERVER replaces the file blocks; JVB_DISABLE_XMPP drops them', async () => {
    const c = await fromFile(DOCKER_RENDERED, { XMPP_SERVER: 'other.example.com', XMPP_DOMAIN: 'example.com', JVB_AUTH_PASSWORD: 'pw' });
    expect(c.xmpp.connections.map((x) => x.service)).toEqual(['xmpp://other.example.com:5222']);
    expect(c.source.notes.join()).toContain('replaced');
    expect((await fromFile(DOCKER_RENDERED, { JVB_DISABLE_XMPP: 'true' })).xmpp.connections).toEqual([]);
  });

  it('JVB_ADVERTISE_IPS replaces the static mappings', async () => {
    const c = await fromFile(DOCKER_RENDERED, { JVB_ADVERTISE_IPS: '9.9.9.9' });
    expect(c.media.advertiseIps).toEqual(['9.9.9.9']);
    expect(c.ice.staticMappings).toHaveLength(1);
  });
});

describe('redactConfig', () => {
  it('leaves no password or secret in the output and does not touch the config', async () => {
    const client = buildConfig({ XMPP_SERVER: 'a,b', XMPP_DOMAIN: 'example.com', JVB_AUTH_PASSWORD: 'hunter2-client' });
    const component = buildConfig({
      XMPP_SERVER: 'a',
      XMPP_DOMAIN: 'example.com',
      OCTOBRIDGE_XMPP_COMPONENT_DOMAIN: 'c',
      OCTOBRIDGE_XMPP_COMPONENT_SECRET: 'hunter2-component',
    });
    const file = await fromFile(DOCKER_RENDERED);
    for (const [c, secret] of [
      [client, 'hunter2-client'],
      [component, 'hunter2-component'],
      [file, 's3cr3t-pw'],
    ] as const) {
      const out = JSON.stringify(redactConfig(c));
      expect(out).not.toContain(secret);
      expect(out).toContain('[redacted]');
      expect(JSON.stringify(c)).toContain(secret);
    }
    expect(redactConfig(client).xmpp.connections[1]?.username).toBe('jvb');
  });
});
