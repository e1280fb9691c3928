/**
 * Allocation of SVC layers (VP9 / AV1 `L3T3_KEY`, media/svc.ts): the layers of one SVC stream go through the same
 * allocator as simulcast encodings, with the spatial layer in `spatial`. The inputs are what VideoLayerMonitor makes
 * of real measurements: mediasoup's `bitrateByLayer["s.t"]` of a Chromium AV1 L3T3_KEY producer (cumulative over
 * the spatial layers below, what an SVC consumer forwards) and the heights and frame rates the probe read from the
 * dependency descriptor. JVB's `BitrateControllerTest` has the same expectations for its VP9 SVC sources: a 180p
 * thumbnail gets the lowest spatial layer at full frame rate, an on-stage source the top one, and a low estimate
 * takes the on-stage source down the layers before the thumbnails lose theirs.
 */
import { describe, expect, it } from 'vitest';
import { buildLayers, spatialLayersOf, svcBitrates } from '../media/VideoLayerMonitor.ts';
import { allocate, effectiveConstraints, prioritize, selectedOrder } from './BandwidthAllocator.ts';
import { DEFAULT_ALLOCATION_CONFIG, ReceiverSettings, type ConstraintsUpdate } from './settings.ts';
import type { Allocation, Layer, VideoSource } from './types.ts';

/** A Chromium AV1 L3T3_KEY producer's stats, 720p capture at 15 fps (measured through octobridge). */
const AV1_STAT = {
  bitrate: 727_363,
  bitrateByLayer: {
    '0.0': 44_909,
    '0.1': 73_539,
    '0.2': 118_269,
    '1.0': 220_656,
    '1.1': 270_323,
    '1.2': 348_470,
    '2.0': 536_691,
    '2.1': 609_334,
    '2.2': 727_363,
  },
};
/** What the probe read from the dependency descriptor of that stream (render resolutions, frame rates per TID). */
const AV1_MEASURED = new Map([
  [0, { height: 180, frameRates: [4.6, 8.1, 15] }],
  [1, { height: 360, frameRates: [4.6, 8.1, 15] }],
  [2, { height: 720, frameRates: [4.1, 8.2, 15] }],
]);

function svcLayers(stat: typeof AV1_STAT = AV1_STAT): Layer[] {
  return buildLayers(3, svcBitrates(stat, 3), AV1_MEASURED);
}

function source(name: string, layers: readonly Layer[] = svcLayers()): VideoSource {
  return { name, owner: name.split('-')[0] as string, videoType: 'CAMERA', layers };
}

function run(sources: readonly VideoSource[], updates: ConstraintsUpdate[], bweBps: number): Allocation {
  const settings = new ReceiverSettings(DEFAULT_ALLOCATION_CONFIG);
  for (const u of updates) settings.apply(u);
  const s = settings.get();
  const sorted = prioritize(sources, selectedOrder(s));
  const effective = effectiveConstraints(sorted, s, DEFAULT_ALLOCATION_CONFIG);
  return allocate({ sorted, effective, settings: s, bweBps, trustBwe: true }, DEFAULT_ALLOCATION_CONFIG);
}

/** Target per source as `spatial.temporal`, or `-`. */
function targets(a: Allocation): Record<string, string> {
  return Object.fromEntries(a.sources.map((s) => [s.source, s.target ? `${s.target.spatial}.${s.target.temporal}` : '-']));
}

