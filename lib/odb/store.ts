/**
 * The object store and THE lookup seam: every object read in tsgit goes through
 * ObjectStore.read / tryRead / prefetch. When an object is missing and the store
 * was given a PromisorFetcher (a partial clone with lazy fetching allowed), the
 * missing ids are faulted in and the read is retried once. The store never imports
 * the operations: the fetcher is handed to it.
 *
 * Code that runs inside a fetch reads with fetching denied (an async context marks
 * it), so a lazy fetch can never recurse into another one.
 *
 * Objects are read from the repository's objects directory and from its alternates
 * (alternates.ts), in that order; they are only ever written to its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { readdir } from 'node:fs/promises'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { MissingObjectError, TsgitError, isNotFound } from '../errors.js'
import { oidWords, oidWordsAt } from '../oid.js'
import { PackFile } from '../pack/reader.js'
import { readLoose, writeLoose } from './loose.js'
import { parseCommit, parseTag, parseTree, MODE_GITLINK } from './objects.js'
import type { LargeBlob, ObjectReader, PrefetchOptions } from './types.js'
import type { GitObject, ObjectType, Oid } from '../oid.js'

/** Faults missing objects in from promisor remotes. Implemented by the operations layer. */
export interface PromisorFetcher {
  /** Fetches `oids` (all missing locally) in as few requests as possible. Throws if any stays missing. */
  fetchMissing(oids: Oid[]): Promise<void>
  /**
   * Fetches batches (each all missing locally, none empty) in order, one request per
   * batch per remote tried, and calls `after(i)` once batch i is in; throws like
   * fetchMissing. The batches may still be in the making (an async iterable): the next
   * one is asked for while the current one is fetched. A fetcher without this is given
   * the batches one by one.
   */
  fetchBatches?(batches: AsyncIterable<Oid[]> | Iterable<Oid[]>, after: (index: number) => Promise<void>): Promise<void>
  /** Starts, in the background, what the next fetch will need first (a connection to the first remote). */
  prepare?(): void
  /** Ends whatever it kept open between fetches (called when the store closes). */
  close?(): Promise<void>
}

/** A missing object that no promisor object refers to: the repository is corrupt. */
export class CorruptRepositoryError extends TsgitError {
  readonly oid: Oid
  constructor(oid: Oid, message: string) {
    super('E_CORRUPT', message)
    this.oid = oid
  }
}

export interface ObjectStoreOptions {
  /** The lazy fetcher; undefined for a repository that is not a partial clone. */
  fetcher?: PromisorFetcher
  /**
   * The repository is a partial clone but lazy fetching was turned off
   * (GIT_NO_LAZY_FETCH=1 or --no-lazy-fetch): called once, on the first miss.
   */
  onLazyFetchDisabled?: () => void
  /**
   * The repository's shallow commits ($GIT_DIR/shallow), asked on first need: history
   * walks see them without parents (parentsOf).
   */
  shallow?: () => ReadonlySet<Oid>
  /** Alternate object directories (alternates.ts), searched after the store's own; never written. */
  alternates?: readonly string[]
}

export interface PrefetchBatch {
  /** Ids found missing (hasCached false), each once. */
  oids: Oid[]
  /** Trees naming them (for the cheap promisor check), as with prefetch(). */
  referrers?: Iterable<Oid>
}

interface LoadedPack {
  name: string
  pack: PackFile
  promisor: boolean
}

const insideFetch = new AsyncLocalStorage<boolean>()

