/**
 * `clone --bundle-uri=<uri>` (Documentation/technical/bundle-uri.txt): before the
 * remote is asked for anything, bundles from a static server (a CDN) are downloaded and
 * unbundled into the new repository; the fetch that follows sends their refs as haves,
 * so the remote sends only what is newer.
 *
 * The URI names a bundle (gitformat-bundle v2 or v3) or a bundle list (git config text:
 * bundle.version, bundle.mode all|any, bundle.<id>.uri, .filter, .creationToken). From
 * a list, the bundles whose filter is the clone's are taken: all of them (mode all;
 * newest first with the creationToken heuristic, applied oldest first), or the first
 * that works (mode any); a list may name lists, four deep.
 *
 * Each file is downloaded into objects/pack/tmp_bundle_<sha1 of its URI> and continued
 * by a later try with Range and If-Range (resumable-download.ts): a bundle is the
 * natural resume point of a clone. Once whole, its pack (the bytes after the header) is
 * indexed beside the others, as a promisor pack in a partial clone or when the bundle
 * was made with a filter; its prerequisites must be present (a bundle whose are not is
 * tried again after the others); its refs/heads/<x> become refs/bundles/<x>, as git
 * 2.39 writes them, and stay after the clone.
 *
 * As in git, a bundle URI is a help, never the source of truth: a bundle that cannot be
 * had (404, not a bundle, corrupt, prerequisites missing, another filter) is skipped
 * with a warning and its objects come from the remote. A download cut short is another
 * matter: it stops the clone as any cut does, keeping what arrived.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat, unlink } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TsgitError, isNotFound } from '../errors.js'
import type { ProgressSink } from '../events.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { indexPack } from '../pack/indexer.js'
import { writeAll } from '../pack/tempfile.js'
import {
  classifyBundleUriContent, parseBundleHeader, parseBundleList, sameFilter, selectBundles, signatureState,
  type BundleHeader, type BundleListEntry,
} from '../protocol/index.js'
import type { RefStore } from '../repo/refs.js'
import type { Transport, TransportOptions } from '../transport/index.js'
import { continueDownload, type DownloadJournal } from './resumable-download.js'

/** Lists naming lists: as deep as git goes. */
const MAX_LIST_DEPTH = 4
/** A list is a few lines; more is not a list. */
const MAX_LIST_BYTES = 4 * 1024 * 1024
/** Bytes read at a time to find the end of a bundle's header. */
const HEADER_READ = 64 * 1024

export interface BundleUriContext {
  store: ObjectStore
  refs: RefStore
  /** The remote's transport: downloads over http(s) go through it (credentials only for its own origin). */
  transport: Transport
  transportOptions: TransportOptions
  journal?: DownloadJournal
  /** The clone's partial-clone filter as config writes it; undefined for a full clone. */
  filter: string | undefined
  /** .keep content for the packs unbundled (the clone drops them with its own). */
  keep?: string
  /** .promisor content, when the clone is partial. */
  promisor?: string
  sink: ProgressSink
  signal?: AbortSignal
  threads?: number
  /** Files whose bundle was applied by an earlier try (their keys): not downloaded again. */
  applied: ReadonlySet<string>
  /** Called once a bundle is in, with its key (a try after a cut does not do it again). */
  onApplied?: (key: string) => Promise<void>
}

export interface BundlesApplied {
  /** The commits the bundles' refs name: haves for the fetch that follows. */
  tips: Oid[]
  bundles: number
  /** Bytes downloaded by this run. */
  bytes: number
}

/** The journal key, and the file name's part, of a bundle URI. */
export function bundleKey(uri: string): string {
  return `bundle-${createHash('sha1').update(uri).digest('hex')}`
}

/** A bundle URI that is a local file: file:// or a path, as git takes them. */
function localPath(uri: string, cwd: string): string | undefined {
  if (uri.startsWith('file://')) return fileURLToPath(uri)
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri)) return undefined
  return isAbsolute(uri) ? uri : resolve(cwd, uri)
}

/** Why a bundle is not used: a warning, the clone goes on. */
class Skip extends Error {}

interface Fetched {
  key: string
  uri: string
  /** Where the whole file is (a download's temp, or a local file). */
  path: string
  /** Remove it once used (a download; never a user's local file). */
  temp: boolean
}

export class BundleUris {
  private bytes = 0
  private readonly tips = new Set<Oid>()
  private applied = 0

  constructor(
    private readonly ctx: BundleUriContext,
    private readonly cwd: string,
  ) {}

