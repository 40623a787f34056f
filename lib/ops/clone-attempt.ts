/**
 * One try at a clone, from wherever its recorded state says it is (clone-state.ts):
 *
 *   plan       ls-refs, the refs wanted and where HEAD goes, written to the config with
 *              the remote's configuration (once; a later try compares the remote's refs)
 *   objects    what an earlier try left is taken first (the pack it was receiving,
 *              salvaged; the packfile-URI downloads it began, continued), then one
 *              fetch of everything when nothing of the tips is here, else only what is
 *              missing, a kind at a time (clone-fill.ts); every pack held by a .keep
 *   refs       the tips checked, the refs written as git's clone writes them, the .keep
 *              files dropped
 *   checkout   the work tree, then the state removed: the clone is done
 *
 * A fresh clone is the same sequence from an empty state, so an interrupted clone and
 * the resumed one take the same path. Before its first request every response's pack
 * file is named in the state, so a try that is cut (or a process that is killed)
 * leaves what arrived where the next try finds it.
 */
import { readFile, readdir, rm, unlink } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { RepositoryError, TsgitError, isNotFound } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { alternateDirectories } from '../odb/alternates.js'
import { parseCommit, parseTag, parseTree } from '../odb/objects.js'
import { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { salvagePack } from '../pack/salvage.js'
import { createResumablePackFile } from '../pack/indexer.js'
import { buildFetchRequest, filterToConfig, filterToWire, parseFetchResponse, parseFilterSpec, serverSupportsFilter, type FetchArgs, type FilterSpec, type RemoteRef } from '../protocol/index.js'
import {
  clearCloneState, downloadKeys, readCloneState, writeBundleApplied, writeClonePack, writeClonePhase, writeClonePlan,
  type ClonePlan, type CloneRequest, type CloneState,
} from '../repo/clone-state.js'
import type { ConfigFile } from '../repo/config.js'
import { takeCloneLock } from '../repo/clone-lock.js'
import { initRepository, Repository } from '../repo/repository.js'
import { checkoutTree } from '../worktree/checkout.js'
import { BundleUris } from './bundle-uri.js'
import { fillMissing, type FillKind } from './clone-fill.js'
import { headTarget, planRefs, refsMoved, writeCloneRefs } from './clone-plan.js'
import { ConfigJournal } from './download-journal.js'
import { LazyFetcher } from './lazy-fetch.js'
import { downloadNamedPack, packfileUriArgs, uriConcurrency, uriProtocols } from './packfile-uris.js'
import { checkConnected, checkTips, receive, type Received } from './receive.js'
import { openSessionAndListRefs, packThreads, type RemoteSession } from './remote-session.js'
import { transportOptionsFromConfig } from './transport-options.js'
import { warnUnappliedAttributes } from './unapplied-attributes.js'

export interface CloneContext {
  cwd: string
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
  /** `tsgit -c key=value clone …`: applies to this run only. */
  configOverrides?: string[]
}

export interface CloneResult {
  gitDir: string
  workTree?: string
  head?: Oid
  partial: boolean
  /** Objects received by this run (over every pack). */
  objects: number
  /** Bytes received by this run: the responses and the packs downloaded. */
  bytesReceived: number
  checkedOutFiles: number
  /** Tries this run made (1 when nothing failed). */
  attempts: number
}

/** Where the clone goes and what it was asked for. */
export interface CloneJob {
  /** The directory as the user named it, for messages. */
  dirArg: string
  destPath: string
  gitDir: string
  request: CloneRequest
  /** Ask the server for no progress (--quiet, or progress not shown). */
  noProgress?: boolean
}

/** A fresh clone's first contact, begun while its repository was being created. */
export interface FirstContact {
  opened: Promise<{ session: RemoteSession; refs: RemoteRef[] }>
  created: Promise<Repository>
}

const NOT_OUR_REF = /not our ref [0-9a-f]{40}/

/**
 * Whether the remote still has `oids`: a fetch that wants them and says it has them
 * (upload-pack refuses a want it does not have: "not our ref"; otherwise it answers an
 * empty pack, read and dropped here). One small request, made only when refs moved.
 */
async function remoteHas(session: RemoteSession, oids: Oid[]): Promise<boolean> {
  const filter = serverSupportsFilter(session.caps) ? { filter: 'tree:0' } : {}
  try {
    const reader = await session.transport.command(buildFetchRequest(session.caps, { wants: oids, haves: oids, done: true, noProgress: true, ...filter }))
    const response = await parseFetchResponse(reader, silentSink)
    if (response.pack !== undefined) for await (const chunk of response.pack) void chunk
    return true
  } catch (e) {
    if (e instanceof TsgitError && NOT_OUR_REF.test(e.message)) return false
    throw e
  }
}

/** The .keep files of a clone say so: the clone removes them, whichever try made them. */
const KEEP_PREFIX = 'tsgit clone'

function refPrefixes(r: CloneRequest): string[] {
  return r.tags ? ['HEAD', 'refs/heads/', 'refs/tags/'] : ['HEAD', 'refs/heads/']
}

/** Opens the new repository and its store; the state must be there. */
async function openClone(job: CloneJob, ctx: CloneContext, created?: Repository): Promise<{ repo: Repository; state: CloneState }> {
  const repo =
    created ??
    (await Repository.fromLocation(job.request.bare ? { gitDir: job.gitDir, bare: true } : { gitDir: job.gitDir, workTree: job.destPath, bare: false }, {
      env: ctx.env,
      cliConfig: ctx.configOverrides ?? [],
    }))
  const state = readCloneState(repo.config)
  if (state === undefined) throw new RepositoryError(`'${job.dirArg}' holds no unfinished clone`)
  return { repo, state }
}

export async function attemptClone(ctx: CloneContext, job: CloneJob, first?: FirstContact): Promise<CloneResult> {
  let session: RemoteSession | undefined
  let created: Repository | undefined
  if (first !== undefined) {
    // Both settle before anything is cleaned up; a failure to create the repository is reported first, as git does.
    const [opened, made] = await Promise.allSettled([first.opened, first.created])
    if (opened.status === 'fulfilled') session = opened.value.session
    if (made.status === 'rejected') {
      await session?.transport.close().catch(() => undefined)
      throw made.reason
    }
    created = made.value
    if (opened.status === 'rejected') throw opened.reason
  }
  // Nobody else works on this clone; a try after a killed one clears the locks it left,
  // then makes what is missing of the repository (a config, HEAD or directory there stays).
  const release = await takeCloneLock(job.gitDir, created === undefined).catch(async (e: unknown) => {
    await session?.transport.close().catch(() => undefined)
    throw e
  })
  try {
    if (created === undefined) await initRepository(job.destPath, { bare: job.request.bare })
    return await attemptLocked(ctx, job, session, created, first)
  } finally {
    await release().catch(() => undefined)
  }
}

async function attemptLocked(ctx: CloneContext, job: CloneJob, opened: RemoteSession | undefined, created: Repository | undefined, first: FirstContact | undefined): Promise<CloneResult> {
  let session = opened
  const { repo, state } = await openClone(job, ctx, created)
  const store = new ObjectStore(repo.objectsDir, {
    shallow: () => repo.shallow,
    alternates: alternateDirectories(repo.objectsDir, { env: ctx.env.GIT_ALTERNATE_OBJECT_DIRECTORIES, cwd: ctx.cwd, warn: (m) => ctx.sink.warn(m) }),
  })
  const attempt = new Attempt(ctx, job, repo, store, state)
  try {
    if (state.phase === 'fetch') {
      let refs: RemoteRef[]
      if (first !== undefined) {
        refs = (await first.opened).refs
      } else {
        const listed = await openSessionAndListRefs(state.url, attempt.transportOptions(), { refPrefixes: refPrefixes(state) })
        session = listed.session
        refs = listed.refs
      }
      await attempt.fetchAll(session as RemoteSession, refs)
      attempt.bytes += (session as RemoteSession).transport.bytesReceived
      await (session as RemoteSession).transport.close()
      session = undefined
    }
    return await attempt.checkout()
  } finally {
    await session?.transport.close().catch(() => undefined)
    await store.close().catch(() => undefined)
  }
}

class Attempt {
  bytes = 0
  objects = 0
  private readonly keep = `${KEEP_PREFIX} ${process.pid}\n`
  private readonly filter: FilterSpec | undefined
  private readonly journal: ConfigJournal
  private plan: ClonePlan | undefined
  /** An earlier try was checking out: what it wrote of the work tree goes first. */
  private readonly resumingCheckout: boolean

  constructor(
    private readonly ctx: CloneContext,
    private readonly job: CloneJob,
    private readonly repo: Repository,
    private readonly store: ObjectStore,
    private readonly state: CloneState,
  ) {
    this.filter = state.filter !== undefined ? parseFilterSpec(state.filter) : undefined
    this.plan = state.plan
    this.journal = new ConfigJournal(repo.config)
    this.resumingCheckout = state.phase === 'checkout'
  }

  transportOptions(): ReturnType<typeof transportOptionsFromConfig> {
    return transportOptionsFromConfig(this.repo.config, this.state.origin, this.ctx.env, this.ctx.sink, this.ctx.signal)
  }

  private get packDir(): string {
    return this.store.packDir
  }

  /** The .promisor content of a partial clone's packs: the tips and their names. */
  private promisor(plan: ClonePlan): string | undefined {
    return plan.partial ? plan.wanted.map((r) => `${r.oid} ${r.name}\n`).join('') : undefined
  }

  /** How every pack of the clone is written: held by a .keep, a promisor pack in a partial clone. */
  private packing(plan: ClonePlan): { packDir: string; keep: string; promisor?: string; progress: ProgressSink; signal?: AbortSignal; threads?: number } {
    const promisor = this.promisor(plan)
    const threads = packThreads(this.repo.config)
    return {
      packDir: this.packDir,
      keep: this.keep,
      ...(promisor !== undefined ? { promisor } : {}),
      progress: this.ctx.sink,
      ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
      ...(threads !== undefined ? { threads } : {}),
    }
  }

  private singleBranch(): boolean {
    return this.state.singleBranch ?? this.state.depth !== undefined
  }

  /** Everything the clone's refs need, fetched and checked; then the refs. */
  async fetchAll(session: RemoteSession, refs: RemoteRef[]): Promise<void> {
    const { state, repo, store } = this
    let plan = this.plan
    // A fresh clone's first response goes into a file named in the state with the plan, one config write.
    let packFile: { path: string; handle: import('node:fs/promises').FileHandle } | undefined
    if (plan === undefined) {
      const partial = this.filter !== undefined && serverSupportsFilter(session.caps)
      if (this.filter !== undefined && !partial) this.ctx.sink.warn('filtering not recognized by server, ignoring')
      plan = planRefs(refs, { ...(state.branch !== undefined ? { branch: state.branch } : {}), singleBranch: this.singleBranch(), tags: state.tags, origin: state.origin, partial })
      packFile = plan.wanted.length > 0 ? await createResumablePackFile(this.packDir) : undefined
      await this.configure(plan, packFile !== undefined ? basename(packFile.path) : undefined)
      this.plan = plan
    } else {
      const moved = refsMoved(plan, refs)
      await this.takeWhatArrived(session, plan)
      if (moved.length > 0) {
        if (await remoteHas(session, moved.map((r) => r.oid))) {
          this.ctx.sink.warn(`the remote's refs changed since the clone began (${moved.map((r) => r.name).join(', ')}); finishing the clone at the commits it began with`)
        } else {
          this.ctx.sink.warn(`the remote no longer has the commits the clone began at; finishing it at the remote's current ${moved.map((r) => r.name).join(', ')}`)
          plan = await this.replan(refs, plan)
        }
      }
    }
    if (plan.wanted.length === 0) {
      this.ctx.sink.warn('You appear to have cloned an empty repository.')
    } else {
      if (state.bundleUri !== undefined && !state.bundlesDone) await this.takeBundles(session, plan, state.bundleUri)
      try {
        await this.fetchObjects(session, plan, packFile)
      } catch (e) {
        // The commits the clone began at are gone from the remote (rewritten and pruned):
        // it moves to the remote's current tips, keeping every object it has.
        if (!(this.state.plan !== undefined && e instanceof TsgitError && NOT_OUR_REF.test(e.message))) throw e
        const moved = refsMoved(plan, refs)
        this.ctx.sink.warn(`the remote no longer has what the clone began at (${e.message}); finishing it at the remote's current ${moved.map((r) => r.name).join(', ') || 'tips'}`)
        plan = await this.replan(refs, plan)
        await this.fetchObjects(session, plan, undefined)
      }
      packFile = undefined
      await checkTips(store, plan.wanted)
    }
    await writeCloneRefs(repo, store, plan, { bare: state.bare, origin: state.origin, url: state.url, env: this.ctx.env })
    await this.tidyPackDir()
    const willCheckout = state.checkout && !state.bare && headTarget(plan) !== undefined
    await repo.config.update((f) => (willCheckout ? writeClonePhase(f, 'checkout') : clearCloneState(f)))
  }

  /** A new plan from the remote's current refs (what is here stays; the fetch takes what it can of it). */
  private async replan(refs: RemoteRef[], old: ClonePlan): Promise<ClonePlan> {
    const { state } = this
    const plan = planRefs(refs, { ...(state.branch !== undefined ? { branch: state.branch } : {}), singleBranch: this.singleBranch(), tags: state.tags, origin: state.origin, partial: old.partial })
    await this.configure(plan, undefined)
    this.plan = plan
    return plan
  }

  /**
   * Everything below the plan's tips: one fetch when nothing of them is here (into
   * `packFile` when given, else a new file), else only what is missing. The bundles'
   * refs, whole below them, are haves: the remote sends only what is newer.
   */
  private async fetchObjects(session: RemoteSession, plan: ClonePlan, packFile: { path: string; handle: import('node:fs/promises').FileHandle } | undefined): Promise<void> {
    const haves = (await this.repo.refs.list('refs/bundles/')).map((r) => r.oid)
    let anyHere = false
    for (const r of plan.wanted) if (await this.store.has(r.oid)) anyHere = true
    if (!anyHere) {
      await this.fetchWhole(session, plan, packFile, haves)
      return
    }
    if (packFile !== undefined) {
      await packFile.handle.close()
      await unlink(packFile.path).catch(() => undefined)
    }
    await this.fetchMissing(session, plan, haves)
  }

  /** The remote's configuration, as git 2.39's clone writes it (plus extensions.partialClone: see DEVIATIONS), and the plan. */
  private async configure(plan: ClonePlan, packName: string | undefined): Promise<void> {
    const { state } = this
    const origin = state.origin
    await this.repo.config.update((f: ConfigFile) => {
      if (!state.bare) {
        const refspec = this.singleBranch() && plan.branch !== undefined ? `+refs/heads/${plan.branch}:refs/remotes/${origin}/${plan.branch}` : `+refs/heads/*:refs/remotes/${origin}/*`
        f.unsetAll(`remote.${origin}.fetch`)
        f.add(`remote.${origin}.fetch`, refspec)
      }
      if (!state.tags) f.set(`remote.${origin}.tagOpt`, '--no-tags')
      if (plan.partial && this.filter !== undefined) {
        f.set('core.repositoryformatversion', '1')
        f.set('extensions.partialClone', origin)
        f.set(`remote.${origin}.promisor`, 'true')
        f.set(`remote.${origin}.partialclonefilter`, filterToConfig(this.filter))
      }
      if (!state.bare && plan.branch !== undefined && plan.detach === undefined) {
        f.set(`branch.${plan.branch}.remote`, origin)
        f.set(`branch.${plan.branch}.merge`, `refs/heads/${plan.branch}`)
      }
      writeClonePlan(f, plan)
      writeClonePack(f, packName)
    })
  }

  /** What an earlier try left: the pack it was receiving (its whole objects) and the downloads it began. */
  private async takeWhatArrived(session: RemoteSession, plan: ClonePlan): Promise<void> {
    const { state } = this
    if (state.pack !== undefined) {
      const path = join(this.packDir, state.pack)
      const salvaged = await salvagePack(path, this.packing(plan)).catch((e: unknown) => {
        if (isNotFound(e)) return undefined
        throw e
      })
      if (salvaged?.result !== undefined) this.ctx.sink.info(`Kept ${salvaged.objects} objects that arrived before the clone was cut.`)
      await this.repo.config.update((f) => writeClonePack(f, undefined))
    }
    const protocols = uriProtocols(this.repo.config, this.ctx.sink)
    for (const key of downloadKeys(this.repo.config)) {
      if (key.startsWith('bundle-')) continue
      const rec = this.journal.get(key)
      if (rec === undefined) continue
      try {
        const got = await downloadNamedPack(session.transport, { hash: key, uri: rec.uri }, {
          ...this.packing(plan),
          protocols: protocols.length > 0 ? protocols : ['https'],
          transportOptions: this.transportOptions(),
          journal: this.journal,
          onBytes: (n) => (this.bytes += n),
        })
        if (!got.installed) {
          const pack = got.pack as typeof got.pack & { install(): Promise<void> }
          await pack.install()
          this.objects += pack.objectCount
        }
        await this.journal.forget(key)
      } catch (e) {
        // A download that can no longer be had is not needed: its objects come from the remote.
        if (e instanceof TsgitError && !e.retryable && e.code !== 'E_RESUME_STATE') {
          this.ctx.sink.warn(`dropping the download of '${rec.uri}': ${e.message}`)
          await this.journal.forget(key)
          await unlink(join(this.packDir, `pack-${key}.pack.temp`)).catch(() => undefined)
          continue
        }
        throw e
      }
    }
    await this.store.refresh()
  }

  private fetchArgs(session: RemoteSession, args: Partial<FetchArgs> & Pick<FetchArgs, 'wants'>): FetchArgs {
    return {
      done: true,
      ofsDelta: true,
      noProgress: this.job.noProgress ?? this.ctx.sink.showProgress === false,
      ...packfileUriArgs(session.caps, uriProtocols(this.repo.config)),
      ...(this.repo.shallow.size > 0 ? { shallow: [...this.repo.shallow] } : {}),
      ...args,
    }
  }

  /** The bundles the bundle URI offers, unbundled before the remote is asked (bundle-uri.ts). */
  private async takeBundles(session: RemoteSession, plan: ClonePlan, uri: string): Promise<void> {
    const bundles = new BundleUris(
      {
        store: this.store,
        refs: this.repo.refs,
        transport: session.transport,
        transportOptions: this.transportOptions(),
        journal: this.journal,
        filter: plan.partial ? this.state.filter : undefined,
        keep: this.keep,
        ...(this.promisor(plan) !== undefined ? { promisor: this.promisor(plan) as string } : {}),
        sink: this.ctx.sink,
        ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
        ...(packThreads(this.repo.config) !== undefined ? { threads: packThreads(this.repo.config) as number } : {}),
        applied: new Set(this.state.bundlesApplied),
        onApplied: (key) => this.repo.config.update((f) => writeBundleApplied(f, key)),
      },
      this.ctx.cwd,
    )
    const got = await bundles.apply(uri)
    this.bytes += got.bytes
    await this.repo.config.update((f) => writeBundleApplied(f, undefined, true))
  }

  /**
   * One request through the receive path, its pack file named in the state first (when
   * not given, already named): a cut response leaves what arrived for the next try.
   */
  private async receiveInto(session: RemoteSession, plan: ClonePlan, args: FetchArgs, file?: { path: string; handle: import('node:fs/promises').FileHandle }): Promise<Received> {
    let packFile = file
    if (packFile === undefined) {
      packFile = await createResumablePackFile(this.packDir)
      const name = basename(packFile.path)
      await this.repo.config.update((f) => writeClonePack(f, name))
    }
    const protocols = args.packfileUriProtocols ?? []
    const received = await receive(session, { args }, {
      ...this.packing(plan),
      ...(protocols.length > 0 ? { uris: { protocols, transportOptions: this.transportOptions(), concurrency: uriConcurrency(this.repo.config), journal: this.journal } } : {}),
      packFile,
      onShallowInfo: async (info) => {
        // Recorded before the pack is read: a resume must know where history stops.
        const next = new Set([...this.repo.shallow, ...info.shallow])
        for (const oid of info.unshallow) next.delete(oid)
        await this.repo.setShallow(next)
        this.store.shallowChanged()
      },
    })
    this.objects += received.objects
    this.bytes += received.downloaded
    await this.store.rescan()
    return received
  }

  /** The one fetch of a clone that has nothing yet. */
  private async fetchWhole(session: RemoteSession, plan: ClonePlan, file: { path: string; handle: import('node:fs/promises').FileHandle } | undefined, haves: Oid[] = []): Promise<void> {
    const { state } = this
    const wants = [...new Set(plan.wanted.map((r) => r.oid))]
    const args = this.fetchArgs(session, {
      wants,
      ...(haves.length > 0 ? { haves } : {}),
      includeTag: state.tags,
      ...(plan.partial && this.filter !== undefined ? { filter: filterToWire(this.filter) } : {}),
      ...(state.depth !== undefined ? { deepen: state.depth } : {}),
    })
    // A depth clone asks for its boundary again: no `shallow` lines of its own yet.
    if (state.depth !== undefined) delete args.shallow
    const received = await this.receiveInto(session, plan, args, file)
    // With packs from elsewhere, what was sent and what was downloaded must make a whole:
    // every object reachable from the tips (git checks this on every clone).
    if ((received.packs.length + received.alreadyHere.length > 1 || haves.length > 0) && !plan.partial) await checkConnected(this.repo, this.store, wants)
  }

  /** What is missing below the tips, a kind at a time (clone-fill.ts). */
  private async fetchMissing(session: RemoteSession, plan: ClonePlan, haves: Oid[]): Promise<void> {
    if (!serverSupportsFilter(session.caps)) {
      // Objects cannot be asked for alone: everything is fetched again (what is here stays).
      this.ctx.sink.warn('the server cannot filter objects: fetching the whole clone again')
      await this.fetchWhole(session, plan, undefined, haves)
      return
    }
    // A tree:0 clone has no trees; any other partial clone has them all (tree:<n> with n > 0
    // gets more than it would have had: see tsgit-clone-resume(1)); only a full clone has every blob.
    const trees = !(plan.partial && this.filter?.kind === 'tree' && this.filter.depth === 0n)
    const blobs = !plan.partial
    const follow = plan.followTags
    await fillMissing(
      {
        store: this.store,
        fetch: async (wants: Oid[], filter: string | undefined, kind: FillKind) => {
          // Commits below a bundle's refs are whole here: those are not sent again.
          const withHaves = kind === 'commits' && haves.length > 0 ? { haves } : {}
          await this.receiveInto(session, plan, this.fetchArgs(session, { wants, ...withHaves, ...(filter !== undefined ? { filter } : {}) }))
        },
      },
      { tips: plan.wanted.map((r) => r.oid), trees, blobs },
    )
    // Tags git's include-tag would have brought: those on a commit the clone has.
    const tags: Oid[] = []
    for (const t of follow) if (!(await this.store.has(t.oid)) && (await this.store.has(t.peeled ?? t.oid))) tags.push(t.oid)
    if (tags.length > 0) await this.receiveInto(session, plan, this.fetchArgs(session, { wants: tags, filter: 'tree:0', haves: [...new Set(follow.filter((t) => tags.includes(t.oid)).map((t) => t.peeled ?? t.oid))] }))
  }

  /**
   * Removes what the clone's tries left in objects/pack: .keep files clones made (this
   * try's, and any a killed try left), and temporary files a killed try left (nothing is
   * being received any more: every pack of the clone is in).
   */
  private async tidyPackDir(): Promise<void> {
    let names: string[]
    try {
      names = await readdir(this.packDir)
    } catch (e) {
      if (isNotFound(e)) return
      throw e
    }
    for (const n of names) {
      const path = join(this.packDir, n)
      let ours = n.startsWith('tmp_') || (n.startsWith('pack-') && n.endsWith('.temp'))
      if (!ours && n.startsWith('pack-') && n.endsWith('.keep')) ours = (await readFile(path, 'utf8').catch(() => '')).startsWith(KEEP_PREFIX)
      if (ours) await unlink(path).catch((e: unknown) => { if (!isNotFound(e)) throw e })
    }
  }

  /** The work tree (phase checkout), then the state goes. */
  async checkout(): Promise<CloneResult> {
    const { repo, state, store } = this
    const plan = this.plan ?? readCloneState(repo.config)?.plan
    const head = plan !== undefined ? headTarget(plan) : undefined
    let checkedOutFiles = 0
    const current = readCloneState(repo.config)
    if (current !== undefined && current.phase === 'checkout' && head !== undefined && plan !== undefined) {
      if (plan.partial) store.setFetcher(new LazyFetcher({ config: repo.config, store, env: this.ctx.env, sink: this.ctx.sink, signal: this.ctx.signal }))
      try {
        const commitOid = await peelToCommit(store, head)
        const commit = parseCommit((await store.read(commitOid)).data)
        // An earlier try may have written part of the work tree: what it wrote goes first
        // (only names the tree has at its top; anything else there is left alone).
        if (this.resumingCheckout) await this.clearPartialCheckout(commit.tree)
        const res = await checkoutTree({ reader: store, workTree: this.job.destPath, gitDir: repo.gitDir, progress: this.ctx.sink, signal: this.ctx.signal }, commit.tree, {
          commit: commitOid,
          symlinks: repo.config.getBool('core.symlinks') ?? true,
        })
        checkedOutFiles = res.files
        if (res.files > 0) await warnUnappliedAttributes({ reader: store, config: repo.config, commonDir: repo.commonDir, sink: this.ctx.sink }, res.attributes)
      } catch (e) {
        if (e instanceof TsgitError && e.retryable) throw e
        if (this.ctx.signal?.aborted) throw e
        // As git: the clone stands, the checkout failed for a reason a retry does not change.
        await repo.config.update((f) => clearCloneState(f)).catch(() => undefined)
        this.ctx.sink.warn("Clone succeeded, but checkout failed.\nYou can inspect what was checked out with 'git status'\nand retry with 'git restore --source=HEAD :/'\n")
        throw e
      }
      await this.tidyPackDir()
      await repo.config.update((f) => clearCloneState(f))
    }
    return {
      gitDir: repo.gitDir,
      ...(state.bare ? {} : { workTree: this.job.destPath }),
      ...(head !== undefined ? { head } : {}),
      partial: plan?.partial ?? false,
      objects: this.objects,
      bytesReceived: this.bytes,
      checkedOutFiles,
      attempts: 1,
    }
  }

  private async clearPartialCheckout(tree: Oid): Promise<void> {
    const obj = await this.store.tryRead(tree)
    if (obj === undefined) return
    await rm(join(this.repo.gitDir, 'index'), { force: true })
    for (const e of parseTree(obj.data, { strictNames: false })) {
      const name = e.name
      if (name === '.git' || name === '' || name.includes('/')) continue
      await rm(join(this.job.destPath, name), { recursive: true, force: true })
    }
  }
}

async function peelToCommit(store: ObjectStore, oid: Oid): Promise<Oid> {
  let cur = oid
  for (let depth = 0; depth < 32; depth++) {
    const obj = await store.read(cur)
    if (obj.type === 'commit') return cur
    if (obj.type !== 'tag') throw new RepositoryError(`${oid} does not point to a commit`)
    cur = parseTag(obj.data).object
  }
  throw new RepositoryError(`tag chain from ${oid} is too deep`)
}
