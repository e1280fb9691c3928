/**
 * SsrcSlots: at most `limit` send SSRCs per receiver and kind, reused as sources come and go (JVB `SsrcCache.kt`).
 */
import { describe, expect, it } from 'vitest';
import { SsrcSlots } from './SsrcSlots.ts';

/** Slots with SSRCs 1, 2, 3... (primary, RTX, primary, ...) and a clock the test moves. */
function slots(limit: number): { s: SsrcSlots; clock: { now: number } } {
  let next = 0;
  const clock = { now: 1000 };
  return {
    s: new SsrcSlots(
      limit,
      () => ++next,
      () => clock.now,
    ),
    clock,
  };
}

describe('SsrcSlots', () => {
  it('gives a source the slot it holds, new slots up to the limit, then nothing without eviction', () => {
    const { s } = slots(2);
    const a = s.acquire('a');
    expect(a).toMatchObject({ slot: { ssrc: 1, rtx: 2, source: 'a' }, reused: false });
    expect(s.acquire('a')?.slot).toBe(a?.slot);
    expect(s.acquire('b')?.slot).toMatchObject({ ssrc: 3, rtx: 4 });
    expect(s.acquire('c')).toBeUndefined();
    expect(s.slots()).toHaveLength(2);
    expect(s.held).toBe(2);
  });

  it('reuses a freed slot (a re-map of a known SSRC) instead of adding one', () => {
    const { s, clock } = slots(2);
    s.acquire('a');
    s.acquire('b');
    clock.now += 10;
    s.release('a');
    const c = s.acquire('c');
    expect(c).toMatchObject({ slot: { ssrc: 1, source: 'c', lastSource: 'c' }, reused: true });
    expect(s.of('a')).toBeUndefined();
    expect(s.remaps).toBe(1);
    // Under the limit with a free slot: the free one, not a new one.
    const { s: t } = slots(5);
    t.acquire('a');
    t.release('a');
    expect(t.acquire('b')?.slot.ssrc).toBe(1);
    expect(t.slots()).toHaveLength(1);
  });

  it('gives a returning source its own free slot first, else the least recently used free one', () => {
    const { s, clock } = slots(3);
    s.acquire('a');
    clock.now += 1;
    s.acquire('b');
    clock.now += 1;
    s.acquire('c');
    clock.now += 1;
    s.release('b');
    clock.now += 1;
    s.release('a');
    clock.now += 1;
    s.release('c');
    expect(s.acquire('c')?.slot.ssrc, "c's own").toBe(5);
    expect(s.acquire('x')?.slot.ssrc, 'freed first: b').toBe(3);
    expect(s.acquire('a')?.slot.ssrc, "a's own").toBe(1);
  });

  it('at the limit evicts the least recently used slot whose source may go (JVB: the eldest of the LRU)', () => {
    const { s, clock } = slots(3);
    s.acquire('a');
    clock.now += 1;
    s.acquire('b');
    clock.now += 1;
    s.acquire('c');
    clock.now += 1;
    s.touch('a'); // forwarded again: the end of the LRU
    const idle = new Set(['a', 'b', 'c']);
    const d = s.acquire('d', (x) => idle.has(x));
    expect(d).toMatchObject({ evicted: 'b', reused: true, slot: { ssrc: 3, source: 'd' } });
    expect(s.of('b')).toBeUndefined();
    // Only sources the caller lets go: none left but `a`.
    idle.delete('c');
    idle.delete('d');
    expect(s.acquire('e', (x) => idle.has(x))?.evicted).toBe('a');
    idle.clear();
    expect(s.acquire('f', (x) => idle.has(x))).toBeUndefined();
    expect(s.slots().map((x) => x.source)).toEqual(['e', 'd', 'c']);
    expect(s.remaps).toBe(2);
  });

  it('starts over after clear, and refuses a limit below 1', () => {
    const { s } = slots(1);
    s.acquire('a');
    s.clear();
    expect(s.slots()).toHaveLength(0);
    expect(s.acquire('b')?.slot.ssrc).toBe(3);
    expect(() => new SsrcSlots(0, () => 1)).toThrow(RangeError);
  });
});
