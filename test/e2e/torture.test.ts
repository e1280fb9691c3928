/**
 * Smoke runs of the torture harness (bench/torture.ts): 2 conferences × 3 lightweight
 * participants, all sending, 10 s, against a standalone octobridge the harness starts as a child
 * process: every participant must join and decode video from both others; results.json must
 * parse and the plot must be a real PNG. Then `--cascade 2` (two bridges linked by a relay, the
 * participants on both), 1 × 4, 10 s, with every relay down for 3 s at 4 s: everyone decodes
 * everyone (across the relay too), the video across the relay froze and came back after a
 * measured, finite time, none stayed frozen. The first run on a machine also records the VP8 clip
 * with Chromium (~9 s, cached in bench/results/.cache/).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RtpPacket } from 'werift';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { SyntheticStream } from '../../bench/lib/media.ts';
import { FaultWatch } from '../../bench/lib/light/metrics.ts';
import { FreezeDetector, parseVp8, SourceReceiver } from '../../bench/lib/light/receive.ts';
import { receivedFromAll } from '../../bench/lib/results.ts';
import type { TortureResults } from '../../bench/lib/results.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('torture harness receive side', () => {
  it('counts a freeze as the stats spec does: a gap over max(3 x avg, avg + 150 ms) of the last 30 frames, after 5', () => {
    const f = new FreezeDetector();
    let t = 0;
    f.onFrame(t);
    for (let i = 0; i < 3; i++) f.onFrame((t += 33));
    expect(f.onFrame((t += 400)), 'not with fewer than 5 frame durations').toBe(false);
    for (let i = 0; i < 30; i++) f.onFrame((t += 33));
    expect(f.threshold()).toBeCloseTo(33 + 150, 0);
    expect(f.onFrame((t += 180)), 'below avg + 150').toBe(false);
    expect(f.onFrame((t += 500))).toBe(true);
    expect(f.freezeCount).toBe(1);
    expect(f.totalFreezesDurationMs).toBe(500);
    expect(f.openFreezeMs(t + 100)).toBe(0);
    expect(f.openFreezeMs(t + 1000)).toBe(1000);
  });

  it('measures recovery from the end of a lasting fault, a frame still in flight after its start included', () => {
    // Frames every 33 ms up to 1000; the outage is 1000..4000; one frame in flight at 1010; back at 4020.
    const w = new FaultWatch(1000, 990, 4000);
    w.onFrame(1010);
    expect(w.recoveryMs(150), 'no frame at or after the end yet').toBeNull();
    w.onFrame(4020);
    w.onFrame(4053);
    expect(w.recoveryMs(150)).toBe(20);
    // Frames flowing again before the nominal end (the source froze during the fault only): 0 after it.
    const early = new FaultWatch(1000, 990, 4000);
    early.onFrame(3990);
    early.onFrame(4023);
    expect(early.recoveryMs(150)).toBe(0);
    const calm = new FaultWatch(1000, 990, 1000);
    calm.onFrame(1023);
    expect(calm.recoveryMs(150), 'an instant fault that froze nothing').toBe(0);
    expect(new FaultWatch(1000, undefined, 4000).recoveryMs(150), 'not flowing before it').toBeUndefined();
  });

  it('reassembles VP8 frames, NACKs a missing packet and decodes once its RTX arrives', () => {
    const stream = new SyntheticStream(0, { videoFps: 30, packetsPerFrame: 3, videoKbps: 600, keyframeInterval: 1000, audioPps: 50, audioBytes: 80 });
    const rx = new SourceReceiver('a-v0', 'a', 'video');
    let t = 0;
    const feed = (skip?: number): RtpPacket | undefined => {
      let skipped: RtpPacket | undefined;
      for (const [i, p] of stream.nextVideoFrame().entries()) {
        if (i === skip) skipped = p;
        else rx.onPacket(1234, p.header.sequenceNumber, p.header.timestamp, p.header.marker, p.payload, p.payload.length + 12, t);
      }
      t += 33;
      return skipped;
    };
    const [first, second] = stream.nextVideoFrame();
    expect(first && parseVp8(first.payload)).toEqual({ start: true, key: true, width: 1280, height: 720 });
    expect(second && parseVp8(second.payload)).toEqual({ start: false, key: false });
    stream.requestKeyFrame();
    for (let i = 0; i < 10; i++) feed();
    expect(rx.counters).toMatchObject({ framesDecoded: 10, width: 1280, height: 720, packets: 30, expected: 30 });
    const lost = feed(1);
    feed();
    expect(rx.counters.framesDecoded, 'the incomplete frame and the one after it wait').toBe(10);
    if (!lost) throw new Error('nothing skipped');
    expect(rx.nacksDue(t)).toEqual([lost.header.sequenceNumber]);
    expect(rx.nacksDue(t + 1), 'not again before the retry interval').toEqual([]);
    rx.onRtx(lost.header.sequenceNumber, lost.header.timestamp, lost.header.marker, lost.payload, 100, t);
    expect(rx.counters.framesDecoded).toBe(12);
    expect(rx.counters).toMatchObject({ recovered: 1, packets: 36, expected: 36, firstArrivals: 35 });
  });
});

/** Run the harness with `args` (and `--out dir --no-progress`); its stdout, stderr and exit code. */
function torture(args: string[], out: string, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bench/torture.ts', ...args, '--out', out, '--no-progress'],
      { cwd: PROJECT_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

describe('torture harness smoke run', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'torture-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('2 conferences x 3 light participants for 10 s: everyone joins and decodes, results.json and the PNG are written', async () => {
    const { stdout, code } = await torture(['--conferences', '2', '--participants', '3', '--senders', '3', '--duration', '10'], out, 55_000);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/join time p50/);

    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as TortureResults;
    const run = results.runs[0];
    expect(run?.server).toBe('octobridge');
    if (!run) return;
    expect(run.participants).toHaveLength(6);
    expect(run.joinErrors).toEqual({});
    for (const r of run.participants) {
      expect(r.connectedAt, `${r.spec.id} joined`).toBeTypeOf('number');
      expect(
        receivedFromAll(run, r),
        `${r.spec.id} decoded video from both other participants ([owner, kind, packets, frames]): ${JSON.stringify(r.sources.map((s) => [s.owner, s.kind, s.packets, s.framesDecoded]))}`,
      ).toBe(true);
      for (const s of r.sources.filter((x) => x.kind === 'video')) expect(s.framesDecoded, `${r.spec.id} <- ${s.owner}`).toBeGreaterThan(100);
      expect(r.joinMs, `${r.spec.id} join time`).toBeGreaterThan(0);
    }
    expect(run.timeline.length).toBeGreaterThanOrEqual(10);
    expect(
      run.timeline.some((s) => s.server.processes.some((p) => p.name.startsWith('worker') && p.cpu > 0)),
      'worker CPU sampled',
    ).toBe(true);

    const png = fs.readFileSync(path.join(out, 'torture.png'));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature').toBe(true);
    expect(png.length).toBeGreaterThan(5 * 1024);
  }, 60_000);
});

