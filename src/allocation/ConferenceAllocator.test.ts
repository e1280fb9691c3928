/**
 * ConferenceAllocator queries the bridge channel relies on: which senders' video a receiver wants (JVB
 * BitrateController.isOnStageOrSelected / hasNonZeroEffectiveConstraints, as Endpoint.wantsStatsFrom asks them).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConferenceAllocator, type ReceiverSink } from './ConferenceAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG } from './settings.ts';

const sink: ReceiverSink = { video: () => undefined, audio: () => undefined, forwardedSources: () => undefined };
let allocator: ConferenceAllocator | undefined;
afterEach(() => allocator?.close());

describe('wantsVideoOf', () => {
  it("is true for a sender with a source on stage, selected, or constrained above 0 for the receiver", () => {
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
