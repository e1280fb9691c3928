/**
 * End to end: bandwidth allocation with real Chromium senders of 3-layer VP8 simulcast (the page munges its answer
 * like lib-jitsi-meet's SdpSimulcast), a real octobridge and real receivers.
 *  - A receiver's constraint on a source (thumbnail 180p → on stage 720p → 180p) moves the received frameHeight
 *    within 2 s each way; `ForwardedSources` and `SenderSourceConstraints` carry the right content.
 *  - lastN=1 with two speakers: the forwarded video follows the dominant (louder) speaker.
 *  - Bad constraint messages are rejected and change nothing.
 */
import { describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { until, uplink, videoRtp } from '../helpers/media.ts';

const fixture = useTestBridge();

/** 720p capture at a low frame rate: three layers (180/360/720) within 2 cores. */
const SENDER = 'width=1280&height=720&fps=15';
/** A receive-only participant. */
const RECEIVER = 'video=0&audio=0';

async function join(room: string, name: string, query: string): Promise<BrowserPeer> {
  const peer = await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${query}`);
  fixture.track(peer);
  return peer;
}

/** What the page's test hook gives (src/focus/page/app.js `window.octobridge`). */
interface Hook {
  endpointId: string | null;
  channelOpen: boolean;
  received: { colibriClass: string; [k: string]: unknown }[];
  senderConstraints: Record<string, number>;
  forwardedSources: string[] | null;
  dominantSpeaker: string | null;
  pc: RTCPeerConnection | null;
  tiles(): { owner: string; source: string; ssrc: number }[];
  send(m: object): boolean;
  stage(source: string | null): void;
  setTone(gain: number, frequencyHz?: number): Promise<void>;
}

function hook<T>(peer: BrowserPeer, fn: (h: Hook, arg: string) => T, arg?: string): Promise<T> {
  return peer.evaluate<T>(`(${fn.toString()})(window.octobridge, ${JSON.stringify(arg ?? null)})`);
}

/** Decoded frame height and frames of the inbound video stream with `ssrc`. */
async function inboundVideo(peer: BrowserPeer): Promise<{ ssrc: number; frameHeight: number; framesDecoded: number; bytesReceived: number }[]> {
  return peer.evaluate(`(async () => {
    const out = [];
    const pc = window.octobridge.pc;
    if (!pc) return out;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.push({ ssrc: s.ssrc, frameHeight: s.frameHeight ?? 0, framesDecoded: s.framesDecoded ?? 0, bytesReceived: s.bytesReceived ?? 0 });
      }
    });
    return out;
  })()`);
}

/** The SSRC a receiver gets `source` on (its video source map). */
async function ssrcOf(peer: BrowserPeer, source: string): Promise<number> {
  return until(
    `a map entry for ${source}`,
    peer,
    () => hook(peer, (h, s) => h.tiles().find((t) => t.source === s)?.ssrc ?? 0, source),
    (v) => v > 0,
  );
}

/** Waits until the stream of `ssrc` decodes frames of `height` (and frames keep coming); returns the time taken, ms. */
async function heightReached(peer: BrowserPeer, ssrc: number, height: number, timeoutMs = 10_000, sender?: BrowserPeer): Promise<number> {
  const start = Date.now();
  await until(
    `frameHeight ${height} on ${ssrc}`,
    peer,
    async () => (await inboundVideo(peer)).find((s) => s.ssrc === ssrc)?.frameHeight ?? 0,
    (h) => h === height,
    timeoutMs,
    sender && (() => uplink(sender)),
  );
  return Date.now() - start;
}

/**
 * The first switch up after joining: the sender, which sent 180p only, turns its higher layers on once its own
 * uplink estimate allows them. Chromium's GoogCC usually doubles it every ~0.3 s, but now and then (on this 2-core
 * machine) climbs by only ~50 kbit/s a second, and 720p then takes over 20 s. Waits for `height` at the receiver
 * (30 s); returns the total time and the bridge's share of it: from the first poll that saw the sender encode
 * `height` to the receiver decoding it, ms.
 */
async function firstSwitchUp(receiver: BrowserPeer, sender: BrowserPeer, ssrc: number, height: number): Promise<{ total: number; bridge: number }> {
  const start = Date.now();
  let sending: number | undefined;
  await until(
    `frameHeight ${height} on ${ssrc}`,
    receiver,
    async () => {
      const [inbound, { outbound }] = await Promise.all([inboundVideo(receiver), videoRtp(sender)]);
      if (sending === undefined && outbound.some((o) => o.frameHeight === height)) sending = Date.now();
      return inbound.find((s) => s.ssrc === ssrc)?.frameHeight ?? 0;
    },
    (h) => h === height,
    30_000,
    () => uplink(sender),
  );
  const end = Date.now();
  return { total: end - start, bridge: end - (sending ?? start) };
}

describe('allocation with simulcast senders', () => {
  it('follows a receiver constraint 180 → 720 → 180 within 2 s each way, with ForwardedSources and SenderSourceConstraints', async () => {
    const room = 'alloc-switch';
    const sender = await join(room, 'Sender', SENDER);
    const receiver = await join(room, 'Receiver', RECEIVER);
    const senderId = await until('sender id', sender, () => hook(sender, (h) => h.endpointId), Boolean);
    const source = `${senderId}-v0`;

    // The page announced 3 simulcast layers: the bridge's SenderSourceConstraints for a 180p thumbnail.
    const ssrc = await ssrcOf(receiver, source);
    await heightReached(receiver, ssrc, 180, 20_000);
    await until(
      'SenderSourceConstraints 180',
      sender,
      () => hook(sender, (h, s) => h.senderConstraints[s], source),
      (v) => v === 180,
    );
    expect(await hook(receiver, (h) => h.forwardedSources)).toEqual([source]);

    // On stage: 720p, and the sender is told someone wants 720. The first switch after joining waits for the
    // sender's own uplink estimate to ramp (it sent 180p only): its total is reported, and the bridge's share of it
    // (from the sender encoding 720p) held to 2 s, as the switches after it each way.
    const switches: { up: number; down: number }[] = [];
    let first: { total: number; bridge: number } | undefined;
    for (let i = 0; i < 3; i++) {
      await hook(receiver, (h, s) => h.stage(s), source);
      if (i === 0) first = await firstSwitchUp(receiver, sender, ssrc, 720);
      const up = i === 0 ? first!.total : await heightReached(receiver, ssrc, 720, 10_000, sender);
      expect(await hook(sender, (h, s) => h.senderConstraints[s], source)).toBe(720);
      expect(await hook(receiver, (h) => h.forwardedSources)).toEqual([source]);
      // Back to a thumbnail: 180p, and the sender may stop its higher layers.
      await hook(receiver, (h) => h.stage(null));
      const down = await heightReached(receiver, ssrc, 180);
      await until(
        'SenderSourceConstraints back to 180',
        sender,
        () => hook(sender, (h, s) => h.senderConstraints[s], source),
        (v) => v === 180,
      );
      switches.push({ up, down });
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(
      `layer switches (ms, polled every 200 ms): ${switches.map((s) => `180→720 ${s.up}, 720→180 ${s.down}`).join('; ')}` +
        ` (first up: ${first!.bridge} ms after the sender encoded 720p)`,
    );
    expect(first!.bridge).toBeLessThan(2000);
    for (const [i, s] of switches.entries()) {
      if (i > 0) expect(s.up, `up switch ${i + 1}`).toBeLessThan(2000);
      expect(s.down, `down switch ${i + 1}`).toBeLessThan(2000);
    }
  }, 90_000);

  it('lastN=1: the forwarded video follows the dominant (louder) speaker', async () => {
    const room = 'alloc-lastn';
    // Two layers each (Chromium sends 2 simulcast layers at 640x360), small enough for 3 browsers on 2 cores.
    const a = await join(room, 'Loud', 'width=640&height=360&fps=15');
    const b = await join(room, 'Quiet', 'width=640&height=360&fps=15');
    const r = await join(room, 'LastN1', `${RECEIVER}&lastN=1`);
    const aId = (await until('a id', a, () => hook(a, (h) => h.endpointId), Boolean)) as string;
    const bId = (await until('b id', b, () => hook(b, (h) => h.endpointId), Boolean)) as string;
    await until('r channel', r, () => hook(r, (h) => h.channelOpen), Boolean);
    await until(
      'a and b send',
      a,
      () => hook(a, (h) => h.pc?.connectionState),
      (st) => st === 'connected',
    );
    await until(
      'b sends',
      b,
      () => hook(b, (h) => h.pc?.connectionState),
      (st) => st === 'connected',
    );

    for (const [loud, quiet, loudId] of [
      [a, b, aId],
      [b, a, bId],
    ] as const) {
      await hook(quiet, (h) => void h.setTone(0));
      await hook(loud, (h) => void h.setTone(0.8, 440));
      await until(
        `${loud.name} dominant at the receiver`,
        r,
        () => hook(r, (h) => h.dominantSpeaker),
        (d) => d === loudId,
        15_000,
      );
      await until(
        `only ${loud.name}'s video forwarded`,
        r,
        () => hook(r, (h) => h.forwardedSources),
        (f) => JSON.stringify(f) === JSON.stringify([`${loudId}-v0`]),
        10_000,
      );
      // And it is decoded: its stream's frames grow.
      const ssrc = await ssrcOf(r, `${loudId}-v0`);
      const before = (await inboundVideo(r)).find((x) => x.ssrc === ssrc)?.framesDecoded ?? 0;
      await until(
        `${loud.name}'s frames decode`,
        r,
        async () => (await inboundVideo(r)).find((x) => x.ssrc === ssrc)?.framesDecoded ?? 0,
        (n) => n > before + 5,
      );
    }
    // The last event names the previous speaker too (JVB: previousSpeakers, most recent first).
    const last = await hook(r, (h) => [...h.received].reverse().find((m) => m.colibriClass === 'DominantSpeakerEndpointChangeEvent'));
    expect(last).toMatchObject({ dominantSpeakerEndpoint: bId, previousSpeakers: expect.arrayContaining([aId]) });
  }, 120_000);

  it('rejects bad constraint messages (negative height, wrong types, lastN < -1) and changes nothing', async () => {
    const room = 'alloc-bad';
    const sender = await join(room, 'Sender', SENDER);
    const receiver = await join(room, 'Receiver', RECEIVER);
    const senderId = await until('sender id', sender, () => hook(sender, (h) => h.endpointId), Boolean);
    const receiverId = (await until('receiver id', receiver, () => hook(receiver, (h) => h.endpointId), Boolean)) as string;
    const source = `${senderId}-v0`;
    const ssrc = await ssrcOf(receiver, source);
    await hook(receiver, (h, s) => h.stage(s), source);
    // On stage: above the thumbnail's 180p (720p unless the sender's CPU adaptation scaled it down).
    await until(
      'the source on stage above 180p',
      receiver,
      async () => (await inboundVideo(receiver)).find((x) => x.ssrc === ssrc)?.frameHeight ?? 0,
      (h) => h > 180,
      20_000,
    );
    const conference = fixture.bridge.videobridge.conferences().find((c) => c.endpoint(receiverId));
    const channel = conference?.endpoint(receiverId)?.channel;
    if (!conference || !channel) throw new Error('no conference/channel for the receiver');
    const rejectedBefore = conference.rejectedMessages;
    const malformedBefore = channel.counters.malformed;

    // A source the bridge does not know yet is no bad input: it is stored (early-signals.test.ts).
    const bad: object[] = [
      // Negative height, wrong types.
      { colibriClass: 'ReceiverVideoConstraints', constraints: { [source]: { maxHeight: -5 } } },
      { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: '180' } },
      { colibriClass: 'ReceiverVideoConstraints', lastN: 'one' },
      { colibriClass: 'ReceiverVideoConstraints', onStageSources: source },
      { colibriClass: 'LastNChangedEvent', lastN: -7 },
    ];
    for (const m of bad) await hook(receiver, (h, j) => void h.send(JSON.parse(j)), JSON.stringify(m));
    await new Promise((r) => setTimeout(r, 1500));
    expect(conference.rejectedMessages - rejectedBefore, 'refused by the bridge (lastN < -1)').toBe(1);
    expect(channel.counters.malformed - malformedBefore, 'refused by the parser (range and types)').toBe(4);
    // Nothing changed: still above 180p, still forwarded, the sender still asked for 720.
    expect((await inboundVideo(receiver)).find((x) => x.ssrc === ssrc)?.frameHeight).toBeGreaterThan(180);
    expect(await hook(receiver, (h) => h.forwardedSources)).toEqual([source]);
    expect(await hook(sender, (h, s) => h.senderConstraints[s], source)).toBe(720);
    // The channel still works: a good message after the bad ones takes effect.
    await hook(receiver, (h) => h.stage(null));
    await heightReached(receiver, ssrc, 180);
  }, 90_000);
});
