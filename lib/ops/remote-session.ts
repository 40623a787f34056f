/**
 * A conversation with one remote: handshake and capabilities once, then ls-refs and
 * fetch commands (a fetch's answer is read by receive.ts). The protocol layer never
 * sees the object store.
 *
 * A server that answers in protocol v0/v1 (an old one, or one behind a proxy that drops
 * the Git-Protocol header) is spoken to in v0, as git falls back: its refs come with the
 * advertisement (ls-refs is answered from them), each fetch is one upload-pack request,
 * and over a stateful connection (file, ssh, git://), where upload-pack serves one fetch
 * and hangs up, the next fetch connects again.
 */
import type { Oid } from '../oid.js'
import type { ConfigReader } from '../repo/config.js'
import {
  buildObjectInfoRequest,
  parseObjectInfo,
  serverSupportsObjectInfo,
  buildLsRefsRequest,
  Capabilities,
  parseCapabilities,
  parseLsRefs,
  parseFetchResponse,
  serverSupportsFilter,
  buildFetchRequest,
  advertisedVersion,
  parseV0Advertisement,
  refsWithPrefixes,
  v2View,
  buildV0Request,
  expectsShallowUpdate,
  parseV0Response,
  type FetchArgs,
  type FetchResponse,
  type RemoteRef,
  type RemoteTextSink,
  type V0Advertisement,
} from '../protocol/index.js'
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js'
import type { PktLineReader } from '../pktline/pktline.js'
import { ProtocolError, TsgitError } from '../errors.js'
import { silentSink } from '../events.js'

export interface RemoteSession {
  /** Replaced when a v0 session connects again for its next fetch (sendFetch). */
  transport: Transport
  /** The server's v2 capabilities, or those its v0 ones stand for (v2View). */
  caps: Capabilities
  /** Present when the server speaks protocol v0/v1. */
  v0?: V0Session
}

export interface V0Session {
  advertisement: V0Advertisement
  /** A fetch was sent on the current connection. */
  fetched: boolean
  /** To connect again (stateful transports serve one fetch per connection). */
  url: string
  options: TransportOptions
}

export async function openSession(url: string, options: TransportOptions): Promise<RemoteSession> {
  const transport = openTransport(url, options)
  try {
    return await handshake(transport, url, options)
  } catch (e) {
    await transport.close().catch(() => undefined)
    throw e
  }
}

function checkObjectFormat(caps: Capabilities): void {
  if (caps.objectFormat !== 'sha1') {
    throw new ProtocolError(`the remote uses the ${caps.objectFormat} object format, which tsgit does not support yet`)
  }
}

async function handshake(transport: Transport, url: string, options: TransportOptions): Promise<RemoteSession> {
  const reader = await transport.handshake()
  if ((await advertisedVersion(reader)) === 2) {
    const caps = await parseCapabilities(reader)
    checkObjectFormat(caps)
    return { transport, caps }
  }
  const advertisement = await parseV0Advertisement(reader)
  const caps = v2View(advertisement)
  checkObjectFormat(caps)
  return { transport, caps, v0: { advertisement, fetched: false, url, options } }
}

/**
 * Sends a fetch request built from `args` and returns the reader of its answer (read it
 * with readFetchResponse). A v0 session whose stateful connection has served its fetch
 * connects again first.
 */
export async function sendFetch(session: RemoteSession, args: FetchArgs): Promise<PktLineReader> {
  const v0 = session.v0
  if (v0 === undefined) return session.transport.command(buildFetchRequest(session.caps, args))
  const request = buildV0Request(v0.advertisement, args)
  if (v0.fetched && session.transport.speculate === undefined) {
    await session.transport.close().catch(() => undefined)
    const transport = openTransport(v0.url, v0.options)
    session.transport = transport
    const reader = await transport.handshake()
    if ((await advertisedVersion(reader)) !== 0) throw new ProtocolError('protocol error: the server changed its protocol version between two connections')
    v0.advertisement = await parseV0Advertisement(reader)
  }
  v0.fetched = true
  return session.transport.command(request)
}

/** Reads the answer to sendFetch(session, args) up to the start of its pack. */
export function readFetchResponse(session: RemoteSession, reader: PktLineReader, sink: RemoteTextSink, args: FetchArgs): Promise<FetchResponse> {
  const v0 = session.v0
  if (v0 !== undefined) return parseV0Response(reader, sink, { shallowUpdate: expectsShallowUpdate(v0.advertisement, args) })
  return parseFetchResponse(reader, sink, { sidebandAll: args.sidebandAll === true })
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
 * A v0 server gets no command: `reader` is undefined, and the caller reads the refs
 * from the advertisement or sends its fetch with sendFetch.
 */
export async function openSessionWith(url: string, options: TransportOptions, first: (caps: Capabilities) => Buffer): Promise<{ session: RemoteSession; reader: PktLineReader | undefined }> {
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
    session = await handshake(transport, url, options)
  } catch (e) {
    await guess?.discard()
    await transport.close().catch(() => undefined)
    throw e
  }
  if (session.v0 !== undefined) {
    await guess?.discard()
    return { session, reader: undefined }
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
    if (reader === undefined) return { session, refs: refsWithPrefixes(session.v0?.advertisement.refs ?? [], opts.refPrefixes) }
    return { session, refs: await parseLsRefs(reader) }
  } catch (e) {
    await session.transport.close().catch(() => undefined)
    throw e
  }
}

/** pack.threads, as git's index-pack reads it: unset or 0 is automatic (undefined here). */
export function packThreads(config: ConfigReader): number | undefined {
  const n = config.getInt('pack.threads')
  return n === undefined || n <= 0 ? undefined : n
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

/** upload-pack's refusal of a want it does not have. */
export const NOT_OUR_REF = /not our ref [0-9a-f]{40}/

/**
 * Whether the remote still has `oids`: a fetch that wants them and says it has them
 * (upload-pack refuses a want it does not have: "not our ref"; otherwise it answers an
 * empty pack, read and dropped here). One small request, made only when refs moved.
 */
export async function remoteStillHas(session: RemoteSession, oids: Oid[]): Promise<boolean> {
  const filter = serverSupportsFilter(session.caps) ? { filter: 'tree:0' } : {}
  try {
    const args: FetchArgs = { wants: oids, haves: oids, done: true, noProgress: true, ...filter }
    const response = await readFetchResponse(session, await sendFetch(session, args), silentSink, args)
    if (response.pack !== undefined) for await (const chunk of response.pack) void chunk
    return true
  } catch (e) {
    if (e instanceof TsgitError && NOT_OUR_REF.test(e.message)) return false
    throw e
  }
}

