/**
 * A fetch's negotiation over protocol v2 (gitprotocol-v2 "fetch"): rounds without
 * `done`, each answered by the server's acknowledgments, until the server says `ready`
 * or the negotiator (lib/protocol/negotiator.ts) says to send `done`. Its result is
 * what receive() takes: the final request, or — when a round ended in `ready` — that
 * round's answer, whose pack follows its acknowledgments in the same response (git
 * reads it from there too).
 *
 * Over stateless HTTP each round is its own request: the wants and every other argument
 * again (the server may answer any round with its pack), the commons found so far, then
 * new haves from the local history (lib/rev/have-walk.ts). A shallow repository, one
 * that cuts history now (deepen), a protocol v0 server, or one with no commits to offer makes one request
 * with `done`, its ref tips as haves, as before.
 */
import { ProtocolError } from '../errors.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { buildFetchRequest, Negotiator, parseFetchResponse, type FetchArgs, type NegotiatorOptions, type RemoteTextSink } from '../protocol/index.js'
import { HaveWalk, type HaveTip } from '../rev/have-walk.js'
import type { FetchRequest } from './receive.js'
import type { RemoteSession } from './remote-session.js'

export interface NegotiateOptions {
  store: ObjectStore
  /** The local ref tips; the remote's own remote-tracking refs `presumed` (offered first). */
  tips: readonly HaveTip[]
  /** The repository is shallow: one request, its ref tips as haves (git negotiates there too: not yet). */
  shallow: boolean
  sink: RemoteTextSink
  limits?: NegotiatorOptions
}

/** A round's haves when there is one round: the ref tips that are here (as many as git sends in its first rounds). */
const SINGLE_ROUND_HAVES = 256

/**
 * Negotiates what the server and this repository have in common; returns what receive()
 * takes. `args` is the request without haves; its `done` is ignored.
 */
export async function negotiate(session: RemoteSession, args: FetchArgs, opts: NegotiateOptions): Promise<FetchRequest> {
  // protocol v0: tsgit sends no multi_ack, so wants, haves and done go in one request
  if (opts.shallow || args.deepen !== undefined || args.waitForDone === true || args.sidebandAll === true || session.v0 !== undefined) {
    const haves = new Set<Oid>()
    for (const t of opts.tips) {
      if (haves.size >= SINGLE_ROUND_HAVES) break
      if (await opts.store.has(t.oid)) haves.add(t.oid)
    }
    return { args: { ...args, haves: [...haves], done: true } }
  }
  const walk = new HaveWalk({ store: opts.store, fetch: false })
  await walk.add(opts.tips)
  const negotiator = new Negotiator(opts.limits)
  for (;;) {
    const fresh = await walk.take(negotiator.batchSize)
    const round = negotiator.round(fresh, walk.more, walk.frontier)
    const request: FetchArgs = { ...args, haves: round.haves, done: round.done }
    if (round.done) return { args: request }
    const reader = await session.transport.command(buildFetchRequest(session.caps, request))
    const response = await parseFetchResponse(reader, opts.sink)
    if (response.acks === undefined) throw new ProtocolError('protocol error: no acknowledgments in the answer to a negotiation round')
    for (const oid of negotiator.acknowledge(response.acks)) walk.markCommon(oid)
    walk.settle()
    if (negotiator.isReady) return { args: request, response }
  }
}
