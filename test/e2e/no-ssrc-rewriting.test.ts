/**
 * End to end: participants without SSRC rewriting. lib-jitsi-meet with `flags.ssrcRewritingEnabled = false` (an
 * operator's choice; older mobile apps) does not announce the feature, so Jicofo allocates its endpoint without the
 * colibri2 `ssrc-rewriting` capability (Colibri2Session) and tells it the others' sources over Jingle
 * (`Participant.addRemoteSources` → `source-add`, `removeRemoteSources` → `source-remove`), with the senders' own
 * SSRCs and simulcast stripped to the first SSRC of the SIM group and its FID partner. JVB then forwards each source
 * to it on that SSRC, switching layers under it, and sends it no source maps.
 *
 * The pages join with `ssrcRewriting=0`; the embedded focus signals them as Jicofo does. Each decodes the other on
 * the sender's own SSRC, across a simulcast layer switch (stage ↔ thumbnail, packets lost stay near zero: the
 * sequence numbers continue), gets no source map, and loses the source with a `source-remove` when its sender
 * leaves; in a mixed room the rewriting participant gets bridge SSRCs and maps, the other the sender's own.
 */
import { describe, expect, it } from 'vitest';
import { useTestBridge } from '../helpers/bridge.ts';
import { openPeer, type BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, until } from '../helpers/media.ts';

const fixture = useTestBridge();

/** Three simulcast layers (180p, 360p, 720p: libwebrtc sends only two below 960×540) at 15 fps for 2 cores. */
const MEDIA = 'width=1280&height=720&fps=15';

async function join(room: string, name: string, query: string): Promise<BrowserPeer> {
  const peer = await openPeer(`http://127.0.0.1:${fixture.bridge.publicPort}/${room}?name=${name}&${MEDIA}&${query}`);
  fixture.track(peer);
  return peer;
}

const endpointId = (p: BrowserPeer): Promise<string> =>
  until(`${p.name}'s endpoint id`, p, () => p.evaluate<string | null>('window.octobridge.endpointId'), Boolean) as Promise<string>;

/** The first SSRC of the page's video SIM group (what Jicofo signals with simulcast stripped). */
async function primaryVideoSsrc(p: BrowserPeer): Promise<number> {
  const sdp = await until(
    `${p.name}'s local description`,
    p,
    () => p.evaluate<string>('window.octobridge.pc?.localDescription?.sdp ?? ""'),
    (s) => /a=ssrc-group:SIM /.test(s),
  );
  return Number(/a=ssrc-group:SIM (\d+)/.exec(sdp)?.[1]);
}

/** The page's video inbound-rtp streams that received packets: SSRC, frame height, frames decoded, packets lost. */
function videoInbound(p: BrowserPeer): Promise<{ ssrc: number; height: number; frames: number; lost: number }[]> {
  return p.evaluate(`(async () => {
    const out = [];
    (await window.octobridge.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.packetsReceived > 0) {
        out.push({ ssrc: s.ssrc, height: s.frameHeight ?? 0, frames: s.framesDecoded ?? 0, lost: s.packetsLost ?? 0 });
      }
    });
    return out;
  })()`);
}

const sourceMapsReceived = (p: BrowserPeer): Promise<number> =>
  p.evaluate<number>('window.octobridge.received.filter((m) => /SourcesMap$/.test(m.colibriClass)).length');

describe('endpoints without SSRC rewriting', () => {
  it('decode each other on the senders’ own SSRCs, across a simulcast layer switch, and lose a source that leaves', async () => {
    const room = 'no-rewriting';
    const a = await join(room, 'A', 'ssrcRewriting=0');
    const b = await join(room, 'B', 'ssrcRewriting=0');
    const [aId, bId] = [await endpointId(a), await endpointId(b)];
    const conference = fixture.bridge.videobridge.conferences().find((c) => c.endpoint(aId));
    expect(conference?.endpoint(aId)?.ssrcRewriting).toBe(false);
    expect(conference?.endpoint(bId)?.ssrcRewriting).toBe(false);

    await expectMediaFrom(a, 1, 'signalled');
    await expectMediaFrom(b, 1, 'signalled');
    const [aSsrc, bSsrc] = [await primaryVideoSsrc(a), await primaryVideoSsrc(b)];
    expect((await videoInbound(b)).map((v) => v.ssrc)).toEqual([aSsrc]);
    expect((await videoInbound(a)).map((v) => v.ssrc)).toEqual([bSsrc]);
    // Jicofo's signalling: the sender's first SIM SSRC (and its RTX), not the other layers.
    const bRemote = await b.evaluate<string>('window.octobridge.pc.remoteDescription.sdp');
    const aLocal = await a.evaluate<string>('window.octobridge.pc.localDescription.sdp');
    const aLayers = (/a=ssrc-group:SIM ([\d ]+)/.exec(aLocal)?.[1] ?? '').split(' ').map(Number);
    expect(bRemote).toContain(`a=ssrc:${aSsrc} `);
    for (const other of aLayers.slice(1)) expect(bRemote).not.toContain(`a=ssrc:${other} `);

    // Stage (720p, the top layer) and back to a thumbnail (180p), all under A's own SSRC.
    const source = `${aId}-v0`;
    const inboundA = async () => (await videoInbound(b)).find((v) => v.ssrc === aSsrc) ?? { ssrc: aSsrc, height: 0, frames: 0, lost: 0 };
    await b.evaluate(`window.octobridge.stage(${JSON.stringify(source)})`);
    await until('A on stage at 720p', b, inboundA, (v) => v.height >= 720, 30_000);
    await b.evaluate('window.octobridge.stage(null)');
    const down = await until('A as a thumbnail at 180p', b, inboundA, (v) => v.height > 0 && v.height <= 180, 30_000);
    await b.evaluate(`window.octobridge.stage(${JSON.stringify(source)})`);
    const up = await until('A on stage again', b, inboundA, (v) => v.height >= 720, 30_000);
    expect(up.frames).toBeGreaterThan(down.frames);
    // Sequence numbers continue across the layer switches (a jump would count as thousands lost).
    expect(up.lost).toBeLessThan(50);
    expect(await sourceMapsReceived(a)).toBe(0);
    expect(await sourceMapsReceived(b)).toBe(0);

    // A leaves: B's remote description drops A's SSRCs (source-remove: the m-line is rejected).
    await a.close();
    await until(
      'A’s source removed from B’s remote description',
      b,
      () => b.evaluate<string>('window.octobridge.pc.remoteDescription.sdp'),
      (sdp) => !sdp.includes(`a=ssrc:${aSsrc} `),
    );
    await b.close();
  }, 150_000);

  it('mixed room: the rewriting participant gets bridge SSRCs and maps, the other the sender’s own', async () => {
    const room = 'mixed-rewriting';
    const rewriting = await join(room, 'Rewriting', '');
    const plain = await join(room, 'Plain', 'ssrcRewriting=0');
    await expectMediaFrom(rewriting, 1);
    await expectMediaFrom(plain, 1, 'signalled');
    const [rSsrc, pSsrc] = [await primaryVideoSsrc(rewriting), await primaryVideoSsrc(plain)];
    expect((await videoInbound(plain)).map((v) => v.ssrc)).toEqual([rSsrc]);
    const mapped = (await videoInbound(rewriting)).map((v) => v.ssrc);
    expect(mapped).toHaveLength(1);
    expect(mapped).not.toContain(pSsrc);
    expect(await sourceMapsReceived(rewriting)).toBeGreaterThan(0);
    expect(await sourceMapsReceived(plain)).toBe(0);
    await rewriting.close();
    await plain.close();
  }, 120_000);
});
