/**
 * Switching a work tree from one tree to another (git's two-way merge of
 * unpack-trees, as `git checkout <branch>` uses it), in two stages:
 *
 *   planSwitch   diffs the old tree (HEAD) against the new one level by level,
 *                skipping identical subtrees and prefetching each level's missing
 *                trees in one batch; decides per changed path whether the index
 *                entry is kept, replaced or removed; and refuses, before anything
 *                is touched, when that would lose a local change or an untracked
 *                file;
 *   applySwitch  prefetches every blob to write in ONE batch, removes what goes,
 *                removes directories that became empty, writes what is new or
 *                changed, and writes the index with real stat data.
 *
 * Paths the switch does not change keep their index entries and files as they are,
 * so local changes to them are carried over, as git does.
 *
 * Deviation: untracked files in the way are always refused (git silently overwrites
 * ignored ones; tsgit does not read .gitignore), and clean/smudge filters and
 * end-of-line conversion are not applied when comparing files with the index.
 */
import { createReadStream, lstatSync, unlinkSync } from 'node:fs'
import { lstat, readdir, readlink, rm, rmdir, stat } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { ObjectFormatError, TsgitError, UnsafePathError, isNotFound } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { MODE_EXECUTABLE, MODE_GITLINK, MODE_SYMLINK, MODE_TREE, objectHeader, parseTree, type TreeEntry } from '../odb/objects.js'
import { walkTreeLevels, type TreeRef } from '../odb/tree-walk.js'
import type { ObjectReader } from '../odb/types.js'
import type { GitObject, Oid } from '../oid.js'
import { makeDirectory, mapLimit, planTree, writeEntry } from './checkout.js'
import { compareIndexEntries, readIndexFile, writeIndexFile, type IndexEntry } from './index-file.js'
import { checkComponent, checkPath, checkPathBytes, isDotGitmodulesAlias } from './path-safety.js'
import { isAttributesFile } from './attributes.js'

export type LocalChangeKind = 'not-uptodate' | 'untracked' | 'untracked-dir' | 'unmerged'

/** The switch would lose local work; nothing was changed. Exit 1, like git's "Aborting". */
export class LocalChangesError extends TsgitError {
  readonly kind: LocalChangeKind
  readonly paths: string[]
  constructor(kind: LocalChangeKind, paths: string[]) {
    super('E_LOCAL_CHANGES', localChangesMessage(kind, paths), { exitCode: 1 })
    this.kind = kind
    this.paths = paths
  }
}

/** git's wording (unpack-trees.c), without the "error: " prefix. */
export function localChangesMessage(kind: LocalChangeKind, paths: readonly string[]): string {
  const list = paths.map((p) => `\t${p}\n`).join('')
  switch (kind) {
    case 'not-uptodate':
      return `Your local changes to the following files would be overwritten by checkout:\n${list}Please commit your changes or stash them before you switch branches.\nAborting`
    case 'untracked':
      return `The following untracked working tree files would be overwritten by checkout:\n${list}Please move or remove them before you switch branches.\nAborting`
    case 'untracked-dir':
      return `Updating the following directories would lose untracked files in them:\n${list}\nAborting`
    case 'unmerged':
      return `you need to resolve your current index first\n${paths.map((p) => `${p}: needs merge`).join('\n')}`
  }
}

export interface SwitchContext {
  reader: ObjectReader
  workTree: string
  gitDir: string
  progress?: ProgressSink
  signal?: AbortSignal
}

export interface SwitchOptions {
  /** -f: throw away local changes and overwrite untracked files in the way. */
  force?: boolean
  /** core.symlinks (default true). */
  symlinks?: boolean
  /** core.fileMode (default true): an executable bit that differs from the index is a change. */
  fileMode?: boolean
  /** core.trustCtime (default true). */
  trustCtime?: boolean
  /** The commits whose trees are switched: referrers of the root trees when they must be fetched. */
  oldCommit?: Oid
  newCommit?: Oid
  concurrency?: number
  maxDepth?: number
  /** Most changed paths accepted in one switch. Default 10 000 000. */
  maxEntries?: number
  indexPath?: string
}

interface Side {
  mode: number
  oid: Oid
}

