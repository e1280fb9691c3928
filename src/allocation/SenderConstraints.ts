/**
 * What each sender is told to send: per source, the highest effective `maxHeight` any receiver
 * has for it (jitsi-videobridge `ReceiverConstraintsMap.kt` + `AbstractEndpoint.addReceiver`):
 * -1 (unlimited) wins over any height, and 0 means nobody wants the source, so its sender may stop
 * encoding it ("layer suspension", `SenderSourceConstraints`).
 *
 * Incremental: each receiver's last heights are kept, and per source a count of receivers per
 * height, so recording one receiver costs the number of sources it lists (only those whose height
 * for it changed are looked at again), and a source's maximum the number of distinct heights
 * wanted of it, not the number of receivers.
 */

/** See the module docstring. */
export class SenderConstraints {
  /** receiver → source → effective maxHeight. */
  readonly #byReceiver = new Map<string, Map<string, number>>();
  /** source → maxHeight → how many receivers want that height. */
  readonly #counts = new Map<string, Map<number, number>>();
  /** source → the maxHeight last announced. */
  readonly #announced = new Map<string, number>();

  /** The highest height wanted of `source` (0 when nobody wants it). */
  maxHeight(source: string): number {
    const counts = this.#counts.get(source);
    let max = 0;
    if (!counts) return max;
    for (const h of counts.keys()) {
      if (h === -1) return -1;
      if (h > max) max = h;
    }
    return max;
  }

  /**
   * Record one receiver's effective heights for the sources it can receive; sources it no longer
   * lists are dropped for it. The receiver's record is updated in place: a conference-wide
   * re-allocation replaces no per-receiver map (at 500 endpoints those were old-generation garbage).
   * @param heights per source, its height or what it is read from (the receiver's effective constraints)
   * @param heightOf the effective maxHeight of a value of `heights` (px; -1 unlimited, 0 none)
   * @returns the sources whose maximum changed since last announced, with the new value.
   */
  setReceiver<V = number>(receiver: string, heights: ReadonlyMap<string, V>, heightOf: (v: V) => number = (v) => v as number): Map<string, number> {
    let record = this.#byReceiver.get(receiver);
    if (!record) this.#byReceiver.set(receiver, (record = new Map()));
    // In the order the plain recomputation reported them: the listed sources, then the dropped ones.
    const touched: string[] = [];
    for (const [source, v] of heights) {
      const h = heightOf(v);
      const old = record.get(source);
      if (old === h) continue;
      if (old !== undefined) this.#count(source, old, -1);
      this.#count(source, h, 1);
      record.set(source, h);
      touched.push(source);
    }
    // Every listed source is in the record now: any more are the dropped ones.
    if (record.size > heights.size) {
      for (const [source, h] of record) {
        if (heights.has(source)) continue;
        this.#count(source, h, -1);
        record.delete(source);
        touched.push(source);
      }
    }
    return this.#changes(touched);
  }

  /** A receiver left. @returns the sources whose maximum changed. */
  removeReceiver(receiver: string): Map<string, number> {
    const before = this.#byReceiver.get(receiver);
    if (!before) return new Map();
    this.#byReceiver.delete(receiver);
    for (const [source, h] of before) this.#count(source, h, -1);
    return this.#changes(before.keys());
  }

  /** A source went away: forget it. */
  removeSource(source: string): void {
    if (this.#counts.delete(source)) for (const heights of this.#byReceiver.values()) heights.delete(source);
    this.#announced.delete(source);
  }

  /** Every source's current maximum (to re-announce on a sender's reconnected channel). */
  current(owned: (source: string) => boolean): Map<string, number> {
    const out = new Map<string, number>();
    for (const [source, h] of this.#announced) if (owned(source)) out.set(source, h);
    return out;
  }

  /** One more (`delta` 1) or one less (-1) receiver wanting `h` of `source`. */
  #count(source: string, h: number, delta: 1 | -1): void {
    let counts = this.#counts.get(source);
    if (!counts) this.#counts.set(source, (counts = new Map()));
    const n = (counts.get(h) ?? 0) + delta;
    if (n > 0) counts.set(h, n);
    else counts.delete(h);
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
