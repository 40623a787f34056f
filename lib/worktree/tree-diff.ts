/**
 * The difference of two trees as a switch needs it: the non-tree paths whose entry
 * differs, found level by level (walkTreeLevels) without reading a subtree the two
 * sides share. Names are checked before anything is written: the new side's as a
 * checkout checks them, the old side's (in the work tree already) for components
 * that would escape it or reach .git, and both for a name given twice.
 */
import { ObjectFormatError, UnsafePathError } from '../errors.js'
import { MODE_SYMLINK, MODE_TREE, parseTree, type TreeEntry } from '../odb/objects.js'
import { walkTreeLevels, type TreeRef } from '../odb/tree-walk.js'
import type { ObjectReader } from '../odb/types.js'
import type { GitObject, Oid } from '../oid.js'
import { checkAborted } from './checkout.js'
import { checkComponent, checkPathBytes, isDotGitmodulesAlias } from './path-safety.js'

/** One side of a changed path: a file, symlink or gitlink. */
export interface Side {
  mode: number
  oid: Oid
}

/** A non-tree path whose entry differs (undefined: the side has nothing there). */
export interface Change {
  path: string
  old?: Side
  new?: Side
}

export interface DiffOptions {
  /** The commits whose trees are compared: referrers of the root trees when they must be fetched. */
  oldCommit?: Oid
  newCommit?: Oid
  /** Trees read at once. Default 32. */
  concurrency?: number
  /** Deepest directory nesting accepted. Default 4096. */
  maxDepth?: number
  /** Most changed paths accepted. Default 10 000 000. */
  maxEntries?: number
}

function parseChecked(data: Buffer, prefix: string, newSide: boolean): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>()
  for (const e of parseTree(data, { strictNames: false })) {
    const path = prefix === '' ? e.name : `${prefix}/${e.name}`
    checkComponent(e.name, path)
    if (newSide) {
      checkPathBytes(e.nameBytes, path)
      if (e.mode === MODE_SYMLINK && isDotGitmodulesAlias(e.name)) {
        throw new UnsafePathError(path, `refusing unsafe path ${JSON.stringify(path)}: .gitmodules is a symbolic link`)
      }
    }
    if (out.has(e.name)) throw new UnsafePathError(path, `refusing ${JSON.stringify(path)}: the tree names it twice`)
    out.set(e.name, e)
  }
  return out
}

/** A directory both trees may have: its path, and its tree on each side. */
interface DiffNode {
  path: string
  old?: TreeRef
  new?: TreeRef
}

/**
 * The non-tree paths whose entry differs between two trees. Identical subtrees are
 * never read; each level's missing trees are fetched in one batch.
 */
export async function diffTrees(
  reader: ObjectReader,
  oldTree: Oid | undefined,
  newTree: Oid,
  options: DiffOptions = {},
  signal?: AbortSignal,
): Promise<{ changes: Change[]; trees: Oid[] }> {
  const maxDepth = options.maxDepth ?? 4096
  const maxEntries = options.maxEntries ?? 10_000_000
  const changes: Change[] = []
  const newTrees: Oid[] = []
  const root: DiffNode = {
    path: '',
    old: oldTree === undefined ? undefined : { oid: oldTree, referrer: options.oldCommit },
    new: { oid: newTree, referrer: options.newCommit },
  }
  // A strict walk hands over every tree a side has.
  const entriesOf = (side: TreeRef | undefined, obj: GitObject | undefined, prefix: string, newSide: boolean): Map<string, TreeEntry> => {
    if (side === undefined || obj === undefined) return new Map()
    if (obj.type !== 'tree') throw new ObjectFormatError(`object ${side.oid} is a ${obj.type}, expected a tree`)
    return parseChecked(obj.data, prefix, newSide)
  }
  await walkTreeLevels(
    reader,
    oldTree === newTree ? [] : [root],
    {
      trees: (node) => [node.old, node.new],
      level(nodes, depth) {
        checkAborted(signal)
        if (depth > maxDepth) throw new UnsafePathError(nodes[0]!.path, `tree is nested deeper than ${maxDepth} levels`)
      },
      visit(pair, [oldObj, newObj], next) {
        if (pair.new !== undefined) newTrees.push(pair.new.oid)
        const olds = entriesOf(pair.old, oldObj, pair.path, false)
        const news = entriesOf(pair.new, newObj, pair.path, true)
        for (const name of new Set([...olds.keys(), ...news.keys()])) {
          const o = olds.get(name)
          const n = news.get(name)
          if (o && n && o.mode === n.mode && o.oid === n.oid) continue
          const path = pair.path === '' ? name : `${pair.path}/${name}`
          const oTree = o?.mode === MODE_TREE
          const nTree = n?.mode === MODE_TREE
          if (oTree || nTree) {
            next.push({
              path,
              old: oTree ? { oid: o.oid, referrer: pair.old?.oid } : undefined,
              new: nTree ? { oid: n.oid, referrer: pair.new?.oid } : undefined,
            })
          }
          const oFile = o && !oTree ? { mode: o.mode, oid: o.oid } : undefined
          const nFile = n && !nTree ? { mode: n.mode, oid: n.oid } : undefined
          if (oFile || nFile) {
            changes.push({ path, old: oFile, new: nFile })
            if (changes.length > maxEntries) throw new UnsafePathError(path, `switch changes more than ${maxEntries} paths`)
          }
        }
      },
    },
    { concurrency: options.concurrency },
  )
  return { changes, trees: newTrees }
}
