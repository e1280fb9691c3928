/**
 * The network-namespace fixture of a test file: a namespace with a bridge reachable from it. The namespaces
 * themselves (rate-limited downlinks, links between namespaces): bench/lib/netns.ts.
 */
import { afterAll, beforeAll } from 'vitest';
import { createNetns, netnsBridgeEnv, type Netns } from '../../bench/lib/netns.ts';
import { useTestBridge, type BridgeFixture } from './bridge.ts';

export * from '../../bench/lib/netns.ts';

/** A namespace and a bridge reachable from it (and from loopback), for one test file. */
export interface NetnsBridgeFixture extends BridgeFixture {
  /** The namespace (set once the file's `beforeAll` has run). */
  readonly ns: Netns;
}

/**
 * Registers, in the calling test file (inside its `describe`): `beforeAll` creating a namespace and starting a
 * test bridge with {@link netnsBridgeEnv}; `afterAll` closing the tracked peers, the bridge, then the namespace.
 */
export function useNetnsBridge(): NetnsBridgeFixture {
  let ns: Netns | undefined;
  beforeAll(async () => {
    ns = await createNetns();
  });
  // Registered before the bridge's: vitest runs afterAll hooks as a stack, so this one runs last.
  afterAll(async () => {
    await ns?.close();
  });
  const fixture = useTestBridge(() => netnsBridgeEnv(ns as Netns));
  return {
    get ns(): Netns {
      if (!ns) throw new Error('the namespace is not created yet (use it inside a test or hook)');
      return ns;
    },
    get bridge() {
      return fixture.bridge;
    },
    track: fixture.track,
  };
}
