/**
 * Writing a pack index version 2 that matches `git index-pack`'s byte for byte,
 * from the columns the indexer keeps (idx-format.ts has the layout).
 */
import { createHash } from 'node:crypto'
import { PackError } from '../errors.js'
import { FANOUT_SIZE, HASH_SIZE, HEADER_SIZE, IDX_MAGIC, LARGE_OFFSET_FLAG, LITTLE_ENDIAN } from './idx-format.js'

/** Offsets at or past 2^31 do not fit the 31 bits of the main table. */
function needsLargeOffset(offset: number): boolean {
  return offset >= LARGE_OFFSET_FLAG
}

/** The objects of a pack as columns: entry i's id is oids[20i, 20i+20). */
export interface IdxColumns {
  count: number
  oids: Buffer
  offsets: ArrayLike<number>
  crcs: ArrayLike<number>
}

/** Insertion sort below this many ids in one bucket. */
const SMALL_BUCKET = 16

/**
 * The positions of the first `n` ids in `oids` (20 bytes each), in the order of
 * the ids, equal ids by offset; `fanout` gets the idx's fanout table (ids whose first
 * byte is at most i). Counted into buckets by their leading bits, about as
 * many buckets as ids (256 to 65536), then each bucket sorted: object ids are uniform,
 * so a bucket holds one or two ids and the sort is linear. A fixed 65536 buckets made
 * a small pack pay for walking them (10 ms for 20 objects, before the JIT warms up);
 * a comparator sort over all ids cost ~1 µs per object. Ids crafted to share a prefix
 * only make their bucket a comparator sort.
 */
function sortedOrder(oids: Buffer, offsets: ArrayLike<number>, n: number, fanout: Uint32Array): Uint32Array {
  const bits = n <= 256 ? 8 : Math.min(16, 32 - Math.clz32(n - 1))
  const shift = 16 - bits
  const buckets = 1 << bits
  const bucketOf = new Uint32Array(n)
  const start = new Uint32Array(buckets + 1)
  for (let i = 0, p = 0; i < n; i++, p += HASH_SIZE) {
    const b = (((oids[p] as number) << 8) | (oids[p + 1] as number)) >>> shift
    bucketOf[i] = b
    start[b + 1]!++
  }
  for (let b = 0; b < buckets; b++) start[b + 1]! += start[b] as number
  // A bucket's ids share their first byte: the fanout is read off the bucket boundaries.
  for (let byte = 0; byte < 256; byte++) fanout[byte] = start[(byte + 1) << (bits - 8)] as number
  const next = start.slice(0, buckets)
  const order = new Uint32Array(n)
  // In index order, so equal ids stay in pack order (by offset).
  for (let i = 0; i < n; i++) order[next[bucketOf[i] as number]!++] = i
  // The ids of a bucket agree on their first bits/8 bytes. Byte by byte in JS: they
  // usually differ in the next byte, and a call into Buffer.compare costs more than that.
  const from0 = bits >>> 3
  const compare = (a: number, b: number): number => {
    for (let k = from0, pa = a * HASH_SIZE, pb = b * HASH_SIZE; k < HASH_SIZE; k++) {
      const d = (oids[pa + k] as number) - (oids[pb + k] as number)
      if (d !== 0) return d
    }
    return (offsets[a] as number) - (offsets[b] as number)
  }
  for (let b = 0; b < buckets; b++) {
    const from = start[b] as number
    const to = start[b + 1] as number
    if (to - from < 2) continue
    if (to - from > SMALL_BUCKET) {
      order.subarray(from, to).sort(compare)
      continue
    }
    for (let k = from + 1; k < to; k++) {
      const v = order[k] as number
      let j = k - 1
      for (; j >= from && compare(order[j] as number, v) > 0; j--) order[j + 1] = order[j] as number
      order[j + 1] = v
    }
  }
  return order
}

/** A view of `b[at, at + 4 * words)` as native-endian words, when it is 4-byte aligned. */
function wordsAt(b: Buffer, at: number, words: number): Uint32Array | undefined {
  return (b.byteOffset + at) % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset + at, words) : undefined
}