/** Two hex digits of each byte value: a loose object's fan-out directory. */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export class ObjectStore implements ObjectReader {
  readonly objectsDir: string
  /** objectsDir, then the alternates: where objects are looked for. */
  private readonly dirs: readonly string[]
  /** Keyed by the pack's path without its extension. */
  private packs = new Map<string, LoadedPack>()
  private scanned = false
  private fetcher: PromisorFetcher | undefined
  private onLazyFetchDisabled: (() => void) | undefined
  private promisorSet: Set<Oid> | undefined
  private readonly shallowSource: (() => ReadonlySet<Oid>) | undefined
  private shallow: ReadonlySet<Oid> | undefined

  constructor(objectsDir: string, options: ObjectStoreOptions = {}) {
    this.objectsDir = objectsDir
    this.dirs = [objectsDir, ...(options.alternates ?? [])]
    this.fetcher = options.fetcher
    this.onLazyFetchDisabled = options.onLazyFetchDisabled
    this.shallowSource = options.shallow
  }

  /**
   * A commit's parents as history sees them: none for a shallow commit, whose parents
   * the repository does not have and must not fetch (git grafts them away the same way).
   */
  parentsOf(commit: Oid, parents: Oid[]): Oid[] {
    this.shallow ??= this.shallowSource?.() ?? new Set()
    return parents.length > 0 && this.shallow.has(commit) ? [] : parents
  }

  /** The repository's shallow commits changed (a fetch moved the boundary): asked again on next need. */
  shallowChanged(): void {
    this.shallow = undefined
  }

  get packDir(): string {
    return join(this.objectsDir, 'pack')
  }

  /** Sets (or clears) the lazy fetcher. */
  setFetcher(fetcher: PromisorFetcher | undefined): void {
    this.fetcher = fetcher
  }

  /** Whether a miss may be faulted in here (a fetcher is set and we are not inside a fetch). */
  get canFetch(): boolean {
    return this.fetcher !== undefined && insideFetch.getStore() !== true
  }

  /**
   * A fetch is coming (a walk has found objects to fetch, more to come): the fetcher
   * may connect to its first remote meanwhile. Does nothing when lazy fetching is off.
   */
  prepareFetch(): void {
    if (this.fetcher !== undefined) this.fetcher.prepare?.()
  }

  /** Runs `fn` with lazy fetching denied for every read it makes, however deep. */
  static withoutFetching<T>(fn: () => Promise<T>): Promise<T> {
    return insideFetch.run(true, fn)
  }

  /** mtime of each objects directory's pack/ at the last scan: a new pack is renamed into it, which changes it. */
  private packDirStamps: bigint[] = []
  private stampRacy = true
  private checkedAt = 0
  /** Names in each loose fan-out directory of each objects directory, read once (git's "quick" lookups); see refresh(). */
  private loose: Map<string, Set<string>>[] = []

  private packDirMtimes(): bigint[] {
    return this.dirs.map((dir) => {
      try {
        return statSync(join(dir, 'pack'), { bigint: true }).mtimeNs
      } catch (e) {
        if (isNotFound(e)) return -1n
        throw e
      }
    })
  }

  private stampsUnchanged(): boolean {
    const now = this.packDirMtimes()
    return now.every((m, i) => m === this.packDirStamps[i])
  }

  /**
   * Rescans the packs only if objects/pack changed: one stat instead of a readdir per
   * miss, at most every 50 ms. A stamp taken within a second of the directory's change
   * is racy (file times are coarse, another rename may share it), so then the scan is
   * done anyway.
   */
  private async rescanIfChanged(): Promise<void> {
    if (this.scanned) {
      // A walk asks about tens of thousands of absent objects in a row: look at the
      // directory at most every 50 ms (our own fetches call refresh(), and a lazy
      // fetch renews the view before it asks the network).
      const now = Date.now()
      if (now - this.checkedAt < 50) return
      this.checkedAt = now
      if (!this.stampRacy && this.stampsUnchanged()) return
    }
    await this.rescan()
  }

  /** Forgets what was cached about the object directories (after a fetch or another writer). */
  async refresh(): Promise<void> {
    this.loose = []
    await this.rescan()
  }

  /** Picks up packs that appeared since the last scan (after a fetch, or written by another process). */
  async rescan(): Promise<void> {
    this.packDirStamps = this.packDirMtimes()
    const newest = this.packDirStamps.reduce((a, b) => (a > b ? a : b), -1n)
    this.stampRacy = Date.now() - Number(newest / 1_000_000n) < 1000
    for (const dir of this.dirs) await this.scanPackDir(join(dir, 'pack'))
    this.scanned = true
  }

  private async scanPackDir(packDir: string): Promise<void> {
    let names: string[]
    try {
      names = await readdir(packDir)
    } catch (e) {
      if (isNotFound(e)) return
      throw e
    }
    for (const file of names) {
      if (!file.endsWith('.idx') || !file.startsWith('pack-')) continue
      const name = file.slice(0, -4)
      const base = join(packDir, name)
      if (this.packs.has(base)) continue
      const packPath = `${base}.pack`
      if (!existsSync(packPath)) continue
      const pack = await PackFile.open(packPath)
      const promisor = existsSync(`${base}.promisor`)
      this.packs.set(base, { name, pack, promisor })
      if (promisor) this.promisorSet = undefined
    }
  }

  private async ensureScanned(): Promise<void> {
    if (!this.scanned) await this.rescan()
  }

  /** The packs of the objects directory and of its alternates (fsck checks each whole). */
  async packFiles(): Promise<PackFile[]> {
    await this.ensureScanned()
    return [...this.packs.values()].map((p) => p.pack)
  }

  /** The id being looked up, as the words PackIndex searches with: converted once, not once per pack. */
  private readonly key = new Uint32Array(5)

  /** The pack the last lookup found its object in: asked first (objects fetched together are looked up together). */
  private lastHit: LoadedPack | undefined

  private findInPacks(oid: Oid): LoadedPack | undefined {
    if (this.packs.size === 0 || !oidWords(oid, this.key)) return undefined
    return this.findKey()
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

  /** The objects directory holding `oid` as a loose object, or undefined. */
  private looseDir(oid: Oid): string | undefined {
    const fan = oid.slice(0, 2)
    const rest = oid.slice(2)
    for (let i = 0; i < this.dirs.length; i++) {
      const names = this.looseNames(i, fan)
      if (names.size > 0 && names.has(rest)) return this.dirs[i]
    }
    return undefined
  }

  private hasLoose(oid: Oid): boolean {
    return this.looseDir(oid) !== undefined
  }

  /** The names in one loose fan-out directory (`fan`: two hex digits) of objects directory `d`, read once. */
  private looseNames(d: number, fan: string): Set<string> {
    const cache = (this.loose[d] ??= new Map())
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

  private async readLocal(oid: Oid): Promise<GitObject | undefined> {
    // One id conversion and one index search per pack (has-then-read searched twice).
    const key = Buffer.from(oid, 'hex')
    for (const p of this.packs.values()) {
      const obj = await p.pack.read(key)
      if (obj) return obj
    }
    const dir = this.looseDir(oid)
    return dir === undefined ? undefined : readLoose(dir, oid)
  }

  /** The object if it is present locally; never fetches. */
  async tryRead(oid: Oid): Promise<GitObject | undefined> {
    await this.ensureScanned()
    const obj = await this.readLocal(oid)
    if (obj) return obj
    // Another process (or our own fetch) may have added a pack since the last scan.
    await this.rescanIfChanged()
    return this.readLocal(oid)
  }

  /**
   * A blob stored whole in a pack and large (PackFile.largeBlobAt), to be written out a
   * chunk at a time; undefined when the object is not such a blob or not in a pack.
   */
  async largeBlob(oid: Oid): Promise<LargeBlob | undefined> {
    await this.ensureScanned()
    const p = this.findInPacks(oid)
    const offset = p?.pack.index.find(oid)
    return p === undefined || offset === undefined ? undefined : p.pack.largeBlobAt(offset)
  }

  /** True if the object is present locally (never fetches). */
  async has(oid: Oid): Promise<boolean> {
    await this.ensureScanned()
    if (this.hasCached(oid)) return true
    await this.rescanIfChanged()
    return this.findInPacks(oid) !== undefined
  }

  /**
   * Whether the object is present as far as the current view of the object
   * directories goes: synchronous, no rescan, never fetches (false before the first
   * scan). A false answer is worth confirming with has() or missingOf().
   */
  hasCached(oid: Oid): boolean {
    return this.scanned && (this.findInPacks(oid) !== undefined || this.hasLoose(oid))
  }

  /**
   * hasCached for the raw id at `b[at..at+20)` (inside a tree, say): no hex string is
   * made unless a loose fan-out directory holds something to compare with.
   */
  hasCachedBytes(b: Uint8Array, at: number): boolean {
    if (!this.scanned) return false
    oidWordsAt(b, at, this.key)
    if (this.findKey() !== undefined) return true
    const fan = HEX_BYTE[b[at] as number] as string
    let rest: string | undefined
    for (let d = 0; d < this.dirs.length; d++) {
      const names = this.looseNames(d, fan)
      if (names.size === 0) continue
      rest ??= Buffer.from(b.buffer, b.byteOffset + at + 1, 19).toString('hex')
      if (names.has(rest)) return true
    }
    return false
  }

  /** True if the object is in a pack that has a .promisor file. */
  async inPromisorPack(oid: Oid): Promise<boolean> {
    await this.ensureScanned()
    return this.inPromisorPackNow(oid)
  }

  private inPromisorPackNow(oid: Oid): boolean {
    if (!oidWords(oid, this.key)) return false
    for (const p of this.packs.values()) if (p.promisor && p.pack.index.hasWords(this.key)) return true
    return false
  }

  /** True if this repository has any promisor pack (it is, or was, a partial clone). */
  async hasPromisorPacks(): Promise<boolean> {
    await this.ensureScanned()
    for (const p of this.packs.values()) if (p.promisor) return true
    return false
  }

  /**
   * git's promisor objects: those in a promisor pack and those an object in a promisor
   * pack refers to. With a referrer, the cheap test is whether the referrer is in a
   * promisor pack; otherwise every object of the promisor packs is parsed once.
   */
  async isPromisorObject(oid: Oid, referrer?: Oid): Promise<boolean> {
    if (await this.inPromisorPack(oid)) return true
    if (referrer !== undefined && (await this.inPromisorPack(referrer))) return true
    return (await this.promisorObjects()).has(oid)
  }

  private async promisorObjects(): Promise<Set<Oid>> {
    await this.ensureScanned()
    if (this.promisorSet) return this.promisorSet
    const set = new Set<Oid>()
    for (const p of this.packs.values()) {
      if (!p.promisor) continue
      for (const oid of p.pack.index.oids()) {
        set.add(oid)
        const obj = await p.pack.read(oid)
        if (!obj) continue
        if (obj.type === 'commit') {
          const c = parseCommit(obj.data)
          set.add(c.tree)
          for (const parent of this.parentsOf(oid, c.parents)) set.add(parent)
        } else if (obj.type === 'tree') {
          for (const e of parseTree(obj.data, { strictNames: false })) if (e.mode !== MODE_GITLINK) set.add(e.oid)
        } else if (obj.type === 'tag') {
          set.add(parseTag(obj.data).object)
        }
      }
    }
    this.promisorSet = set
    return set
  }

  /** The missing ids of `ids` that are not promisor objects (corruption, never fetched). */
  private async nonPromisor(ids: Oid[], referrers: Oid[] | undefined): Promise<Oid[]> {
    // every referrer in a promisor pack: all of `ids` are promisor objects (a batch
    // names thousands of trees: asked synchronously, one id conversion each)
    await this.ensureScanned()
    if (referrers !== undefined && referrers.length > 0 && referrers.every((r) => this.inPromisorPackNow(r))) return []
    const out: Oid[] = []
    for (const oid of ids) if (!(await this.isPromisorObject(oid))) out.push(oid)
    return out
  }

  /** The fetcher a miss may be faulted in with here; undefined (and git's warning, once) when lazy fetching is off. */
  private usableFetcher(): PromisorFetcher | undefined {
    if (this.canFetch) return this.fetcher
    if (this.fetcher === undefined && this.onLazyFetchDisabled) {
      this.onLazyFetchDisabled()
      this.onLazyFetchDisabled = undefined
    }
    return undefined
  }

  /**
   * Of `ids` (found missing), those still missing in a renewed view of the object
   * directories: a fetch costs a round trip, the view nothing, and another process may
   * have written what we miss. Throws when one is not a promisor object.
   */
  private async toFault(ids: Oid[], referrers: Oid[] | undefined): Promise<Oid[]> {
    ids = ids.filter((oid) => !this.hasCached(oid))
    await this.checkPromisor(ids, referrers)
    return ids
  }

  /** Throws when one of the missing `ids` is not a promisor object (corruption, never fetched). */
  private async checkPromisor(ids: Oid[], referrers: Oid[] | undefined): Promise<void> {
    if (ids.length === 0) return
    const corrupt = await this.nonPromisor(ids, referrers)
    if (corrupt.length > 0) {
      const oid = corrupt[0] as Oid
      throw new CorruptRepositoryError(oid, `missing object ${oid} is not a promisor object: the repository is corrupt (it is not fetched lazily)`)
    }
  }

  /** Runs a fetch with lazy fetching denied inside it, the pack caches dropped before and the view renewed after. */
  private async fetching(fetch: () => Promise<void>): Promise<void> {
    // Indexing what arrives needs memory more than the trees a walk left cached.
    for (const p of this.packs.values()) p.pack.dropCache()
    await ObjectStore.withoutFetching(fetch)
    await this.refresh()
  }

  private async fault(ids: Oid[], referrers: Oid[] | undefined): Promise<void> {
    const fetcher = this.usableFetcher()
    if (fetcher === undefined) return
    await this.refresh()
    ids = await this.toFault(ids, referrers)
    if (ids.length > 0) await this.fetching(() => fetcher.fetchMissing(ids))
  }

  /** The object, fetched lazily where the repository allows it; MissingObjectError otherwise. */
  async read(oid: Oid, options: PrefetchOptions = {}): Promise<GitObject> {
    const obj = await this.tryRead(oid)
    if (obj) return obj
    await this.fault([oid], options.referrers ? [...options.referrers] : undefined)
    const again = await this.readLocal(oid)
    if (!again) throw new MissingObjectError(oid, `unable to read ${oid}: object is missing`)
    return again
  }

  /** Fetches every missing id of `oids` in one batch (de-duplicated). */
  async prefetch(oids: Iterable<Oid>, options: PrefetchOptions = {}): Promise<void> {
    const missing = await this.missingOf(oids)
    if (missing.length === 0) return
    await this.fault(missing, options.referrers ? [...options.referrers] : undefined)
  }

  /**
   * Fetches batches of missing ids in order, one request per batch per remote tried;
   * `after(i)` runs once batch i is in. The batches may still be in the making (a walk
   * handing them out): the next one is made while the current one is fetched, and a
   * fetcher that can asks for it before the current one has arrived. With lazy fetching
   * off nothing is fetched (the caller finds out with missingOf, in `after`).
   */
  async prefetchBatches(batches: AsyncIterable<PrefetchBatch> | Iterable<PrefetchBatch>, after: (index: number) => Promise<void>): Promise<void> {
    const fetcher = this.usableFetcher()
    if (fetcher?.fetchBatches === undefined) {
      let i = 0
      for await (const b of batches) {
        await this.prefetch(b.oids, { referrers: b.referrers })
        await after(i++)
      }
      return
    }
    const fetchBatches = fetcher.fetchBatches.bind(fetcher)
    const checked = async function* (this: ObjectStore): AsyncGenerator<Oid[]> {
      for await (const b of batches) {
        if (b.oids.length === 0) continue
        await this.checkPromisor(b.oids, b.referrers ? [...b.referrers] : undefined)
        yield b.oids
      }
    }.call(this)
    await this.fetching(() =>
      fetchBatches(checked, async (i) => {
        await this.refresh()
        await after(i)
      }),
    )
  }

  /**
   * The ids of `oids` (each found absent by hasCached) that are still missing once the
   * pack directory has been looked at again, where it changed.
   */
  async stillMissing(oids: Oid[]): Promise<Oid[]> {
    await this.ensureScanned()
    const before = this.packs.size
    await this.rescanIfChanged()
    return this.packs.size === before ? oids : oids.filter((oid) => !this.findInPacks(oid))
  }

  /** The ids of `oids` not present locally, de-duplicated, in first-seen order. */
  async missingOf(oids: Iterable<Oid>): Promise<Oid[]> {
    await this.ensureScanned()
    const seen = new Set<Oid>()
    const missing: Oid[] = []
    for (const oid of oids) {
      if (seen.has(oid)) continue
      seen.add(oid)
      if (!this.hasCached(oid)) missing.push(oid)
    }
    return missing.length === 0 ? missing : this.stillMissing(missing)
  }

  /** Object ids starting with `prefix` (at most `limit`), from packs and loose objects. */
  async findByPrefix(prefix: string, limit = 2): Promise<Oid[]> {
    await this.ensureScanned()
    const found = new Set<Oid>()
    for (const p of this.packs.values()) {
      for (const oid of p.pack.index.matchPrefix(prefix, limit)) found.add(oid)
    }
    if (prefix.length >= 2) {
      for (const dir of this.dirs) {
        try {
          for (const name of await readdir(join(dir, prefix.slice(0, 2)))) {
            const oid = prefix.slice(0, 2) + name
            if (name.length === 38 && oid.startsWith(prefix)) found.add(oid)
          }
        } catch (e) {
          if (!isNotFound(e)) throw e
        }
      }
    }
    return [...found].sort().slice(0, Math.max(limit, 2))
  }

  /** Every object id in the packs (for fsck and cat-file --batch-all-objects). */
  async *packedOids(): AsyncGenerator<{ oid: Oid; promisor: boolean }> {
    await this.ensureScanned()
    for (const p of this.packs.values()) for (const oid of p.pack.index.oids()) yield { oid, promisor: p.promisor }
  }

  async writeLoose(type: ObjectType, data: Buffer): Promise<Oid> {
    const oid = await writeLoose(this.objectsDir, type, data)
    this.loose[0]?.get(oid.slice(0, 2))?.add(oid.slice(2))
    return oid
  }

  async close(): Promise<void> {
    await this.fetcher?.close?.()
    for (const p of this.packs.values()) await p.pack.close()
    this.packs.clear()
    this.lastHit = undefined
    this.scanned = false
  }
}
