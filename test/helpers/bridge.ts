/**
 * A real octobridge for a test file (started in the test process, on free ports, bound to loopback:
 * bench/lib/bridge.ts), and the peers to close with it.
 */
import { afterAll, beforeAll } from 'vitest';
import type { RunningBridge } from '../../src/bridge.ts';
import { startTestBridge } from '../../bench/lib/bridge.ts';

export { startTestBridge };

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
export function useTestBridge(env: Record<string, string> | (() => Record<string, string>) = {}, opts: { file?: string } = {}): BridgeFixture {
  let bridge: RunningBridge | undefined;
  const peers: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    bridge = await startTestBridge(typeof env === 'function' ? env() : env, opts);
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

/**
 * Two bridges of a standalone cascade in this process, as {@link useTestBridge} fixtures: `us` (relay id `jvb-us`,
 * region us, colibri2 REST on, no focus of its own) and `eu` (relay id `jvb-eu`, region eu), whose focus places
 * participants by region and reaches `us` over its colibri2 REST API (`OCTOBRIDGE_CASCADE`). Relays between them run
 * on loopback.
 */
export function useCascadeBridges(): { us: BridgeFixture; eu: BridgeFixture } {
  const us = useTestBridge({ ENABLE_OCTO: '1', JVB_OCTO_REGION: 'us', JVB_OCTO_RELAY_ID: 'jvb-us', COLIBRI_REST_ENABLED: 'true', OCTOBRIDGE_FOCUS: 'false' });
  const eu = useTestBridge(() => ({
    ENABLE_OCTO: '1',
    JVB_OCTO_REGION: 'eu',
    JVB_OCTO_RELAY_ID: 'jvb-eu',
    OCTOBRIDGE_CASCADE: JSON.stringify([{ 'relay-id': 'jvb-us', region: 'us', url: `http://127.0.0.1:${us.bridge.privatePort}` }]),
  }));
  return { us, eu };
}
