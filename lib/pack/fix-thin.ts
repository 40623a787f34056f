/**
 * Making a thin pack complete, as `git index-pack --fix-thin` does. A thin pack (a
 * fetch with thin-pack, the pack of a bundle with prerequisites) has REF_DELTA entries
 * whose bases are not in it. Once those are resolved against bases from outside the
 * pack (resolveExternal), each base used is appended as a whole object entry where the
 * trailer was: the standard entry header (type, size), then the object deflated. The
 * header's object count is raised to include them and the trailer computed again over
 * the new bytes, so the pack needs nothing outside it and is named by its new checksum.
 * A pack on disk that is not self-contained is one git calls corrupt.
 *
 * Each base is written when resolution first fetches it (append) and let go with the
 * deltas on it: memory holds the base being resolved, never all of them. Bases come in
 * the order resolution asks for them, the pack order of the first delta on each (as
 * git appends them). What was appended is added to the entry table once every delta
 * is resolved (complete), so that the .idx covers it.
 *
 * The file is changed in place: the pack's entries are not copied. restore() puts back
 * the pack as it was received (cut after its last entry, with its own trailer and
 * count), for a file kept to be continued after a failure.
 */
import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { promisify } from 'node:util'
import { constants, crc32, deflate } from 'node:zlib'
import { PackError } from '../errors.js'
import type { GitObject, Oid } from '../oid.js'
import type { EntryTable } from './entries.js'
import { PACK_HEADER_SIZE, PACK_TRAILER_SIZE, encodeEntryHeader, hashObject, typeCode } from './format.js'
import { writeAll, writeAllV } from './tempfile.js'

const deflateAsync = promisify(deflate)

/**
 * git's index-pack deflates the bases it appends at zlib's best speed (core.compression
 * unset): a thin pack's bases are few, and a repack compresses them again anyway.
 */
const APPEND_LEVEL = constants.Z_BEST_SPEED

/** The pack as it arrived, to name what changes and to put it back. */
export interface ReceivedPack {
  /** Length, trailer included. */
  bytes: number
  trailer: Buffer
  /** Entries, as the header counts them. */
  count: number
}

/** An entry written after the received ones. */
interface Appended {
  oid: Buffer
  packType: number
  size: number
  headerLength: number
  offset: number
  end: number
  crc: number
}

const MAX_OBJECTS = 0xffffffff

/** What the pack is hashed again through, a read at a time. */
const READ_BYTES = 1024 * 1024

export class ThinPackFixer {
  private readonly appended: Appended[] = []
  /** Where the next entry goes; the received trailer is the first thing overwritten. */
  private end: number
  /** Whether the file differs from the received pack (restore() has work). */
  private changed = false

  constructor(private readonly handle: FileHandle, private readonly received: ReceivedPack) {
    this.end = received.bytes - PACK_TRAILER_SIZE
  }

  /** Bases appended so far. */
  get count(): number {
    return this.appended.length
  }

  /**
   * Appends `base`, the object `oid` from outside the pack, as a whole entry. It must be
   * that object: an entry is named in the .idx by the id its content hashes to.
   */
  async append(oid: Oid, base: GitObject): Promise<void> {
    const id = hashObject(base.type, base.data)
    if (id.toString('hex') !== oid) {
      throw new PackError(`delta base ${oid} supplied from outside the pack is another object: its ${base.type} content hashes to ${id.toString('hex')}`)
    }
    if (this.received.count + this.appended.length >= MAX_OBJECTS) throw new PackError(`pack would have more than ${MAX_OBJECTS} objects with its bases appended`)
    const packType = typeCode(base.type)
    const header = encodeEntryHeader(packType, base.data.length)
    const body = await deflateAsync(base.data, { level: APPEND_LEVEL })
    const offset = this.end
    this.changed = true
    await writeAllV(this.handle, [header, body], offset)
    this.end = offset + header.length + body.length
    this.appended.push({ oid: id, packType, size: base.data.length, headerLength: header.length, offset, end: this.end, crc: crc32(body, crc32(header)) })
  }

  /**
   * Sets the header's count and the trailer for the entries appended (at least one), and
   * adds those entries to `table`. Returns the new trailer and length.
   */
  async complete(table: EntryTable, signal?: AbortSignal): Promise<{ trailer: Buffer; bytes: number }> {
    const header = await this.readHeader()
    header.writeUInt32BE(this.received.count + this.appended.length, 8)
    // The count is at the start of what the checksum covers: every byte is hashed again.
    const sha = createHash('sha1').update(header)
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, this.end - PACK_HEADER_SIZE)))
    for (let at = PACK_HEADER_SIZE; at < this.end;) {
      signal?.throwIfAborted()
      const { bytesRead } = await this.handle.read(buf, 0, Math.min(buf.length, this.end - at), at)
      if (bytesRead === 0) throw new PackError(`pack file ended at ${at} bytes while its checksum was computed again, before ${this.end}`)
      sha.update(buf.subarray(0, bytesRead))
      at += bytesRead
    }
    const trailer = sha.digest()
    this.changed = true
    await writeAll(this.handle, trailer, this.end)
    await this.handle.truncate(this.end + PACK_TRAILER_SIZE)
    await writeAll(this.handle, header, 0)
    for (const a of this.appended) {
      const i = table.add(a.offset, a.packType, a.size, a.headerLength)
      table.objType[i] = a.packType
      table.end[i] = a.end
      table.crc[i] = a.crc
      table.setOid(i, a.oid)
    }
    return { trailer, bytes: this.end + PACK_TRAILER_SIZE }
  }

  /** Makes the file the pack as it was received again. */
  async restore(): Promise<void> {
    if (!this.changed) return
    const { bytes, trailer, count } = this.received
    const header = await this.readHeader()
    header.writeUInt32BE(count, 8)
    await this.handle.truncate(bytes - PACK_TRAILER_SIZE)
    await writeAll(this.handle, trailer, bytes - PACK_TRAILER_SIZE)
    await writeAll(this.handle, header, 0)
    this.changed = false
  }

  private async readHeader(): Promise<Buffer> {
    const header = Buffer.alloc(PACK_HEADER_SIZE)
    const { bytesRead } = await this.handle.read(header, 0, PACK_HEADER_SIZE, 0)
    if (bytesRead !== PACK_HEADER_SIZE) throw new PackError('pack file is shorter than its header')
    return header
  }
}
