/**
 * The lazy fetcher handed to the object store in a partial clone. Missing objects
 * are asked for from the promisor remotes in config order, with the remote named by
 * extensions.partialClone last; what one remote could not supply goes to the next.
 *
 * A batch costs one fetch request per remote tried. When a remote lacks part of a
 * batch (git's upload-pack then refuses the whole request: "not our ref <oid>"), tsgit
 * asks it which objects it has (object-info) and fetches those in one more request,
 * so a cache that holds most of a batch serves most of it. git instead hands the whole
 * batch on to the next remote. Without object-info, the objects the server names as
 * missing are dropped and the request retried, a bounded number of times.
 */
import type { FileHandle } from 'node:fs/promises'
import { MissingObjectError, RemoteError, TsgitError } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import type { ObjectStore, PromisorFetcher } from '../odb/store.js'
import type { ObjectObserver, Oid } from '../oid.js'
import { buildFetchRequest, serverSupportsFilter, type Capabilities, type FetchArgs } from '../protocol/index.js'
import type { PktLineReader } from '../pktline/pktline.js'
import type { ConfigReader } from '../repo/config.js'
import { packfileUriArgs, uriConcurrency, uriProtocols } from './packfile-uris.js'
import { receive } from './receive.js'
import { openSession, openSessionWith, packThreads, remoteHas, sendFetch, type RemoteSession } from './remote-session.js'
import { transportOptionsFromConfig } from './transport-options.js'
import { CredentialJar, type SpeculativeCommand, type TransportOptions } from '../transport/index.js'

export interface PromisorRemote {
  name: string
  url: string
}

/** Promisor remotes in the order lazy fetches try them. */
export function promisorRemotes(config: ConfigReader): PromisorRemote[] {
  const main = config.getString('extensions.partialClone')
  const out: PromisorRemote[] = []
  for (const name of config.subsections('remote')) {
    if (name === main || out.some((r) => r.name === name)) continue
    const isPromisor = config.getBool(`remote.${name}.promisor`) === true || config.getString(`remote.${name}.partialclonefilter`) !== undefined
    const url = config.getString(`remote.${name}.url`)
    if (isPromisor && url !== undefined) out.push({ name, url })
  }
  if (main !== undefined) {
    const url = config.getString(`remote.${main}.url`)
    if (url !== undefined) out.push({ name: main, url })
  }
  return out
}

/**
 * Where the pack of each response goes, for a caller that keeps what a cut response
 * brought (a clone's checkout: its state names the file, a later try salvages it).
 */
export interface ResponsePackFiles {
  /** A file for the next response's pack, named where a later try finds it before the request goes out. */
  open(): Promise<{ path: string; handle: FileHandle }>
  /**
   * The response that went into `file` is over: installed (`received`), or failed, what
   * arrived left in the file. Called once per open(); on a failure it must not throw.
   */
  settle(file: { path: string; handle: FileHandle }, received: boolean): Promise<void>
}

export interface LazyFetchContext {
  config: ConfigReader
  store: ObjectStore
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
  /** Credentials this command obtained already (a clone's); else the fetcher keeps its own. */
  credentials?: CredentialJar
  /** Absent: each response's pack goes into a temporary file, removed when the response fails. */
  packFiles?: ResponsePackFiles
  /** The repository's top: what a relative remote URL means. */
  localBase?: string
}

export interface LazyFetchOptions {
  /** Retries after "not our ref" when the remote has no object-info. Default 8. */
  maxRetries?: number
}

const NOT_OUR_REF = /not our ref ([0-9a-f]{40})/

async function* toAsync<T>(it: Iterator<T>): AsyncGenerator<T> {
  for (let r = it.next(); r.done !== true; r = it.next()) yield r.value
}

type FetchOutcome = { ok: true } | { ok: false; missing?: Oid }

/** A batch's fetch request sent to the first promisor remote while the batch before it was still arriving. */
interface RequestAhead {
  remote: string
  oids: Oid[]
  args: FetchArgs
  command: SpeculativeCommand
}

/** How the first remote is asked for a batch (fetchBatches). */
interface LeadHooks {
  /** The request for this batch, already sent. */
  ahead?: RequestAhead
  /** Called when the first remote starts sending this batch's pack (it has accepted the request). */
  onAccepted?: (remote: PromisorRemote, session: RemoteSession) => void
}

