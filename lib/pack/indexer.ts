/**
 * index-pack for a pack arriving as a stream: bytes go straight to a temp file
 * in the pack directory while they are parsed and hashed, deltas are resolved
 * from that file once the stream ends, then the .idx is written and the pack
 * made visible (.keep/.promisor first, the .pack, the .idx last).
 *
 * Deviation: a thin pack (REF_DELTA against an object outside the pack) is
 * resolved through `resolveExternal`, but the external bases are not appended
 * to the pack as `git index-pack --fix-thin` does, so such a pack is only
 * usable next to the objects it refers to.
 */
import { rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { PackError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { GitObject, ObjectType, Oid } from '../odb/types.js'
import { writeIdxV2Columns } from './idx.js'
import { OBJ_COMMIT, OBJ_TAG, OBJ_TREE, typeName } from './format.js'
import type { EntryTable } from './entries.js'
import { PackReceiver } from './receive.js'
import { DEFAULT_ARENA_BYTES, DeltaResolver } from './resolve.js'
import { defaultResolveThreads, resolveInWorkers } from './resolve-workers.js'
import { createTempFile, readAt, writeAll, writeAllV } from './tempfile.js'

export interface IndexPackOptions {
  /** The repository's objects/pack directory. */
  packDir: string
  /** Write pack-<hex>.keep with this content before the pack becomes visible. */
  keep?: string
  /** Write pack-<hex>.promisor with this content before the pack becomes visible. */
  promisor?: string
  progress?: ProgressSink
  signal?: AbortSignal
  /** Bound on any single object, delta, or delta result. Default 2 GiB. */
  maxObjectSize?: number
  /** Bound on the object count the pack header may claim. Default 2^32 - 1. */
  maxObjects?: number
  /** Entries whose inflated size exceeds this are inflated as a stream. Default 64 MiB. */
  streamingThreshold?: number
  /** Memory for delta bases held during resolution. Default 96 MiB (git's core.deltaBaseCacheLimit). */
  baseCacheBytes?: number
  /** Memory for the objects just received, so that deltas on them are resolved as they arrive. Default 2 MiB; 0 turns it off. */
  recentBytes?: number
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
  /** Supplies REF_DELTA bases that are not in the pack (thin packs). */
  resolveExternal?: (oid: Oid) => Promise<GitObject | undefined>
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
  keepPath?: string
  promisorPath?: string
  /** Hex SHA-1 trailer of the pack. */
  checksum: string
  objectCount: number
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

export const DEFAULT_MAX_OBJECT_SIZE = 2 * 1024 * 1024 * 1024
export const DEFAULT_STREAMING_THRESHOLD = 64 * 1024 * 1024

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

/**
 * Objects just received are kept in a ring of this size (recent.ts): in packs from git,
 * a delta's base is nearly always within the few MiB of objects before it.
 */
const DEFAULT_RECENT_BYTES = 2 * 1024 * 1024

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * A fetch's pack comes in side-band packets of at most 8 KiB from git's upload-pack:
 * thousands of them per 50 MB. Gathered into runs of at least `min` bytes (the last may
 * be shorter), the pack costs a write (writev) and a parser call per run, not per packet.
 */
async function* coalesce(input: AsyncIterable<Uint8Array>, min: number): AsyncGenerator<Buffer[]> {
  let parts: Buffer[] = []
  let size = 0
  for await (const raw of input) {
    const b = asBuffer(raw)
    parts.push(b)
    size += b.length
    if (size >= min) {
      yield parts
      parts = []
      size = 0
    }
  }
  if (size > 0) yield parts
}

const COALESCE_BYTES = 256 * 1024

function abortError(signal: AbortSignal): PackError {
  return new PackError('index-pack was aborted', { cause: signal.reason })
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
}

/** The second pass: the deltas not resolved on arrival, on worker threads when there are enough of them. */
async function resolveLeft(table: EntryTable, pack: { handle: FileHandle }, receiver: PackReceiver, maxObjectSize: number, options: IndexPackOptions): Promise<number> {
  const { signal } = options
  const unresolved = receiver.deltaCount - receiver.resolvedOnArrival
  const baseCacheBytes = options.baseCacheBytes ?? 96 * 1024 * 1024
  const threads = options.threads ?? defaultResolveThreads()
  if (threads > 1 && table.refBase.size === 0 && unresolved > 0 && unresolved >= (options.threadsMinDeltas ?? THREADS_MIN_DELTAS)) {
    await resolveInWorkers(table, pack.handle.fd, receiver.deltaCount, receiver.resolvedOnArrival, {
      threads, maxObjectSize, baseCacheBytes, arenaBytes: options.arenaBytes ?? DEFAULT_ARENA_BYTES,
      ...(options.progress ? { progress: options.progress } : {}),
      ...(signal ? { signal } : {}),
    })
    return threads
  }
  const packBytes = unresolved > 0 && receiver.bytes <= (options.inMemoryPackBytes ?? IN_MEMORY_PACK_BYTES) ? await readAt(pack.handle, 0, receiver.bytes) : undefined
  if (packBytes !== undefined && packBytes.length !== receiver.bytes) throw new PackError('pack file is shorter than the bytes received')
  await new DeltaResolver(table, pack.handle, receiver.deltaCount, {
    maxObjectSize,
    ...(packBytes ? { packBytes } : {}),
    baseCacheBytes,
    ...(options.arenaBytes !== undefined ? { arenaBytes: options.arenaBytes } : {}),
    ...(options.resolveExternal ? { resolveExternal: options.resolveExternal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(signal ? { signal } : {}),
  }).run()
  return 0
}

/** Writes a small file via a temp file and rename; returns whether it is new. */
async function writeSpecialFile(dir: string, finalPath: string, content: string, created: string[], temps: string[]): Promise<void> {
  // git terminates a non-empty message with a newline.
  const text = content.length > 0 && !content.endsWith('\n') ? content + '\n' : content
  const tmp = await createTempFile(dir, 'tmp_special_')
  temps.push(tmp.path)
  try {
    await writeAll(tmp.handle, Buffer.from(text, 'utf8'))
  } finally {
    await tmp.handle.close()
  }
  const preexisting = await exists(finalPath)
  await rename(tmp.path, finalPath)
  temps.splice(temps.indexOf(tmp.path), 1)
  if (!preexisting) created.push(finalPath)
}

export async function indexPack(input: AsyncIterable<Uint8Array>, options: IndexPackOptions): Promise<IndexPackResult> {
  const { packDir, signal } = options
  const maxObjectSize = options.maxObjectSize ?? DEFAULT_MAX_OBJECT_SIZE
  const temps: string[] = []
  const created: string[] = []
  signal?.throwIfAborted()
  const tmpPack = await createTempFile(packDir, 'tmp_pack_')
  temps.push(tmpPack.path)
  let packOpen = true
  try {
    const receiver = new PackReceiver(
      {
        maxObjectSize,
        maxObjects: options.maxObjects ?? 0xffffffff,
        streamingThreshold: options.streamingThreshold ?? DEFAULT_STREAMING_THRESHOLD,
        recentBytes: options.recentBytes ?? DEFAULT_RECENT_BYTES,
      },
      options.progress,
    )
    // Each chunk is written while it is parsed (the write of the one before must end
    // first: writes at the file position go in order).
    let writing: Promise<void> = Promise.resolve()
    try {
      for await (const chunks of coalesce(input, COALESCE_BYTES)) {
        if (signal?.aborted) throw abortError(signal)
        await writing
        writing = writeAllV(tmpPack.handle, chunks)
        await receiver.pushAll(chunks)
      }
      await writing
    } catch (e) {
      await writing.catch(() => undefined)
      throw e
    }
    await receiver.finish()
    if (signal?.aborted) throw abortError(signal)

    const table = receiver.entries
    let resolveThreads: number
    try {
      resolveThreads = await resolveLeft(table, tmpPack, receiver, maxObjectSize, options)
    } catch (e) {
      if (signal?.aborted) throw abortError(signal)
      throw e
    }

    const trailer = receiver.trailer as Buffer
    const checksum = trailer.toString('hex')
    const name = `pack-${checksum}`
    const idx = writeIdxV2Columns({ count: table.count, oids: table.oids, offsets: table.offset, crcs: table.crc }, trailer)
    const tmpIdx = await createTempFile(packDir, 'tmp_idx_')
    temps.push(tmpIdx.path)
    try {
      await writeAll(tmpIdx.handle, idx)
      await tmpIdx.handle.sync()
    } finally {
      await tmpIdx.handle.close()
    }
    await tmpPack.handle.sync()
    await tmpPack.handle.close()
    packOpen = false

    const result: IndexPackResult = {
      name,
      packPath: join(packDir, `${name}.pack`),
      idxPath: join(packDir, `${name}.idx`),
      checksum,
      objectCount: table.count,
      deltaCount: receiver.deltaCount,
      resolvedOnArrival: receiver.resolvedOnArrival,
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

    // Order matters: whoever sees the .idx must already see the .keep/.promisor and the .pack.
    if (options.keep !== undefined) {
      result.keepPath = join(packDir, `${name}.keep`)
      await writeSpecialFile(packDir, result.keepPath, options.keep, created, temps)
    }
    if (options.promisor !== undefined) {
      result.promisorPath = join(packDir, `${name}.promisor`)
      await writeSpecialFile(packDir, result.promisorPath, options.promisor, created, temps)
    }
    for (const [tmp, finalPath] of [[tmpPack.path, result.packPath], [tmpIdx.path, result.idxPath]] as const) {
      const preexisting = await exists(finalPath)
      await rename(tmp, finalPath)
      temps.splice(temps.indexOf(tmp), 1)
      if (!preexisting) created.push(finalPath)
    }
    return result
  } catch (e) {
    if (packOpen) await tmpPack.handle.close().catch(() => {})
    for (const p of [...temps, ...created.reverse()]) await unlink(p).catch(() => {})
    if (e instanceof Error && e.name === 'AbortError' && signal?.aborted) throw abortError(signal)
    throw e
  }
}
