/**
 * The one receive path of every fetch tsgit makes (clone, fetch, lazy fetch, a clone's
 * resume): send the fetch request (or take the answer to one sent already), read the
 * response, index the pack it streams, download the packs it names (packfile-uris)
 * alongside, a few at a time, each continued from what an earlier try left, and only
 * when every one is in and checked install them all — the named packs first, the
 * response's own pack last.
 *
 * Why last: the response's pack is the one with the commits the refs will name. Until
 * it is installed, no command can find the new tips here and take the fetch as done;
 * after it is, everything they need is here. A receive that fails, or a process killed
 * in the middle, leaves no pack that makes the tips look present with their objects
 * missing (tsgit fetch used to). What a later try can use stays: a cut download's file
 * (continued with Range), and, for a clone, the file with the response's pack, whose
 * whole objects clone-resume salvages.
 *
 * The caller writes its refs, then calls release() to drop the .keep files that held the
 * packs against a concurrent repack meanwhile.
 */
import { unlink, type FileHandle } from 'node:fs/promises'
import { TsgitError, isNotFound } from '../errors.js'
import type { ProgressEvent, ProgressSink } from '../events.js'
import type { ObjectStore } from '../odb/store.js'
import type { GitObject, ObjectObserver, Oid } from '../oid.js'
import { indexPack, type IndexPackResult } from '../pack/indexer.js'
import type { PktLineReader } from '../pktline/pktline.js'
import type { FetchArgs, FetchResponse, PackfileUri } from '../protocol/index.js'
import type { RefStore } from '../repo/refs.js'
import type { TransportOptions } from '../transport/index.js'
import { downloadNamedPack, type DownloadJournal, type NamedPack } from './packfile-uris.js'
import { readFetchResponse, sendFetch, type RemoteSession } from './remote-session.js'
import { revList, RevListMissingError } from './rev-list.js'

export interface ShallowInfo {
  shallow: Oid[]
  unshallow: Oid[]
}

export interface ReceiveOptions {
  packDir: string
  /** A .keep's content: every pack is held by one until release() (clone and fetch, until their refs are written). */
  keep?: string
  /** A .promisor's content for every pack (a partial clone's promisor remote). */
  promisor?: string
  progress: ProgressSink
  signal?: AbortSignal
  /** Threads for the deltas left once a pack is in (packThreads). */
  threads?: number
  /** Packfile URIs: where and how named packs may be downloaded. Absent: the request asked for none. */
  uris?: {
    protocols: readonly string[]
    transportOptions: TransportOptions
    /** How many download at once. */
    concurrency: number
    journal?: DownloadJournal
  }
  /**
   * The file the response's pack goes into, opened by the caller (a clone names it in
   * its resume state first): kept, synced, when the response is cut, for a salvage.
   * Absent: a temporary file, removed on failure.
   */
  packFile?: { path: string; handle: FileHandle }
  /**
   * The request asked for a thin pack: the bases its deltas leave out, whole, from this
   * repository (never fetched); each is appended to the pack (index-pack --fix-thin).
   */
  resolveExternal?: (oid: Oid) => Promise<GitObject | undefined>
  /** The response's shallow-info, awaited before the pack is read (a clone records it first). */
  onShallowInfo?: (info: ShallowInfo) => Promise<void> | void
  /** The server accepted the request and is sending its pack. */
  onPackStart?: () => void
  /** Told of the response pack's objects as they arrive (ObjectObserver); not of named packs'. */
  onObject?: ObjectObserver
}

export interface Received {
  /** The response's own pack first, then the named packs downloaded, all installed. */
  packs: IndexPackResult[]
  /** Named packs that were installed already (never downloaded twice). */
  alreadyHere: string[]
  /** Objects received, over every pack. */
  objects: number
  /** Bytes of named packs downloaded (the session's transport counts the rest). */
  downloaded: number
  shallow?: ShallowInfo
  /** Removes the .keep files this receive made (never one that was there before). */
  release(): Promise<void>
}

/** A pack indexed but not installed: indexPack's deferred result. */
type Deferred = IndexPackResult & { install(): Promise<void>; discard(options?: { keepPack?: boolean }): Promise<void> }

