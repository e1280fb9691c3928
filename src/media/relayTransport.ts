/**
 * The mediasoup PlainTransport of a relay ({@link MediaRelay}) and what its re-creation after a worker death needs:
 * binding the port the relay was announced with again (the dead worker's socket is released with its process, but
 * the kernel may still hold it for a moment). The live worker to put it on: `liveWorker` in workers.ts.
 */
import type * as ms from 'mediasoup/types';
import type { RelayListen } from './MediaRelay.ts';

/** How often, and how far apart, binding a relay's old port is tried again while it is still in use. */
export const RELAY_REBIND = { attempts: 20, delayMs: 100 };

/**
 * Create a relay transport on `router`: UDP on `listen` (`port`: that port, else one from the worker's range),
 * RTCP muxed, no comedia (the other bridge's address comes from colibri2), SCTP for the relay channel.
 * With a `port`, an "address already in use" is retried {@link RELAY_REBIND}.attempts times, `delayMs` apart.
 * @throws Error from mediasoup (address not local, port still in use after the retries, router closed).
 */
export async function createRelayTransport(router: ms.Router, listen: RelayListen, port?: number, rebind = RELAY_REBIND): Promise<ms.PlainTransport> {
  const options: ms.PlainTransportOptions = {
    listenInfo: {
      protocol: 'udp',
      ip: listen.ip,
      ...(listen.announcedAddress ? { announcedAddress: listen.announcedAddress } : {}),
      ...(port ? { port } : {}),
    },
    rtcpMux: true,
    comedia: false,
    enableSctp: true,
    maxSendMessageSize: 262144,
    maxReceiveMessageSize: 262144,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await router.createPlainTransport(options);
    } catch (err) {
      const inUse = /address already in use|EADDRINUSE/i.test((err as Error).message);
      if (!port || !inUse || attempt >= rebind.attempts || router.closed) throw err;
      await new Promise((r) => setTimeout(r, rebind.delayMs));
    }
  }
}
