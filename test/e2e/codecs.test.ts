/**
 * End to end: the video codec is the client's choice. A real octobridge whose embedded focus offers Jicofo's default
 * codec list (AV1, VP8, H264, VP9: jicofo `CodecUtil.createVideoPayloadTypeExtensions`), and real Chromium pages that
 * choose what they send the way lib-jitsi-meet does (`?codec=` puts it first in the answer: LJM
 * `modules/qualitycontrol/CodecSelection.ts` → `TPCUtils.mungeCodecOrder` → `SDPUtil.preferCodec`):
 *  - a sender of VP9 (not first in the offer), one of H.264 and one of AV1 are decoded by the other participant, in
 *    that codec;
 *  - with LJM's desktop order a sender sends AV1, and when a participant that lacks AV1 joins, its codec selection
 *    moves to VP8 mid-call (a local renegotiation as LJM's `JingleSessionPC.setVideoCodecs` does, no colibri2 request
 *    about the sender): the other receiver keeps decoding across the switch (the longest pause in decoded frames is
 *    printed) and the newcomer decodes VP8.
 */
import { describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { sentCodecs, until, videoRtp, type VideoInbound } from '../helpers/media.ts';

const fixture = useTestBridge();

/** LJM's desktop codec order (`CodecSelection` `DESKTOP_VIDEO_CODEC_ORDER`), the page's own default. */
const LJM_DESKTOP_ORDER = 'AV1,VP9,VP8,H264';

/** Small video keeps two encoders and decoders within 2 cores. */
const MEDIA = 'width=320&height=180&fps=15';

async function join(room: string, name: string, extra = ''): Promise<BrowserPeer> {
  const peer = await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${MEDIA}${extra}`);
  fixture.track(peer);
  return peer;
}

/** The inbound video streams with their codec (`video/VP9`). */
async function inbound(peer: BrowserPeer): Promise<VideoInbound[]> {
  return (await videoRtp(peer)).inbound;
}

async function expectDecoding(peer: BrowserPeer, codec: string, timeoutMs = 30_000): Promise<VideoInbound> {
  let before: VideoInbound[] = [];
  const grown = await until(
    `${peer.name} decoding ${codec}`,
    peer,
    async () => {
      await new Promise((r) => setTimeout(r, 500));
      const now = await inbound(peer);
      const growing = now.find((v) => v.codec === codec && v.frameWidth > 0 && v.framesDecoded > (before.find((b) => b.ssrc === v.ssrc)?.framesDecoded ?? 0));
      before = now;
      return growing;
    },
    (v) => v !== undefined,
    timeoutMs,
  );
  return grown as VideoInbound;
}

describe("the client's codec choice over Jicofo's codec list", () => {
  it('offers AV1, VP8, H264, VP9; a VP9 sender and a VP8 sender decode each other', async () => {
    const room = 'codec-vp9';
    const alice = await join(room, 'Alice', '&codec=VP9');
    const bob = await join(room, 'Bob', '&codec=VP8');
    const offer = (await alice.evaluate<string | null>('window.octobridge.offerSdp')) ?? '';
    expect(offer).toMatch(/m=video 9 UDP\/TLS\/RTP\/SAVPF 41 100 107 101 /);
    await until(
      'Alice sends VP9',
      alice,
      () => sentCodecs(alice),
      (c) => c.includes('video/VP9'),
      30_000,
    );
    await until(
      'Bob sends VP8',
      bob,
      () => sentCodecs(bob),
      (c) => c.includes('video/VP8'),
      30_000,
    );
    await expectDecoding(bob, 'video/VP9');
    await expectDecoding(alice, 'video/VP8');
    // Browsers left running would starve the later tests' encoders on 2 cores.
    await Promise.all([alice.close(), bob.close()]);
  }, 120_000);

  // H.264 and AV1 as lib-jitsi-meet sends them (simulcast, K-SVC); VP9 and AV1 also as one stream without a SIM group.
  for (const [codec, extra, how] of [
    ['H264', '', ''],
    ['AV1', '', ''],
    ['VP9', '&simulcast=0', ', one stream without a SIM group,'],
    ['AV1', '&simulcast=0', ', one stream without a SIM group,'],
  ] as const) {
    it(`an ${codec} sender${how} is decoded by the other participant`, async () => {
      const room = `codec-${codec.toLowerCase()}${extra ? '-single' : ''}`;
      const alice = await join(room, 'Alice', `&codec=${codec}${extra}`);
      const bob = await join(room, 'Bob', '&video=0');
      await until(
        `Alice sends ${codec}`,
        alice,
        () => sentCodecs(alice),
        (c) => c.includes(`video/${codec}`),
        30_000,
      );
      await expectDecoding(bob, `video/${codec}`);
      await Promise.all([alice.close(), bob.close()]);
    }, 120_000);
  }

  it("LJM's desktop order sends AV1; a participant without AV1 joins and the sender moves to VP8 mid-call, decoded throughout", async () => {
    const room = 'codec-switch';
    const alice = await join(room, 'Alice', `&codecs=${LJM_DESKTOP_ORDER}`);
    const bob = await join(room, 'Bob', `&codecs=${LJM_DESKTOP_ORDER}&video=0`);
    await until(
      'Alice sends AV1',
      alice,
      () => sentCodecs(alice),
      (c) => c.includes('video/AV1'),
      30_000,
    );
    await expectDecoding(bob, 'video/AV1');
    const aliceId = await alice.evaluate<string>('window.octobridge.endpointId');
    // Count the colibri2 requests about Alice from here on: her switch needs none (Carol's join makes its own).
    const videobridge = fixture.bridge.videobridge;
    const modify = videobridge.conferenceModify.bind(videobridge);
    let aboutAlice = 0;
    videobridge.conferenceModify = (req) => {
      if (req.endpoints.some((e) => e.id === aliceId)) aboutAlice += 1;
      return modify(req);
    };

    // Bob samples his decoded frames every 50 ms (wall clock, the same as the test's).
    await bob.evaluate(`(() => {
      window.__frames = [];
      window.__sampler = setInterval(async () => {
        const pc = window.octobridge.pc;
        if (!pc) return;
        const stats = await pc.getStats();
        let frames = 0; const codecs = new Set();
        stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') { frames += s.framesDecoded ?? 0; if ((s.framesDecoded ?? 0) > 0) codecs.add(stats.get(s.codecId)?.mimeType ?? ''); } });
        window.__frames.push({ t: Date.now(), frames, codecs: [...codecs] });
      }, 50);
    })()`);
    await new Promise((r) => setTimeout(r, 1500));
    // Carol announces VP8 and H.264 only (an older client): Alice's CodecSelection leaves AV1 for VP8.
    const joinedAt = Date.now();
    const carol = await join(room, 'Carol', '&codecs=H264,VP8&video=0');
    await until(
      'Alice sends VP8',
      alice,
      () => sentCodecs(alice),
      (c) => c.includes('video/VP8') && !c.includes('video/AV1'),
      30_000,
    );
    await expectDecoding(carol, 'video/VP8');
    await expectDecoding(bob, 'video/VP8');
    await new Promise((r) => setTimeout(r, 2000));
    const samples = await bob.evaluate<{ t: number; frames: number; codecs: string[] }[]>(
      `(() => { clearInterval(window.__sampler); return window.__frames; })()`,
    );
    const switchedAt = (await alice.evaluate<{ t: number }[]>('window.octobridge.codecSwitches')).at(-1)?.t ?? joinedAt;

    // The longest time without a new decoded frame, from 1 s before the switch to the end.
    const window = samples.filter((s) => s.t >= switchedAt - 1000);
    let gap = 0;
    let lastIncrease = window[0]?.t ?? switchedAt;
    for (let i = 1; i < window.length; i++) {
      const cur = window[i];
      const prev = window[i - 1];
      if (!cur || !prev) continue;
      if (cur.frames > prev.frames) {
        gap = Math.max(gap, cur.t - lastIncrease);
        lastIncrease = cur.t;
      }
    }
    const firstVp8 = samples.find((s) => s.t >= switchedAt && s.codecs.includes('video/VP8'));
    const first = window[0];
    const last = window[window.length - 1];
    console.log(
      `codec switch AV1 → VP8 (a participant without AV1 joined): longest pause in decoded frames ${gap} ms; first VP8 frame decoded ${firstVp8 ? firstVp8.t - switchedAt : -1} ms after the switch; frames ${first?.frames} → ${last?.frames}`,
    );
    expect(last && first && last.frames > first.frames).toBe(true);
    expect(samples[samples.length - 1]?.codecs).toContain('video/VP8');
    videobridge.conferenceModify = modify;
    expect(aboutAlice).toBe(0);
    // Generous on a shared 2-core machine: the switch costs a new producer, a source map and a keyframe.
    expect(gap).toBeLessThan(5000);
  }, 150_000);
});
