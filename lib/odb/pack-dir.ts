/**
 * The packs of an object store: the pack/ directory of its objects directory and of
 * each alternate, scanned once and looked at again only when one of them changed.
 * Lookups are synchronous index searches: a walk makes hundreds of thousands of them.
 * Errors reading a packed object name the object, not only the pack and the offset.
 */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { MissingObjectError, PackError, isNotFound } from '../errors.js'
import { oidWords, oidWordsAt, type GitObject, type Oid } from '../oid.js'
import { PackFile } from '../pack/reader.js'
import type { LargeBlob } from './types.js'
import { namesIn } from '../files.js'

interface LoadedPack {
  name: string
  pack: PackFile
  promisor: boolean
}

/**
 * How often a run of misses may look at the pack directories again: a walk asks about
 * tens of thousands of absent objects in a row, and each look costs a stat per directory.
 */
const LOOK_INTERVAL_MS = 50

/** A directory stamp taken this soon after its change may be shared by the next change (file times are coarse). */
const RACY_MS = 1000

/** `e`, thrown reading `oid` from a pack, made to name the object. */
function naming(oid: Oid, e: unknown): unknown {
  if (e instanceof PackError) return new PackError(`packed object ${oid} is corrupt: ${e.message}`, { cause: e })
  // A delta base the pack does not hold: the base is what is missing.
  if (e instanceof MissingObjectError) return new MissingObjectError(e.oid, `packed object ${oid} cannot be read: ${e.message}`, { cause: e })
  return e
}

export class PackDirectory {
  private readonly packDirs: readonly string[]
  /** Keyed by the pack's path without its extension. */
  private readonly packs = new Map<string, LoadedPack>()
  private scanned = false
  /** mtime of each pack/ at the last scan: a new pack is renamed into it, which changes it. */
  private stamps: bigint[] = []
  private stampRacy = true
  private checkedAt = 0
  /** The id being looked up, as the words PackIndex searches with: converted once, not once per pack. */
  private readonly key = new Uint32Array(5)
  /** The pack the last lookup found its object in: asked first (objects fetched together are looked up together). */
  private lastHit: LoadedPack | undefined
  /** Goes up each time a promisor pack is added, so that what was derived from them is made again. */
  promisorGeneration = 0

  /** `objectsDirs`: the store's own objects directory first, then its alternates. */
  constructor(objectsDirs: readonly string[]) {
    this.packDirs = objectsDirs.map((dir) => join(dir, 'pack'))
  }

  /** False until the first scan: lookups then find nothing. */
  get isScanned(): boolean {
    return this.scanned
  }

  async ensureScanned(): Promise<void> {
    if (!this.scanned) await this.rescan()
  }

  private mtimes(): bigint[] {
    return this.packDirs.map((dir) => {
      try {
        return statSync(dir, { bigint: true }).mtimeNs
      } catch (e) {
        if (isNotFound(e)) return -1n
        throw e
      }
    })
  }

  /** Opens the packs that appeared since the last scan (after a fetch, or written by another process). */
  async rescan(): Promise<void> {
    this.stamps = this.mtimes()
    const newest = this.stamps.reduce((a, b) => (a > b ? a : b), -1n)
    this.stampRacy = Date.now() - Number(newest / 1_000_000n) < RACY_MS
    for (const dir of this.packDirs) await this.scanDir(dir)
    this.scanned = true
  }

  /**
   * Rescans if a pack directory changed: one stat each instead of a readdir, at most
   * every LOOK_INTERVAL_MS (our own fetches rescan when they are done). A racy stamp
   * is not trusted: then the scan is done anyway. Resolves false when it did not look.
   */
  async rescanIfChanged(): Promise<boolean> {
    if (this.scanned) {
      const now = Date.now()
      if (now - this.checkedAt < LOOK_INTERVAL_MS) return false
      this.checkedAt = now
      if (!this.stampRacy && this.mtimes().every((m, i) => m === this.stamps[i])) return true
    }
    await this.rescan()
    return true
  }

