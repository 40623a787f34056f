/**
 * git's commit list ordered by date (commit_list_insert_by_date, prio_queue with
 * compare_commits_by_commit_date): newest first, and among equal dates the one queued
 * first. The tie rule is what makes a walk print what git prints when commits share a
 * timestamp, as scripted histories do.
 */

/** Max-heap on (date, then earliest queued). */
export class DateQueue<T extends { date: number }> {
  private heap: { c: T; seq: number }[] = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  private before(a: { c: T; seq: number }, b: { c: T; seq: number }): boolean {
    return a.c.date > b.c.date || (a.c.date === b.c.date && a.seq < b.seq)
  }

  push(c: T): void {
    const h = this.heap
    h.push({ c, seq: this.seq++ })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  peek(): T | undefined {
    return this.heap[0]?.c
  }

  pop(): T | undefined {
    const h = this.heap
    const top = h[0]
    if (!top) return undefined
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top.c
  }

  /** Every queued item, in no particular order. */
  items(): IterableIterator<T> {
    return this.heap.map((e) => e.c)[Symbol.iterator]()
  }
}
