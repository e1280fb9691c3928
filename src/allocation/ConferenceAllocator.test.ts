/**
 * ConferenceAllocator queries the bridge channel relies on: which senders' video a receiver wants (JVB
 * BitrateController.isOnStageOrSelected / hasNonZeroEffectiveConstraints, as Endpoint.wantsStatsFrom asks them).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConferenceAllocator, type ReceiverSink } from './ConferenceAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG } from './settings.ts';

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
