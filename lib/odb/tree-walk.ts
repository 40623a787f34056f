/**
 * One walk of trees a level at a time, for the walks that must not fetch a partial
 * clone's trees one request at a time: checkout (planTree), switch (diffTrees) and the
 * reachability prefetch before rev-list and backfill. Each level's missing trees are
 * fetched together, then the level is read and handed over in order, and what the
 * caller queues from it is the next level. A tree:0 clone costs one request per depth.
 *
 * The walk does not parse trees: a checkout checks every name with its full path, a
 * switch compares two trees entry by entry, a prefetch scans raw ids. It reads at most
 * `concurrency` trees ahead of the caller, so a level of a history's worth of trees is
 * never held in memory whole.
 */
import type { GitObject, Oid } from '../oid.js'
import type { ObjectReader } from './types.js'

/** A tree a walk reads, and the object that named it (a tree, or a root tree's commit). */
export interface TreeRef {
  oid: Oid
  referrer?: Oid
}

export interface TreeLevelWalk<N> {
  /** The trees `node` stands for: one, or one per side of a diff (undefined: that side has none). */
  trees(node: N): readonly (TreeRef | undefined)[]
  /**
   * Takes a node with its trees, read (in the order trees() gave them), and pushes the
   * next level's nodes onto `next`. A tree is undefined where trees() had none, and,
   * in a lenient walk, where it could not be had.
   */
  visit(node: N, objects: readonly (GitObject | undefined)[], next: N[]): void | Promise<void>
  /** Called with each level before anything of it is fetched or read (depth 0: the roots). */
  level?(nodes: readonly N[], depth: number): void
  /**
   * Fetches a level's missing trees, one batch. `referrers` are the objects that name
   * them, undefined when one of them is named by none (then the store checks the ids
   * themselves). Default: one reader.prefetch.
   */
  fetch?(missing: Oid[], referrers: Oid[] | undefined): Promise<void>
}

export interface TreeLevelOptions {
  /** Trees read at once; a reader that pipelines its reads gains from more. Default 32. */
  concurrency?: number
  /**
   * A tree still missing after its level's fetch is handed over as undefined. Without
   * this it is read with `read`, which fetches it alone where the store may, or throws
   * MissingObjectError.
   */
  lenient?: boolean
}

/** What the walk needs of the store. */
export type TreeReader = Pick<ObjectReader, 'read' | 'tryRead' | 'prefetch' | 'missingOf'>

/** Walks the trees of `roots` and below, a level at a time, as `walk` directs. */
export async function walkTreeLevels<N>(reader: TreeReader, roots: readonly N[], walk: TreeLevelWalk<N>, options: TreeLevelOptions = {}): Promise<void> {
  const concurrency = Math.max(1, options.concurrency ?? 32)
  const read = options.lenient === true ? (oid: Oid) => reader.tryRead(oid) : (oid: Oid) => reader.read(oid)
  const fetch = walk.fetch ?? ((missing, referrers) => reader.prefetch(missing, { referrers }))
  let level = roots
  for (let depth = 0; level.length > 0; depth++) {
    walk.level?.(level, depth)
    await fetchMissing(reader, level, walk, fetch)
    const next: N[] = []
    for (let start = 0; start < level.length; start += concurrency) {
      const chunk = level.slice(start, start + concurrency)
      const objects = await Promise.all(chunk.map((node) => Promise.all(walk.trees(node).map((t) => (t === undefined ? undefined : read(t.oid))))))
      for (let i = 0; i < chunk.length; i++) await walk.visit(chunk[i] as N, objects[i] as (GitObject | undefined)[], next)
    }
    level = next
  }
}

/** The level's missing trees in one fetch, named with the objects that refer to them. */
async function fetchMissing<N>(reader: TreeReader, level: readonly N[], walk: TreeLevelWalk<N>, fetch: NonNullable<TreeLevelWalk<N>['fetch']>): Promise<void> {
  const ids: Oid[] = []
  for (const node of level) for (const t of walk.trees(node)) if (t !== undefined) ids.push(t.oid)
  const missing = await reader.missingOf(ids)
  if (missing.length === 0) return
  const wanted = new Set(missing)
  const referrers = new Set<Oid>()
  const named = new Set<Oid>()
  for (const node of level) {
    for (const t of walk.trees(node)) {
      if (t === undefined || t.referrer === undefined || !wanted.has(t.oid)) continue
      referrers.add(t.referrer)
      named.add(t.oid)
    }
  }
  await fetch(missing, named.size === wanted.size ? [...referrers] : undefined)
}
