/**
 * Finishing a clone that was cut: asks the server for exactly the objects still missing
 * below the clone's tips, using what arrived.
 *
 * git's upload-pack cannot start a pack in the middle, and `have` lines say "I have this
 * and everything below it", which is true of nothing in a cut clone's pack (its commits
 * come first, then the trees, then the blobs: each commit arrived without what it needs).
 * So the missing objects are named instead, a kind at a time, each request asking for
 * the objects alone (filter tree:0: a wanted commit brings its ancestors' commits, a
 * wanted tree or blob comes by itself):
 *
 * 1. commits: the tips and the parents of present commits that are missing (with the
 *    clone's shallow boundary sent as `shallow` lines, so nothing past it comes, and
 *    the present commits described so that none of them comes again: commitBoundary);
 * 2. trees, a level at a time: the root trees of those commits, then the subtrees of
 *    the trees present (one request per depth, however many trees); when no root tree
 *    is here (the cut fell before the trees), the roots are asked for with all their
 *    subtrees instead (filter blob:none), in one request;
 * 3. blobs, for a clone without a filter: every blob those trees name that is missing,
 *    grouped by path as backfill groups them (all versions of a file in one request, so
 *    the server can send them as deltas of each other), in batches of `blobBatch`.
 *
 * Nothing present is asked for again; the packs the server makes for these requests are
 * compressed as well as the objects they hold allow (deltas against objects the client
 * has are not used: a thin pack would need the haves this cannot give).
 *
 * Each request is checked: what it was to bring must be here after it, or the next
 * round asks again (a tree:0 request drops a wanted object that another wanted tree
 * reaches); a round that brings none of what it asked for is an error.
 */
import { TsgitError } from '../errors.js'
import { parseCommitLinks, parseTag } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import { ENTRY_TREE, scanTree } from '../odb/tree-scan.js'
import type { Oid } from '../oid.js'
import { missingBlobsByPath } from '../rev/path-walk.js'
import { RawOidSet } from '../rev/raw-oid-set.js'

const DEFAULT_BLOB_BATCH = 50_000

export interface FillContext {
  store: ObjectStore
  /**
   * One request for `wants`, with the filter given (wire form; undefined: none), and
   * what it brings installed and visible in `store` when it resolves. For commits,
   * `boundary` (when given) is what the request says of the present commits: `have`
   * lines, and `shallow` lines beside the clone's own (see commitBoundary); the
   * server's shallow-info about these is not the clone's boundary.
   */
  fetch(wants: Oid[], filter: string | undefined, kind: FillKind, boundary?: { haves: Oid[]; shallow: Oid[] }): Promise<void>
  /** The server takes `shallow` lines (fetch=shallow): commitBoundary can be said. */
  boundaries?: boolean
}

export type FillKind = 'commits' | 'trees' | 'blobs'

export interface FillOptions {
  /** The objects the clone's refs will name (commits or tags). */
  tips: readonly Oid[]
  /** Fetch missing trees (false: a tree:0 clone has none). */
  trees: boolean
  /** Fetch missing blobs (a clone without a filter). */
  blobs: boolean
  /** Blobs per request, at least (a path's blobs are never split). Default 50000. */
  blobBatch?: number
}

export interface FillStats {
  /** Requests made, by kind. */
  requests: Record<FillKind, number>
  /** Objects asked for, by kind. */
  asked: Record<FillKind, number>
}

/** The commits reachable from `tips` and what is missing of them. */
interface CommitScan {
  roots: Oid[]
  missing: Oid[]
  /** The present commits and their parents (the clone's shallow boundary applied). */
  parents: Map<Oid, readonly Oid[]>
}

/**
 * What a request for the missing commits says of the present ones, so that the server
 * sends those and no others: `shallow` names each present commit with a missing parent
 * (the server then takes it to have no parents), `haves` the present commits no other
 * present commit stands on. Below a have, with those boundaries, the server finds only
 * present commits, and a missing one is never below a have: its present children are
 * boundaries. Without this a wanted commit brings every ancestor, present or not: a
 * cut pack holds the newest commits, whose history runs down to the missing old ones,
 * so no have would be true (on git.git, a cut at 25% of a blob:none clone had all
 * 63,757 commits it kept sent again).
 */
export function commitBoundary(scan: Pick<CommitScan, 'missing' | 'parents'>): { haves: Oid[]; shallow: Oid[] } {
  const missing = new Set(scan.missing)
  const shallow: Oid[] = []
  const below = new Set<Oid>()
  for (const [oid, parents] of scan.parents) {
    if (parents.some((p) => missing.has(p))) shallow.push(oid)
    else for (const p of parents) below.add(p)
  }
  const haves: Oid[] = []
  for (const oid of scan.parents.keys()) if (!below.has(oid)) haves.push(oid)
  return { haves, shallow }
}

