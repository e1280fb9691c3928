/**
 * A receiver's allocation settings (settings.ts): `ReceiverSettings` applying `ReceiverVideoConstraints`
 * as partial updates like JVB's `AllocationSettingsWrapper` (`cc/allocation/AllocationSettings.kt`),
 * ported from JVB `AllocationSettingsTest.kt` and `doc/allocation.md` ("Message format": all fields
 * optional, absent ones unchanged), plus `DEFAULT_ALLOCATION_CONFIG` against JVB's reference.conf.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_ALLOCATION_CONFIG,
  ReceiverSettings,
  constraintsOf,
  type AllocationConfig,
  type AllocationSettings,
  type ConstraintsUpdate,
} from './settings.ts';
import { constraints } from './types.ts';

const CONFIG: AllocationConfig = { ...DEFAULT_ALLOCATION_CONFIG };
const WITH_LIMIT: AllocationConfig = { ...CONFIG, assumedBandwidthLimitBps: 10_000_000 };

/** Settings as plain data, for toEqual (constraints sorted by source: their order carries no meaning). */
function plain(s: AllocationSettings): object {
  return { ...s, constraints: Object.fromEntries([...s.constraints].sort(([a], [b]) => a.localeCompare(b))) };
}

describe('DEFAULT_ALLOCATION_CONFIG', () => {
  it('has jitsi-videobridge reference.conf values (videobridge.cc.*)', () => {
    expect(DEFAULT_ALLOCATION_CONFIG).toMatchObject({
      bweChangeThreshold: 0.15,
      defaultMaxHeightPx: 180,
      initialMaxHeightPx: 0,
      onstagePreferredHeightPx: 360,
      onstagePreferredFramerate: 30,
      allowOversendOnstage: true,
      maxOversendBitrateBps: 500_000,
      trustBwe: true,
      maxTimeBetweenCalculationsMs: 5_000,
      jvbLastN: -1,
      initialLastN: -1,
      assumedBandwidthLimitBps: undefined,
    });
    expect(Object.isFrozen(DEFAULT_ALLOCATION_CONFIG)).toBe(true);
  });
});

