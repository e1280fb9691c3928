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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBridge } from '../../src/bridge.ts';
import { startTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../helpers/chromium.ts';
import { expectMediaFrom, until } from '../helpers/media.ts';
import { createNetns, netnsBridgeEnv, netnsSupport, openPeerInNetns, sweepStaleNetns, type Netns } from '../helpers/netns.ts';

const support = netnsSupport();
if (!support.ok) console.warn(`[netns.test] SKIPPED: ${support.reason}`);

/**
 * B's downlink cap while shaped, kbit/s. Chromium's fake camera is easy to encode: from 640x360
 * A sends only two simulcast layers (libwebrtc limits the layer count by resolution), 90p at
 * ~100 kbit/s and 180p at ~180 kbit/s, so B receives ~180-240 kbit/s uncapped (with audio and
 * RTCP). 100 kbit/s is well below that and still above B's audio alone.
 */
const CAP_KBPS = 100;

/** What B receives over a window: the selected candidate pair (all media, RTCP, SCTP) and the video streams. */
interface Received {
  /** UDP payload bytes on the selected candidate pair, kbit/s. */
  pairKbps: number;
  /** Video RTP (payload + header bytes), kbit/s. */
  videoKbps: number;
  /** Frame height of the video stream that decoded the most frames in the window. */
  frameHeight: number;
  /** Frames decoded per second in the window. */
  fps: number;
  /** Address of the bridge's candidate in the selected pair. */
  remoteAddress: string;
}

/** Sample B's getStats twice, `ms` apart, and return the rates over that window. */
async function received(peer: BrowserPeer, ms: number): Promise<Received> {
  return peer.evaluate<Received>(`(async () => {
    const pc = window.octobridge.pc;
    const sample = async () => {
      const r = await pc.getStats();
      let pair = 0, video = 0, remoteAddress = '';
      const frames = new Map();
      r.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const p = r.get(s.selectedCandidatePairId);
          pair += p.bytesReceived;
          remoteAddress = r.get(p.remoteCandidateId)?.address ?? '';
        }
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          video += (s.bytesReceived ?? 0) + (s.headerBytesReceived ?? 0);
          frames.set(s.ssrc, { decoded: s.framesDecoded ?? 0, height: s.frameHeight ?? 0 });
        }
      });
      return { at: performance.now(), pair, video, frames, remoteAddress };
    };
    const a = await sample();
    await new Promise((r) => setTimeout(r, ${ms}));
    const b = await sample();
    const s = (b.at - a.at) / 1000;
    let best = { decoded: 0, height: 0 };
    for (const [ssrc, f] of b.frames) {
      const d = f.decoded - (a.frames.get(ssrc)?.decoded ?? 0);
      if (d > best.decoded) best = { decoded: d, height: f.height };
    }
    return { pairKbps: (b.pair - a.pair) * 8 / 1000 / s, videoKbps: (b.video - a.video) * 8 / 1000 / s,
      frameHeight: best.height, fps: best.decoded / s, remoteAddress: b.remoteAddress };
  })()`);
}

const fmt = (r: Received): string =>
  `pair ${r.pairKbps.toFixed(0)} kbit/s, video ${r.videoKbps.toFixed(0)} kbit/s, ${r.frameHeight}p @ ${r.fps.toFixed(1)} fps, bridge ${r.remoteAddress}`;

describe.skipIf(!support.ok)(`a peer behind a rate-limited downlink (netns + tbf)${support.ok ? '' : ` — SKIPPED: ${support.reason}`}`, () => {
  let ns: Netns;
  let bridge: RunningBridge;
  const peers: BrowserPeer[] = [];

  beforeAll(async () => {
    ns = await createNetns();
    bridge = await startTestBridge(netnsBridgeEnv(ns));
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await bridge?.close();
    await ns?.close();
  });

  it('B in the namespace decodes A; its bitrate stays under the cap and recovers when it is lifted', async () => {
    const t0 = Date.now();
    const room = 'netns-room';
    const a = await openPeer(`http://127.0.0.1:${bridge.publicPort}/${room}?name=A&width=640&height=360&fps=30`);
    peers.push(a);
    const b = await openPeerInNetns(ns, `http://${ns.hostIp}:${bridge.publicPort}/${room}?name=B&video=0`);
    peers.push(b);

    await expectMediaFrom(b, 1);
    const joined = Date.now() - t0;
    // getUserMedia worked on http://<hostIp> (the secure-origin flag): B sends its microphone.
    expect(await b.evaluate<boolean>(`window.octobridge.pc.getSenders().some((s) => s.track && s.track.kind === 'audio')`)).toBe(true);
    // A on B's stage (720p constraint, as LJM's on-stage), so the bridge may forward A's best layer.
    const source = `${await a.evaluate<string>('window.octobridge.endpointId')}-v0`;
    await b.evaluate(`(window.octobridge.stage ? window.octobridge.stage(${JSON.stringify(source)}) : window.octobridge.send({ colibriClass: 'ReceiverVideoConstraints', lastN: -1,
      defaultConstraints: { maxHeight: 180 }, onStageSources: [${JSON.stringify(source)}], constraints: { ${JSON.stringify(source)}: { maxHeight: 720 } } }), true)`);
    await until('B receiving A well above the cap', b, () => received(b, 1000), (r) => r.pairKbps > CAP_KBPS * 1.5, 20_000);
    const above = Date.now() - t0;
    const free = await received(b, 3000);
    console.log(`[netns.test] B uncapped: ${fmt(free)} (decoding after ${joined} ms, above the cap after ${above} ms)`);
    expect(free.remoteAddress, 'B reaches the bridge on the host-side veth address').toBe(ns.hostIp);
    expect(free.fps).toBeGreaterThan(5);

    await ns.setDownlinkRate(CAP_KBPS);
    await new Promise((r) => setTimeout(r, 2000));
    const capped = await received(b, 5000);
    const tbf = await ns.downlinkStats();
    console.log(`[netns.test] B capped at ${CAP_KBPS} kbit/s: ${fmt(capped)}; tbf ${JSON.stringify(tbf)}`);
    // tbf counts Ethernet frames; the pair counts UDP payload, so it is below the cap plus the
    // 1600 B burst (~3 kbit/s over 5 s); 10 % for the sampling times.
    expect(capped.pairKbps).toBeLessThanOrEqual(CAP_KBPS * 1.1);
    expect(capped.videoKbps).toBeLessThanOrEqual(CAP_KBPS * 1.1);
    expect(capped.pairKbps, 'media still flows under the cap').toBeGreaterThan(10);

    await ns.setDownlinkRate(null);
    expect(await ns.downlinkStats()).toBeNull();
    const lifted = Date.now();
    const recovered = await until('B above the cap again', b, () => received(b, 2000), (r) => r.pairKbps > CAP_KBPS * 1.2, 25_000);
    console.log(`[netns.test] B after lifting the cap: ${fmt(recovered)} within ${Date.now() - lifted} ms; test ${Date.now() - t0} ms`);
  });

  it('close() kills what runs inside and removes the namespace and its veth; dead processes\' namespaces are swept', async () => {
    const other = await createNetns({ downlinkKbps: 1000 });
    expect(other.name).not.toBe(ns.name);
    expect(other.hostIp).not.toBe(ns.hostIp);
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
