/**
 * `backfill` (git 2.49): downloads the blobs of a partial clone that the history of
 * HEAD refers to, in large batches grouped by path. All versions of one file go into
 * the same request, so the server can send them as deltas of each other; a batch is
 * sent once it holds at least `minBatchSize` objects, never splitting a path.
 *
 * The history is walked with the shared walker (rev-walk.ts): commits in git's order,
 * then the trees they reach; missing trees are made present level by level, so a
 * tree:0 clone costs one tree request per directory depth, not one per tree. A blob
 * found at several paths joins the group of the first one, in `rev-list --objects`
 * order.
 *
 * Deviations: only tips are accepted as revisions (no ranges, no rev-list options, no
 * --include-edges); --sparse understands cone-mode patterns only.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MissingObjectError, TsgitError, UsageError, isNotFound } from '../errors.js'
import type { Oid } from '../odb/types.js'
import type { RepoContext } from './repo-context.js'
import { peel, resolveRevision } from './rev-parse.js'
import { RevWalk, byteString, enumerateObjects, prefetchReachable, type PathFilter, type PendingObject } from './rev-walk.js'

export const DEFAULT_MIN_BATCH_SIZE = 50_000

/** The sparse-checkout definition cannot be used (absent, or not cone mode). */
export class SparseCheckoutError extends TsgitError {
  constructor(message: string) {
    super('E_SPARSE_CHECKOUT', message)
  }
}

export class BackfillInterrupted extends TsgitError {
  constructor() {
    super('E_INTERRUPTED', 'backfill interrupted', { retryable: true })
  }
}

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

/**
 * A cone-mode sparse-checkout: files directly inside a "parent" directory, and
 * everything below a "recursive" one. The root ('') is always a parent.
 */
export interface ConeSpec {
  recursive: Set<string>
  parents: Set<string>
  /** `/*` without `!/*\/`: the cone is the whole tree. */
  everything: boolean
}

function unescapePattern(p: string): string {
  return p.replace(/\\(.)/g, '$1')
}

/** Parses the lines of .git/info/sparse-checkout as cone patterns; undefined when they are not. */
export function parseConePatterns(text: string): ConeSpec | undefined {
  const recursive = new Set<string>()
  const parents = new Set<string>()
  let rootAll = false
  let rootParent = false
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').replace(/(?<!\\)\s+$/, '')
    if (line === '' || line.startsWith('#')) continue
    if (line === '/*') {
      rootAll = true
      continue
    }
    if (line === '!/*/') {
      rootParent = true
      continue
    }
    let m = /^!\/(.+)\/\*\/$/.exec(line)
    if (m !== null) {
      const dir = unescapePattern(m[1] as string)
      // git only accepts the negation right after the directory it narrows
      if (!recursive.delete(dir)) return undefined
      parents.add(dir)
      continue
    }
    m = /^\/(.+)\/$/.exec(line)
    if (m !== null && !line.startsWith('!')) {
      const dir = unescapePattern(m[1] as string)
      if (dir.includes('*') && !m[1]!.includes('\\*')) return undefined
      recursive.add(dir)
      continue
    }
    return undefined
  }
  if (!rootAll) return undefined
  parents.add('')
  // ancestors of anything in the cone are parents, whether or not the file said so
  for (const dir of [...recursive, ...parents]) {
    const parts = dir.split('/')
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join('/'))
  }
  return { recursive, parents, everything: !rootParent }
}

function underRecursive(spec: ConeSpec, dir: string): boolean {
  if (spec.recursive.has(dir)) return true
  for (let i = dir.lastIndexOf('/'); i > 0; i = dir.lastIndexOf('/', i - 1)) {
    if (spec.recursive.has(dir.slice(0, i))) return true
  }
  return false
}

/** Whether the walk must look inside directory `dir` ('' is the root). */
export function coneWantsDir(spec: ConeSpec, dir: string): boolean {
  return spec.everything || spec.parents.has(dir) || underRecursive(spec, dir)
}

