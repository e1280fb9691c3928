/**
 * /metrics after a mediasoup worker died and was replaced (real workers, SIGKILL): the dead
 * worker's `octobridge_worker_*` series (labelled with its pid) are gone, also after its routers
 * and transports closed and after the next stats run; the replacement's series are there.
 */
import { randomUUID } from 'node:crypto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBridge } from '../bridge.ts';
import { allocate, sessionAccept } from '../../bench/lib/jicofo.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { until } from '../../test/helpers/media.ts';
import { attachMetrics, type MetricsAttachment } from './attach.ts';

let bridge: RunningBridge;
let attached: MetricsAttachment;

beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_FOCUS: '0', OCTOBRIDGE_WORKERS: '2' });
  attached = attachMetrics({ videobridge: bridge.videobridge, media: bridge.media, stats: bridge.stats });
});
afterAll(async () => {
  attached?.detach();
  await bridge?.close();
});

/** The `worker` label values of every `octobridge_worker_*` series. */
async function workerLabels(): Promise<Set<string>> {
  const families = parsePrometheusTextFormat((await attached.renderMetrics(undefined)).body);
  const out = new Set<string>();
  for (const f of families.filter((x) => x.name.startsWith('octobridge_worker_'))) {
    for (const s of f.metrics) if (s.labels?.worker) out.add(s.labels.worker);
  }
  return out;
}

describe('worker series', () => {
  it("drops a dead worker's series and exports its replacement's", async () => {
    const meetingId = randomUUID();
    await bridge.videobridge.conferenceModify(allocate(meetingId, 'k1', true));
    await bridge.videobridge.conferenceModify(sessionAccept(meetingId, 'k1', 10));
    await bridge.stats.update();
    const pids = bridge.media.workers.map((w) => String(w.worker.pid));
    expect(await workerLabels()).toEqual(new Set(pids));

    // The worker the conference's endpoint is on (its router and transports close when it dies).
    const victim = bridge.videobridge.conferences()[0]!.endpoints()[0]!.mediaEndpoint.slot.worker.pid;
    process.kill(victim, 'SIGKILL');
    await until(
      'a replacement worker',
      undefined,
      async () => bridge.media.workers.map((w) => (w.alive ? w.worker.pid : 0)),
      (live) => live.length === 2 && live.every((pid) => pid !== 0 && pid !== victim),
      15_000,
    );
    await bridge.stats.update();
    const labels = await workerLabels();
    expect(labels.has(String(victim)), 'the dead worker is not exported').toBe(false);
    expect(labels).toEqual(new Set(bridge.media.workers.map((w) => String(w.worker.pid))));
    await bridge.videobridge.conferenceModify({ meetingId, expire: true, endpoints: [] });
    expect((await workerLabels()).has(String(victim))).toBe(false);
  });
});
