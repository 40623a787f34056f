/**
 * packfile-uris (gitprotocol-v2, Documentation/technical/packfile-uri.txt): a server may
 * leave objects out of the pack it sends and name, instead, packs to download from
 * elsewhere (a CDN), each with its checksum. Asked for only when the user lists the
 * protocols they allow in fetch.uriProtocols, as git does.
 *
 * A named pack is downloaded into objects/pack/pack-<checksum>.pack.temp (the name git
 * 2.39's fetch gives it too, so either can continue what the other began) and indexed
 * as it arrives. A download cut short leaves that file: the next try asks for the rest
 * with a Range request (download.ts says which answers are taken), so no byte is
 * downloaded twice; a pack already installed is not downloaded at all. Its checksum must
 * be the one the server named.
 */
import { open, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { TsgitError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { indexPack, type IndexPackResult } from '../pack/indexer.js'
import type { Capabilities, FetchArgs, PackfileUri } from '../protocol/index.js'
import type { ConfigReader } from '../repo/config.js'
import type { DownloadRecord } from '../repo/clone-state.js'
import { openDownload, type Transport, type TransportOptions } from '../transport/index.js'

/** The schemes tsgit downloads packfile URIs over. */
const DOWNLOADABLE = ['http', 'https']

/** How many named packs download at once, unless fetch.uriConcurrency says otherwise. */
export const DEFAULT_URI_CONCURRENCY = 3

/**
 * fetch.uriProtocols: the protocols a packfile URI may use, of those tsgit can download
 * (http, https); none: packfile-uris is not asked for. Others are dropped with a warning,
 * so the server is never told tsgit takes a URI it cannot.
 */
export function uriProtocols(config: ConfigReader, sink?: ProgressSink): string[] {
  const v = config.getString('fetch.uriProtocols')
  if (v === undefined) return []
  const listed = [...new Set(v.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0))]
  const usable = listed.filter((p) => DOWNLOADABLE.includes(p))
  for (const p of listed) if (!usable.includes(p)) sink?.warn(`ignoring '${p}' in fetch.uriProtocols: tsgit downloads packfile URIs over http and https only`)
  return usable
}

/** fetch.uriConcurrency: how many named packs download at once (at least 1). */
export function uriConcurrency(config: ConfigReader): number {
  const n = config.getInt('fetch.uriConcurrency')
  return n === undefined || n < 1 ? DEFAULT_URI_CONCURRENCY : n
}

/** The fetch arguments that ask for packfile URIs, when the user allows some protocol and the server offers them. */
export function packfileUriArgs(caps: Capabilities, protocols: readonly string[]): Pick<FetchArgs, 'packfileUriProtocols' | 'sidebandAll'> {
  const features = caps.commandFeatures('fetch')
  if (protocols.length === 0 || !features.has('packfile-uris')) return {}
  // git 2.39's upload-pack names packs only to a client that asked for sideband-all.
  return { packfileUriProtocols: protocols, ...(features.has('sideband-all') ? { sidebandAll: true } : {}) }
}

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
  /** The file is whole and installed, or gone: nothing to continue. */
  forget(key: string): Promise<void>
}

export interface NamedPackOptions {
  packDir: string
  keep?: string
  promisor?: string
  protocols: readonly string[]
  transportOptions: TransportOptions
  /** Progress of this pack's objects; bytes go to `onBytes`. */
  progress: ProgressSink
  signal?: AbortSignal
  threads?: number
  journal?: DownloadJournal
  /** Bytes of the body as they arrive (clone's bytes received, the downloads' progress). */
  onBytes?: (n: number) => void
  /** The length of the whole file, once the answer says it. */
  onLength?: (n: number) => void
}

/** A named pack downloaded and indexed, not yet installed; or one that was installed already. */
export type NamedPack = { installed: true; name: string } | { installed: false; pack: IndexPackResult }

