/**
 * Forwarder with SSRC slots, on stand-ins for mediasoup's transport, producers and consumers: sources take the
 * slots' SSRCs, wait when none is free, take the slot of a source that left, and, once the allocation forwards
 * them, the least recently used slot of a source it does not forward.
 */
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import { describe, expect, it } from 'vitest';
import { Forwarder } from './Forwarder.ts';
import type { MappedSource } from './types.ts';

/** A consumer stand-in: what Forwarder reads and calls. */
class FakeConsumer extends EventEmitter {
  closed = false;
  paused: boolean;
  producerPaused = false;
  priority = 1;
  preferredLayers = undefined;
  readonly type = 'simple';
  readonly kind: string;
  readonly rtpParameters: { encodings: { ssrc: number; rtx?: { ssrc: number } }[] };
  /** mediasoup's `observer` (`resume`, ...). */
  readonly observer = new EventEmitter();
  constructor(kind: string, ssrc: number, rtx: number | undefined, paused: boolean) {
    super();
    this.kind = kind;
    this.paused = paused;
    this.rtpParameters = { encodings: [{ ssrc, ...(rtx !== undefined && kind === 'video' ? { rtx: { ssrc: rtx } } : {}) }] };
  }
  close(): void {
    this.closed = true;
  }
  pause(): Promise<void> {
    this.paused = true;
    return Promise.resolve();
  }
  resume(): Promise<void> {
    this.paused = false;
    return Promise.resolve();
  }
  setPriority(p: number): Promise<void> {
    this.priority = p;
    return Promise.resolve();
  }
  getStats(): Promise<unknown[]> {
    return Promise.resolve([]);
  }
}

/** A transport stand-in whose consume() answers after a turn of the event loop, as the worker does. */
function fakeTransport(): { transport: ms.Transport; consumers: FakeConsumer[] } {
  const consumers: FakeConsumer[] = [];
  const transport = {
    consume: async (o: { producerId: string; ssrc?: number; rtxSsrc?: number; paused?: boolean }) => {
      await new Promise((r) => setImmediate(r));
      const kind = o.producerId.startsWith('a') ? 'audio' : 'video';
      const c = new FakeConsumer(kind, o.ssrc ?? 1 + consumers.length, o.rtxSsrc, o.paused ?? false);
      consumers.push(c);
      return c;
    },
  };
  return { transport: transport as unknown as ms.Transport, consumers };
}

const producer = (id: string): ms.Producer =>
  ({ id, kind: id.startsWith('a') ? 'audio' : 'video', closed: false, rtpParameters: { codecs: [{ mimeType: 'video/VP8' }] } }) as unknown as ms.Producer;

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

/** A forwarder with `video` video and `audio` audio slots, and what it told. */
function forwarder(video: number, audio = 2): { f: Forwarder; held: string[]; placed: MappedSource[] } {
  const held: string[] = [];
  const placed: MappedSource[] = [];
  const f = new Forwarder({
    limits: { video, audio },
    onHeld: (s) => held.push(s),
    onPlaced: (m) => placed.push(m),
    onPlaceError: (s, err) => {
      throw new Error(`${s}: ${String(err)}`);
    },
  });
  return { f, held, placed };
}

const opts = { rtpCapabilities: { codecs: [], headerExtensions: [] } };
const open = (): boolean => false;

describe('Forwarder with SSRC slots', () => {
  it('sends a source that comes after one that left on the same SSRCs, and holds one over the limit', async () => {
    const { transport, consumers } = fakeTransport();
    const { f, held, placed } = forwarder(2);
    const a = await f.forward(transport, producer('v-a'), 'a', 'A', 'CAMERA', opts, open);
    const b = await f.forward(transport, producer('v-b'), 'b', 'B', 'CAMERA', opts, open);
    expect(a?.ssrc).not.toBe(b?.ssrc);
    expect(a?.rtx).toBeDefined();
    expect(await f.forward(transport, producer('v-c'), 'c', 'C', 'CAMERA', opts, open), 'no slot: held').toBeUndefined();
    expect(held).toEqual(['c']);
    expect(f.heldSources()).toEqual(['c']);
    f.unforward('a');
    expect(consumers[0]?.closed).toBe(true);
    await settle();
    expect(placed).toEqual([{ source: 'c', owner: 'C', kind: 'video', ssrc: a?.ssrc, rtx: a?.rtx, videoType: 'CAMERA' }]);
    expect(
      f
        .mapped()
        .map((m) => m.source)
        .sort(),
    ).toEqual(['b', 'c']);
    expect(f.slots?.video.slots()).toHaveLength(2);
    // Audio has slots of its own, with SSRCs no video slot has.
    const x = await f.forward(transport, producer('a-x'), 'x', 'X', undefined, opts, open);
    expect([a?.ssrc, a?.rtx, b?.ssrc, b?.rtx]).not.toContain(x?.ssrc);
  });

  it('gives a held source the allocation forwards the least recently used slot of one it does not', async () => {
    const { transport, consumers } = fakeTransport();
    const { f, held, placed } = forwarder(2);
    const a = await f.forward(transport, producer('v-a'), 'a', 'A', 'CAMERA', opts, open);
    await f.forward(transport, producer('v-b'), 'b', 'B', 'CAMERA', opts, open);
    await f.forward(transport, producer('v-c'), 'c', 'C', 'CAMERA', opts, open);
    await f.apply('a', { paused: true });
    await f.apply('b', { paused: false });
    // Not forwarded: it keeps waiting rather than taking a slot.
    await f.apply('c', { paused: true });
    await settle();
    expect(placed).toEqual([]);
    await f.apply('c', { paused: false });
    await settle();
    expect(held).toEqual(['c', 'a']);
    expect(consumers[0]?.closed, "a's consumer").toBe(true);
    expect(placed.map((m) => [m.source, m.ssrc])).toEqual([['c', a?.ssrc]]);
    // Every slot forwarded: a source the allocation wants waits, until one stops being forwarded.
    await f.apply('c', { paused: false });
    await f.apply('a', { paused: false });
    await settle();
    expect(f.heldSources()).toEqual(['a']);
    await f.apply('b', { paused: true });
    await settle();
    expect(placed.map((m) => m.source)).toEqual(['c', 'a']);
    expect(f.heldSources()).toEqual(['b']);
  });

  it('a source unforwarded while it is being placed gives its slot up; clear starts the slots over', async () => {
    const { transport } = fakeTransport();
    const { f } = forwarder(1);
    const pending = f.forward(transport, producer('v-a'), 'a', 'A', 'CAMERA', opts, open);
    f.unforward('a');
    expect(await pending).toBeUndefined();
    expect(f.slots?.video.of('a')).toBeUndefined();
    expect((await f.forward(transport, producer('v-b'), 'b', 'B', 'CAMERA', opts, open))?.source).toBe('b');
    const before = f.mappedOf('b')?.ssrc;
    f.clear();
    expect(f.slots?.video.slots()).toHaveLength(0);
    expect((await f.forward(transport, producer('v-b'), 'b', 'B', 'CAMERA', opts, open))?.ssrc).not.toBe(before);
  });

  it('sends on the given SSRCs without slots (a receiver without SSRC rewriting)', async () => {
    const { transport } = fakeTransport();
    const f = new Forwarder();
    const m = await f.forward(transport, producer('v-a'), 'a', 'A', 'CAMERA', { ...opts, ssrcs: { ssrc: 1234, rtx: 1235 } }, open);
    expect(m).toMatchObject({ ssrc: 1234, rtx: 1235 });
  });
});
