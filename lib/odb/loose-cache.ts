/**
 * The loose objects of an object store, as the names in each fan-out directory
 * (objects/xx/) of its objects directories, each directory read once when first
 * needed: git's "quick" lookups, which answer a walk's many questions without a
 * system call each. A name the cache lacks may have been written since by another
 * process: recheck() looks at the object's own path, as git does on every lookup.
 */
import { existsSync, readdirSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isNotFound } from '../errors.js'
import type { GitObject, Oid } from '../oid.js'
import { loosePath, readLoose } from './loose.js'

/** Two hex digits of each byte value: a loose object's fan-out directory. */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export class LooseCache {
  private readonly dirs: readonly string[]
  /** Per objects directory, the names read from each fan-out directory. */
  private names: Map<string, Set<string>>[] = []

  /** `objectsDirs`: the store's own objects directory first (where it writes), then its alternates. */
  constructor(objectsDirs: readonly string[]) {
    this.dirs = objectsDirs
  }

  /** The names in fan-out directory `fan` (two hex digits) of objects directory `d`, read once. */
  private namesIn(d: number, fan: string): Set<string> {
    const cache = (this.names[d] ??= new Map())
    let names = cache.get(fan)
    if (names === undefined) {
      try {
        names = new Set(readdirSync(join(this.dirs[d] as string, fan)))
      } catch (e) {
        if (!isNotFound(e)) throw e
        names = new Set()
      }
      cache.set(fan, names)
    }
    return names
  }

  /** The objects directory holding `oid` as a loose object, as far as the names read go. */
  dirOf(oid: Oid): string | undefined {
    const fan = oid.slice(0, 2)
    const rest = oid.slice(2)
    for (let d = 0; d < this.dirs.length; d++) {
      const names = this.namesIn(d, fan)
      if (names.size > 0 && names.has(rest)) return this.dirs[d]
    }
    return undefined
  }

  has(oid: Oid): boolean {
    return this.dirOf(oid) !== undefined
  }

  /** has() for the raw id at `b[at..at+20)`: no hex string is made unless a fan-out directory holds something to compare with. */
  hasBytes(b: Uint8Array, at: number): boolean {
    const fan = HEX_BYTE[b[at] as number] as string
    let rest: string | undefined
    for (let d = 0; d < this.dirs.length; d++) {
      const names = this.namesIn(d, fan)
      if (names.size === 0) continue
      rest ??= Buffer.from(b.buffer, b.byteOffset + at + 1, 19).toString('hex')
      if (names.has(rest)) return true
    }
    return false
  }

  /**
   * Whether `oid` is a loose object now: the names read, then its own path in each
   * objects directory (one stat each), since another process may have written it after
   * its fan-out directory was read. Found there, it is added to the names.
   */
  recheck(oid: Oid): boolean {
    if (this.has(oid)) return true
    for (let d = 0; d < this.dirs.length; d++) {
      if (existsSync(loosePath(this.dirs[d] as string, oid))) {
        this.namesIn(d, oid.slice(0, 2)).add(oid.slice(2))
        return true
      }
    }
    return false
  }

  /**
   * The loose object, or undefined when the names lack it or its file has gone since
   * they were read (git gc packs loose objects, then removes them): then it is dropped
   * from the names, and the caller should look at the packs again.
   */
  async read(oid: Oid): Promise<GitObject | undefined> {
    const dir = this.dirOf(oid)
    if (dir === undefined) return undefined
    const obj = await readLoose(dir, oid)
    if (obj === undefined) this.namesIn(this.dirs.indexOf(dir), oid.slice(0, 2)).delete(oid.slice(2))
    return obj
  }

  /** `oid` was just written into the store's own objects directory. */
  added(oid: Oid): void {
    this.names[0]?.get(oid.slice(0, 2))?.add(oid.slice(2))
  }

  /** Forgets every name read: each fan-out directory is read again on next need. */
  forget(): void {
    this.names = []
  }

  /** Loose object ids starting with `prefix` (two hex digits at least), read afresh from the disk. */
  async matchPrefix(prefix: string): Promise<Oid[]> {
    if (prefix.length < 2) return []
    const fan = prefix.slice(0, 2)
    const found: Oid[] = []
    for (const dir of this.dirs) {
      let names: string[]
      try {
        names = await readdir(join(dir, fan))
      } catch (e) {
        if (isNotFound(e)) continue
        throw e
      }
      for (const name of names) if (name.length === 38 && (fan + name).startsWith(prefix)) found.push(fan + name)
    }
    return found
  }
}
