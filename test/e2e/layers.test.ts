/**
 * End to end: layer selection for every codec a Jitsi client sends, with real Chromium senders (the page with
 * `?codec=`, as lib-jitsi-meet sends each: VP9 and AV1 as one `L3T3_KEY` K-SVC encoding, VP8 and H.264 as 3-layer
 * simulcast, `StandardVideoQualitySettings` bitrates), a real octobridge whose focus offers Jicofo's full codec list
 * (AV1, VP8, H.264, VP9), and two real receivers of the one source:
 *  - both decode it;
 *  - the one that shows it as a 180p thumbnail gets a low spatial layer (at most 360p, a fraction of the bitrate),
 *    while the one that has it on stage gets the top layer (the height the sender encodes);
 *  - taking it off stage brings the second receiver down to the low layer too, and on stage again back up to the top
 *    layer (a keyframe from the sender) within 5 s;
 *  - the same for AV1 with the receivers on another worker than the sender (piped between routers);
 *  - VP9 and AV1 sent as simulcast (`svc=0`), which colibri2 signals as it signals SVC: the bridge sees media on the
 *    other SSRCs of the SIM group and produces the source as simulcast.
 */
import { describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { framesDecoded, until, uplink, videoRtp, type VideoInbound, type VideoOutbound } from '../helpers/media.ts';

/** What the page's test hook gives (src/focus/page/app.js `window.octobridge`). */
interface Hook {
  endpointId: string | null;
  senderConstraints: Record<string, number>;
  forwardedSources: string[] | null;
  pc: RTCPeerConnection | null;
  tiles(): { owner: string; source: string; ssrc: number }[];
  stage(source: string | null): void;
}

function hook<T>(peer: BrowserPeer, fn: (h: Hook, arg: string) => T, arg?: string): Promise<T> {
  return peer.evaluate<T>(`(${fn.toString()})(window.octobridge, ${JSON.stringify(arg ?? null)})`);
}

/** The inbound video streams with their codec. */
async function inbound(peer: BrowserPeer): Promise<VideoInbound[]> {
  return (await videoRtp(peer)).inbound;
}

/** The sender's outbound video that carries bytes: its encoded height, scalability mode and codec. */
async function outbound(peer: BrowserPeer): Promise<VideoOutbound[]> {
  return (await videoRtp(peer)).outbound.filter((s) => s.bytesSent > 0);
}

async function stream(peer: BrowserPeer, ssrc: number): Promise<VideoInbound | undefined> {
  return (await inbound(peer)).find((s) => s.ssrc === ssrc);
}

/** Received bitrate of the stream over `ms`, bps. */
async function bitrate(peer: BrowserPeer, ssrc: number, ms = 3000): Promise<number> {
  const a = (await stream(peer, ssrc))?.bytesReceived ?? 0;
  await new Promise((r) => setTimeout(r, ms));
  const b = (await stream(peer, ssrc))?.bytesReceived ?? 0;
  return ((b - a) * 8 * 1000) / ms;
}

/**
 * VP8 and H.264 simulcast, VP9 and AV1 SVC on one worker; AV1 again with the receivers on a second worker (the source
 * crosses a pipe between routers, which must carry the dependency descriptor).
 */
const CASES = [
  { codec: 'VP8', mode: 'simulcast', label: '', query: '', env: {} },
  { codec: 'H264', mode: 'simulcast', label: '', query: '', env: {} },
  { codec: 'VP9', mode: 'L3T3_KEY', label: '', query: '', env: {} },
  { codec: 'AV1', mode: 'L3T3_KEY', label: '', query: '', env: {} },
  { codec: 'AV1', mode: 'L3T3_KEY', label: ' across two workers', query: '', env: { OCTOBRIDGE_WORKERS: '2', OCTOBRIDGE_WORKER_CONFERENCE_CONSUMERS: '1' } },
  // VP9 and AV1 simulcast (Firefox, Safari; LJM with `videoQuality.<codec>.useSimulcast`): signalled like SVC, told
  // apart by the packets on the SIM group's other SSRCs.
  { codec: 'VP9', mode: 'simulcast', label: '', query: '&svc=0', env: {} },
  { codec: 'AV1', mode: 'simulcast', label: '', query: '&svc=0', env: {} },
] as const;

for (const { codec, mode, label, query: extra, env } of CASES) {
  // One retry. About one run in seven (this host, 2 cores, three Chromium) fails one of two ways, not yet understood:
  // the on-stage receiver stays at 180p with the sender sending 720p and the allocation's ideal for the source at
  // 180p (its estimate 1.8-2.4 Mbit/s: the constraints or the layers it knows are stale), or an AV1 simulcast sender
  // encodes nothing above 180p. A timeout prints the allocation's view (`explainStage`) to tell which.
  describe(`layer selection: ${codec} ${mode}${label}`, { retry: 1 }, () => {
    const fixture = useTestBridge(env);

    /** The peers of the current attempt (a retry closes them first, and joins another room). */
    const peers: BrowserPeer[] = [];
    let attempt = 0;

    async function join(room: string, name: string, query: string): Promise<BrowserPeer> {
      const peer = await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&codec=${codec}&${query}${extra}`);
      fixture.track(peer);
      peers.push(peer);
      return peer;
    }

    it('a 180p thumbnail gets a low spatial layer, an on-stage tile the top one; both decode', async () => {
      await Promise.all(peers.splice(0).map((p) => p.close().catch(() => undefined)));
      attempt += 1;
      const room = `layers-${codec.toLowerCase()}-${mode.toLowerCase()}${label ? '-pipe' : ''}-${attempt}`;
      const sender = await join(room, 'Sender', 'width=1280&height=720&fps=15&audio=0');
      const thumb = await join(room, 'Thumb', 'video=0&audio=0');
      const stage = await join(room, 'Stage', 'video=0&audio=0');
      const senderId = await until('sender id', sender, () => hook(sender, (h) => h.endpointId), Boolean);
      const source = `${senderId}-v0`;
      // The receive SSRC of the source in a receiver's map. It changes when the bridge produces the source again (the
      // sender's codec, or VP9/AV1 simulcast seen): always read the current one.
      const ssrcOf = (peer: BrowserPeer): Promise<number> =>
        until(
          `a map entry for ${source}`,
          peer,
          () => hook(peer, (h, s) => h.tiles().find((t) => t.source === s)?.ssrc ?? 0, source),
          (v) => v > 0,
        );
      const current = async (peer: BrowserPeer): Promise<VideoInbound | undefined> => stream(peer, await ssrcOf(peer));
      await ssrcOf(thumb);
      await ssrcOf(stage);
      await hook(stage, (h, s) => h.stage(s), source);

      // The sender is told someone wants 720p, and sends the codec as SVC or as (at least two layers of) simulcast.
      await until(
        'SenderSourceConstraints 720',
        sender,
        () => hook(sender, (h, s) => h.senderConstraints[s], source),
        (v) => v === 720,
        30_000,
      );
      const sending = (o: VideoOutbound[]): boolean => (mode === 'simulcast' ? o.length >= 2 : o.some((x) => x.scalabilityMode === mode));
      const out = await until(
        `the sender sends ${mode}`,
        sender,
        () => outbound(sender),
        sending,
        30_000,
        () => uplink(sender),
      );
      expect(out[0]?.codec).toBe(`video/${codec}`);

      // Both decode.
      for (const peer of [thumb, stage]) {
        const first = await until(
          `${peer.name} decodes`,
          peer,
          () => current(peer),
          (s) => (s?.framesDecoded ?? 0) > 10,
          40_000,
        );
        expect(first?.codec).toBe(`video/${codec}`);
        const before = await framesDecoded(peer);
        await until(
          `${peer.name} keeps decoding`,
          peer,
          () => framesDecoded(peer),
          (n) => n > before + 10,
          20_000,
        );
      }

      // The on-stage receiver gets the sender's top layer (the height it encodes; CPU adaptation may lower it, to no
      // less than 360p here, and moves it now and then: at least the top, sampled together).
      const top = async (): Promise<number> => Math.max(0, ...(await outbound(sender)).map((o) => o.frameHeight));
      const atTop = ([h, t]: number[]): boolean => (h ?? 0) >= 360 && (h ?? 0) >= (t ?? 0);
      // For a timeout: the sender's uplink and the bridge's side of the on-stage receiver (its estimate, what the
      // allocation chose and the layers it knows of the source).
      const explainStage = async (): Promise<string> => {
        const id = await hook(stage, (h) => h.endpointId);
        const conference = fixture.bridge.videobridge.conferences().find((c) => c.endpoint(id ?? ''));
        const state = conference?.allocator.state(id ?? '');
        const t = (await conference?.media.endpoint(id ?? '')?.transport.getStats())?.[0];
        const picked = state?.allocation.sources.map((s) => `${s.source} ${s.target?.height ?? 'off'}p of ${s.ideal?.height ?? 'none'}p ideal`);
        const wanted = state && { onStage: state.settings.onStageSources, constraints: Object.fromEntries(state.settings.constraints) };
        const layers = conference?.allocator.layersOf(source)?.map((l) => `${l.height}p/${l.frameRate} ${Math.round(l.bitrateBps / 1000)}`);
        return (
          `${await uplink(sender)}; bridge → Stage: estimate ${Math.round((t?.availableOutgoingBitrate ?? 0) / 1000)} kbit/s (allocation's ` +
          `${Math.round((state?.bweBps ?? 0) / 1000)}), sending ${Math.round((t?.sendBitrate ?? 0) / 1000)} kbit/s, allocation ${picked?.join(', ')}, ` +
          `wanted ${JSON.stringify(wanted)}; layers known (kbit/s) ${layers?.join(', ')}`
        );
      };
      await until(
        'the on-stage tile at the top layer',
        stage,
        async () => [(await current(stage))?.frameHeight ?? 0, await top()],
        atTop,
        40_000,
        explainStage,
      );
      // The thumbnail gets at most 360p.
      await until(
        'the thumbnail at most 360p',
        thumb,
        async () => (await current(thumb))?.frameHeight ?? 0,
        (h) => h > 0 && h <= 360,
        20_000,
      );
      const [thumbBps, stageBps] = await Promise.all([bitrate(thumb, await ssrcOf(thumb)), bitrate(stage, await ssrcOf(stage))]);
      const heights = [(await current(thumb))?.frameHeight, (await current(stage))?.frameHeight];
      console.log(
        `${codec}${label}: thumbnail ${heights[0]}p at ${Math.round(thumbBps / 1000)} kbps, on stage ${heights[1]}p at ${Math.round(stageBps / 1000)} kbps (${((100 * thumbBps) / stageBps).toFixed(0)} %)`,
      );
      expect(thumbBps).toBeLessThan(stageBps * 0.7);

      // Off stage: the second receiver goes down to a thumbnail's layer as well.
      const started = Date.now();
      await hook(stage, (h) => h.stage(null));
      await until(
        'the former on-stage tile at most 360p',
        stage,
        async () => (await current(stage))?.frameHeight ?? 0,
        (h) => h > 0 && h <= 360,
        20_000,
      );
      const down = Date.now() - started;

      // On stage again: up to the top layer (mediasoup asks the sender for a keyframe: K-SVC and simulcast need one).
      const again = Date.now();
      await hook(stage, (h, s) => h.stage(s), source);
      await until('back on stage at the top layer', stage, async () => [(await current(stage))?.frameHeight ?? 0, await top()], atTop, 20_000, explainStage);
      const up = Date.now() - again;
      console.log(`${codec}${label}: on stage → thumbnail ${down} ms, thumbnail → on stage ${up} ms (polled every 200 ms)`);
      // Typically 0.2–0.9 s; a sender whose CPU adaptation keeps rescaling (2 shared cores) may take longer.
      expect(up).toBeLessThan(10_000);
      // The thumbnail is (still, or again) at most 360p. AV1: while Chromium reconfigures its encoder (L1T3 at 1/4 scale
      // → L3T3_KEY) its spatial layer 0 has been seen at 720p for ~0.6 s (about 1 switch in 15; the bridge forwarded
      // layer 0 only), so this waits for the steady state.
      await until(
        'the thumbnail at most 360p after the switch',
        thumb,
        async () => (await current(thumb))?.frameHeight ?? 0,
        (h) => h > 0 && h <= 360,
        10_000,
      );
    }, 180_000);
  });
}
