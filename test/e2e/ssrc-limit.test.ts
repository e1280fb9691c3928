/**
 * End to end: a receiver with SSRC rewriting gets at most `videobridge.ssrc-limit.video` send SSRCs of video (and
 * `.audio` of audio), re-mapped from source to source as JVB's `SsrcCache` does: lib-jitsi-meet (and the page,
 * `sdp.js addSourcesToRemoteSdp`) adds an m-line for each SSRC it has not seen and only re-maps a known one, so
 * without reuse its SDP would grow with every participant that ever joined.
 *
 * 60 participants (small video, a tab each in one shared Chromium) join and leave one room one after another, a few
 * at a time, while one receiver stays: at the end its remote description has a handful of video m-lines (at most
 * 50), it decodes the participants present on the SSRCs of its current source maps, and the sequence numbers went
 * on across every re-map of an SSRC (`packetsLost` stays near 0; a new random start would count thousands, or get
 * the new source's packets dropped as old). With a limit of 4 and 6 senders present: the receiver never gets more
 * than 4 video SSRCs, a source put on its stage takes the slot of one it does not watch (evicted), and a source
 * waiting for a slot gets the one of a participant who leaves.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestBridge, type BridgeFixture } from '../helpers/bridge.ts';
import { CHROMIUM, CHROMIUM_ARGS, openPeer, TEST_CODEC_ORDER, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, until, type PagePeer } from '../helpers/media.ts';

/** Small video for 2 cores (a single simulcast layer at 180p). */
const MEDIA = 'width=320&height=180&fps=15';

/** A participant in a tab of the shared sender browser. */
interface Tab extends PagePeer {
  page: Page;
  close(): Promise<void>;
}

/** The receiver's video inbound-rtp streams that received packets. */
interface Inbound {
  ssrc: number;
  frames: number;
  packets: number;
  lost: number;
}

/**
 * Sender participants as tabs of one Chromium (each tab its own peer connection, fake camera and focus session):
 * opening a tab costs much less than a browser.
 */
