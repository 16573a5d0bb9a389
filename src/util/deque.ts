/**
 * A growable ring buffer: O(1) push and shift at both ends, indexed access, no per-element
 * allocation. Queues of messages and channels' unacknowledged deliveries live in these.
 */
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private mask: number;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.items = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  unshift(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return item;
  }

  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const i = (this.head + this.count - 1) & this.mask;
    const item = this.items[i];
    this.items[i] = undefined;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  peekLast(): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.head + this.count - 1) & this.mask];
  }

  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.items[(this.head + index) & this.mask];
  }

  set(index: number, item: T): void {
    if (index < 0 || index >= this.count) throw new RangeError(`index ${index} out of range`);
    this.items[(this.head + index) & this.mask] = item;
  }

  /** Inserts at `index`, moving the shorter side. */
  insert(index: number, item: T): void {
    if (index <= 0) return this.unshift(item);
    if (index >= this.count) return this.push(item);
    if (this.count === this.items.length) this.grow();
    if (index < this.count / 2) {
      this.head = (this.head - 1) & this.mask;
      for (let i = 0; i < index; i++) {
        this.items[(this.head + i) & this.mask] = this.items[(this.head + i + 1) & this.mask];
      }
    } else {
      for (let i = this.count; i > index; i--) {
        this.items[(this.head + i) & this.mask] = this.items[(this.head + i - 1) & this.mask];
      }
    }
    this.items[(this.head + index) & this.mask] = item;
    this.count++;
  }

  /** Removes and returns the element at `index`, moving the shorter side. */
  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    const item = this.items[(this.head + index) & this.mask];
    if (index < this.count / 2) {
      for (let i = index; i > 0; i--) {
        this.items[(this.head + i) & this.mask] = this.items[(this.head + i - 1) & this.mask];
      }
      this.items[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
    } else {
      for (let i = index; i < this.count - 1; i++) {
        this.items[(this.head + i) & this.mask] = this.items[(this.head + i + 1) & this.mask];
      }
      this.items[(this.head + this.count - 1) & this.mask] = undefined;
    }
    this.count--;
    return item;
  }

  /** Calls `visit` on each element, head first, without allocating (unlike the iterator). */
  forEach(visit: (item: T) => void): void {
    const items = this.items;
    const mask = this.mask;
    for (let i = 0; i < this.count; i++) visit(items[(this.head + i) & mask] as T);
  }

  /**
   * Empties the deque in O(1): the backing array is dropped whole (a fresh small one replaces it), so
   * millions of elements become garbage at once, without a pass over them.
   */
  clear(): void {
    this.items = new Array<T | undefined>(16);
    this.mask = 15;
    this.head = 0;
    this.count = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) & this.mask] as T;
  }

  toArray(): T[] {
    return [...this];
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = next.length - 1;
  }
}
