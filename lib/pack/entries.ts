/**
 * Per-object bookkeeping for the indexer, as struct-of-arrays so a pack with
 * millions of objects costs tens of bytes per object, not a JS object each.
 */

export const NO_BASE = -1

/** Memory worker threads can be given (zero-filled, like an ArrayBuffer). */
function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes)
}

/** The columns the second pass reads and writes, as a worker thread gets them (resolve-workers.ts). */
export type EntryColumns = Pick<EntryTable, 'offset' | 'end' | 'size' | 'headerLength' | 'packType' | 'objType' | 'base'> & {
  /** A Buffer in the table; a worker thread receives it as a Uint8Array. */
  oids: Uint8Array
}

export class EntryTable {
  count = 0
  private capacity: number
  offset: Float64Array
  /** Pack offset just past this entry's zlib data (the next entry's offset). */
  end: Float64Array
  size: Float64Array
  headerLength: Uint8Array
  packType: Uint8Array
  /** Resolved object type code (1-4); 0 while an unresolved delta. */
  objType: Uint8Array
  crc: Uint32Array
  /** Index of the base entry: known at parse time for OFS_DELTA, after resolution for REF_DELTA. */
  base: Int32Array
  oids: Buffer
  /** REF_DELTA base ids, keyed by entry index (rare enough not to deserve a column). */
  readonly refBase = new Map<number, Buffer>()

  /** A table over `columns` of `count` entries (a worker's view of shared memory): it cannot grow, and has no CRCs. */
  static over(columns: EntryColumns, count: number): EntryTable {
    const t = new EntryTable(0)
    t.offset = columns.offset
    t.end = columns.end
    t.size = columns.size
    t.headerLength = columns.headerLength
    t.packType = columns.packType
    t.objType = columns.objType
    t.base = columns.base
    t.oids = Buffer.from(columns.oids.buffer, columns.oids.byteOffset, columns.oids.byteLength)
    t.crc = new Uint32Array(0)
    t.count = count
    t.capacity = count
    return t
  }

  /**
   * The first `count` entries' columns, for worker threads: views of this table's own
   * memory, which is shared memory, so that what the threads write is in the table.
   */
  sharedColumns(): EntryColumns {
    const n = this.count
    return {
      offset: this.offset.subarray(0, n), end: this.end.subarray(0, n), size: this.size.subarray(0, n),
      headerLength: this.headerLength.subarray(0, n), packType: this.packType.subarray(0, n), objType: this.objType.subarray(0, n),
      base: this.base.subarray(0, n), oids: this.oids.subarray(0, 20 * n),
    }
  }

  constructor(initialCapacity: number) {
    this.capacity = Math.max(16, initialCapacity)
    const cap = this.capacity
    this.offset = new Float64Array(shared(8 * cap))
    this.end = new Float64Array(shared(8 * cap))
    this.size = new Float64Array(shared(8 * cap))
    this.headerLength = new Uint8Array(shared(cap))
    this.packType = new Uint8Array(shared(cap))
    this.objType = new Uint8Array(shared(cap))
    this.crc = new Uint32Array(cap)
    // base is set as entries are added: pages past the last entry are never touched.
    this.base = new Int32Array(shared(4 * cap))
    this.oids = Buffer.from(shared(20 * cap))
  }

  /**
   * Room for `count` entries in all, allocated at once: what a pack header announces
   * (callers bound it). Memory is zero until written, so room a lying header asked
   * for costs address space, not memory.
   */
  reserve(count: number): void {
    if (count > this.capacity) this.resize(count)
  }

  private grow(): void {
    this.resize(this.capacity * 2)
  }

  private resize(cap: number): void {
    const f64 = (a: Float64Array) => { const b = new Float64Array(shared(8 * cap)); b.set(a); return b }
    this.offset = f64(this.offset)
    this.end = f64(this.end)
    this.size = f64(this.size)
    const u8 = (a: Uint8Array) => { const b = new Uint8Array(shared(cap)); b.set(a); return b }
    this.headerLength = u8(this.headerLength)
    this.packType = u8(this.packType)
    this.objType = u8(this.objType)
    const crc = new Uint32Array(cap); crc.set(this.crc); this.crc = crc
    const base = new Int32Array(shared(4 * cap)); base.set(this.base); this.base = base
    const oids = Buffer.from(shared(20 * cap)); this.oids.copy(oids); this.oids = oids
    this.capacity = cap
  }

  add(offset: number, packType: number, size: number, headerLength: number): number {
    if (this.count === this.capacity) this.grow()
    const i = this.count++
    this.base[i] = NO_BASE
    this.offset[i] = offset
    this.packType[i] = packType
    this.size[i] = size
    this.headerLength[i] = headerLength
    return i
  }

  /** Forgets the entries from `count` on (salvage.ts keeps the whole ones before a cut). */
  truncate(count: number): void {
    if (count >= this.count) return
    this.count = count
    for (const i of this.refBase.keys()) if (i >= count) this.refBase.delete(i)
  }

  /** Index of the entry starting exactly at `offset`, or NO_BASE (entries are added in offset order). */
  indexAtOffset(offset: number): number {
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const v = this.offset[mid] as number
      if (v === offset) return mid
      if (v < offset) lo = mid + 1
      else hi = mid
    }
    return NO_BASE
  }

  oid(i: number): Buffer {
    return this.oids.subarray(i * 20, i * 20 + 20)
  }

  setOidHex(i: number, hex: string): void {
    this.oids.write(hex, i * 20, 20, 'hex')
  }

  setOid(i: number, oid: Buffer): void {
    oid.copy(this.oids, i * 20)
  }
}
