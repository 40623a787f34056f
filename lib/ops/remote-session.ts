/**
 * A conversation with one remote over protocol v2: handshake and capabilities once,
 * then ls-refs and fetch commands. The pack stream is handed to the indexer; the
 * protocol layer never sees the object store.
 */
import type { ProgressSink } from '../events.js'
import { indexPack, type IndexPackResult } from '../pack/index.js'
import type { Oid } from '../odb/types.js'
import {
  buildObjectInfoRequest,
  parseObjectInfo,
  serverSupportsObjectInfo,
  buildFetchRequest,
  buildLsRefsRequest,
  parseCapabilities,
  parseFetchResponse,
  parseLsRefs,
  type Capabilities,
  type FetchArgs,
  type RemoteRef,
} from '../protocol/index.js'
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js'
import { ProtocolError } from '../errors.js'

export interface RemoteSession {
  transport: Transport
  caps: Capabilities
}

export async function openSession(url: string, options: TransportOptions): Promise<RemoteSession> {
  const transport = openTransport(url, options)
  try {
    const reader = await transport.handshake()
    const caps = await parseCapabilities(reader)
    if (caps.objectFormat !== undefined && caps.objectFormat !== 'sha1') {
      throw new ProtocolError(`the remote uses the ${caps.objectFormat} object format, which tsgit does not support yet`)
    }
    return { transport, caps }
  } catch (e) {
    await transport.close().catch(() => undefined)
    throw e
  }
}

export interface LsRefsOptions {
  refPrefixes: string[]
}

export async function lsRefs(session: RemoteSession, opts: LsRefsOptions): Promise<RemoteRef[]> {
  const request = buildLsRefsRequest(session.caps, { refPrefixes: opts.refPrefixes, symrefs: true, peel: true, unborn: true })
  const reader = await session.transport.command(request)
  return parseLsRefs(reader)
}

export interface PackIngest {
  packDir: string
  keep?: string
  promisor?: string
  progress: ProgressSink
  signal?: AbortSignal
}

/**
 * Sends a fetch with `done` (no negotiation: clone and lazy fetch have nothing to
 * offer) and indexes the pack the server streams back.
 */
export async function fetchPack(session: RemoteSession, args: FetchArgs, ingest: PackIngest): Promise<IndexPackResult | undefined> {
  const reader = await session.transport.command(buildFetchRequest(session.caps, args))
  const response = await parseFetchResponse(reader, ingest.progress, { sidebandAll: args.sidebandAll === true })
  if (!response.pack) return undefined
  return indexPack(response.pack, {
    packDir: ingest.packDir,
    keep: ingest.keep,
    promisor: ingest.promisor,
    progress: ingest.progress,
    signal: ingest.signal,
  })
}

/** Which of `oids` the remote has, by the v2 object-info command (undefined when it cannot say). */
export async function remoteHas(session: RemoteSession, oids: readonly Oid[]): Promise<Set<Oid> | undefined> {
  if (!serverSupportsObjectInfo(session.caps)) return undefined
  const reader = await session.transport.command(buildObjectInfoRequest(session.caps, oids))
  const info = await parseObjectInfo(reader, oids)
  const have = new Set<Oid>()
  for (const [oid, size] of info) if (size !== undefined) have.add(oid)
  return have
}
