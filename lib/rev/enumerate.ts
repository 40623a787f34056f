/**
 * The objects below a commit walk's pending objects, in the order `git rev-list
 * --objects` prints them (git's traverse_trees_and_blobs): depth first in tree entry
 * order, each object once, with its path and the object that referred to it, the
 * uninteresting ones left out. Reads never fetch: prefetch-reachable.ts fills a
 * partial clone first, in batches.
 */
import type { ObjectStore } from '../odb/store.js'
import { ENTRY_GITLINK, ENTRY_TREE, entryOid, scanTree } from '../odb/tree-scan.js'
import type { Oid } from '../oid.js'
import type { PendingObject } from './commit-walk.js'
import type { PathFilter } from './paths.js'
import { RawOidSet } from './raw-oid-set.js'

export interface WalkedObject {
  oid: Oid
  type: 'tag' | 'tree' | 'blob'
  /** Path (byte string) for trees and blobs; the tag name for a tag. */
  name: string
  referrer?: Oid
  /** Present only when the object could be read (trees are read to go further; blobs are only checked). */
  present: boolean
}

/**
 * The pending objects and everything below them, depth first in tree entry order,
 * each object once, without the uninteresting ones (git's traverse_trees_and_blobs).
 * Reads never fetch: run prefetchReachable first to fill a partial clone. A tree that
 * cannot be read is yielded with present=false and not entered; a blob is only checked
 * for presence. `shown`, when given, receives every object yielded, and what it holds
 * already is not yielded.
 */
export async function* enumerateObjects(
  store: ObjectStore,
  pending: readonly PendingObject[],
  skip: ReadonlySet<Oid>,
  shown?: Set<Oid>,
  filter?: PathFilter,
): AsyncGenerator<WalkedObject> {
  // What was yielded or turned away by `skip` (which does not change during the walk).
  const done = new RawOidSet()
  const known = (oid: Oid): boolean => done.hasHex(oid) || skip.has(oid) || shown?.has(oid) === true
  for (const p of pending) {
    if (known(p.oid)) continue
    if (p.type === 'tree') {
      yield* walkTree(store, p.oid, p.path, p.referrer, skip, done, shown, filter)
      continue
    }
    done.addHex(p.oid)
    shown?.add(p.oid)
    if (p.type === 'tag') yield { oid: p.oid, type: 'tag', name: p.name ?? '', referrer: p.referrer, present: true }
    else yield { oid: p.oid, type: 'blob', name: p.path, referrer: p.referrer, present: await store.has(p.oid) }
  }
}

interface Frame {
  data: Buffer
  entries: number[]
  /** Index into entries (three numbers per entry). */
  i: number
  base: string
  tree: Oid
}

async function* walkTree(
  store: ObjectStore,
  root: Oid,
  rootPath: string,
  referrer: Oid | undefined,
  skip: ReadonlySet<Oid>,
  done: RawOidSet,
  shown: Set<Oid> | undefined,
  filter: PathFilter | undefined,
): AsyncGenerator<WalkedObject> {
  const stack: Frame[] = []
  // Blobs are checked for presence in batches (one store call, one look at the pack
  // directory for the missing ones) and handed out in order before the next tree.
  const ready: WalkedObject[] = []
  const unsure: WalkedObject[] = []
  const settle = async (): Promise<void> => {
    if (unsure.length === 0) return
    const still = new Set(await store.stillMissing(unsure.map((o) => o.oid)))
    for (const o of unsure) o.present = !still.has(o.oid)
    unsure.length = 0
  }
  const enter = async (oid: Oid, path: string, from: Oid | undefined): Promise<WalkedObject> => {
    shown?.add(oid)
    const obj = await store.tryRead(oid)
    const ok = obj !== undefined && obj.type === 'tree'
    if (ok) stack.push({ data: obj.data, entries: scanTree(obj.data), i: 0, base: path === '' ? '' : `${path}/`, tree: oid })
    return { oid, type: 'tree', name: path, referrer: from, present: ok }
  }
  done.addHex(root)
  yield await enter(root, rootPath, referrer)
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame
    const { data, entries } = f
    if (f.i >= entries.length) {
      stack.pop()
      continue
    }
    const kind = entries[f.i] as number
    const nameAt = entries[f.i + 1] as number
    const nul = entries[f.i + 2] as number
    f.i += 3
    if (kind === ENTRY_GITLINK || done.has(data, nul + 1)) continue
    const oid = entryOid(data, nul)
    if (skip.has(oid) || shown?.has(oid) === true) {
      done.add(data, nul + 1)
      continue
    }
    const path = f.base + data.toString('latin1', nameAt, nul)
    if (kind === ENTRY_TREE) {
      if (filter && !filter.tree(path)) continue
      done.add(data, nul + 1)
      await settle()
      yield* ready
      ready.length = 0
      yield await enter(oid, path, f.tree)
      continue
    }
    if (filter && !filter.blob(path)) continue
    done.add(data, nul + 1)
    shown?.add(oid)
    const o: WalkedObject = { oid, type: 'blob', name: path, referrer: f.tree, present: store.hasCached(oid) }
    if (!o.present) unsure.push(o)
    ready.push(o)
  }
  await settle()
  yield* ready
}
