/**
 * A throw-away Prosody 0.12 (Debian's `prosody` package) for tests that need a real XMPP server:
 * the bridge's brewery MUC, Jicofo-style colibri2 IQs between MUC occupants, reconnects.
 *
 * Layout (docker-jitsi-meet's, with test names):
 *
 * | host                      | what                                                          |
 * |---------------------------|---------------------------------------------------------------|
 * | `meet.test`               | VirtualHost, c2s, internal_hashed accounts (users, tests)      |
 * | `auth.meet.test`          | VirtualHost, the bridge's and the focus's accounts (`jvb`, `focus`) |
 * | `internal.auth.meet.test` | MUC, the brewery (`jvbbrewery@…`), rooms created on join, unlocked |
 * | `conference.meet.test`    | MUC, the conference rooms                                      |
 * | `jvb.meet.test`           | XEP-0114 external component with a secret (legacy JVB mode)   |
 *
 * Everything listens on 127.0.0.1 only, on free ports picked here (several instances may run at
 * once). Plain c2s without TLS (`c2s_require_encryption = ${this.#opts.requireTls ? 'true' : 'false'}`, `allow_unencrypted_plain_auth`),
 * no s2s. BOSH and WebSocket are served on `httpPort` (`/http-bind`, `/xmpp-websocket`).
 *
 * Traps handled here: Prosody refuses to run as root, so as root
 * it is exec'd through `setpriv` as the `prosody` user (no forking `runuser` in between, so `pid`
 * is Prosody's own pid; a parent-death signal kills it if the test process dies); its data,
 * certificate and log directories are owned by that user, the temp dir is world-traversable; it
 * runs in the foreground (`-F`; Prosody 0.12 auto-loads mod_posix on Linux anyway, it is what
 * handles SIGTERM, but with `-F` and no `daemonize`/`pidfile` it neither forks nor writes a
 * pidfile), and it is stopped by pid. When the
 * tests do not run as root, Prosody simply runs as the current user.
 *
 * Needs `apt-get install prosody lua-sec lua-event lua-unbound` (`sh scripts/setup.sh test`).
 *
 * @example
 * const xmpp = await startProsody();
 * try {
 *   const jvb = xmpp.account('jvb');
 *   const c = client({ service: xmpp.c2sService, domain: xmpp.authDomain, username: 'jvb', password: jvb.password });
 *   …
 * } finally {
 *   await xmpp.stop();
 * }
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The Prosody launcher (override with `PROSODY_BIN`). */
export const PROSODY_BIN = process.env.PROSODY_BIN ?? '/usr/bin/prosody';
/** prosodyctl (override with `PROSODYCTL_BIN`), used to register accounts. */
export const PROSODYCTL_BIN = process.env.PROSODYCTL_BIN ?? '/usr/bin/prosodyctl';

/** An account to create before Prosody starts (or later with {@link Prosody.register}). */
export interface ProsodyAccountSpec {
  username: string;
  /** Default: the auth domain (`auth.meet.test`). */
  host?: string;
  /** Default: random. */
  password?: string;
}

/** A registered account. */
export interface ProsodyAccount {
  username: string;
  host: string;
  password: string;
  /** `username@host` */
  jid: string;
}

export interface ProsodyOptions {
  /**
   * Accounts to register. Default: `jvb@auth.meet.test` and `focus@auth.meet.test` with random
   * passwords (read them back from {@link Prosody.accounts} / {@link Prosody.account}).
   */
  accounts?: ProsodyAccountSpec[];
  /** Secret of the XEP-0114 component `jvb.meet.test`. Default: random. */
  componentSecret?: string;
  /** Minimum level written to the log file returned by `logs()`. Default `info`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * PBKDF2 iterations of the stored SCRAM-SHA-1 credentials (Prosody's `default_iteration_count`,
   * applied when accounts are registered). Default 128, to keep logins fast: @xmpp/client's
   * SCRAM-SHA-1 does one WebCrypto HMAC round trip per iteration, so Prosody's production default of
   * 10000 costs about 0.7 s per login on the test machines. Pass 10000 to measure real login times.
   */
  scramIterations?: number;
  /**
   * Require TLS on c2s (STARTTLS) with a fresh self-signed certificate per virtual host, as
   * docker-jitsi-meet's Prosody does (`c2s_require_encryption = true`). Default false.
   */
  requireTls?: boolean;
  /** Lua appended to the global section (before the first VirtualHost). */
  globalConfig?: string;
  /** Lua appended at the very end (e.g. more VirtualHosts or Components). */
  extraConfig?: string;
  /** How long a start may take before it fails. Default 10 s. */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default 3 s. */
  stopTimeoutMs?: number;
}

