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
import { basename } from 'node:path'
import { RepositoryError, TsgitError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { alternateDirectories } from '../odb/alternates.js'
import { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { createResumablePackFile } from '../pack/indexer.js'
import { parseFilterSpec, serverSupportsFilter, type FilterSpec, type RemoteRef } from '../protocol/index.js'
import {
  clearCloneState, cutsHistory, downloadKeys, readCloneState, writeBundleApplied, writeClonePack, writeClonePhase, writeClonePlan,
  type ClonePlan, type CloneRequest, type CloneState,
} from '../repo/clone-state.js'
import type { ConfigFile } from '../repo/config.js'
import { takeCloneLock } from '../repo/clone-lock.js'
import { initRepository, Repository } from '../repo/repository.js'
import { BundleUris } from './bundle-uri.js'
import { checkoutClone } from './clone-checkout.js'
import { initCloneSparseCheckout } from './sparse-checkout.js'
import { KEEP_PREFIX, continueDownloads, salvageReceiving, tidyPackDir } from './clone-leftovers.js'
import { CloneObjects } from './clone-objects.js'
import { headTarget, planRefs, refsMoved, writeCloneRefs, writeRemoteConfig } from './clone-plan.js'
import { ConfigJournal } from './download-journal.js'
import { uriProtocols } from './packfile-uris.js'
import { checkTips } from './receive.js'
import { NOT_OUR_REF, openSessionAndListRefs, packThreads, remoteStillHas, type RemoteSession } from './remote-session.js'
import { transportOptionsFromConfig } from './transport-options.js'
import type { CredentialJar } from '../transport/index.js'

export interface CloneContext {
  cwd: string
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
  /** `tsgit -c key=value clone …`: applies to this run only. */
  configOverrides?: string[]
  /** Credentials obtained so far by this command (clone makes one when none is given). */
  credentials?: CredentialJar
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
    return transportOptionsFromConfig(this.repo.config, { name: this.state.origin, url: this.state.url }, this.ctx)
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
    return this.state.singleBranch ?? cutsHistory(this.state)
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
      if (plan.wanted.length === 0 && plan.branch === undefined && plan.detach === undefined) {
        // An empty remote that does not say where its HEAD points (protocol v0, or v2
        // without unborn): git configures the new repository's own initial branch.
        const own = await repo.refs.readSymref('HEAD')
        if (own?.startsWith('refs/heads/')) plan = { ...plan, branch: own.slice('refs/heads/'.length) }
      }
      packFile = plan.wanted.length > 0 ? await createResumablePackFile(this.packDir) : undefined
      await this.configure(plan, packFile !== undefined ? basename(packFile.path) : undefined)
      this.plan = plan
    } else {
      const moved = refsMoved(plan, refs)
      await this.takeWhatArrived(session, plan)
      if (moved.length > 0) {
        if (await remoteStillHas(session, moved.map((r) => r.oid))) {
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
        await this.objectsFor(session, plan).fetch(packFile)
      } catch (e) {
        // The commits the clone began at are gone from the remote (rewritten and pruned):
        // it moves to the remote's current tips, keeping every object it has.
        if (!(this.state.plan !== undefined && e instanceof TsgitError && NOT_OUR_REF.test(e.message))) throw e
        const moved = refsMoved(plan, refs)
        this.ctx.sink.warn(`the remote no longer has what the clone began at (${e.message}); finishing it at the remote's current ${moved.map((r) => r.name).join(', ') || 'tips'}`)
        plan = await this.replan(refs, plan)
        await this.objectsFor(session, plan).fetch(undefined)
      }
      packFile = undefined
      await checkTips(store, plan.wanted)
    }
    await writeCloneRefs(repo, store, plan, { bare: state.bare, origin: state.origin, url: state.url, env: this.ctx.env })
    // before the checkout phase, so that --no-checkout leaves it too, as git's clone does
    if (state.sparse === true && !state.bare) await initCloneSparseCheckout(repo)
    await tidyPackDir(this.packDir)
    // The checkout reads the blobs afresh: what the objects phase's walks left inflated
    // (trees, bases, small packs read whole) would only add to its peak.
    store.dropCaches()
    const willCheckout = state.checkout && !state.bare && headTarget(plan) !== undefined
    // (the pack the state named is in: from here on it names only a file of the checkout's own fetch)
    await repo.config.update((f) => {
      if (willCheckout) {
        writeClonePhase(f, 'checkout')
        writeClonePack(f, undefined)
      } else clearCloneState(f)
    })
  }

  /** A new plan from the remote's current refs (what is here stays; the fetch takes what it can of it). */
  private async replan(refs: RemoteRef[], old: ClonePlan): Promise<ClonePlan> {
    const { state } = this
    const plan = planRefs(refs, { ...(state.branch !== undefined ? { branch: state.branch } : {}), singleBranch: this.singleBranch(), tags: state.tags, origin: state.origin, partial: old.partial })
    await this.configure(plan, undefined)
    this.plan = plan
    return plan
  }

  /** The objects phase for `plan` (clone-objects.ts); what it receives counts in this try's totals. */
  private objectsFor(session: RemoteSession, plan: ClonePlan): CloneObjects {
    return new CloneObjects({
      session,
      repo: this.repo,
      store: this.store,
      request: this.state,
      plan,
      ...(this.filter !== undefined ? { filter: this.filter } : {}),
      packing: this.packing(plan),
      transportOptions: this.transportOptions(),
      journal: this.journal,
      noProgress: this.job.noProgress ?? this.ctx.sink.showProgress === false,
      sink: this.ctx.sink,
      counted: (objects, bytes) => {
        this.objects += objects
        this.bytes += bytes
      },
    })
  }

  /** The remote's configuration as git's clone writes it, and the plan (clone-plan.ts). */
  private async configure(plan: ClonePlan, packName: string | undefined): Promise<void> {
    await this.repo.config.update((f: ConfigFile) => {
      writeRemoteConfig(f, this.state, plan, { singleBranch: this.singleBranch(), ...(this.filter !== undefined ? { filter: this.filter } : {}) })
      writeClonePlan(f, plan)
      writeClonePack(f, packName)
    })
  }

  /** What an earlier try left: the pack it was receiving (its whole objects) and the downloads it began. */
  private async takeWhatArrived(session: RemoteSession, plan: ClonePlan): Promise<void> {
    const packing = this.packing(plan)
    if (this.state.pack !== undefined) {
      const kept = await salvageReceiving(this.packDir, this.state.pack, packing)
      if (kept > 0) this.ctx.sink.info(`Kept ${kept} objects that arrived before the clone was cut.`)
      await this.repo.config.update((f) => writeClonePack(f, undefined))
    }
    const got = await continueDownloads(session.transport, downloadKeys(this.repo.config), {
      ...packing,
      protocols: uriProtocols(this.repo.config, this.ctx.sink),
      transportOptions: this.transportOptions(),
      journal: this.journal,
      sink: this.ctx.sink,
    })
    this.bytes += got.bytes
    this.objects += got.objects
    await this.store.refresh()
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

  /** The work tree (phase checkout), then the state goes; the clone's result. */
  async checkout(): Promise<CloneResult> {
    const { repo, state, store } = this
    const plan = this.plan ?? readCloneState(repo.config)?.plan
    const head = plan !== undefined ? headTarget(plan) : undefined
    let checkedOutFiles = 0
    if (readCloneState(repo.config)?.phase === 'checkout' && head !== undefined && plan !== undefined) {
      checkedOutFiles = await checkoutClone({ repo, store, workTree: this.job.destPath, ctx: this.ctx }, head, { partial: plan.partial, resuming: this.resumingCheckout, sparse: state.sparse === true })
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
}
