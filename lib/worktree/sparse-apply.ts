/**
 * Bringing the work tree and the index in line with a sparse-checkout cone, as `git
 * sparse-checkout set|add|reapply|disable` do (they change no index entry but its
 * skip-worktree bit):
 *
 *   an entry that came into the cone gets its file written (every blob in ONE
 *   prefetch) and loses the bit;
 *   an entry that left it gets the bit, and its file is removed when it matches the
 *   index; a file with local changes stays and keeps no bit ("not up to date and left
 *   despite sparse patterns"), as do unmerged entries;
 *   directories that became empty go; a directory outside the cone that is left with
 *   files the index does not know is named ("contains untracked files"), else removed.
 *
 * Deviation: git removes a directory outside the cone that holds only ignored files;
 * tsgit does not read .gitignore, so any file there keeps the directory and is named.
 */
import { unlinkSync } from 'node:fs'
import { lstat, readdir, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isNotFound } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { MODE_GITLINK, MODE_TREE, parseTree } from '../odb/objects.js'
import { walkTreeLevels } from '../odb/tree-walk.js'
import type { ObjectReader } from '../odb/types.js'
import type { GitObject, Oid } from '../oid.js'
import { checkAborted, makeDirectory, mapLimit, writeEntry } from './checkout.js'
import { attributesOf, type ConversionLoader } from './conversion.js'
import { readIndexFile, writeIndexFile, type IndexEntry } from './index-file.js'
import { lstatOrUndefined, parentsOf, workTreeState, indexMtime, type StateOptions } from './local-changes.js'
import { clearPresentSkipWorktree, coneWantsDir, coneWantsFile, type ConeSpec } from './sparse.js'

export interface SparsityContext {
  reader: ObjectReader
  workTree: string
  gitDir: string
  progress?: ProgressSink
  signal?: AbortSignal
}

export interface SparsityOptions {
  /** core.symlinks (default true). */
  symlinks?: boolean
  /** core.fileMode (default true). */
  fileMode?: boolean
  /** core.trustCtime (default true). */
  trustCtime?: boolean
  indexPath?: string
  /** Files written at once. Default 32. */
  concurrency?: number
  /**
   * HEAD's tree (and its commit): the blobs to write are fetched naming the trees of it
   * that hold them, so a partial clone need not list every promisor object first.
   */
  head?: { tree: Oid; commit?: Oid }
  /** End-of-line conversion (conversion.ts): files are written, and compared with the index, through it. */
  conversion?: ConversionLoader
}

export interface SparsityResult {
  written: number
  removed: number
  /** Files outside the cone with local changes: left in place, without the bit. */
  notUptodate: string[]
  /** Unmerged paths: left as they are. */
  unmerged: string[]
  /** Directories outside the cone kept because files the index does not know are in them ("dir/"). */
  untrackedDirs: string[]
  /** Entries of the cone left out because something that is not a directory is where their directory goes. */
  blocked: string[]
}

/** Every tree of `root` the cone reaches into, and the blobs directly in them. */
async function coneTrees(reader: ObjectReader, root: Oid, commit: Oid | undefined, cone: ConeSpec | undefined): Promise<{ trees: Oid[]; blobs: Set<Oid> }> {
  const trees: Oid[] = []
  const blobs = new Set<Oid>()
  await walkTreeLevels(reader, [{ path: '', oid: root, referrer: commit }], {
    trees: (n) => [{ oid: n.oid, referrer: n.referrer }],
    visit(n, [obj], next) {
      trees.push(n.oid)
      if ((obj as GitObject).type !== 'tree') return
      for (const e of parseTree((obj as GitObject).data, { strictNames: false })) {
        const path = n.path === '' ? e.name : `${n.path}/${e.name}`
        if (e.mode === MODE_TREE) {
          if (cone === undefined || coneWantsDir(cone, path)) next.push({ path, oid: e.oid, referrer: n.oid })
        } else if (e.mode !== MODE_GITLINK) blobs.add(e.oid)
      }
    },
  })
  return { trees, blobs }
}

