/**
 * Start a real octobridge in the test process, on free ports, bound to loopback.
 */
import { afterAll, beforeAll } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';

/**
 * Env overrides on top of the test defaults (free ports, loopback, quiet logs); `file`: a
 * jvb.conf-style config file (none by default, so a host's /etc/jitsi/videobridge/jvb.conf is ignored).
 */
export async function startTestBridge(env: Record<string, string> = {}, opts: { file?: string } = {}): Promise<RunningBridge> {
  const config = await loadConfig({
    JVB_PORT: '0',
    // One worker unless a test asks for a pool (each test bridge would start one per core).
    OCTOBRIDGE_WORKERS: '1',
    OCTOBRIDGE_PUBLIC_PORT: '0',
    OCTOBRIDGE_PUBLIC_HOST: '127.0.0.1',
    OCTOBRIDGE_PRIVATE_PORT: '0',
    OCTOBRIDGE_LISTEN_IP: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
    ...env,
  }, { file: opts.file ?? null });
  return startBridge(config, createLogger(config.log.level, { pretty: false }));
}

/** A bridge for one test file, and the participants (anything closable) to close with it. */
export interface BridgeFixture {
  /** The running bridge (set once the file's `beforeAll` has run). */
  readonly bridge: RunningBridge;
  /** Close `peer` after the file's tests, before the bridge; returns it. */
  track<T extends { close(): Promise<void> }>(peer: T): T;
}

/**
 * Registers `beforeAll` (start a test bridge with `env`) and `afterAll` (close every tracked peer, then the
 * bridge) in the calling test file. `env` may be a function, evaluated in `beforeAll` (e.g. after a namespace
 * the env depends on exists).
 */
export function useTestBridge(env: Record<string, string> | (() => Record<string, string>) = {}): BridgeFixture {
  let bridge: RunningBridge | undefined;
  const peers: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    bridge = await startTestBridge(typeof env === 'function' ? env() : env);
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await bridge?.close();
  });
  return {
    get bridge(): RunningBridge {
      if (!bridge) throw new Error('the test bridge is not started yet (use it inside a test or hook)');
      return bridge;
    },
    track(peer) {
      peers.push(peer);
      return peer;
    },
  };
}
