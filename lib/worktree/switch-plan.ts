/**
 * Planning a switch (git's two-way merge, twoway_merge in unpack-trees.c): for every
 * path the two trees disagree on, whether its index entry is kept, replaced or
 * removed, given what the index and the work tree hold now; refused, before anything
 * is touched, when that would lose local work (local-changes.ts). switch-apply.ts
 * carries a plan out.
 */
import { join } from 'node:path'
import type { ProgressSink } from '../events.js'
import type { ObjectReader } from '../odb/types.js'
import type { Oid } from '../oid.js'
import { checkAborted, planTree } from './checkout.js'
import { readIndexFile, type IndexEntry } from './index-file.js'
import { LocalChangesError, refuseFileDirectoryConflicts, refuseUntracked, workTreeState, indexMtime, type StateOptions } from './local-changes.js'
import { checkPath } from './path-safety.js'
import { attributesOf, type ConversionLoader } from './conversion.js'
import { diffTrees, type Change, type DiffOptions, type Side } from './tree-diff.js'
import { clearPresentSkipWorktree, coneFileFilter, type ConeSpec } from './sparse.js'

export interface SwitchContext {
  reader: ObjectReader
  workTree: string
  gitDir: string
  progress?: ProgressSink
  signal?: AbortSignal
}

export interface SwitchOptions extends DiffOptions {
  /** -f: throw away local changes and overwrite untracked files in the way. */
  force?: boolean
  /** core.symlinks (default true). */
  symlinks?: boolean
  /** core.fileMode (default true): an executable bit that differs from the index is a change. */
  fileMode?: boolean
  /** core.trustCtime (default true). */
  trustCtime?: boolean
  indexPath?: string
  /** A sparse checkout's cone (sparse.ts): what lies outside it gets the skip-worktree bit instead of a file. */
  sparse?: ConeSpec
  /** End-of-line conversion (conversion.ts): files are written, and compared with the index, through it. */
  conversion?: ConversionLoader
}

/** What happens to one path. */
export type Action =
  | { kind: 'keep'; path: string }
  | { kind: 'remove'; path: string; old: IndexEntry }
  /** skipWorktree: outside the sparse cone, only the index entry is written (and the old file removed). */
  | { kind: 'write'; path: string; entry: Side; old?: IndexEntry; skipWorktree?: boolean }

export interface SwitchPlan {
  /** The index as it was (undefined: there was none, an initial checkout). */
  index: IndexEntry[] | undefined
  actions: Action[]
  /** Every tree read on the new side: the referrers of the blobs to fetch. */
  trees: Oid[]
  force: boolean
  /** Options for comparing kept entries with their files afterwards. */
  stateOptions: StateOptions
}

function same(a: Side | undefined, b: Side | undefined): boolean {
  return a !== undefined && b !== undefined && a.mode === b.mode && a.oid === b.oid
}

function sideOf(e: IndexEntry | undefined): Side | undefined {
  return e === undefined || e.stage !== 0 ? undefined : { mode: e.mode, oid: e.oid }
}

/** Decides what happens to every path and refuses when local work would be lost; touches nothing. */
export async function planSwitch(ctx: SwitchContext, oldTree: Oid | undefined, newTree: Oid, options: SwitchOptions = {}): Promise<SwitchPlan> {
  const { workTree, signal } = ctx
  const force = options.force ?? false
  const indexPath = options.indexPath ?? join(ctx.gitDir, 'index')
  const indexMtimeNs = await indexMtime(indexPath)
  const indexFile = await readIndexFile(indexPath)
  const index = indexFile !== undefined && options.sparse !== undefined ? clearPresentSkipWorktree(workTree, indexFile.entries) : indexFile?.entries
  const byPath = new Map<string, IndexEntry>()
  for (const e of index ?? []) byPath.set(e.path, e)
  const unmerged = [...new Set((index ?? []).filter((e) => e.stage !== 0).map((e) => e.path))]
  if (unmerged.length > 0 && !force) throw new LocalChangesError('unmerged', unmerged)
  const stateOpts: StateOptions = {
    symlinks: options.symlinks ?? true,
    fileMode: options.fileMode ?? true,
    trustCtime: options.trustCtime ?? true,
    indexMtimeNs,
    // files are compared as git hashes them: through the work tree's attributes
    clean: index === undefined ? undefined : (await options.conversion?.(attributesOf(index.filter((e) => e.stage === 0 && !e.skipWorktree)), 'work-tree'))?.clean,
  }

  let changes: Change[]
  let trees: Oid[]
  let initial: Action[] | undefined
  if (force || index === undefined) {
    // Without an index (an initial checkout) or with -f, the index does not say what
    // the work tree holds: compare every path of the new tree with it.
    const plan = await planTree(ctx.reader, newTree, { commit: options.newCommit, maxDepth: options.maxDepth, maxEntries: options.maxEntries }, signal)
    trees = plan.trees
    // a plan entry is its own new side (mode and oid)
    if (index === undefined) {
      // nothing to compare with: every path is written, with or without -f
      changes = []
      initial = plan.entries.map((e) => ({ kind: 'write', path: e.path, entry: e }))
    } else {
      changes = plan.entries.map((e) => ({ path: e.path, old: sideOf(byPath.get(e.path)), new: e }))
      if (index.length > 0) {
        const seen = new Set(plan.entries.map((e) => e.path))
        for (const e of index) {
          if (seen.has(e.path)) continue
          seen.add(e.path)
          changes.push({ path: e.path, old: sideOf(e), new: undefined })
        }
      }
    }
  } else {
    ;({ changes, trees } = await diffTrees(ctx.reader, oldTree, newTree, options, signal))
  }

  const actions =
    initial ?? (force ? await forcedActions(changes, byPath, workTree, stateOpts, signal) : await twoWayMerge(changes, byPath, index === undefined, workTree, stateOpts, signal))
  if (options.sparse !== undefined) await applyCone(options.sparse, actions, index ?? [], workTree, stateOpts, signal)

  if (!force) {
    const removed = new Set<string>()
    for (const a of actions) if (a.kind === 'remove') removed.add(a.path)
    const finalPaths = new Set<string>()
    for (const e of index ?? []) if (!removed.has(e.path)) finalPaths.add(e.path)
    for (const a of actions) if (a.kind === 'write') finalPaths.add(a.path)
    refuseFileDirectoryConflicts(finalPaths, (p) => byPath.has(p) && !removed.has(p))
    const created = actions.flatMap((a) => (a.kind === 'write' && a.skipWorktree !== true && (a.old === undefined || a.old.skipWorktree) ? [{ path: a.path, mode: a.entry.mode }] : []))
    await refuseUntracked(workTree, created, (p) => removed.has(p) || (byPath.has(p) && !finalPaths.has(p)), removed, signal)
  }
  for (const a of actions) if (a.kind === 'write') checkPath(a.path, a.entry.mode)
  return { index, actions, trees, force, stateOptions: stateOpts }
}