async function scanCommits(store: ObjectStore, tips: readonly Oid[]): Promise<CommitScan> {
  const seen = new Set<Oid>()
  const missing: Oid[] = []
  const roots: Oid[] = []
  const parents = new Map<Oid, readonly Oid[]>()
  const queue: Oid[] = []
  const visit = (oid: Oid): void => {
    if (seen.has(oid)) return
    seen.add(oid)
    queue.push(oid)
  }
  for (const t of tips) visit(t)
  while (queue.length > 0) {
    const oid = queue.pop() as Oid
    const obj = await store.tryRead(oid)
    if (obj === undefined) {
      missing.push(oid)
      continue
    }
    if (obj.type === 'tag') {
      visit(parseTag(obj.data).object)
      continue
    }
    if (obj.type === 'tree') {
      roots.push(oid)
      continue
    }
    if (obj.type !== 'commit') continue
    const links = parseCommitLinks(obj.data)
    roots.push(links.tree)
    const ps = store.parentsOf(oid, links.parents)
    parents.set(oid, ps)
    for (const p of ps) visit(p)
  }
  return { roots, missing, parents }
}

class Progressing {
  private last: string | undefined
  /** Throws when `missing` is what the previous round of `kind` asked for and did not get. */
  check(kind: FillKind, missing: readonly Oid[]): void {
    const key = `${kind}:${missing.length}:${missing[0] ?? ''}`
    if (key === this.last) {
      throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (${missing.length} ${kind} asked for again and still missing, ${missing[0] ?? ''} among them)`)
    }
    this.last = key
  }
}

/** Makes every object below `tips` present (what the options ask for); see the module comment. */
export async function fillMissing(ctx: FillContext, opts: FillOptions): Promise<FillStats> {
  const { store } = ctx
  const stats: FillStats = { requests: { commits: 0, trees: 0, blobs: 0 }, asked: { commits: 0, trees: 0, blobs: 0 } }
  const ask = async (wants: Oid[], filter: string | undefined, kind: FillKind, boundary?: { haves: Oid[]; shallow: Oid[] }): Promise<void> => {
    stats.requests[kind]++
    stats.asked[kind] += wants.length
    await ctx.fetch(wants, filter, kind, boundary)
  }
  const guard = new Progressing()

  let scan = await scanCommits(store, opts.tips)
  while (scan.missing.length > 0) {
    guard.check('commits', scan.missing)
    await ask(scan.missing, 'tree:0', 'commits', ctx.boundaries === true ? commitBoundary(scan) : undefined)
    scan = await scanCommits(store, opts.tips)
  }
  if (!opts.trees) return stats

  const seen = new RawOidSet(1 << 16)
  const roots: Oid[] = []
  for (const r of scan.roots) if (seen.addHex(r)) roots.push(r)
  let level = roots
  let first = true
  while (level.length > 0) {
    const missing = await store.missingOf(level)
    if (missing.length > 0) {
      guard.check('trees', missing)
      // A cut before the trees (no root tree here): the roots are asked for with their
      // subtrees, in one request, rather than one per depth with the client reading each
      // level between them (on git.git's blob:none clone the same 78 MB of trees either
      // way, in one run 16 s against 55 s). Not once a root tree is here: git writes a
      // root's subtrees right after it, and most of them are every other root's too, so
      // a cut after the first root would have them all sent again (a blob:none clone of
      // the bench's repository cut at 25%, one root of 20 here, got 117% of the whole).
      const whole = first && missing.length === level.length
      await ask(missing, whole ? 'blob:none' : 'tree:0', 'trees')
      const still = new Set(await store.missingOf(missing))
      if (still.size > 0) {
        // Dropped by the server (another wanted tree reaches it): asked for again in the
        // next round of this level; the rest of the level goes on now.
        const next = await expand(store, level.filter((t) => !still.has(t)), seen)
        level = [...still, ...next]
        first = false
        continue
      }
    }
    level = await expand(store, level, seen)
    first = false
  }
  if (!opts.blobs) return stats
  const batchSize = opts.blobBatch ?? DEFAULT_BLOB_BATCH
  let batch: Oid[] = []
  const walk = missingBlobsByPath(store, roots)
  for (;;) {
    const r = await walk.next()
    if (r.done === true) {
      if (r.value.missingTree !== undefined) throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (missing tree ${r.value.missingTree})`)
      break
    }
    batch.push(...r.value.blobs)
    if (batch.length >= batchSize) {
      await askBlobs(batch)
      batch = []
    }
  }
  if (batch.length > 0) await askBlobs(batch)
  return stats

  async function askBlobs(wanted: Oid[]): Promise<void> {
    for (let rest = wanted; rest.length > 0; rest = await store.missingOf(rest)) {
      guard.check('blobs', rest)
      await ask(rest, undefined, 'blobs')
    }
  }
}

/** The subtrees of `trees` (all present) not seen before. */
async function expand(store: ObjectStore, trees: readonly Oid[], seen: RawOidSet): Promise<Oid[]> {
  const next: Oid[] = []
  for (const t of trees) {
    const obj = await store.tryRead(t)
    if (obj === undefined || obj.type !== 'tree') throw new TsgitError('E_CONNECTIVITY', `remote did not send all necessary objects (missing tree ${t})`)
    const data = obj.data
    const entries = scanTree(data)
    for (let i = 0; i < entries.length; i += 3) {
      if (entries[i] !== ENTRY_TREE) continue
      const at = (entries[i + 2] as number) + 1
      if (seen.add(data, at)) next.push(data.toString('hex', at, at + 20))
    }
  }
  return next
}
