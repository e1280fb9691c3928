/**
 * SenderConstraints: the highest effective maxHeight any receiver has for a source, which the
 * sender is told (`SenderSourceConstraints`). Ported from JVB `ReceiverConstraintsMapTest.kt`
 * (-1 wins over any height, 0 when nobody wants the source) plus the change reporting
 * octobridge adds (what to announce, and only when it changed).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SenderConstraints } from './SenderConstraints.ts';

const m = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));
const obj = (map: Map<string, number>): Record<string, number> => Object.fromEntries(map);

/**
 * Each receiver's heights, reported to a SenderConstraints as ConferenceAllocator does after a run: a height that
 * changed, a source listed for the first time, a source no longer listed; then the announcements of what it touched.
 */
class Receivers {
  readonly sc = new SenderConstraints();
  readonly #records = new Map<string, Map<string, number>>();

  /** `receiver`'s heights are now `heights` (sources it does not list dropped). @returns the announcements. */
  setReceiver(receiver: string, heights: ReadonlyMap<string, number>): Map<string, number> {
    const record = this.#records.get(receiver) ?? new Map<string, number>();
    this.#records.set(receiver, record);
    const touched: string[] = [];
    for (const [source, h] of heights) {
      if (record.get(source) === h) continue;
      this.sc.update(source, record.get(source), h);
      record.set(source, h);
      touched.push(source);
    }
    for (const [source, h] of record) {
      if (heights.has(source)) continue;
      this.sc.update(source, h, undefined);
      record.delete(source);
      touched.push(source);
    }
    return this.sc.changes(touched);
  }

  /** `receiver` left. @returns the announcements. */
  removeReceiver(receiver: string): Map<string, number> {
    const record = this.#records.get(receiver);
    this.#records.delete(receiver);
    for (const [source, h] of record ?? []) this.sc.update(source, h, undefined);
    return this.sc.changes(record?.keys() ?? []);
  }

