/**
 * Per-object bookkeeping for the indexer, as struct-of-arrays so a pack with
 * millions of objects costs tens of bytes per object, not a JS object each.
 */

export const NO_BASE = -1

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

  constructor(initialCapacity: number) {
    this.capacity = Math.max(16, initialCapacity)
    this.offset = new Float64Array(this.capacity)
    this.end = new Float64Array(this.capacity)
    this.size = new Float64Array(this.capacity)
    this.headerLength = new Uint8Array(this.capacity)
    this.packType = new Uint8Array(this.capacity)
    this.objType = new Uint8Array(this.capacity)
    this.crc = new Uint32Array(this.capacity)
    this.base = new Int32Array(this.capacity).fill(NO_BASE)
    this.oids = Buffer.alloc(this.capacity * 20)
  }

  private grow(): void {
    const cap = this.capacity * 2
    const f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b }
    this.offset = f64(this.offset)
    this.end = f64(this.end)
    this.size = f64(this.size)
    const u8 = (a: Uint8Array) => { const b = new Uint8Array(cap); b.set(a); return b }
    this.headerLength = u8(this.headerLength)
    this.packType = u8(this.packType)
    this.objType = u8(this.objType)
    const crc = new Uint32Array(cap); crc.set(this.crc); this.crc = crc
    const base = new Int32Array(cap).fill(NO_BASE); base.set(this.base); this.base = base
    const oids = Buffer.alloc(cap * 20); this.oids.copy(oids); this.oids = oids
    this.capacity = cap
  }

  add(offset: number, packType: number, size: number, headerLength: number): number {
    if (this.count === this.capacity) this.grow()
    const i = this.count++
    this.offset[i] = offset
    this.packType[i] = packType
    this.size[i] = size
    this.headerLength[i] = headerLength
    return i
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
