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
 * (alternates.ts), in that order; they are only ever written to its own. The packs
 * (pack-dir.ts), the loose objects (loose-cache.ts) and the promisor objects, which
 * decide what a miss may fetch (promisor-set.ts), each have a module of their own.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { join } from 'node:path'
import { MissingObjectError, TsgitError } from '../errors.js'
import { writeLoose } from './loose.js'
import { LooseCache } from './loose-cache.js'
import { PackDirectory } from './pack-dir.js'
import { PromisorSet } from './promisor-set.js'
import type { PackFile } from '../pack/reader.js'
import type { LargeBlob, ObjectReader, PrefetchOptions } from './types.js'
import type { GitObject, ObjectObserver, ObjectType, Oid } from '../oid.js'

/** Faults missing objects in from promisor remotes. Implemented by the operations layer. */
export interface PromisorFetcher {
  /** Fetches `oids` (all missing locally) in as few requests as possible. Throws if any stays missing. */
  fetchMissing(oids: Oid[], options?: { onObject?: ObjectObserver }): Promise<void>
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

/**
 * A missing object that is not a promisor object, in a repository where every object
 * it lacks is one (promisor-set.ts): the repository is corrupt, or never had it.
 */
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

const insideFetch = new AsyncLocalStorage<boolean>()
/** withoutFetching runs not yet settled. */
let runsWithoutFetching = 0

export class ObjectStore implements ObjectReader {
  readonly objectsDir: string
  private readonly packs: PackDirectory
  private readonly loose: LooseCache
  private readonly promisor: PromisorSet
  private fetcher: PromisorFetcher | undefined
  private onLazyFetchDisabled: (() => void) | undefined
  private readonly shallowSource: (() => ReadonlySet<Oid>) | undefined
  private shallow: ReadonlySet<Oid> | undefined