  /** `source` left: every receiver forgets it. */
  removeSource(source: string): void {
    this.sc.removeSource(source);
    for (const record of this.#records.values()) record.delete(source);
  }

  maxHeight(source: string): number {
    return this.sc.maxHeight(source);
  }

  current(owned: (source: string) => boolean): Map<string, number> {
    return this.sc.current(owned);
  }
}

describe('SenderConstraints', () => {
  // ReceiverConstraintsMapTest "track the max height correctly": receivers a, b, c for one source.
  it('tracks the max height correctly as receivers come, change and go', () => {
    const sc = new Receivers();
    const put = (receiver: string, h: number): Map<string, number> => sc.setReceiver(receiver, m({ S: h }));
    const remove = (receiver: string): Map<string, number> => sc.removeReceiver(receiver);
    expect(sc.maxHeight('S')).toBe(0);
    put('a', 1);
    expect(sc.maxHeight('S')).toBe(1);
    put('b', 2);
    expect(sc.maxHeight('S')).toBe(2);
    put('c', 3);
    expect(sc.maxHeight('S')).toBe(3);
    remove('c');
    expect(sc.maxHeight('S')).toBe(2);
    put('a', 4);
    expect(sc.maxHeight('S')).toBe(4);
    put('a', 3);
    expect(sc.maxHeight('S')).toBe(3);
    remove('a');
    expect(sc.maxHeight('S')).toBe(2);
    remove('b');
    expect(sc.maxHeight('S')).toBe(0);
    put('a', -1);
    expect(sc.maxHeight('S')).toBe(-1);
    put('b', 100);
    expect(sc.maxHeight('S')).toBe(-1);
    remove('a');
    expect(sc.maxHeight('S')).toBe(100);
  });

  // ReceiverConstraintsMapTest "track max height correctly when existing keys are updated".
  it('tracks the max height correctly when an existing receiver is updated', () => {
    const sc = new Receivers();
    for (const [h, want] of [
      [1, 1],
      [2, 2],
      [1, 1],
      [-1, -1],
      [1, 1],
      [2, 2],
    ] as const) {
      sc.setReceiver('b', m({ S: h }));
      expect(sc.maxHeight('S')).toBe(want);
    }
  });

  it('reports only the sources whose maximum changed since last announced', () => {
    const sc = new Receivers();
    expect(obj(sc.setReceiver('r1', m({ A: 720, B: 180 })))).toEqual({ A: 720, B: 180 });
    // Same values again: nothing to announce.
    expect(obj(sc.setReceiver('r1', m({ A: 720, B: 180 })))).toEqual({});
    // A second receiver wanting less changes nothing; wanting more of B changes B.
    expect(obj(sc.setReceiver('r2', m({ A: 360, B: 360 })))).toEqual({ B: 360 });
    // r2 goes to last-N 0 for A (0): A's maximum is still r1's 720.
    expect(obj(sc.setReceiver('r2', m({ A: 0, B: 360 })))).toEqual({});
    // r1 no longer lists B (e.g. its owner left r1's view): dropped for r1, B still 360 from r2.
    expect(obj(sc.setReceiver('r1', m({ A: 720 })))).toEqual({});
    // r2 leaves: B is wanted by nobody (0: the sender may stop encoding it), A unchanged.
    expect(obj(sc.removeReceiver('r2'))).toEqual({ B: 0 });
    expect(sc.maxHeight('B')).toBe(0);
    expect(obj(sc.removeReceiver('r1'))).toEqual({ A: 0 });
    expect(obj(sc.removeReceiver('r1'))).toEqual({});
  });

  it('a receiver dropping a source it listed reports the new maximum', () => {
    const sc = new Receivers();
    sc.setReceiver('r1', m({ A: 720 }));
    sc.setReceiver('r2', m({ A: 180 }));
    expect(obj(sc.setReceiver('r1', m({})))).toEqual({ A: 180 });
  });

  it('current(): what was last announced, for the sources the filter accepts (re-announce on reconnect)', () => {
    const sc = new Receivers();
    sc.setReceiver('r1', m({ 'A-v0': 720, 'A-v1': 0, 'B-v0': 180 }));
    expect(obj(sc.current((s) => s.startsWith('A-')))).toEqual({ 'A-v0': 720, 'A-v1': 0 });
    expect(obj(sc.current(() => false))).toEqual({});
  });

  it('removeSource forgets the source: a later receiver re-announces it', () => {
    const sc = new Receivers();
    sc.setReceiver('r1', m({ A: 720 }));
    sc.removeSource('A');
    expect(sc.maxHeight('A')).toBe(0);
    expect(obj(sc.current(() => true))).toEqual({});
    expect(obj(sc.setReceiver('r2', m({ A: 720 })))).toEqual({ A: 720 });
  });

  it('property: maxHeight is -1 if any receiver has -1, else the largest height, 0 with none; announcements track it', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        receiver: fc.constantFrom('r1', 'r2', 'r3'),
        heights: fc.dictionary(fc.constantFrom('A', 'B'), fc.constantFrom(-1, 0, 180, 360, 720)),
      }),
      fc.record({ kind: fc.constant('remove' as const), receiver: fc.constantFrom('r1', 'r2', 'r3') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), (ops) => {
        const sc = new Receivers();
        const model = new Map<string, Record<string, number>>();
        const announced = new Map<string, number>();
        for (const o of ops) {
          let changes: Map<string, number>;
          if (o.kind === 'set') {
            model.set(o.receiver, o.heights);
            changes = sc.setReceiver(o.receiver, new Map(Object.entries(o.heights)));
          } else {
            model.delete(o.receiver);
            changes = sc.removeReceiver(o.receiver);
          }
          for (const [k, v] of changes) {
            expect(announced.get(k)).not.toBe(v);
            announced.set(k, v);
          }
          for (const source of ['A', 'B']) {
            const hs = [...model.values()].map((r) => r[source]).filter((h): h is number => h !== undefined);
            const want = hs.includes(-1) ? -1 : Math.max(0, ...hs);
            expect(sc.maxHeight(source)).toBe(want);
            // Whatever was announced last is the current maximum (sources never touched stay unannounced).
            if (announced.has(source)) expect(announced.get(source)).toBe(want);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: the same announcements as recomputing every touched source over all receivers (the plain implementation)', () => {
    const receiver = fc.constantFrom('r1', 'r2', 'r3', 'r4');
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        receiver,
        heights: fc.dictionary(fc.constantFrom('A', 'B', 'C'), fc.constantFrom(-1, 0, 1, 180, 360, 720)),
      }),
      fc.record({ kind: fc.constant('remove' as const), receiver }),
      fc.record({ kind: fc.constant('removeSource' as const), source: fc.constantFrom('A', 'B', 'C') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const sc = new Receivers();
        const plain = new PlainSenderConstraints();
        for (const o of ops) {
          if (o.kind === 'set') {
            const heights = new Map(Object.entries(o.heights));
            expect(obj(sc.setReceiver(o.receiver, heights))).toEqual(obj(plain.setReceiver(o.receiver, heights)));
          } else if (o.kind === 'remove') {
            expect(obj(sc.removeReceiver(o.receiver))).toEqual(obj(plain.removeReceiver(o.receiver)));
          } else {
            sc.removeSource(o.source);
            plain.removeSource(o.source);
          }
          for (const source of ['A', 'B', 'C']) expect(sc.maxHeight(source)).toBe(plain.maxHeight(source));
          expect(obj(sc.current(() => true))).toEqual(obj(plain.current()));
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** The straightforward SenderConstraints: every source a receiver lists recomputed over all receivers. */
class PlainSenderConstraints {
  readonly #bySource = new Map<string, Map<string, number>>();
  readonly #announced = new Map<string, number>();

  maxHeight(source: string): number {
    let max = 0;
    for (const h of this.#bySource.get(source)?.values() ?? []) {
      if (h === -1) return -1;
      if (h > max) max = h;
    }
    return max;
  }

  setReceiver(receiver: string, heights: ReadonlyMap<string, number>): Map<string, number> {
    const touched = new Set<string>(heights.keys());
    for (const [source, receivers] of this.#bySource) {
      if (receivers.has(receiver) && !heights.has(source)) {
        receivers.delete(receiver);
        touched.add(source);
      }
    }
    for (const [source, h] of heights) {
      let receivers = this.#bySource.get(source);
      if (!receivers) this.#bySource.set(source, (receivers = new Map()));
      receivers.set(receiver, h);
    }
    return this.#changes(touched);
  }

  removeReceiver(receiver: string): Map<string, number> {
    const touched = new Set<string>();
    for (const [source, receivers] of this.#bySource) if (receivers.delete(receiver)) touched.add(source);
    return this.#changes(touched);
  }

  removeSource(source: string): void {
    this.#bySource.delete(source);
    this.#announced.delete(source);
  }

  current(): Map<string, number> {
    return new Map(this.#announced);
  }

  #changes(touched: Iterable<string>): Map<string, number> {
    const out = new Map<string, number>();
    for (const source of touched) {
      const h = this.maxHeight(source);
      if (this.#announced.get(source) !== h) {
        this.#announced.set(source, h);
        out.set(source, h);
      }
    }
    return out;
  }
}
