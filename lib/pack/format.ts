/**
 * The pieces of the pack format shared by the streaming indexer and the
 * random-access reader: the 12-byte header, per-entry headers, object ids.
 */
import { createHash, hash } from 'node:crypto'
import { PackError } from '../errors.js'
import type { ObjectType } from '../oid.js'

export const PACK_SIGNATURE = Buffer.from('PACK', 'latin1')
export const PACK_HEADER_SIZE = 12
export const PACK_TRAILER_SIZE = 20

export const OBJ_COMMIT = 1
export const OBJ_TREE = 2
export const OBJ_BLOB = 3
export const OBJ_TAG = 4
export const OBJ_OFS_DELTA = 6
export const OBJ_REF_DELTA = 7

/** Whether a pack entry type is a delta (its object's type is its base's). */
export function isDeltaType(packType: number): boolean {
  return packType === OBJ_OFS_DELTA || packType === OBJ_REF_DELTA
}

const TYPE_NAMES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' }

export function typeName(code: number): ObjectType {
  const name = TYPE_NAMES[code]
  if (name === undefined) throw new PackError(`invalid object type ${code}`)
  return name
}

export function typeCode(type: ObjectType): number {
  switch (type) {
    case 'commit': return OBJ_COMMIT
    case 'tree': return OBJ_TREE
    case 'blob': return OBJ_BLOB
    case 'tag': return OBJ_TAG
  }
}

/** Returns the object count; throws on a bad signature or version. */
export function parsePackHeader(buf: Buffer): number {
  if (buf.length < PACK_HEADER_SIZE) throw new PackError('pack header is truncated')
  if (!buf.subarray(0, 4).equals(PACK_SIGNATURE)) throw new PackError('pack signature mismatch')
  const version = buf.readUInt32BE(4)
  if (version !== 2 && version !== 3) throw new PackError(`pack version ${version} unsupported`)
  return buf.readUInt32BE(8)
}

export interface EntryHeader {
  /** 1-4 for whole objects, 6 OFS_DELTA, 7 REF_DELTA. */
  packType: number
  /** Inflated size: the object's size, or the delta's size for deltas. */
  size: number
  /** Bytes from the entry's start to its zlib data. */
  headerLength: number
  /** OFS_DELTA: absolute offset of the base. */
  baseOffset?: number
  /** REF_DELTA: raw base object id. */
  baseOid?: Buffer
}

// Sizes past 2^53 cannot be represented exactly; nothing legitimate is that big.
const MAX_SIZE_SHIFT = 53 - 7

/**
 * Parses the entry header at `pos` of `buf`, an entry that starts at pack
 * offset `entryOffset`. Returns undefined when `buf` ends before the header does.
 */
export function parseEntryHeader(buf: Buffer, pos: number, entryOffset: number): EntryHeader | undefined {
  let p = pos
  let byte = buf[p++]
  if (byte === undefined) return undefined
  const packType = (byte >> 4) & 7
  let size = byte & 0x0f
  let shift = 4
  while (byte & 0x80) {
    byte = buf[p++]
    if (byte === undefined) return undefined
    if (shift > MAX_SIZE_SHIFT) throw new PackError(`object size at offset ${entryOffset} is too large`)
    size += (byte & 0x7f) * 2 ** shift
    shift += 7
  }
  switch (packType) {
    case OBJ_COMMIT:
    case OBJ_TREE:
    case OBJ_BLOB:
    case OBJ_TAG:
      return { packType, size, headerLength: p - pos }
    case OBJ_OFS_DELTA: {
      // Big-endian base-128 where each continuation also adds one (gitformat-pack "offset encoding").
      byte = buf[p++]
      if (byte === undefined) return undefined
      let rel = byte & 0x7f
      while (byte & 0x80) {
        byte = buf[p++]
        if (byte === undefined) return undefined
        rel = (rel + 1) * 128 + (byte & 0x7f)
        if (rel > Number.MAX_SAFE_INTEGER / 256) throw new PackError(`delta base offset at offset ${entryOffset} is out of range`)
      }
      const baseOffset = entryOffset - rel
      if (rel === 0 || baseOffset < PACK_HEADER_SIZE) {
        throw new PackError(`delta base offset at offset ${entryOffset} is out of bounds`)
      }
      return { packType, size, headerLength: p - pos, baseOffset }
    }
    case OBJ_REF_DELTA: {
      if (p + 20 > buf.length) return undefined
      const baseOid = Buffer.from(buf.subarray(p, p + 20))
      return { packType, size, headerLength: p + 20 - pos, baseOid }
    }
    default:
      throw new PackError(`pack has bad object at offset ${entryOffset}: invalid object type ${packType}`)
  }
}

/** The header of a whole-object entry (OBJ_COMMIT..OBJ_TAG) of `size` bytes: type and size, 7 bits a byte after the first 4. */
export function encodeEntryHeader(packType: number, size: number): Buffer {
  const bytes: number[] = []
  let byte = (packType << 4) | (size % 16)
  let rest = Math.floor(size / 16)
  while (rest > 0) {
    bytes.push(byte | 0x80)
    byte = rest % 128
    rest = Math.floor(rest / 128)
  }
  bytes.push(byte)
  return Buffer.from(bytes)
}

/** Starts the SHA-1 of a loose-object representation: "<type> <size>\0". */
export function objectHasher(type: ObjectType, size: number) {
  return createHash('sha1').update(`${type} ${size}\0`, 'latin1')
}

/** Room enough for the longest "<type> <size>\0" header (a 16-digit size). */
export const HEADER_ROOM = 32

/**
 * The id (hex) of the object of `type` whose `size` bytes of data are at
 * `framed[HEADER_ROOM..]`: the header is written into the room just before the
 * data, and header and data are hashed in one call, with no copy. The bytes
 * before the header are left alone. Hex, because a Buffer result costs a
 * backing store of its own per object.
 */
export function hashInRoom(type: ObjectType, framed: Buffer, size: number): string {
  const header = `${type} ${size}\0`
  const start = HEADER_ROOM - header.length
  framed.write(header, start, 'latin1')
  return hash('sha1', framed.subarray(start, HEADER_ROOM + size), 'hex')
}

/** Objects up to this size are hashed with one call over a copy led by the header (cheaper than a Hash object each). */
const ONE_SHOT_BYTES = 64 * 1024

export function hashObject(type: ObjectType, data: Buffer): Buffer {
  if (data.length > ONE_SHOT_BYTES) return objectHasher(type, data.length).update(data).digest()
  const header = `${type} ${data.length}\0`
  const whole = Buffer.allocUnsafe(header.length + data.length)
  whole.write(header, 0, 'latin1')
  data.copy(whole, header.length)
  return hash('sha1', whole, 'buffer') as unknown as Buffer
}
