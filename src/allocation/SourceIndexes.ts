/**
 * Dense indexes for a conference's video sources, so that what each receiver keeps per source is a typed array
 * indexed by them instead of a map by source name: at 500 endpoints a conference holds 250,000 receiver–source pairs,
 * and maps by name no longer fit the CPU cache, which made a conference-wide re-allocation grow faster than the
 * number of pairs (docs/performance.md). An index freed by a source that left is given to the next new source.
 */
export class SourceIndexes {
  readonly #free: number[] = [];
  #next = 0;
  #capacity: number;

  /** @param capacity the initial {@link capacity} (a power of two). */
  constructor(capacity = 64) {
    this.#capacity = capacity;
  }

  /** The length a per-source array must have to hold every index given so far: a power of two, doubled as needed. */
  get capacity(): number {
    return this.#capacity;
  }

  /** A free index: the one released last, else a new one (the next after every index given so far). */
  take(): number {
    const index = this.#free.pop() ?? this.#next++;
    while (index >= this.#capacity) this.#capacity *= 2;
    return index;
  }

  /** `index` is free again. */
  release(index: number): void {
    this.#free.push(index);
  }
}
