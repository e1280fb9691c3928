/**
 * The send SSRCs of one receiver with SSRC rewriting, for one media kind: at most `limit` slots
 * (`videobridge.ssrc-limit.video` / `.audio`, 50 each), each an SSRC and an RTX SSRC that one forwarded source is
 * sent on and that other sources reuse after it (jitsi-videobridge `SsrcCache.kt`: an LRU cache of send SSRCs per
 * endpoint and media type, whose eldest entry is re-mapped to a new source once the cache is full). A receiver's
 * SDP then holds at most `limit` remote SSRCs of each kind however many sources come and go: lib-jitsi-meet never
 * removes an m-line under SSRC rewriting, it re-maps the track of a known SSRC to its new owner.
 *
 * A source takes, in this order: the slot it holds; a free slot (one whose source is gone), the one it last held
 * when there is one, else the least recently used; a new slot while there are fewer than `limit`; the least
 * recently used slot whose source the caller lets go (`evictable`: JVB evicts the eldest entry of the LRU, which is
 * the least recently forwarded; the caller says which sources are not being forwarded). JVB gives up a slot when
 * its source's owner leaves (`removeByOwner`) and draws new SSRCs for the next source; here it stays free for the
 * next source, so an SSRC the receiver knows is re-mapped instead of a new one being added.
 *
 * Pure bookkeeping: the caller creates and closes the consumers that send on the slots.
 */

/** One send SSRC of a receiver and the source currently sent on it. */
export interface SsrcSlot {
  /** Primary SSRC. */
  readonly ssrc: number;
  /** RTX SSRC (used when RTX is negotiated; unused for audio). */
  readonly rtx: number;
  /** The source sent on it; undefined while free. */
  source: string | undefined;
  /** The source sent on it before (or now). */
  lastSource: string | undefined;
  /** When it was last taken, used or given up (ms, the clock given to {@link SsrcSlots}): its LRU position. */
  lastUsedMs: number;
}

/** What {@link SsrcSlots.acquire} gave a source. */
export interface SlotGrant {
  slot: SsrcSlot;
  /** The source that lost the slot to this one (it must stop being sent on it); undefined when none did. */
  evicted?: string;
  /** Whether the slot carried another source before (the receiver already knows its SSRC: a re-map). */
  reused: boolean;
}

/** See the module docstring. */
export class SsrcSlots {
  readonly limit: number;
  readonly #slots: SsrcSlot[] = [];
  readonly #bySource = new Map<string, SsrcSlot>();
  readonly #newSsrc: () => number;
  readonly #now: () => number;
  /** Slots taken from another source (JVB `remapCount`). */
  remaps = 0;

  /**
   * @param limit most slots (≥ 1)
   * @param newSsrc a fresh SSRC (1..2^32-1) no other slot of the receiver uses, of either kind; called twice per slot
   * @param now clock, ms (for tests)
   */
  constructor(limit: number, newSsrc: () => number, now: () => number = Date.now) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`SSRC limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.#newSsrc = newSsrc;
    this.#now = now;
  }

  /** The slot `source` holds. */
  of(source: string): SsrcSlot | undefined {
    return this.#bySource.get(source);
  }

  /** Every slot (free ones too), oldest first. */
  slots(): readonly SsrcSlot[] {
    return this.#slots;
  }

  /** Slots held by a source. */
  get held(): number {
    return this.#bySource.size;
  }

  /**
   * A slot for `source` (see the module docstring for the order).
   * @param evictable whether a source holding a slot may lose it now (the caller stops sending it); none may by default
   * @returns undefined when every slot is held and `evictable` lets none go: the source must wait for a slot
   */
  acquire(source: string, evictable: (source: string) => boolean = () => false): SlotGrant | undefined {
    const held = this.#bySource.get(source);
    if (held) {
      held.lastUsedMs = this.#now();
      return { slot: held, reused: false };
    }
    const free = this.#slots.filter((s) => s.source === undefined);
    const own = free.find((s) => s.lastSource === source);
    if (own || free.length > 0) {
      const slot = own ?? lru(free);
      const reused = slot.lastSource !== undefined && slot.lastSource !== source;
      this.#take(slot, source);
      if (reused) this.remaps += 1;
      return { slot, reused };
    }
    if (this.#slots.length < this.limit) {
      const ssrc = this.#newSsrc();
      const rtx = this.#newSsrc();
      const slot: SsrcSlot = { ssrc, rtx, source: undefined, lastSource: undefined, lastUsedMs: 0 };
      this.#slots.push(slot);
      this.#take(slot, source);
      return { slot, reused: false };
    }
    const candidates = this.#slots.filter((s) => s.source !== undefined && evictable(s.source));
    if (candidates.length === 0) return undefined;
    const slot = lru(candidates);
    const evicted = slot.source as string;
    this.#bySource.delete(evicted);
    this.#take(slot, source);
    this.remaps += 1;
    return { slot, evicted, reused: true };
  }

  /** `source` is no longer sent on its slot (it is gone, or left for another): the slot is free. */
  release(source: string): void {
    const slot = this.#bySource.get(source);
    if (!slot) return;
    this.#bySource.delete(source);
    slot.source = undefined;
    slot.lastUsedMs = this.#now();
  }

  /** `source`'s slot was in use until now (it stops or starts being forwarded): it moves to the end of the LRU. */
  touch(source: string): void {
    const slot = this.#bySource.get(source);
    if (slot) slot.lastUsedMs = this.#now();
  }

  /** Forget every slot (the receiver's transport is replaced: new SSRCs from here on). */
  clear(): void {
    this.#slots.length = 0;
    this.#bySource.clear();
  }

  #take(slot: SsrcSlot, source: string): void {
    slot.source = source;
    slot.lastSource = source;
    slot.lastUsedMs = this.#now();
    this.#bySource.set(source, slot);
  }
}

/** The least recently used of `slots` (non-empty); the older slot on a tie. */
function lru(slots: readonly SsrcSlot[]): SsrcSlot {
  return slots.reduce((a, b) => (b.lastUsedMs < a.lastUsedMs ? b : a));
}
