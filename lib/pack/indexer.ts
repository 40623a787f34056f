/**
 * index-pack for a pack arriving as a stream: bytes go straight to a file in the pack
 * directory while they are parsed and hashed; once the stream ends, finish.ts resolves
 * the deltas left, writes the .idx and makes the pack visible (.keep/.promisor first,
 * the .pack, the .idx last).
 *
 * The file may hold the start of the pack already (`target`: a download cut earlier,
 * continued with an HTTP Range request): those bytes are parsed from the file a chunk
 * at a time, not written again, and what arrives is written after them.
 *
 * A thin pack (REF_DELTA against objects outside the pack) is made complete, as
 * `git index-pack --stdin --fix-thin` does, when `resolveExternal` is given: the bases
 * it supplies are appended to the pack (fix-thin.ts), which is then named by its new
 * checksum. Deviation: the appended objects are deflated at the level git uses, but by
 * Node's zlib, whose output is not the system zlib's: the pack's bytes, and so its name,
 * may differ from what `git index-pack --fix-thin` writes for the same input. The
 * objects, their order, and the offset of the first appended one are the same.
 */
import type { FileHandle } from 'node:fs/promises'
import { PackError } from '../errors.js'
import { abortError, finishPack, releasePackFile, type DeferredIndexPackResult, type FinishOptions, type IndexPackResult, type ParsedPack } from './finish.js'
import { PackReceiver, receiveLimits, type ReceiveOptions } from './receive.js'
import { createTempFile, readAt, writeAllV } from './tempfile.js'

export { DEFAULT_MAX_OBJECT_SIZE, DEFAULT_STREAMING_THRESHOLD } from './receive.js'
export type { DeferredIndexPackResult, IndexedObject, IndexPackResult } from './finish.js'

/** A pack file begun by an earlier try, to be continued. */
export interface PackTarget {
  /** A file in packDir, open for reading and writing, whose first `have` bytes are the start of this pack. */
  path: string
  handle: FileHandle
  /** Bytes past these in the file are dropped (written again from the input). */
  have: number
  /**
   * On a failure of the input (a cut connection, an abort, an input that ends too soon)
   * or of the disk, leave the file, synced, for a later try to continue; bytes that fail
   * to parse as a pack (corruption) still remove it.
   */
  keepOnFailure: boolean
}

export interface IndexPackOptions extends FinishOptions, ReceiveOptions {
  /** Continue the pack in this file, rather than write it to a temp file of its own. The handle is closed whatever happens. */
  target?: PackTarget
  /**
   * The pack's checksum (hex) as named in advance (a packfile URI's line): another is an
   * error, and the file is removed. It is the trailer of the pack as received, checked
   * before any base is appended to a thin pack (the result's checksum is then another).
   */
  expectedChecksum?: string
}

/**
 * A file in packDir for a pack that may have to be continued by a later process (a
 * PackTarget). Its owner may write it (0o644, less the umask) where the temp files of
 * index-pack are read-only: reopening it for writing must not need root.
 */
