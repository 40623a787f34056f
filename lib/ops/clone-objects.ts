/**
 * The objects phase of a clone's try: everything below the plan's tips, by one fetch
 * when nothing of them is here yet, else by asking only for what is missing, a kind at
 * a time (clone-fill.ts). Every response goes through the receive path into a pack file
 * named in the clone's state before its first byte, so a cut leaves what arrived for
 * the next try; a depth clone's boundary is recorded before its pack is read.
 */
import type { FileHandle } from 'node:fs/promises'
import { unlink } from 'node:fs/promises'
import { basename } from 'node:path'
import type { ProgressSink } from '../events.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { createResumablePackFile } from '../pack/indexer.js'
import { filterToWire, serverSupportsFilter, type FetchArgs, type FilterSpec } from '../protocol/index.js'
import { cutsHistory, writeClonePack, type ClonePlan, type CloneRequest } from '../repo/clone-state.js'
import type { Repository } from '../repo/repository.js'
import type { TransportOptions } from '../transport/index.js'
import { fillMissing, type FillKind } from './clone-fill.js'
import type { Packing } from './clone-leftovers.js'
import type { DownloadJournal } from './packfile-uris.js'
import { packfileUriArgs, uriConcurrency, uriProtocols } from './packfile-uris.js'
import { checkConnected, receive, type Received } from './receive.js'
import type { RemoteSession } from './remote-session.js'

type PackFile = { path: string; handle: FileHandle }

export interface CloneObjectsContext {
  session: RemoteSession
  repo: Repository
  store: ObjectStore
  request: CloneRequest
  plan: ClonePlan
  filter?: FilterSpec
  packing: Packing
  transportOptions: TransportOptions
  journal: DownloadJournal
  noProgress: boolean
  sink: ProgressSink
  /** Told what each response brought: objects, and bytes of named packs downloaded. */
  counted(objects: number, bytes: number): void
}

export class CloneObjects {
  constructor(private readonly c: CloneObjectsContext) {}

  /**
   * Everything below the plan's tips: one fetch when nothing of them is here (into
   * `packFile` when given, else a new file), else only what is missing. The bundles'
   * refs, whole below them, are haves: the remote sends only what is newer.
   */
  async fetch(packFile: PackFile | undefined): Promise<void> {
    const { plan } = this.c
    const haves = (await this.c.repo.refs.list('refs/bundles/')).map((r) => r.oid)
    let anyHere = false
    for (const r of plan.wanted) if (await this.c.store.has(r.oid)) anyHere = true
    if (!anyHere) {
      await this.whole(packFile, haves)
      return
    }
    if (packFile !== undefined) {
      await packFile.handle.close()
      await unlink(packFile.path).catch(() => undefined)
    }
    await this.missing(haves)
  }

  private args(args: Partial<FetchArgs> & Pick<FetchArgs, 'wants'>): FetchArgs {
    return {
      done: true,
      ofsDelta: true,
      noProgress: this.c.noProgress,
      ...packfileUriArgs(this.c.session.caps, uriProtocols(this.c.repo.config)),
      ...(this.c.repo.shallow.size > 0 ? { shallow: [...this.c.repo.shallow] } : {}),
      ...args,
    }
  }

  /**
   * One request through the receive path, its pack file named in the state first (when
   * not given, already named): a cut response leaves what arrived for the next try.
   */
  private async receive(args: FetchArgs, file?: PackFile, notBoundary?: ReadonlySet<Oid>): Promise<Received> {
    const { repo, store } = this.c
    let packFile = file
    if (packFile === undefined) {
      packFile = await createResumablePackFile(store.packDir)
      const name = basename(packFile.path)
      await repo.config.update((f) => writeClonePack(f, name))
    }
    const protocols = args.packfileUriProtocols ?? []
    // Indexing what arrives needs the memory more than the trees the fill's walks left cached.
    store.dropCaches()
    const received = await receive(this.c.session, { args }, {
      ...this.c.packing,
      ...(protocols.length > 0 ? { uris: { protocols, transportOptions: this.c.transportOptions, concurrency: uriConcurrency(repo.config), journal: this.c.journal } } : {}),
      packFile,
      onShallowInfo: async (info) => {
        // Recorded before the pack is read: a resume must know where history stops.
        // (Not the `shallow` lines a fill's request said of present commits: those are no boundary.)
        const next = new Set([...repo.shallow, ...info.shallow.filter((oid) => notBoundary?.has(oid) !== true)])
        for (const oid of info.unshallow) next.delete(oid)
        await repo.setShallow(next)
        store.shallowChanged()
      },
    })
    this.c.counted(received.objects, received.downloaded)
    await store.rescan()
    return received
  }