/** A running (or stopped) test Prosody. Ports and data survive {@link Prosody.restart}. */
export interface Prosody {
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** Client-to-server port (plain XMPP, STARTTLS not offered). */
  readonly c2sPort: number;
  /** XEP-0114 component port. */
  readonly componentPort: number;
  /** HTTP port: BOSH at `/http-bind`, WebSocket at `/xmpp-websocket`. */
  readonly httpPort: number;
  /** `xmpp://127.0.0.1:<c2sPort>`, the `service` for `@xmpp/client`. */
  readonly c2sService: string;
  /** `xmpp://127.0.0.1:<componentPort>`, the `service` for `@xmpp/component`. */
  readonly componentService: string;
  /** `ws://127.0.0.1:<httpPort>/xmpp-websocket` */
  readonly websocketService: string;
  /** `meet.test` */
  readonly domain: string;
  /** `auth.meet.test` */
  readonly authDomain: string;
  /** `internal.auth.meet.test`, the brewery's MUC service. */
  readonly mucDomain: string;
  /** `conference.meet.test`, the conference rooms' MUC service. */
  readonly conferenceDomain: string;
  /** `jvb.meet.test`, the XEP-0114 component. */
  readonly componentDomain: string;
  readonly componentSecret: string;
  /** `jvbbrewery@internal.auth.meet.test` (Jicofo's default name for the brewery). */
  readonly breweryJid: string;
  /** Registered accounts, in registration order. */
  readonly accounts: readonly ProsodyAccount[];
  /** The temp dir holding config, data and logs (removed by `stop()`). */
  readonly dir: string;
  readonly configPath: string;
  /** Pid of the current Prosody process (a new one after `restart()`); 0 once stopped. */
  readonly pid: number;
  /** The account `username` (on the auth domain unless `host` is given); throws if unknown. */
  account(username: string, host?: string): ProsodyAccount;
  /** Register another account (works while Prosody runs). Host default: the auth domain. */
  register(username: string, host?: string, password?: string): Promise<ProsodyAccount>;
  /** SIGTERM, SIGKILL after `stopTimeoutMs`, wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stop the process (as `stop()`, but keep config and data) and start it again on the same
   * ports. For reconnect tests: connected clients see their stream closed by the server.
   */
  restart(): Promise<void>;
  /** Prosody's log file plus anything it wrote to stdout/stderr. */
  logs(): string;
}

const LOOPBACK = '127.0.0.1';
const DOMAIN = 'meet.test';
const AUTH_DOMAIN = `auth.${DOMAIN}`;
const MUC_DOMAIN = `internal.${AUTH_DOMAIN}`;
const CONFERENCE_DOMAIN = `conference.${DOMAIN}`;
const COMPONENT_DOMAIN = `jvb.${DOMAIN}`;
const OUTPUT_LIMIT = 256 * 1024;

/**
 * The environment that puts a bridge in `p`'s brewery as docker-jitsi-meet's `.env` does (`XMPP_*`, the `jvb`
 * account), under the MUC nickname `nickname`.
 */
export function bridgeXmppEnv(p: Prosody, nickname: string): Record<string, string> {
  return {
    XMPP_SERVER: `${LOOPBACK}:${p.c2sPort}`,
    XMPP_DOMAIN: p.domain,
    XMPP_AUTH_DOMAIN: p.authDomain,
    XMPP_INTERNAL_MUC_DOMAIN: p.mucDomain,
    JVB_AUTH_PASSWORD: p.account('jvb').password,
    JVB_MUC_NICKNAME: nickname,
  };
}