describe('torture harness smoke run over a cascade', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'torture-cascade-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('--cascade 2, 1 conference x 4 light participants for 10 s, every relay down 3 s at 4 s: media crosses the relay and comes back', async () => {
    const { stdout, stderr, code } = await torture(
      ['--cascade', '2', '--conferences', '1', '--participants', '4', '--senders', '4', '--duration', '10', '--drop-relay-at', '4'],
      out,
      40_000,
    );
    expect(code, `${stdout}\n${stderr.slice(-2000)}`).toBe(0);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as TortureResults;
    const run = results.runs[0];
    if (!run) throw new Error('no run');
    expect(run.bridges).toEqual([
      { region: 'eu', relayId: 'jvb-eu' },
      { region: 'us', relayId: 'jvb-us' },
    ]);
    expect(run.specs.map((s) => s.region)).toEqual(['eu', 'us', 'eu', 'us']);
    expect(run.joinErrors).toEqual({});
    const regionOf = new Map(run.specs.map((s) => [s.id, s.region]));
    for (const r of run.participants) {
      expect(r.connectedAt, `${r.spec.id} joined`).toBeTypeOf('number');
      expect(
        receivedFromAll(run, r),
        `${r.spec.id} decoded video from every other ([owner, kind, packets, frames]; unknown SSRC packets ${r.unknownPackets}): ${JSON.stringify(r.sources.map((s) => [s.owner, s.kind, s.packets, s.framesDecoded]))}`,
      ).toBe(true);
      const video = r.sources.filter((x) => x.kind === 'video');
      expect(
        video.filter((s) => regionOf.get(s.owner) !== r.spec.region),
        `${r.spec.id}: two senders on the other bridge`,
      ).toHaveLength(2);
      for (const s of video) expect(s.framesDecoded, `${r.spec.id} <- ${s.owner}`).toBeGreaterThan(100);
    }

    const drop = run.faults.find((f) => f.kind === 'drop-relay');
    expect(drop?.calls?.map((c) => [c.on, c.relayId, c.status, c.relays])).toEqual([
      ['eu', 'jvb-us', 200, 1],
      ['us', 'jvb-eu', 200, 1],
    ]);
    // Every video stream across the relay froze during the outage and flowed again after it (the 4 from the same
    // bridge are counted apart: the outage does not touch them, a busy machine might).
    expect(drop?.recovery, stdout).toMatchObject({ affected: 8, unaffected: 0, neverRecovered: 0 });
    expect(drop?.recovery?.maxMs).toBeGreaterThan(0);
    expect(drop?.recovery?.maxMs).toBeLessThan(3000);
    expect(drop?.sameBridge?.neverRecovered).toBe(0);
    expect((drop?.sameBridge?.affected ?? 0) + (drop?.sameBridge?.unaffected ?? 0)).toBe(4);
    expect(stdout).toMatch(/video received across a relay: 8 stream\(s\) froze and recovered p50 \d+ ms \/ max \d+ ms/);

    // CPU of both bridges' workers, per bridge and in total; streams delivered by both.
    const names = new Set(run.timeline.flatMap((s) => s.server.processes.filter((p) => p.cpu > 0).map((p) => p.name)));
    expect([...names].some((n) => n.startsWith('eu:worker')) && [...names].some((n) => n.startsWith('us:worker')), [...names].join(' ')).toBe(true);
    const last = run.timeline.at(-1);
    expect(last?.forwardedByBridge?.eu).toBeGreaterThan(0);
    expect(last?.forwardedByBridge?.us).toBeGreaterThan(0);
    expect(stdout).toMatch(/^eu\s+jvb-eu\s+\d/m);
  }, 45_000);
});
