/**
 * Endpoint transports made ahead of the allocations that take them, per router: a colibri2 allocation that finds a
 * spare answers without a worker round trip (mediasoup `router.createWebRtcTransport`).
 *
 * Why: an allocation's only worker round trip is its transport. Measured on a 2-core host beside Prosody and the
 * focus, the bridge's Node thread sleeps while the worker makes the transport, and once woken it can wait several
 * milliseconds for a core the load generators hold: that wait, not the work, was the colibri2 tail (0.5 ms for the
 * round trip alone, 3-7 ms for the slowest allocations). An allocation that takes a spare runs start to finish without
 * that sleep.
 *
 * Policy: a router keeps up to {@link SPARES_PER_FLAVOUR} spares of each flavour (with or without SCTP) it has been
 * asked for, made again after each take, outside the request (`setImmediate`: after the answer that took one). A router
 * never asked for a flavour holds none of it. The spares close with their router (mediasoup closes a router's
 * transports with it); one found closed, or no longer usable (its worker's ICE username-fragment prefix changed after
 * another worker's death, `steering.ts`), is skipped and closed. An idle spare costs ~20 KiB in the worker and ~5 KB
 * in Node (measured over 2,000), and no CPU: ICE, DTLS and their timers start only when a client connects.
 */
import type * as ms from 'mediasoup/types';

/** Spare transports a router keeps of each flavour it has been asked for (with SCTP, without). */
export const SPARES_PER_FLAVOUR = 2;

/** Makes one endpoint transport on the router, with SCTP or without (the conference's options). */
export type TransportFactory = (sctp: boolean) => Promise<ms.WebRtcTransport>;

/** The spares of one flavour: ready ones, oldest first, and how many are being made. */
interface Flavour {
  ready: ms.WebRtcTransport[];
  making: number;
  refillScheduled: boolean;
}

/** The spare endpoint transports of one router (see the module docstring). */
export class SpareTransports {
  readonly #create: TransportFactory;
  readonly #usable: (t: ms.WebRtcTransport) => boolean;
  readonly #flavours = new Map<boolean, Flavour>();
  #closed = false;

  /**
   * @param create makes a transport on this spare pool's router; its rejections are swallowed for spares.
   * @param usable whether a spare made earlier may still be handed out (closed ones never are).
   */
  constructor(create: TransportFactory, usable: (t: ms.WebRtcTransport) => boolean = () => true) {
    this.#create = create;
    this.#usable = usable;
  }

  /**
   * A transport for a new endpoint: a spare when one is ready, else one made now (one worker round trip). Either way
   * the flavour's spares are made up again after this request.
   * @throws whatever `create` throws (a closed router, a dead worker) when no spare was ready.
   */
  take(sctp: boolean): Promise<ms.WebRtcTransport> {
    const f = this.#flavour(sctp);
    let spare = f.ready.shift();
    while (spare && (spare.closed || !this.#usable(spare))) {
      spare.close();
      spare = f.ready.shift();
    }
    this.#scheduleRefill(sctp, f);
    return spare ? Promise.resolve(spare) : this.#create(sctp);
  }

  /** Ready spares of a flavour (for tests and benches). */
  ready(sctp: boolean): number {
    return this.#flavours.get(sctp)?.ready.length ?? 0;
  }

  /** Make no more spares and close the ready ones (the router is closing, or its worker died). */
  close(): void {
    this.#closed = true;
    for (const f of this.#flavours.values()) for (const t of f.ready.splice(0)) t.close();
  }

  #flavour(sctp: boolean): Flavour {
    let f = this.#flavours.get(sctp);
    if (!f) {
      f = { ready: [], making: 0, refillScheduled: false };
      this.#flavours.set(sctp, f);
    }
    return f;
  }

  #scheduleRefill(sctp: boolean, f: Flavour): void {
    if (f.refillScheduled || this.#closed) return;
    f.refillScheduled = true;
    setImmediate(() => {
      f.refillScheduled = false;
      this.#refill(sctp, f);
    });
  }

  #refill(sctp: boolean, f: Flavour): void {
    while (!this.#closed && f.ready.length + f.making < SPARES_PER_FLAVOUR) {
      f.making += 1;
      this.#create(sctp).then(
        (t) => {
          f.making -= 1;
          if (this.#closed) t.close();
          else f.ready.push(t);
        },
        () => {
          // The router closed or its worker died meanwhile: the next take makes its own and tries again.
          f.making -= 1;
        },
      );
    }
  }
}