/** What a caller of one fetch is told, of every remote tried. */
interface FetchHooks {
  onObject?: ObjectObserver
}

export class LazyFetcher implements PromisorFetcher {
  private readonly maxRetries: number
  private readonly sink: ProgressSink
  private readonly quiet: boolean
  /**
   * Sessions by remote name, kept for the rest of the command after a request
   * succeeded: batches after the first cost no handshake (git spawns a new fetch,
   * handshake included, for every batch). Dropped on any error but a refusal over http.
   */
  private readonly sessions = new Map<string, RemoteSession>()
  /** The next batch's request (fetchBatches), on the first remote's session. */
  private ahead: RequestAhead | undefined
  /** A session being opened by prepare(), by remote name. */
  private readonly opening = new Map<string, Promise<void>>()
  private readonly options = new Map<string, TransportOptions>()
  private readonly jar: CredentialJar

  constructor(
    private readonly ctx: LazyFetchContext,
    options: LazyFetchOptions = {},
  ) {
    this.maxRetries = options.maxRetries ?? 8
    this.jar = ctx.credentials ?? new CredentialJar()
    // promisor.quiet: no progress from lazy fetches; warnings still show.
    this.quiet = ctx.config.getBool('promisor.quiet') === true
    this.sink = this.quiet ? { ...silentSink, warn: (m) => ctx.sink.warn(m) } : ctx.sink
  }

  async fetchMissing(oids: Oid[], options: FetchHooks = {}): Promise<void> {
    // missing locally (the store looked just before): not looked for again
    await this.fetchFromRemotes([...new Set(oids)], {}, options)
  }

  /**
   * Fetches batches in order, one request each (per remote tried), calling `after(i)`
   * once batch i is in. The next batch is asked of `batches` while the current one is
   * fetched (a walk may still be making it). Over http the first remote is sent the
   * next batch's request as soon as it starts sending the current batch's pack, so the
   * server prepares the next pack while this one travels instead of after it (git
   * runs one fetch after another). A remote that refuses a batch does so before its
   * pack, so no request goes ahead of a refused one. Requests go one batch ahead at
   * most, and only to the first remote in the lazy-fetch order; a batch it cannot
   * serve goes the usual way (fetchMissing).
   */
  async fetchBatches(batches: AsyncIterable<Oid[]> | Iterable<Oid[]>, after: (index: number) => Promise<void>): Promise<void> {
    const it = Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : toAsync(batches[Symbol.iterator]())
    let next: Promise<IteratorResult<Oid[]>> | undefined
    try {
      let current = await it.next()
      for (let i = 0; current.done !== true; i++) {
        const oids = current.value
        const ahead = this.ahead?.oids === oids ? this.ahead : undefined
        this.ahead = undefined
        const upcoming = it.next()
        next = upcoming
        upcoming.catch(() => undefined)
        const onAccepted = (remote: PromisorRemote, session: RemoteSession): void => {
          upcoming.then(
            (n) => {
              if (n.done !== true && n.value.length > 0) this.sendAhead(remote, session, n.value)
            },
            () => undefined,
          )
        }
        await this.fetchFromRemotes(oids, { ahead, onAccepted })
        await after(i)
        next = undefined
        current = await upcoming
      }
    } finally {
      await this.discardAhead()
      // a batch being made when a fetch failed: let the maker finish and end
      if (next !== undefined) await next.then(() => it.return?.(), () => undefined)
    }
  }

  /**
   * Opens the session to the first promisor remote in the background (handshake and
   * all), so that a fetch about to be asked for costs just its own request. A failure
   * here is forgotten: the fetch tries again and reports it.
   */
  prepare(): void {
    const lead = promisorRemotes(this.ctx.config)[0]
    if (lead === undefined || this.sessions.has(lead.name) || this.opening.has(lead.name)) return
    const opened = openSession(lead.url, this.transportOptions(lead)).then(
      (session) => {
        this.sessions.set(lead.name, session)
      },
      () => undefined,
    )
    this.opening.set(
      lead.name,
      opened.finally(() => this.opening.delete(lead.name)),
    )
  }

  private fetchArgs(caps: Capabilities, oids: Oid[]): FetchArgs {
    return {
      wants: oids,
      done: true,
      ofsDelta: true,
      // A missing tree or commit must not drag in all of its blobs.
      filter: serverSupportsFilter(caps) ? 'blob:none' : undefined,
      // git's lazy fetch is a `git fetch` of its own, without the command's --progress:
      // progress only on a terminal
      noProgress: this.quiet || this.sink.showProgress === false || this.sink.terminal === false,
      ...packfileUriArgs(caps, uriProtocols(this.ctx.config)),
    }
  }

