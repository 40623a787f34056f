/**
 * The objects most recently inflated or resolved while a pack arrives, kept in
 * one ring buffer of fixed size, so that a delta whose base came shortly before
 * is resolved at once, while the rest of the pack is still arriving. Otherwise
 * it waits for the second pass (resolve.ts), which reads and inflates base and
 * delta again. git writes a delta soon after its base, so a few MiB catch
 * nearly all of them; what the ring has dropped is resolved in the second pass.
 *
 * Each object is written after HEADER_ROOM bytes (its "<type> <size>\0" header
 * goes there to be hashed with it) and is followed by one spare byte (how
 * inflateEntry tells an object longer than declared). Reserving room for a new
 * object drops the oldest objects that room overlaps. Memory is the ring's
 * size, whatever the pack's.
 */
import { HEADER_ROOM } from './format.js'

/** Objects larger than this share of the ring are not kept: one would push out too many others. */
const LARGEST_SHARE = 8

/** Room after the ring for one delta being applied (see `scratch`). */
const SCRATCH_BYTES = 256 * 1024

export class RecentObjects {
  private ring: Buffer | undefined
  /** Where the next object's room starts. */
  private head = 0
  /** Live objects in the order written: entry index, start and end of its room. */
  private queue: number[] = []
  private front = 0
  /** By entry index: where its room starts, plus one (0: not here), and its object's size. */
  private startOf = new Int32Array(1024)
  private sizeOf = new Int32Array(1024)
  private pendingStart = -1
  private pendingEnd = 0
  private pendingSize = 0

  constructor(private readonly capacity: number) {}

  /**
   * Room for an object of `size` bytes (HEADER_ROOM, the object, a spare byte),
   * valid until the next call; `commit` keeps what was written there. Undefined
   * when the object is too large to keep, or when making room would drop the
   * object of entry `keep` (the base a delta is being applied to).
   */
  reserve(size: number, keep = -1): Buffer | undefined {
    const need = HEADER_ROOM + size + 1
    if (need * LARGEST_SHARE > this.capacity) return undefined
    const ring = this.memory()
    const wraps = this.head + need > this.capacity
    const start = wraps ? 0 : this.head
    const end = start + need
    // The objects to drop are the oldest: after a wrap, all those past head (the end of
    // the last lap), then those the room overlaps.
    let drop = this.front
    for (; drop < this.queue.length; drop += 3) {
      const s = this.queue[drop + 1] as number
      const e = this.queue[drop + 2] as number
      const overlaps = (wraps && s >= this.head) || (s < end && e > start)
      if (!overlaps) break
      if (this.queue[drop] === keep) return undefined
    }
    for (let k = this.front; k < drop; k += 3) this.startOf[this.queue[k] as number] = 0
    this.front = drop
    if (this.front > 3 * 4096 && this.front * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.front)
      this.front = 0
    }
    this.pendingStart = start
    this.pendingEnd = end
    this.pendingSize = size
    return ring.subarray(start, end)
  }

  /**
   * `size` bytes past the end of the ring, in the same buffer, valid until the next
   * call: where a delta is inflated, so that writeDelta's copies from base and from
   * delta are all copies within one buffer (Buffer#copy between two buffers makes a
   * view per call). Undefined when `size` is larger than that room.
   */
  scratch(size: number): Buffer | undefined {
    if (size > SCRATCH_BYTES) return undefined
    return this.memory().subarray(this.capacity, this.capacity + size)
  }

  private memory(): Buffer {
    this.ring ??= Buffer.allocUnsafeSlow(this.capacity + SCRATCH_BYTES)
    return this.ring
  }

  /** Keeps the object written into the last room reserved, as entry `index`'s. */
  commit(index: number): void {
    if (this.pendingStart < 0) throw new Error('RecentObjects.commit without a reserved room')
    if (index >= this.startOf.length) {
      const grown = Math.max(2 * this.startOf.length, index + 1)
      const starts = new Int32Array(grown)
      starts.set(this.startOf)
      this.startOf = starts
      const sizes = new Int32Array(grown)
      sizes.set(this.sizeOf)
      this.sizeOf = sizes
    }
    this.queue.push(index, this.pendingStart, this.pendingEnd)
    this.startOf[index] = this.pendingStart + 1
    this.sizeOf[index] = this.pendingSize
    this.head = this.pendingEnd
    this.pendingStart = -1
  }

  /** Entry `index`'s object, if it is still here; valid until the next `reserve`. */
  get(index: number): Buffer | undefined {
    const start = index < this.startOf.length ? (this.startOf[index] as number) - 1 : -1
    if (start < 0 || this.ring === undefined) return undefined
    const from = start + HEADER_ROOM
    return this.ring.subarray(from, from + (this.sizeOf[index] as number))
  }
}