/**
 * A sparse checkout's cone over the result, as git's unpack-trees applies it to the
 * whole index: a written path outside the cone becomes an index entry only; an
 * entry the switch keeps gets its file written when it came into the cone, or removed
 * when it left it (a file with local changes stays, as git leaves it).
 */
async function applyCone(cone: ConeSpec, actions: Action[], index: readonly IndexEntry[], workTree: string, stateOpts: StateOptions, signal: AbortSignal | undefined): Promise<void> {
  const wants = coneFileFilter(cone)
  // only an index (not an initial checkout) has entries the actions leave alone
  const acted = index.length > 0 ? new Set<string>() : undefined
  for (const a of actions) {
    if (a.kind !== 'keep') acted?.add(a.path)
    if (a.kind === 'write' && !wants(a.path)) a.skipWorktree = true
  }
  if (acted === undefined) return
  for (const e of index) {
    checkAborted(signal)
    if (e.stage !== 0 || acted.has(e.path)) continue
    const wanted = wants(e.path)
    if (wanted && e.skipWorktree) actions.push({ kind: 'write', path: e.path, entry: { mode: e.mode, oid: e.oid }, old: e })
    else if (!wanted && !e.skipWorktree && (await workTreeState(workTree, e, stateOpts)) !== 'dirty') {
      actions.push({ kind: 'write', path: e.path, entry: { mode: e.mode, oid: e.oid }, old: e, skipWorktree: true })
    }
  }
}

/** -f: every change is carried out, but a file that already matches the new side is kept. */
async function forcedActions(changes: readonly Change[], byPath: ReadonlyMap<string, IndexEntry>, workTree: string, stateOpts: StateOptions, signal: AbortSignal | undefined): Promise<Action[]> {
  const actions: Action[] = []
  for (const c of changes) {
    checkAborted(signal)
    const cur = byPath.get(c.path)
    if (c.new === undefined) {
      if (cur !== undefined) actions.push({ kind: 'remove', path: c.path, old: cur })
    } else if (cur !== undefined && cur.stage === 0 && same(sideOf(cur), c.new) && (await workTreeState(workTree, cur, stateOpts)) === 'clean') {
      actions.push({ kind: 'keep', path: c.path })
    } else {
      actions.push({ kind: 'write', path: c.path, entry: c.new, old: cur })
    }
  }
  return actions
}

/**
 * git's two-way merge of the index with the change from old to new: a path whose
 * index entry (and file) still matches the old side follows the change; one already
 * at the new side stays; anything else is a local change the switch would lose.
 */
async function twoWayMerge(
  changes: readonly Change[],
  byPath: ReadonlyMap<string, IndexEntry>,
  initial: boolean,
  workTree: string,
  stateOpts: StateOptions,
  signal: AbortSignal | undefined,
): Promise<Action[]> {
  const actions: Action[] = []
  const notUptodate: string[] = []
  const uptodate = async (e: IndexEntry): Promise<boolean> => e.skipWorktree || (await workTreeState(workTree, e, stateOpts)) !== 'dirty'
  for (const c of changes) {
    checkAborted(signal)
    const cur = byPath.get(c.path)
    const I = sideOf(cur)
    if (cur !== undefined && I !== undefined) {
      if (same(I, c.new)) actions.push({ kind: 'keep', path: c.path })
      else if (c.old !== undefined && same(I, c.old)) {
        if (!(await uptodate(cur))) notUptodate.push(c.path)
        else if (c.new === undefined) actions.push({ kind: 'remove', path: c.path, old: cur })
        else actions.push({ kind: 'write', path: c.path, entry: c.new, old: cur })
      } else notUptodate.push(c.path)
    } else if (c.new !== undefined) {
      // A deletion staged in the index meets a change of the same path.
      if (c.old !== undefined && !initial) notUptodate.push(c.path)
      else actions.push({ kind: 'write', path: c.path, entry: c.new })
    }
    // Gone from the new tree and already gone from the index: nothing to do.
  }
  if (notUptodate.length > 0) throw new LocalChangesError('not-uptodate', notUptodate)
  return actions
}