/** True when Debian's prosody and prosodyctl are installed (for `describe.skipIf`). */
export function prosodyInstalled(): boolean {
  return existsSync(PROSODY_BIN) && existsSync(PROSODYCTL_BIN);
}

/**
 * Write a config into a fresh temp dir, register the accounts, start Prosody and wait until its
 * c2s, component and HTTP ports are listening (owned by the Prosody process, so a port grabbed by
 * someone else in the meantime is detected; the start is then retried on new ports).
 */
export async function startProsody(opts: ProsodyOptions = {}): Promise<Prosody> {
  if (!prosodyInstalled()) {
    throw new Error(
      `Prosody is not installed (${PROSODY_BIN}); run as root: apt-get install -y --no-install-recommends prosody lua-sec lua-event lua-unbound (or sh scripts/setup.sh test)`,
    );
  }
  const runAs = prosodyUser();
  const dir = await makeDir(runAs);
  if (opts.requireTls) await selfSignedCertificates(join(dir, 'certs'), [DOMAIN, AUTH_DOMAIN], runAs);
  const server = new TestProsody(dir, runAs, opts);
  try {
    await server.prepare(opts.accounts ?? [{ username: 'jvb' }, { username: 'focus' }]);
    for (let attempt = 1; ; attempt++) {
      try {
        await server.launch();
        return server;
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= 3) throw err;
        await server.choosePorts(); // someone took a port between our probe and Prosody's bind
      }
    }
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
}

/** uid/gid to run Prosody with: the `prosody` user when we are root, else ourselves. */
interface RunAs {
  uid?: number;
  gid?: number;
}

class PortInUseError extends Error {}

/** Live instances, killed if the test process exits without stopping them. */
const live = new Set<TestProsody>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.killNow();
  });
}

class TestProsody implements Prosody {
  readonly host = LOOPBACK;
  readonly domain = DOMAIN;
  readonly authDomain = AUTH_DOMAIN;
  readonly mucDomain = MUC_DOMAIN;
  readonly conferenceDomain = CONFERENCE_DOMAIN;
  readonly componentDomain = COMPONENT_DOMAIN;
  readonly breweryJid = `jvbbrewery@${MUC_DOMAIN}`;
  readonly componentSecret: string;
  readonly accounts: ProsodyAccount[] = [];
  readonly dir: string;
  readonly configPath: string;
  c2sPort = 0;
  componentPort = 0;
  httpPort = 0;

  readonly #runAs: RunAs;
  readonly #opts: ProsodyOptions;
  readonly #logFile: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #hasExited = true;
  #output = '';
  #removed = false;

  constructor(dir: string, runAs: RunAs, opts: ProsodyOptions) {
    this.dir = dir;
    this.#runAs = runAs;
    this.#opts = opts;
    this.configPath = join(dir, 'prosody.cfg.lua');
    this.#logFile = join(dir, 'logs', 'prosody.log');
    this.componentSecret = opts.componentSecret ?? randomBytes(12).toString('hex');
  }

  get c2sService(): string {
    return `xmpp://${LOOPBACK}:${this.c2sPort}`;
  }

  get componentService(): string {
    return `xmpp://${LOOPBACK}:${this.componentPort}`;
  }

  get websocketService(): string {
    return `ws://${LOOPBACK}:${this.httpPort}/xmpp-websocket`;
  }

  get pid(): number {
    return this.#child && !this.#hasExited ? (this.#child.pid ?? 0) : 0;
  }