  /** Takes what `uri` offers; see the module comment. */
  async apply(uri: string): Promise<BundlesApplied> {
    await this.take(uri, 0, true)
    return { tips: [...this.tips], bundles: this.applied, bytes: this.bytes }
  }

  private warn(uri: string, why: string): void {
    this.ctx.sink.warn(`failed to use bundle URI '${uri}': ${why}`)
  }

  /** A bundle or a list at `uri`; `local` says whether a file path may be followed there. False: skipped (warned). */
  private async take(uri: string, depth: number, local: boolean): Promise<boolean> {
    if (this.ctx.applied.has(bundleKey(uri))) return true
    const got = await this.fetchOrSkip(uri, local)
    if (got === undefined) return false
    return this.use(got, depth)
  }

  /** The file at `uri`, or undefined (warned) when it cannot be had for good; a cut download throws. */
  private async fetchOrSkip(uri: string, local: boolean): Promise<Fetched | undefined> {
    try {
      return await this.fetch(uri, local)
    } catch (e) {
      if (!this.skips(e)) throw e
      this.warn(uri, (e as Error).message)
      return undefined
    }
  }

  /** Failures that make a bundle useless, not the clone: skipped (as git does). A cut stops the clone, resumably. */
  private skips(e: unknown): boolean {
    return e instanceof Skip || (e instanceof TsgitError && !e.retryable && e.code !== 'E_RESUME_STATE')
  }

  /** Uses a whole file: a bundle is unbundled (NotReady when its prerequisites are missing), a list followed. */
  private async use(got: Fetched, depth: number, waitForPrerequisites = false): Promise<boolean> {
    try {
      const first = await readPrefix(got.path, MAX_LIST_BYTES + 1)
      const kind = signatureState(first) === 'bundle' ? 'bundle' : classifyBundleUriContent(first)
      if (kind === 'bundle') {
        await this.unbundle(got)
        return true
      }
      if (kind !== 'list') throw new Skip('not a bundle or bundle list')
      if (depth >= MAX_LIST_DEPTH) throw new Skip(`bundle lists nest more than ${MAX_LIST_DEPTH} deep`)
      await this.done(got)
      return await this.takeList(first.toString('utf8'), got.uri, depth)
    } catch (e) {
      // In a list, a bundle that waits for another's commits is tried again after it (its file kept).
      if (e instanceof NotReady && waitForPrerequisites) throw e
      if (!this.skips(e)) throw e
      this.warn(got.uri, (e as Error).message)
      await this.done(got)
      return false
    }
  }

  private async takeList(text: string, uri: string, depth: number): Promise<boolean> {
    const list = parseBundleList(text, uri)
    for (const w of list.warnings) this.ctx.sink.warn(w)
    const selection = selectBundles(list, this.ctx.filter)
    // A list from the network names only http(s) URIs: never a file of this machine.
    const local = localPath(uri, this.cwd) !== undefined
    if (selection.mode === 'any') {
      for (const b of selection.candidates) if (await this.take(b.uri, depth + 1, local)) return true
      return false
    }
    // mode all: every bundle downloaded (newest first), then applied oldest first, again
    // while one that waited for another's commits can go.
    const files = new Map<string, Fetched>()
    for (const b of selection.download) {
      if (this.ctx.applied.has(bundleKey(b.uri)) || files.has(b.uri)) continue
      const got = await this.fetchOrSkip(b.uri, local)
      if (got !== undefined) files.set(b.uri, got)
    }
    let waiting = selection.unbundle.filter((b) => files.has(b.uri))
    let any = selection.download.some((b) => this.ctx.applied.has(bundleKey(b.uri)))
    for (let progress = true; progress && waiting.length > 0; ) {
      progress = false
      const next: BundleListEntry[] = []
      for (const b of waiting) {
        try {
          if (await this.use(files.get(b.uri) as Fetched, depth + 1, true)) any = true
          progress = true
        } catch (e) {
          if (!(e instanceof NotReady)) throw e
          next.push(b)
        }
      }
      waiting = next
    }
    for (const b of waiting) {
      this.warn(b.uri, 'its prerequisite commits are not in the repository')
      await this.done(files.get(b.uri) as Fetched)
    }
    return any
  }

