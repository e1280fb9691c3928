/**
 * Janus VideoRoom for `--janus`: Debian's janus (1.1.2) started by the harness inside a network
 * namespace (bench/lib/netns.ts `createNetns`; Janus never offers loopback candidates, so it
 * runs on the namespace's veth with `ice_enforce_list` on it),
 * with one VideoRoom room per conference. The light clients (janus.ts) reach it on the veth from
 * the host side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createNetns, type Netns } from '../lib/netns.ts';
import type { ServerUnderTest } from '../lib/bridgeProcess.ts';

const JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';
/** Plugins and transports not needed (Janus warns about each missing config otherwise). */
const DISABLED_PLUGINS = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'voicemail'];
const DISABLED_TRANSPORTS = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'];
const HTTP_PORT = 8088;

/** Write janus.jcfg, the HTTP transport's and the VideoRoom's config (rooms 1..`rooms`) into `dir`. */
function writeConfig(dir: string, ns: Netns, rooms: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${JANUS_LIB}/plugins"
  transports_folder = "${JANUS_LIB}/transports"
  events_folder = "${JANUS_LIB}/events"
  loggers_folder = "${JANUS_LIB}/loggers"
  debug_level = 3
}
media: {
  rtp_port_range = "20000-40000"
}
nat: {
  nice_debug = false
  ice_enforce_list = "${ns.nsVeth}"
}
plugins: {
  disable = "${DISABLED_PLUGINS.map((p) => `libjanus_${p}.so`).join(',')}"
}
transports: {
  disable = "${DISABLED_TRANSPORTS.map((t) => `libjanus_${t}.so`).join(',')}"
}
events: {
  broadcast = false
}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.transport.http.jcfg'),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${HTTP_PORT}
  ip = "${ns.nsIp}"
  https = false
}
admin: {
  admin_http = false
}
`,
  );
  const roomCfg = Array.from(
    { length: rooms },
    (_, i) => `room-${i + 1}: {
  description = "torture-${i}"
  publishers = 100
  bitrate = 0
  fir_freq = 0
  audiocodec = "opus"
  videocodec = "vp8"
  transport_wide_cc_ext = true
}
`,
  ).join('');
  fs.writeFileSync(path.join(dir, 'janus.plugin.videoroom.jcfg'), `general: {\n}\n${roomCfg}`);
}

/**
 * Start Janus in a new network namespace with `rooms` VideoRoom rooms; logs to `dir/janus.log`.
 * Resolves once its HTTP API answers.
 * @throws Error when namespaces cannot be made (not root), janus is not installed
 * (`sh scripts/setup.sh bench` installs it), or it does not answer within 15 s.
 */
export async function startJanus(dir: string, rooms: number): Promise<ServerUnderTest> {
  if (!fs.existsSync('/usr/bin/janus')) throw new Error('janus is not installed (sh scripts/setup.sh bench, or apt-get install janus)');
  const ns = await createNetns();
  writeConfig(dir, ns, rooms);
  const log = fs.openSync(path.join(dir, 'janus.log'), 'a');
  const proc: ChildProcess = spawn('ip', ['netns', 'exec', ns.name, '/usr/bin/janus', '-C', path.join(dir, 'janus.jcfg'), '-F', dir, '-o'], {
    stdio: ['ignore', log, log],
  });
  const api = `http://${ns.nsIp}:${HTTP_PORT}/janus`;
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${api}/info`, { signal: AbortSignal.timeout(500) })).ok) break;
    } catch {
      // not yet
    }
    if (proc.exitCode !== null || Date.now() - t0 > 15_000) {
      proc.kill('SIGKILL');
      await ns.close();
      throw new Error(`janus did not start (see ${path.join(dir, 'janus.log')})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = proc.pid as number;
  return {
    name: 'janus',
    clientUrl: api,
    localAddress: ns.hostIp,
    processes: () => (proc.exitCode === null ? [{ name: 'janus', pid }] : []),
    stats: async () => undefined,
    async close() {
      if (proc.exitCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.closeSync(log);
      await ns.close();
    },
  };
}
