/**
 * The second half of index-pack, shared by a pack that arrived (indexer.ts) and one
 * salvaged from a file that was cut (salvage.ts): every entry of the pack file is
 * parsed and hashed already; what is left is to resolve the deltas not resolved on
 * arrival, make a thin pack complete (fix-thin.ts), write the .idx, and put the pack
 * in place (install.ts), now or when the caller says.
 */
import { unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { InterruptedError, PackError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { GitObject, ObjectType, Oid } from '../oid.js'
import type { EntryTable } from './entries.js'
import { ThinPackFixer } from './fix-thin.js'
import { OBJ_COMMIT, OBJ_TAG, OBJ_TREE, typeName } from './format.js'
import { writeIdxV2Columns } from './idx-write.js'
import { installPack, type Installed } from './install.js'
import { DEFAULT_MAX_OBJECT_SIZE } from './receive.js'
import { DEFAULT_ARENA_BYTES, DeltaResolver } from './resolve.js'
import { defaultResolveThreads, resolveInWorkers } from './resolve-workers.js'
import { createTempFile, readAt, writeAll } from './tempfile.js'

export interface FinishOptions {
  /** The repository's objects/pack directory. */
  packDir: string
  /** Write pack-<hex>.keep with this content before the pack becomes visible (unless one is there). */
  keep?: string
  /** Write pack-<hex>.promisor with this content before the pack becomes visible (unless one is there). */
  promisor?: string
  progress?: ProgressSink
  signal?: AbortSignal
  /** Bound on any single object, delta, or delta result. Default 2 GiB. */
  maxObjectSize?: number
  /** Memory for delta bases held during resolution. Default 96 MiB (git's core.deltaBaseCacheLimit). */
  baseCacheBytes?: number
  /** Memory reused for the bases and results of the second pass (arena.ts). Default 16 MiB; what does not fit gets memory of its own. */
  arenaBytes?: number
  /** A pack up to this many bytes is read back whole for delta resolution. Default 16 MiB. */
  inMemoryPackBytes?: number
  /**
   * Threads for the deltas left after the pack arrived (git's pack.threads; index-pack
   * --threads). Default: the processors there are, at most 3, as git. 1: none.
   */
  threads?: number
  /** Fewer deltas than this left after the pack arrived are resolved without threads (starting them costs more). */
  threadsMinDeltas?: number
  /**
   * Supplies REF_DELTA bases that are not in the pack (a thin pack: a fetch with
   * thin-pack, a bundle with prerequisites), whole, from the repository; undefined when
   * it has not got one (then indexing fails with a PackError naming it). Given this,
   * index-pack makes a thin pack complete, as `git index-pack --fix-thin`: every base it
   * supplied for a delta is appended to the pack as a whole object, the header's count
   * and the trailer are made anew, and the pack is named by its new checksum (which the
   * result's `checksum` is; `appendedBases` counts them). A pack that needs no base from
   * outside is left exactly as it came. Without it, a thin pack is a PackError.
   */
  resolveExternal?: (oid: Oid) => Promise<GitObject | undefined>
  /**
   * Stop once the .idx is written, with the pack and .idx under temporary names in
   * packDir: the result's install() puts them in place, its discard() removes them.
   */
  defer?: boolean
}

export interface IndexedObject {
  oid: Oid
  type: ObjectType
  offset: number
  crc32: number
}

export interface IndexPackResult {
  /** "pack-<hex>". */
  name: string
  packPath: string
  idxPath: string
  /** The .keep, when this call created it (one already there is left alone and not named). */
  keepPath?: string
  /** The .promisor, when this call created it. */
  promisorPath?: string
  /** pack-<hex>.pack and .idx were in place already: they were left as they were. */
  alreadyInstalled: boolean
  /** Hex SHA-1 trailer of the pack (with its bases appended, for a thin pack). */
  checksum: string
  /** Objects in the pack, bases appended included. */
  objectCount: number
  /** Delta bases from outside the pack appended to it, whole (resolveExternal); 0 for a pack that needed none. */
  appendedBases: number
  deltaCount: number
  /** Deltas resolved while the pack arrived (the rest were resolved after it). */
  resolvedOnArrival: number
  /** Worker threads the deltas left after arrival were resolved on; 0: none (few or no deltas left, REF_DELTA, or threads 1). */
  resolveThreads: number
  counts: Record<ObjectType, number>
  /** Every object in pack order. */
  objects(): Generator<IndexedObject>
  /** Commits, trees and tags (what a connectivity check walks), in pack order. */
  nonBlobs(): Generator<IndexedObject>
}

/**
 * A pack indexed with `defer`: packPath and idxPath are where install() puts it;
 * keepPath, promisorPath and alreadyInstalled are set by install().
 */
export interface DeferredIndexPackResult extends IndexPackResult {
  /** The pack file and its .idx under their temporary names until install() or discard(). */
  readonly pending: { packPath: string; idxPath: string }
  /** .keep/.promisor, .pack, .idx into place in that order. Once; on failure nothing is left in place and it may be tried again. */
  install(): Promise<void>
  /**
   * Removes the temporary files; after install() it does nothing (it never removes an
   * installed pack). With keepPack the pack file stays, whole, where it is (a later try
   * indexes it again instead of downloading it again).
   */
  discard(options?: { keepPack?: boolean }): Promise<void>
}

/** A pack file whose every entry is parsed and hashed, its trailer checked. */
export interface ParsedPack {
  /** The pack file, in packDir under a temporary name. */
  path: string
  /** Open on `path` for reading; finishPack closes it. */
  handle: FileHandle
  entries: EntryTable
  deltaCount: number
  resolvedOnArrival: number
  /** Length of the pack, trailer included. */
  bytes: number
  trailer: Buffer
  /** On a failure that is not the pack's fault (an abort, an I/O error), leave the file, synced, for a later try. */
  keepOnFailure: boolean
}

/**
 * A pack up to this size is read back whole for delta resolution: one sequential read
 * instead of a positional read per delta and per base (about a third of the time of
 * resolving a tree-only pack). Larger packs are read entry by entry, so memory stays
 * bounded whatever the pack's size.
 */
const IN_MEMORY_PACK_BYTES = 16 * 1024 * 1024

/**
 * Starting a thread and warming it up costs tens of milliseconds: the deltas the
 * single-threaded pass resolves in that time are not worth it.
 */
const THREADS_MIN_DELTAS = 20000

export function abortError(signal: AbortSignal): InterruptedError {
  return new InterruptedError('index-pack was aborted', { cause: signal.reason })
}

/** Whether a failure shows the pack's bytes are bad, rather than the input, the disk or the caller giving up. */
export function isCorruption(e: unknown, signal: AbortSignal | undefined): boolean {
  return e instanceof PackError && !(signal?.aborted ?? false)
}

async function removeIfThere(path: string): Promise<void> {
  await unlink(path).catch((e: unknown) => { if (!isNotFound(e)) throw e })
}

/** After a failure: the pack file is closed, then kept (synced, to be continued) or removed. */
export async function releasePackFile(file: { path: string; handle: FileHandle }, keep: boolean): Promise<void> {
  if (keep) await file.handle.sync().catch(() => {})
  await file.handle.close().catch(() => {})
  if (!keep) await unlink(file.path).catch(() => {})
}

/**
 * The second pass: the deltas not resolved on arrival, on worker threads when there are
 * enough of them. Bases from outside the pack go to `fixer` as they are fetched.
 */
async function resolveLeft(pack: ParsedPack, options: FinishOptions, fixer: ThinPackFixer | undefined): Promise<number> {
  const { signal } = options
  const table = pack.entries
  const maxObjectSize = options.maxObjectSize ?? DEFAULT_MAX_OBJECT_SIZE
  const unresolved = pack.deltaCount - pack.resolvedOnArrival
  const baseCacheBytes = options.baseCacheBytes ?? 96 * 1024 * 1024
  const threads = options.threads ?? defaultResolveThreads()
  if (threads > 1 && table.refBase.size === 0 && unresolved > 0 && unresolved >= (options.threadsMinDeltas ?? THREADS_MIN_DELTAS)) {
    await resolveInWorkers(table, pack.handle.fd, pack.deltaCount, pack.resolvedOnArrival, {
      threads, maxObjectSize, baseCacheBytes, arenaBytes: options.arenaBytes ?? DEFAULT_ARENA_BYTES,
      ...(options.progress ? { progress: options.progress } : {}),
      ...(signal ? { signal } : {}),
    })
    return threads
  }
  const packBytes = unresolved > 0 && pack.bytes <= (options.inMemoryPackBytes ?? IN_MEMORY_PACK_BYTES) ? await readAt(pack.handle, 0, pack.bytes) : undefined
  if (packBytes !== undefined && packBytes.length !== pack.bytes) throw new PackError('pack file is shorter than the bytes received')
  await new DeltaResolver(table, pack.handle, pack.deltaCount, {
    maxObjectSize,
    ...(packBytes ? { packBytes } : {}),
    baseCacheBytes,
    ...(options.arenaBytes !== undefined ? { arenaBytes: options.arenaBytes } : {}),
    ...(options.resolveExternal ? { resolveExternal: options.resolveExternal } : {}),
    ...(fixer ? { onExternalBase: (oid: Oid, base: GitObject) => fixer.append(oid, base) } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(signal ? { signal } : {}),
  }).run()
  return 0
}

function describe(pack: ParsedPack, resolveThreads: number, appendedBases: number, options: FinishOptions): IndexPackResult {
  const table = pack.entries
  const checksum = pack.trailer.toString('hex')
  const name = `pack-${checksum}`
  const result: IndexPackResult = {
    name,
    packPath: join(options.packDir, `${name}.pack`),
    idxPath: join(options.packDir, `${name}.idx`),
    alreadyInstalled: false,
    checksum,
    objectCount: table.count,
    appendedBases,
    deltaCount: pack.deltaCount,
    resolvedOnArrival: pack.resolvedOnArrival,
    resolveThreads,
    counts: { commit: 0, tree: 0, blob: 0, tag: 0 },
    *objects() {
      for (let i = 0; i < table.count; i++) {
        yield { oid: table.oid(i).toString('hex'), type: typeName(table.objType[i] as number), offset: table.offset[i] as number, crc32: table.crc[i] as number }
      }
    },
    *nonBlobs() {
      for (let i = 0; i < table.count; i++) {
        const code = table.objType[i] as number
        if (code !== OBJ_COMMIT && code !== OBJ_TREE && code !== OBJ_TAG) continue
        yield { oid: table.oid(i).toString('hex'), type: typeName(code), offset: table.offset[i] as number, crc32: table.crc[i] as number }
      }
    },
  }
  for (let i = 0; i < table.count; i++) result.counts[typeName(table.objType[i] as number)]++
  return result
}

function record(result: IndexPackResult, installed: Installed): void {
  result.packPath = installed.packPath
  result.idxPath = installed.idxPath
  result.alreadyInstalled = installed.alreadyInstalled
  if (installed.keepPath !== undefined) result.keepPath = installed.keepPath
  if (installed.promisorPath !== undefined) result.promisorPath = installed.promisorPath
}

function deferred(result: IndexPackResult, install: () => Promise<Installed>, temps: { packPath: string; idxPath: string }): DeferredIndexPackResult {
  let installing: Promise<void> | undefined
  let state: 'pending' | 'installed' | 'discarded' = 'pending'
  return Object.assign(result, {
    pending: temps,
    install(): Promise<void> {
      if (state === 'discarded') return Promise.reject(new PackError(`${result.name} was discarded, it cannot be installed`))
      installing ??= install().then(
        (installed) => {
          record(result, installed)
          state = 'installed'
        },
        (e: unknown) => {
          installing = undefined
          throw e
        },
      )
      return installing
    },
    async discard(options: { keepPack?: boolean } = {}): Promise<void> {
      await installing?.catch(() => {})
      if (state !== 'pending') return
      state = 'discarded'
      await removeIfThere(temps.idxPath)
      if (options.keepPack !== true) await removeIfThere(temps.packPath)
    },
  })
}

/**
 * Resolves the deltas left, appends the bases of a thin pack (with resolveExternal),
 * writes the .idx and installs the pack (or, with `defer`, leaves that to the result).
 * Closes the pack file. On failure the .idx temp is removed, and the pack file too
 * unless it is kept (`keepOnFailure`, and the failure is not the pack's fault): a kept
 * file is the pack as received, whatever was appended taken off again.
 */
export async function finishPack(pack: ParsedPack, options: FinishOptions & { defer: true }): Promise<DeferredIndexPackResult>
export async function finishPack(pack: ParsedPack, options: FinishOptions): Promise<IndexPackResult | DeferredIndexPackResult>
export async function finishPack(pack: ParsedPack, options: FinishOptions): Promise<IndexPackResult | DeferredIndexPackResult> {
  const { packDir, signal } = options
  const table = pack.entries
  let tmpIdx: string | undefined
  let resolveThreads: number
  // Only a pack with REF_DELTA entries can need a base from outside.
  const fixer = options.resolveExternal && table.refBase.size > 0
    ? new ThinPackFixer(pack.handle, { bytes: pack.bytes, trailer: pack.trailer, count: table.count })
    : undefined
  let done = pack
  try {
    try {
      resolveThreads = await resolveLeft(pack, options, fixer)
      if (fixer !== undefined && fixer.count > 0) done = { ...pack, ...(await fixer.complete(table, signal)) }
    } catch (e) {
      if (signal?.aborted) throw abortError(signal)
      throw e
    }
    const idx = writeIdxV2Columns({ count: table.count, oids: table.oids, offsets: table.offset, crcs: table.crc }, done.trailer)
    const f = await createTempFile(packDir, 'tmp_idx_')
    tmpIdx = f.path
    try {
      await writeAll(f.handle, idx)
      await f.handle.sync()
    } finally {
      await f.handle.close()
    }
    await pack.handle.sync()
    await pack.handle.close()
  } catch (e) {
    if (tmpIdx !== undefined) await unlink(tmpIdx).catch(() => {})
    let keep = pack.keepOnFailure && !isCorruption(e, signal)
    // A file that cannot be made the received pack again is not one to continue.
    if (keep && fixer !== undefined) keep = await fixer.restore().then(() => true, () => false)
    await releasePackFile(pack, keep)
    throw e
  }

  const result = describe(done, resolveThreads, fixer?.count ?? 0, options)
  const install = () => installPack({
    packDir, name: result.name, tmpPack: pack.path, tmpIdx: tmpIdx as string,
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
    ...(options.promisor !== undefined ? { promisor: options.promisor } : {}),
  })
  if (options.defer === true) return deferred(result, install, { packPath: pack.path, idxPath: tmpIdx })
  try {
    record(result, await install())
  } catch (e) {
    await unlink(tmpIdx).catch(() => {})
    if (!pack.keepOnFailure) await unlink(pack.path).catch(() => {})
    throw e
  }
  return result
}
