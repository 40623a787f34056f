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
 *    clone's shallow boundary sent as `shallow` lines, so nothing past it comes);
 * 2. trees, a level at a time: the root trees of those commits, then the subtrees of
 *    the trees present (one request per depth, however many trees);
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
   * what it brings installed and visible in `store` when it resolves.
   */
  fetch(wants: Oid[], filter: string | undefined, kind: FillKind): Promise<void>
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
}

async function scanCommits(store: ObjectStore, tips: readonly Oid[]): Promise<CommitScan> {
  const seen = new Set<Oid>()
  const missing: Oid[] = []
  const roots: Oid[] = []
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
    for (const p of store.parentsOf(oid, links.parents)) visit(p)
  }
  return { roots, missing }
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
  const ask = async (wants: Oid[], filter: string | undefined, kind: FillKind): Promise<void> => {
    stats.requests[kind]++
    stats.asked[kind] += wants.length
    await ctx.fetch(wants, filter, kind)
  }
  const guard = new Progressing()

  let scan = await scanCommits(store, opts.tips)
  while (scan.missing.length > 0) {
    guard.check('commits', scan.missing)
    await ask(scan.missing, 'tree:0', 'commits')
    scan = await scanCommits(store, opts.tips)
  }
  if (!opts.trees) return stats

  const seen = new RawOidSet(1 << 16)
  const roots: Oid[] = []
  for (const r of scan.roots) if (seen.addHex(r)) roots.push(r)
  let level = roots
  while (level.length > 0) {
    const missing = await store.missingOf(level)
    if (missing.length > 0) {
      guard.check('trees', missing)
      await ask(missing, 'tree:0', 'trees')
      const still = new Set(await store.missingOf(missing))
      if (still.size > 0) {
        // Dropped by the server (another wanted tree reaches it): asked for again in the
        // next round of this level; the rest of the level goes on now.
        const next = await expand(store, level.filter((t) => !still.has(t)), seen)
        level = [...still, ...next]
        continue
      }
    }
    level = await expand(store, level, seen)
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
