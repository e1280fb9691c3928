/**
 * `--cascade N`: N octobridges, each its own child process (bridge.ts `startBridgeProcess`), as a
 * standalone cascade (docs/relay.md, "Standalone cascade"): every bridge has relays on with its own region
 * (eu, us, ap, …) and relay id (`jvb-<region>`); the first runs the embedded focus with the others
 * in `OCTOBRIDGE_CASCADE` (their private servers on loopback), the others run without a page and
 * with the colibri2 REST API on. Participants join through the first bridge's focus with a
 * `region` and are placed on that region's bridge; the focus links the bridges of a room with
 * relays. Seen from the harness it is one server: the first bridge's focus for the clients, the
 * processes of every bridge (named `<region>:node`, `<region>:worker0`, …) for CPU and memory,
 * `/colibri/stats` of every bridge summed; and the relay outage of `--drop-relay-at` (each
 * bridge's `POST /debug/relays/{relayId}/outage` for every other bridge's relay id).
 */
import os from 'node:os';
import path from 'node:path';
import { startBridgeProcess, type BridgeUnderTest } from '../lib/bridgeProcess.ts';
import type { RelayOutageCall } from '../lib/results.ts';

/** Regions of the bridges, in order (the first runs the focus); `r<i>` past the list. */
const REGIONS = ['eu', 'us', 'ap', 'sa', 'af', 'me', 'oc'];

/** The regions of an `n`-bridge cascade. */
export function cascadeRegions(n: number): string[] {
  return Array.from({ length: n }, (_, i) => REGIONS[i] ?? `r${i}`);
}

/** A bridge's relay id (`JVB_OCTO_RELAY_ID`). */
export const relayIdOf = (region: string): string => `jvb-${region}`;

/** The bridge of a region in a process name (`eu:worker0` → `eu`); undefined for a one-bridge name. */
export function bridgeOfProcess(name: string): string | undefined {
  const i = name.indexOf(':');
  return i > 0 ? name.slice(0, i) : undefined;
}

/** One bridge of the cascade. */
export interface CascadeMember {
  region: string;
  relayId: string;
  bridge: BridgeUnderTest;
}

/** The cascade, as one server under test (the first bridge's focus) plus its bridges. */
export interface CascadeUnderTest extends BridgeUnderTest {
  readonly bridges: readonly CascadeMember[];
  /**
   * Pause what arrives on every relay for `ms` on every bridge (a two-way outage of every relay),
   * all requests at once; resolves when every bridge answered.
   */
  relayOutage(ms: number): Promise<RelayOutageCall[]>;
}

/** Sum the numbers of the bridges' `/colibri/stats`; levels and loss fractions are the worst bridge's. */
function mergeStats(all: (Record<string, unknown> | undefined)[]): Record<string, unknown> | undefined {
  const present = all.filter((s): s is Record<string, unknown> => s !== undefined);
  if (present.length === 0) return undefined;
  const worst = new Set(['stress_level', 'incoming_loss', 'outgoing_loss', 'overall_loss']);
  const out: Record<string, unknown> = {};
  for (const s of present) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v !== 'number') continue;
      const prev = typeof out[k] === 'number' ? (out[k] as number) : undefined;
      out[k] = prev === undefined ? v : worst.has(k) ? Math.max(prev, v) : prev + v;
    }
  }
  return out;
}

/** `POST {privateUrl}/debug/relays/{relayId}/outage?ms=`. */
async function postOutage(m: CascadeMember, relayId: string, ms: number): Promise<RelayOutageCall> {
  const call: RelayOutageCall = { on: m.region, relayId, status: 0, relays: 0 };
  if (!m.bridge.privateUrl) return { ...call, error: 'no private server known' };
  try {
    const res = await fetch(`${m.bridge.privateUrl}/debug/relays/${encodeURIComponent(relayId)}/outage?ms=${Math.round(ms)}`, {
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    call.status = res.status;
    if (res.ok) call.relays = Number((JSON.parse(text) as { relays?: number }).relays ?? 0);
    else call.error = text.slice(0, 200);
  } catch (err) {
    call.error = (err as Error).message;
  }
  return call;
}

/**
 * Start an `n`-bridge cascade (n ≥ 2), logs in `dir/bridge-<region>.log`. `workers`: mediasoup
 * workers per bridge (default one per core); `jvbPort`: the first bridge's media port, the others
 * spaced by max(10, workers) (a bridge's workers take consecutive ports); default: free ports.
 * @throws Error when a bridge does not start (the others are stopped).
 */
export async function startCascade(n: number, dir: string, opts: { workers?: number; jvbPort?: number } = {}): Promise<CascadeUnderTest> {
  const regions = cascadeRegions(n);
  const spacing = Math.max(10, opts.workers ?? os.availableParallelism());
  const env = (i: number, region: string): Record<string, string> => ({
    ENABLE_OCTO: '1',
    JVB_OCTO_REGION: region,
    JVB_OCTO_RELAY_ID: relayIdOf(region),
    JVB_PORT: opts.jvbPort ? String(opts.jvbPort + i * spacing) : '0',
    ...(opts.workers ? { OCTOBRIDGE_WORKERS: String(opts.workers) } : {}),
  });
  const started: CascadeMember[] = [];
  const start = async (i: number, region: string, more: Record<string, string>): Promise<CascadeMember> => {
    const bridge = await startBridgeProcess(path.join(dir, `bridge-${region}.log`), { ...env(i, region), ...more });
    const m = { region, relayId: relayIdOf(region), bridge };
    started.push(m);
    return m;
  };
  let members: CascadeMember[];
  try {
    // The others first: the focus bridge needs their private servers' ports.
    const others = await Promise.all(regions.slice(1).map((r, k) => start(k + 1, r, { COLIBRI_REST_ENABLED: 'true', OCTOBRIDGE_FOCUS: 'false' })));
    const cascade = others.map((m) => ({ 'relay-id': m.relayId, region: m.region, url: m.bridge.privateUrl }));
    const focus = await start(0, regions[0] as string, { OCTOBRIDGE_CASCADE: JSON.stringify(cascade) });
    members = [focus, ...others];
  } catch (err) {
    await Promise.all(started.map((m) => m.bridge.close()));
    throw err;
  }
  const first = (members[0] as CascadeMember).bridge;
  return {
    name: 'octobridge',
    publicUrl: first.publicUrl,
    focusBase: first.focusBase,
    clientUrl: first.clientUrl,
    localAddress: first.localAddress,
    statsUrl: first.statsUrl,
    privateUrl: first.privateUrl,
    pid: first.pid,
    bridges: members,
    workerPids: () => members.flatMap((m) => m.bridge.workerPids()),
    processes: () => members.flatMap((m) => m.bridge.processes().map((p) => ({ name: `${m.region}:${p.name}`, pid: p.pid }))),
    stats: async () => mergeStats(await Promise.all(members.map((m) => m.bridge.stats()))),
    relayOutage: (ms) => Promise.all(members.flatMap((m) => members.filter((o) => o !== m).map((o) => postOutage(m, o.relayId, ms)))),
    async close() {
      // The focus bridge first, so that it does not re-link a room while the others go.
      await first.close();
      await Promise.all(members.slice(1).map((m) => m.bridge.close()));
    },
  };
}
