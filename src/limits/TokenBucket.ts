/**
 * Token buckets for the per-client limits of the public port (joins per client address, focus
 * `source-update`s and bridge-channel messages per endpoint).
 */

/**
 * A token bucket: `ratePerSecond` tokens are added per second up to `burst`; {@link take} spends one.
 * A rate of 0 means "no limit" (every take succeeds). Times are ms (`Date.now()` by default).
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  /**
   * @param ratePerSecond tokens per second; 0 = unlimited.
   * @param burst bucket size (default: one second's worth, at least 1).
   */
  constructor(ratePerSecond: number, burst = Math.max(1, ratePerSecond), now = Date.now()) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Spend a token: true when one was there (the action may go ahead), false when the limit bites. */
  take(now = Date.now()): boolean {
    if (this.#rate <= 0) return true;
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whether the bucket is full again (an idle client: its entry can be forgotten). */
  full(now = Date.now()): boolean {
    this.#refill(now);
    return this.#tokens >= this.#burst;
  }

  /** ms until a token is there (0 when one is there now). */
  waitMs(now = Date.now()): number {
    if (this.#rate <= 0) return 0;
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed / 1000) * this.#rate);
  }
}

/**
 * One {@link TokenBucket} per key (a client address), created on first use. Idle keys (full
 * buckets) are forgotten on a sweep; past `maxKeys` live entries a new key is refused outright, so
 * a flood of source addresses cannot grow the map without bound.
 */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #ratePerSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  #lastSweep = Number.NEGATIVE_INFINITY;

  /**
   * @param ratePerSecond per key; 0 = unlimited (nothing is stored).
   * @param burst per key.
   * @param maxKeys keys remembered at most (default 100 000).
   */
  constructor(ratePerSecond: number, burst: number, maxKeys = 100_000) {
    this.#ratePerSecond = ratePerSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Spend one of `key`'s tokens: false when the limit bites. */
  take(key: string, now = Date.now()): boolean {
    if (this.#ratePerSecond <= 0) return true;
    if (now - this.#lastSweep > 10_000) this.#sweep(now);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.#sweep(now);
      if (this.#buckets.size >= this.#maxKeys) return false;
      bucket = new TokenBucket(this.#ratePerSecond, this.#burst, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key);
  }
}
