/**
 * A walk by path, as git's path-walk does it for backfill: the trees of every version
 * of one directory are read together, so once a directory is done, every version of
 * every file directly in it is known, and those files can be handed out while the
 * rest of the history is still being walked.
 *
 * Each object is met once: a tree or blob found at several paths belongs to the first
 * of them in this walk's order (a directory's files in name order, then its
 * subdirectories depth first, in name order). Paths are byte strings (latin1), as in
 * the other walks.
 *
 * Reading a tree from a pack takes no real I/O (synchronous reads; the awaits resolve
 * at once), so a walk would run start to end in microtasks while a fetch beside it
 * waits for its sockets: every TREES_PER_TURN trees the walk lets the event loop turn.
 */
import type { ObjectStore } from '../odb/store.js'
import { ENTRY_GITLINK, ENTRY_TREE, scanTree } from '../odb/tree-scan.js'
import type { Oid } from '../oid.js'
import type { PathFilter } from './paths.js'
import { RawOidSet } from './raw-oid-set.js'

/** The missing blobs first met at one path. */
export interface PathBlobs {
  path: string
  blobs: Oid[]
  /** The trees that name them (for the store's cheap promisor check). */
  referrers: Oid[]
}

const TREES_PER_TURN = 64

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

interface Directory {
  /** '' for the root, else the path and a '/'. */
  prefix: string
  trees: Oid[]
}

interface FileVersions {
  blobs: Oid[]
  referrers: Oid[]
}

/** How a path walk ended. */
export interface PathWalkEnd {
  /** A tree that is not present: the walk stopped there (what was handed out stands). */
  missingTree?: Oid
}

/**
 * The missing blobs below the root trees `roots`, one group per path, each group
 * handed out as soon as its directory is done. Blobs the store has (hasCached) are
 * left out. Stops at the first tree that cannot be read.
 */
export async function* missingBlobsByPath(store: ObjectStore, roots: readonly Oid[], filter?: PathFilter): AsyncGenerator<PathBlobs, PathWalkEnd> {
  // room for ~128k objects before the set grows
  const seen = new RawOidSet(1 << 17)
  const top: Oid[] = []
  for (const oid of roots) if (seen.addHex(oid)) top.push(oid)
  const stack: Directory[] = [{ prefix: '', trees: top }]
  let read = 0
  while (stack.length > 0) {
    const dir = stack.pop() as Directory
    const subdirs = new Map<string, Oid[]>()
    const files = new Map<string, FileVersions>()
    for (const tree of dir.trees) {
      if (++read % TREES_PER_TURN === 0) await nextTurn()
      const obj = await store.tryRead(tree)
      if (obj === undefined || obj.type !== 'tree') return { missingTree: tree }
      const data = obj.data
      const entries = scanTree(data)
      for (let i = 0; i < entries.length; i += 3) {
        const kind = entries[i] as number
        const at = (entries[i + 2] as number) + 1
        if (kind === ENTRY_GITLINK || seen.has(data, at)) continue
        const name = data.toString('latin1', entries[i + 1] as number, at - 1)
        if (kind === ENTRY_TREE) {
          if (filter !== undefined && !filter.tree(dir.prefix + name)) continue
          seen.add(data, at)
          const versions = subdirs.get(name)
          const oid = data.toString('hex', at, at + 20)
          if (versions === undefined) subdirs.set(name, [oid])
          else versions.push(oid)
          continue
        }
        if (filter !== undefined && !filter.blob(dir.prefix + name)) continue
        seen.add(data, at)
        if (store.hasCachedBytes(data, at)) continue
        let file = files.get(name)
        if (file === undefined) {
          file = { blobs: [], referrers: [] }
          files.set(name, file)
        }
        file.blobs.push(data.toString('hex', at, at + 20))
        if (file.referrers[file.referrers.length - 1] !== tree) file.referrers.push(tree)
      }
    }
    // code-unit order of byte strings is byte order
    for (const name of [...files.keys()].sort()) {
      const file = files.get(name) as FileVersions
      yield { path: dir.prefix + name, blobs: file.blobs, referrers: file.referrers }
    }
    const names = [...subdirs.keys()].sort()
    for (let k = names.length - 1; k >= 0; k--) {
      const name = names[k] as string
      stack.push({ prefix: `${dir.prefix}${name}/`, trees: subdirs.get(name) as Oid[] })
    }
  }
  return {}
}
