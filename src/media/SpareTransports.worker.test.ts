/**
 * Spare endpoint transports on a real mediasoup worker: an allocation that finds a spare gets a transport that existed
 * before it asked, the spares are made up again after each take, per flavour (SCTP or not), and none outlive their
 * router.
 */
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPARES_PER_FLAVOUR, SpareTransports } from './SpareTransports.ts';

let worker: ms.Worker;
let server: ms.WebRtcServer;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'none' });
  server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port: 0 }] });
});
afterAll(() => worker?.close());

/**
 * A router with its spare pool; `made` counts the transports the pool asked the worker for, by flavour. Its transports'
 * ICE username fragments start with `prefix.value` as it was when each was made (the worker's steering character).
 */
async function pool(prefix?: { value: string }): Promise<{ router: ms.Router; spares: SpareTransports; made: { sctp: number; plain: number } }> {
  const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
  const made = { sctp: 0, plain: 0 };
  const spares = new SpareTransports(
    (sctp) => {
      if (sctp) made.sctp += 1;
      else made.plain += 1;
      return router.createWebRtcTransport({
        webRtcServer: server,
        enableUdp: true,
        enableSctp: sctp,
        ...(prefix ? { iceUsernameFragmentPrefix: prefix.value } : {}),
      });
    },
    (t) => !prefix || t.iceParameters.usernameFragment.startsWith(prefix.value),
  );
  return { router, spares, made };
}

/** Until the refill scheduled by a take has made its transports (one setImmediate, then one worker round trip each). */
async function settled(spares: SpareTransports, sctp: boolean, ready = SPARES_PER_FLAVOUR): Promise<void> {
  const deadline = Date.now() + 5000;
  while (spares.ready(sctp) < ready) {
    if (Date.now() > deadline) throw new Error(`only ${spares.ready(sctp)} spares after 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SpareTransports', () => {
  it('makes the first transport on demand, then hands out spares made before the request', async () => {
    const { router, spares, made } = await pool();
    const taking = spares.take(false);
    // No spare yet: made for this request (the spares come after it).
    expect(made.plain).toBe(1);
    const first = await taking;
    await settled(spares, false);
    expect(made.plain).toBe(1 + SPARES_PER_FLAVOUR);
    const dump = (await router.dump()) as { transportIds: string[] };
    expect(dump.transportIds).toHaveLength(1 + SPARES_PER_FLAVOUR);

    const second = await spares.take(false);
    // It existed before it was asked for, and nothing was made for it.
    expect(dump.transportIds).toContain(second.id);
    expect(second.id).not.toBe(first.id);
    expect(second.closed).toBe(false);
    expect(second.iceState).toBe('new');
    expect(second.iceParameters.usernameFragment).not.toBe(first.iceParameters.usernameFragment);
    expect(made.plain).toBe(1 + SPARES_PER_FLAVOUR);
    // Made up again after the take.
    await settled(spares, false);
    expect(made.plain).toBe(2 + SPARES_PER_FLAVOUR);
    router.close();
  });

  it('keeps spares only of the flavours asked for, each with its SCTP setting', async () => {
    const { router, spares, made } = await pool();
    await spares.take(true);
    await settled(spares, true);
    expect(spares.ready(false)).toBe(0);
    expect(made.plain).toBe(0);
    const withSctp = await spares.take(true);
    expect(withSctp.sctpParameters).toBeDefined();
    const plain = await spares.take(false);
    expect(plain.sctpParameters).toBeUndefined();
    await settled(spares, false);
    await settled(spares, true);
    router.close();
  });

  it('skips spares closed with their router and makes no more once closed', async () => {
    const { router, spares, made } = await pool();
    await spares.take(false);
    await settled(spares, false);
    router.close();
    // mediasoup closed the spares with the router: none is handed out, and the fresh one fails with the router.
    await expect(spares.take(false)).rejects.toThrow();
    spares.close();
    const before = made.plain;
    await new Promise((r) => setTimeout(r, 50));
    expect(made.plain).toBe(before);
  });

  it('closes its ready spares when closed', async () => {
    const { router, spares } = await pool();
    await spares.take(false);
    await settled(spares, false);
    spares.close();
    expect(spares.ready(false)).toBe(0);
    const dump = (await router.dump()) as { transportIds: string[] };
    expect(dump.transportIds).toHaveLength(1);
    router.close();
  });

  it('closes and skips spares made for a steering character the worker no longer has', async () => {
    const prefix = { value: 'C' };
    const { router, spares } = await pool(prefix);
    await spares.take(false);
    await settled(spares, false);
    const stale = [...((await router.dump()) as { transportIds: string[] }).transportIds];
    // Another worker died: this one now answers for 'B' (MediaEngine, single-port mode).
    prefix.value = 'B';
    const t = await spares.take(false);
    expect(t.iceParameters.usernameFragment.startsWith('B')).toBe(true);
    const now = ((await router.dump()) as { transportIds: string[] }).transportIds;
    // The first one stays (an endpoint's); both spares were closed, and the new one was made for this request.
    expect(now.filter((id) => stale.includes(id))).toHaveLength(1);
    await settled(spares, false);
    router.close();
  });
});