  /** The one fetch of a clone that has nothing yet. */
  private async whole(file: PackFile | undefined, haves: Oid[] = []): Promise<void> {
    const { request: state, plan, filter } = this.c
    const wants = [...new Set(plan.wanted.map((r) => r.oid))]
    const args = this.args({
      wants,
      ...(haves.length > 0 ? { haves } : {}),
      includeTag: state.tags,
      ...(plan.partial && filter !== undefined ? { filter: filterToWire(filter) } : {}),
      ...(state.depth !== undefined ? { deepen: state.depth } : {}),
      ...(state.shallowSince !== undefined ? { deepenSince: state.shallowSince } : {}),
      ...(state.shallowExclude !== undefined && state.shallowExclude.length > 0 ? { deepenNot: state.shallowExclude } : {}),
    })
    // A shallow clone asks for its boundary again: no `shallow` lines of its own yet.
    if (cutsHistory(state)) delete args.shallow
    const received = await this.receive(args, file)
    // With packs from elsewhere, what was sent and what was downloaded must make a whole:
    // every object reachable from the tips (git checks this on every clone).
    if ((received.packs.length + received.alreadyHere.length > 1 || haves.length > 0) && !plan.partial) await checkConnected(this.c.repo, this.c.store, wants)
  }

  /** What is missing below the tips, a kind at a time (clone-fill.ts). */
  private async missing(haves: Oid[]): Promise<void> {
    const { plan, filter } = this.c
    if (!serverSupportsFilter(this.c.session.caps)) {
      // Objects cannot be asked for alone: everything is fetched again (what is here stays).
      this.c.sink.warn('the server cannot filter objects: fetching the whole clone again')
      await this.whole(undefined, haves)
      return
    }
    // A tree:0 clone has no trees; any other partial clone has them all (tree:<n> with n > 0
    // gets more than it would have had: see tsgit-clone-resume(1)); only a full clone has every blob.
    const trees = !(plan.partial && filter?.kind === 'tree' && filter.depth === 0n)
    const blobs = !plan.partial
    const follow = plan.followTags
    await fillMissing(
      {
        store: this.c.store,
        fetch: async (wants: Oid[], filter: string | undefined, kind: FillKind, boundary?: { haves: Oid[]; shallow: Oid[] }) => {
          // Commits below a bundle's refs are whole here: those are not sent again.
          const all = kind === 'commits' ? [...new Set([...haves, ...(boundary?.haves ?? [])])] : []
          const withHaves = all.length > 0 ? { haves: all } : {}
          const extra = boundary !== undefined && boundary.shallow.length > 0 ? new Set(boundary.shallow.filter((oid) => !this.c.repo.shallow.has(oid))) : undefined
          const withShallow = extra !== undefined ? { shallow: [...new Set([...this.c.repo.shallow, ...extra])] } : {}
          await this.receive(this.args({ wants, ...withHaves, ...withShallow, ...(filter !== undefined ? { filter } : {}) }), undefined, extra)
        },
        boundaries: this.c.session.caps.commandFeatures('fetch').has('shallow'),
      },
      { tips: plan.wanted.map((r) => r.oid), trees, blobs },
    )
    // Tags git's include-tag would have brought: those on a commit the clone has.
    const tags: Oid[] = []
    for (const t of follow) if (!(await this.c.store.has(t.oid)) && (await this.c.store.has(t.peeled ?? t.oid))) tags.push(t.oid)
    if (tags.length > 0) await this.receive(this.args({ wants: tags, filter: 'tree:0', haves: [...new Set(follow.filter((t) => tags.includes(t.oid)).map((t) => t.peeled ?? t.oid))] }))
  }
}