function useSenderBrowser(): { open(fixture: BridgeFixture, room: string, name: string): Promise<Tab> } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });
  return {
    async open(fixture, room, name) {
      if (!browser) throw new Error('the sender browser is not started yet');
      const page = await browser.newPage();
      const console: string[] = [];
      page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
      await page.goto(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${MEDIA}&codecs=${TEST_CODEC_ORDER}`);
      return {
        name,
        console,
        page,
        evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
        close: () => page.close().catch(() => undefined),
      };
    },
  };
}

const endpointId = (p: PagePeer): Promise<string> =>
  until(`${p.name}'s endpoint id`, p, () => p.evaluate<string | null>('window.octobridge.endpointId'), Boolean) as Promise<string>;

/** The receiver's current video map: source → SSRC (the last entry of each SSRC wins, as on the page). */
async function videoMap(p: PagePeer): Promise<Map<string, number>> {
  const entries = await p.evaluate<{ source: string; ssrc: number }[]>('window.octobridge.sourceMaps.video');
  const owner = new Map<number, string>();
  for (const e of entries) owner.set(e.ssrc, e.source);
  return new Map([...owner].map(([ssrc, source]) => [source, ssrc]));
}

/** Every video SSRC the receiver was ever told of, and how many times one was re-mapped to another source. */
async function mapHistory(p: PagePeer): Promise<{ ssrcs: number; remaps: number }> {
  const entries = await p.evaluate<{ source: string; ssrc: number }[]>('window.octobridge.sourceMaps.video');
  const owner = new Map<number, string>();
  let remaps = 0;
  for (const e of entries) {
    const before = owner.get(e.ssrc);
    if (before !== undefined && before !== e.source) remaps += 1;
    owner.set(e.ssrc, e.source);
  }
  return { ssrcs: owner.size, remaps };
}

const videoMLines = async (p: PagePeer): Promise<number> =>
  ((await p.evaluate<string>('window.octobridge.pc.remoteDescription.sdp')).match(/^m=video /gm) ?? []).length;

function inbound(p: PagePeer): Promise<Inbound[]> {
  return p.evaluate(`(async () => {
    const out = [];
    (await window.octobridge.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.packetsReceived > 0) {
        out.push({ ssrc: s.ssrc, frames: s.framesDecoded ?? 0, packets: s.packetsReceived, lost: s.packetsLost ?? 0 });
      }
    });
    return out;
  })()`);
}

describe('SSRC slots at the default limit (50)', () => {
  const fixture = useTestBridge();
  const senders = useSenderBrowser();

  it('60 participants joining and leaving one after another leave the receiver a few video m-lines, re-mapped seamlessly', async () => {
    const started = Date.now();
    const room = 'ssrc-slots-churn';
    const receiver: BrowserPeer = fixture.track(await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=receiver&video=0&${MEDIA}`));
    await endpointId(receiver);
    // Three at a time: the three of a round leave as the next three join.
    const AT_ONCE = 3;
    let present: Tab[] = [];
    for (let round = 0; round < 60 / AT_ONCE; round++) {
      const leaving = present.map((t) => t.close());
      present = await Promise.all(Array.from({ length: AT_ONCE }, (_, k) => senders.open(fixture, room, `s${round * AT_ONCE + k}`)));
      await Promise.all(leaving);
      const sources = await Promise.all(present.map(async (t) => `${await endpointId(t)}-v0`));
      // The receiver was told which of its SSRCs carries each newcomer's video (each got a slot), and decodes it
      // there: a re-used SSRC's new keyframe is not dropped as old.
      const map = await until(
        `receiver told of ${sources.join(', ')}`,
        receiver,
        () => videoMap(receiver),
        (m) => sources.every((s) => m.has(s)),
      );
      const ssrcs = sources.map((s) => map.get(s) as number);
      const frames = async (): Promise<Map<number, number>> => new Map((await inbound(receiver)).map((v) => [v.ssrc, v.frames]));
      const before = await frames();
      await until(`receiver decodes ${sources.join(', ')}`, receiver, frames, (now) => ssrcs.every((x) => (now.get(x) ?? 0) > (before.get(x) ?? 0) + 2));
    }
    const joinedMs = Date.now() - started;
    await expectMediaFrom(receiver, AT_ONCE);
    const lines = await videoMLines(receiver);
    const history = await mapHistory(receiver);
    const streams = await inbound(receiver);
    const lost = streams.reduce((n, s) => n + s.lost, 0);
    const packets = streams.reduce((n, s) => n + s.packets, 0);
    console.log(
      `ssrc-limit churn: 60 joins in ${joinedMs} ms; receiver: ${lines} video m-lines, ${history.ssrcs} video SSRCs, ${history.remaps} re-maps, ${packets} packets, ${lost} lost`,
    );
    expect(lines).toBeLessThanOrEqual(50);
    // At most the participants present at once (two rounds while the leaves are in flight).
    expect(history.ssrcs).toBeLessThanOrEqual(2 * AT_ONCE);
    expect(history.remaps).toBeGreaterThanOrEqual(50);
    // Each re-map goes on from the sequence number before (+1, +2 after an unfinished frame): no jump counted as lost.
    expect(lost).toBeLessThanOrEqual(2 * history.remaps + 20);
    for (const t of present) await t.close();
  }, 240_000);
});

describe('SSRC slots at a limit of 4', () => {
  const fixture = useTestBridge({ OCTOBRIDGE_SSRC_LIMIT_VIDEO: '4', OCTOBRIDGE_SSRC_LIMIT_AUDIO: '4' });
  const senders = useSenderBrowser();

  it('never gives more than 4, moves a watched source onto the slot of one not watched, and gives a waiting one the slot of a leaver', async () => {
    const room = 'ssrc-slots-limit';
    const receiver: BrowserPeer = fixture.track(await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=receiver&video=0&${MEDIA}`));
    await endpointId(receiver);
    const tabs: Tab[] = [];
    for (let i = 0; i < 6; i++) tabs.push(await senders.open(fixture, room, `s${i}`));
    const sources = await Promise.all(tabs.map(async (t) => `${await endpointId(t)}-v0`));
    // Silent senders: last-N follows the join order, not the fake microphones' beeps (which would move the
    // receiver's 4 sources around, each move a re-map).
    for (const t of tabs) {
      await until(`${t.name} connected`, t, () => t.evaluate<boolean>('Boolean(window.octobridge.pc?.remoteDescription)'), Boolean);
      await t.evaluate('window.octobridge.setTone(0)');
    }
    const mapped = await until(
      '4 video sources mapped',
      receiver,
      () => videoMap(receiver),
      (m) => m.size === 4,
    );
    await expectMediaFrom(receiver, 4);
    const slots = new Set(mapped.values());
    // Two sources wait for a slot (no SSRC, no m-line); last-N is capped at 4 as in JVB.
    const waiting = sources.filter((s) => !mapped.has(s));
    expect(waiting).toHaveLength(2);
    expect(await videoMLines(receiver)).toBeLessThanOrEqual(4 + 1);

    // On stage: the receiver watches it, so it takes the slot of a source it no longer watches.
    const staged = waiting[0] as string;
    const before = new Map((await inbound(receiver)).map((s) => [s.ssrc, s]));
    await receiver.evaluate(`window.octobridge.stage(${JSON.stringify(staged)})`);
    const after = await until(
      `${staged} re-mapped onto a slot`,
      receiver,
      () => videoMap(receiver),
      (m) => m.has(staged),
      20_000,
    );
    const ssrc = after.get(staged) as number;
    expect(slots.has(ssrc), 'an SSRC the receiver knew').toBe(true);
    expect(after.size).toBe(4);
    // The new source decodes on that SSRC, its sequence numbers going on from the evicted one's.
    const was = before.get(ssrc) ?? { frames: 0, lost: 0, packets: 0, ssrc };
    const now = await until(
      `frames of ${staged} on ${ssrc}`,
      receiver,
      async () => (await inbound(receiver)).find((s) => s.ssrc === ssrc),
      (s) => (s?.frames ?? 0) > was.frames + 15,
      20_000,
    );
    console.log(`ssrc-limit 4: re-mapped ${ssrc} to ${staged}: lost ${was.lost} → ${now?.lost ?? 0}`);
    expect((now?.lost ?? 0) - was.lost).toBeLessThanOrEqual(3);

    // A watched participant leaves: a source waiting for a slot (the one evicted, or the other) gets its SSRC.
    const waitingNow = sources.filter((s) => !after.has(s));
    const leaver = [...after.keys()].find((s) => s !== staged && sources.includes(s)) as string;
    const freed = after.get(leaver) as number;
    await tabs[sources.indexOf(leaver)]?.close();
    const last = await until(
      `${leaver}'s SSRC given to a waiting source`,
      receiver,
      () => videoMap(receiver),
      (m) => waitingNow.some((s) => m.get(s) === freed),
      20_000,
    );
    expect(new Set(last.values()).size).toBe(4);
    await expectMediaFrom(receiver, 4);
    const lines = await videoMLines(receiver);
    const history = await mapHistory(receiver);
    console.log(`ssrc-limit 4: receiver: ${lines} video m-lines, ${history.ssrcs} video SSRCs, ${history.remaps} re-maps`);
    expect(lines).toBeLessThanOrEqual(4 + 1);
    expect(history.ssrcs).toBe(4);
    for (const t of tabs) await t.close();
  }, 120_000);
});