  /** The whole file at `uri`: downloaded (continuing an earlier try's file), or a local file. */
  private async fetch(uri: string, localAllowed: boolean): Promise<Fetched> {
    const key = bundleKey(uri)
    const path = localPath(uri, this.cwd)
    if (path !== undefined) {
      if (!localAllowed) throw new Skip('a bundle list from the network may not name a local file')
      try {
        if (!(await stat(path)).isFile()) throw new Skip('not a file')
      } catch (e) {
        if (isNotFound(e)) throw new Skip('no such file')
        throw e
      }
      return { key, uri, path, temp: false }
    }
    const temp = join(this.ctx.store.packDir, `tmp_${key.replace('-', '_')}`)
    const d = await continueDownload(this.ctx.transport, uri, temp, key, {
      protocols: ['http', 'https'],
      transportOptions: this.ctx.transportOptions,
      ...(this.ctx.journal !== undefined ? { journal: this.ctx.journal } : {}),
      onBytes: (n) => (this.bytes += n),
    })
    let at = d.have
    try {
      for await (const chunk of d.body) {
        await writeAll(d.handle, chunk, at)
        at += chunk.length
      }
      await d.handle.sync()
    } catch (e) {
      await d.handle.sync().catch(() => undefined)
      await this.ctx.journal?.stopped(key, at).catch(() => undefined)
      throw e
    } finally {
      await d.handle.close().catch(() => undefined)
    }
    return { key, uri, path: temp, temp: true }
  }

  private async done(got: Fetched): Promise<void> {
    if (got.temp) await unlink(got.path).catch(() => undefined)
    await this.ctx.journal?.forget(got.key).catch(() => undefined)
  }

  private async unbundle(got: Fetched): Promise<void> {
    const header = await readHeader(got.path)
    if (header.filter !== undefined || this.ctx.filter !== undefined) {
      if (!sameFilter(header.filter?.text, this.ctx.filter)) throw new Skip(`its filter '${header.filter?.text ?? 'none'}' is not the clone's '${this.ctx.filter ?? 'none'}'`)
    }
    const missing = await this.ctx.store.missingOf(header.prerequisites.map((p) => p.oid))
    if (missing.length > 0) throw new NotReady(missing[0] as Oid)
    try {
      const store = this.ctx.store
      await indexPack(createReadStream(got.path, { start: header.headerLength }), {
        packDir: store.packDir,
        ...(this.ctx.keep !== undefined ? { keep: this.ctx.keep } : {}),
        // A filtered bundle lacks what its filter left out: a promisor pack, as git marks it.
        ...(this.ctx.promisor !== undefined || header.filter !== undefined ? { promisor: this.ctx.promisor ?? '' } : {}),
        progress: this.ctx.sink,
        ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
        ...(this.ctx.threads !== undefined ? { threads: this.ctx.threads } : {}),
        // Deltas may be against the prerequisites' objects, which are here (a thin pack).
        resolveExternal: (oid) => store.tryRead(oid),
      })
      await store.rescan()
    } catch (e) {
      if (e instanceof TsgitError && e.code === 'E_PACK') throw new Skip(`the bundle is corrupt: ${e.message}`)
      throw e
    }
    // git 2.39 keeps a bundle's branches as refs/bundles/<name>: haves for later fetches.
    const tx = this.ctx.refs.transaction()
    let any = false
    for (const r of header.refs) {
      if (!r.name.startsWith('refs/heads/') || !(await this.ctx.store.has(r.oid))) continue
      tx.update(`refs/bundles/${r.name.slice('refs/heads/'.length)}`, r.oid, {})
      any = true
    }
    if (any) await tx.commit()
    for (const r of header.refs) if (await this.ctx.store.has(r.oid)) this.tips.add(r.oid)
    this.applied++
    await this.ctx.onApplied?.(got.key)
    await this.done(got)
  }
}

/** A bundle whose prerequisites are not (yet) here. */
class NotReady extends Skip {
  constructor(oid: Oid) {
    super(`its prerequisite ${oid} is not in the repository`)
  }
}

/** The first `max` bytes of `path` (all of it when shorter). */
async function readPrefix(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(max)
    let got = 0
    while (got < max) {
      const { bytesRead } = await handle.read(buf, got, max - got, got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buf.subarray(0, got)
  } finally {
    await handle.close()
  }
}

/** The header of the bundle in `path`, read until its end. */
async function readHeader(path: string): Promise<BundleHeader> {
  const handle = await open(path, 'r')
  try {
    let bytes = Buffer.alloc(0)
    for (;;) {
      const chunk = Buffer.allocUnsafe(HEADER_READ)
      const { bytesRead } = await handle.read(chunk, 0, HEADER_READ, bytes.length)
      if (bytesRead === 0) throw new Skip('the bundle ends inside its header')
      bytes = Buffer.concat([bytes, chunk.subarray(0, bytesRead)])
      const header = parseBundleHeader(bytes)
      if (header !== undefined) return header
    }
  } catch (e) {
    if (e instanceof TsgitError && e.code === 'E_BUNDLE') throw new Skip(e.message)
    throw e
  } finally {
    await handle.close()
  }
}
