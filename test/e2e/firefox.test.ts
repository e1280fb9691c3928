/**
 * End to end with Firefox ESR: Debian's firefox-esr (puppeteer-core over WebDriver BiDi, fake camera and
 * microphone) and Debian's Chromium (playwright-core) join one room through the standalone page, served by a
 * real octobridge on a real mediasoup worker. Each decodes the other's video and receives the other's audio, the
 * bridge channel in Firefox is the SCTP data channel (ServerHello arrives over it), EndpointMessages cross
 * between the two browsers with `from` set by the bridge, and closing Firefox's tab expires its endpoint.
 *
 * Both browsers get the offer exactly as lib-jitsi-meet builds it (no `a=ice-lite`), so both answer as the
 * ICE-controlled agent (RFC 8445 §6.1.1). The bridge has their ufrag/pwd from the focus's colibri2 update and takes
 * the controlling role (worker patch 0011): it answers their checks and nominates a pair with its own (RFC 8445
 * §7.2.2). Firefox, which does not act on a 487 Role Conflict, stays controlled; Chromium does too unless one of its
 * checks arrived before its ufrag/pwd and got the signed 487 (patch 0003), on which it switches to controlling.
 */
import { describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { expectMediaFrom, framesDecoded, rtcStats, sentCodecs, until, videoRtp } from '../helpers/media.ts';
import { openPeer } from '../../bench/lib/chromium.ts';
import { firefoxPagePeer, openFirefoxPeer } from '../helpers/firefox.ts';

/** What the test needs of a participant, whichever library drives its browser. */
interface Peer {
  name: string;
  /** Evaluates a JavaScript expression in the page (awaits a returned promise). */
  evaluate<T>(expression: string): Promise<T>;
  console: string[];
  /** Closes the room's tab (the browser stays open). */
  closeTab(): Promise<void>;
  close(): Promise<void>;
}

const fixture = useTestBridge();

/** Small video keeps the encoders and decoders of two browsers within 2 cores. */
const MEDIA = 'width=320&height=180&fps=15';

function roomUrl(room: string, name: string, extra = ''): string {
  return `http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${MEDIA}${extra}`;
}

async function joinFirefox(room: string, name: string): Promise<Peer> {
  const p = await openFirefoxPeer(roomUrl(room, name));
  const peer: Peer = {
    ...firefoxPagePeer(p, name),
    // Another tab first: closing Firefox's last tab would end the browser. (puppeteer's `runBeforeUnload: true`
    // does not close the tab in Firefox over BiDi; the page's pagehide handler runs on a plain close anyway.)
    closeTab: async () => {
      await p.browser.newPage();
      await p.page.close();
    },
    close: () => p.close(),
  };
  fixture.track(peer);
  return peer;
}

async function joinChromium(room: string, name: string, extra = ''): Promise<Peer> {
  const p = await openPeer(roomUrl(room, name, extra));
  const peer: Peer = {
    name,
    evaluate: (e) => p.page.evaluate(e) as Promise<never>,
    console: p.console,
    closeTab: () => p.page.close({ runBeforeUnload: true }),
    close: () => p.close(),
  };
  fixture.track(peer);
  return peer;
}

type Received = { colibriClass: string; from?: string; to?: string; msgPayload?: Record<string, unknown> }[];

describe('Firefox ESR in a standalone room', () => {
  it('Firefox and Chromium see and hear each other; the bridge channel in Firefox is SCTP; Firefox leaves', async () => {
    const room = 'e2e-firefox';
    // Firefox first: it is the one whose offer is made before anyone else is in the room.
    const fox = await joinFirefox(room, 'Fox');
    const chrome = await joinChromium(room, 'Chrome');

    // Both offers are LJM's unchanged: no a=ice-lite.
    const foxOffer =
      (await until(
        'Firefox offer',
        fox,
        () => fox.evaluate<string | null>('window.octobridge.offerSdp'),
        (o) => !!o,
      )) ?? '';
    expect(foxOffer).not.toContain('a=ice-lite');
    expect(foxOffer).toContain('a=setup:actpass');
    expect(foxOffer).toMatch(/a=group:BUNDLE 0 1 2\r\n/);
    expect(foxOffer).toContain('m=application 9 UDP/DTLS/SCTP webrtc-datachannel');
    const chromeOffer =
      (await until(
        'Chromium offer',
        chrome,
        () => chrome.evaluate<string | null>('window.octobridge.offerSdp'),
        (o) => !!o,
      )) ?? '';
    expect(chromeOffer).not.toContain('a=ice-lite');

    await expectMediaFrom(fox, 1);
    await expectMediaFrom(chrome, 1);

    // Both browsers are the DTLS client (answer setup:active); Firefox is the ICE-controlled agent (the bridge
    // nominated), Chromium too unless an early check got the 487 (see above).
    for (const p of [fox, chrome]) {
      const s = await rtcStats(p);
      expect(s.transport[0], p.name).toMatchObject({ dtlsRole: 'client', dtlsState: 'connected' });
      expect(s.transport[0]?.iceRole, p.name).toEqual(p === fox ? 'controlled' : expect.stringMatching(/^controll(ed|ing)$/));
    }

    // The bridge channel in Firefox: the SCTP data channel, open, with ServerHello received over it.
    expect(await fox.evaluate('window.octobridge.channelKind')).toBe('sctp');
    expect(await fox.evaluate('window.octobridge.channelOpen')).toBe(true);
    const foxReceived = await until(
      'ServerHello in Firefox',
      fox,
      () => fox.evaluate<Received>('window.octobridge.received'),
      (l) => l.some((m) => m.colibriClass === 'ServerHello'),
    );
    expect(foxReceived.map((m) => m.colibriClass)).toContain('VideoSourcesMap');
    const channels = (await rtcStats(fox)).dataChannels;
    expect(channels).toEqual([
      // The DTLS client (Firefox) takes even SCTP stream ids: the first channel is 0.
      { label: 'JVB data channel', protocol: 'http://jitsi.org/protocols/colibri', state: 'open', dataChannelIdentifier: 0 },
    ]);

    // Each shows the other by name.
    const names = (p: Peer) => () => p.evaluate<{ displayName: string }[]>('window.octobridge.tiles()').then((t) => t.map((x) => x.displayName));
    expect(await until('Chrome tile in Firefox', fox, names(fox), (n) => n.length === 1)).toEqual(['Chrome']);
    expect(await until('Fox tile in Chromium', chrome, names(chrome), (n) => n.length === 1)).toEqual(['Fox']);

    // EndpointMessages both ways over SCTP; the bridge sets `from`.
    const foxId = await fox.evaluate<string>('window.octobridge.endpointId');
    const chromeId = await chrome.evaluate<string>('window.octobridge.endpointId');
    const endpointMessages = (p: Peer) => () => p.evaluate<Received>(`window.octobridge.received.filter((m) => m.colibriClass === 'EndpointMessage')`);
    expect(await fox.evaluate(`window.octobridge.send({colibriClass:'EndpointMessage', to:'${chromeId}', msgPayload:{hello:'from firefox'}})`)).toBe(true);
    const atChrome = await until('EndpointMessage at Chromium', chrome, endpointMessages(chrome), (l) => l.length >= 1);
    expect(atChrome[0]).toMatchObject({ from: foxId, to: chromeId, msgPayload: { hello: 'from firefox' } });
    expect(await chrome.evaluate(`window.octobridge.send({colibriClass:'EndpointMessage', to:'', msgPayload:{hello:'from chromium'}})`)).toBe(true);
    const atFox = await until('EndpointMessage at Firefox', fox, endpointMessages(fox), (l) => l.length >= 1);
    expect(atFox[0]).toMatchObject({ from: chromeId, to: '', msgPayload: { hello: 'from chromium' } });

    // Firefox closes its tab: Chromium drops the tile, the bridge expires the endpoint.
    const conference = fixture.bridge.videobridge.conferences().find((c) => c.endpoint(foxId));
    expect(conference?.endpointCount).toBe(2);
    await fox.closeTab();
    await until('Fox gone from Chromium', chrome, names(chrome), (n) => n.length === 0);
    await until(
      'bridge expired Fox',
      chrome,
      async () => conference?.endpointCount,
      (n) => n === 1,
    );
    expect(conference?.endpoint(foxId)).toBeUndefined();
  });

  it('Chromium participants sending H.264 move to VP8 when Firefox (no H.264 without OpenH264) joins, and Firefox decodes them', async () => {
    const room = 'e2e-firefox-codec';
    // A deployment that prefers H.264 (config.js `codecPreferenceOrder`); Chromium decodes all four.
    const order = '&codecs=H264,VP8,VP9,AV1';
    const alice = await joinChromium(room, 'Alice', order);
    const bob = await joinChromium(room, 'Bob', order);
    for (const p of [alice, bob])
      await until(
        `${p.name} sends H.264`,
        p,
        () => sentCodecs(p),
        (c) => c.length === 1 && c[0] === 'video/H264',
        30_000,
      );

    // Firefox announces what LJM's CodecSelection gives it: VP8, then AV1 and VP9 moved last; no H.264 here.
    const fox = await joinFirefox(room, 'Fox');
    expect(await fox.evaluate('window.octobridge.codecList')).toEqual(['vp8', 'av1', 'vp9']);
    for (const p of [alice, bob])
      await until(
        `${p.name} sends VP8`,
        p,
        () => sentCodecs(p),
        (c) => c.length === 1 && c[0] === 'video/VP8',
        30_000,
      );
    // Firefox decodes both Chromium senders in VP8, and they decode each other (and Firefox) in VP8 too.
    const decoding = (p: Peer) => async () => (await videoRtp(p)).inbound.filter((v) => v.framesDecoded > 0 && v.frameWidth > 0).map((v) => v.codec);
    await until('Firefox decodes two VP8 streams', fox, decoding(fox), (c) => c.filter((x) => x === 'video/VP8').length >= 2, 40_000);
    const before = await framesDecoded(fox);
    await until(
      'Firefox keeps decoding',
      fox,
      () => framesDecoded(fox),
      (n) => n > before + 20,
      20_000,
    );
    for (const p of [alice, bob])
      await until(`${p.name} decodes VP8 from the others`, p, decoding(p), (c) => c.filter((x) => x === 'video/VP8').length >= 2, 40_000);
  }, 150_000);
});
