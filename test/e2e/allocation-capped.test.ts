/**
 * End to end: allocation on a capped downlink. A receive-only Chromium sits in a network namespace whose downlink
 * is shaped with tbf (test/helpers/netns.ts; no netem here); two Chromium senders of VP8 simulcast on loopback.
 * The receiver has sender 1 on stage (720p) and sender 2 as a 180p thumbnail.
 *  - Uncapped: sender 1 arrives at 720p.
 *  - Capped below what that needs: the bridge's transport-cc estimate follows the cap, the allocation fits the
 *    estimate, sender 1 drops to a lower layer but stays at least as high as the thumbnail (on stage first).
 *  - Cap lifted: 720p comes back.
 * Prints its figures (cap, estimate, allocated and received bitrates).
 */
import { describe, expect, it } from 'vitest';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { receiveWindow, until } from '../helpers/media.ts';
import { netnsSupport, openPeerInNetns, useNetnsBridge } from '../helpers/netns.ts';

const support = netnsSupport();

describe.skipIf(!support.ok)(`allocation on a capped downlink${support.ok ? '' : ` — SKIPPED: ${support.reason}`}`, () => {
  const fx = useNetnsBridge();

  it('gives a capped receiver lower layers within the estimate, the on-stage source first, and restores them when the cap is lifted', async () => {
    const room = 'alloc-capped';
    const url = (host: string, q: string) => `http://${host}:${fx.bridge.publicPort}/${room}?${q}`;
    const s1 = await openPeer(url('127.0.0.1', 'name=Stage&width=1280&height=720&fps=15&audio=0'));
    fx.track(s1);
    const s2 = await openPeer(url('127.0.0.1', 'name=Thumb&width=1280&height=720&fps=15&audio=0'));
    fx.track(s2);
    const r = await openPeerInNetns(fx.ns, url(fx.ns.hostIp, 'name=Capped&video=0&audio=0'));
    fx.track(r);
    const id = (p: BrowserPeer) => until('endpoint id', p, () => p.evaluate<string | null>('window.octobridge.endpointId'), Boolean) as Promise<string>;
    const [s1Id, s2Id, rId] = [await id(s1), await id(s2), await id(r)];
    const stage = `${s1Id}-v0`;
    const thumb = `${s2Id}-v0`;
    const ssrcOf = (source: string) =>
      until(
        `${source} mapped`,
        r,
        () => r.evaluate<number>(`window.octobridge.tiles().find((t) => t.source === ${JSON.stringify(source)})?.ssrc ?? 0`),
        (v) => v > 0,
      );
    const [stageSsrc, thumbSsrc] = [await ssrcOf(stage), await ssrcOf(thumb)];
    await r.evaluate(`window.octobridge.stage(${JSON.stringify(stage)})`);

    const conference = fx.bridge.videobridge.conferences().find((c) => c.endpoint(rId));
    if (!conference) throw new Error('no conference');
    const state = () => {
      const st = conference.allocator.state(rId);
      if (!st) throw new Error('no allocator state');
      const layer = (source: string) => st.allocation.sources.find((a) => a.source === source)?.target;
      return { bweKbps: st.bweBps / 1000, targetKbps: st.allocation.targetBps / 1000, stage: layer(stage), thumb: layer(thumb) };
    };
    const heights = async () => {
      const w = await receiveWindow(r, 1000);
      return { w, stage: w.video[stageSsrc]?.height ?? 0, thumb: w.video[thumbSsrc]?.height ?? 0 };
    };

    // Uncapped: the stage at 720p, the thumbnail at 180p.
    await until('stage 720p and thumbnail 180p uncapped', r, heights, (h) => h.stage === 720 && h.thumb === 180, 30_000);
    const free = await receiveWindow(r, 3000);
    const freeState = state();
    console.log(
      `[capped] uncapped: received ${free.pairKbps.toFixed(0)} kbit/s, estimate ${freeState.bweKbps.toFixed(0)} kbit/s, allocated ${freeState.targetKbps.toFixed(0)} kbit/s`,
    );

    // Cap below what 720p + thumbnail take: 60 % of what the receiver got (at least 250 kbit/s).
    const cap = Math.max(250, Math.round(free.pairKbps * 0.6));
    await fx.ns.setDownlinkRate(cap);
    const capped = await until('the stage below 720p', r, heights, (h) => h.stage > 0 && h.stage < 720, 30_000);
    // GoogCC may undershoot the cap at first (a delay-based decrease), then ramps back towards it; a probe that
    // just went through may leave it above the cap for a moment (measured once: 856 kbit/s under a 441 kbit/s cap,
    // as the stage left 720p): wait for an allocation that forwards the stage within an estimate that follows the
    // cap (tbf counts whole frames; allow the estimator's overshoot), then check it against the estimate and the cap.
    const st = await until(
      'an allocation forwarding the stage, the estimate following the cap',
      r,
      async () => state(),
      (x) => x.stage !== undefined && x.bweKbps > 0 && x.bweKbps < cap * 1.3,
      30_000,
    );
    const settled = await receiveWindow(r, 4000);
    console.log(
      `[capped] cap ${cap} kbit/s: estimate ${st.bweKbps.toFixed(0)} kbit/s, allocated ${st.targetKbps.toFixed(0)} kbit/s ` +
        `(stage ${st.stage?.height ?? 0}p ${Math.round((st.stage?.bitrateBps ?? 0) / 1000)} kbit/s, thumbnail ${st.thumb?.height ?? 0}p), ` +
        `received ${settled.pairKbps.toFixed(0)} kbit/s; first lower layer ${capped.stage}p`,
    );
    // The allocation fits the estimate, and the receiver gets no more than the cap.
    expect(st.targetKbps).toBeLessThanOrEqual(st.bweKbps);
    expect(settled.pairKbps).toBeLessThanOrEqual(cap * 1.1);
    // On stage first: the stage source is not below the thumbnail, and below 720p.
    expect(st.stage!.height).toBeGreaterThanOrEqual(st.thumb?.height ?? 0);
    expect(st.stage!.height).toBeLessThan(720);

    // Lifted: 720p comes back (mediasoup's estimate ramps up; its SimulcastConsumer waits 10 s after a BWE downgrade).
    await fx.ns.setDownlinkRate(null);
    const lifted = Date.now();
    await until('720p after lifting the cap', r, heights, (h) => h.stage === 720, 45_000);
    console.log(`[capped] cap lifted: 720p again after ${Date.now() - lifted} ms, estimate ${state().bweKbps.toFixed(0)} kbit/s`);
  }, 180_000);
});
