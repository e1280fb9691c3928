/**
 * What each sender is told to send: per source, the highest effective `maxHeight` any receiver
 * has for it (jitsi-videobridge `ReceiverConstraintsMap.kt` + `AbstractEndpoint.addReceiver`):
 * -1 (unlimited) wins over any height, and 0 means nobody wants the source, so its sender may stop
 * encoding it ("layer suspension", `SenderSourceConstraints`).
 */

/** See the module docstring. */
export class SenderConstraints {
  /** source → receiver → effective maxHeight. */
  readonly #bySource = new Map<string, Map<string, number>>();
  /** source → the maxHeight last announced. */
  readonly #announced = new Map<string, number>();

  /** The highest height wanted of `source` (0 when nobody wants it). */
  maxHeight(source: string): number {
    const receivers = this.#bySource.get(source);
    let max = 0;
    if (!receivers) return max;
    for (const h of receivers.values()) {
      if (h === -1) return -1;
      if (h > max) max = h;
    }
    return max;
  }

  /**
   * Record one receiver's effective heights for the sources it can receive; sources it no longer
   * lists are dropped for it.
   * @returns the sources whose maximum changed since last announced, with the new value.
   */
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

  /** A receiver left. @returns the sources whose maximum changed. */
  removeReceiver(receiver: string): Map<string, number> {
    const touched = new Set<string>();
    for (const [source, receivers] of this.#bySource) if (receivers.delete(receiver)) touched.add(source);
    return this.#changes(touched);
  }

  /** A source went away: forget it. */
  removeSource(source: string): void {
    this.#bySource.delete(source);
    this.#announced.delete(source);
  }

  /** Every source's current maximum (to re-announce on a sender's reconnected channel). */
  current(owned: (source: string) => boolean): Map<string, number> {
    const out = new Map<string, number>();
    for (const [source, h] of this.#announced) if (owned(source)) out.set(source, h);
    return out;
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
