/**
 * The relay transport against a real mediasoup worker: re-binding the port a relay was announced with waits while the
 * port is still in use (as after a worker death, until the dead process's socket is gone), and gives up after its
 * attempts.
 */
import * as mediasoup from 'mediasoup';
import type * as ms from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayTransport } from './relayTransport.ts';

let worker: ms.Worker;
let router: ms.Router;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'none' });
  router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
});
afterAll(() => worker.close());

describe('createRelayTransport', () => {
  it('listens with SCTP and RTCP-mux, on a port of the range or the one asked for', async () => {
    const first = await createRelayTransport(router, { ip: '127.0.0.1' });
    expect(first.tuple.localPort).toBeGreaterThan(0);
    expect(first.sctpParameters?.port).toBe(5000);
    expect(first.rtcpTuple).toBeUndefined();
    const port = first.tuple.localPort;
    first.close();
    const again = await createRelayTransport(router, { ip: '127.0.0.1' }, port);
    expect(again.tuple.localPort).toBe(port);
    again.close();
  });

  it('waits for a port still in use, then takes it', async () => {
    const holder = await createRelayTransport(router, { ip: '127.0.0.1' });
    const port = holder.tuple.localPort;
    setTimeout(() => holder.close(), 150);
    const started = Date.now();
    const t = await createRelayTransport(router, { ip: '127.0.0.1' }, port, { attempts: 20, delayMs: 50 });
    expect(t.tuple.localPort).toBe(port);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    t.close();
  });

  it('gives up when the port stays in use', async () => {
    const holder = await createRelayTransport(router, { ip: '127.0.0.1' });
    await expect(createRelayTransport(router, { ip: '127.0.0.1' }, holder.tuple.localPort, { attempts: 3, delayMs: 10 })).rejects.toThrow(
      /address already in use/,
    );
    holder.close();
  });
});
