/**
 * A list read newest first, added to at the new end and removed from at
 * the old end: HPACK's dynamic table (RFC 7541 2.3.3), where index 0 is
 * the entry inserted last. A ring over a power-of-two array, so an insert
 * moves nothing (an array's unshift moves every entry, per inserted field).
 */

/**
 * Room made at the first item: the usual dynamic table (4096 octets, in
 * entries of 64 octets and more) never needs more, so it is not grown
 * step by step on every connection; a list that never gets an item costs
 * nothing.
 */
const FIRST_ROOM = 64;

export class NewestFirst<T> {
  private ring: Array<T | undefined> = [];
  /** ring.length - 1 */
  private mask = -1;
  /** Ring slot of the newest item. */
  private newest = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** The item `i` places from the newest (0 = newest); undefined outside [0, length). */
  at(i: number): T | undefined {
    return i >= 0 && i < this.count ? this.ring[(this.newest + i) & this.mask] : undefined;
  }

  addNewest(item: T): void {
    if (this.count === this.ring.length) this.grow();
    this.newest = (this.newest - 1) & this.mask;
    this.ring[this.newest] = item;
    this.count++;
  }

  /** Removes and returns the oldest item (undefined when empty). */
  removeOldest(): T | undefined {
    if (this.count === 0) return undefined;
    this.count--;
    const slot = (this.newest + this.count) & this.mask;
    const item = this.ring[slot];
    this.ring[slot] = undefined;
    return item;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.newest = 0;
    this.count = 0;
  }

  /** Twice the room (FIRST_ROOM at first), the items in order from slot 0. */
  private grow(): void {
    const bigger = new Array<T | undefined>(Math.max(FIRST_ROOM, this.ring.length * 2)).fill(undefined);
    for (let i = 0; i < this.count; i++) bigger[i] = this.at(i);
    this.ring = bigger;
    this.mask = bigger.length - 1;
    this.newest = 0;
  }
}