  /** Pick ports, write the config, register the accounts. */
  async prepare(accounts: ProsodyAccountSpec[]): Promise<void> {
    await this.choosePorts();
    // prosodyctl runs are independent: register in parallel, list in the given order.
    const registered = await Promise.all(accounts.map((a) => this.#prosodyctlRegister(a.username, a.host, a.password)));
    for (const a of registered) this.#remember(a);
  }

  /** New free ports, and the config rewritten with them. */
  async choosePorts(): Promise<void> {
    const [c2s, comp, http] = await freePorts(3);
    if (c2s === undefined || comp === undefined || http === undefined) throw new Error('no free ports');
    [this.c2sPort, this.componentPort, this.httpPort] = [c2s, comp, http];
    await writeFile(this.configPath, this.#config(), { mode: 0o644 });
  }

  account(username: string, host: string = AUTH_DOMAIN): ProsodyAccount {
    const found = this.accounts.find((a) => a.username === username && a.host === host);
    if (!found) throw new Error(`no account ${username}@${host} (have: ${this.accounts.map((a) => a.jid).join(', ')})`);
    return found;
  }

  async register(username: string, host: string = AUTH_DOMAIN, password?: string): Promise<ProsodyAccount> {
    return this.#remember(await this.#prosodyctlRegister(username, host, password));
  }

  async #prosodyctlRegister(username: string, host: string = AUTH_DOMAIN, password?: string): Promise<ProsodyAccount> {
    const pwd = password ?? randomBytes(9).toString('base64url');
    await new Promise<void>((resolve, reject) => {
      execFile(
        PROSODYCTL_BIN,
        ['--config', this.configPath, 'register', username, host, pwd],
        { ...this.#runAs, cwd: this.dir, env: this.#env(), timeout: 10_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`prosodyctl register ${username}@${host} failed: ${err.message}\n${stdout}${stderr}`));
          else resolve();
        },
      );
    });
    return { username, host, password: pwd, jid: `${username}@${host}` };
  }

  #remember(account: ProsodyAccount): ProsodyAccount {
    const i = this.accounts.findIndex((a) => a.jid === account.jid);
    if (i >= 0) this.accounts[i] = account;
    else this.accounts.push(account);
    return account;
  }

  /** Spawn Prosody and wait until it owns its listening ports; throws (with the logs) if not. */
  async launch(): Promise<void> {
    if (this.#removed) throw new Error('this Prosody was stopped; start a new one');
    const [cmd, args, ids] = launchCommand(this.#runAs, [PROSODY_BIN, '-F', '--config', this.configPath]);
    const child = spawn(cmd, args, {
      ...ids,
      cwd: this.dir,
      env: this.#env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#hasExited = false;
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#hasExited = true;
        this.#append(`[harness] prosody pid ${child.pid} exited (code ${code}, signal ${signal})\n`);
        resolve();
      });
      child.once('error', (err) => {
        this.#hasExited = true;
        this.#append(`[harness] spawn failed: ${err.message}\n`);
        resolve();
      });
    });
    child.stdout?.on('data', (d: Buffer) => this.#append(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.#append(d.toString()));
    live.add(this);
    installExitHook();

    const logStart = this.#logSize();
    const ports = [this.c2sPort, this.componentPort, this.httpPort];
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 10_000);
    for (;;) {
      if (this.#hasExited) throw new Error(`Prosody exited during start-up\n${this.logs()}`);
      const log = this.#logSince(logStart);
      if (/Failed to open server port/.test(log)) {
        await this.#stopProcess();
        throw new PortInUseError(`Prosody could not bind its ports ${ports.join(', ')}\n${log}`);
      }
      if (child.pid && listensOn(child.pid, ports)) break;
      if (Date.now() > deadline) {
        await this.#stopProcess();
        throw new Error(`Prosody did not listen on ${ports.join(', ')} in time\n${this.logs()}`);
      }
      await sleep(20);
    }
    // The sockets are Prosody's and in LISTEN state; one real connect each to be sure.
    await Promise.all([canConnect(this.c2sPort), canConnect(this.componentPort)]);
  }

  async restart(): Promise<void> {
    await this.#stopProcess();
    // Same ports: the listening sockets use SO_REUSEADDR, but retry a few times in case a
    // port is briefly held.
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 10_000);
    for (;;) {
      try {
        await this.launch();
        return;
      } catch (err) {
        if (!(err instanceof PortInUseError) || Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    await this.#stopProcess();
    live.delete(this);
    if (!this.#removed) {
      this.#removed = true;
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  logs(): string {
    let file = '';
    try {
      file = readFileSync(this.#logFile, 'utf8');
    } catch {
      // not written yet, or removed by stop()
    }
    return this.#output ? `${file}\n--- stdout/stderr ---\n${this.#output}` : file;
  }

  /** Synchronous last-resort cleanup from the process 'exit' hook. */
  killNow(): void {
    if (this.#child?.pid && !this.#hasExited) {
      try {
        process.kill(this.#child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (!this.#removed) rmSync(this.dir, { recursive: true, force: true });
  }

  async #stopProcess(): Promise<void> {
    const child = this.#child;
    if (!child || this.#hasExited) return;
    child.kill('SIGTERM');
    const timeout = this.#opts.stopTimeoutMs ?? 3000;
    let timer: NodeJS.Timeout | undefined;
    const exitedInTime = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
    ]);
    clearTimeout(timer);
    if (!exitedInTime) {
      this.#append(`[harness] no exit ${timeout} ms after SIGTERM, sending SIGKILL\n`);
      child.kill('SIGKILL');
      await this.#exited;
    }
  }

  #env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: this.dir, LANG: 'C.UTF-8' };
  }

  #append(s: string): void {
    this.#output += s;
    if (this.#output.length > OUTPUT_LIMIT) this.#output = this.#output.slice(-OUTPUT_LIMIT);
  }

  #logSize(): number {
    try {
      return statSync(this.#logFile).size;
    } catch {
      return 0;
    }
  }

  #logSince(offset: number): string {
    try {
      return readFileSync(this.#logFile).subarray(offset).toString('utf8');
    } catch {
      return '';
    }
  }

  #config(): string {
    const d = this.dir;
    const level = this.#opts.logLevel ?? 'info';
    return `-- octobridge test Prosody, generated by bench/lib/prosody.ts
data_path = ${lua(join(d, 'data'))}
certificates = ${lua(join(d, 'certs'))}
log = { { levels = { min = ${lua(level)} }, to = "file", filename = ${lua(this.#logFile)} } }

interfaces = { "${LOOPBACK}" }
c2s_ports = { ${this.c2sPort} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
component_interfaces = { "${LOOPBACK}" }
component_ports = { ${this.componentPort} }
http_interfaces = { "${LOOPBACK}" }
http_ports = { ${this.httpPort} }
https_ports = { }
http_default_host = ${lua(DOMAIN)}
-- On SIGTERM Prosody sends <system-shutdown/> to every session, then its event loop re-checks
-- lingering connections only once a second: with a client connected, a stop took ~1.1 s. Destroy
-- what is left after 0.2 s instead (the stream errors are already out by then).
network_settings = { shutdown_deadline = 0.2 }

modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "bosh"; "websocket"; ${this.#opts.requireTls ? '"tls";' : ''} }
modules_disabled = { "s2s"; ${this.#opts.requireTls ? '' : '"tls";'} }
authentication = "internal_hashed"
default_iteration_count = ${this.#opts.scramIterations ?? 128}
storage = "internal"
allow_registration = false
c2s_require_encryption = ${this.#opts.requireTls ? 'true' : 'false'}
allow_unencrypted_plain_auth = true
consider_bosh_secure = true
consider_websocket_secure = true
http_cors_override = { bosh = { enabled = true }; websocket = { enabled = true } }
${this.#opts.globalConfig ?? ''}

VirtualHost ${lua(DOMAIN)}

VirtualHost ${lua(AUTH_DOMAIN)}

-- The brewery: bridges and Jicofo meet here. Rooms are created by the first join and never
-- locked (no owner has to submit a config form before others may enter).
Component ${lua(MUC_DOMAIN)} "muc"
  storage = "memory"
  restrict_room_creation = false
  muc_room_locking = false
  muc_room_default_public_jids = true

Component ${lua(CONFERENCE_DOMAIN)} "muc"
  storage = "memory"
  restrict_room_creation = false
  muc_room_locking = false
  muc_room_default_public_jids = true

-- XEP-0114 (legacy JVB component mode; current JVB and octobridge use the brewery)
Component ${lua(COMPONENT_DOMAIN)}
  component_secret = ${lua(this.componentSecret)}

${this.#opts.extraConfig ?? ''}
`;
  }
}

const SETPRIV = '/usr/bin/setpriv';

/**
 * How to exec Prosody: through util-linux `setpriv`, which drops to the prosody user (when we
 * are root) and sets a parent-death signal, then execs Prosody in place (same pid). So a test
 * process that dies without `stop()` (killed by a timeout, SIGKILL) takes its Prosody with it
 * instead of leaving it holding ports. Without setpriv: Node's own uid/gid switch.
 */
function launchCommand(runAs: RunAs, argv: string[]): [string, string[], RunAs] {
  if (!existsSync(SETPRIV)) return [argv[0] ?? PROSODY_BIN, argv.slice(1), runAs];
  const ids = runAs.uid !== undefined ? [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups'] : [];
  return [SETPRIV, [...ids, '--pdeathsig=KILL', '--', ...argv], {}];
}

/** A Lua string literal. */
function lua(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\0-\x1f]/.test(s)) throw new Error(`control character in Lua string ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The `prosody` user's uid/gid when we are root; nothing (= ourselves) otherwise. */
function prosodyUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('prosody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('no prosody user in /etc/passwd (is the prosody package installed?)');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * `<host>.crt` / `<host>.key` in Prosody's certificates dir (found there by host name), self-signed
 * with Debian's openssl, readable by the prosody user.
 */
async function selfSignedCertificates(certDir: string, hosts: string[], runAs: RunAs): Promise<void> {
  for (const host of hosts) {
    const key = join(certDir, `${host}.key`);
    const crt = join(certDir, `${host}.crt`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${host}`, '-keyout', key, '-out', crt], {
      stdio: 'ignore',
    });
    for (const f of [key, crt]) if (runAs.uid !== undefined && runAs.gid !== undefined) await chown(f, runAs.uid, runAs.gid);
  }
}

/**
 * A fresh temp dir that the Prosody user can traverse, with `data`, `certs` and `logs` owned
 * by that user. Uses `PROSODY_TEST_TMPDIR`, else os.tmpdir() unless the latter sits under a
 * directory the prosody user cannot enter (e.g. /root), then /tmp.
 */
async function makeDir(runAs: RunAs): Promise<string> {
  let base = process.env.PROSODY_TEST_TMPDIR ?? tmpdir();
  if (runAs.uid !== undefined && !worldTraversable(base)) base = '/tmp';
  const dir = await mkdtemp(join(base, 'octobridge-prosody-'));
  await chmod(dir, 0o755);
  for (const sub of ['data', 'certs', 'logs']) {
    const p = join(dir, sub);
    await mkdir(p, { mode: 0o750 });
    if (runAs.uid !== undefined && runAs.gid !== undefined) await chown(p, runAs.uid, runAs.gid);
  }
  return dir;
}

function worldTraversable(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    try {
      if ((statSync(p).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dirname(p) === p) return true;
  }
}

/** `n` distinct free TCP ports on loopback (all held open together, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const srv = createServer();
      return new Promise<typeof srv>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, LOOPBACK, () => resolve(srv));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * True when each port has a TCP socket in LISTEN state on 127.0.0.1 that belongs to `pid`
 * (matched through /proc/net/tcp inodes and /proc/<pid>/fd).
 */
function listensOn(pid: number, ports: number[]): boolean {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return false;
  }
  const wanted = new Map<string, number>(); // inode -> port
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '0A') continue; // 0A = TCP_LISTEN
    const [ip, portHex] = (f[1] ?? '').split(':');
    const port = parseInt(portHex ?? '', 16);
    if (ip === '0100007F' && ports.includes(port)) wanted.set(f[9] ?? '', port);
  }
  const owned = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    const port = m ? wanted.get(m[1] ?? '') : undefined;
    if (port !== undefined) owned.add(port);
  }
  return ports.every((p) => owned.has(p));
}

function canConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, LOOPBACK);
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
