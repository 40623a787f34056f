/**
 * The layout of a pack index version 2 (gitformat-pack, "Version 2 pack-*.idx
 * files"), shared by its writer (idx-write.ts) and its reader (idx.ts): magic and
 * version, a 256-entry fan-out table, then the names, CRC32s and 31-bit offsets of
 * the objects in name order, 64-bit offsets for those that need them, and the
 * pack's and the index's own SHA-1.
 */
import { endianness } from 'node:os'

export const IDX_MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63])
export const HEADER_SIZE = 8
export const FANOUT_SIZE = 256 * 4
export const HASH_SIZE = 20
/** Set in a 31-bit offset: the rest is an index into the 64-bit offsets. */
export const LARGE_OFFSET_FLAG = 0x80000000

/** The tables are big-endian words; on a little-endian machine they are byte-swapped in bulk. */
export const LITTLE_ENDIAN = endianness() === 'LE'