describe('ReceiverSettings', () => {
  it('starts with initial-last-n, initial-max-height-px (0: nothing until the client asks) and nothing else', () => {
    const s = new ReceiverSettings(CONFIG).get();
    expect(plain(s)).toEqual({
      lastN: -1,
      selectedSources: [],
      onStageSources: [],
      defaultConstraints: constraints(0),
      constraints: {},
      assumedBandwidthBps: -1,
    });
    expect(new ReceiverSettings({ ...CONFIG, initialLastN: 5 }).get().lastN).toBe(5);
    expect(new ReceiverSettings(CONFIG, 3).get().lastN).toBe(3);
    expect(new ReceiverSettings({ ...CONFIG, initialMaxHeightPx: 360 }).get().defaultConstraints).toEqual(constraints(360));
  });

  // AllocationSettingsTest "With client which supports source names".
  it('no conversion from endpoint to source takes place; constraints are stored as signalled', () => {
    const rs = new ReceiverSettings(CONFIG);
    rs.apply({ onStageSources: ['S1', 'S2'], selectedSources: ['S3', 'S4'], constraints: { S1: { maxHeight: 720 }, E1: { maxHeight: 360 } } });
    const s = rs.get();
    expect(s.onStageSources).toEqual(['S1', 'S2']);
    expect(s.selectedSources).toEqual(['S3', 'S4']);
    expect(Object.fromEntries(s.constraints)).toEqual({ S1: constraints(720), E1: constraints(360) });
  });

  describe('initial constraints (initial-max-height-px 0) different from the default ones (default-max-height-px 180)', () => {
    it('considers an empty ReceiverVideoConstraints a change (the default 180 applies)', () => {
      const rs = new ReceiverSettings(CONFIG);
      expect(rs.apply({})).toBe(true);
      expect(rs.get().defaultConstraints).toEqual(constraints(180));
    });
    it('considers the default receiver video constraints (180) a change', () => {
      const rs = new ReceiverSettings(CONFIG);
      expect(rs.apply({ defaultConstraints: { maxHeight: 180 } })).toBe(true);
    });
    it('does not consider the initial receiver video constraints (0) a change', () => {
      const rs = new ReceiverSettings(CONFIG);
      expect(rs.apply({ defaultConstraints: { maxHeight: 0 } })).toBe(false);
      expect(rs.get().defaultConstraints).toEqual(constraints(0));
      // Explicitly set: a later message without defaultConstraints keeps 0.
      expect(rs.apply({})).toBe(false);
      expect(rs.get().defaultConstraints).toEqual(constraints(0));
    });
    it('does not apply the default default constraints after they have been set explicitly', () => {
      const rs = new ReceiverSettings(CONFIG);
      rs.apply({ defaultConstraints: { maxHeight: 720 } });
      expect(rs.apply({})).toBe(false);
      expect(rs.get().defaultConstraints).toEqual(constraints(720));
    });
    it('the first message applies the default even when it only sets another field', () => {
      const rs = new ReceiverSettings(CONFIG);
      expect(rs.apply({ lastN: 4 })).toBe(true);
      expect(rs.get().defaultConstraints).toEqual(constraints(180));
      expect(rs.get().lastN).toBe(4);
    });
  });

  describe('assumedBandwidthBps', () => {
    // AllocationSettingsTest "With an assumed bandwidth limit set" (10 Mbps).
    it('is limited to assumed-bandwidth-limit', () => {
      const rs = new ReceiverSettings(WITH_LIMIT);
      expect(rs.apply({ assumedBandwidthBps: 20_000_000 })).toBe(true);
      expect(rs.get().assumedBandwidthBps).toBe(10_000_000);
    });
    it('a value below the limit is kept', () => {
      const rs = new ReceiverSettings(WITH_LIMIT);
      expect(rs.apply({ assumedBandwidthBps: 2_000_000 })).toBe(true);
      expect(rs.get().assumedBandwidthBps).toBe(2_000_000);
    });
    it('the default value (-1) is not a change', () => {
      const rs = new ReceiverSettings(WITH_LIMIT);
      rs.apply({ assumedBandwidthBps: -1 }); // the first message changes the default constraints
      expect(rs.apply({ assumedBandwidthBps: -1 })).toBe(false);
      expect(rs.get().assumedBandwidthBps).toBe(-1);
    });
    it('any negative value means "use the estimate" (-1)', () => {
      const rs = new ReceiverSettings(WITH_LIMIT);
      rs.apply({ assumedBandwidthBps: 1_000_000 });
      expect(rs.apply({ assumedBandwidthBps: -5 })).toBe(true);
      expect(rs.get().assumedBandwidthBps).toBe(-1);
    });
    it('is ignored when no limit is configured (JVB: "not allowed in config")', () => {
      const rs = new ReceiverSettings(CONFIG);
      rs.apply({});
      expect(rs.apply({ assumedBandwidthBps: 2_000_000 })).toBe(false);
      expect(rs.get().assumedBandwidthBps).toBe(-1);
    });
  });

  describe('partial updates (allocation.md: "The ones which are included will be updated, and the ones which are not included are not changed")', () => {
    const full: ConstraintsUpdate = {
      lastN: 2,
      selectedSources: ['A-v0', 'B-v0'],
      onStageSources: ['A-v1', 'C-v0', 'D-v0'],
      defaultConstraints: { maxHeight: 180 },
      constraints: { 'A-v1': { maxHeight: 720 }, 'B-v0': { maxHeight: 360 } },
      assumedBandwidthBps: 3_000_000,
    };
    const fresh = (): ReceiverSettings => {
      const rs = new ReceiverSettings(WITH_LIMIT);
      rs.apply(full);
      return rs;
    };

    it('the allocation.md message-format example is stored as given', () => {
      expect(plain(fresh().get())).toEqual({
        lastN: 2,
        selectedSources: ['A-v0', 'B-v0'],
        onStageSources: ['A-v1', 'C-v0', 'D-v0'],
        defaultConstraints: constraints(180),
        constraints: { 'A-v1': constraints(720), 'B-v0': constraints(360) },
        assumedBandwidthBps: 3_000_000,
      });
    });

    it.each<[string, ConstraintsUpdate, Partial<Record<keyof AllocationSettings, unknown>>]>([
      ['lastN', { lastN: -1 }, { lastN: -1 }],
      ['selectedSources', { selectedSources: [] }, { selectedSources: [] }],
      ['onStageSources', { onStageSources: ['B-v0'] }, { onStageSources: ['B-v0'] }],
      ['defaultConstraints', { defaultConstraints: { maxHeight: 360, maxFrameRate: 15 } }, { defaultConstraints: constraints(360, 15) }],
      ['constraints (replaced as a whole, not merged)', { constraints: { 'C-v0': { maxHeight: 0 } } }, { constraints: { 'C-v0': constraints(0) } }],
      ['assumedBandwidthBps', { assumedBandwidthBps: 1_000 }, { assumedBandwidthBps: 1_000 }],
    ])('%s alone changes only that field', (_name, update, changed) => {
      const rs = fresh();
      const before = plain(rs.get());
      expect(rs.apply(update)).toBe(true);
      expect(plain(rs.get())).toEqual({ ...before, ...changed });
    });

    it('an empty message or one repeating the current values is no change, and keeps the snapshot', () => {
      const rs = fresh();
      const snapshot = rs.get();
      expect(rs.apply({})).toBe(false);
      expect(rs.apply(full)).toBe(false);
      expect(rs.apply({ constraints: { 'B-v0': { maxHeight: 360, maxFrameRate: -1 }, 'A-v1': { maxHeight: 720 } } })).toBe(false);
      expect(rs.get()).toBe(snapshot);
    });

    it('list order matters (selection order is priority order)', () => {
      const rs = fresh();
      expect(rs.apply({ selectedSources: ['B-v0', 'A-v0'] })).toBe(true);
      expect(rs.get().selectedSources).toEqual(['B-v0', 'A-v0']);
    });

    it('an earlier snapshot is not modified by later updates, nor by the caller’s arrays', () => {
      const rs = fresh();
      const snapshot = rs.get();
      const frozen = plain(snapshot);
      const selected = ['X-v0'];
      rs.apply({ selectedSources: selected, constraints: {}, lastN: 7 });
      selected.push('Y-v0');
      expect(plain(snapshot)).toEqual(frozen);
      expect(rs.get().selectedSources).toEqual(['X-v0']);
    });
  });

  it('setLastN (LastNChangedEvent) changes only last-N', () => {
    const rs = new ReceiverSettings(CONFIG);
    rs.apply({ selectedSources: ['A'] });
    const before = plain(rs.get());
    expect(rs.setLastN(3)).toBe(true);
    expect(plain(rs.get())).toEqual({ ...before, lastN: 3 });
    expect(rs.setLastN(3)).toBe(false);
  });

  it('constraintsOf: the explicit constraints of a source, else the default', () => {
    const rs = new ReceiverSettings(CONFIG);
    rs.apply({ defaultConstraints: { maxHeight: 180 }, constraints: { A: { maxHeight: 720, maxFrameRate: 30 } } });
    expect(constraintsOf(rs.get(), 'A')).toEqual(constraints(720, 30));
    expect(constraintsOf(rs.get(), 'B')).toEqual(constraints(180));
  });

  it('property: after the first message, a partial update changes exactly the fields it names', () => {
    const arbC = fc
      .record({ maxHeight: fc.constantFrom(-1, 0, 180, 360, 720), maxFrameRate: fc.option(fc.constantFrom(-1, 15, 30), { nil: undefined }) })
      .map((c) => (c.maxFrameRate === undefined ? { maxHeight: c.maxHeight } : { maxHeight: c.maxHeight, maxFrameRate: c.maxFrameRate }));
    const names = fc.array(fc.constantFrom('A', 'B', 'C', 'D'), { maxLength: 4 });
    const arbUpdate: fc.Arbitrary<ConstraintsUpdate> = fc.record(
      {
        lastN: fc.integer({ min: -1, max: 5 }),
        selectedSources: names,
        onStageSources: names,
        defaultConstraints: arbC,
        constraints: fc.dictionary(fc.constantFrom('A', 'B', 'C', 'D'), arbC, { maxKeys: 4 }),
        assumedBandwidthBps: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 20_000_000 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.boolean(), arbUpdate, arbUpdate, (limited, first, update) => {
        const cfg = limited ? WITH_LIMIT : CONFIG;
        const rs = new ReceiverSettings(cfg);
        rs.apply(first);
        const before = rs.get();
        const changed = rs.apply(update);
        const after = rs.get();
        const expected: AllocationSettings = {
          lastN: update.lastN ?? before.lastN,
          selectedSources: update.selectedSources ?? before.selectedSources,
          onStageSources: update.onStageSources ?? before.onStageSources,
          defaultConstraints: update.defaultConstraints
            ? constraints(update.defaultConstraints.maxHeight, update.defaultConstraints.maxFrameRate)
            : before.defaultConstraints,
          constraints: update.constraints
            ? new Map(Object.entries(update.constraints).map(([k, v]) => [k, constraints(v.maxHeight, v.maxFrameRate)]))
            : before.constraints,
          assumedBandwidthBps:
            update.assumedBandwidthBps === undefined || cfg.assumedBandwidthLimitBps === undefined
              ? before.assumedBandwidthBps
              : Math.min(update.assumedBandwidthBps, cfg.assumedBandwidthLimitBps),
        };
        expect(plain(after)).toEqual(plain(expected));
        expect(changed).toBe(JSON.stringify(plain(after)) !== JSON.stringify(plain(before)));
        if (!changed) expect(after).toBe(before);
      }),
      { numRuns: 500 },
    );
  });
});
