/**
 * RetiringCounters with stand-ins for mediasoup objects: retired objects count with their final
 * read, dropped ones with their last, and the sum never decreases.
 */
import { describe, expect, it } from 'vitest';
import { RetiringCounters } from './RetiringCounters.ts';

describe('RetiringCounters', () => {
  /** A stand-in for a mediasoup object: its count, and whether the worker still answers for it. */
  const stream = (packets: number) => ({ packets, readable: true });
  type Stream = ReturnType<typeof stream>;
  const read = (s: Stream): Promise<{ packets: number }> => (s.readable ? Promise.resolve({ packets: s.packets }) : Promise.reject(new Error('closed')));

  it('keeps the final read of a retired object, the last read of a dropped one, and never decreases', async () => {
    const c = new RetiringCounters<Stream, { packets: number }>(['packets'], read);
    const a = stream(10);
    const b = stream(5);
    expect((await c.sum([a, b])).total.packets).toBe(15);
    a.packets = 12;
    c.retire(a); // read now, closed right after
    a.readable = false;
    b.packets = 9;
    expect((await c.sum([a, b])).total.packets, 'a retired at 12, b live at 9').toBe(21);
    b.packets = 11;
    b.readable = false; // its worker died: the last read (9) stays
    c.drop(b);
    expect((await c.sum([])).total.packets).toBe(21);
    const d = stream(0);
    d.readable = false;
    c.retire(d); // never read and unreadable: nothing to add
    await c.settled();
    expect((await c.sum([d])).total.packets).toBe(21);
  });
});
