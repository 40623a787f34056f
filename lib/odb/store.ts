/**
 * The object store and THE lookup seam: every object read in tsgit goes through
 * ObjectStore.read / tryRead / prefetch. When an object is missing and the store
 * was given a PromisorFetcher (a partial clone with lazy fetching allowed), the
 * missing ids are faulted in and the read is retried once. The store never imports
 * the operations: the fetcher is handed to it.
 */
import { readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { MissingObjectError, isNotFound } from '../errors.js'
import { PackFile } from '../pack/reader.js'
import { readLoose, writeLoose } from './loose.js'
import type { GitObject, ObjectReader, ObjectType, Oid } from './types.js'

/** Faults missing objects in from promisor remotes. Implemented by the operations layer. */
export interface PromisorFetcher {
  /** Fetches `oids` (all missing locally) in as few requests as possible. Throws if any stays missing. */
  fetchMissing(oids: Oid[]): Promise<void>
}

interface LoadedPack {
  name: string
  pack: PackFile
  promisor: boolean
}

export class ObjectStore implements ObjectReader {
  readonly objectsDir: string
  private packs = new Map<string, LoadedPack>()
  private scanned = false
  private fetcher: PromisorFetcher | undefined

  constructor(objectsDir: string, fetcher?: PromisorFetcher) {
    this.objectsDir = objectsDir
    this.fetcher = fetcher
  }

  get packDir(): string {
    return join(this.objectsDir, 'pack')
  }

  /** Sets (or clears) the lazy fetcher; code running inside a fetch uses a store without one. */
  setFetcher(fetcher: PromisorFetcher | undefined): void {
    this.fetcher = fetcher
  }

  /** Picks up packs that appeared since the last scan (after a fetch, or written by another process). */
  async rescan(): Promise<void> {
    let names: string[]
    try {
      names = await readdir(this.packDir)
    } catch (e) {
      if (isNotFound(e)) names = []
      else throw e
    }
    for (const file of names) {
      if (!file.endsWith('.idx') || !file.startsWith('pack-')) continue
      const name = file.slice(0, -4)
      if (this.packs.has(name)) continue
      const packPath = join(this.packDir, `${name}.pack`)
      if (!existsSync(packPath)) continue
      const pack = await PackFile.open(packPath)
      this.packs.set(name, { name, pack, promisor: existsSync(join(this.packDir, `${name}.promisor`)) })
    }
    this.scanned = true
  }

  private async ensureScanned(): Promise<void> {
    if (!this.scanned) await this.rescan()
  }

  private findInPacks(oid: Oid): LoadedPack | undefined {
    for (const p of this.packs.values()) if (p.pack.has(oid)) return p
    return undefined
  }

  private async readLocal(oid: Oid): Promise<GitObject | undefined> {
    const p = this.findInPacks(oid)
    if (p) {
      const obj = await p.pack.read(oid)
      if (obj) return obj
    }
    return readLoose(this.objectsDir, oid)
  }

  /** The object if it is present locally; never fetches. */
  async tryRead(oid: Oid): Promise<GitObject | undefined> {
    await this.ensureScanned()
    const obj = await this.readLocal(oid)
    if (obj) return obj
    // Another process (or our own fetch) may have added a pack since the last scan.
    await this.rescan()
    return this.readLocal(oid)
  }

  /** True if the object is present locally (never fetches). */
  async has(oid: Oid): Promise<boolean> {
    await this.ensureScanned()
    if (this.findInPacks(oid)) return true
    if (existsSync(join(this.objectsDir, oid.slice(0, 2), oid.slice(2)))) return true
    await this.rescan()
    return this.findInPacks(oid) !== undefined
  }

  /** True if the object is in a pack that has a .promisor file. */
  async inPromisorPack(oid: Oid): Promise<boolean> {
    await this.ensureScanned()
    for (const p of this.packs.values()) if (p.promisor && p.pack.has(oid)) return true
    return false
  }

  async read(oid: Oid): Promise<GitObject> {
    const obj = await this.tryRead(oid)
    if (obj) return obj
    if (!this.fetcher) throw new MissingObjectError(oid)
    await this.fetcher.fetchMissing([oid])
    await this.rescan()
    const again = await this.readLocal(oid)
    if (!again) throw new MissingObjectError(oid, `object ${oid} is still missing after a lazy fetch`)
    return again
  }

  /** Fetches every missing id of `oids` in one batch (de-duplicated). */
  async prefetch(oids: Iterable<Oid>): Promise<void> {
    const missing = await this.missingOf(oids)
    if (missing.length === 0 || !this.fetcher) return
    await this.fetcher.fetchMissing(missing)
    await this.rescan()
  }

  /** The ids of `oids` not present locally, de-duplicated, in first-seen order. */
  async missingOf(oids: Iterable<Oid>): Promise<Oid[]> {
    await this.ensureScanned()
    const seen = new Set<Oid>()
    const missing: Oid[] = []
    for (const oid of oids) {
      if (seen.has(oid)) continue
      seen.add(oid)
      if (this.findInPacks(oid)) continue
      if (existsSync(join(this.objectsDir, oid.slice(0, 2), oid.slice(2)))) continue
      missing.push(oid)
    }
    return missing
  }

  async writeLoose(type: ObjectType, data: Buffer): Promise<Oid> {
    return writeLoose(this.objectsDir, type, data)
  }

  async close(): Promise<void> {
    for (const p of this.packs.values()) await p.pack.close()
    this.packs.clear()
    this.scanned = false
  }
}
