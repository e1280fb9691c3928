/**
 * End to end, everything real: octobridges in their own network namespaces, one per region, each a `node
 * src/main.ts` process that brings up its WireGuard interface itself (wireguard-go, `OCTOBRIDGE_WG_*`), joined only
 * by veth underlays that carry nothing but WireGuard; the standalone cascade (bridge eu runs the focus with
 * `OCTOBRIDGE_CASCADE` pointing at the other bridges' private REST servers, which listen on their tunnel addresses
 * only); one Chromium per region inside its namespace. test/e2e/cascade.test.ts and relay.test.ts are the loopback
 * versions of this.
 *
 * ```
 *   ns eu: bridge eu (focus, page) ── Chromium Ada  (page http://<eu local>:8000/…?region=eu)
 *   ns us: bridge us               ── Chromium Bob  (page http://<eu tunnel>:8000/…?region=us, through WireGuard)
 *   ns ap: bridge ap               ── Chromium Cyd  (page http://<eu tunnel>:8000/…?region=ap, through WireGuard)
 *   eu ═ us, eu ═ ap, us ═ ap: a veth each (the underlay), WireGuard full mesh on top, relays inside it
 * ```
 *
 * 1. Two regions: Ada (eu) and Bob (us) decode each other's video and audio through the relay; a capture on the
 *    eu–us underlay shows no media outside WireGuard: no UDP but WireGuard's between the two listen ports (so no
 *    RTP/RTCP, STUN, DTLS or SCTP in clear) and no TCP. Link-level packets (ARP; ICMP) are reported, not failed
 *    on: they carry no media (and the helper turns IPv6 off on the veths, so there are no router solicitations).
 * 2. The underlay eu–us cut (veth down): eu's health names the us peer, Ada stops getting Bob's video; restored →
 *    healthy, and media resumes on the same sessions without any rejoin.
 * 3. WireGuard peer down: us's interface deleted → eu's /about/health turns unhealthy naming the us peer within a
 *    few check intervals (and not ap), Ada stops getting Bob's video. Back: the us bridge restarted (it re-creates
 *    its interface) → healthy again. Bob's session lived in the old us process, so nothing resumes by itself: Bob
 *    rejoins in a new tab while the dead session is still in the room (its focus socket survives the outage), the
 *    focus finds the conference on us gone and links the bridges anew; media flows both ways again, also after the
 *    dead tab leaves.
 * 4. Three regions: Cyd joins through ap; everyone decodes everyone (two remote videos each) over the full mesh.
 *
 * All bridges (three, so the mesh's WireGuard peers are all up from the start) run for the whole file; the
 * ap bridge carries no conference until part 4. Needs root, ip netns, wireguard-go, wg, ping, tcpdump, Chromium.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortKey } from '../../src/wireguard/wireguard.ts';
import type { BrowserPeer } from '../../bench/lib/chromium.ts';
import { expectMediaFrom, receiveWindow, rtcStats, until, type PagePeer } from '../helpers/media.ts';
import { openPeerInNetns } from '../helpers/netns.ts';
import { looksLikeRtp, startCapture, wireguardType } from '../helpers/pcap.ts';
import {
  createWgMesh,
  fetchInNetns,
  startBridgeInNetns,
  which,
  wireguardSupport,
  type BridgeProcess,
  type WgMesh,
  type WgSite,
} from '../../bench/lib/wireguard.ts';

const support = wireguardSupport(['tcpdump']);
if (!support.ok) console.warn(`[relay-wireguard.test] SKIPPED: ${support.reason}`);

const REGIONS = ['eu', 'us', 'ap'] as const;
type Region = (typeof REGIONS)[number];
const PUBLIC_PORT = 8000;
const PRIVATE_PORT = 8080;
const CHECK_MS = 1000;
/** Small video: three bridges and three Chromiums on a 2-core CI machine. */
const MEDIA = 'width=320&height=180&fps=15';
const ROOM = 'relaywg';
const IP = which('ip') ?? 'ip';

interface Health {
  status: number;
  error?: string;
  wireguard?: { healthy: boolean; peers: { peer: string; region: string; state: string; rttMs: number | null }[] };
}

const t0 = Date.now();
const timings: string[] = [];
const mark = (what: string, since: number): number => {
  const ms = Date.now() - since;
  timings.push(`${what} ${(ms / 1000).toFixed(1)} s`);
  return ms;
};

