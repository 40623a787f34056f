/**
 * Random access to a pack through its .idx: positional reads, delta chains
 * followed to a bounded depth, a small LRU of recently used delta bases.
 */
import { createHash } from 'node:crypto'
import { readSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { open, type FileHandle } from 'node:fs/promises'
import { MissingObjectError, PackError } from '../errors.js'
import type { GitObject, Oid } from '../oid.js'
import { applyDelta } from './delta.js'
import {
  OBJ_BLOB, OBJ_OFS_DELTA, OBJ_REF_DELTA, PACK_HEADER_SIZE, PACK_TRAILER_SIZE,
  isDeltaType, parseEntryHeader, parsePackHeader, typeName,
} from './format.js'
import { PackIndex } from './idx.js'
import { inflateChunked, inflateEntry, inflateTo } from './inflate.js'
import { readAt } from './tempfile.js'

export interface PackFileOptions {
  /** Supplies REF_DELTA bases that live outside this pack. */
  resolveExternal?: (oid: Oid) => Promise<GitObject | undefined>
  /** Bound on any object or delta read. Default 2 GiB. */
  maxObjectSize?: number
  /** Longest delta chain followed before the pack is declared corrupt. Default 10000. */
  maxDeltaDepth?: number
  /** Bytes of delta bases and trees kept in the LRU (counting the memory each one pins). Default 32 MiB. */
  cacheBytes?: number
  /** A pack up to this size is read whole once it is used a lot (within a budget shared by all packs). Default 32 MiB; 0: never. */
  wholePackBytes?: number
  /** Entries read one by one before the pack is read whole. Default 1024. */
  wholeAfterReads?: number
}

// Entries up to this size are read into one reused buffer (the compressed bytes
// are dead once inflated); bigger ones get a buffer of their own.
const SCRATCH_BYTES = 256 * 1024
/** The first read of an entry: its header, and all of most trees and commits. */
const FIRST_READ = 4096
/** Objects from this size on are inflated a chunk at a time (inflateChunked). */
const CHUNKED_BYTES = 4 * 1024 * 1024

/**
 * What a zlib stream of `size` bytes takes at most when written by zlib's deflate
 * (stored blocks, the worst case, add 5 bytes per 64 KiB), with room to spare; other
 * writers may take more, which costs readEntry a second read.
 */
function deflateBound(size: number): number {
  return size + Math.ceil(size / 1024) + 64
}

/**
 * A pack up to this size is read whole once WHOLE_AFTER_READS of its entries have been
 * read one by one, and its entries are then sliced out of memory: a walk reads thousands
 * of trees one after the other, and a read call each costs more than the inflate (git
 * maps its packs). Not on first use: a command that needs a commit and some trees (a
 * checkout, cat-file) would pay for reading all of it, mostly the page faults of a
 * fresh buffer (~11-13 ms for the 3.4 MB pack of a blob:none clone of expressjs/express,
 * whose checkout reads ~150 entries at ~10 µs each). A read each costs about as much as
 * the whole pack after a thousand or so. Bigger packs are read entry by entry.
 */
const WHOLE_PACK_BYTES = 32 * 1024 * 1024
const WHOLE_AFTER_READS = 1024
/** What all the packs held whole may take together (a repository may have hundreds of small packs). */
const WHOLE_PACKS_BUDGET = 64 * 1024 * 1024
let wholeBytesHeld = 0

/**
 * What keeping `data` alive costs: a small Buffer is a slice of a shared 8 KiB
 * pool, and holding it holds the whole pool (counting only its length let a
 * "32 MiB" cache pin 4x that).
 */
function retained(data: Buffer): number {
  return Math.max(data.length, data.buffer.byteLength)
}

class BaseCache {
  private readonly map = new Map<number, GitObject>()
  private bytes = 0
  constructor(private readonly limit: number) {}

  clear(): void {
    this.map.clear()
    this.bytes = 0
  }

  get(offset: number): GitObject | undefined {
    const hit = this.map.get(offset)
    if (hit) {
      this.map.delete(offset)
      this.map.set(offset, hit)
    }
    return hit
  }

  set(offset: number, obj: GitObject): void {
    if (obj.data.length > this.limit / 4 || this.map.has(offset)) return
    // A small result of applyDelta is a slice of a shared 8 KiB pool: keep a copy of
    // its own, or each entry would pin (and be counted as) a whole pool.
    if (obj.data.buffer.byteLength > 2 * obj.data.length + 64) {
      const own = Buffer.allocUnsafeSlow(obj.data.length)
      obj.data.copy(own)
      obj = { type: obj.type, data: own }
    }
    const cost = retained(obj.data)
    this.map.set(offset, obj)
    this.bytes += cost
    for (const [k, v] of this.map) {
      if (this.bytes <= this.limit) break
      this.map.delete(k)
      this.bytes -= retained(v.data)
    }
  }
}

export class PackFile {
  private readonly cache: BaseCache
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES)
  /** The whole pack, for a small one (WHOLE_PACK_BYTES, within WHOLE_PACKS_BUDGET), once read. */
  private whole: Buffer | undefined
  /** Entries read from the file one at a time so far (the pack is read whole after WHOLE_AFTER_READS). */
  private readsOneByOne = 0
  private readonly maxObjectSize: number
  private readonly maxDeltaDepth: number

  private constructor(
    readonly path: string,
    readonly index: PackIndex,
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly options: PackFileOptions,
  ) {
    this.cache = new BaseCache(options.cacheBytes ?? 32 * 1024 * 1024)
    this.maxObjectSize = options.maxObjectSize ?? 2 * 1024 * 1024 * 1024
    this.maxDeltaDepth = options.maxDeltaDepth ?? 10000
  }

  /**
   * Opens `<name>.pack` with its sibling `<name>.idx`, checking that they belong
   * together (object count, pack checksum). Nothing here reads every entry of the
   * index: opening costs the same for a pack of a thousand objects and one of ten
   * million (verify() is fsck's).
   */
  static async open(packPath: string, options: PackFileOptions = {}): Promise<PackFile> {
    if (!packPath.endsWith('.pack')) throw new PackError(`packfile name '${packPath}' does not end with '.pack'`)
    const index = await PackIndex.open(packPath.slice(0, -'.pack'.length) + '.idx')
    const handle = await open(packPath, 'r').catch((e: unknown) => {
      index.close()
      throw e
    })
    try {
      const { size } = await handle.stat()
      if (size < PACK_HEADER_SIZE + PACK_TRAILER_SIZE) throw new PackError(`${packPath} is too short to be a pack`)
      const count = parsePackHeader(await readAt(handle, 0, PACK_HEADER_SIZE))
      if (count !== index.count) throw new PackError(`${packPath} claims ${count} objects but its index has ${index.count}`)
      const trailer = await readAt(handle, size - PACK_TRAILER_SIZE, PACK_TRAILER_SIZE)
      if (!trailer.equals(index.packChecksum)) throw new PackError(`${packPath} does not match its index (checksum differs)`)
      return new PackFile(packPath, index, handle, size, options)
    } catch (e) {
      await handle.close()
      index.close()
      throw e
    }
  }

  private get fd(): number {
    return this.handle.fd
  }

  get count(): number {
    return this.index.count
  }

  has(oid: Oid | Buffer): boolean {
    return this.index.has(oid)
  }

  async read(oid: Oid | Buffer): Promise<GitObject | undefined> {
    const offset = this.index.find(oid)
    return offset === undefined ? undefined : this.readAt(offset)
  }

  /** The object whose entry starts at `offset`, with its delta chain applied. */
  async readAt(offset: number): Promise<GitObject> {
    const chain: { offset: number; delta: Buffer }[] = []
    let cur = offset
    let base: GitObject | undefined
    for (;;) {
      base = this.cache.get(cur)
      if (base) break
      if (chain.length > this.maxDeltaDepth) throw new PackError(`${this.path}: delta chain at offset ${offset} is deeper than ${this.maxDeltaDepth}`)
      const { packType, data, baseOffset, baseOid } = this.readEntry(cur)
      if (packType === OBJ_OFS_DELTA) {
        chain.push({ offset: cur, delta: data })
        cur = baseOffset as number
      } else if (packType === OBJ_REF_DELTA) {
        chain.push({ offset: cur, delta: data })
        const inPack = this.index.find(baseOid as Buffer)
        if (inPack !== undefined) {
          cur = inPack
          continue
        }
        const hex = (baseOid as Buffer).toString('hex')
        base = this.options.resolveExternal ? await this.options.resolveExternal(hex) : undefined
        if (!base) throw new MissingObjectError(hex, `delta base ${hex} missing (needed by offset ${cur} of ${this.path})`)
        break
      } else {
        base = { type: typeName(packType), data }
        if (chain.length > 0 || base.type === 'tree') this.cache.set(cur, base)
        break
      }
    }
    let obj = base
    for (let k = chain.length - 1; k >= 0; k--) {
      const link = chain[k] as { offset: number; delta: Buffer }
      obj = { type: obj.type, data: applyDelta(obj.data, link.delta, this.maxObjectSize) }
      // Intermediate results are bases by definition. A tree is also kept when it is
      // the answer: walks read trees more than once, and the next version of the same
      // directory is usually a delta against this one.
      if (k > 0 || obj.type === 'tree') this.cache.set(link.offset, obj)
    }
    return obj
  }

  /**
   * Reads and inflates the entry at `offset`. Where the entry ends is not looked up
   * (that needs every offset of the index, sorted): a first read of FIRST_READ bytes
   * holds the header, and the declared size bounds what a zlib stream of that size
   * usually takes; a stream that needs more is read again with twice the room, up to
   * the end of the pack. The reads are synchronous: readers want one object at a time
   * and the pack is usually in the page cache, where a thread-pool round trip costs
   * more than the read itself.
   */
  private readEntry(offset: number): { packType: number; data: Buffer; baseOffset?: number; baseOid?: Buffer } {
    const limit = this.size - PACK_TRAILER_SIZE
    if (!(offset >= PACK_HEADER_SIZE && offset < limit)) throw new PackError(`${this.path}: object offset ${offset} is outside the pack`)
    if (this.whole === undefined && this.readsOneByOne++ >= (this.options.wholeAfterReads ?? WHOLE_AFTER_READS) && this.size <= (this.options.wholePackBytes ?? WHOLE_PACK_BYTES) && wholeBytesHeld + this.size <= WHOLE_PACKS_BUDGET) {
      this.whole = this.readRange(Buffer.allocUnsafeSlow(this.size), 0, this.size)
      wholeBytesHeld += this.size
    }
    let entry = this.whole !== undefined ? this.whole.subarray(offset, limit) : this.readRange(this.scratch, offset, Math.min(FIRST_READ, limit - offset))
    const h = parseEntryHeader(entry, 0, offset)
    if (h === undefined) throw new PackError(`${this.path}: truncated object header at offset ${offset}`)
    if (h.size > this.maxObjectSize) throw new PackError(`${this.path}: object at offset ${offset} is too large (${h.size} bytes)`)
    let data: Buffer | undefined
    if (h.size >= CHUNKED_BYTES && this.whole === undefined) {
      // A large object: inflated from the file a chunk at a time, never held compressed whole.
      try {
        data = inflateChunked(h.size, this.chunksFrom(offset + h.headerLength, limit))
      } catch (e) {
        throw this.badObject(offset, e)
      }
    }
    for (let room = h.headerLength + deflateBound(h.size); data === undefined; room *= 2) {
      const want = Math.min(room, limit - offset)
      if (entry.length < want) entry = this.readRange(want <= SCRATCH_BYTES ? this.scratch : Buffer.allocUnsafe(want), offset, want)
      try {
        // a delta is dead once applied: small ones may share the pool
        data = inflateEntry(entry, h.size, undefined, isDeltaType(h.packType), h.headerLength).data
      } catch (e) {
        if ((e as { code?: unknown }).code === 'Z_BUF_ERROR' && entry.length < limit - offset) continue
        throw this.badObject(offset, e)
      }
    }
    if (data.length !== h.size) throw new PackError(`${this.path}: object at offset ${offset} inflates to ${data.length} bytes, header says ${h.size}`)
    return { packType: h.packType, data, ...(h.baseOffset !== undefined ? { baseOffset: h.baseOffset } : {}), ...(h.baseOid ? { baseOid: h.baseOid } : {}) }
  }

  /**
   * The blob at `offset` when it is stored whole (not as a delta) and is at least
   * CHUNKED_BYTES: its size, and a function that inflates it into `write` a chunk at a
   * time (a big file checked out without holding it). Undefined otherwise: read it.
   */
  largeBlobAt(offset: number): { size: number; writeTo(write: (chunk: Buffer) => void): void } | undefined {
    const limit = this.size - PACK_TRAILER_SIZE
    // A pack smaller than that holds no such object: no read for the asking.
    if (this.whole !== undefined || this.size < CHUNKED_BYTES || !(offset >= PACK_HEADER_SIZE && offset < limit)) return undefined
    // The entry header is a few bytes (a blob's: its type and size).
    const h = parseEntryHeader(this.readRange(this.scratch, offset, Math.min(32, limit - offset)), 0, offset)
    if (h === undefined || h.packType !== OBJ_BLOB || h.size < CHUNKED_BYTES) return undefined
    if (h.size > this.maxObjectSize) throw new PackError(`${this.path}: object at offset ${offset} is too large (${h.size} bytes)`)
    const size = h.size
    return {
      size,
      writeTo: (write) => {
        let produced: number
        try {
          produced = inflateTo(size, this.chunksFrom(offset + h.headerLength, limit), write)
        } catch (e) {
          throw this.badObject(offset, e)
        }
        if (produced !== size) throw new PackError(`${this.path}: object at offset ${offset} inflates to ${produced} bytes, header says ${size}`)
      },
    }
  }

  /**
   * fsck's check of the pack as a whole (what opening leaves out): the index by
   * PackIndex.problem, and the pack's content against its trailer checksum, read in
   * chunks. Undefined when both are sound, else what is wrong with each.
   */
  async verify(): Promise<{ index?: string; pack?: string } | undefined> {
    const problems: { index?: string; pack?: string } = {}
    const indexProblem = this.index.problem()
    if (indexProblem !== undefined) problems.index = indexProblem
    const hash = createHash('sha1')
    const chunk = Buffer.allocUnsafe(1 << 20)
    const end = this.size - PACK_TRAILER_SIZE
    for (let at = 0; at < end; ) {
      const n = Math.min(chunk.length, end - at)
      this.readRange(chunk, at, n)
      hash.update(chunk.subarray(0, n))
      at += n
    }
    if (!hash.digest().equals(this.index.packChecksum)) problems.pack = 'pack checksum mismatch'
    return problems.index === undefined && problems.pack === undefined ? undefined : problems
  }

  /**
   * The entries whose bytes differ from the CRC32 the index records for them, in pack
   * order, each with the error reading it gives, if it gives one, and for a delta
   * where its delta data starts: what git's verify_pack names after a pack checksum
   * mismatch ("index CRC mismatch for object"). Reads the whole pack; for fsck, once
   * the checksum says something is wrong.
   */
  async damagedEntries(): Promise<{ oid: Oid; offset: number; error?: Error; deltaAt?: number }[]> {
    const entries = [...this.index.entries()].sort((a, b) => a.offset - b.offset)
    const end = this.size - PACK_TRAILER_SIZE
    const chunk = Buffer.allocUnsafe(1 << 20)
    const out: { oid: Oid; offset: number; error?: Error; deltaAt?: number }[] = []
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as { oid: string; offset: number; crc32: number }
      const next = Math.min((entries[k + 1]?.offset ?? end), end)
      let crc = 0
      for (let at = e.offset; at < next; ) {
        const n = Math.min(chunk.length, next - at)
        crc = crc32(this.readRange(chunk, at, n), crc)
        at += n
      }
      if (crc >>> 0 === e.crc32 >>> 0) continue
      let error: Error | undefined
      try {
        await this.readAt(e.offset)
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err))
      }
      const h = parseEntryHeader(this.readRange(chunk, e.offset, Math.min(FIRST_READ, end - e.offset)), 0, e.offset)
      const deltaAt = h !== undefined && isDeltaType(h.packType) ? e.offset + h.headerLength : undefined
      out.push({ oid: e.oid, offset: e.offset, ...(error === undefined ? {} : { error }), ...(deltaAt === undefined ? {} : { deltaAt }) })
    }
    return out
  }

  /** The pack's bytes from `at` up to `limit`, as inflateChunked and inflateTo read them: each call fills the chunk it is given. */
  private chunksFrom(at: number, limit: number): (chunk: Buffer) => number {
    return (chunk) => {
      const n = Math.min(chunk.length, limit - at)
      if (n <= 0) return 0
      this.readRange(chunk, at, n)
      at += n
      return n
    }
  }

  private badObject(offset: number, e: unknown): PackError {
    return new PackError(`${this.path}: bad object at offset ${offset}: ${(e as Error).message}`, { cause: e })
  }

  /** `length` bytes at `offset` of the pack, into `into`. */
  private readRange(into: Buffer, offset: number, length: number): Buffer {
    let done = 0
    while (done < length) {
      const n = readSync(this.fd, into, done, length - done, offset + done)
      if (n === 0) throw new PackError(`${this.path}: pack file ended inside the object at offset ${offset}`)
      done += n
    }
    return into.subarray(0, length)
  }

  /** Lets go of the cached bases and trees, and of the pack read whole (before work that needs the memory more). */
  dropCache(): void {
    this.cache.clear()
    this.releaseWhole()
  }

  private releaseWhole(): void {
    if (this.whole === undefined) return
    this.whole = undefined
    wholeBytesHeld -= this.size
  }

  async close(): Promise<void> {
    this.releaseWhole()
    this.index.close()
    await this.handle.close()
  }
}