/** Opens `path` for reading and writing, creating it empty when absent. */
async function openTemp(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+')
  } catch (e) {
    if (!isNotFound(e)) throw e
    return open(path, 'wx+', 0o644)
  }
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

async function* counted(body: AsyncIterable<Buffer>, onBytes: ((n: number) => void) | undefined): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    onBytes?.(chunk.length)
    yield chunk
  }
}

async function* nothing(): AsyncGenerator<Buffer> {}

/** Indexes a named pack from its .temp file and `body` (what comes after `have`); deferred, its checksum the one named. */
async function indexNamedPack(body: AsyncIterable<Buffer>, file: { path: string; handle: FileHandle; have: number }, hash: string, shown: string, opts: NamedPackOptions): Promise<NamedPack> {
  try {
    const pack = await indexPack(body, {
      packDir: opts.packDir,
      ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
      ...(opts.promisor !== undefined ? { promisor: opts.promisor } : {}),
      progress: opts.progress,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads, threadsMinDeltas: 0 } : {}),
      target: { ...file, keepOnFailure: true },
      defer: true,
      expectedChecksum: hash,
    })
    return { installed: false, pack }
  } catch (e) {
    if (await exists(file.path)) await opts.journal?.stopped(hash, (await stat(file.path)).size).catch(() => undefined)
    else await opts.journal?.forget(hash).catch(() => undefined)
    if (e instanceof TsgitError && e.code === 'E_PACK' && /differs from the expected/.test(e.message)) {
      throw new TsgitError('E_PACKFILE_URI', `fetch-pack: pack downloaded from ${shown} does not match expected hash ${hash}`, { cause: e })
    }
    throw e
  }
}

/**
 * Downloads the pack `named` names, continuing what an earlier try left in
 * pack-<hash>.pack.temp, and indexes it (deferred: the caller installs it once every
 * pack of the fetch is in). A wrong checksum removes the file and is fatal, as in git;
 * anything else that stops the download leaves the file for the next try.
 */
export async function downloadNamedPack(transport: Transport, named: PackfileUri, opts: NamedPackOptions): Promise<NamedPack> {
  const { hash, uri } = named
  const name = `pack-${hash}`
  const base = join(opts.packDir, name)
  if ((await exists(`${base}.pack`)) && (await exists(`${base}.idx`))) return { installed: true, name }
  const path = `${base}.pack.temp`
  const handle = await openTemp(path)
  let closed = false
  try {
    let have = (await handle.stat()).size
    const rec = opts.journal?.get(hash)
    // What the journal says arrived must be there; a file that lost bytes, or holds more
    // than the whole, is not ours to continue.
    if (rec?.have !== undefined && have < rec.have) {
      throw new TsgitError('E_RESUME_STATE', `cannot continue the download of '${rec.uri}': ${path} holds ${have} bytes, the record says ${rec.have} arrived`)
    }
    if (rec?.length !== undefined && have > rec.length) {
      throw new TsgitError('E_RESUME_STATE', `cannot continue the download of '${rec.uri}': ${path} holds ${have} bytes, more than the file's ${rec.length}`)
    }
    const sameUri = rec === undefined || rec.uri === uri
    if (sameUri && rec?.length !== undefined && have === rec.length) {
      // Whole already (a try stopped after its last byte): indexed from the file, its
      // checksum checked, without asking the server anything.
      closed = true // (the indexer closes it)
      return await indexNamedPack(nothing(), { path, handle, have }, hash, `'${uri}'`, opts)
    }
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
      await opts.journal.started(hash, {
        uri,
        ...(download.validator !== undefined ? { validator: download.validator } : {}),
        ...(download.length !== undefined ? { length: download.length } : {}),
        have,
      })
    }
    const body = download.complete ? nothing() : counted(download.body, opts.onBytes)
    closed = true // (the indexer closes it)
    return await indexNamedPack(body, { path, handle, have }, hash, download.displayUri, opts)
  } finally {
    if (!closed) await handle.close().catch(() => undefined)
  }
}