describe.skipIf(!support.ok)(`relays over WireGuard between bridges in network namespaces${support.ok ? '' : ` — SKIPPED: ${support.reason}`}`, () => {
  let mesh: WgMesh;
  const bridges = new Map<Region, BridgeProcess>();
  /** Every bridge process started (restarts included), for the log checks. */
  const allBridges: BridgeProcess[] = [];
  const browsers: BrowserPeer[] = [];
  let captureDir: string;

  const site = (r: Region): WgSite => mesh.site(r);
  const bridgeEnv = (r: Region): Record<string, string> => ({
    ENABLE_OCTO: '1',
    JVB_OCTO_REGION: r,
    JVB_OCTO_RELAY_ID: site(r).relayId,
    COLIBRI_REST_ENABLED: 'true',
    // The private server (colibri2 REST, health) only on the tunnel: the focus on eu reaches the others through it.
    OCTOBRIDGE_PRIVATE_HOST: site(r).tunnelIp,
    OCTOBRIDGE_PRIVATE_PORT: String(PRIVATE_PORT),
    // The page (eu) for the local Chromium on the namespace's address and for the others on the tunnel address.
    OCTOBRIDGE_PUBLIC_HOST: '0.0.0.0',
    OCTOBRIDGE_PUBLIC_PORT: String(PUBLIC_PORT),
    // Media for the Chromium of the same namespace (the relays listen on the tunnel address instead).
    OCTOBRIDGE_LISTEN_IP: site(r).localIp,
    JVB_ADVERTISE_IPS: site(r).localIp,
    JVB_PORT: '10000',
    ...mesh.wireguardEnv(r, { checkIntervalMs: CHECK_MS }),
    ...(r === 'eu'
      ? {
          OCTOBRIDGE_CASCADE: JSON.stringify(
            REGIONS.filter((o) => o !== 'eu').map((o) => ({ 'relay-id': site(o).relayId, region: o, url: `http://${site(o).tunnelIp}:${PRIVATE_PORT}` })),
          ),
        }
      : { OCTOBRIDGE_FOCUS: 'false' }),
  });
  const startRegion = async (r: Region): Promise<BridgeProcess> => {
    const b = await startBridgeInNetns(site(r).ns, r, bridgeEnv(r));
    bridges.set(r, b);
    allBridges.push(b);
    return b;
  };
  const health = async (r: Region): Promise<Health> => {
    const res = await fetchInNetns(site(r).ns, `http://${site(r).tunnelIp}:${PRIVATE_PORT}/about/health`);
    return { status: res.status, ...(res.status > 0 ? (JSON.parse(res.body) as object) : { error: res.body }) };
  };
  const metric = async (r: Region, name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const res = await fetchInNetns(site(r).ns, `http://${site(r).tunnelIp}:${PRIVATE_PORT}/metrics`);
    for (const line of res.body.split('\n')) {
      if (line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
        return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  };
  const allPeersUp = (h: Health, n: number): boolean => h.status === 200 && h.wireguard?.peers.length === n && h.wireguard.peers.every((p) => p.state === 'up');
  /** The page for `region`: eu's own Chromium opens eu's page on eu's namespace address, the others through the tunnel. */
  const pageUrl = (r: Region, name: string): string =>
    `http://${r === 'eu' ? site('eu').localIp : site('eu').tunnelIp}:${PUBLIC_PORT}/${ROOM}?name=${name}&region=${r}&${MEDIA}`;
  const join = async (r: Region, name: string): Promise<BrowserPeer> => {
    const peer = await openPeerInNetns(site(r).ns, pageUrl(r, name));
    browsers.push(peer);
    return peer;
  };
  const videoFrames = async (peer: PagePeer): Promise<number> =>
    (await rtcStats(peer)).inbound.filter((s) => s.kind === 'video').reduce((n, s) => n + s.framesDecoded, 0);

  beforeAll(async () => {
    const start = Date.now();
    mesh = await createWgMesh(REGIONS);
    captureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'octobridge-relaywg-'));
    await Promise.all(REGIONS.map(startRegion));
    mark('3 bridges started', start);
    for (const r of REGIONS)
      await until(
        `${r}: both WireGuard peers up`,
        undefined,
        () => health(r),
        (h) => allPeersUp(h, 2),
        15_000,
      );
    mark('full mesh up', start);
  }, 45_000);

  afterAll(async () => {
    await Promise.all(browsers.map((b) => b.close()));
    const wgPids = [...bridges.values()].map((b) => b.wireguardGoPid()).filter((p): p is number => p !== undefined);
    await Promise.all([...bridges.values()].map((b) => b.stop()));
    if (!mesh) return;
    const names = mesh.sites.map((s) => s.ns.name);
    const keys = mesh.sites.map((s) => s.key.priv);
    const leftovers: string[] = [];
    try {
      // Stopped cleanly: each bridge deleted its link and its wireguard-go exited; nothing is left in the namespaces.
      for (const b of allBridges) expect(await b.exited, `bridge ${b.name} (pid ${b.pid}) exit`).toMatchObject({ code: 0 });
      for (const pid of wgPids) expect(() => process.kill(pid, 0), `wireguard-go ${pid} exited`).toThrow();
      for (const s of mesh.sites) {
        expect((await s.ns.exec(['ip', '-o', 'link', 'show'])).stdout).not.toContain(s.ifName);
        expect(fs.existsSync(`/var/run/wireguard/${s.ifName}.sock`)).toBe(false);
        // Browsers closed, bridges stopped: no process is left in the namespace (a closing Chromium may take a moment).
        const pids = (): string[] => execFileSync(IP, ['netns', 'pids', s.ns.name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
        await until(
          `no process left in ${s.region}`,
          undefined,
          async () => pids(),
          (p) => p.length === 0,
          5000,
        ).catch(() => undefined);
        for (const p of pids()) leftovers.push(`${s.region}: ${p} ${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)}`);
      }
      expect(leftovers).toEqual([]);
    } finally {
      await mesh.close();
      if (captureDir) fs.rmSync(captureDir, { recursive: true, force: true });
    }
    const left = execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' });
    for (const n of names) expect(left).not.toContain(n);
    // No private key in any bridge's log (info level: the effective config names the key file, not the key).
    for (const b of allBridges) for (const k of keys) expect(b.log.join('\n')).not.toContain(k);
    console.info(`[relay-wireguard] ${timings.join('; ')}; file total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 30_000);

  let ada: BrowserPeer;
  let bobBrowser: BrowserPeer;
  /** Bob's current session (a tab of bobBrowser: the first, then the one he rejoined in). */
  let bob: PagePeer;

  it('two regions: each decodes the other through the relay, and no media crosses the underlay outside WireGuard', async () => {
    const start = Date.now();
    [ada, bobBrowser] = await Promise.all([join('eu', 'Ada'), join('us', 'Bob')]);
    bob = bobBrowser;
    await Promise.all([expectMediaFrom(ada, 1), expectMediaFrom(bob, 1)]);
    mark('2 regions: media both ways', start);
    // Each is on its region's bridge (the one ICE candidate its peer connection uses), and the bridges relay.
    expect((await receiveWindow(ada, 200)).remoteAddress).toBe(site('eu').localIp);
    expect((await receiveWindow(bob, 200)).remoteAddress).toBe(site('us').localIp);
    // The relay runs between the tunnel addresses (eu's log: `relay connected` to us's tunnel address).
    const connected = bridges
      .get('eu')!
      .log.filter((l) => l.includes('"relay connected"'))
      .map((l) => JSON.parse(l) as { remote?: { ip: string } });
    expect(connected.map((j) => j.remote?.ip)).toEqual([site('us').tunnelIp]);
    await until(
      'eu relays to us both ways',
      undefined,
      async () => [
        await metric('eu', 'octobridge_relay_bits_per_second', { relay: 'jvb-us', direction: 'incoming' }),
        await metric('eu', 'octobridge_relay_bits_per_second', { relay: 'jvb-us', direction: 'outgoing' }),
      ],
      (v) => v.every((x) => (x ?? 0) > 10_000),
      15_000,
    );

    // The underlay eu–us, seen from eu, while media flows: no media outside WireGuard (no UDP but WireGuard's between
    // the listen ports, no TCP); anything else (ARP, ICMP) is the kernel's own and only reported.
    const link = site('eu').links.get('us')!;
    const capture = await startCapture(site('eu').ns, link.veth, path.join(captureDir, 'eu-us.pcap'));
    await new Promise((r) => setTimeout(r, 3000));
    const { packets } = await capture.stop();
    const ip = packets.filter((p) => p.l3 === 'ipv4' || p.l3 === 'ipv6');
    const udp = ip.filter((p) => p.udp);
    const wg = udp.filter((p) => {
      const u = p.udp!;
      const ends = [`${p.src}:${u.srcPort}`, `${p.dst}:${u.dstPort}`].sort();
      return (
        ends.join(' ') === [`${link.localIp}:${site('eu').listenPort}`, `${link.remoteIp}:${site('us').listenPort}`].sort().join(' ') &&
        wireguardType(u.payload) !== undefined
      );
    });
    const byType = [1, 2, 3, 4].map((t) => wg.filter((p) => wireguardType(p.udp!.payload) === t).length);
    const wgKbps = (wg.reduce((n, p) => n + p.origLen, 0) * 8) / 3 / 1000;
    const notWg = ip.filter((p) => !wg.includes(p));
    const mediaOutside = notWg.filter((p) => p.proto === 17 || p.proto === 6);
    const rtpInClear = udp.filter((p) => looksLikeRtp(p.udp!.payload));
    console.info(
      `[relay-wireguard] eu–us underlay, 3 s: ${packets.length} frames, ${wg.length} WireGuard (types 1-4: ${byType.join('/')}), ${wgKbps.toFixed(0)} kbit/s; ` +
        `not WireGuard: ${notWg.length} IP (${[...new Set(notWg.map((p) => `${p.l3}/${p.proto}`))].join(', ') || 'none'}), ${packets.length - ip.length} non-IP (${[...new Set(packets.filter((p) => !ip.includes(p)).map((p) => p.l3))].join(', ') || 'none'})`,
    );
    expect(
      mediaOutside.map((p) => `${p.l3} proto ${p.proto} ${p.src}:${p.udp?.srcPort ?? ''} > ${p.dst}:${p.udp?.dstPort ?? ''}`),
      'UDP or TCP outside WireGuard',
    ).toEqual([]);
    expect(rtpInClear).toHaveLength(0);
    // The media (two ways, video + audio) is in there: transport-data messages at a media-like rate.
    expect(byType[3]).toBeGreaterThan(100);
    expect(wgKbps).toBeGreaterThan(50);
  }, 45_000);

  it('underlay cut between eu and us: eu turns unhealthy naming the us peer; restored → healthy, media resumes without a rejoin', async () => {
    const us = site('us');
    const usPeer = shortKey(us.key.pub);
    const veth = us.links.get('eu')!.veth;
    const bobAtAda = await videoFrames(ada);
    await until(
      'Ada decodes Bob',
      ada,
      () => videoFrames(ada),
      (n) => n > bobAtAda + 5,
    );

    const cutAt = Date.now();
    await us.ns.exec(['ip', 'link', 'set', veth, 'down']);
    const sick = await until(
      'eu unhealthy',
      undefined,
      () => health('eu'),
      (h) => h.status === 500,
      10 * CHECK_MS,
    );
    mark('underlay cut detected', cutAt);
    expect(sick.error).toContain(`WireGuard peer ${usPeer}… (region us, relay jvb-us) is down`);
    expect(sick.error).not.toContain('region ap');
    const frozen = await videoFrames(ada);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await videoFrames(ada), 'no frame of Bob reaches Ada while the underlay is cut').toBeLessThanOrEqual(frozen + 1);

    const backAt = Date.now();
    await us.ns.exec(['ip', 'link', 'set', veth, 'up']);
    await until(
      'eu healthy again',
      undefined,
      () => health('eu'),
      (h) => allPeersUp(h, 2),
      15_000,
    );
    mark('underlay restored: healthy', backAt);
    // The relays were never torn down: the same sessions carry media again (a keyframe request crossed for it).
    await Promise.all([expectMediaFrom(ada, 1), expectMediaFrom(bob, 1)]);
    mark('underlay restored: media both ways', backAt);
  }, 45_000);

  it('WireGuard peer down: eu turns unhealthy naming the us peer; back after the us bridge restarts, and media flows again after a rejoin', async () => {
    const us = site('us');
    const usPeer = shortKey(us.key.pub);
    // Ada gets Bob's video now.
    const before = await videoFrames(ada);
    await until(
      'Ada decodes Bob',
      ada,
      () => videoFrames(ada),
      (n) => n > before + 5,
    );

    // us's interface deleted: its wireguard-go exits, the relay's packets have nowhere to go.
    const downAt = Date.now();
    await us.ns.exec(['ip', 'link', 'del', us.ifName]);
    const sick = await until(
      'eu unhealthy',
      undefined,
      () => health('eu'),
      (h) => h.status === 500,
      10 * CHECK_MS,
    );
    const detectMs = mark('peer down detected', downAt);
    expect(sick.error).toContain(`WireGuard peer ${usPeer}… (region us, relay jvb-us) is down`);
    expect(sick.error).not.toContain('region ap');
    expect(sick.wireguard?.healthy).toBe(false);
    expect(sick.wireguard?.peers.find((p) => p.region === 'us')).toMatchObject({ state: 'down', rttMs: null });
    expect(sick.wireguard?.peers.find((p) => p.region === 'ap')).toMatchObject({ state: 'up' });
    expect(detectMs).toBeLessThan(8 * CHECK_MS);
    expect(await metric('eu', 'octobridge_wireguard_peer_up', { peer: usPeer, region: 'us' })).toBe(0);
    // us knows its own interface is gone (its private server listens on the tunnel address, so ask its log).
    await until(
      'us reports its interface lost',
      undefined,
      async () => bridges.get('us')!.log.some((l) => l.includes('WireGuard interface lost')),
      Boolean,
      5000,
    );
    // Nothing crosses any more: Ada's decoder gets no new frame of Bob's.
    const frozen = await videoFrames(ada);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await videoFrames(ada)).toBeLessThanOrEqual(frozen + 1);

    // Back: the us bridge restarted re-creates its interface; eu sees the peer up again.
    const backAt = Date.now();
    await bridges.get('us')!.stop();
    await startRegion('us');
    await until(
      'eu healthy again',
      undefined,
      () => health('eu'),
      (h) => allPeersUp(h, 2),
      15_000,
    );
    mark('peer up again after the restart', backAt);
    expect(await metric('eu', 'octobridge_wireguard_peer_up', { peer: usPeer, region: 'us' })).toBe(1);

    // Bob's session lived in the old us process and cannot come back by itself. Bob rejoins in a new tab (a new
    // session, as reopening the meeting) while the dead one is still in the room; the focus finds the conference on
    // us gone, drops the stale relay and links the bridges anew. Then the dead tab is closed (it leaves).
    const rejoinAt = Date.now();
    const oldTab = bobBrowser.page;
    const tab = await bobBrowser.browser.newPage();
    const tabConsole: string[] = [];
    tab.on('console', (m) => tabConsole.push(`${m.type()}: ${m.text()}`));
    await tab.goto(pageUrl('us', 'Bob'));
    bob = { name: 'Bob (rejoined)', console: tabConsole, evaluate: <T>(e: string) => tab.evaluate(e) as Promise<T> };
    await Promise.all([expectMediaFrom(ada, 1), expectMediaFrom(bob, 1)]);
    mark('media again after the rejoin', rejoinAt);
    expect((await receiveWindow(bob, 200)).remoteAddress).toBe(us.localIp);
    // Both sessions are in the room until the dead tab closes; then only the new one.
    const bobsAtAda = (): Promise<number> => ada.evaluate<number>("[...window.octobridge.participants.values()].filter((p) => p.displayName === 'Bob').length");
    expect(await bobsAtAda()).toBe(2);
    await oldTab.close();
    await until('the dead session left (Ada lists one Bob)', ada, bobsAtAda, (n) => n === 1, 5000);
    // Its leave went through the new relay without disturbing it: media still flows both ways.
    await Promise.all([expectMediaFrom(ada, 1), expectMediaFrom(bob, 1)]);
  }, 60_000);

  it('three regions, full mesh: everyone decodes everyone', async () => {
    const start = Date.now();
    const cyd = await join('ap', 'Cyd');
    await Promise.all([expectMediaFrom(ada, 2), expectMediaFrom(bob, 2), expectMediaFrom(cyd, 2)]);
    mark('3 regions: everyone sees everyone', start);
    expect((await receiveWindow(cyd, 200)).remoteAddress).toBe(site('ap').localIp);
    // Every pair of bridges is linked by a relay that carries media both ways.
    for (const [a, b] of [
      ['eu', 'us'],
      ['eu', 'ap'],
      ['us', 'ap'],
    ] as const) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        await until(
          `${x} relays to ${y}`,
          undefined,
          () => metric(x, 'octobridge_relay_bits_per_second', { relay: site(y).relayId, direction: 'outgoing' }),
          (v) => (v ?? 0) > 10_000,
          15_000,
        );
      }
    }
  }, 60_000);
});
