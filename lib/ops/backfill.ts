/**
 * `backfill` (git 2.49): downloads the blobs of a partial clone that the history of
 * HEAD refers to, in large batches grouped by path. All versions of one file go into
 * the same request, so the server can send them as deltas of each other; a batch is
 * sent once it holds at least `minBatchSize` objects, never splitting a path.
 *
 * The commits are walked with the shared walker (lib/rev/commit-walk.ts), then their trees by
 * path (lib/rev/path-walk.ts, as git's backfill does): every version of a directory is read
 * together, so a file's versions are all known once its directory is done. Batches go
 * out while the walk goes on, and the next batch's request is sent while the current
 * pack arrives (store.prefetchBatches). Missing trees (a tree:0 clone) are made present
 * level by level first, one request per directory depth, not one per tree. A blob found
 * at several paths joins the group of the first one in the path walk's order.
 *
 * Deviations: only tips are accepted as revisions (no ranges, no rev-list options, no
 * --include-edges); --sparse understands cone-mode patterns only.
 */
import { InterruptedError, MissingObjectError, UsageError } from '../errors.js'
import type { Oid } from '../oid.js'
import type { RepoContext } from './repo-context.js'
import { RevWalk } from '../rev/commit-walk.js'
import { peel, resolveRevision } from '../rev/parse.js'
import { missingBlobsByPath } from '../rev/path-walk.js'
import { byteString, type PathFilter } from '../rev/paths.js'
import { prefetchReachable } from '../rev/prefetch-reachable.js'
import type { PrefetchBatch } from '../odb/store.js'
import { SparseCheckoutError, coneWantsDir, coneWantsFile, readSparseCheckout, type ConeSpec } from '../worktree/sparse.js'

export const DEFAULT_MIN_BATCH_SIZE = 50_000

export interface BackfillOptions {
  /** Objects per request, at least (the last path of a batch may push it over). Default 50000. */
  minBatchSize?: number
  /** Restrict to the sparse-checkout cone; undefined: on exactly when core.sparseCheckout is. */
  sparse?: boolean
  /** Where the history starts; default HEAD. */
  revisions?: string[]
}

export interface BackfillResult {
  commits: number
  /** Distinct paths whose blobs were considered. */
  paths: number
  /** Blobs that were missing before the backfill. */
  missing: number
  /** Size of every batch requested, in order. */
  batches: number[]
}

/** The cone of the repository's sparse checkout; throws when it cannot be used. */
async function loadSparseCone(ctx: RepoContext): Promise<ConeSpec> {
  const { repo } = ctx
  const sc = await readSparseCheckout(repo.gitDir, repo.config)
  if (sc.state === 'off') throw new SparseCheckoutError('problem loading sparse-checkout: sparse checkout is not enabled (core.sparseCheckout)')
  if (sc.state === 'no-file') throw new SparseCheckoutError('problem loading sparse-checkout: .git/info/sparse-checkout does not exist')
  if (!sc.coneConfig) {
    throw new SparseCheckoutError('problem loading sparse-checkout: only cone-mode patterns are supported (core.sparseCheckoutCone is false)')
  }
  if (sc.state === 'patterns') throw new SparseCheckoutError('problem loading sparse-checkout: the patterns are not in cone mode')
  return sc.cone
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new InterruptedError('backfill interrupted', { cause: signal.reason })
}

/** The cone with its directories spelled as byte strings, to match the walk's paths. */
function byteCone(spec: ConeSpec): ConeSpec {
  return {
    recursive: new Set([...spec.recursive].map(byteString)),
    parents: new Set([...spec.parents].map(byteString)),
    everything: spec.everything,
  }
}

function conePaths(cone: ConeSpec): PathFilter {
  const bytes = byteCone(cone)
  return { tree: (path) => coneWantsDir(bytes, path), blob: (path) => coneWantsFile(bytes, path) }
}

/** The commits of the history (with the shared walker), each root tree pending with its commit. */
async function walkCommits(ctx: RepoContext, tips: Oid[]): Promise<{ walk: RevWalk; commits: number }> {
  const { store, sink } = ctx
  const walk = new RevWalk({ store, fetch: true }, { objects: true })
  for (const oid of tips) await walk.add({ oid, name: oid, uninteresting: false })
  let commits = 0
  for (let c = await walk.next(); c; c = await walk.next()) {
    checkAborted(ctx.signal)
    sink.progress({ title: 'Walking commits', current: ++commits })
  }
  sink.progress({ title: 'Walking commits', current: commits, done: true })
  return { walk, commits }
}

/**
 * Cuts per-path groups into batches of at least `min` objects without splitting a
 * path: add() hands back a batch once it is big enough, flush() the rest.
 */
export class BatchCutter<T> {
  private blobs: Oid[] = []
  private extras: T[] = []

  constructor(private readonly min: number) {}

  add(group: { blobs: Oid[]; extra: T }): { blobs: Oid[]; extras: T[] } | undefined {
    if (group.blobs.length === 0) return undefined
    for (const b of group.blobs) this.blobs.push(b)
    this.extras.push(group.extra)
    return this.blobs.length >= this.min ? this.flush() : undefined
  }

