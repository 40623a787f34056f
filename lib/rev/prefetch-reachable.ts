/**
 * Before a walk of everything reachable in a partial clone (rev-list --objects,
 * backfill of a tree:0 clone), the missing trees of each level and all missing blobs
 * are fetched in as few batches as there are levels with missing trees (plus one),
 * never one request per object.
 */
import { ENTRY_BLOB, ENTRY_GITLINK, ENTRY_TREE, entryOid, scanTree } from '../odb/tree-scan.js'
import { walkTreeLevels, type TreeReader } from '../odb/tree-walk.js'
import type { ObjectType, Oid } from '../oid.js'
import type { PathFilter } from './paths.js'
import { RawOidSet } from './raw-oid-set.js'

export interface PrefetchRoot {
  oid: Oid
  type: ObjectType
  referrer?: Oid
  /** Where a tree root sits, for `paths` (byte string); default ''. */
  path?: string
}

/** A tree of a level: it is its own TreeRef. */
interface LevelTree {
  oid: Oid
  referrer?: Oid
  path: string
}

export interface PrefetchStats {
  /** prefetch calls that had something missing (each is one request per promisor remote). */
  batches: number
  objects: number
}

/**
 * Makes the trees and blobs reachable from `roots` present, fetching level by level
 * (walkTreeLevels): the missing trees of a level are fetched together, with the blobs
 * found missing so far, the remaining blobs in one last batch. `skip` objects are not
 * entered. Each batch names the trees that referred to it, so the store can tell
 * cheaply that the missing ids are promisor objects. With `blobs: false` only trees
 * are fetched; with `paths`, only what the filter accepts is entered or fetched.
 */
export async function prefetchReachable(
  store: TreeReader,
  roots: readonly PrefetchRoot[],
  skip: ReadonlySet<Oid> = new Set(),
  options: { blobs?: boolean; paths?: PathFilter } = {},
): Promise<PrefetchStats> {
  const wantBlobs = options.blobs ?? true
  const filter = options.paths
  const stats: PrefetchStats = { batches: 0, objects: 0 }
  const visited = new RawOidSet()
  // Turned away by `skip`, which does not change: asked about by raw id from then on.
  const skipped = new RawOidSet(16)
  let blobs: Oid[] = []
  let blobReferrers = new Set<Oid>()
  const level: LevelTree[] = []
  for (const r of roots) {
    if (skip.has(r.oid) || visited.hasHex(r.oid)) continue
    visited.addHex(r.oid)
    if (r.type === 'tree') level.push({ oid: r.oid, referrer: r.referrer, path: r.path ?? '' })
    else if (r.type === 'blob' && wantBlobs) {
      blobs.push(r.oid)
      if (r.referrer) blobReferrers.add(r.referrer)
    }
  }
  const flush = async (ids: Oid[], referrers: Set<Oid> | undefined): Promise<void> => {
    const missing = await store.missingOf(ids)
    if (missing.length === 0) return
    stats.batches++
    stats.objects += missing.length
    await store.prefetch(missing, { referrers: referrers !== undefined && referrers.size > 0 ? referrers : undefined })
  }
  await walkTreeLevels(
    store,
    level,
    {
      trees: (l) => [l],
      // The blobs found so far ride along with the trees of the level.
      async fetch(missingTrees, treeReferrers) {
        const refs = treeReferrers === undefined ? undefined : new Set([...blobReferrers, ...treeReferrers])
        await flush([...missingTrees, ...blobs], refs)
        blobs = []
        blobReferrers = new Set()
      },
      visit(l, [obj], next) {
        if (!obj || obj.type !== 'tree') return
        const base = l.path === '' ? '' : `${l.path}/`
        const data = obj.data
        const entries = scanTree(data)
        for (let i = 0; i < entries.length; i += 3) {
          const kind = entries[i] as number
          if (kind === ENTRY_GITLINK || (kind === ENTRY_BLOB && !wantBlobs)) continue
          const nul = entries[i + 2] as number
          if (visited.has(data, nul + 1) || skipped.has(data, nul + 1)) continue
          const oid = entryOid(data, nul)
          if (skip.has(oid)) {
            skipped.add(data, nul + 1)
            continue
          }
          // paths are only spelled out when a filter will look at them
          const path = filter ? base + data.toString('latin1', entries[i + 1] as number, nul) : ''
          if (kind === ENTRY_TREE) {
            if (filter && !filter.tree(path)) continue
            visited.add(data, nul + 1)
            next.push({ oid, referrer: l.oid, path })
            continue
          }
          if (filter && !filter.blob(path)) continue
          visited.add(data, nul + 1)
          blobs.push(oid)
          blobReferrers.add(l.oid)
        }
      },
    },
    // A tree the fetch did not bring is not entered: the walk that follows finds it
    // missing and says so (rev-list's --missing, backfill's error).
    { lenient: true },
  )
  if (blobs.length > 0) await flush(blobs, blobReferrers)
  return stats
}