describe('SVC layers from mediasoup stats (VideoLayerMonitor svcBitrates / buildLayers)', () => {
  it('one stream, three spatial × three temporal layers, bitrates as measured, heights and rates from the bitstream', () => {
    const layers = svcLayers();
    expect(layers.map((l) => `${l.spatial}.${l.temporal} ${l.height}p ${l.frameRate}fps ${l.bitrateBps}`)).toEqual([
      '0.0 180p 4.6fps 44909',
      '0.1 180p 8.1fps 73539',
      '0.2 180p 15fps 118269',
      '1.0 360p 4.6fps 220656',
      '1.1 360p 8.1fps 270323',
      '1.2 360p 15fps 348470',
      '2.0 720p 4.1fps 536691',
      '2.1 720p 8.2fps 609334',
      '2.2 720p 15fps 727363',
    ]);
  });

  it('a spatial layer the sender stopped (L2T3_KEY after SenderSourceConstraints 360) is inactive', () => {
    const stat = { bitrate: 300_000, bitrateByLayer: { ...AV1_STAT.bitrateByLayer, '2.0': 0, '2.1': 0, '2.2': 0 } };
    const layers = svcLayers(stat);
    expect(layers.filter((l) => l.spatial === 2).every((l) => l.bitrateBps === 0)).toBe(true);
    expect(svcBitrates(stat, 3).get(2)).toEqual([0, 0, 0]);
  });

  it('no per-layer stats (a stream without layers): one layer with the stream bitrate', () => {
    expect(svcBitrates({ bitrate: 500_000, bitrateByLayer: {} }, 3)).toEqual(new Map([[0, [500_000]]]));
    expect(svcBitrates(undefined, 3)).toEqual(new Map());
  });

  it('spatialLayersOf reads the scalability mode', () => {
    expect([
      spatialLayersOf('L3T3'),
      spatialLayersOf('L3T3_KEY'),
      spatialLayersOf('L2T3_KEY'),
      spatialLayersOf('L1T3'),
      spatialLayersOf('S3T3'),
      spatialLayersOf(undefined),
      spatialLayersOf('bogus'),
    ]).toEqual([3, 3, 2, 1, 3, 1, 1]);
  });
});

describe('allocation of SVC layers', () => {
  it('a 180p thumbnail gets the lowest spatial layer at full frame rate', () => {
    const a = run([source('A-v0')], [{ defaultConstraints: { maxHeight: 180 } }], 10_000_000);
    expect(targets(a)).toEqual({ 'A-v0': '0.2' });
    expect(a.sources[0]?.target?.height).toBe(180);
    // A sixth of the bytes of the full stream.
    expect(a.targetBps / AV1_STAT.bitrate).toBeLessThan(0.2);
  });

  it('on stage (720p wanted): the top spatial layer, the thumbnails their lowest one', () => {
    const a = run(
      [source('A-v0'), source('B-v0'), source('C-v0')],
      [{ defaultConstraints: { maxHeight: 180 }, onStageSources: ['B-v0'], constraints: { 'B-v0': { maxHeight: 720 } } }],
      10_000_000,
    );
    expect(targets(a)).toEqual({ 'B-v0': '2.2', 'A-v0': '0.2', 'C-v0': '0.2' });
  });

  it('a 360p constraint stops at the middle spatial layer', () => {
    const a = run([source('A-v0')], [{ defaultConstraints: { maxHeight: 360 } }], 10_000_000);
    expect(targets(a)).toEqual({ 'A-v0': '1.2' });
  });

  it('a low estimate: the on-stage source gets its preferred 360p first, then the thumbnails, then the top layer of the stage', () => {
    const sources = [source('A-v0'), source('B-v0')];
    const update: ConstraintsUpdate = { defaultConstraints: { maxHeight: 180 }, onStageSources: ['B-v0'], constraints: { 'B-v0': { maxHeight: 720 } } };
    // Below the 360p layer (at full frame rate, JVB's preferred): nothing for the thumbnail until the stage has it.
    expect(targets(run(sources, [update], 300_000))).toEqual({ 'B-v0': '0.2', 'A-v0': '-' });
    expect(targets(run(sources, [update], 350_000))).toEqual({ 'B-v0': '1.2', 'A-v0': '-' });
    // Then the thumbnail, temporal layer by temporal layer.
    expect(targets(run(sources, [update], 400_000))).toEqual({ 'B-v0': '1.2', 'A-v0': '0.0' });
    expect(targets(run(sources, [update], 500_000))).toEqual({ 'B-v0': '1.2', 'A-v0': '0.2' });
    expect(targets(run(sources, [update], 900_000))).toEqual({ 'B-v0': '2.2', 'A-v0': '0.2' });
  });

  it('every target is within the estimate (no oversending for a camera)', () => {
    const sources = [source('A-v0'), source('B-v0'), source('C-v0')];
    for (let bwe = 0; bwe <= 3_000_000; bwe += 25_000) {
      const a = run(sources, [{ defaultConstraints: { maxHeight: 180 }, onStageSources: ['A-v0'], constraints: { 'A-v0': { maxHeight: 720 } } }], bwe);
      expect(a.targetBps, `bwe ${bwe}`).toBeLessThanOrEqual(bwe);
      expect(a.oversending).toBe(false);
    }
  });
});