/** What happens to one path. */
type Action =
  | { kind: 'keep'; path: string }
  | { kind: 'remove'; path: string; old: IndexEntry }
  | { kind: 'write'; path: string; entry: Side; old?: IndexEntry }

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

interface StateOptions {
  symlinks: boolean
  fileMode: boolean
  trustCtime: boolean
  indexMtimeNs: bigint | undefined
}

export interface SwitchResult {
  written: number
  removed: number
  /**
   * Local changes carried over, as git lists them after a switch ("M\tpath"): kept
   * index entries whose file differs (M) or is gone (D). Staged-only changes are not
   * listed (that needs the whole new tree). Empty under -f.
   */
  localChanges: { status: 'M' | 'D'; path: string }[]
  /** The .gitattributes files of the new tree (attributes.ts). */
  attributes: { path: string; oid: Oid }[]
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TsgitError('E_ABORTED', 'checkout interrupted', { cause: signal.reason })
}

function same(a: Side | undefined, b: Side | undefined): boolean {
  return a !== undefined && b !== undefined && a.mode === b.mode && a.oid === b.oid
}

interface Change {
  path: string
  old?: Side
  new?: Side
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
  options: SwitchOptions = {},
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

/** What the work tree holds at a path, compared with an index entry. */
async function workTreeState(
  workTree: string,
  e: IndexEntry,
  opts: StateOptions,
): Promise<'missing' | 'clean' | 'dirty'> {
  const full = join(workTree, e.path)
  // Synchronous: a switch asks this of every path in the index, and the thread pool's
  // round trip costs many times the lstat itself (4,800 paths of git.git: ~0.4 s).
  const st = lstatSync(full, { bigint: true, throwIfNoEntry: false })
  if (st === undefined) return 'missing'
  if (e.mode === MODE_GITLINK) return st.isDirectory() ? 'clean' : 'dirty'
  const asLink = e.mode === MODE_SYMLINK && opts.symlinks
  if (asLink ? !st.isSymbolicLink() : !st.isFile()) return 'dirty'
  if (!asLink && e.mode !== MODE_SYMLINK && opts.fileMode && ((st.mode & 0o100n) !== 0n) !== (e.mode === MODE_EXECUTABLE)) return 'dirty'
  const low = (n: bigint): number => Number(n & 0xffffffffn)
  const statSame =
    low(st.mtimeNs / 1_000_000_000n) === e.mtimeSec &&
    Number(st.mtimeNs % 1_000_000_000n) === e.mtimeNsec &&
    (!opts.trustCtime || (low(st.ctimeNs / 1_000_000_000n) === e.ctimeSec && Number(st.ctimeNs % 1_000_000_000n) === e.ctimeNsec)) &&
    low(st.ino) === e.ino &&
    low(st.uid) === e.uid &&
    low(st.gid) === e.gid &&
    low(st.size) === e.size
  // A file changed in the same instant the index was written looks clean by stat ("racy git").
  const entryMtimeNs = BigInt(e.mtimeSec) * 1_000_000_000n + BigInt(e.mtimeNsec)
  const racy = opts.indexMtimeNs === undefined || entryMtimeNs >= opts.indexMtimeNs
  if (statSame && !racy) return 'clean'
  if (low(st.size) !== e.size) return 'dirty'
  const hash = createHash('sha1')
  if (asLink) {
    const target = await readlink(full, { encoding: 'buffer' })
    hash.update(objectHeader('blob', target.length)).update(target)
  } else {
    hash.update(objectHeader('blob', Number(st.size)))
    let read = 0n
    for await (const chunk of createReadStream(full)) {
      const b = chunk as Buffer
      read += BigInt(b.length)
      hash.update(b)
    }
    if (read !== st.size) return 'dirty'
  }
  return hash.digest('hex') === e.oid ? 'clean' : 'dirty'
}

/**
 * Synchronous and without an exception for ENOENT: a switch asks about every path it
 * writes, and most of them do not exist yet; thrown ENOENTs dominated the profile.
 */
async function lstatOrUndefined(full: string): Promise<BigIntStats | undefined> {
  try {
    return lstatSync(full, { bigint: true, throwIfNoEntry: false })
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

/** Every non-directory below `dir`, as work-tree paths. Bounded so a huge untracked tree cannot exhaust memory. */
async function filesBelow(workTree: string, dir: string, out: string[], limit = 1_000_000): Promise<void> {
  for (const name of await readdir(join(workTree, dir))) {
    const path = `${dir}/${name}`
    const st = await lstat(join(workTree, path))
    if (st.isDirectory()) await filesBelow(workTree, path, out, limit)
    else out.push(path)
    if (out.length > limit) return
  }
}

function parentsOf(path: string): string[] {
  const parts = path.split('/')
  const out: string[] = []
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'))
  return out
}

/** Decides what happens to every path and refuses when local work would be lost; touches nothing. */
export async function planSwitch(ctx: SwitchContext, oldTree: Oid | undefined, newTree: Oid, options: SwitchOptions = {}): Promise<SwitchPlan> {
  const { workTree, signal } = ctx
  const force = options.force ?? false
  const indexPath = options.indexPath ?? join(ctx.gitDir, 'index')
  let indexMtimeNs: bigint | undefined
  try {
    indexMtimeNs = (await stat(indexPath, { bigint: true })).mtimeNs
  } catch (e) {
    if (!isNotFound(e)) throw e
  }
  const indexFile = await readIndexFile(indexPath)
  const index = indexFile?.entries
  const byPath = new Map<string, IndexEntry>()
  for (const e of index ?? []) byPath.set(e.path, e)
  const unmerged = [...new Set((index ?? []).filter((e) => e.stage !== 0).map((e) => e.path))]
  if (unmerged.length > 0 && !force) throw new LocalChangesError('unmerged', unmerged)
  const stateOpts: StateOptions = {
    symlinks: options.symlinks ?? true,
    fileMode: options.fileMode ?? true,
    trustCtime: options.trustCtime ?? true,
    indexMtimeNs,
  }
  const sideOf = (e: IndexEntry | undefined): Side | undefined => (e === undefined || e.stage !== 0 ? undefined : { mode: e.mode, oid: e.oid })

  let changes: Change[]
  let trees: Oid[]
  if (force || index === undefined) {
    // Without an index (an initial checkout) or with -f, the index does not say what
    // the work tree holds: compare every path of the new tree with it.
    const plan = await planTree(ctx.reader, newTree, { commit: options.newCommit, maxDepth: options.maxDepth, maxEntries: options.maxEntries }, signal)
    trees = plan.trees
    const seen = new Set<string>()
    changes = plan.entries.map((e) => {
      seen.add(e.path)
      return { path: e.path, old: sideOf(byPath.get(e.path)), new: { mode: e.mode, oid: e.oid } }
    })
    for (const e of index ?? []) {
      if (seen.has(e.path)) continue
      seen.add(e.path)
      changes.push({ path: e.path, old: sideOf(e), new: undefined })
    }
  } else {
    ;({ changes, trees } = await diffTrees(ctx.reader, oldTree, newTree, options, signal))
  }

  const actions: Action[] = []
  const notUptodate: string[] = []
  const uptodate = async (e: IndexEntry): Promise<boolean> =>
    e.skipWorktree || (await workTreeState(workTree, e, stateOpts)) !== 'dirty'

  if (force) {
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
  } else {
    const initial = index === undefined
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
  }
  if (notUptodate.length > 0) throw new LocalChangesError('not-uptodate', notUptodate)

  // The index after the switch must not hold both a file and a directory of one name.
  const removed = new Set<string>()
  for (const a of actions) if (a.kind === 'remove') removed.add(a.path)
  const finalPaths = new Set<string>()
  for (const e of index ?? []) if (!removed.has(e.path)) finalPaths.add(e.path)
  for (const a of actions) if (a.kind === 'write') finalPaths.add(a.path)
  if (!force) {
    for (const p of finalPaths) {
      for (const d of parentsOf(p)) {
        if (finalPaths.has(d)) throw new LocalChangesError('not-uptodate', [byPath.has(d) && !removed.has(d) ? d : p])
      }
    }
  }

  // Untracked files in the way of a new path (or of one of its leading directories).
  if (!force) {
    const untracked: string[] = []
    const untrackedDirs: string[] = []
    const goneOrReplaced = (p: string): boolean => removed.has(p) || (byPath.has(p) && !finalPaths.has(p))
    const checkedDirs = new Set<string>()
    for (const a of actions) {
      if (a.kind !== 'write' || a.old !== undefined) continue
      checkAborted(signal)
      let blocked = false
      for (const d of parentsOf(a.path)) {
        if (checkedDirs.has(d)) continue
        const st = await lstatOrUndefined(join(workTree, d))
        if (st === undefined) break
        if (st.isDirectory()) {
          checkedDirs.add(d)
          continue
        }
        if (!goneOrReplaced(d)) {
          untracked.push(d)
          blocked = true
        }
        break
      }
      if (blocked) continue
      const st = await lstatOrUndefined(join(workTree, a.path))
      if (st === undefined) continue
      if (st.isDirectory()) {
        if (a.entry.mode === MODE_GITLINK) continue
        const inside: string[] = []
        await filesBelow(workTree, a.path, inside)
        if (inside.some((p) => !removed.has(p))) untrackedDirs.push(a.path)
      } else {
        untracked.push(a.path)
      }
    }
    if (untracked.length > 0) throw new LocalChangesError('untracked', [...new Set(untracked)])
    if (untrackedDirs.length > 0) throw new LocalChangesError('untracked-dir', untrackedDirs)
  }
  for (const a of actions) if (a.kind === 'write') checkPath(a.path, a.entry.mode)
  return { index, actions, trees, force, stateOptions: stateOpts }
}

/** Removes a file, symlink or (empty) gitlink directory; with `recursive`, whatever is there. */
async function removePath(full: string, recursive: boolean): Promise<void> {
  const st = await lstatOrUndefined(full)
  if (st === undefined) return
  if (!st.isDirectory()) {
    unlinkSync(full)
    return
  }
  if (recursive) {
    await rm(full, { recursive: true, force: true })
    return
  }
  await removeEmptyDirs(full)
}

/** Removes `dir` and the empty directories below it; leaves anything that holds a file. */
async function removeEmptyDirs(dir: string): Promise<boolean> {
  let empty = true
  for (const name of await readdir(dir)) {
    const full = join(dir, name)
    const st = await lstat(full)
    if (st.isDirectory() && (await removeEmptyDirs(full))) continue
    empty = false
  }
  if (!empty) return false
  try {
    await rmdir(dir)
    return true
  } catch (e) {
    if (isNotFound(e)) return true
    const code = (e as { code?: unknown } | null)?.code
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false
    throw e
  }
}

/** rmdir that reports whether the directory is gone; a non-empty one stays. */
async function tryRmdir(full: string): Promise<void> {
  try {
    await rmdir(full)
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code
    if (isNotFound(e) || code === 'ENOTEMPTY' || code === 'EEXIST') return
    throw e
  }
}

/** The leading directories of `path` must be real directories (never symlinks) before we remove inside them. */
async function assertRealParents(workTree: string, path: string, known: Set<string>): Promise<boolean> {
  for (const d of parentsOf(path)) {
    if (known.has(d)) continue
    const st = await lstatOrUndefined(join(workTree, d))
    if (st === undefined) return false
    if (!st.isDirectory()) return false
    known.add(d)
  }
  return true
}

/** Carries out a plan: one blob prefetch, removals, emptied directories, writes, the index. */
export async function applySwitch(ctx: SwitchContext, plan: SwitchPlan, options: SwitchOptions = {}): Promise<SwitchResult> {
  const { reader, workTree, signal } = ctx
  const progress = ctx.progress ?? silentSink
  const concurrency = options.concurrency ?? 32
  const symlinks = options.symlinks ?? true
  const writes = plan.actions.filter((a): a is Extract<Action, { kind: 'write' }> => a.kind === 'write')
  const removes = plan.actions.filter((a): a is Extract<Action, { kind: 'remove' }> => a.kind === 'remove')
  const blobs = new Set<Oid>()
  for (const w of writes) if (w.entry.mode !== MODE_GITLINK) blobs.add(w.entry.oid)
  // Everything the switch needs, fetched before the first change on disk.
  if (blobs.size > 0) await reader.prefetch(blobs, { referrers: plan.trees })
  checkAborted(signal)

  const removedPaths = new Set(removes.map((r) => r.path))
  const realDirs = new Set<string>()
  const emptied = new Set<string>()
  for (const a of [...removes, ...writes]) {
    if (a.kind === 'write' && a.old === undefined && !plan.force) continue
    if (!(await assertRealParents(workTree, a.path, realDirs))) continue
    await removePath(join(workTree, a.path), plan.force)
    for (const d of parentsOf(a.path)) emptied.add(d)
  }
  // Deepest first, so a parent sees its children already gone.
  const byDepth = [...emptied].sort((a, b) => b.split('/').length - a.split('/').length)
  const newDirs = new Set<string>()
  for (const w of writes) for (const d of parentsOf(w.path)) newDirs.add(d)
  for (const d of byDepth) if (!newDirs.has(d)) await tryRmdir(join(workTree, d))

  // Directories for the new entries, parents first; anything in the way that is not
  // a directory was checked to be tracked and removed (or -f was given).
  const dirs = [...newDirs].sort((a, b) => a.split('/').length - b.split('/').length)
  for (const d of dirs) {
    checkAborted(signal)
    const full = join(workTree, d)
    const st = await lstatOrUndefined(full)
    if (st !== undefined && !st.isDirectory()) {
      if (!plan.force && !removedPaths.has(d)) {
        throw new UnsafePathError(d, `refusing to write through ${JSON.stringify(d)}: it exists and is not a directory`)
      }
      unlinkSync(full)
    }
    await makeDirectory(full, d)
  }

  const total = writes.length
  let done = 0
  progress.progress({ title: 'Updating files', current: 0, total })
  const written = await mapLimit(writes, concurrency, async (w): Promise<IndexEntry> => {
    checkAborted(signal)
    const full = join(workTree, w.path)
    const st = await lstatOrUndefined(full)
    // A directory in the way held only tracked files that are gone now (or -f).
    if (st?.isDirectory() && w.entry.mode !== MODE_GITLINK) await removePath(full, plan.force)
    else if (st !== undefined && !st.isDirectory()) unlinkSync(full)
    const entry = await writeEntry(reader, workTree, { path: w.path, mode: w.entry.mode, oid: w.entry.oid }, symlinks)
    done++
    progress.progress({ title: 'Updating files', current: done, total })
    return entry
  })
  progress.progress({ title: 'Updating files', current: done, total, done: true })

  const changed = new Set<string>()
  for (const a of plan.actions) if (a.kind !== 'keep') changed.add(a.path)
  const entries: IndexEntry[] = []
  for (const e of plan.index ?? []) {
    if (changed.has(e.path)) continue
    if (plan.force && e.stage !== 0) continue
    entries.push(e)
  }
  entries.push(...written)
  checkAborted(signal)
  await writeIndexFile(options.indexPath ?? join(ctx.gitDir, 'index'), entries)

  const localChanges: SwitchResult['localChanges'] = []
  if (!plan.force) {
    const fresh = new Set(written.map((e) => e.path))
    const kept = entries.filter((e) => !fresh.has(e.path) && e.stage === 0).sort(compareIndexEntries)
    const states = await mapLimit(kept, concurrency, (e) => (e.skipWorktree ? Promise.resolve('clean' as const) : workTreeState(workTree, e, plan.stateOptions)))
    kept.forEach((e, i) => {
      const st = states[i]
      if (st === 'missing') localChanges.push({ status: 'D', path: e.path })
      else if (st === 'dirty') localChanges.push({ status: 'M', path: e.path })
    })
  }
  const attributes = entries.filter((e) => e.stage === 0 && !e.skipWorktree && isAttributesFile(e.path)).map((e) => ({ path: e.path, oid: e.oid }))
  return { written: written.length, removed: removes.length, localChanges, attributes }
}

/** planSwitch then applySwitch. */
export async function switchTrees(ctx: SwitchContext, oldTree: Oid | undefined, newTree: Oid, options: SwitchOptions = {}): Promise<SwitchResult> {
  const plan = await planSwitch(ctx, oldTree, newTree, options)
  return applySwitch(ctx, plan, options)
}
