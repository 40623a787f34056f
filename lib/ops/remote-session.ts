/**
 * A conversation with one remote over protocol v2: handshake and capabilities once,
 * then ls-refs and fetch commands. The pack stream is handed to the indexer; the
 * protocol layer never sees the object store.
 */
import type { ProgressSink } from '../events.js'
import { indexPack, type IndexPackResult } from '../pack/index.js'
import type { Oid } from '../odb/types.js'
import type { ConfigReader } from '../repo/config.js'
import {
  buildObjectInfoRequest,
  parseObjectInfo,
  serverSupportsObjectInfo,
  buildFetchRequest,
  buildLsRefsRequest,
  Capabilities,
  parseCapabilities,
  parseFetchResponse,
  parseLsRefs,
  type FetchArgs,
  type PackfileUri,
  type RemoteRef,
} from '../protocol/index.js'
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js'
import type { PktLineReader } from '../pktline/pktline.js'
import { ProtocolError } from '../errors.js'

export interface RemoteSession {
  transport: Transport
  caps: Capabilities
}

export async function openSession(url: string, options: TransportOptions): Promise<RemoteSession> {
  const transport = openTransport(url, options)
  try {
    return await handshake(transport)
  } catch (e) {
    await transport.close().catch(() => undefined)
    throw e
  }
}

async function handshake(transport: Transport): Promise<RemoteSession> {
  const caps = await parseCapabilities(await transport.handshake())
  if (caps.objectFormat !== undefined && caps.objectFormat !== 'sha1') {
    throw new ProtocolError(`the remote uses the ${caps.objectFormat} object format, which tsgit does not support yet`)
  }
  return { transport, caps }
}

/**
 * What a git server of the last few years advertises over http (git 2.39 with
 * uploadpack.allowFilter): the first command of a session is built against it and sent
 * before the real advertisement arrives. It is used only if the request built from the
 * real advertisement is byte for byte the same, so a wrong guess costs one wasted
 * request, never a wrong answer.
 */
const LIKELY_CAPABILITIES = new Capabilities(
  new Map<string, string | undefined>([
    ['agent', 'git/2'],
    ['ls-refs', 'unborn'],
    ['fetch', 'shallow wait-for-done filter'],
    ['server-option', undefined],
    ['object-format', 'sha1'],
    ['object-info', undefined],
  ]),
)

/**
 * Opens a session and sends its first command, built by `first` from the server's
 * capabilities. Over http the command goes out together with the handshake (one round
 * trip instead of two; git waits for the advertisement first); elsewhere after it.
 */
export async function openSessionWith(url: string, options: TransportOptions, first: (caps: Capabilities) => Buffer): Promise<{ session: RemoteSession; reader: PktLineReader }> {
  const transport = openTransport(url, options)
  let guess: ReturnType<NonNullable<Transport['speculate']>> | undefined
  try {
    guess = transport.speculate?.(first(LIKELY_CAPABILITIES))
  } catch (e) {
    // first() refused the guessed capabilities (e.g. an option they lack): no speculation.
    if (!(e instanceof ProtocolError)) throw e
  }
  let session: RemoteSession
  try {
    session = await handshake(transport)
  } catch (e) {
    await guess?.discard()
    await transport.close().catch(() => undefined)
    throw e
  }
  try {
    const request = first(session.caps)
    const early = guess !== undefined && guess.request.equals(request) ? await guess.reader() : undefined
    if (early !== undefined) return { session, reader: early }
    await guess?.discard()
    return { session, reader: await transport.command(request) }
  } catch (e) {
    await guess?.discard()
    await transport.close().catch(() => undefined)
    throw e
  }
}

export interface LsRefsOptions {
  refPrefixes: string[]
}

export function lsRefsRequest(caps: Capabilities, opts: LsRefsOptions): Buffer {
  return buildLsRefsRequest(caps, { refPrefixes: opts.refPrefixes, symrefs: true, peel: true, unborn: true })
}

/** Opens a session and lists refs, the ls-refs request sent along with the handshake where the transport allows. */
export async function openSessionAndListRefs(url: string, options: TransportOptions, opts: LsRefsOptions): Promise<{ session: RemoteSession; refs: RemoteRef[] }> {
  const { session, reader } = await openSessionWith(url, options, (caps) => lsRefsRequest(caps, opts))
  try {
    return { session, refs: await parseLsRefs(reader) }
  } catch (e) {
    await session.transport.close().catch(() => undefined)
    throw e
  }
}

export interface PackIngest {
  packDir: string
  keep?: string
  promisor?: string
  progress: ProgressSink
  signal?: AbortSignal
  /** Called when the packfile section begins: the server accepted the request and is sending. */
  onPackStart?: () => void
  /** Called with the response's packfile-uris section (packs to download besides this one), before the pack is read. */
  onPackfileUris?: (uris: PackfileUri[]) => void
  /** Called with the response's shallow-info section (a fetch with deepen), before the pack is read. */
  onShallowInfo?: (info: { shallow: Oid[]; unshallow: Oid[] }) => void
  /**
   * Threads for the deltas left once the pack is in (packThreads): when given, they are
   * used for any number of deltas; by default only for many (indexer.ts).
   */
  threads?: number
}

/** pack.threads, as git's index-pack reads it: unset or 0 is automatic (undefined here). */
export function packThreads(config: ConfigReader): number | undefined {
  const n = config.getInt('pack.threads')
  return n === undefined || n <= 0 ? undefined : n
}

/**
 * Sends a fetch with `done` (no negotiation: clone and lazy fetch have nothing to
 * offer) and indexes the pack the server streams back.
 */
export async function fetchPack(session: RemoteSession, args: FetchArgs, ingest: PackIngest): Promise<IndexPackResult | undefined> {
  return receivePack(await session.transport.command(buildFetchRequest(session.caps, args)), args, ingest)
}

/** Parses a fetch response and indexes its pack. */
export async function receivePack(reader: PktLineReader, args: FetchArgs, ingest: PackIngest): Promise<IndexPackResult | undefined> {
  const response = await parseFetchResponse(reader, ingest.progress, { sidebandAll: args.sidebandAll === true })
  if (response.shallow.length > 0 || response.unshallow.length > 0) ingest.onShallowInfo?.({ shallow: response.shallow, unshallow: response.unshallow })
  if (response.packfileUris.length > 0) ingest.onPackfileUris?.(response.packfileUris)
  if (!response.pack) return undefined
  ingest.onPackStart?.()
  return indexPack(response.pack, {
    packDir: ingest.packDir,
    keep: ingest.keep,
    promisor: ingest.promisor,
    progress: ingest.progress,
    signal: ingest.signal,
    ...(ingest.threads !== undefined ? { threads: ingest.threads, threadsMinDeltas: 0 } : {}),
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