/** Whether anything but directories is below `full` (a symlink counts: it is not followed). */
async function holdsFiles(full: string): Promise<boolean> {
  for (const name of await readdir(full)) {
    const st = await lstat(join(full, name))
    if (!st.isDirectory() || (await holdsFiles(join(full, name)))) return true
  }
  return false
}

async function tryRmdir(full: string): Promise<void> {
  try {
    await rmdir(full)
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code
    if (isNotFound(e) || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return
    throw e
  }
}

/** The outermost directory of `path` the cone does not reach into, or undefined. */
function outsideTop(cone: ConeSpec, path: string): string | undefined {
  for (const d of parentsOf(path)) if (!coneWantsDir(cone, d)) return d
  return undefined
}

/**
 * Applies `cone` (undefined: every path, as `disable` wants) to the index and the
 * work tree. Without an index (a clone made with --no-checkout) there is nothing to do.
 */
export async function updateSparsity(ctx: SparsityContext, cone: ConeSpec | undefined, options: SparsityOptions = {}): Promise<SparsityResult> {
  const { reader, workTree, signal } = ctx
  const progress = ctx.progress ?? silentSink
  const result: SparsityResult = { written: 0, removed: 0, notUptodate: [], unmerged: [], untrackedDirs: [], blocked: [] }
  const indexPath = options.indexPath ?? join(ctx.gitDir, 'index')
  const indexMtimeNs = await indexMtime(indexPath)
  const file = await readIndexFile(indexPath)
  if (file === undefined) return result
  const entries = clearPresentSkipWorktree(workTree, file.entries)
  const wants = (path: string): boolean => cone === undefined || coneWantsFile(cone, path)
  const live = entries.filter((e) => e.stage === 0)
  const clean = (await options.conversion?.(attributesOf(live.filter((e) => !e.skipWorktree)), 'work-tree'))?.clean
  const stateOpts: StateOptions = { symlinks: options.symlinks ?? true, fileMode: options.fileMode ?? true, trustCtime: options.trustCtime ?? true, indexMtimeNs, clean }

  const toWrite: number[] = []
  const toSkip: { i: number; present: boolean }[] = []
  for (let i = 0; i < entries.length; i++) {
    checkAborted(signal)
    const e = entries[i] as IndexEntry
    if (e.stage !== 0) {
      if (result.unmerged[result.unmerged.length - 1] !== e.path) result.unmerged.push(e.path)
      continue
    }
    const wanted = wants(e.path)
    if (wanted && e.skipWorktree) toWrite.push(i)
    else if (!wanted && !e.skipWorktree) {
      const state = await workTreeState(workTree, e, stateOpts)
      if (state === 'dirty') result.notUptodate.push(e.path)
      else toSkip.push({ i, present: state === 'clean' })
    }
  }

  // What comes in must have a directory to go to: a file in the way stays, and so does the bit.
  const realDirs = new Set<string>()
  const writable: number[] = []
  for (const i of toWrite) {
    const e = entries[i] as IndexEntry
    let blocked = false
    for (const d of parentsOf(e.path)) {
      if (realDirs.has(d)) continue
      const st = await lstatOrUndefined(join(workTree, d))
      if (st === undefined) break
      if (!st.isDirectory()) {
        blocked = true
        break
      }
      realDirs.add(d)
    }
    if (blocked) result.blocked.push(e.path)
    else writable.push(i)
  }

  const blobs = new Set<Oid>()
  for (const i of writable) if ((entries[i] as IndexEntry).mode !== MODE_GITLINK) blobs.add((entries[i] as IndexEntry).oid)
  if (blobs.size > 0) {
    let referrers: Oid[] | undefined
    if (options.head !== undefined) {
      const part = await coneTrees(reader, options.head.tree, options.head.commit, cone)
      // only a true statement: a blob the index has from elsewhere (staged) leaves the store to check
      if ([...blobs].every((b) => part.blobs.has(b))) referrers = part.trees
    }
    await reader.prefetch(blobs, referrers === undefined ? {} : { referrers })
  }
  checkAborted(signal)
  // what the index's attributes say, for the files of the cone (any attributes file that bears on one is in it)
  const smudge = writable.length === 0 ? undefined : (await options.conversion?.(attributesOf(live.filter((e) => wants(e.path))), 'index'))?.smudge

  const out = entries.slice()
  const emptied = new Set<string>()
  for (const { i, present } of toSkip) {
    const e = entries[i] as IndexEntry
    if (present) {
      // never through a symlink: the leading directories must be real ones
      let real = true
      for (const d of parentsOf(e.path)) {
        if (realDirs.has(d)) continue
        const st = await lstatOrUndefined(join(workTree, d))
        if (st === undefined || !st.isDirectory()) {
          real = false
          break
        }
        realDirs.add(d)
      }
      if (real) {
        // a submodule's directory goes only when empty, never with what is in it (git-sparse-checkout(1), SUBMODULES)
        if (e.mode === MODE_GITLINK) await tryRmdir(join(workTree, e.path))
        else unlinkSync(join(workTree, e.path))
        result.removed++
        for (const d of parentsOf(e.path)) emptied.add(d)
      }
    }
    out[i] = { ...e, ctimeSec: 0, ctimeNsec: 0, mtimeSec: 0, mtimeNsec: 0, dev: 0, ino: 0, uid: 0, gid: 0, size: 0, skipWorktree: true }
  }
  const newDirs = new Set<string>()
  for (const i of writable) for (const d of parentsOf((entries[i] as IndexEntry).path)) newDirs.add(d)
  // deepest first, so a parent sees its children already gone
  for (const d of [...emptied].sort((a, b) => b.split('/').length - a.split('/').length)) if (!newDirs.has(d)) await tryRmdir(join(workTree, d))
  for (const d of [...newDirs].sort((a, b) => a.split('/').length - b.split('/').length)) {
    checkAborted(signal)
    await makeDirectory(join(workTree, d), d)
  }

  let done = 0
  progress.progress({ title: 'Updating files', current: 0, total: writable.length })
  const symlinks = options.symlinks ?? true
  await mapLimit(writable, options.concurrency ?? 32, async (i) => {
    checkAborted(signal)
    const e = entries[i] as IndexEntry
    out[i] = { ...(await writeEntry(reader, workTree, { path: e.path, mode: e.mode, oid: e.oid }, symlinks, smudge)), assumeValid: e.assumeValid, intentToAdd: e.intentToAdd }
    progress.progress({ title: 'Updating files', current: ++done, total: writable.length })
  })
  progress.progress({ title: 'Updating files', current: done, total: writable.length, done: true })
  result.written = writable.length

  if (cone !== undefined) result.untrackedDirs = await clearSparseDirectories(workTree, cone, out)
  checkAborted(signal)
  // Only skip-worktree bits and stat data changed: the cached trees still hold.
  await writeIndexFile(indexPath, out, { extensions: file.extensions.filter((x) => x.signature === 'TREE') })
  return result
}

/**
 * The outermost directories outside the cone whose every index entry is skip-worktree
 * (git's sparse directories): each still in the work tree is removed when only
 * directories are left in it, and named otherwise.
 */
async function clearSparseDirectories(workTree: string, cone: ConeSpec, entries: readonly IndexEntry[]): Promise<string[]> {
  const sparse = new Map<string, boolean>()
  for (const e of entries) {
    const top = outsideTop(cone, e.path)
    if (top === undefined) continue
    const all = e.stage === 0 && e.skipWorktree && e.mode !== MODE_GITLINK
    sparse.set(top, (sparse.get(top) ?? true) && all)
  }
  const named: string[] = []
  for (const [dir, all] of sparse) {
    if (!all) continue
    const full = join(workTree, dir)
    const st = await lstatOrUndefined(full)
    if (st === undefined || !st.isDirectory()) continue
    if (await holdsFiles(full)) named.push(`${dir}/`)
    else await rm(full, { recursive: true, force: true })
  }
  return named.sort()
}
