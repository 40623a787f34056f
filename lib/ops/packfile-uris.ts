/**
 * packfile-uris (gitprotocol-v2, Documentation/technical/packfile-uri.txt): a server may
 * leave objects out of the pack it sends and name, instead, packs to download from
 * elsewhere (a CDN), each with its checksum. Asked for only when the user lists the
 * protocols they allow in fetch.uriProtocols, as git does.
 *
 * Each named pack is downloaded and indexed as it arrives (index-pack's streaming
 * indexer: memory does not grow with it), with a .keep (and a .promisor in a partial
 * clone) like the pack of the response; its checksum must be the one the server gave.
 * The caller removes the .keep files once its refs are written.
 */
import { unlink } from 'node:fs/promises'
import { TsgitError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { indexPack, type IndexPackResult } from '../pack/indexer.js'
import type { Capabilities, FetchArgs, PackfileUri } from '../protocol/index.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../odb/types.js'
import type { ConfigReader } from '../repo/config.js'
import type { RefStore } from '../repo/refs.js'
import { openDownload, type Transport, type TransportOptions } from '../transport/index.js'
import { fetchPack, type PackIngest, type RemoteSession } from './remote-session.js'
import { revList, RevListMissingError } from './rev-list.js'

/** fetch.uriProtocols: the comma-separated protocols a packfile URI may use; none: packfile-uris is not asked for. */
export function uriProtocols(config: ConfigReader): string[] {
  const v = config.getString('fetch.uriProtocols')
  if (v === undefined) return []
  return v.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0)
}

/** The fetch arguments that ask for packfile URIs, when the user allows some protocol and the server offers them. */
export function packfileUriArgs(caps: Capabilities, protocols: readonly string[]): Pick<FetchArgs, 'packfileUriProtocols' | 'sidebandAll'> {
  const features = caps.commandFeatures('fetch')
  if (protocols.length === 0 || !features.has('packfile-uris')) return {}
  // git 2.39's upload-pack names packs only to a client that asked for sideband-all.
  return { packfileUriProtocols: protocols, ...(features.has('sideband-all') ? { sidebandAll: true } : {}) }
}

export interface PackfileUriOptions {
  packDir: string
  /** A .keep's content, for packs that must outlive a concurrent repack until refs name their objects (clone). */
  keep?: string
  promisor?: string
  /** The protocols the user allowed (fetch.uriProtocols). */
  protocols: readonly string[]
  transportOptions: TransportOptions
  progress: ProgressSink
  signal?: AbortSignal
  threads?: number
  /** Packs already in place (the response's own, say): never removed here, even when a download turns out to be one of them. */
  existing?: ReadonlySet<string>
}

async function removeIndexed(r: IndexPackResult): Promise<void> {
  for (const p of [r.idxPath, r.packPath, r.promisorPath, r.keepPath]) {
    if (p !== undefined) await unlink(p).catch((e: unknown) => { if (!isNotFound(e)) throw e })
  }
}

/**
 * Downloads and indexes the packs `uris` name, one after the other. A pack whose
 * checksum is not the one its line gave is removed and is fatal, as in git.
 */
export async function fetchPackfileUris(transport: Transport, uris: readonly PackfileUri[], opts: PackfileUriOptions): Promise<IndexPackResult[]> {
  const done: IndexPackResult[] = []
  const seen = new Set<string>()
  for (const { hash, uri } of uris) {
    if (seen.has(hash)) continue
    seen.add(hash)
    const download = await openDownload(transport, uri, opts.protocols, opts.transportOptions)
    const result = await indexPack(download.body, {
      packDir: opts.packDir,
      ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
      ...(opts.promisor !== undefined ? { promisor: opts.promisor } : {}),
      progress: opts.progress,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads, threadsMinDeltas: 0 } : {}),
    })
    if (result.checksum !== hash) {
      if (!(opts.existing?.has(result.name) ?? false) && !done.some((d) => d.name === result.name)) await removeIndexed(result)
      throw new TsgitError('E_PACKFILE_URI', `fetch-pack: pack downloaded from ${download.displayUri} does not match expected hash ${hash}`)
    }
    done.push(result)
  }
  return done
}

/**
 * Every object reachable from `tips` is here (rev-list --objects, nothing fetched):
 * git's connectivity check, for a fetch whose objects came from more than one place.
 */
export async function checkConnected(repo: { refs: RefStore }, store: ObjectStore, tips: readonly Oid[]): Promise<void> {
  try {
    await revList({ refs: repo.refs, store }, { args: tips, objects: true, missing: 'error', write: () => undefined })
  } catch (e) {
    if (e instanceof RevListMissingError) throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (missing ${e.oid})`, { cause: e })
    throw e
  }
}

/**
 * fetchPack, asking for packfile URIs when `protocols` allow and the server offers them,
 * then the packs the response named, with the response's own pack's .keep, .promisor
 * and threads. Undefined when the server sent no pack.
 */
export async function fetchPackAndUris(
  session: RemoteSession,
  args: FetchArgs,
  ingest: PackIngest,
  uris: { protocols: readonly string[]; transportOptions: TransportOptions },
): Promise<{ pack: IndexPackResult; uriPacks: IndexPackResult[] } | undefined> {
  let named: PackfileUri[] = []
  const pack = await fetchPack(session, { ...args, ...packfileUriArgs(session.caps, uris.protocols) }, {
    ...ingest,
    onPackfileUris: (u) => {
      named = u
    },
  })
  if (pack === undefined) return undefined
  const uriPacks = await fetchPackfileUris(session.transport, named, {
    packDir: ingest.packDir,
    ...(ingest.keep !== undefined ? { keep: ingest.keep } : {}),
    ...(ingest.promisor !== undefined ? { promisor: ingest.promisor } : {}),
    protocols: uris.protocols,
    transportOptions: uris.transportOptions,
    progress: ingest.progress,
    ...(ingest.signal ? { signal: ingest.signal } : {}),
    ...(ingest.threads !== undefined ? { threads: ingest.threads } : {}),
    existing: new Set([pack.name]),
  })
  return { pack, uriPacks }
}
