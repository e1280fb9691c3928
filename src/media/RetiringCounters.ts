/**
 * Cumulative counters over a changing set of mediasoup objects (transports, producers, consumers)
 * that never lose what a closed object counted: the bridge's `total_packets_*` / `total_bytes_*`
 * (JVB `VideobridgeStatistics`: totals since start) must include endpoints and streams that lived
 * between two stats runs.
 *
 * An object that is about to be closed by this process is {@link RetiringCounters.retire}d first:
 * its stats request is written to the worker's channel before the close request, and the worker
 * answers requests in order, so the final values are read. An object that went away without
 * warning (its worker died) is {@link RetiringCounters.drop}ped:
 * its last values read are kept. {@link RetiringCounters.sum} over the live objects plus the
 * retired ones therefore never decreases.
 */

/** See the module docstring. `T`: the counted object; `V`: what one read returns (cumulative fields and others). */
export class RetiringCounters<T extends object, V extends Record<keyof V, number>> {
  readonly #cumulative: readonly (keyof V & string)[];
  readonly #read: (o: T) => Promise<V>;
  /** The last values read per live object. */
  readonly #last = new Map<T, V>();
  /** Objects retired or dropped: not counted as live any more. */
  readonly #gone = new WeakSet<T>();
  /** Sum of the final (or last known) values of the objects gone. */
  readonly #retired: Record<string, number> = {};
  readonly #pending = new Set<Promise<void>>();

  /**
   * @param cumulative the fields that are counters since the object's creation (summed and kept)
   * @param read one stats read of an object (mediasoup `getStats()`, mapped); may reject for a closed object
   */
  constructor(cumulative: readonly (keyof V & string)[], read: (o: T) => Promise<V>) {
    this.#cumulative = cumulative;
    this.#read = read;
    for (const k of cumulative) this.#retired[k] = 0;
  }

  /**
   * Read every object of `live` now (those retired meanwhile are skipped) and add the retired ones.
   * @returns `total`: each cumulative field summed (never less than a previous call's); `current`:
   *   this read's values per live object that answered (for rates and round-trip times)
   */
  async sum(live: Iterable<T>): Promise<{ total: Record<keyof V & string, number>; current: V[] }> {
    await Promise.all([...this.#pending]);
    const objects = [...live].filter((o) => !this.#gone.has(o));
    const reads = await Promise.all(
      objects.map((o) =>
        this.#read(o).then(
          (v) => v,
          () => undefined,
        ),
      ),
    );
    const total = {} as Record<keyof V & string, number>;
    for (const k of this.#cumulative) total[k] = 0;
    const current: V[] = [];
    objects.forEach((o, i) => {
      // Retired while we read: its final values are (or will be) in the retired sums.
      if (this.#gone.has(o)) return;
      const v = reads[i] ?? this.#last.get(o);
      if (!v) return;
      if (reads[i]) {
        this.#last.set(o, v);
        current.push(v);
      }
      for (const k of this.#cumulative) total[k] += v[k] ?? 0;
    });
    for (const k of this.#cumulative) total[k] += this.#retired[k] ?? 0;
    return { total, current };
  }

  /**
   * `o` is about to be closed by the caller: read it one last time (the request is sent now,
   * before the caller's close) and keep the result (the last known values if the read fails).
   */
  retire(o: T): void {
    if (this.#gone.has(o)) return;
    this.#gone.add(o);
    const last = this.#last.get(o);
    this.#last.delete(o);
    const p = this.#read(o).then(
      (v) => this.#keep(v),
      () => this.#keep(last),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** `o` is gone and can no longer be read: keep its last known values. */
  drop(o: T): void {
    if (this.#gone.has(o)) return;
    this.#gone.add(o);
    this.#keep(this.#last.get(o));
    this.#last.delete(o);
  }

  /** Wait for the final reads of the objects retired so far. */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  #keep(v: V | undefined): void {
    if (!v) return;
    for (const k of this.#cumulative) this.#retired[k] = (this.#retired[k] ?? 0) + (v[k] ?? 0);
  }
}
