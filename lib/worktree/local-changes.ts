/**
 * Local work a switch must not lose, as git's unpack-trees guards it: what the work
 * tree holds at a path compared with its index entry (stat data first, the content
 * when the stat data cannot be trusted), and the refusals that follow, in git's words,
 * before anything is touched: changed files, a file where a directory must go (or the
 * other way round), untracked files in the way.
 */
import { createReadStream, lstatSync } from 'node:fs'
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { TsgitError, isNotFound } from '../errors.js'
import { MODE_EXECUTABLE, MODE_GITLINK, MODE_SYMLINK, objectHeader } from '../odb/objects.js'
import { checkAborted } from './checkout.js'
import type { Clean } from './conversion.js'
import type { IndexEntry } from './index-file.js'

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

/** How a file is compared with its index entry (core.symlinks, core.fileMode, core.trustCtime, the index's mtime). */
export interface StateOptions {
  symlinks: boolean
  fileMode: boolean
  trustCtime: boolean
  indexMtimeNs: bigint | undefined
  /** End-of-line conversion of a path's file before it is hashed (conversion.ts); none by default. */
  clean?: Clean
}

/** The index file's mtime in ns (undefined when there is none): entries as new as it are racy. */
export async function indexMtime(indexPath: string): Promise<bigint | undefined> {
  try {
    return (await stat(indexPath, { bigint: true })).mtimeNs
  } catch (e) {
    if (!isNotFound(e)) throw e
    return undefined
  }
}

/** What the work tree holds at a path, compared with an index entry. */
export async function workTreeState(
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
  const clean = asLink ? undefined : opts.clean?.(e.path)
  if (clean !== undefined) {
    const data = await readFile(full)
    if (data.length !== e.size) return 'dirty'
    const cleaned = clean(data)
    if (blobId(cleaned.data) === e.oid) return 'clean'
    return cleaned.asIsIfIndexHasCr && cleaned.data !== data && blobId(data) === e.oid ? 'clean' : 'dirty'
  }
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

function blobId(data: Buffer): string {
  return createHash('sha1').update(objectHeader('blob', data.length)).update(data).digest('hex')
}

/**
 * Synchronous and without an exception for ENOENT: a switch asks about every path it
 * writes, and most of them do not exist yet; thrown ENOENTs dominated the profile.
 */
export async function lstatOrUndefined(full: string): Promise<BigIntStats | undefined> {
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

/** The leading directories of a work-tree path, outermost first. */
export function parentsOf(path: string): string[] {
  const parts = path.split('/')
  const out: string[] = []
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'))
  return out
}

/**
 * The index after a switch may not hold a file and a directory of one name (a staged
 * file where the new tree has a directory, say). git names the path that is still
 * tracked; `stillTracked` tells.
 */
export function refuseFileDirectoryConflicts(finalPaths: ReadonlySet<string>, stillTracked: (path: string) => boolean): void {
  // Directories found to be no path, each with all its parents: a path whose directory
  // is one needs no further look (30,000 paths lie in a few hundred directories).
  const clear = new Set<string>()
  for (const p of finalPaths) {
    const unchecked: string[] = []
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const d = p.slice(0, i)
      if (clear.has(d)) break
      unchecked.push(d)
    }
    // outermost first, as git names the conflict
    for (let k = unchecked.length - 1; k >= 0; k--) {
      const d = unchecked[k]!
      if (finalPaths.has(d)) throw new LocalChangesError('not-uptodate', [stillTracked(d) ? d : p])
      clear.add(d)
    }
  }
}

/** A path a switch creates where the index has nothing. */
export interface CreatedPath {
  path: string
  mode: number
}

/**
 * Refuses when an untracked file is in the way of a created path or of one of its
 * leading directories, or a directory there holds files the switch does not remove
 * (git's "would lose untracked files"). `leaving(p)`: the switch removes what is at p
 * or replaces it, so it is not in the way; `removed` are the files it removes.
 */
export async function refuseUntracked(
  workTree: string,
  created: readonly CreatedPath[],
  leaving: (path: string) => boolean,
  removed: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<void> {
  const untracked: string[] = []
  const untrackedDirs: string[] = []
  const checkedDirs = new Set<string>()
  for (const a of created) {
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
      if (!leaving(d)) {
        untracked.push(d)
        blocked = true
      }
      break
    }
    if (blocked) continue
    const st = await lstatOrUndefined(join(workTree, a.path))
    if (st === undefined) continue
    if (st.isDirectory()) {
      if (a.mode === MODE_GITLINK) continue
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