  private sendAhead(remote: PromisorRemote, session: RemoteSession, oids: Oid[]): void {
    // not on a session dropped (and closed) since the current batch was accepted
    // v0: no request goes ahead (each is built from the advertisement, sent in its turn)
    if (this.ahead !== undefined || this.sessions.get(remote.name) !== session || session.transport.speculate === undefined || session.v0 !== undefined) return
    const args = this.fetchArgs(session.caps, oids)
    const command = session.transport.speculate(buildFetchRequest(session.caps, args))
    if (command !== undefined) this.ahead = { remote: remote.name, oids, args, command }
  }

  private async discardAhead(remote?: string): Promise<void> {
    const ahead = this.ahead
    if (ahead === undefined || (remote !== undefined && ahead.remote !== remote)) return
    this.ahead = undefined
    await ahead.command.discard()
  }

  /** `oids` are missing and distinct (the store looked just before). */
  private async fetchFromRemotes(oids: Oid[], lead: LeadHooks, told: FetchHooks = {}): Promise<void> {
    const remotes = promisorRemotes(this.ctx.config)
    let remaining = oids
    let lastError: unknown
    // A remote that failed for a reason that may pass (a cut, a reset, a 5xx, a timeout): so may this fetch.
    let transient = false
    for (const [k, remote] of remotes.entries()) {
      // Requests go ahead to the first remote only: there it is used, or let go.
      const hooks = k === 0 ? lead : {}
      if (remaining.length === 0) {
        await hooks.ahead?.command.discard()
        return
      }
      try {
        await this.fetchFrom(remote, remaining, hooks, told)
      } catch (e) {
        if (this.ctx.signal?.aborted) throw e
        // Unreachable or failing: say so (git's fetch subprocess prints its error too)
        // and hand what is still missing to the next remote.
        lastError = e
        if (e instanceof TsgitError && e.retryable) transient = true
        this.ctx.sink.warn(`could not fetch from promisor remote '${remote.name}': ${e instanceof Error ? e.message : String(e)}`)
      }
      // The packs just written must be seen now, not when the store next looks on its own.
      await this.ctx.store.refresh()
      remaining = await this.ctx.store.missingOf(remaining)
    }
    if (remaining.length === 0) return
    const first = remaining[0] as Oid
    const names = remotes.map((r) => r.name).join(', ')
    const why = lastError instanceof Error ? `: ${lastError.message}` : ''
    throw new MissingObjectError(first, `could not fetch ${first} from promisor remote(s) ${names || '(none configured)'}${remotes.length > 0 ? why : ''}`, {
      cause: lastError,
      retryable: transient,
    })
  }

  /** One set of options per remote for the fetcher's life: its credentials are asked for once, whatever the sessions and batches. */
  private transportOptions(remote: PromisorRemote): TransportOptions {
    let options = this.options.get(remote.name)
    if (options === undefined) {
      const { config, env, signal, localBase } = this.ctx
      options = transportOptionsFromConfig(config, remote, { env, sink: this.sink, signal, credentials: this.jar, ...(localBase !== undefined ? { localBase } : {}) })
      this.options.set(remote.name, options)
    }
    return options
  }

  private async session(remote: PromisorRemote): Promise<RemoteSession> {
    await this.opening.get(remote.name)
    let session = this.sessions.get(remote.name)
    if (session === undefined) {
      session = await openSession(remote.url, this.transportOptions(remote))
      this.sessions.set(remote.name, session)
    }
    return session
  }

  private async dropSession(remote: PromisorRemote): Promise<void> {
    await this.discardAhead(remote.name)
    const session = this.sessions.get(remote.name)
    this.sessions.delete(remote.name)
    await session?.transport.close().catch(() => undefined)
  }

  /** Ends the sessions kept open for later batches. */
  async close(): Promise<void> {
    for (const o of [...this.opening.values()]) await o
    await this.discardAhead()
    const open = [...this.sessions.values()]
    this.sessions.clear()
    for (const s of open) await s.transport.close().catch(() => undefined)
  }

