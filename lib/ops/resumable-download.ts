/**
 * A download into a file of the repository that a later try continues instead of
 * starting again: what the file holds is kept, the server is asked for the rest with
 * Range and If-Range (download.ts decides which answers continue the file), and what
 * was learnt of the file (its validator, its length, the bytes on disk) is kept in a
 * journal, so that a file that changed is never stitched onto one that did not.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { TsgitError, isNotFound } from '../errors.js'
import type { DownloadRecord } from '../repo/clone-state.js'
import { openDownload, type Transport, type TransportOptions } from '../transport/index.js'

/**
 * Where resumable downloads keep what they learnt (the validator for If-Range, the
 * length, the bytes on disk when they stopped). A clone keeps it in the new
 * repository's config (clone-state.ts); without one, a download still continues from
 * its file, with Range alone, as git's does.
 */
export interface DownloadJournal {
  get(key: string): DownloadRecord | undefined
  /** A download began (or began again from byte 0) with this answer. */
  started(key: string, record: DownloadRecord): Promise<void>
  /** A download stopped short with `have` bytes synced to disk. */
  stopped(key: string, have: number): Promise<void>
  /** The file is whole and used, or gone: nothing to continue. */
  forget(key: string): Promise<void>
}

export interface ContinueOptions {
  protocols: readonly string[]
  transportOptions: TransportOptions
  journal?: DownloadJournal
  /** Bytes of the body as they arrive. */
  onBytes?: (n: number) => void
  /** The whole file's length, once known. */
  onLength?: (n: number) => void
}

/** A file to complete: its first `have` bytes are on disk; `body` is the rest (empty when it is whole). */
export interface Continued {
  path: string
  /** Open for reading and writing; the caller closes it. */
  handle: FileHandle
  have: number
  body: AsyncIterable<Buffer>
  /** The URI without credentials, for messages. */
  shown: string
}

/** Opens `path` for reading and writing, creating it empty when absent. */
async function openTemp(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+')
  } catch (e) {
    if (!isNotFound(e)) throw e
    return open(path, 'wx+', 0o644)
  }
}

async function* counted(body: AsyncIterable<Buffer>, onBytes: ((n: number) => void) | undefined): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    onBytes?.(chunk.length)
    yield chunk
  }
}

async function* nothing(): AsyncGenerator<Buffer> {}

/**
 * Opens `path` (created when absent) to complete the download of `uri`, recorded in the
 * journal under `key`: checks the file against the record, asks for what is missing (no
 * request when the record says the file is whole), and truncates the file when the
 * server sends it whole again.
 */
export async function continueDownload(transport: Transport, uri: string, path: string, key: string, opts: ContinueOptions): Promise<Continued> {
  const handle = await openTemp(path)
  try {
    let have = (await handle.stat()).size
    const rec = opts.journal?.get(key)
    // What the journal says arrived must be there; a file that lost bytes, or holds more
    // than the whole, is not ours to continue.
    if (rec?.have !== undefined && have < rec.have) {
      throw new TsgitError('E_RESUME_STATE', `cannot continue the download of '${rec.uri}': ${path} holds ${have} bytes, the record says ${rec.have} arrived`)
    }
    if (rec?.length !== undefined && have > rec.length) {
      throw new TsgitError('E_RESUME_STATE', `cannot continue the download of '${rec.uri}': ${path} holds ${have} bytes, more than the file's ${rec.length}`)
    }
    const sameUri = rec === undefined || rec.uri === uri
    // Whole already (a try stopped after its last byte): nothing to ask for.
    if (sameUri && rec?.length !== undefined && have === rec.length) return { path, handle, have, body: nothing(), shown: `'${uri}'` }
    const download = await openDownload(transport, uri, opts.protocols, opts.transportOptions, {
      have,
      ...(sameUri && rec?.validator !== undefined ? { validator: rec.validator } : {}),
      ...(sameUri && rec?.length !== undefined ? { expectedLength: rec.length } : {}),
    })
    if (download.start === 0 && have > 0) {
      // The whole file comes again (Range ignored, or the file changed): never stitched.
      await handle.truncate(0)
      have = 0
    }
    if (download.length !== undefined) opts.onLength?.(download.length)
    if (opts.journal !== undefined && (rec === undefined || download.start === 0 || rec.uri !== uri || rec.validator !== download.validator)) {
      await opts.journal.started(key, {
        uri,
        ...(download.validator !== undefined ? { validator: download.validator } : {}),
        ...(download.length !== undefined ? { length: download.length } : {}),
        have,
      })
    }
    return { path, handle, have, body: download.complete ? nothing() : counted(download.body, opts.onBytes), shown: download.displayUri }
  } catch (e) {
    await handle.close().catch(() => undefined)
    throw e
  }
}
