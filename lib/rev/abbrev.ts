/**
 * Abbreviated object ids as git prints them (`%h`, `rev-parse --short`, checkout's
 * "HEAD is now at"): the shortest prefix of at least the default length that names
 * one object. The default is core.abbrev, or with "auto" (git's default) a length
 * that grows with the number of packed objects.
 */
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { parseBool, parseInteger, type ConfigReader } from '../repo/config.js'

export const MIN_ABBREV = 4
const FALLBACK_ABBREV = 7

/**
 * git's automatic length: half the bits needed to count the packed objects, rounded
 * up (two random prefixes collide after about the square root of the space), at
 * least 7.
 */
export function autoAbbrevLength(objectCount: number): number {
  let bits = 0
  for (let n = objectCount; n > 0; n = Math.floor(n / 2)) bits++
  return Math.max(FALLBACK_ABBREV, Math.ceil(bits / 2))
}

/** The default length: core.abbrev (a number, "auto", or a boolean "no" for the full id). */
export async function defaultAbbrevLength(config: ConfigReader, store: ObjectStore): Promise<number> {
  const value = config.getString('core.abbrev')
  if (value !== undefined && value.toLowerCase() !== 'auto') {
    if (/^-?\d+$/.test(value.trim())) return Math.max(MIN_ABBREV, Math.min(40, parseInteger(value, 'core.abbrev')))
    if (!parseBool(value, 'core.abbrev')) return 40
  }
  let count = 0
  for (const pack of await store.packFiles()) count += pack.index.count
  return autoAbbrevLength(count)
}

/** The shortest prefix of `oid`, at least `min` digits, that no other object shares. */
export async function abbreviate(store: ObjectStore, oid: Oid, min: number): Promise<string> {
  for (let n = Math.max(MIN_ABBREV, min); n < 40; n++) {
    const found = await store.findByPrefix(oid.slice(0, n))
    if (found.length <= 1) return oid.slice(0, n)
  }
  return oid
}
