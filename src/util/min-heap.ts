/**
 * A binary min-heap over an array, ordered by a comparison function. Delayed messages wait in one,
 * ordered by when they come due: push and pop are O(log n) with no allocation per element.
 */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (!this.less(item, p)) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.items;
    const n = a.length;
    if (n === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (n === 1) return top;
    const size = n - 1;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const child = r < size && this.less(a[r]!, a[l]!) ? r : l;
      if (!this.less(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }

  /** Removes everything and returns the items in no particular order. */
  drain(): T[] {
    return this.items.splice(0, this.items.length);
  }
}
