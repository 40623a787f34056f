/**
 * What can be kept of a pack file that was cut anywhere: a connection cut, a process
 * killed, a power loss that left zeros or garbage where the last writes should be.
 *
 * The file is parsed from its start as far as whole, valid entries go: an entry is
 * whole when its zlib stream ended, inflated to the size its header declares, with
 * all its data there. A complete valid pack is indexed as it is. Otherwise the file is
 * rewritten in place into a valid pack of its first k whole entries (the count in the
 * header set to k, cut after entry k-1, a trailer computed over the new bytes) and
 * that is indexed. The header keeps its size, so every entry keeps its offset and the
 * OFS_DELTA entries among the k (whose bases always come before them) stay valid.
 *
 * Every step of the rewrite leaves a file that a later salvage makes the same pack of,
 * so a salvage cut short is only tried again.
 */
import { createHash } from 'node:crypto'
import { chmod, open, stat, unlink, type FileHandle } from 'node:fs/promises'
import { PackError } from '../errors.js'
import { abortError, finishPack, type DeferredIndexPackResult, type FinishOptions, type IndexPackResult } from './finish.js'
import { OBJ_REF_DELTA, PACK_HEADER_SIZE, PACK_TRAILER_SIZE, isDeltaType } from './format.js'
import { PackReceiver, receiveLimits, type ReceiveOptions } from './receive.js'
import { readAt, writeAll } from './tempfile.js'

export type SalvageOptions = FinishOptions & ReceiveOptions

export interface Salvaged<R extends IndexPackResult = IndexPackResult> {
  /** The pack made of what was whole; undefined when nothing was (the file is then removed). */
  result: R | undefined
  /** Entries kept (k). */
  objects: number
  /** Bytes of the file after the last entry kept that are not in the pack now (an old trailer counts, unless the file was a complete pack). */
  droppedBytes: number
}

const READ_BYTES = 256 * 1024

/** What the file holds: `whole` entries to keep, ending at `end`; `complete` when the file is a valid pack as it is. */
interface Scan {
  receiver: PackReceiver
  fileBytes: number
  whole: number
  end: number
  complete: boolean
}

async function scan(handle: FileHandle, options: SalvageOptions): Promise<Scan> {
  const { signal } = options
  const receiver = new PackReceiver(receiveLimits(options), options.progress, 'Indexing objects')
  const { size } = await handle.stat()
  try {
    for (let at = 0; at < size;) {
      if (signal?.aborted) throw abortError(signal)
      // A buffer per run: the parser may hold on to what it is given.
      const chunk = await readAt(handle, at, Math.min(READ_BYTES, size - at))
      if (chunk.length === 0) break
      at += chunk.length
      await receiver.pushAll([chunk])
    }
    await receiver.endOfInput()
  } catch (e) {
    // A PackError is the first entry that is not whole: the ones before it are what is kept.
    if (!(e instanceof PackError) || (signal?.aborted ?? false)) throw e
  } finally {
    receiver.abandon()
  }
  const t = receiver.entries
  // Only the last entry recorded can be unfinished (cut, or refused after it was recorded): it has no end yet.
  let whole = 0
  while (whole < t.count && (t.end[whole] as number) > 0) whole++
  const endOf = (count: number) => count > 0 ? (t.end[count - 1] as number) : PACK_HEADER_SIZE
  // Complete but for bytes after its trailer: still a whole pack, only cut short of them.
  const complete = receiver.complete && endOf(whole) + PACK_TRAILER_SIZE === size
  if (!receiver.complete) {
    // upload-pack asked for ofs-delta names a base by id only when it is outside the
    // pack (a thin pack): what follows a REF_DELTA may need an object this repository
    // has not got, so a cut pack is kept only up to the first one.
    for (let i = 0; i < whole; i++) {
      if (t.packType[i] === OBJ_REF_DELTA) {
        whole = i
        break
      }
    }
  }
  return { receiver, fileBytes: size, whole, end: endOf(whole), complete }
}

/** Makes the file a pack of the first `count` entries, which end at `end`; returns its trailer. */
async function rewrite(handle: FileHandle, count: number, end: number): Promise<Buffer> {
  const header = await readAt(handle, 0, PACK_HEADER_SIZE)
  header.writeUInt32BE(count, 8)
  await handle.truncate(end)
  await writeAll(handle, header, 0)
  const sha = createHash('sha1').update(header)
  const buf = Buffer.allocUnsafe(1024 * 1024)
  for (let at = PACK_HEADER_SIZE; at < end;) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, end - at), at)
    if (bytesRead === 0) throw new PackError(`pack file ended at ${at} bytes while rewriting it, before ${end}`)
    sha.update(buf.subarray(0, bytesRead))
    at += bytesRead
  }
  const trailer = sha.digest()
  await writeAll(handle, trailer, end)
  await handle.sync()
  return trailer
}

/**
 * The file, open for writing. index-pack's temp files are read-only (git's, and tsgit's
 * own when not made to be continued): one a killed process left is given back its
 * owner's write permission, which it would lose again when installed.
 */
async function openForRewrite(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+')
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== 'EACCES') throw e
    const { mode } = await stat(path)
    if ((mode & 0o200) !== 0) throw e
    await chmod(path, (mode & 0o7777) | 0o200)
    return open(path, 'r+')
  }
}

/**
 * Salvages the pack file at `path` (in options.packDir, owned by this process) and
 * indexes what it keeps, as indexPack would: the pack is renamed into place as
 * pack-<sum>.pack with the options' .keep/.promisor, or left to the result's install()
 * with `defer`. Nothing whole → the file is removed. A failure of the disk or an abort
 * leaves the file for a later try; a delta among the entries kept that does not apply
 * (bytes that are not a pack) removes it, as indexPack does.
 */
export async function salvagePack(path: string, options: SalvageOptions & { defer: true }): Promise<Salvaged<DeferredIndexPackResult>>
export async function salvagePack(path: string, options: SalvageOptions): Promise<Salvaged>
export async function salvagePack(path: string, options: SalvageOptions): Promise<Salvaged> {
  options.signal?.throwIfAborted()
  const handle = await openForRewrite(path)
  let found: Scan
  let trailer: Buffer
  try {
    found = await scan(handle, options)
    if (found.whole === 0) {
      await handle.close()
      await unlink(path)
      return { result: undefined, objects: 0, droppedBytes: found.fileBytes }
    }
    trailer = found.complete ? (found.receiver.trailer as Buffer) : await rewrite(handle, found.whole, found.end)
  } catch (e) {
    await handle.close().catch(() => {})
    throw e
  }
  const { receiver, whole, end } = found
  const t = receiver.entries
  t.truncate(whole)
  let deltaCount = 0
  let resolvedOnArrival = 0
  for (let i = 0; i < whole; i++) {
    if (!isDeltaType(t.packType[i] as number)) continue
    deltaCount++
    if (t.objType[i] !== 0) resolvedOnArrival++
  }
  options.progress?.progress({ title: 'Indexing objects', current: whole, total: whole, bytes: end + PACK_TRAILER_SIZE, done: true })
  const result = await finishPack({
    path, handle, entries: t, deltaCount, resolvedOnArrival, bytes: end + PACK_TRAILER_SIZE, trailer, keepOnFailure: true,
  }, options)
  return { result, objects: whole, droppedBytes: found.complete ? 0 : found.fileBytes - end }
}
