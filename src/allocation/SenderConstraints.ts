/**
 * What each sender is told to send: per source, the highest effective `maxHeight` any receiver
 * has for it (jitsi-videobridge `ReceiverConstraintsMap.kt` + `AbstractEndpoint.addReceiver`):
 * -1 (unlimited) wins over any height, and 0 means nobody wants the source, so its sender may stop
 * encoding it ("layer suspension", `SenderSourceConstraints`).
 *
 * Incremental: the caller reports each receiver's height for a source only when it changes ({@link update}; the
 * conference's allocator keeps each receiver's heights by source index), and per source this keeps a count of
 * receivers per height, so a source's maximum costs the number of distinct heights wanted of it, not the number of
 * receivers.
 */

/** See the module docstring. */
export class SenderConstraints {
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
   * One receiver's effective maxHeight for `source` changed (px; -1 unlimited, 0 none).
   * @param from its height before; undefined when the receiver did not list the source
   * @param to its height now; undefined when it no longer lists the source (it left, or the source left its view)
   */
  update(source: string, from: number | undefined, to: number | undefined): void {
    if (from === to) return;
    if (from !== undefined) this.#count(source, from, -1);
    if (to !== undefined) this.#count(source, to, 1);
  }

  /**
   * Of `touched` (the sources {@link update}d), those whose maximum changed since last announced, with the new
   * value; they count as announced from now on.
   */
  changes(touched: Iterable<string>): Map<string, number> {
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

  /** A source went away: forget it (the caller forgets every receiver's height for it). */
  removeSource(source: string): void {
    this.#counts.delete(source);
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
}
