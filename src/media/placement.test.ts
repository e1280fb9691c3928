/**
 * Placement on a real mediasoup worker pool (two workers): conferences created at the same
 * moment spread over the workers (placement reserves a worker for an endpoint while its transport
 * is being created, before its consumers and packet rate show), and a dozen conferences attach
 * no per-conference listener to the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBridge } from '../bridge.ts';
import { startTestBridge } from '../../test/helpers/bridge.ts';
import { allocate } from '../../bench/lib/jicofo.ts';

let bridge: RunningBridge;
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);

beforeAll(async () => {
  bridge = await startTestBridge({ OCTOBRIDGE_WORKERS: '2', OCTOBRIDGE_FOCUS: '0' });
  process.on('warning', onWarning);
});

afterAll(async () => {
  process.off('warning', onWarning);
  await bridge?.close();
});

describe('placement', () => {
  it('spreads a burst of new conferences over the workers', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    await Promise.all(ids.map((id) => bridge.videobridge.conferenceModify(allocate(id, `ep-${id}`, true))));
    const perWorker = new Map<number, number>();
    for (const id of ids) {
      const slot = bridge.videobridge.conferenceByMeetingId(id)!.endpoint(`ep-${id}`)!.mediaEndpoint.slot;
      perWorker.set(slot.index, (perWorker.get(slot.index) ?? 0) + 1);
    }
    expect([...perWorker.entries()].sort()).toEqual([
      [0, 6],
      [1, 6],
    ]);
    // Nothing waits to be placed any more: each worker counts exactly its endpoints.
    for (const w of bridge.media.workers) expect(bridge.media.endpointsOn(w)).toBe(6);
  });

  it('attaches no listener per conference to the engine (no MaxListenersExceededWarning)', () => {
    expect(bridge.videobridge.conferences().length).toBeGreaterThan(10);
    expect(bridge.media.listenerCount('workerDied')).toBeLessThan(3);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
