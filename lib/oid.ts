/**
 * The ground vocabulary of every layer: object ids and object types. Nothing here
 * reads or writes anything; every other module may import it.
 */

/** Hex object id (40 hex digits for SHA-1). */
export type Oid = string

/** Bytes of a SHA-1 object id. */
export const OID_BYTES = 20

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag'

export const OBJECT_TYPES: readonly ObjectType[] = ['commit', 'tree', 'blob', 'tag']

/** An object: its type and its content (without git's "<type> <size>\0" header). */
export interface GitObject {
  type: ObjectType
  data: Buffer
}

/**
 * Told of each whole object as soon as it is known (inflated and hashed), while a pack
 * is still arriving: a checkout writes files from these instead of waiting for the
 * pack's end. `data` is a view into reused memory, valid during the call only; the call
 * must not throw. The pack's checksum is not verified yet: the caller undoes what it did
 * if the fetch then fails. Not every object is told (pack/receive.ts says which).
 */
export type ObjectObserver = (oid: Oid, type: ObjectType, data: Buffer) => void

export const NULL_OID: Oid = '0'.repeat(40)

export function isOid(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s)
}

const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX[48 + i] = i
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i
  HEX[65 + i] = 10 + i
}

/**
 * An object id (40 hex digits or 20 bytes) as five big-endian words, the key of an
 * index lookup; false when it is not one. Callers that ask several packs convert once.
 */
export function oidWords(oid: string | Buffer, out: Uint32Array): boolean {
  if (typeof oid !== 'string') {
    if (oid.length !== OID_BYTES) return false
    oidWordsAt(oid, 0, out)
    return true
  }
  if (oid.length !== 2 * OID_BYTES) return false
  for (let k = 0; k < 5; k++) {
    let v = 0
    for (let j = k * 8; j < k * 8 + 8; j++) {
      const c = oid.charCodeAt(j)
      const d = c < 128 ? (HEX[c] as number) : -1
      if (d < 0) return false
      v = v * 16 + d
    }
    out[k] = v
  }
  return true
}

/** oidWords for the raw id at `b[at..at+20)` (inside a tree, say), without a copy of it. */
export function oidWordsAt(b: Uint8Array, at: number, out: Uint32Array): void {
  for (let k = 0; k < 5; k++) {
    const i = at + 4 * k
    out[k] = (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
  }
}
