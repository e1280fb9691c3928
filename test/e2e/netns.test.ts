/**
 * End to end (smoke): one Chromium participant behind a rate-limited downlink (a network
 * namespace with a tbf on its veth, test/helpers/netns.ts), one on loopback, in one standalone
 * room on one bridge. Proves the shaping reaches the media (B's received bitrate stays under the
 * cap and recovers when it is lifted) and that the helper cleans up. Whether the bridge adapts
 * (lower simulcast layer for B) is reported, not asserted.
 *
 * Needs root and `ip netns` (skipped otherwise, with the reason).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, receiveWindow, until } from '../helpers/media.ts';
import { createNetns, netnsSupport, openPeerInNetns, sweepStaleNetns, useNetnsBridge } from '../helpers/netns.ts';

const support = netnsSupport();
if (!support.ok) console.warn(`[netns.test] SKIPPED: ${support.reason}`);

/**
 * B's downlink cap while shaped, kbit/s. Chromium's fake camera is easy to encode: from 640x360
 * A sends only two simulcast layers (libwebrtc limits the layer count by resolution), 90p at
 * ~100 kbit/s and 180p at ~180 kbit/s, so B receives ~180-240 kbit/s uncapped (with audio and
 * RTCP). 100 kbit/s is well below that and still above B's audio alone.
 */
const CAP_KBPS = 100;

/** What B receives over a window: the whole pair, all video, and the stream that decoded the most frames. */
interface Received {
  pairKbps: number;
  videoKbps: number;
  frameHeight: number;
  fps: number;
  remoteAddress: string;
}

/** {@link receiveWindow}, summed up for B. */
async function received(peer: BrowserPeer, ms: number): Promise<Received> {
  const w = await receiveWindow(peer, ms);
  const streams = Object.values(w.video);
  const best = streams.reduce((a, b) => (b.fps > a.fps ? b : a), { kbps: 0, height: 0, fps: 0 });
  return { pairKbps: w.pairKbps, videoKbps: streams.reduce((n, v) => n + v.kbps, 0), frameHeight: best.height, fps: best.fps, remoteAddress: w.remoteAddress };
}

const fmt = (r: Received): string =>
  `pair ${r.pairKbps.toFixed(0)} kbit/s, video ${r.videoKbps.toFixed(0)} kbit/s, ${r.frameHeight}p @ ${r.fps.toFixed(1)} fps, bridge ${r.remoteAddress}`;

describe.skipIf(!support.ok)(`a peer behind a rate-limited downlink (netns + tbf)${support.ok ? '' : ` — SKIPPED: ${support.reason}`}`, () => {
  const fx = useNetnsBridge();

  it('B in the namespace decodes A; its bitrate stays under the cap and recovers when it is lifted', async () => {
    const t0 = Date.now();
    const room = 'netns-room';
    const a = await openPeer(`http://127.0.0.1:${fx.bridge.publicPort}/${room}?name=A&width=640&height=360&fps=30`);
    fx.track(a);
    const b = await openPeerInNetns(fx.ns, `http://${fx.ns.hostIp}:${fx.bridge.publicPort}/${room}?name=B&video=0`);
    fx.track(b);

    await expectMediaFrom(b, 1);
    const joined = Date.now() - t0;
    // getUserMedia worked on http://<hostIp> (the secure-origin flag): B sends its microphone.
    expect(await b.evaluate<boolean>(`window.octobridge.pc.getSenders().some((s) => s.track && s.track.kind === 'audio')`)).toBe(true);
    // A on B's stage (720p constraint, as LJM's on-stage), so the bridge may forward A's best layer.
    const source = `${await a.evaluate<string>('window.octobridge.endpointId')}-v0`;
    await b.evaluate(`(window.octobridge.stage ? window.octobridge.stage(${JSON.stringify(source)}) : window.octobridge.send({ colibriClass: 'ReceiverVideoConstraints', lastN: -1,
      defaultConstraints: { maxHeight: 180 }, onStageSources: [${JSON.stringify(source)}], constraints: { ${JSON.stringify(source)}: { maxHeight: 720 } } }), true)`);
    await until(
      'B receiving A well above the cap',
      b,
      () => received(b, 1000),
      (r) => r.pairKbps > CAP_KBPS * 1.5,
      20_000,
    );
    const above = Date.now() - t0;
    const free = await received(b, 3000);
    console.log(`[netns.test] B uncapped: ${fmt(free)} (decoding after ${joined} ms, above the cap after ${above} ms)`);
    expect(free.remoteAddress, 'B reaches the bridge on the host-side veth address').toBe(fx.ns.hostIp);
    expect(free.fps).toBeGreaterThan(5);

    await fx.ns.setDownlinkRate(CAP_KBPS);
    await new Promise((r) => setTimeout(r, 2000));
    const capped = await received(b, 5000);
    const tbf = await fx.ns.downlinkStats();
    console.log(`[netns.test] B capped at ${CAP_KBPS} kbit/s: ${fmt(capped)}; tbf ${JSON.stringify(tbf)}`);
    // tbf counts Ethernet frames; the pair counts UDP payload, so it is below the cap plus the
    // 1600 B burst (~3 kbit/s over 5 s); 10 % for the sampling times.
    expect(capped.pairKbps).toBeLessThanOrEqual(CAP_KBPS * 1.1);
    expect(capped.videoKbps).toBeLessThanOrEqual(CAP_KBPS * 1.1);
    expect(capped.pairKbps, 'media still flows under the cap').toBeGreaterThan(10);

    await fx.ns.setDownlinkRate(null);
    expect(await fx.ns.downlinkStats()).toBeNull();
    const lifted = Date.now();
    const recovered = await until(
      'B above the cap again',
      b,
      () => received(b, 2000),
      (r) => r.pairKbps > CAP_KBPS * 1.2,
      25_000,
    );
    console.log(`[netns.test] B after lifting the cap: ${fmt(recovered)} within ${Date.now() - lifted} ms; test ${Date.now() - t0} ms`);
  });

  it("close() kills what runs inside and removes the namespace and its veth; dead processes' namespaces are swept", async () => {
    const other = await createNetns({ downlinkKbps: 1000 });
    expect(other.name).not.toBe(fx.ns.name);
    expect(other.hostIp).not.toBe(fx.ns.hostIp);
    expect((await other.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', other.nsVeth])).stdout).toContain(`inet ${other.nsIp}/24`);
    await expect(other.exec(['false'])).rejects.toThrow(/netns exec/);
    // A browser left running inside: close() must not hang on it or leave the namespace behind.
    const stray = await openPeerInNetns(other, 'about:blank');
    await other.close();
    await other.close();
    expect(other.closed).toBe(true);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(other.name);
    expect(spawnSync('ip', ['link', 'show', other.hostVeth]).status).not.toBe(0);
    await expect(other.exec(['true'])).rejects.toThrow(/closed/);
    await stray.close();

    // A namespace named for a process that no longer exists (as a SIGKILLed test leaves one).
    const dead = spawnSync('true').pid;
    const stale = `ob255p${dead}`;
    execFileSync('ip', ['netns', 'add', stale]);
    try {
      sweepStaleNetns();
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(stale);
    } finally {
      spawnSync('ip', ['netns', 'del', stale]);
    }
  });
});