  constructor(objectsDir: string, options: ObjectStoreOptions = {}) {
    this.objectsDir = objectsDir
    const dirs = [objectsDir, ...(options.alternates ?? [])]
    this.packs = new PackDirectory(dirs)
    this.loose = new LooseCache(dirs)
    this.promisor = new PromisorSet({
      packs: this.packs,
      present: (oid) => this.hasCached(oid),
      parentsOf: (commit, parents) => this.parentsOf(commit, parents),
    })
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

  /**
   * Runs `fn` with lazy fetching denied for every read it makes, however deep. While an
   * AsyncLocalStorage is on, Node runs its hooks for every promise made (a checkout's
   * writes after its lazy fetch: ~8% of that step's CPU time), so it is turned off once
   * no such run is left; work that `fn` leaves running past its end is not covered.
   */
  static async withoutFetching<T>(fn: () => Promise<T>): Promise<T> {
    runsWithoutFetching++
    try {
      return await insideFetch.run(true, fn)
    } finally {
      if (--runsWithoutFetching === 0) insideFetch.disable()
    }
  }

  /** Forgets what was cached about the object directories (after a fetch or another writer). */
  async refresh(): Promise<void> {
    this.loose.forget()
    await this.packs.rescan()
  }

  /**
   * Lets go of the objects the packs keep inflated (the bases and trees a walk left, the
   * small packs read whole): before work that needs the memory more, such as indexing a
   * pack that arrives or a checkout.
   */
  dropCaches(): void {
    this.packs.dropCaches()
  }

  /** Picks up packs that appeared since the last scan (after a fetch, or written by another process). */
  async rescan(): Promise<void> {
    await this.packs.rescan()
  }

  /** The packs of the objects directory and of its alternates (fsck checks each whole). */
  async packFiles(): Promise<PackFile[]> {
    await this.packs.ensureScanned()
    return this.packs.files()
  }

  private async readLocal(oid: Oid): Promise<GitObject | undefined> {
    const packed = await this.packs.read(oid)
    if (packed) return packed
    if (!this.loose.has(oid)) return undefined
    const obj = await this.loose.read(oid)
    if (obj) return obj
    // Listed but gone: git gc packed it and removed the file; the pack is new.
    await this.packs.rescan()
    return this.packs.read(oid)
  }

  /** The object if it is present locally; never fetches. */
  async tryRead(oid: Oid): Promise<GitObject | undefined> {
    await this.packs.ensureScanned()
    const obj = await this.readLocal(oid)
    if (obj) return obj
    // Another process (or our own fetch) may have written it since we last looked.
    await this.packs.rescanIfChanged()
    this.loose.recheck(oid)
    return this.readLocal(oid)
  }

  /**
   * A blob stored whole in a pack and large (PackFile.largeBlobAt), to be written out a
   * chunk at a time; undefined when the object is not such a blob or not in a pack.
   */
  async largeBlob(oid: Oid): Promise<LargeBlob | undefined> {
    await this.packs.ensureScanned()
    return this.packs.largeBlob(oid)
  }

  /**
   * True if the object is present locally (never fetches). A miss looks again: at the
   * pack directories (when they changed, at most every 50 ms) and at the object's own
   * loose path, which another process may have written since.
   */
  async has(oid: Oid): Promise<boolean> {
    await this.packs.ensureScanned()
    if (this.hasCached(oid)) return true
    await this.packs.rescanIfChanged()
    return this.packs.has(oid) || this.loose.recheck(oid)
  }

  /**
   * Whether the object is present as far as the current view of the object
   * directories goes: synchronous, no rescan, never fetches (false before the first
   * scan). A false answer is worth confirming with has() or missingOf().
   */
  hasCached(oid: Oid): boolean {
    return this.packs.isScanned && (this.packs.has(oid) || this.loose.has(oid))
  }

  /**
   * hasCached for the raw id at `b[at..at+20)` (inside a tree, say): no hex string is
   * made unless a loose fan-out directory holds something to compare with.
   */
  hasCachedBytes(b: Uint8Array, at: number): boolean {
    return this.packs.isScanned && (this.packs.hasBytes(b, at) || this.loose.hasBytes(b, at))
  }

  /** True if the object is in a pack that has a .promisor file. */
  async inPromisorPack(oid: Oid): Promise<boolean> {
    await this.packs.ensureScanned()
    return this.promisor.inPromisorPack(oid)
  }

  /** True if this repository has any promisor pack (it is, or was, a partial clone). */
  async hasPromisorPacks(): Promise<boolean> {
    await this.packs.ensureScanned()
    return this.packs.hasPromisorPacks()
  }

  /**
   * git's promisor objects: those in a promisor pack and those an object in a promisor
   * pack refers to. With a referrer, the cheap test is whether the referrer is in a
   * promisor pack; otherwise every object of the promisor packs is parsed once.
   */
  async isPromisorObject(oid: Oid, referrer?: Oid): Promise<boolean> {
    await this.packs.ensureScanned()
    return this.promisor.isPromisorObject(oid, referrer)
  }

  /**
   * Whether a lazy fetch would ask for the missing `oid` rather than call it corrupt: a
   * promisor object, or any object once a promisor object refers to a missing tree or
   * commit (promisor-set.ts). Whether lazy fetching is on is canFetch's question.
   */
  async mayFetch(oid: Oid, referrer?: Oid): Promise<boolean> {
    await this.packs.ensureScanned()
    return this.promisor.mayFetch(oid, referrer)
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

  /** Throws when one of the missing `ids` must not be fetched (promisor-set.ts says which). */
  private async checkFetchable(ids: Oid[], referrers: Iterable<Oid> | undefined): Promise<void> {
    if (ids.length === 0) return
    await this.packs.ensureScanned()
    const oid = (await this.promisor.refused(ids, referrers ? [...referrers] : undefined))[0]
    if (oid !== undefined) {
      throw new CorruptRepositoryError(oid, `missing object ${oid} is not a promisor object: the repository is corrupt, or never had it (it is not fetched lazily)`)
    }
  }

  /** Runs a fetch with lazy fetching denied inside it, the pack caches dropped before and the view renewed after. */
  private async fetching(fetch: () => Promise<void>): Promise<void> {
    // Indexing what arrives needs memory more than the trees a walk left cached.
    this.dropCaches()
    await ObjectStore.withoutFetching(fetch)
    await this.refresh()
  }

  private async fault(ids: Oid[], referrers: Iterable<Oid> | undefined, onObject?: ObjectObserver): Promise<void> {
    const fetcher = this.usableFetcher()
    if (fetcher === undefined) return
    // A fetch costs a round trip, a renewed view nothing, and another process may have
    // written what we miss.
    await this.refresh()
    ids = ids.filter((oid) => !this.hasCached(oid))
    await this.checkFetchable(ids, referrers)
    if (ids.length > 0) await this.fetching(() => fetcher.fetchMissing(ids, onObject !== undefined ? { onObject } : {}))
  }

  /** The object, fetched lazily where the repository allows it; MissingObjectError otherwise. */
  async read(oid: Oid, options: PrefetchOptions = {}): Promise<GitObject> {
    const obj = await this.tryRead(oid)
    if (obj) return obj
    await this.fault([oid], options.referrers)
    const again = await this.readLocal(oid)
    if (!again) throw new MissingObjectError(oid, `unable to read ${oid}: object is missing`)
    return again
  }

  /** Fetches every missing id of `oids` in one batch (de-duplicated). */
  async prefetch(oids: Iterable<Oid>, options: PrefetchOptions = {}): Promise<void> {
    const missing = await this.missingOf(oids)
    if (missing.length === 0) return
    await this.fault(missing, options.referrers, options.onObject)
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
        await this.checkFetchable(b.oids, b.referrers)
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
   * object directories have been looked at again: where the packs changed, and each
   * id's loose path. A walk asks this for each tree's blobs, so the look is taken at
   * most every 50 ms (the pack directory's pace); in between `oids` come back as given.
   */
  async stillMissing(oids: Oid[]): Promise<Oid[]> {
    await this.packs.ensureScanned()
    if (!(await this.packs.rescanIfChanged())) return oids
    const unpacked = oids.filter((oid) => !this.packs.has(oid))
    const loose = this.loose.recheckMany(unpacked)
    return loose.size === 0 ? unpacked : unpacked.filter((oid) => !loose.has(oid))
  }

  /** The ids of `oids` not present locally, de-duplicated, in first-seen order. */
  async missingOf(oids: Iterable<Oid>): Promise<Oid[]> {
    await this.packs.ensureScanned()
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
    await this.packs.ensureScanned()
    const found = new Set<Oid>([...this.packs.matchPrefix(prefix, limit), ...(await this.loose.matchPrefix(prefix))])
    return [...found].sort().slice(0, Math.max(limit, 2))
  }

  /** Every object id in the packs (for fsck and cat-file --batch-all-objects). */
  async *packedOids(): AsyncGenerator<{ oid: Oid; promisor: boolean }> {
    await this.packs.ensureScanned()
    yield* this.packs.oids()
  }

  async writeLoose(type: ObjectType, data: Buffer): Promise<Oid> {
    const oid = await writeLoose(this.objectsDir, type, data)
    this.loose.added(oid)
    return oid
  }

  async close(): Promise<void> {
    await this.fetcher?.close?.()
    await this.packs.close()
  }
}