export function createResumablePackFile(packDir: string): Promise<{ path: string; handle: FileHandle }> {
  return createTempFile(packDir, 'tmp_pack_', 0o644)
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * A fetch's pack comes in side-band packets of at most 8 KiB from git's upload-pack:
 * thousands of them per 50 MB. Gathered into runs of at least `min` bytes (the last may
 * be shorter), the pack costs a write (writev) and a parser call per run, not per packet.
 * A run is let go sooner once its first packet has waited `maxMs`, whether more comes or
 * not: on a slow link the objects are parsed, and the progress line moves, as they come;
 * on a stalled one what came is in the file, where a process killed while it waits
 * leaves it for the next try. When the input fails, what was gathered still comes out
 * first: it arrived, and a pack kept to be continued must have it.
 */
async function* coalesce(input: AsyncIterable<Uint8Array>, min: number, maxMs: number): AsyncGenerator<Buffer[]> {
  const it = input[Symbol.asyncIterator]()
  let parts: Buffer[] = []
  let size = 0
  let since = 0
  /** The input's next chunk, asked for and not come yet (when a run went while it waited). */
  let next: Promise<IteratorResult<Uint8Array>> | undefined
  let ended = false
  try {
    for (;;) {
      next ??= it.next()
      let r: IteratorResult<Uint8Array> | undefined
      try {
        r = size === 0 ? await next : await within(next, since + maxMs - Date.now())
      } catch (e) {
        ended = true
        throw e
      }
      if (r !== undefined) next = undefined
      if (r?.done === true) {
        ended = true
        break
      }
      if (r !== undefined) {
        const b = asBuffer(r.value)
        if (parts.length === 0) since = Date.now()
        parts.push(b)
        size += b.length
      }
      if (size > 0 && (r === undefined || size >= min || Date.now() - since >= maxMs)) {
        yield parts
        parts = []
        size = 0
      }
    }
  } catch (e) {
    if (size > 0) yield parts
    throw e
  } finally {
    if (!ended) {
      // The reader stopped early. A chunk still awaited is not waited for (a stalled
      // input may never send it): the input is told to stop, and ends when it can.
      const pending = next
      const stopping = it.return?.(undefined)
      if (pending === undefined) await stopping
      else {
        pending.catch(() => undefined)
        stopping?.catch(() => undefined)
      }
    }
  }
  if (size > 0) yield parts
}

/** `p`'s value, or undefined when it has not come within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms <= 0) return Promise.race([p, Promise.resolve(undefined)])
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}

const COALESCE_BYTES = 256 * 1024

/** A tenth of a second: what a person watching the line would call "at once". */
const COALESCE_MS = 100

/** Parses the first `have` bytes of the target, read a run at a time. */
async function parsePrefix(target: PackTarget, parse: (chunks: Buffer[]) => Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  for (let at = 0; at < target.have;) {
    if (signal?.aborted) throw abortError(signal)
    // A buffer per run: the parser may hold on to what it is given.
    const chunk = await readAt(target.handle, at, Math.min(COALESCE_BYTES, target.have - at))
    if (chunk.length === 0) throw new PackError(`${target.path} ended at ${at} bytes, before the ${target.have} to continue from`)
    at += chunk.length
    await parse([chunk])
  }
}

export async function indexPack(input: AsyncIterable<Uint8Array>, options: IndexPackOptions & { defer: true }): Promise<DeferredIndexPackResult>
export async function indexPack(input: AsyncIterable<Uint8Array>, options: IndexPackOptions): Promise<IndexPackResult>
export async function indexPack(input: AsyncIterable<Uint8Array>, options: IndexPackOptions): Promise<IndexPackResult> {
  const { packDir, signal, target } = options
  if (target === undefined) signal?.throwIfAborted()
  const file = target ?? (await createTempFile(packDir, 'tmp_pack_'))
  const have = target?.have ?? 0
  // Whether the failure, if any, is the bytes' fault: a file kept to be continued must hold the start of a pack.
  let corrupt = false
  let parsed: ParsedPack
  try {
    if (signal?.aborted) throw abortError(signal)
    const receiver = new PackReceiver(receiveLimits(options), options.progress, undefined, options.onObject)
    const parse = (chunks: Buffer[]) => receiver.pushAll(chunks).catch((e: unknown) => {
      corrupt = e instanceof PackError
      throw e
    })
    if (target) {
      const { size } = await target.handle.stat()
      if (size < have) throw new PackError(`${target.path} has ${size} bytes, fewer than the ${have} to continue from`)
      if (size > have) await target.handle.truncate(have)
      await parsePrefix(target, parse, signal)
    }
    // Each chunk is written while it is parsed (the write of the one before must end first).
    let position = have
    let writing: Promise<void> = Promise.resolve()
    try {
      for await (const chunks of coalesce(input, COALESCE_BYTES, COALESCE_MS)) {
        await writing
        writing = writeAllV(file.handle, chunks, position)
        for (const c of chunks) position += c.length
        // Checked once the chunks are on their way to the file, where a pack kept for later wants them.
        if (signal?.aborted) throw abortError(signal)
        await parse(chunks)
      }
      await writing
    } catch (e) {
      await writing.catch(() => undefined)
      throw e
    }
    await receiver.endOfInput().catch((e: unknown) => {
      corrupt = e instanceof PackError
      throw e
    })
    // Not complete now: the input ended too soon. finish() says where.
    await receiver.finish()
    if (signal?.aborted) throw abortError(signal)

    const trailer = receiver.trailer as Buffer
    const expected = options.expectedChecksum?.toLowerCase()
    if (expected !== undefined && trailer.toString('hex') !== expected) {
      corrupt = true
      throw new PackError(`pack checksum ${trailer.toString('hex')} differs from the expected ${expected}`)
    }
    parsed = {
      path: file.path,
      handle: file.handle,
      entries: receiver.entries,
      deltaCount: receiver.deltaCount,
      resolvedOnArrival: receiver.resolvedOnArrival,
      bytes: receiver.bytes,
      trailer,
      keepOnFailure: target?.keepOnFailure ?? false,
    }
  } catch (e) {
    await releasePackFile(file, (target?.keepOnFailure ?? false) && !corrupt)
    if (e instanceof Error && e.name === 'AbortError' && signal?.aborted) throw abortError(signal)
    throw e
  }
  return finishPack(parsed, options)
}
