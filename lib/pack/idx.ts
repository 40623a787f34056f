/**
 * Reading a pack index version 2 from disk (or a buffer) with every structural
 * invariant git checks on open checked first, and looking objects up in it.
 * idx-format.ts has the layout; idx-write.ts writes one.
 */
import { createHash } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { PackError } from '../errors.js'
import { oidWords } from '../oid.js'
import { FANOUT_SIZE, HASH_SIZE, HEADER_SIZE, IDX_MAGIC, LARGE_OFFSET_FLAG, LITTLE_ENDIAN } from './idx-format.js'

/** Where an index's bytes are read from: its file (positional reads) or a buffer. */
interface IdxSource {
  readonly size: number
  /** `length` bytes at `at` into `into` (which it returns). */
  read(into: Buffer, at: number, length: number): Buffer
  close(): void
}

function bufferSource(buf: Buffer): IdxSource {
  return {
    size: buf.length,
    read: (into, at, length) => {
      buf.copy(into, 0, at, at + length)
      return into.subarray(0, length)
    },
    close: () => undefined,
  }
}

function fileSource(path: string): IdxSource {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    // A small index is read at once: one read instead of one per bucket looked at.
    if (size <= WHOLE_READ_BYTES) {
      const whole = Buffer.allocUnsafe(size)
      readFully(fd, whole, 0, size, path)
      closeSync(fd)
      return bufferSource(whole)
    }
    return { size, read: (into, at, length) => readFully(fd, into, at, length, path), close: () => closeSync(fd) }
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

function readFully(fd: number, into: Buffer, at: number, length: number, path: string): Buffer {
  let done = 0
  while (done < length) {
    const n = readSync(fd, into, done, length - done, at + done)
    if (n === 0) throw new PackError(`corrupt pack index ${path}: file ended early`)
    done += n
  }
  return into.subarray(0, length)
}

/** An index up to this size is read whole when opened; larger ones a fan-out bucket at a time. */
const WHOLE_READ_BYTES = 256 * 1024

/** `count` big-endian 32-bit words of the source at `at` into `into` from word `to` on, with the bytes' order (byte-swapped natively where needed). */
function readWords(source: IdxSource, at: number, count: number, into: Uint32Array, to: number): void {
  const bytes = Buffer.from(into.buffer, into.byteOffset + to * 4, count * 4)
  source.read(bytes, at, count * 4)
  if (LITTLE_ENDIAN) bytes.swap32()
}

/**
 * An .idx v2, checked on open as git does (header, fan-out table, sizes); verify()
 * checks the rest. Like git's mmap, opening reads only the first 1 KiB and the
 * checksums: the names and offsets of a fan-out bucket (ids sharing a first byte)
 * are read when a lookup first needs them, and kept (24 bytes per object once all
 * are). A command that looks up one object in a pack of millions reads a few KiB.
 */
export class PackIndex {
  readonly count: number
  readonly packChecksum: Buffer
  readonly idxChecksum: Buffer
  private readonly source: IdxSource
  private readonly namesAt: number
  private readonly crcAt: number
  private readonly offsetsAt: number
  private readonly largeAt: number
  private readonly largeCount: number
  private readonly path: string
  /** The fan-out table: how many ids start with each byte value or less. */
  private readonly fanout: Uint32Array
  /**
   * The name table as big-endian 32-bit words, five per object, filled a bucket at a
   * time (`loaded`): a probe is a few integer compares in JS instead of a native
   * Buffer.compare call (walks and batch checks make millions of lookups). Memory the
   * buckets not read yet would take is allocated but never touched.
   */
  private readonly words: Uint32Array
  /** The offset table's raw values (with the large-offset flag), filled with the names. */
  private readonly rawOffsets: Uint32Array
  /** By bucket: 1 once its names and offsets are in words and rawOffsets. */
  private readonly loaded = new Uint8Array(256)
  private readonly key = new Uint32Array(5)

  private constructor(source: IdxSource, path: string) {
    const fail = (why: string): never => {
      source.close()
      throw new PackError(`corrupt pack index ${path}: ${why}`)
    }
    const size = source.size
    if (size < HEADER_SIZE + FANOUT_SIZE + 2 * HASH_SIZE) fail('file is too short')
    const head = source.read(Buffer.allocUnsafe(HEADER_SIZE + FANOUT_SIZE), 0, HEADER_SIZE + FANOUT_SIZE)
    if (!head.subarray(0, 4).equals(IDX_MAGIC)) fail('not a version 2 index (bad magic)')
    const version = head.readUInt32BE(4)
    if (version !== 2) fail(`unsupported index version ${version}`)
    const fanout = new Uint32Array(256)
    let prev = 0
    for (let i = 0; i < 256; i++) {
      const v = head.readUInt32BE(HEADER_SIZE + i * 4)
      if (v < prev) fail('fan-out table is not monotonic')
      fanout[i] = v
      prev = v
    }
    const n = prev
    const minSize = HEADER_SIZE + FANOUT_SIZE + n * (HASH_SIZE + 8) + 2 * HASH_SIZE
    if (size < minSize) fail(`file is too short for ${n} objects`)
    const extra = size - minSize
    if (extra % 8 !== 0 || extra / 8 > n) fail('file size does not match its object count')
    this.source = source
    this.path = path
    this.count = n
    this.fanout = fanout
    this.namesAt = HEADER_SIZE + FANOUT_SIZE
    this.crcAt = this.namesAt + n * HASH_SIZE
    this.offsetsAt = this.crcAt + n * 4
    this.largeAt = this.offsetsAt + n * 4
    this.largeCount = extra / 8
    const sums = source.read(Buffer.allocUnsafe(2 * HASH_SIZE), size - 2 * HASH_SIZE, 2 * HASH_SIZE)
    this.packChecksum = Buffer.from(sums.subarray(0, HASH_SIZE))
    this.idxChecksum = Buffer.from(sums.subarray(HASH_SIZE))
    this.words = new Uint32Array(n * 5)
    this.rawOffsets = new Uint32Array(n)
  }

  static async open(path: string): Promise<PackIndex> {
    return new PackIndex(fileSource(path), path)
  }

  static fromBuffer(buf: Buffer, source = '<buffer>'): PackIndex {
    return new PackIndex(bufferSource(buf), source)
  }

  /** Lets go of the file (lookups that need a bucket not read yet fail afterwards). */
  close(): void {
    this.source.close()
  }

  /** Index of the first entry of bucket `b`. */
  private bucketStart(b: number): number {
    return b === 0 ? 0 : (this.fanout[b - 1] as number)
  }

  /** Reads bucket `b`'s names and offsets into words and rawOffsets. */
  private load(b: number): void {
    const lo = this.bucketStart(b)
    const n = (this.fanout[b] as number) - lo
    readWords(this.source, this.namesAt + lo * HASH_SIZE, n * 5, this.words, lo * 5)
    readWords(this.source, this.offsetsAt + lo * 4, n, this.rawOffsets, lo)
    this.loaded[b] = 1
  }

  /** The bucket entry `i` is in. */
  private bucketOf(i: number): number {
    let lo = 0
    let hi = 255
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.fanout[mid] as number) > i) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /**
   * What opening leaves to fsck, as git does: the trailer checksum, names sorted and
   * placed where the fan-out says, large-offset indexes in range. Each is O(objects).
   * Lookups stay in bounds without them: a search never leaves its fan-out bucket, and
   * offsetAt checks a large-offset index before it follows it.
   */
  verify(): void {
    const why = this.problem()
    if (why !== undefined) throw new PackError(`corrupt pack index ${this.path}: ${why}`)
  }

  /** What verify() finds wrong, if anything: 'index checksum mismatch' or a fault of the tables. */
  problem(): string | undefined {
    const body = this.source.size - HASH_SIZE
    const hash = createHash('sha1')
    const chunk = Buffer.allocUnsafe(1 << 20)
    for (let at = 0; at < body; at += chunk.length) hash.update(this.source.read(chunk, at, Math.min(chunk.length, body - at)))
    if (!hash.digest().equals(this.idxChecksum)) return 'index checksum mismatch'
    for (let b = 0; b < 256; b++) if (this.loaded[b] === 0) this.load(b)
    const { words, fanout } = this
    for (let i = 0, w = 0; i < this.count; i++, w += 5) {
      if (i > 0) {
        let k = 0
        while (k < 5 && words[w - 5 + k] === words[w + k]) k++
        if (k < 5 && (words[w - 5 + k] as number) > (words[w + k] as number)) return 'object names are not sorted'
      }
      const first = (words[w] as number) >>> 24
      const lo = first === 0 ? 0 : (fanout[first - 1] as number)
      if (i < lo || i >= (fanout[first] as number)) return 'fan-out table disagrees with object names'
      const raw = this.rawOffsets[i] as number
      if (raw & LARGE_OFFSET_FLAG && (raw & ~LARGE_OFFSET_FLAG) >>> 0 >= this.largeCount) return 'large offset index out of range'
    }
    return undefined
  }

  /** Position of `oid` in the sorted name table, or -1. */
  private position(oid: string | Buffer): number {
    const key = this.key
    return oidWords(oid, key) ? this.positionOfWords(key) : -1
  }

  /** Whether the pack holds the object whose id oidWords turned into `key`. */
  hasWords(key: Uint32Array): boolean {
    return this.positionOfWords(key) >= 0
  }

  /** Position of the id given as five words (see oidWords), or -1. */
  private positionOfWords(key: Uint32Array): number {
    const i = this.lowerBound(key)
    return i < (this.fanout[(key[0] as number) >>> 24] as number) && this.compareAt(i, key) === 0 ? i : -1
  }

  /** The first position in the key's fan-out bucket whose id is not below `key` (the bucket's end if none). */
  private lowerBound(key: Uint32Array): number {
    const b = (key[0] as number) >>> 24
    let lo = this.bucketStart(b)
    let hi = this.fanout[b] as number
    if (lo < hi && this.loaded[b] === 0) this.load(b)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compareAt(mid, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** The id at position `i` against `key`, word by word: negative, zero or positive. */
  private compareAt(i: number, key: Uint32Array): number {
    const words = this.words
    const base = i * 5
    for (let k = 0; k < 5; k++) {
      const a = words[base + k] as number
      const v = key[k] as number
      if (a !== v) return a < v ? -1 : 1
    }
    return 0
  }

  /** Entry `i`'s id as hex, through `out` (20 bytes). */
  private hexAt(i: number, out: Buffer): string {
    for (let k = 0; k < 5; k++) out.writeUInt32BE(this.words[i * 5 + k] as number, 4 * k)
    return out.toString('hex')
  }

  /** Pack offset of `oid`, or undefined when this pack does not hold it. */
  find(oid: string | Buffer): number | undefined {
    const i = this.position(oid)
    return i < 0 ? undefined : this.offsetAt(i)
  }

  has(oid: string | Buffer): boolean {
    return this.position(oid) >= 0
  }

  crc32Of(oid: string | Buffer): number | undefined {
    const i = this.position(oid)
    return i < 0 ? undefined : this.crc32At(i)
  }

  /** Makes sure entry `i`'s bucket is read. */
  private need(i: number): void {
    const b = this.bucketOf(i)
    if (this.loaded[b] === 0) this.load(b)
  }

  oidAt(i: number): string {
    this.need(i)
    return this.hexAt(i, Buffer.allocUnsafe(HASH_SIZE))
  }

  offsetAt(i: number): number {
    this.need(i)
    const raw = this.rawOffsets[i] as number
    if ((raw & LARGE_OFFSET_FLAG) === 0) return raw
    const large = (raw & ~LARGE_OFFSET_FLAG) >>> 0
    if (large >= this.largeCount) throw new PackError(`corrupt pack index ${this.path}: large offset index out of range`)
    const pair = this.source.read(Buffer.allocUnsafe(8), this.largeAt + large * 8, 8)
    return pair.readUInt32BE(0) * 2 ** 32 + pair.readUInt32BE(4)
  }

  crc32At(i: number): number {
    return this.source.read(Buffer.allocUnsafe(4), this.crcAt + i * 4, 4).readUInt32BE(0)
  }

  /** Up to `limit` object ids starting with the hex `prefix` (for abbreviated names). */
  matchPrefix(prefix: string, limit = 2): string[] {
    if (!/^[0-9a-f]{1,40}$/.test(prefix)) return []
    const key = this.key
    oidWords(prefix.padEnd(40, '0'), key)
    const out: string[] = []
    // from the zero-padded prefix on; the ids that start with it may run past its bucket
    for (let i = this.lowerBound(key); i < this.count && out.length < limit; i++) {
      const oid = this.oidAt(i)
      if (!oid.startsWith(prefix)) break
      out.push(oid)
    }
    return out
  }

  /** Entries in object-id order. */
  *entries(): Generator<{ oid: string; offset: number; crc32: number }> {
    let i = 0
    for (const oid of this.oids()) {
      yield { oid, offset: this.offsetAt(i), crc32: this.crc32At(i) }
      i++
    }
  }

  /** Every id in order, a bucket at a time. */
  *oids(): Generator<string> {
    const out = Buffer.allocUnsafe(HASH_SIZE)
    for (let b = 0; b < 256; b++) {
      const lo = this.bucketStart(b)
      const hi = this.fanout[b] as number
      if (lo === hi) continue
      if (this.loaded[b] === 0) this.load(b)
      for (let i = lo; i < hi; i++) yield this.hexAt(i, out)
    }
  }
}