function deferred(p: IndexPackResult): Deferred {
  const d = p as Partial<Deferred> & IndexPackResult
  if (d.install === undefined || d.discard === undefined) throw new Error('indexPack did not defer')
  return d as Deferred
}

/**
 * The downloads of one receive shown as one progress line ("Downloading packs"), after
 * the response's own "Receiving objects" line is done, so that the two never fight over
 * the terminal line; the packs' own object counts are not shown.
 */
class DownloadProgress {
  private bytes = 0
  private total = 0
  private done = 0
  private shown = false
  /** When the first byte came: the line shows later, its rate is over the whole download. */
  private since: number | undefined
  constructor(private readonly sink: ProgressSink, private readonly count: number) {}
  add(n: number): void {
    this.since ??= Date.now()
    this.bytes += n
    this.draw(false)
  }
  length(n: number): void {
    this.total += n
  }
  finished(): void {
    this.done++
    this.draw(this.done === this.count)
  }
  /** The response's pack is in: the line may show from now on. */
  show(): void {
    this.shown = true
    this.draw(this.done === this.count)
  }
  private draw(last: boolean): void {
    if (!this.shown || this.count === 0) return
    const ev: ProgressEvent = {
      title: 'Downloading packs', current: this.done, total: this.count, bytes: this.bytes,
      ...(this.since !== undefined ? { bytesSince: this.since } : {}),
      ...(last ? { done: true } : {}),
    }
    this.sink.progress(ev)
  }
}

/** A sink for a named pack's indexer: its warnings and server lines pass, its progress does not. */
function quiet(sink: ProgressSink): ProgressSink {
  return { progress: () => undefined, remote: (t) => sink.remote(t), warn: (m) => sink.warn(m), info: () => undefined, showProgress: false }
}

/**
 * Runs `jobs` with at most `limit` at once; settles when those started have. After a
 * failure (of a job, or `failed()` says so) no more start: the ones under way go on to
 * their end, so what they download is whole for the next try.
 */
async function bounded<T>(jobs: (() => Promise<T>)[], limit: number, failed: () => boolean): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !failed()) {
      const i = next++
      const job = jobs[i] as () => Promise<T>
      try {
        results[i] = { status: 'fulfilled', value: await job() }
      } catch (e) {
        results[i] = { status: 'rejected', reason: e }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker))
  return results.filter((r) => r !== undefined)
}

async function removeIfThere(path: string | undefined): Promise<void> {
  if (path !== undefined) await unlink(path).catch((e: unknown) => { if (!isNotFound(e)) throw e })
}

/**
 * What receive() sends, or the answer it takes instead: `reader`, the answer to a
 * request already sent; `response`, one whose sections up to its pack were read
 * already (the round of a negotiation the server ended with `ready`).
 */
export interface FetchRequest {
  args: FetchArgs
  reader?: PktLineReader
  response?: FetchResponse
}

/**
 * Sends `args` (or reads `reader` or `response`, the answer to a request already sent), receives
 * everything the answer brings, and installs it; see the module comment.
 */
