/**
 * End to end: the bridge's send-side estimate towards a receiver grows by probing, as Jitsi Videobridge's does
 * (BandwidthProbing.kt: padding on the RTX stream of a forwarded source), with real Chromium and Firefox receivers
 * that have what lib-jitsi-meet negotiates: no mediasoup "probator" m-line.
 *
 * The receiver's estimate starts at 150 kbit/s (`jmt.bwe.estimator.initial-bw`): enough for the 180p layer of the
 * sender it puts on stage, too little for the layers above it (360p, 720p). Without probes GoogCC raises an estimate to
 * at most 1.5 × what is acknowledged, and the receiver keeps the layer that fits: the estimate must be probed up.
 * The probes are padding-only packets on the RTX SSRC of the forwarded stream (worker patch 0014): the receiver
 * acknowledges them in its transport-cc feedback and drops them. mediasoup's own probation stream (SSRC 1234), which
 * Firefox drops unacknowledged (its estimate then fell to ~107 kbit/s), is not sent. Besides mediasoup's probe
 * clusters, the bridge pads up to the estimate while the estimate is below what the receiver's allocation wants (its
 * ideal bitrate; worker patch 0016), as JVB does, so the receiver gets the top layer the sender sends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer } from '../../bench/lib/chromium.ts';
import { firefoxPagePeer, openFirefoxPeer } from '../helpers/firefox.ts';
import { until, uplink, videoRtp, type PagePeer } from '../helpers/media.ts';

const dir = mkdtempSync(joinPath(tmpdir(), 'octobridge-probing-'));
const conf = joinPath(dir, 'jvb.conf');
writeFileSync(conf, 'jmt.bwe.estimator.initial-bw = 150 kbps\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixture = useTestBridge({}, { file: conf });

type Browser = 'Chromium' | 'Firefox';

async function join(browser: Browser, room: string, name: string, query: string): Promise<PagePeer> {
  const url = `http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${query}`;
  if (browser === 'Chromium') return fixture.track(await openPeer(url));
  return firefoxPagePeer(fixture.track(await openFirefoxPeer(url)), name);
}

describe.each(['Chromium', 'Firefox'] as const)('bandwidth probing towards a %s receiver', (browser) => {
  it('probes a 150 kbit/s estimate up on the forwarded stream’s RTX SSRC until a layer above 180p fits', async () => {
    const room = `bwe-probing-${browser.toLowerCase()}`;
    const sender = await join('Chromium', room, 'Sender', 'width=1280&height=720&fps=15');
    const receiver = await join(browser, room, 'Receiver', 'video=0&audio=0');
    const senderId = await until('sender id', sender, () => sender.evaluate<string | null>('window.octobridge.endpointId'), Boolean);
    const receiverId = (await until('receiver id', receiver, () => receiver.evaluate<string | null>('window.octobridge.endpointId'), Boolean)) as string;
    const source = `${senderId}-v0`;
    const ssrc = await until(
      'a map entry',
      receiver,
      () => receiver.evaluate<number>(`window.octobridge.tiles().find((t) => t.source === ${JSON.stringify(source)})?.ssrc ?? 0`),
      (v) => v > 0,
    );
    await receiver.evaluate(`window.octobridge.stage(${JSON.stringify(source)})`);

    const endpoint = fixture.bridge.videobridge
      .conferences()
      .find((c) => c.endpoint(receiverId))
      ?.media.endpoint(receiverId);
    if (!endpoint) throw new Error('no media endpoint for the receiver');
    const transport = async () => (await endpoint.transport.getStats())[0]!;
    const height = async () => (await videoRtp(receiver)).inbound.find((s) => s.ssrc === ssrc)?.frameHeight ?? 0;
    const top = async () => Math.max(0, ...(await videoRtp(sender)).outbound.map((o) => o.frameHeight));

    // The sender sends its top layer once its own uplink has ramped (CPU adaptation may lower it, not below 360p).
    await until(
      'the sender at its top layer',
      sender,
      top,
      (h) => h >= 360,
      30_000,
      () => uplink(sender),
    );
    const started = Date.now();
    const probing = async () => {
      const t = await transport();
      return (
        `bridge → receiver estimate ${Math.round((t.availableOutgoingBitrate ?? 0) / 1000)} kbit/s, sending ${Math.round(t.sendBitrate / 1000)} kbit/s, ` +
        `probes ${t.probationBytesSent} bytes; ${await uplink(sender)}`
      );
    };
    // The receiver gets the top layer the sender sends (720p, or 360p when the sender's own uplink or CPU limits it),
    // and keeps it once its bitrate is measured in full (a layer that has just started fits in any estimate: mediasoup
    // reads its bitrate as it ramps), inside an estimate probed up past 1.5 × the start (what the acknowledged 180p
    // alone would allow) and past what is sent.
    const layers = async () => {
      const [h, t, s] = await Promise.all([height(), top(), transport()]);
      return { h, t, estimate: s.availableOutgoingBitrate ?? 0, sent: s.sendBitrate, probes: s.probationBytesSent };
    };
    // 17 s for Chromium's 720p on a quiet run of the suite; up to 45 s when the machine is busier (a run at 30 s
    // saw the estimate at 684 kbit/s, short of 720p).
    await until('the sender’s top layer', receiver, layers, (v) => v.h >= 360 && v.h >= v.t, 45_000, probing);
    const reached = Date.now() - started;
    await new Promise((r) => setTimeout(r, 4000));
    const stats = await until(
      'the sender’s top layer inside a probed-up estimate',
      receiver,
      layers,
      (v) => v.h >= 360 && v.h >= v.t && v.estimate > 225_000 && v.estimate >= v.sent,
      10_000,
      probing,
    );
    console.log(
      `[probing] ${browser}: ${stats.h}p (sender's top ${stats.t}p) after ${reached} ms; estimate ${Math.round(stats.estimate / 1000)} kbit/s (from 150), ` +
        `sending ${Math.round(stats.sent / 1000)} kbit/s, probes ${stats.probes} bytes; ${await uplink(sender)}`,
    );
    // The probes are all the bridge sends beyond the media: mediasoup's probation stream is not sent.
    expect(stats.probes).toBeGreaterThan(0);
    const frames = async () => (await videoRtp(receiver)).inbound.find((s) => s.ssrc === ssrc)?.framesDecoded ?? 0;
    const before = await frames();
    await until('the receiver keeps decoding', receiver, frames, (n) => n > before + 10, 10_000);
  }, 120_000);
});