function alignedCopy(b: Buffer, length: number): Buffer {
  const copy = Buffer.alloc(length)
  b.copy(copy, 0, 0, length)
  return copy
}

/**
 * Builds an .idx v2 for a pack's objects, given as columns (which is what the
 * indexer has: a pack of a million objects costs no million JS objects and Buffer
 * views to describe and sort), in any order. Objects are sorted by id; ties (the
 * same object twice, which git tolerates without --strict) by offset.
 */
export function writeIdxV2Columns(cols: IdxColumns, packChecksum: Buffer): Buffer {
  if (packChecksum.length !== HASH_SIZE) throw new PackError('pack checksum must be 20 bytes')
  const { count: n, oids, offsets, crcs } = cols
  if (oids.length < n * HASH_SIZE) throw new PackError('object id must be 20 bytes')
  let large = 0
  for (let i = 0; i < n; i++) {
    const offset = offsets[i] as number
    if (!Number.isSafeInteger(offset) || offset < 0) throw new PackError(`invalid pack offset ${offset}`)
    if (needsLargeOffset(offset)) large++
  }
  const fanout = new Uint32Array(256)
  const order = sortedOrder(oids, offsets, n, fanout)
  const size = HEADER_SIZE + FANOUT_SIZE + n * (HASH_SIZE + 4 + 4) + large * 8 + 2 * HASH_SIZE
  // Buffer.alloc never hands out a slice of the pool: the table starts word-aligned, and
  // every section up to the large offsets is a whole number of words.
  const out = Buffer.alloc(size)
  IDX_MAGIC.copy(out, 0)
  out.writeUInt32BE(2, 4)
  const words = wordsAt(out, HEADER_SIZE, (FANOUT_SIZE + n * (HASH_SIZE + 8)) / 4)
  if (words === undefined) throw new Error('idx buffer is not word-aligned')
  // Ids are copied a word (4 of their bytes) at a time; from an aligned copy if need be.
  const from = wordsAt(oids, 0, n * 5) ?? (wordsAt(alignedCopy(oids, n * HASH_SIZE), 0, n * 5) as Uint32Array)
  // Fanout, CRCs and offsets go in as native-endian words and are turned big-endian by
  // one native pass per section; the ids, copied as bytes are, stay as they are.
  words.set(fanout, 0)
  const idWords = 256
  const crcWords = idWords + n * 5
  const offsetWords = crcWords + n
  let nextLarge = 0
  for (let k = 0, d = idWords; k < n; k++, d += 5) {
    const i = order[k] as number
    const s = i * 5
    words[d] = from[s] as number
    words[d + 1] = from[s + 1] as number
    words[d + 2] = from[s + 2] as number
    words[d + 3] = from[s + 3] as number
    words[d + 4] = from[s + 4] as number
    words[crcWords + k] = crcs[i] as number
    const offset = offsets[i] as number
    words[offsetWords + k] = needsLargeOffset(offset) ? (LARGE_OFFSET_FLAG | nextLarge++) >>> 0 : offset
  }
  if (LITTLE_ENDIAN) {
    out.subarray(HEADER_SIZE, HEADER_SIZE + FANOUT_SIZE).swap32()
    out.subarray(HEADER_SIZE + FANOUT_SIZE + n * HASH_SIZE, HEADER_SIZE + FANOUT_SIZE + n * (HASH_SIZE + 8)).swap32()
  }
  let pos = HEADER_SIZE + FANOUT_SIZE + n * (HASH_SIZE + 8)
  if (large > 0) {
    for (let k = 0; k < n; k++) {
      const offset = offsets[order[k] as number] as number
      if (!needsLargeOffset(offset)) continue
      out.writeUInt32BE(Math.floor(offset / 2 ** 32), pos)
      out.writeUInt32BE(offset >>> 0, pos + 4)
      pos += 8
    }
  }
  packChecksum.copy(out, pos)
  pos += HASH_SIZE
  createHash('sha1').update(out.subarray(0, pos)).digest().copy(out, pos)
  return out
}
