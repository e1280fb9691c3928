/**
 * buildLayers (VideoLayerMonitor.ts, pure): per-encoding bitrates (mediasoup `bitrateByLayer`,
 * cumulative per temporal layer) plus what the VP8 probe measured → the allocator's layers, with
 * the inference of the module docstring: heights from the measured encodings by lib-jitsi-meet's
 * ladder (×2 per encoding), else from a 720p top; frame rates 30 fps at the top active temporal
 * layer, halving per layer below. The monitor's polling and probing need mediasoup and are not
 * covered here.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildLayers, frameRatesOf, mayStartLayer } from './VideoLayerMonitor.ts';
import type { Layer } from '../allocation/types.ts';

type Measured = Parameters<typeof buildLayers>[2];
type MeasuredEncoding = Measured extends ReadonlyMap<number, infer M> ? M : never;

const none: Measured = new Map();
const summary = (layers: Layer[]): string[] => layers.map((l) => `${l.spatial}.${l.temporal} ${l.height}p ${l.frameRate}fps ${l.bitrateBps}`);

describe('buildLayers', () => {
  it('L3T3 simulcast, nothing measured yet: 180/360/720p, 7.5/15/30 fps, bitrates as given, spatial-major order', () => {
    const bitrates = new Map([
      [0, [50_000, 100_000, 150_000]],
      [1, [165_000, 330_000, 500_000]],
      [2, [660_000, 1_320_000, 2_000_000]],
    ]);
    expect(summary(buildLayers(3, bitrates, none))).toEqual([
      '0.0 180p 7.5fps 50000',
      '0.1 180p 15fps 100000',
      '0.2 180p 30fps 150000',
      '1.0 360p 7.5fps 165000',
      '1.1 360p 15fps 330000',
      '1.2 360p 30fps 500000',
      '2.0 720p 7.5fps 660000',
      '2.1 720p 15fps 1320000',
      '2.2 720p 30fps 2000000',
    ]);
  });

  it('a single encoding without temporal layers (no simulcast): one 720p/30 layer', () => {
    expect(buildLayers(1, new Map([[0, [800_000]]]), none)).toEqual([{ spatial: 0, temporal: 0, height: 720, frameRate: 30, bitrateBps: 800_000 }]);
  });

  it('no stats at all: one layer per encoding, 0 bps (inactive), heights from a 720p top', () => {
    expect(summary(buildLayers(2, new Map(), none))).toEqual(['0.0 360p 30fps 0', '1.0 720p 30fps 0']);
  });

  it('measured heights win; unmeasured encodings are scaled ×2 per step from the nearest measured one', () => {
    const bitrates = new Map([
      [0, [100_000]],
      [1, [300_000]],
      [2, [900_000]],
    ]);
    // A 960×540 top (the probe stores the smaller dimension).
    expect(buildLayers(3, bitrates, new Map([[2, { height: 540, frameRates: [30] }]])).map((l) => l.height)).toEqual([135, 270, 540]);
    // Only the lowest measured (e.g. the top encoding suspended by the sender).
    expect(buildLayers(3, bitrates, new Map([[0, { height: 240, frameRates: [30] }]])).map((l) => l.height)).toEqual([240, 480, 960]);
    // Encoding 1 measured, but its keyframe not seen (no height): inferred like the others.
    const partial: Measured = new Map([
      [1, { frameRates: [25] }],
      [2, { height: 720, frameRates: [30] }],
    ]);
    expect(buildLayers(3, bitrates, partial).map((l) => l.height)).toEqual([180, 360, 720]);
  });

  it('measured frame rates win over the nominal ones, per temporal layer', () => {
    const bitrates = new Map([[0, [40_000, 80_000, 120_000]]]);
    const measured: Measured = new Map([[0, { height: 180, frameRates: [7.4, 14.9] }]]);
    expect(buildLayers(1, bitrates, measured).map((l) => l.frameRate)).toEqual([7.4, 14.9, 30]);
  });

  it('nominal frame rates follow the active temporal layers: 30 fps at the top active one', () => {
    // Encoding 0 sends two temporal layers (L1T2-like): 15/30; encoding 1 only its base layer: 30.
    const bitrates = new Map([
      [0, [60_000, 120_000, 0]],
      [1, [400_000, 0, 0]],
    ]);
    expect(summary(buildLayers(2, bitrates, none))).toEqual([
      '0.0 360p 15fps 60000',
      '0.1 360p 30fps 120000',
      '0.2 360p 30fps 0',
      '1.0 720p 30fps 400000',
      '1.1 720p 30fps 0',
      '1.2 720p 30fps 0',
    ]);
  });

  it('temporal slots above the top layer sent carry its measured frame rate, not a made-up 30 fps', () => {
    // Chromium's VP8 simulcast without temporal layers: mediasoup still reports three temporal slots.
    const measured = new Map<number, MeasuredEncoding>([
      [0, { height: 180, frameRates: [15] }],
      [1, { height: 360, frameRates: [15] }],
    ]);
    const layers = buildLayers(
      2,
      new Map([
        [0, [150_000, 0, 0]],
        [1, [500_000, 0, 0]],
      ]),
      measured,
    );
    expect(layers.every((l) => l.frameRate === 15)).toBe(true);
  });

  it('an encoding without stats gets the same number of temporal layers, at 0 bps', () => {
    const layers = buildLayers(3, new Map([[0, [50_000, 100_000, 150_000]]]), none);
    expect(layers).toHaveLength(9);
    expect(layers.filter((l) => l.spatial > 0).every((l) => l.bitrateBps === 0)).toBe(true);
  });

  it('property: encodings × temporal layers, in (spatial, temporal) order; bitrates passed through; heights double per encoding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.option(fc.array(fc.integer({ min: 0, max: 3_000_000 }), { minLength: 1, maxLength: 3 }), { nil: undefined }), {
          minLength: 4,
          maxLength: 4,
        }),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 16, max: 1080 })), { nil: undefined }),
        (encodings, _t, rates, measuredOne) => {
          const bitrates = new Map<number, number[]>();
          rates.slice(0, encodings).forEach((r, s) => {
            if (r) bitrates.set(s, r);
          });
          const measured = new Map<number, MeasuredEncoding>();
          if (measuredOne && measuredOne[0] < encodings) measured.set(measuredOne[0], { height: measuredOne[1], frameRates: [] });
          const layers = buildLayers(encodings, bitrates, measured);
          const temporal = Math.max(1, ...[...bitrates.values()].map((b) => b.length));
          expect(layers).toHaveLength(encodings * temporal);
          layers.forEach((l, i) => {
            expect(l.spatial).toBe(Math.floor(i / temporal));
            expect(l.temporal).toBe(i % temporal);
            expect(l.bitrateBps).toBe(bitrates.get(l.spatial)?.[l.temporal] ?? 0);
            expect(l.frameRate).toBeGreaterThan(0);
            expect(l.frameRate).toBeLessThanOrEqual(30);
          });
          const heightOf = (s: number): number => (layers[s * temporal] as Layer).height;
          if (measuredOne && measuredOne[0] < encodings) expect(heightOf(measuredOne[0])).toBe(measuredOne[1]);
          else expect(heightOf(encodings - 1)).toBe(720);
          for (let s = 1; s < encodings; s++) expect(Math.abs(heightOf(s) - 2 * heightOf(s - 1))).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('frameRatesOf (probe frame rates from RTP timestamps)', () => {
  const ts = (fps: number, frames: number, start = 0): number[] => Array.from({ length: frames }, (_, i) => (start + Math.round((i * 90_000) / fps)) >>> 0);

  it('measures an encoding that sent only part of the probe window at its real rate', () => {
    // 15 fps for 0.5 s (an encoding that started mid-probe): 15 fps, not 7.5.
    expect(frameRatesOf(new Map([[0, new Set(ts(15, 8))]]))).toEqual([15]);
  });

  it('gives cumulative rates per temporal layer (L1T3 at 30 fps: 7.5 / 15 / 30)', () => {
    const all = ts(30, 60);
    const byTid = new Map<number, Set<number>>([
      [0, new Set(all.filter((_, i) => i % 4 === 0))],
      [1, new Set(all.filter((_, i) => i % 4 === 2))],
      [2, new Set(all.filter((_, i) => i % 2 === 1))],
    ]);
    expect(frameRatesOf(byTid)).toEqual([7.5, 15, 30]);
  });

  it('survives a timestamp wrap and gives nothing for too few frames', () => {
    expect(frameRatesOf(new Map([[0, new Set(ts(30, 30, 0xffff_f000))]]))).toEqual([30]);
    expect(frameRatesOf(new Map([[0, new Set(ts(30, 3))]]))).toEqual([]);
  });
});

describe('mayStartLayer (which keyframes re-read the layers at once)', () => {
  const simulcast = {
    svc: false,
    encodings: 3,
    spatialBySsrc: new Map([
      [0x10, 0],
      [0x20, 1],
      [0x30, 2],
    ]),
  };
  it('simulcast: a keyframe on an encoding the last stats saw inactive, or on an SSRC it does not know', () => {
    const active = new Set([0, 1]);
    expect(mayStartLayer({ ...simulcast, active }, 0x30)).toBe(true);
    expect(mayStartLayer({ ...simulcast, active }, 0x10)).toBe(false);
    expect(mayStartLayer({ ...simulcast, active }, 0x20)).toBe(false);
    expect(mayStartLayer({ ...simulcast, active }, 0x99)).toBe(true);
    expect(mayStartLayer({ ...simulcast, active }, undefined)).toBe(true);
  });
  it('SVC: any keyframe while a spatial layer is inactive; none once all are active', () => {
    const svc = { svc: true, encodings: 3, spatialBySsrc: new Map([[0x10, 0]]) };
    expect(mayStartLayer({ ...svc, active: new Set([0, 1]) }, 0x10)).toBe(true);
    expect(mayStartLayer({ ...svc, active: new Set([0, 1, 2]) }, 0x10)).toBe(false);
  });
});