/** Whether the file at `path` is inside the cone. */
export function coneWantsFile(spec: ConeSpec, path: string): boolean {
  if (spec.everything) return true
  const slash = path.lastIndexOf('/')
  const dir = slash < 0 ? '' : path.slice(0, slash)
  return spec.parents.has(dir) || underRecursive(spec, dir)
}

/** The cone of the repository's sparse checkout; throws when it cannot be used. */
export async function loadSparseCone(ctx: RepoContext): Promise<ConeSpec> {
  const { repo } = ctx
  if (repo.config.getBool('core.sparsecheckout') !== true) throw new SparseCheckoutError('problem loading sparse-checkout: sparse checkout is not enabled (core.sparseCheckout)')
  let text: string
  try {
    text = await readFile(join(repo.gitDir, 'info', 'sparse-checkout'), 'utf8')
  } catch (e) {
    if (isNotFound(e)) throw new SparseCheckoutError('problem loading sparse-checkout: .git/info/sparse-checkout does not exist')
    throw e
  }
  if (repo.config.getBool('core.sparsecheckoutcone') === false) {
    throw new SparseCheckoutError('problem loading sparse-checkout: only cone-mode patterns are supported (core.sparseCheckoutCone is false)')
  }
  const spec = parseConePatterns(text)
  if (spec === undefined) throw new SparseCheckoutError('problem loading sparse-checkout: the patterns are not in cone mode')
  return spec
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BackfillInterrupted()
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

interface PathBlobs {
  /** The missing blobs first met at this path. */
  blobs: Oid[]
  /** The trees that name blobs at this path (for the store's cheap promisor check). */
  trees: Set<Oid>
}

/**
 * Every blob below the pending root trees, grouped by the first path (byte string)
 * the shared walker meets it at. In a blob:none clone every tree is present and one
 * walk does; when the walk meets a missing tree, the trees are made present first,
 * level by level (a tree:0 clone costs one request per directory depth, not one per
 * tree), and the walk starts again.
 */
async function blobsByPath(ctx: RepoContext, pending: readonly PendingObject[], cone: ConeSpec | undefined): Promise<Map<string, PathBlobs>> {
  const paths = cone === undefined ? undefined : conePaths(cone)
  checkAborted(ctx.signal)
  const first = await groupBlobs(ctx, pending, paths)
  if (first instanceof Map) return first
  await prefetchReachable(ctx.store, pending, new Set(), { blobs: false, paths })
  const again = await groupBlobs(ctx, pending, paths)
  if (again instanceof Map) return again
  throw new MissingObjectError(again.missingTree, `unable to read ${again.missingTree}: object is missing`)
}

/** One walk in rev-list order; stops at the first tree that is not present. */
async function groupBlobs(ctx: RepoContext, pending: readonly PendingObject[], paths: PathFilter | undefined): Promise<Map<string, PathBlobs> | { missingTree: Oid }> {
  const byPath = new Map<string, PathBlobs>()
  let seen = 0
  for await (const o of enumerateObjects(ctx.store, pending, new Set(), undefined, paths)) {
    if ((++seen & 0xfff) === 0) checkAborted(ctx.signal)
    if (o.type === 'tree') {
      if (!o.present) return { missingTree: o.oid }
      continue
    }
    if (o.type !== 'blob') continue
    let group = byPath.get(o.name)
    if (group === undefined) {
      group = { blobs: [], trees: new Set() }
      byPath.set(o.name, group)
    }
    // The walk checked presence already and meets each object once: no missingOf per path.
    if (!o.present) group.blobs.push(o.oid)
    if (o.referrer !== undefined) group.trees.add(o.referrer)
  }
  return byPath
}

/** Splits per-path groups into batches of at least `min` objects without splitting a path. */
export function planBatches<T>(groups: Iterable<{ blobs: Oid[]; extra: T }>, min: number): { blobs: Oid[]; extras: T[] }[] {
  const out: { blobs: Oid[]; extras: T[] }[] = []
  let cur: { blobs: Oid[]; extras: T[] } = { blobs: [], extras: [] }
  for (const g of groups) {
    if (g.blobs.length === 0) continue
    cur.blobs.push(...g.blobs)
    cur.extras.push(g.extra)
    if (cur.blobs.length >= min) {
      out.push(cur)
      cur = { blobs: [], extras: [] }
    }
  }
  if (cur.blobs.length > 0) out.push(cur)
  return out
}

interface BackfillPlan {
  commits: number
  paths: number
  missingCount: number
  batches: { blobs: Oid[]; referrers: Oid[] }[]
}

/**
 * Walks the history and cuts the missing blobs into batches. A function of its own so
 * that the walk's structures (every tree entry seen, every path) are garbage before
 * the first fetch needs memory to index what arrives.
 */
async function planBackfill(ctx: RepoContext, tips: Oid[], cone: ConeSpec | undefined, min: number): Promise<BackfillPlan> {
  const { walk, commits } = await walkCommits(ctx, tips)
  const byPath = await blobsByPath(ctx, walk.pending, cone)
  // byte strings: code-unit order is byte order
  const paths = [...byPath.keys()].sort()
  const groups: { blobs: Oid[]; extra: Set<Oid> }[] = []
  let missingCount = 0
  for (const path of paths) {
    const g = byPath.get(path) as PathBlobs
    missingCount += g.blobs.length
    groups.push({ blobs: g.blobs, extra: g.trees })
  }
  const batches = planBatches(groups, min).map((b) => {
    const referrers = new Set<Oid>()
    for (const trees of b.extras) for (const t of trees) referrers.add(t)
    return { blobs: b.blobs, referrers: [...referrers] }
  })
  return { commits, paths: paths.length, missingCount, batches }
}

export async function backfill(ctx: RepoContext, options: BackfillOptions = {}): Promise<BackfillResult> {
  const { repo, store, sink } = ctx
  const min = options.minBatchSize ?? DEFAULT_MIN_BATCH_SIZE
  if (!Number.isSafeInteger(min) || min < 1) throw new UsageError(`invalid --min-batch-size: ${String(min)}`)
  const sparse = options.sparse ?? repo.config.getBool('core.sparsecheckout') === true
  const cone = sparse ? await loadSparseCone(ctx) : undefined

  const revisions = options.revisions ?? ['HEAD']
  const tips: Oid[] = []
  for (const spec of revisions) {
    const oid = await resolveRevision({ refs: repo.refs, store }, spec)
    tips.push(await peel({ refs: repo.refs, store }, oid, 'commit', spec))
  }
  const plan = await planBackfill(ctx, tips, cone, min)
  const { commits, missingCount, batches } = plan
  const sizes: number[] = []
  let done = 0
  checkAborted(ctx.signal)
  // asked here: inside the fetch, fetching is denied
  const why = store.canFetch ? '' : ': lazy fetching is off or this is not a partial clone'
  await store.prefetchBatches(
    batches.map((b) => ({ oids: b.blobs, referrers: b.referrers })),
    async (i) => {
      const batch = batches[i] as BackfillPlan['batches'][number]
      const still = await store.missingOf(batch.blobs)
      if (still.length > 0) {
        const first = still[0] as Oid
        throw new MissingObjectError(first, `could not backfill ${still.length} object(s), e.g. ${first}${why}`)
      }
      sizes.push(batch.blobs.length)
      done += batch.blobs.length
      sink.progress({ title: 'Backfilling objects', current: done, total: missingCount })
      checkAborted(ctx.signal)
    },
  )
  if (missingCount > 0) sink.progress({ title: 'Backfilling objects', current: done, total: missingCount, done: true })
  return { commits, paths: plan.paths, missing: missingCount, batches: sizes }
}