  private async scanDir(packDir: string): Promise<void> {
    const names = await namesIn(packDir)
    for (const file of names) {
      if (!file.endsWith('.idx') || !file.startsWith('pack-')) continue
      const name = file.slice(0, -4)
      const base = join(packDir, name)
      // An index without its pack is one being written, or what a crash left.
      if (this.packs.has(base) || !existsSync(`${base}.pack`)) continue
      const pack = await PackFile.open(`${base}.pack`)
      const promisor = existsSync(`${base}.promisor`)
      this.packs.set(base, { name, pack, promisor })
      if (promisor) this.promisorGeneration++
    }
  }

  private findKey(): LoadedPack | undefined {
    const key = this.key
    const last = this.lastHit
    if (last !== undefined && last.pack.index.hasWords(key)) return last
    for (const p of this.packs.values()) {
      if (p !== last && p.pack.index.hasWords(key)) {
        this.lastHit = p
        return p
      }
    }
    return undefined
  }

  private find(oid: Oid): LoadedPack | undefined {
    if (this.packs.size === 0 || !oidWords(oid, this.key)) return undefined
    return this.findKey()
  }

  /** Whether a pack of the current view holds `oid`. */
  has(oid: Oid): boolean {
    return this.find(oid) !== undefined
  }

  /** has() for the raw id at `b[at..at+20)`, without making a hex string. */
  hasBytes(b: Uint8Array, at: number): boolean {
    if (this.packs.size === 0) return false
    oidWordsAt(b, at, this.key)
    return this.findKey() !== undefined
  }

  /** The object from the first pack holding it; undefined when none does. */
  async read(oid: Oid): Promise<GitObject | undefined> {
    // One id conversion and one index search per pack (has-then-read searched twice).
    const key = Buffer.from(oid, 'hex')
    for (const p of this.packs.values()) {
      let obj: GitObject | undefined
      try {
        obj = await p.pack.read(key)
      } catch (e) {
        throw naming(oid, e)
      }
      if (obj) return obj
    }
    return undefined
  }

  /** A large blob stored whole (PackFile.largeBlobAt), to be written out a chunk at a time. */
  largeBlob(oid: Oid): LargeBlob | undefined {
    const p = this.find(oid)
    const offset = p?.pack.index.find(oid)
    const blob = p === undefined || offset === undefined ? undefined : p.pack.largeBlobAt(offset)
    if (blob === undefined) return undefined
    return {
      size: blob.size,
      writeTo(write) {
        try {
          blob.writeTo(write)
        } catch (e) {
          throw naming(oid, e)
        }
      },
    }
  }

  /** Whether a pack with a .promisor file holds `oid`. */
  inPromisorPack(oid: Oid): boolean {
    if (!oidWords(oid, this.key)) return false
    for (const p of this.packs.values()) if (p.promisor && p.pack.index.hasWords(this.key)) return true
    return false
  }

  hasPromisorPacks(): boolean {
    for (const p of this.packs.values()) if (p.promisor) return true
    return false
  }

  promisorPacks(): PackFile[] {
    return [...this.packs.values()].filter((p) => p.promisor).map((p) => p.pack)
  }

  files(): PackFile[] {
    return [...this.packs.values()].map((p) => p.pack)
  }

  /** Every id in every pack, with whether its pack is a promisor pack. */
  *oids(): Generator<{ oid: Oid; promisor: boolean }> {
    for (const p of this.packs.values()) for (const oid of p.pack.index.oids()) yield { oid, promisor: p.promisor }
  }

  /** Ids starting with `prefix`, at most `limit` from each pack. */
  matchPrefix(prefix: string, limit: number): Oid[] {
    return [...this.packs.values()].flatMap((p) => p.pack.index.matchPrefix(prefix, limit))
  }

  /** Lets go of the objects the packs keep inflated (before a fetch, whose indexing needs the memory more). */
  dropCaches(): void {
    for (const p of this.packs.values()) p.pack.dropCache()
  }

  async close(): Promise<void> {
    for (const p of this.packs.values()) await p.pack.close()
    this.packs.clear()
    this.lastHit = undefined
    this.scanned = false
  }
}