  /** Sends the fetch request for `oids` (or takes the answer to the one sent ahead), opening the session if need be. */
  private async request(remote: PromisorRemote, oids: Oid[], ahead: RequestAhead | undefined): Promise<{ session: RemoteSession; reader: PktLineReader; args: FetchArgs }> {
    await this.opening.get(remote.name)
    const session = this.sessions.get(remote.name)
    if (session === undefined) {
      // A session dropped since the request went ahead took it along.
      await ahead?.command.discard()
      const opened = await openSessionWith(remote.url, this.transportOptions(remote), (caps) => buildFetchRequest(caps, this.fetchArgs(caps, oids)))
      this.sessions.set(remote.name, opened.session)
      const args = this.fetchArgs(opened.session.caps, oids)
      return { session: opened.session, reader: opened.reader ?? (await sendFetch(opened.session, args)), args }
    }
    if (ahead !== undefined) {
      const reader = await ahead.command.reader()
      if (reader !== undefined) return { session, reader, args: ahead.args }
      // sent before a redirect moved the session: ask again where it went
      await ahead.command.discard()
    }
    const args = this.fetchArgs(session.caps, oids)
    return { session, reader: await sendFetch(session, args), args }
  }

  /**
   * One fetch request for `oids` from `remote` (or the one sent ahead for them); resolves
   * false when the remote lacks one of them.
   */
  private async fetchOnce(remote: PromisorRemote, oids: Oid[], hooks: LeadHooks = {}, told: FetchHooks = {}): Promise<FetchOutcome> {
    // named before the request goes out: a process killed while the pack arrives leaves it where a later try looks
    const packFile = await this.ctx.packFiles?.open()
    try {
      const { session, reader, args } = await this.request(remote, oids, hooks.ahead)
      const onPackStart = hooks.onAccepted && (() => hooks.onAccepted?.(remote, session))
      const protocols = args.packfileUriProtocols ?? []
      const threads = packThreads(this.ctx.config)
      // Objects the server leaves for packs elsewhere (packfile-uris) come as promisor packs too.
      await receive(session, { args, reader }, {
        packDir: this.ctx.store.packDir,
        promisor: '',
        progress: this.sink,
        ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
        ...(threads !== undefined ? { threads } : {}),
        ...(onPackStart ? { onPackStart } : {}),
        ...(told.onObject ? { onObject: told.onObject } : {}),
        ...(protocols.length > 0 ? { uris: { protocols, transportOptions: this.transportOptions(remote), concurrency: uriConcurrency(this.ctx.config) } } : {}),
        ...(packFile !== undefined ? { packFile } : {}),
      })
    } catch (e) {
      if (packFile !== undefined) await this.ctx.packFiles?.settle(packFile, false)
      const m = e instanceof TsgitError ? NOT_OUR_REF.exec(e.message) : null
      const refused = e instanceof RemoteError || m !== null
      // A refusal ends one answer; over http (stateless) the session is still good for
      // the requests that follow (object-info, the part the remote has, the next batch).
      // Elsewhere upload-pack has hung up.
      if (!refused || this.sessions.get(remote.name)?.transport.speculate === undefined) await this.dropSession(remote)
      if (refused) return { ok: false, missing: m?.[1] as Oid | undefined }
      throw e
    }
    if (packFile !== undefined) await this.ctx.packFiles?.settle(packFile, true)
    return { ok: true }
  }

  private async fetchFrom(remote: PromisorRemote, oids: Oid[], hooks: LeadHooks, told: FetchHooks): Promise<void> {
    const first = await this.fetchOnce(remote, oids, hooks, told)
    if (first.ok || oids.length === 1) return
    // The remote lacks part of the batch: learn what it has, fetch just that.
    let have: Set<Oid> | undefined
    try {
      have = await remoteHas(await this.session(remote), oids)
    } catch (e) {
      await this.dropSession(remote)
      throw e
    }
    if (have !== undefined) {
      const subset = oids.filter((o) => have.has(o))
      if (subset.length > 0) await this.fetchOnce(remote, subset, { onAccepted: hooks.onAccepted }, told)
      return
    }
    let batch = oids
    let missing = first.missing
    for (let i = 0; i < this.maxRetries && missing !== undefined; i++) {
      batch = batch.filter((o) => o !== missing)
      if (batch.length === 0) return
      const r = await this.fetchOnce(remote, batch, {}, told)
      if (r.ok) return
      missing = r.missing
    }
  }
}
