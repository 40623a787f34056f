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
import { stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { TsgitError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { indexPack, type IndexPackResult } from '../pack/indexer.js'
import type { Capabilities, FetchArgs, PackfileUri } from '../protocol/index.js'
import type { ConfigReader } from '../repo/config.js'
import type { Transport, TransportOptions } from '../transport/index.js'
import { continueDownload, type DownloadJournal } from './resumable-download.js'
import { pathExists } from '../files.js'

export type { DownloadJournal } from './resumable-download.js'

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
    if (await pathExists(file.path)) await opts.journal?.stopped(hash, (await stat(file.path)).size).catch(() => undefined)
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
  if ((await pathExists(`${base}.pack`)) && (await pathExists(`${base}.idx`))) return { installed: true, name }
  const d = await continueDownload(transport, uri, `${base}.pack.temp`, hash, opts)
  // (the indexer closes the file)
  return indexNamedPack(d.body, d, hash, d.shown, opts)
}