  flush(): { blobs: Oid[]; extras: T[] } | undefined {
    if (this.blobs.length === 0) return undefined
    const out = { blobs: this.blobs, extras: this.extras }
    this.blobs = []
    this.extras = []
    return out
  }
}

/** What one pass of the path walk handed out, and how it ended. */
interface Pass {
  batches: Oid[][]
  paths: number
  /** The walk is over: the number of missing blobs it found is final. */
  walked: boolean
  missingTree?: Oid
}

/**
 * One path walk whose batches are fetched while it goes on: a batch is handed to the
 * store as soon as its paths are complete and it is big enough, and the walk makes the
 * next one while the store fetches it. A walk that meets a missing tree stops there;
 * what it handed out is fetched, the groups it held back are found again next time.
 */
async function fetchWhileWalking(ctx: RepoContext, roots: Oid[], paths: PathFilter | undefined, min: number, progress: { done: number; missing: number }): Promise<Pass> {
  const { store, sink } = ctx
  const pass: Pass = { batches: [], paths: 0, walked: false }
  // asked here: inside the fetch, fetching is denied
  const checking = !store.canFetch
  const cutter = new BatchCutter<Oid[]>(min)
  /** Missing blobs this pass found. */
  let found = 0
  const batches = async function* (): AsyncGenerator<PrefetchBatch> {
    const walk = missingBlobsByPath(store, roots, paths)
    const out = (b: { blobs: Oid[]; extras: Oid[][] }): PrefetchBatch => {
      pass.batches.push(b.blobs)
      const referrers = new Set<Oid>()
      for (const trees of b.extras) for (const t of trees) referrers.add(t)
      return { oids: b.blobs, referrers }
    }
    let seen = 0
    for (;;) {
      const r = await walk.next()
      if (r.done === true) {
        pass.missingTree = r.value.missingTree
        break
      }
      if ((++seen & 0xff) === 0) checkAborted(ctx.signal)
      // something will be fetched: connect while the walk goes on
      if (pass.paths === 0 && !checking) store.prepareFetch()
      pass.paths++
      found += r.value.blobs.length
      const batch = cutter.add({ blobs: r.value.blobs, extra: r.value.referrers })
      if (batch) yield out(batch)
    }
    if (pass.missingTree !== undefined) return
    pass.walked = true
    progress.missing += found
    const last = cutter.flush()
    if (last) yield out(last)
  }
  await store.prefetchBatches(batches(), async (i) => {
    const batch = pass.batches[i] as Oid[]
    if (checking) {
      const still = await store.missingOf(batch)
      if (still.length > 0) {
        const first = still[0] as Oid
        throw new MissingObjectError(first, `could not backfill ${still.length} object(s), e.g. ${first}: lazy fetching is off or this is not a partial clone`)
      }
    }
    progress.done += batch.length
    sink.progress({ title: 'Backfilling objects', current: progress.done, total: pass.walked ? progress.missing : undefined })
    checkAborted(ctx.signal)
  })
  return pass
}

export async function backfill(ctx: RepoContext, options: BackfillOptions = {}): Promise<BackfillResult> {
  const { repo, store, sink } = ctx
  const min = options.minBatchSize ?? DEFAULT_MIN_BATCH_SIZE
  if (!Number.isSafeInteger(min) || min < 1) throw new UsageError(`invalid --min-batch-size: ${String(min)}`)
  const sparse = options.sparse ?? repo.config.getBool('core.sparsecheckout') === true
  const cone = sparse ? await loadSparseCone(ctx) : undefined
  const paths = cone === undefined ? undefined : conePaths(cone)

  const revisions = options.revisions ?? ['HEAD']
  const tips: Oid[] = []
  for (const spec of revisions) {
    const oid = await resolveRevision({ refs: repo.refs, store }, spec)
    tips.push(await peel({ refs: repo.refs, store }, oid, 'commit', spec))
  }
  const { walk, commits } = await walkCommits(ctx, tips)
  const roots = walk.pending.filter((p) => p.type === 'tree').map((p) => p.oid)
  const progress = { done: 0, missing: 0 }
  checkAborted(ctx.signal)
  let pass = await fetchWhileWalking(ctx, roots, paths, min, progress)
  const sizes = pass.batches.map((b) => b.length)
  let pathCount = pass.paths
  if (pass.missingTree !== undefined) {
    // A tree:0 clone: the trees first, level by level (one request per directory
    // depth, not one per tree), then the walk again.
    await prefetchReachable(store, walk.pending, new Set(), { blobs: false, paths })
    progress.missing = progress.done
    pass = await fetchWhileWalking(ctx, roots, paths, min, progress)
    if (pass.missingTree !== undefined) throw new MissingObjectError(pass.missingTree, `unable to read ${pass.missingTree}: object is missing`)
    sizes.push(...pass.batches.map((b) => b.length))
    pathCount += pass.paths
  }
  if (progress.missing > 0) sink.progress({ title: 'Backfilling objects', current: progress.done, total: progress.missing, done: true })
  return { commits, paths: pathCount, missing: progress.missing, batches: sizes }
}
