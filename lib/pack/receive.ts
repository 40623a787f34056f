/**
 * The receiving half of index-pack: parses a pack as its bytes arrive,
 * computing the pack's SHA-1, each entry's CRC32, and the id of every
 * non-delta object, without keeping any object once it is hashed.
 *
 * Where an entry's zlib stream ends is only known by inflating it, so small
 * entries are inflated in one call over the bytes at hand (retried, with the
 * amount needed doubled, when they are not yet all here) and entries that are
 * large, or whose compressed data is, go through a streaming inflater so
 * memory is bounded by a chunk rather than by the object.
 *
 * Over 400 lines, and whole on purpose: PackReceiver is one state machine over one
 * input buffer. Both ways of inflating an entry move the same cursor (buf, pos,
 * offset), the same run of bytes not yet in the pack's SHA-1 and the same entry
 * table; apart, each half would have to hand the other all of that on every entry.
 */
import { createHash, type Hash } from 'node:crypto'
import { crc32, createInflate, type Inflate } from 'node:zlib'
import { PackError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { checkDelta, writeDelta } from './delta.js'
import { EntryTable, NO_BASE } from './entries.js'
import { inflateEntry, type Inflated } from './inflate.js'
import {
  HEADER_ROOM, OBJ_OFS_DELTA, OBJ_REF_DELTA, PACK_HEADER_SIZE, PACK_TRAILER_SIZE,
  hashInRoom, hashObject, isDeltaType, objectHasher, parseEntryHeader, parsePackHeader, typeName, type EntryHeader,
} from './format.js'
import { RecentObjects } from './recent.js'
import type { ObjectObserver } from '../oid.js'

export const DEFAULT_MAX_OBJECT_SIZE = 2 * 1024 * 1024 * 1024
export const DEFAULT_STREAMING_THRESHOLD = 64 * 1024 * 1024

/**
 * Objects just received are kept in a ring of this size (recent.ts): in packs from git,
 * a delta's base is nearly always within the few MiB of objects before it.
 */
const DEFAULT_RECENT_BYTES = 2 * 1024 * 1024

/** What a caller may bound of the receiving half; the rest of ReceiveLimits has defaults. */
export interface ReceiveOptions {
  /** Bound on any single object, delta, or delta result. Default 2 GiB. */
  maxObjectSize?: number
  /** Bound on the object count the pack header may claim. Default 2^32 - 1. */
  maxObjects?: number
  /** Entries whose inflated size exceeds this are inflated as a stream. Default 64 MiB. */
  streamingThreshold?: number
  /** Memory for the objects just received, so that deltas on them are resolved as they arrive. Default 2 MiB; 0 turns it off. */
  recentBytes?: number
  /**
   * Told of objects as they arrive (ObjectObserver): every whole object but those
   * inflated as a stream (above streamingThreshold), and deltas resolved on arrival
   * (their bases recent); not the deltas left for the second pass.
   */
  onObject?: ObjectObserver
}

export function receiveLimits(options: ReceiveOptions): ReceiveLimits {
  return {
    maxObjectSize: options.maxObjectSize ?? DEFAULT_MAX_OBJECT_SIZE,
    maxObjects: options.maxObjects ?? 0xffffffff,
    streamingThreshold: options.streamingThreshold ?? DEFAULT_STREAMING_THRESHOLD,
    recentBytes: options.recentBytes ?? DEFAULT_RECENT_BYTES,
  }
}

export interface ReceiveLimits {
  maxObjectSize: number
  maxObjects: number
  streamingThreshold: number
  /** Memory for the objects just received, so their deltas are resolved on arrival (recent.ts). 0: none. */
  recentBytes: number
}

const EMPTY = Buffer.alloc(0)

/** The entry table is sized for the objects the header announces, up to this many (more grow it as they come). */
const PRESIZE_MAX = 4 * 1024 * 1024

/** Largest buffer kept for joining what arrives (see join). */
const STAGING_MAX = 4 * 1024 * 1024

interface StreamingEntry {
  index: number
  offset: number
  size: number
  inflater: Inflate
  hasher: Hash | undefined
  crc: number
  out: number
  fed: number
  error: Error | undefined
}

function zlibCode(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code
}

export class PackReceiver {
  readonly entries: EntryTable = new EntryTable(0)
  objectCount = 0
  deltaCount = 0
  /** Deltas resolved as they arrived, their bases being among the recent objects. */
  resolvedOnArrival = 0
  bytes = 0
  trailer: Buffer | undefined

  private phase: 'header' | 'entries' | 'trailer' | 'done' = 'header'
  private buf: Buffer = EMPTY
  private pos = 0
  private queue: Buffer[] = []
  private queued = 0
  private want = PACK_HEADER_SIZE
  /** Pack offset of buf[pos]. */
  private offset = 0
  private readonly packHash = createHash('sha1')
  private streaming: StreamingEntry | undefined
  private lastPercent = -1
  private lastBytes = 0
  /**
   * Entries are inflated only to be hashed (or measured, for deltas): one buffer serves
   * them all. They go in after HEADER_ROOM bytes, so that header and object are hashed
   * in one call.
   */
  private readonly scratch = Buffer.allocUnsafe(HEADER_ROOM + 256 * 1024)
  private readonly inflateInto = this.scratch.subarray(HEADER_ROOM)
  /** buf[hashedTo..pos) is consumed but not yet in packHash (hashed a run at a time, not per entry). */
  private hashedTo = 0
  private readonly recent: RecentObjects | undefined
  /** The two buffers join copies into, alternately. */
  private readonly staging: (Buffer | undefined)[] = [undefined, undefined]

  constructor(
    private readonly limits: ReceiveLimits,
    private readonly progress?: ProgressSink,
    private readonly title = 'Receiving objects',
    private readonly onObject?: ObjectObserver,
  ) {
    this.recent = limits.recentBytes > 0 ? new RecentObjects(limits.recentBytes) : undefined
  }

  /** The whole pack, trailer included, has been parsed and its checksum verified. */
  get complete(): boolean {
    return this.phase === 'done'
  }

  /** The next chunks of the pack, parsed together (one parse call, not one per chunk). */
  async pushAll(chunks: readonly Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      this.bytes += chunk.length
      let rest: Buffer | undefined = chunk
      if (this.streaming) {
        rest = await this.feedStreaming(chunk)
        if (rest === undefined) continue
      }
      if (rest.length > 0) {
        this.queue.push(rest)
        this.queued += rest.length
      }
    }
    if (this.buf.length - this.pos + this.queued >= this.want || this.phase === 'done') await this.parse(false).catch((e: unknown) => this.explain(e))
  }

  /**
   * The input ended: parses whatever is at hand, even short of what the next step
   * wants. A pack that is not `complete` then is one whose bytes ran out (the input was
   * cut) where they parsed: what is wrong in the bytes that came, as far as they go, has thrown.
   */
  async endOfInput(): Promise<void> {
    if (this.streaming !== undefined && this.streaming.error === undefined) await this.closeStreaming().catch((e: unknown) => this.explain(e))
    if (this.streaming === undefined) await this.parse(false).catch((e: unknown) => this.explain(e))
  }

  /** Stops a streaming entry that will get no more input. */
  abandon(): void {
    this.streaming?.inflater.destroy()
    this.streaming = undefined
  }

  /** The input ended: everything must have been consumed exactly. */
  async finish(): Promise<void> {
    if (this.streaming) {
      const s = this.streaming
      this.streaming = undefined
      s.inflater.destroy()
      throw new PackError(`pack is truncated: object at offset ${s.offset} is incomplete`)
    }
    await this.parse(true).catch((e: unknown) => this.explain(e))
    if (this.phase !== 'done') throw new PackError('pack is truncated')
    this.emitProgress(true)
  }

  /** Adds what was consumed of buf since the last call to the pack's checksum. */
  private hashConsumed(): void {
    if (this.pos > this.hashedTo) this.packHash.update(this.buf.subarray(this.hashedTo, this.pos))
    this.hashedTo = this.pos
  }

  private coalesce(): void {
    if (this.queue.length === 0) return
    this.hashConsumed()
    this.hashedTo = 0
    const head = this.buf.subarray(this.pos)
    this.buf = head.length === 0 && this.queue.length === 1 ? (this.queue[0] as Buffer) : this.join(head, this.queue)
    this.pos = 0
    this.queue = []
    this.queued = 0
  }

  /**
   * head and the queued chunks in one buffer: one of two kept for this, the one buf
   * is not in, so the copy lands in memory already touched (a fresh buffer per call
   * costs a page fault per 4 KiB, as much as the copy itself). Nothing outside
   * parse keeps a view of buf. Joins larger than STAGING_MAX get a buffer of their own.
   */
  private join(head: Buffer, chunks: Buffer[]): Buffer {
    const size = head.length + this.queued
    if (size > STAGING_MAX) return Buffer.concat([head, ...chunks])
    const which = this.staging[0] !== undefined && this.buf.buffer === this.staging[0].buffer ? 1 : 0
    let target = this.staging[which]
    if (target === undefined || target.length < size) {
      target = Buffer.allocUnsafeSlow(Math.min(STAGING_MAX, Math.max(size, 2 * (target?.length ?? 32 * 1024))))
      this.staging[which] = target
    }
    let at = head.copy(target, 0)
    for (const c of chunks) at += c.copy(target, at)
    return target.subarray(0, size)
  }

  private consume(n: number): Buffer {
    const bytes = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    this.offset += n
    return bytes
  }

  private async parse(final: boolean): Promise<void> {
    this.coalesce()
    for (;;) {
      const avail = this.buf.length - this.pos
      switch (this.phase) {
        case 'header': {
          if (avail < PACK_HEADER_SIZE) {
            if (final) throw new PackError('pack is truncated: incomplete pack header')
            this.want = PACK_HEADER_SIZE
            return
          }
          const count = parsePackHeader(this.buf.subarray(this.pos, this.pos + PACK_HEADER_SIZE))
          if (count > this.limits.maxObjects) {
            throw new PackError(`pack claims ${count} objects, more than the limit of ${this.limits.maxObjects}`)
          }
          this.objectCount = count
          this.entries.reserve(Math.min(count, PRESIZE_MAX))
          this.consume(PACK_HEADER_SIZE)
          this.phase = count === 0 ? 'trailer' : 'entries'
          this.emitProgress(false)
          break
        }
        case 'entries': {
          const offset = this.offset
          const h = parseEntryHeader(this.buf, this.pos, offset)
          if (h === undefined) {
            if (final) throw this.truncated(offset)
            this.want = avail + 1
            return
          }
          if (h.size > this.limits.maxObjectSize) {
            throw new PackError(`object at offset ${offset} is too large: ${h.size} bytes exceeds the limit of ${this.limits.maxObjectSize}`)
          }
          const dataPos = this.pos + h.headerLength
          if (h.size > this.limits.streamingThreshold) {
            const done = await this.startStreaming(h, offset)
            if (!done) return
            break
          }
          const isDelta = isDeltaType(h.packType)
          // A whole object goes among the recent ones, where a later delta can find it.
          const room = isDelta ? undefined : this.recent?.reserve(h.size)
          let inflated: Inflated
          try {
            // A delta goes where the recent objects are, in case its base is one of them (resolveOnArrival).
            const into = room ? room.subarray(HEADER_ROOM) : (isDelta ? this.recent?.scratch(h.size + 1) : undefined) ?? this.inflateInto
            inflated = inflateEntry(this.buf, h.size, into, false, dataPos)
          } catch (e) {
            if (zlibCode(e) === 'Z_BUF_ERROR') {
              if (final) throw this.truncated(offset)
              if (this.buf.length - dataPos > this.limits.streamingThreshold) {
                const done = await this.startStreaming(h, offset)
                if (!done) return
                break
              }
              this.want = Math.max(2 * avail, avail + 1)
              return
            }
            throw this.corrupt(offset, zlibCode(e) === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than its declared ${h.size} bytes` : String((e as Error).message), e)
          }
          if (inflated.data.length !== h.size) {
            throw this.corrupt(offset, `inflated size ${inflated.data.length} differs from the declared ${h.size}`)
          }
          const entryBytes = this.consume(h.headerLength + inflated.consumed)
          const i = this.record(h, offset, crc32(entryBytes))
          this.entries.end[i] = this.offset
          if (room) {
            const oid = hashInRoom(typeName(h.packType), room, h.size)
            this.entries.setOidHex(i, oid)
            this.recent?.commit(i)
            this.onObject?.(oid, typeName(h.packType), room.subarray(HEADER_ROOM, HEADER_ROOM + h.size))
          } else if (!isDelta) {
            this.setObjectId(i, h.packType, inflated.data)
          } else if (h.packType === OBJ_OFS_DELTA) {
            this.resolveOnArrival(i, inflated.data)
          }
          this.entryDone()
          break
        }
        case 'trailer': {
          if (avail < PACK_TRAILER_SIZE) {
            if (final) throw new PackError(`pack is truncated: ${avail === 0 ? 'missing' : 'incomplete'} trailer checksum`)
            this.want = PACK_TRAILER_SIZE
            return
          }
          const trailer = Buffer.from(this.buf.subarray(this.pos, this.pos + PACK_TRAILER_SIZE))
          this.hashConsumed()
          const actual = this.packHash.digest()
          if (!actual.equals(trailer)) {
            throw new PackError(`pack is corrupted (SHA1 mismatch): trailer says ${trailer.toString('hex')}, content hashes to ${actual.toString('hex')}`)
          }
          this.trailer = trailer
          this.pos += PACK_TRAILER_SIZE
          this.hashedTo = this.pos
          this.offset += PACK_TRAILER_SIZE
          this.phase = 'done'
          break
        }
        case 'done':
          if (avail > 0) throw new PackError('pack has junk at the end')
          this.buf = EMPTY
          this.pos = 0
          this.hashedTo = 0
          this.want = 1
          return
      }
    }
  }

  /**
   * A header that claims more objects than were sent makes the trailer look like
   * a broken object; when the bytes where the next object should start are the
   * checksum of everything before them, say what really happened.
   */
  private explain(e: unknown): never {
    const last = this.entries.count - 1
    // Only between objects: an error about an entry already consumed is about that entry.
    const betweenObjects = last < 0 ? this.offset === PACK_HEADER_SIZE : this.entries.end[last] === this.offset
    if (e instanceof PackError && this.phase === 'entries' && this.streaming === undefined && betweenObjects) {
      this.hashConsumed()
      const rest = this.buf.subarray(this.pos)
      if (rest.length >= PACK_TRAILER_SIZE && rest.subarray(0, PACK_TRAILER_SIZE).equals(this.packHash.copy().digest())) {
        throw new PackError(`pack is truncated: its header claims ${this.objectCount} objects, but the trailer follows object ${this.received()}`, { cause: e })
      }
    }
    throw e
  }

  private truncated(offset: number): PackError {
    return new PackError(`pack is truncated or corrupt: object at offset ${offset} is incomplete (${this.received()} of ${this.objectCount} objects received)`)
  }

  private corrupt(offset: number, why: string, cause?: unknown): PackError {
    return new PackError(`pack has bad object at offset ${offset}: ${why}`, cause === undefined ? {} : { cause })
  }

  private received(): number {
    return this.entries.count
  }

  /** The id of a whole object: hashed in place when the data is in the scratch buffer (after its room). */
  private setObjectId(i: number, packType: number, data: Buffer): void {
    const type = typeName(packType)
    if (data.buffer === this.scratch.buffer && data.byteOffset === this.inflateInto.byteOffset) {
      const oid = hashInRoom(type, this.scratch, data.length)
      this.entries.setOidHex(i, oid)
      this.onObject?.(oid, type, data)
      return
    }
    const oid = hashObject(type, data)
    this.entries.setOid(i, oid)
    this.onObject?.(oid.toString('hex'), type, data)
  }

  /**
   * Resolves OFS_DELTA entry `i` now if its base is among the recent objects. Anything
   * wrong with the delta is left for the second pass, which reports it as for any delta.
   */
  private resolveOnArrival(i: number, delta: Buffer): void {
    const recent = this.recent
    const t = this.entries
    const b = t.base[i] as number
    const base = recent?.get(b)
    if (recent === undefined || base === undefined) return
    let header
    try {
      header = checkDelta(base, delta, this.limits.maxObjectSize)
    } catch (e) {
      if (e instanceof PackError) return
      throw e
    }
    const room = recent.reserve(header.resultSize, b)
    const framed = room ?? Buffer.allocUnsafe(HEADER_ROOM + header.resultSize)
    try {
      writeDelta(base, delta, header, framed, HEADER_ROOM)
    } catch (e) {
      if (e instanceof PackError) return
      throw e
    }
    const type = t.objType[b] as number
    const oid = hashInRoom(typeName(type), framed, header.resultSize)
    t.setOidHex(i, oid)
    t.objType[i] = type
    this.onObject?.(oid, typeName(type), framed.subarray(HEADER_ROOM, HEADER_ROOM + header.resultSize))
    this.resolvedOnArrival++
    if (room) recent.commit(i)
  }

  private record(h: EntryHeader, offset: number, crc: number): number {
    const t = this.entries
    const i = t.add(offset, h.packType, h.size, h.headerLength)
    t.crc[i] = crc
    if (h.packType === OBJ_OFS_DELTA) {
      const base = t.indexAtOffset(h.baseOffset as number)
      if (base === NO_BASE) throw this.corrupt(offset, `delta base offset ${h.baseOffset} is not the start of an object`)
      t.base[i] = base
      this.deltaCount++
    } else if (h.packType === OBJ_REF_DELTA) {
      t.refBase.set(i, h.baseOid as Buffer)
      this.deltaCount++
    } else {
      t.objType[i] = h.packType
    }
    return i
  }

  private entryDone(): void {
    if (this.entries.count === this.objectCount) this.phase = 'trailer'
    this.emitProgress(false)
  }

  private emitProgress(done: boolean): void {
    if (!this.progress) return
    const current = this.entries.count
    const total = this.objectCount
    const percent = total === 0 ? 100 : Math.floor((current * 100) / total)
    if (!done && percent === this.lastPercent && this.bytes - this.lastBytes < 1 << 20) return
    this.lastPercent = percent
    this.lastBytes = this.bytes
    this.progress.progress({ title: this.title, current, total, bytes: this.bytes, ...(done ? { done: true } : {}) })
  }

  /** Moves the entry at buf[pos] to the streaming inflater; true when it already completed. */
  private async startStreaming(h: EntryHeader, offset: number): Promise<boolean> {
    const header = this.consume(h.headerLength)
    this.hashConsumed()
    const isDelta = isDeltaType(h.packType)
    const inflater = createInflate()
    const s: StreamingEntry = {
      index: -1,
      offset,
      size: h.size,
      inflater,
      hasher: isDelta ? undefined : objectHasher(typeName(h.packType), h.size),
      crc: crc32(header),
      out: 0,
      fed: 0,
      error: undefined,
    }
    s.index = this.record(h, offset, 0)
    inflater.on('data', (b: Buffer) => {
      s.out += b.length
      if (s.out > s.size) {
        s.error ??= this.corrupt(offset, `inflates to more than its declared ${s.size} bytes`)
        return
      }
      s.hasher?.update(b)
    })
    inflater.on('error', (e: Error) => {
      s.error ??= this.corrupt(offset, e.message, e)
    })
    this.streaming = s
    const rest = this.buf.subarray(this.pos)
    this.buf = EMPTY
    this.pos = 0
    this.hashedTo = 0
    const leftover = await this.feedStreaming(rest)
    if (leftover === undefined) return false
    this.buf = leftover
    this.hashedTo = 0
    return true
  }

  /** Feeds the streaming entry; returns the bytes after its end once it ends, else undefined. */
  private async feedStreaming(chunk: Buffer): Promise<Buffer | undefined> {
    const s = this.streaming as StreamingEntry
    if (chunk.length === 0) return undefined
    const before = s.inflater.bytesWritten
    s.fed += chunk.length
    await new Promise<void>((resolve) => s.inflater.write(chunk, () => resolve()))
    if (s.error) {
      s.inflater.destroy()
      throw s.error
    }
    const consumed = s.inflater.bytesWritten - before
    const mine = chunk.subarray(0, consumed)
    s.crc = crc32(mine, s.crc)
    this.packHash.update(mine)
    this.offset += consumed
    if (s.inflater.bytesWritten === s.fed) return undefined
    // zlib stopped short of the input: the stream ended inside this chunk.
    this.endStreaming(s)
    return chunk.subarray(consumed)
  }

  /** The streaming entry's zlib stream has ended: the entry is whole if it inflated to its size. */
  private endStreaming(s: StreamingEntry): void {
    this.streaming = undefined
    s.inflater.destroy()
    if (s.error) throw s.error
    if (s.out !== s.size) throw this.corrupt(s.offset, `inflated size ${s.out} differs from the declared ${s.size}`)
    const t = this.entries
    t.crc[s.index] = s.crc
    t.end[s.index] = this.offset
    if (s.hasher) t.setOid(s.index, s.hasher.digest())
    this.entryDone()
  }

  /**
   * zlib took every byte of the streaming entry so far, and no more are coming: its
   * stream may have ended exactly at the last one (a pack cut right after the entry),
   * which only telling zlib that the input has ended shows.
   */
  private async closeStreaming(): Promise<void> {
    const s = this.streaming as StreamingEntry
    const ended = await new Promise<boolean>((resolve) => {
      s.inflater.once('end', () => resolve(true))
      s.inflater.once('error', () => resolve(false))
      s.inflater.end()
    })
    if (ended) this.endStreaming(s)
  }
}
