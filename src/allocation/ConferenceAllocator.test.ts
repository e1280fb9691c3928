/**
 * ConferenceAllocator queries the bridge channel relies on: which senders' video a receiver wants (JVB
 * BitrateController.isOnStageOrSelected / hasNonZeroEffectiveConstraints, as Endpoint.wantsStatsFrom asks them);
 * sources waiting for an SSRC slot, the ideal bitrate, when a receiver is allocated again, and (fast-check) that the
 * candidate sources a receiver keeps between runs match a fresh computation after any sequence of changes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { ConferenceAllocator, type ReceiverSink } from './ConferenceAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG } from './settings.ts';
import { sameAllocation, type Allocation } from './types.ts';

const sink: ReceiverSink = { video: () => undefined, audio: () => undefined, forwardedSources: () => undefined, idealBitrate: () => undefined };
let allocator: ConferenceAllocator | undefined;
afterEach(() => allocator?.close());

describe('wantsVideoOf', () => {
  it('is true for a sender with a source on stage, selected, or constrained above 0 for the receiver', () => {
    const a = (allocator = new ConferenceAllocator(DEFAULT_ALLOCATION_CONFIG));
    for (const id of ['r', 's', 't']) a.addEndpoint(id, sink);
    a.addSource('s-a0', 's', 'audio');
    a.addSource('s-v0', 's', 'video');
    a.addSource('t-v0', 't', 'video');
    a.sourceReady('r', 's-v0');
    a.sourceReady('r', 't-v0');
    a.flush();
    // JVB's initial-max-height-px (0): nothing wanted before the receiver's first constraints.
    expect([a.wantsVideoOf('r', 's'), a.wantsVideoOf('r', 't')]).toEqual([false, false]);
    a.setConstraints('r', { defaultConstraints: { maxHeight: 180 } });
    a.flush();
    expect([a.wantsVideoOf('r', 's'), a.wantsVideoOf('r', 't')]).toEqual([true, true]);
    a.setConstraints('r', { defaultConstraints: { maxHeight: 0 }, constraints: { 't-v0': { maxHeight: 360 } } });
    a.flush();
    expect([a.wantsVideoOf('r', 's'), a.wantsVideoOf('r', 't')]).toEqual([false, true]);
    // Selected or on stage counts even with constraints 0.
    a.setConstraints('r', { selectedSources: ['s-v0'] });
    expect(a.wantsVideoOf('r', 's')).toBe(true);
    a.setConstraints('r', { selectedSources: [], onStageSources: ['s-v0'] });
    expect(a.wantsVideoOf('r', 's')).toBe(true);
    a.setConstraints('r', { onStageSources: [] });
    expect(a.wantsVideoOf('r', 's')).toBe(false);
    // An audio-only sender, or an unknown receiver: no.
    expect(a.wantsVideoOf('r', 'nobody')).toBe(false);
    expect(a.wantsVideoOf('nobody', 's')).toBe(false);
  });
});

describe('sources waiting for an SSRC slot', () => {
  it('are allocated like ready ones, and a new consumer gets the decision again once it is ready', () => {
    const decisions: [string, boolean][] = [];
    const audio: [string, boolean][] = [];
    const recording: ReceiverSink = {
      video: (source, f) => decisions.push([source, f.paused]),
      audio: (source, on) => audio.push([source, on]),
      forwardedSources: () => undefined,
      idealBitrate: () => undefined,
    };
    const a = (allocator = new ConferenceAllocator(DEFAULT_ALLOCATION_CONFIG));
    a.addEndpoint('r', recording);
    a.addEndpoint('s', sink);
    a.addSource('s-v0', 's', 'video');
    a.addSource('s-a0', 's', 'audio');
    a.setLayers('s-v0', [{ spatial: 0, temporal: 0, height: 180, frameRate: 15, bitrateBps: 150_000 }]);
    a.setConstraints('r', { defaultConstraints: { maxHeight: 180 } });
    a.bandwidthChanged('r', 2_000_000);
    // No consumer yet (no slot): the allocation still forwards it, which gets it a slot.
    a.sourceHeld('r', 's-v0');
    a.sourceHeld('r', 's-a0');
    a.flush();
    expect(decisions).toEqual([['s-v0', false]]);
    expect(audio).toEqual([['s-a0', true]]);
    // Its consumer exists and its map went out: the same decision, sent again for the new consumer.
    a.sourceReady('r', 's-v0');
    a.sourceReady('r', 's-a0');
    a.flush();
    expect(decisions).toEqual([
      ['s-v0', false],
      ['s-v0', false],
    ]);
    expect(audio).toEqual([
      ['s-a0', true],
      ['s-a0', true],
    ]);
    // Ready again (a map announced again): nothing new.
    a.sourceReady('r', 's-v0');
    a.flush();
    expect(decisions).toHaveLength(2);
  });
});

describe('the ideal bitrate (what the transport pads up to while the estimate is below it)', () => {
  it('is the ideal layers’ sum, passed on when it changes by more than 10 % or to or from 0', () => {
    const ideal: number[] = [];
    const recording: ReceiverSink = { ...sink, idealBitrate: (bps) => ideal.push(bps) };
    const a = (allocator = new ConferenceAllocator(DEFAULT_ALLOCATION_CONFIG));
    a.addEndpoint('r', recording);
    a.addEndpoint('s', sink);
    a.addSource('s-v0', 's', 'video');
    const layers = (top: number) => [
      { spatial: 0, temporal: 0, height: 180, frameRate: 15, bitrateBps: 150_000 },
      { spatial: 1, temporal: 0, height: 720, frameRate: 15, bitrateBps: top },
    ];
    a.setLayers('s-v0', layers(1_000_000));
    a.sourceReady('r', 's-v0');
    a.bandwidthChanged('r', 300_000);
    a.flush();
    // Nothing wanted yet (no constraints): 0, which a new transport has already, so nothing is passed on.
    expect(ideal).toEqual([]);
    a.setConstraints('r', { onStageSources: ['s-v0'], constraints: { 's-v0': { maxHeight: 720 } } });
    a.flush();
    // On stage: 720p is the ideal although only 180p fits the estimate.
    expect(ideal).toEqual([1_000_000]);
    expect(a.state('r')?.allocation.sources[0]?.target?.height).toBe(180);
    // New bitrates count at the next run (here: the estimate moved by more than 15 %).
    a.setLayers('s-v0', layers(1_050_000));
    a.bandwidthChanged('r', 400_000);
    a.flush();
    expect(ideal).toEqual([1_000_000]);
    a.setLayers('s-v0', layers(1_200_000));
    a.bandwidthChanged('r', 300_000);
    a.flush();
    expect(ideal).toEqual([1_000_000, 1_200_000]);
    a.setConstraints('r', { onStageSources: [], constraints: { 's-v0': { maxHeight: 0 } } });
    a.flush();
    expect(ideal).toEqual([1_000_000, 1_200_000, 0]);
  });
});

describe('the send-side estimate (JVB bandwidthChanged)', () => {
  it('is used when it moves by more than bwe-change-threshold from the last one used, or when it resets', () => {
    const a = (allocator = new ConferenceAllocator({ ...DEFAULT_ALLOCATION_CONFIG, bweChangeThreshold: 0.15 }));
    a.addEndpoint('r', sink);
    const used = (): number | undefined => a.state('r')?.bweBps;
    a.bandwidthChanged('r', 1_000_000);
    expect(used()).toBe(1_000_000);
    // Within 15 % of the last one used, however many: ignored (each measured from 1,000,000, not from the one before).
    for (const bps of [1_100_000, 1_150_000, 860_000]) a.bandwidthChanged('r', bps);
    expect(used()).toBe(1_000_000);
    a.bandwidthChanged('r', 1_160_000);
    expect(used()).toBe(1_160_000);
    // The first estimate of a relocated endpoint's new transport: used as it is, since the worker measures the next
    // change from it.
    a.bandwidthChanged('r', 1_200_000, true);
    expect(used()).toBe(1_200_000);
  });
});

describe('when a receiver is allocated again', () => {
  afterEach(() => vi.useRealTimers());

  it('at once for its constraints, after the minimum interval for estimates and a sender’s new layer', () => {
    vi.useFakeTimers();
    const decisions: [number, number | undefined][] = [];
    const recording: ReceiverSink = { ...sink, video: (_source, f) => decisions.push([Date.now(), f.spatialLayer]) };
    const a = (allocator = new ConferenceAllocator({ ...DEFAULT_ALLOCATION_CONFIG, minTimeBetweenCalculationsMs: 200 }));
    a.addEndpoint('r', recording);
    a.addEndpoint('s', sink);
    a.addSource('s-v0', 's', 'video');
    const layer = (spatial: number, height: number, bitrateBps: number) => ({ spatial, temporal: 0, height, frameRate: 30, bitrateBps });
    a.setLayers('s-v0', [layer(0, 180, 150_000)]);
    a.sourceReady('r', 's-v0');
    a.bandwidthChanged('r', 3_000_000);
    a.setConstraints('r', { defaultConstraints: { maxHeight: 180 } });
    vi.advanceTimersByTime(0);
    const t0 = Date.now();
    expect(decisions).toEqual([[t0, 0]]);
    // On stage at 720p 10 ms after that run: allocated in the next turn, not 200 ms after the last run.
    vi.advanceTimersByTime(10);
    a.setConstraints('r', { onStageSources: ['s-v0'], constraints: { 's-v0': { maxHeight: 720 } } });
    vi.advanceTimersByTime(0);
    // The sender turns its 720p encoding on (the layer the receiver waits for): 200 ms after the last run.
    vi.advanceTimersByTime(10);
    a.setLayers('s-v0', [layer(0, 180, 150_000), layer(1, 720, 1_500_000)]);
    vi.advanceTimersByTime(100);
    expect(decisions).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(decisions.at(-1)).toEqual([t0 + 210, 1]);
    // An estimate change right after coalesces too; a constraints change then does not wait for it.
    a.bandwidthChanged('r', 500_000);
    vi.advanceTimersByTime(50);
    expect(decisions.at(-1)).toEqual([t0 + 210, 1]);
    a.setConstraints('r', { onStageSources: [], constraints: { 's-v0': { maxHeight: 180 } } });
    vi.advanceTimersByTime(0);
    expect(decisions.at(-1)).toEqual([t0 + 270, 0]);
  });
});

describe("a receiver's candidate sources, kept between runs", () => {
  type Op =
    | { op: 'add'; name: string; owner: string; kind: 'audio' | 'video' }
    | { op: 'remove'; name: string }
    | { op: 'ready' | 'held'; receiver: string; name: string }
    | { op: 'resetReceiver'; receiver: string }
    | { op: 'resetSource'; name: string }
    | { op: 'type'; name: string; videoType: 'CAMERA' | 'DESKTOP' | 'DISABLED' }
    | { op: 'speaker'; id: string }
    | { op: 'rejoin'; id: string }
    | { op: 'layers'; name: string; top: boolean }
    | { op: 'run' };
  const ids = ['a', 'b', 'c'];
  const names = ['x0', 'x1', 'x2', 'x3', 'x4'];
  const id = fc.constantFrom(...ids);
  const name = fc.constantFrom(...names);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), name, owner: id, kind: fc.constantFrom('audio' as const, 'video' as const) }),
    fc.record({ op: fc.constant('remove' as const), name }),
    fc.record({ op: fc.constantFrom('ready' as const, 'held' as const), receiver: id, name }),
    fc.record({ op: fc.constant('resetReceiver' as const), receiver: id }),
    fc.record({ op: fc.constant('resetSource' as const), name }),
    fc.record({ op: fc.constant('type' as const), name, videoType: fc.constantFrom('CAMERA' as const, 'DESKTOP' as const, 'DISABLED' as const) }),
    fc.record({ op: fc.constant('speaker' as const), id }),
    fc.record({ op: fc.constant('rejoin' as const), id }),
    fc.record({ op: fc.constant('layers' as const), name, top: fc.boolean() }),
    fc.constant({ op: 'run' as const }),
  );
  /** Each receiver's default constraints in the runs that are checked. */
  const height: Record<string, number> = { a: 180, b: 360, c: 720 };

  it('are what a fresh grouping of the sources ready or held for it gives, in last-N order, after any sequence of changes; the senders are told the highest height anyone has for each', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 80 }), (ops) => {
        const a = new ConferenceAllocator(DEFAULT_ALLOCATION_CONFIG);
        const announced = new Map<string, number>();
        a.on('senderConstraints', (_owner, source, maxHeight) => announced.set(source, maxHeight));
        const allocated = new Set<string>();
        a.on('allocated', (r) => allocated.add(r));
        try {
          for (const r of ids) a.addEndpoint(r, sink);
          // The model: sources in insertion order (a Map keeps a replaced key's place, as the allocator's does).
          const sources = new Map<string, { owner: string; kind: 'audio' | 'video'; videoType: string }>();
          const ready = new Map(ids.map((r) => [r, new Set<string>()]));
          const held = new Map(ids.map((r) => [r, new Set<string>()]));
          const forget = (n: string): void => {
            for (const r of ids) {
              ready.get(r)?.delete(n);
              held.get(r)?.delete(n);
            }
          };
          const expected = (r: string): string[] => {
            const byOwner = new Map<string, string[]>();
            for (const [n, s] of sources) {
              if (s.kind !== 'video' || s.owner === r || !(ready.get(r)?.has(n) || held.get(r)?.has(n))) continue;
              byOwner.set(s.owner, [...(byOwner.get(s.owner) ?? []), n]);
            }
            const sends = (o: string): boolean => (byOwner.get(o) ?? []).some((n) => sources.get(n)?.videoType !== 'DISABLED');
            const order = a.speech.lastNOrder(sends).flatMap((o) => byOwner.get(o) ?? []);
            // The allocation lists them as prioritize() does without a selection: the disabled ones last.
            const disabled = (n: string): boolean => sources.get(n)?.videoType === 'DISABLED';
            return [...order.filter((n) => !disabled(n)), ...order.filter(disabled)];
          };
          let lastN = -1;
          const check = (): void => {
            // Allocate every receiver now (a changed last-N schedules it; both values limit nothing here).
            lastN = lastN === -1 ? 100 : -1;
            const before = new Map(ids.map((r) => [r, a.state(r)?.allocation as Allocation]));
            allocated.clear();
            for (const r of ids) a.setConstraints(r, { lastN, defaultConstraints: { maxHeight: height[r] as number } });
            a.flush();
            for (const r of ids) expect(a.state(r)?.allocation.sources.map((s) => s.source)).toEqual(expected(r));
            // One run each: 'allocated' when the allocation forwards other layers or sources (JVB isTheSameAs).
            for (const r of ids) expect([r, allocated.has(r)]).toEqual([r, !sameAllocation(before.get(r) as Allocation, a.state(r)?.allocation as Allocation)]);
            // The senders: per video source, the highest effective height of the receivers that have it (a disabled
            // source's is 0), 0 when none has it (a source never announced counts as 0).
            for (const [n, s] of sources) {
              if (s.kind !== 'video') continue;
              const want = Math.max(0, ...ids.filter((r) => expected(r).includes(n)).map((r) => (s.videoType === 'DISABLED' ? 0 : (height[r] as number))));
              expect([n, announced.get(n) ?? 0]).toEqual([n, want]);
            }
          };
          for (const o of ops) {
            if (o.op === 'add') {
              if (sources.has(o.name)) forget(o.name);
              sources.set(o.name, { owner: o.owner, kind: o.kind, videoType: 'CAMERA' });
              a.addSource(o.name, o.owner, o.kind);
            } else if (o.op === 'remove') {
              sources.delete(o.name);
              forget(o.name);
              // A source that left is forgotten, its owner told nothing.
              announced.delete(o.name);
              a.removeSource(o.name);
            } else if (o.op === 'ready') {
              if (sources.has(o.name) && !ready.get(o.receiver)?.has(o.name)) {
                held.get(o.receiver)?.delete(o.name);
                ready.get(o.receiver)?.add(o.name);
              }
              a.sourceReady(o.receiver, o.name);
            } else if (o.op === 'held') {
              if (sources.has(o.name)) {
                ready.get(o.receiver)?.delete(o.name);
                held.get(o.receiver)?.add(o.name);
              }
              a.sourceHeld(o.receiver, o.name);
            } else if (o.op === 'resetReceiver') {
              ready.get(o.receiver)?.clear();
              held.get(o.receiver)?.clear();
              a.resetReceiver(o.receiver);
            } else if (o.op === 'resetSource') {
              forget(o.name);
              a.resetSource(o.name);
            } else if (o.op === 'type') {
              const s = sources.get(o.name);
              if (s?.kind === 'video') s.videoType = o.videoType;
              a.setVideoType(o.name, o.videoType);
            } else if (o.op === 'speaker') {
              a.dominantSpeakerChanged(o.id);
            } else if (o.op === 'layers') {
              // 180p sending, 360p sending or not: receivers wanting 360p or more switch layer with it.
              a.setLayers(o.name, [
                { spatial: 0, temporal: 0, height: 180, frameRate: 30, bitrateBps: 150_000 },
                { spatial: 1, temporal: 0, height: 360, frameRate: 30, bitrateBps: o.top ? 500_000 : 0 },
              ]);
            } else if (o.op === 'rejoin') {
              // It leaves with its sources, and comes back with none.
              for (const [n, s] of [...sources]) {
                if (s.owner !== o.id) continue;
                sources.delete(n);
                forget(n);
                announced.delete(n);
              }
              ready.get(o.id)?.clear();
              held.get(o.id)?.clear();
              a.removeEndpoint(o.id);
              a.addEndpoint(o.id, sink);
            } else {
              check();
            }
          }
          check();
        } finally {
          a.close();
        }
      }),
      { numRuns: 1000 },
    );
  });
});
