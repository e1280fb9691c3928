/**
 * Graceful shutdown of a real bridge process (`node src/main.ts`, configured by a jvb.conf-style
 * file plus docker-jitsi-meet env vars) with a live 2-party conference, started the two ways an operator does: as
 * JVB's resources/graceful_shutdown.sh drives it (`POST /colibri/shutdown {"graceful-shutdown":true}`), and with
 * SIGTERM, what Kubernetes and `docker stop` send. Either way the brewery presence says `graceful_shutdown=true`, a
 * new conference is refused with `graceful_shutdown`, the running one goes on; when its participants leave the
 * presence says `shutting_down=true` and the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Colibri2Error } from '../../src/colibri2/errors.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { RemoteBridgeClient } from '../../src/xmpp/RemoteBridgeClient.ts';
import { allocate, jicofoClient } from '../../bench/lib/jicofo.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, until } from '../helpers/media.ts';
import { bridgeXmppEnv, startProsody, type Prosody } from '../../bench/lib/prosody.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.each(['POST /colibri/shutdown', 'SIGTERM'] as const)('graceful shutdown by %s', (trigger) => {
  let prosody: Prosody;
  let focus: RemoteBridgeClient;
  let proc: ChildProcess;
  let exited: Promise<number | null>;
  let dir: string;
  let ports: { publicPort: number; privatePort: number };
  const peers: BrowserPeer[] = [];

  /**
   * Start the bridge process on two ports found free and wait for its brewery presence. A port found free can be taken
   * before the bridge binds it (another test's outgoing connection gets it as its ephemeral port): the bridge then exits
   * at start-up (EADDRINUSE), and it is started again on other ports.
   */
  async function startBridge(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const [publicPort, privatePort] = [await freePort(), await freePort()];
      const conf = path.join(dir, 'jvb.conf');
      writeFileSync(
        conf,
        `videobridge {
    http-servers {
      public { host = 127.0.0.1, port = ${publicPort} }
      private { host = 127.0.0.1, port = ${privatePort} }
    }
    ice.udp.port = 0
    rest.shutdown.enabled = true
    shutdown {
      shutting-down-delay = 1 second
    }
    stats.interval = 500 ms
  }
  `,
      );
      proc = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts')], {
        env: {
          ...process.env,
          OCTOBRIDGE_CONFIG: conf,
          OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
          ...bridgeXmppEnv(prosody, 'leaving-bridge'),
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const child = proc;
      exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      const joined = focus.waitForBridge(20_000).then(() => true);
      const up = await Promise.race([joined, exited.then(() => false)]);
      if (up) {
        ports = { publicPort, privatePort };
        return;
      }
      joined.catch(() => undefined); // its timer still runs
      if (attempt >= 3) throw new Error(`the bridge exited ${attempt} times before joining the brewery`);
    }
  }

  beforeAll(async () => {
    prosody = await startProsody();
    dir = mkdtempSync(path.join(os.tmpdir(), 'octobridge-shutdown-'));
    focus = jicofoClient(prosody, createLogger('silent', { pretty: false }));
    await focus.start();
    await startBridge();
  });

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await focus?.stop();
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await prosody?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses new conferences, keeps the live one, exits 0 once it ends', async () => {
    const { publicPort, privatePort } = ports;
    const bridgeJid = focus.bridges()[0]!.jid;
    const media = 'width=320&height=180&fps=15';
    const alice = await openPeer(`http://127.0.0.1:${publicPort}/last-call?name=Alice&${media}`);
    peers.push(alice);
    const bob = await openPeer(`http://127.0.0.1:${publicPort}/last-call?name=Bob&${media}`);
    peers.push(bob);
    await expectMediaFrom(alice, 1);
    await expectMediaFrom(bob, 1);

    if (trigger === 'SIGTERM') {
      proc.kill('SIGTERM');
    } else {
      const res = await fetch(`http://127.0.0.1:${privatePort}/colibri/shutdown`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ 'graceful-shutdown': 'true' }),
      });
      expect(res.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 600)); // one stats interval
    await until(
      'presence says graceful_shutdown',
      undefined,
      async () => focus.bridges()[0]?.stats.graceful_shutdown,
      (v) => v === 'true',
      5000,
    );
    const stats = (await (await fetch(`http://127.0.0.1:${privatePort}/colibri/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ graceful_shutdown: true, shutting_down: false, participants: 2 });

    // New conferences: JVB's graceful_shutdown error. The live one goes on.
    const refused = await focus.conferenceModify(allocate(randomUUID(), 'late0001', true), bridgeJid).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Colibri2Error);
    expect([(refused as Colibri2Error).condition, (refused as Colibri2Error).reason]).toEqual(['service-unavailable', 'graceful_shutdown']);
    await expectMediaFrom(alice, 1);
    expect(proc.exitCode).toBeNull();

    // The participants leave: shutting down, then the process exits.
    await Promise.all([alice.close(), bob.close()]);
    await until(
      'presence says shutting_down',
      undefined,
      async () => focus.bridges()[0]?.stats.shutting_down,
      (v) => v === 'true',
      10_000,
    );
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(code).toBe(0);
    await until(
      'bridge left the brewery',
      undefined,
      async () => focus.bridges().length,
      (n) => n === 0,
      5000,
    );
  });
});