export async function receive(session: RemoteSession, request: FetchRequest, opts: ReceiveOptions): Promise<Received> {
  const { args } = request
  const response = request.response ?? (await readFetchResponse(session, request.reader ?? (await sendFetch(session, args)), opts.progress, args))
  const shallow = response.shallow.length > 0 || response.unshallow.length > 0 ? { shallow: response.shallow, unshallow: response.unshallow } : undefined
  if (shallow !== undefined) await opts.onShallowInfo?.(shallow)
  if (response.pack === undefined) throw new TsgitError('E_NO_PACK', 'the server sent no pack')
  const named = dedupe(response.packfileUris)
  if (named.length > 0 && opts.uris === undefined) throw new TsgitError('E_PROTOCOL', 'the server named packs to download although none were asked for')

  // After a failure no other download starts; those under way finish (a file whole is
  // not asked for again by the next try). An interrupt (opts.signal) stops everything.
  let failed = false
  const signal = opts.signal
  const progress = new DownloadProgress(opts.progress, named.length)
  let downloaded = 0
  const uris = opts.uris
  const downloads = uris === undefined
    ? Promise.resolve([] as PromiseSettledResult<NamedPack>[])
    : bounded(
        named.map((n) => async () => {
          try {
            return await downloadNamedPack(session.transport, n, {
              packDir: opts.packDir,
              ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
              ...(opts.promisor !== undefined ? { promisor: opts.promisor } : {}),
              protocols: uris.protocols,
              transportOptions: { ...uris.transportOptions, ...(signal !== undefined ? { signal } : {}) },
              progress: quiet(opts.progress),
              ...(signal !== undefined ? { signal } : {}),
              ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
              ...(uris.journal !== undefined ? { journal: uris.journal } : {}),
              onBytes: (b) => {
                downloaded += b
                progress.add(b)
              },
              onLength: (l) => progress.length(l),
            })
          } catch (e) {
            failed = true
            throw e
          } finally {
            progress.finished()
          }
        }),
        uris.concurrency,
        () => failed,
      )

  opts.onPackStart?.()
  let own: Deferred | undefined
  let ownError: unknown
  try {
    own = deferred(
      await indexPack(response.pack, {
        packDir: opts.packDir,
        ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
        ...(opts.promisor !== undefined ? { promisor: opts.promisor } : {}),
        progress: opts.progress,
        ...(signal !== undefined ? { signal } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads, threadsMinDeltas: 0 } : {}),
        ...(opts.packFile !== undefined ? { target: { ...opts.packFile, have: 0, keepOnFailure: true } } : {}),
        ...(opts.resolveExternal !== undefined ? { resolveExternal: opts.resolveExternal } : {}),
        ...(opts.onObject !== undefined ? { onObject: opts.onObject } : {}),
        defer: true,
      }),
    )
  } catch (e) {
    ownError = e
    failed = true
  }
  progress.show()
  const settled = await downloads
  const failures = [...(ownError !== undefined ? [ownError] : []), ...settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason)]
  const got = settled.filter((s): s is PromiseFulfilledResult<NamedPack> => s.status === 'fulfilled').map((s) => s.value)
  const fresh = got.flatMap((g) => (g.installed ? [] : [deferred(g.pack)]))
  if (failures.length > 0) {
    // Nothing goes in: a complete named pack's file stays under its .temp name (the next
    // try finds it whole: a 416 for the bytes after its end, no byte again); the
    // response's pack stays only where the caller keeps it (a clone salvages it whole).
    await own?.discard({ keepPack: opts.packFile !== undefined }).catch(() => undefined)
    for (const p of fresh) await p.discard({ keepPack: true }).catch(() => undefined)
    throw failures[0]
  }
  const ownPack = own as Deferred
  const installed: IndexPackResult[] = []
  const release = async (): Promise<void> => {
    for (const p of installed) await removeIfThere(p.keepPath)
  }
  try {
    for (const p of fresh) {
      await p.install()
      installed.push(p)
      await uris?.journal?.forget(p.checksum)
    }
    await ownPack.install()
    installed.unshift(ownPack)
  } catch (e) {
    await release().catch(() => undefined)
    throw e
  }
  return {
    packs: installed,
    alreadyHere: got.flatMap((g) => (g.installed ? [g.name] : [])),
    objects: installed.reduce((n, p) => n + p.objectCount, 0),
    downloaded,
    ...(shallow !== undefined ? { shallow } : {}),
    release,
  }
}

function dedupe(uris: readonly PackfileUri[]): PackfileUri[] {
  const seen = new Set<string>()
  return uris.filter((u) => (seen.has(u.hash) ? false : (seen.add(u.hash), true)))
}

/** Every ref about to be written names an object that is here (git's check of a fetch's tips). */
export async function checkTips(store: ObjectStore, tips: readonly { oid: Oid; name: string }[]): Promise<void> {
  for (const t of tips) {
    if (!(await store.has(t.oid))) throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (missing ${t.oid} for ${t.name})`)
  }
}

/**
 * Every object reachable from `tips` is here (rev-list --objects, nothing fetched):
 * git's connectivity check, for a fetch whose objects came from more than one place.
 */
export async function checkConnected(repo: { refs: RefStore }, store: ObjectStore, tips: readonly Oid[]): Promise<void> {
  try {
    await revList({ refs: repo.refs, store }, { args: [...tips], objects: true, missing: 'error', write: () => undefined })
  } catch (e) {
    if (e instanceof RevListMissingError) throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (missing ${e.oid})`, { cause: e })
    throw e
  }
}
