/**
 * Memory for the objects that delta resolution makes and soon drops (resolve.ts):
 * the bases along the current path of the walk, and each result until it is
 * hashed. A fresh buffer per object costs a page fault per 4 KiB touched (~12 µs
 * each on the machines measured, a third of the time of resolving a source-code
 * history), and makes every copy between base and result a copy between two
 * ArrayBuffers, for which Buffer#copy builds a view per call. Blocks handed out
 * here are views of one buffer, reused as soon as they are given back.
 *
 * A buddy allocator: blocks are powers of two, split on demand and merged with
 * their free buddy when given back, so any order of release leaves no
 * fragmentation that merging cannot undo. When no block is large enough,
 * `alloc` says so and the caller allocates as before; memory is the arena's
 * capacity, allocated on first use.
 */

/** The smallest block: 256 bytes. */
const MIN_ORDER = 8

function orderFor(size: number): number {
  if (size <= 1 << MIN_ORDER) return MIN_ORDER
  return 32 - Math.clz32(size - 1)
}

export class BuddyArena {
  private memory: Buffer | undefined
  private readonly maxOrder: number
  /** Free blocks by order: their offsets, the last freed last (taken first: its pages are the likeliest touched). */
  private readonly free: number[][] = []
  /** By offset >> MIN_ORDER: order + 1 of the free block that starts there, 0 if none. */
  private readonly freeOrder: Int8Array
  /** By offset >> MIN_ORDER: where a free block is in its list (removal swaps it with the last). */
  private readonly freeAt: Int32Array
  /** By offset >> MIN_ORDER: order + 1 of the block handed out that starts there, 0 if none. */
  private readonly usedOrder: Int8Array
  private inUse = 0

  /** `capacity` is rounded down to a power of two, at least 256 bytes. */
  constructor(capacity: number) {
    this.maxOrder = Math.max(MIN_ORDER, 31 - Math.clz32(Math.min(capacity, 2 ** 30)))
    for (let o = 0; o <= this.maxOrder; o++) this.free.push([])
    const slots = 1 << (this.maxOrder - MIN_ORDER)
    this.freeOrder = new Int8Array(slots)
    this.freeAt = new Int32Array(slots)
    this.usedOrder = new Int8Array(slots)
    this.addFree(0, this.maxOrder)
  }

  get capacity(): number {
    return 2 ** this.maxOrder
  }

  /** Bytes in blocks handed out and not given back. */
  get bytesInUse(): number {
    return this.inUse
  }

  /** `size` bytes (a view of a block of the arena), or undefined when no free block is that large. */
  alloc(size: number): Buffer | undefined {
    if (size > this.capacity) return undefined
    const order = orderFor(size)
    let o = order
    while (o <= this.maxOrder && (this.free[o] as number[]).length === 0) o++
    if (o > this.maxOrder) return undefined
    const list = this.free[o] as number[]
    const offset = list[list.length - 1] as number
    this.removeFree(offset, o)
    // Split: keep the lower half, free the upper, down to the order wanted.
    while (o > order) {
      o--
      this.addFree(offset + 2 ** o, o)
    }
    this.usedOrder[offset >> MIN_ORDER] = order + 1
    this.inUse += 2 ** order
    this.memory ??= Buffer.allocUnsafeSlow(this.capacity)
    return this.memory.subarray(offset, offset + size)
  }

  /**
   * Gives back the block a buffer from `alloc` is a view of, by its start. Buffers
   * that are not from this arena, or do not start a block handed out, are ignored,
   * so callers may release whatever they hold.
   */
  release(b: Buffer): void {
    const memory = this.memory
    if (memory === undefined || b.buffer !== memory.buffer) return
    let offset = b.byteOffset - memory.byteOffset
    if (offset % (1 << MIN_ORDER) !== 0) return
    let order = (this.usedOrder[offset >> MIN_ORDER] as number) - 1
    if (order < 0) return
    this.usedOrder[offset >> MIN_ORDER] = 0
    this.inUse -= 2 ** order
    while (order < this.maxOrder) {
      const buddy = offset ^ (2 ** order)
      if (this.freeOrder[buddy >> MIN_ORDER] !== order + 1) break
      this.removeFree(buddy, order)
      offset = Math.min(offset, buddy)
      order++
    }
    this.addFree(offset, order)
  }

  private addFree(offset: number, order: number): void {
    const list = this.free[order] as number[]
    this.freeAt[offset >> MIN_ORDER] = list.length
    list.push(offset)
    this.freeOrder[offset >> MIN_ORDER] = order + 1
  }

  private removeFree(offset: number, order: number): void {
    const list = this.free[order] as number[]
    const at = this.freeAt[offset >> MIN_ORDER] as number
    const last = list.pop() as number
    if (last !== offset) {
      list[at] = last
      this.freeAt[last >> MIN_ORDER] = at
    }
    this.freeOrder[offset >> MIN_ORDER] = 0
  }
}
