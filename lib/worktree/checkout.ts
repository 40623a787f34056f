/**
 * Checkout of a tree into a fresh work tree, in two stages so that later
 * operations (switching commits, sparse checkout) can reuse them:
 *
 *   planTree   reads the trees level by level (walkTreeLevels: each level's
 *              missing trees in one batch, as a tree:0 partial clone needs) and
 *              checks every path before anything touches the disk;
 *   applyPlan  prefetches every blob in one batch, creates directories, then
 *              files with bounded concurrency, and returns index entries built
 *              from lstat of what it wrote.
 *
 * Nothing is ever overwritten: files are created with O_CREAT|O_EXCL (which also
 * refuses to follow a symlink at the final component), and all directories are
 * created before any symlink, so no later write can pass through a symlink this
 * checkout created.
 */
import { lstatSync, mkdirSync, type BigIntStats } from 'node:fs'
import { lstat, mkdir, readdir, symlink } from 'node:fs/promises'
import { basename, join, resolve, dirname } from 'node:path'
import { InterruptedError, ObjectFormatError, RepositoryError, UnsafePathError } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { MODE_EXECUTABLE, MODE_GITLINK, MODE_SYMLINK, MODE_TREE } from '../odb/objects.js'
import { entryOid, scanTree } from '../odb/tree-scan.js'
import { walkTreeLevels, type TreeRef } from '../odb/tree-walk.js'
import type { ObjectReader } from '../odb/types.js'
import type { GitObject, Oid } from '../oid.js'
import { inIndexOrder, writeIndexFile, type IndexEntry } from './index-file.js'
import { indexEntryOf, writeAll, writeExclusive, writeFileEntry } from './file-write.js'
import { checkComponent, checkPathBytes, isDotGitmodulesAlias } from './path-safety.js'
import { isAttributesFile } from './attributes.js'
import { coneWantsFile, type ConeSpec } from './sparse.js'
import { fetchWritingOnArrival } from './arrival-writes.js'
import { attributesOf, type ConversionLoader, type Smudge } from './conversion.js'

export interface CheckoutContext {
  reader: ObjectReader
  workTree: string
  gitDir: string
  progress?: ProgressSink
  signal?: AbortSignal
}

export interface PlanOptions {
  /** Deepest directory nesting accepted (git's core.maxTreeDepth idea). Default 4096. */
  maxDepth?: number
  /** Most files and directories accepted in one tree, so a tree that reuses subtrees cannot explode. Default 10 000 000. */
  maxEntries?: number
  /** Trees read in parallel within one level. Default 32. */
  concurrency?: number
  /** The commit the tree belongs to: the referrer of the root tree when it must be fetched. */
  commit?: Oid
}

export interface CheckoutOptions extends PlanOptions {
  /** core.symlinks: when false, a symlink is written as a plain file holding its target. Default true. */
  symlinks?: boolean
  /** Where the index goes. Default `<gitDir>/index`. */
  indexPath?: string
  /**
   * A sparse checkout's cone: a path outside it is not written (nor its blob fetched)
   * and its index entry gets the skip-worktree bit, as git's sparse checkout does.
   */
  sparse?: ConeSpec
  /** End-of-line conversion (conversion.ts): loaded before the blob fetch, or once the attributes files it brings are in. Default: files written as stored. */
  conversion?: ConversionLoader
}

export interface PlanEntry {
  /** Slash-separated, relative to the work tree. */
  path: string
  /** MODE_BLOB, MODE_EXECUTABLE, MODE_SYMLINK or MODE_GITLINK. */
  mode: number
  oid: Oid
}

export interface CheckoutPlan {
  /** Files, symlinks and gitlinks, in index order (path bytes). */
  entries: PlanEntry[]
  /** Directories to create, grouped by depth: every parent is in an earlier group. */
  directories: string[][]
  /** Every tree read, root first: the referrers of the blobs. */
  trees: Oid[]
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  return results
}

function expectType(obj: GitObject, oid: Oid, type: GitObject['type'], path: string): GitObject {
  if (obj.type !== type) throw new ObjectFormatError(`${path || 'root'}: object ${oid} is a ${obj.type}, expected a ${type}`)
  return obj
}

/** A directory of the tree being planned: where it goes, and its tree. */
interface PlanNode {
  path: string
  tree: TreeRef
}

/** Asked between steps (tree levels, directories, files): an InterruptedError once `signal` has fired. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('checkout interrupted', { cause: signal.reason })
}

/** Reads the whole tree and validates every path; touches nothing on disk. */
export async function planTree(reader: ObjectReader, treeOid: Oid, options: PlanOptions = {}, signal?: AbortSignal): Promise<CheckoutPlan> {
  const maxDepth = options.maxDepth ?? 4096
  const maxEntries = options.maxEntries ?? 10_000_000
  const entries: PlanEntry[] = []
  const directories: string[][] = []
  const trees: Oid[] = []
  let count = 0
  const root: PlanNode = { path: '', tree: { oid: treeOid, referrer: options.commit } }
  await walkTreeLevels(
    reader,
    [root],
    {
      trees: (node) => [node.tree],
      level(nodes, depth) {
        checkAborted(signal)
        if (depth > maxDepth) throw new UnsafePathError(nodes[0]!.path, `tree is nested deeper than ${maxDepth} levels`)
        if (depth > 0) directories.push(nodes.map((n) => n.path))
        for (const oid of new Set(nodes.map((n) => n.tree.oid))) trees.push(oid)
      },
      visit({ path: prefix, tree }, [obj], next) {
        // A strict walk hands over every tree; names are checked below with their full
        // path. Scanned in place: no Buffer and entry object per name.
        const data = expectType(obj as GitObject, tree.oid, 'tree', prefix).data
        const modes: number[] = []
        const scanned = scanTree(data, modes)
        const nameAt = (i: number): string => data.toString('utf8', scanned[3 * i + 1]!, scanned[3 * i + 2]!)
        // A path handed out twice (e.g. a symlink "link" and a directory "link" in one
        // hostile tree) can only come from a name given twice in one tree: names in
        // increasing order cannot repeat, a tree out of that order takes a set.
        let names: Set<string> | undefined
        let last: string | undefined
        for (let i = 0; i < modes.length; i++) {
          const start = scanned[3 * i + 1]!
          const nul = scanned[3 * i + 2]!
          const mode = modes[i]!
          const name = nameAt(i)
          const path = prefix === '' ? name : `${prefix}/${name}`
          checkComponent(name, path)
          // as many characters as bytes and no replacement character: ASCII, valid UTF-8
          if (name.length !== nul - start || name.includes('\ufffd')) checkPathBytes(data.subarray(start, nul), path)
          if (mode === MODE_SYMLINK && isDotGitmodulesAlias(name)) {
            throw new UnsafePathError(path, `refusing unsafe path ${JSON.stringify(path)}: .gitmodules is a symbolic link`)
          }
          if (names === undefined && last !== undefined && name <= last) names = new Set(Array.from({ length: i }, (_, k) => nameAt(k)))
          if (names?.has(name) === true) throw new UnsafePathError(path, `refusing ${JSON.stringify(path)}: the tree names it twice`)
          names?.add(name)
          last = name
          if (++count > maxEntries) throw new UnsafePathError(path, `tree has more than ${maxEntries} entries`)
          const oid = entryOid(data, nul)
          if (mode === MODE_TREE) {
            next.push({ path, tree: { oid, referrer: tree.oid } })
          } else {
            entries.push({ path, mode, oid })
          }
        }
      },
    },
    { concurrency: options.concurrency },
  )
  return { entries: inIndexOrder(entries).sorted, directories, trees }
}

/** A fresh checkout may only find the git directory (when it lives inside the work tree). */
async function prepareWorkTree(workTree: string, gitDir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(workTree)
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code
    if (code !== 'ENOENT') throw e
    await mkdir(workTree, { recursive: true })
    return
  }
  const gitDirName = resolve(dirname(resolve(gitDir))) === resolve(workTree) ? basename(resolve(gitDir)) : undefined
  const others = names.filter((n) => n !== gitDirName)
  if (others.length > 0) throw new RepositoryError(`work tree '${workTree}' is not empty (found '${others[0]}')`)
}

/** Creates one directory; an existing one is reused only if lstat says it is a real directory (never a symlink). */
export async function makeDirectory(full: string, path: string): Promise<void> {
  try {
    await mkdir(full, 0o777)
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== 'EEXIST') throw e
    // Only a real directory may be reused (a case-folding file system can merge two names).
    const st = await lstat(full)
    if (!st.isDirectory()) throw new UnsafePathError(path, `refusing to write through ${JSON.stringify(path)}: it exists and is not a directory`)
  }
}

/** makeDirectory, synchronously. */
function makeDirectorySync(full: string, path: string): void {
  try {
    mkdirSync(full, 0o777)
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== 'EEXIST') throw e
    if (!lstatSync(full).isDirectory()) throw new UnsafePathError(path, `refusing to write through ${JSON.stringify(path)}: it exists and is not a directory`)
  }
}

/**
 * Writes one entry at a path where nothing exists (its parent directory must exist)
 * and returns its index entry with the stat data of what was written.
 */
export async function writeEntry(reader: ObjectReader, workTree: string, e: PlanEntry, symlinks: boolean, smudge?: Smudge): Promise<IndexEntry> {
  const full = join(workTree, e.path)
  let st: BigIntStats
  if (e.mode === MODE_GITLINK) {
    // An uninitialised submodule: an empty directory, as git leaves it.
    await makeDirectory(full, e.path)
    st = await lstat(full, { bigint: true })
  } else {
    // (a symlink's target is never converted; a converted file is read whole)
    const convert = e.mode === MODE_SYMLINK ? undefined : smudge?.(e.path)
    // A large file goes from the pack to the disk a chunk at a time, never held whole.
    const large = e.mode === MODE_SYMLINK || convert !== undefined ? undefined : await reader.largeBlob?.(e.oid)
    if (large !== undefined) {
      st = writeExclusive(full, e.mode === MODE_EXECUTABLE ? 0o777 : 0o666, (fd) => large.writeTo((chunk) => writeAll(fd, chunk)))
    } else {
      const blob = expectType(await reader.read(e.oid), e.oid, 'blob', e.path)
      if (e.mode === MODE_SYMLINK && symlinks) {
        if (blob.data.includes(0)) throw new UnsafePathError(e.path, `symlink ${JSON.stringify(e.path)} has a NUL in its target`)
        await symlink(blob.data, full)
        st = await lstat(full, { bigint: true })
      } else {
        // The fstat of the descriptor we created is the lstat of the path: O_EXCL made a regular file there.
        return writeFileEntry(workTree, e, convert === undefined ? blob.data : convert(blob.data))
      }
    }
  }
  return indexEntryOf(e, st)
}

/** Entries written between two turns of the event loop. */
const BREATHE_EVERY = 64

/**
 * Regular files are read and written synchronously, so a checkout would otherwise
 * hold the event loop for seconds: no signal handler (Ctrl-C) could run, and V8
 * could not run its scheduled GC tasks, letting garbage pile up in the old
 * generation. The returned function resolves at once, except every
 * BREATHE_EVERY calls, when every caller waits for the same turn of the loop.
 */
function breather(): () => Promise<void> | undefined {
  let calls = 0
  let pending: Promise<void> | undefined
  return () => {
    if (pending) return pending
    if (++calls % BREATHE_EVERY !== 0) return undefined
    pending = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      pending = undefined
    })
    return pending
  }
}

/** The index entry of a path left out of a sparse checkout: no stat data, as git writes it. */
export function skippedEntry(path: string, mode: number, oid: Oid): IndexEntry {
  return {
    ctimeSec: 0, ctimeNsec: 0, mtimeSec: 0, mtimeNsec: 0, dev: 0, ino: 0, mode, uid: 0, gid: 0, size: 0,
    oid, stage: 0, assumeValid: false, skipWorktree: true, intentToAdd: false, path,
  }
}

/**
 * Writes the planned entries into the (already prepared, empty) work tree and returns
 * their index entries, stat data included. Blobs are prefetched once, together, and
 * each file written as its blob arrives where it can be (arrival-writes.ts); a failed
 * fetch leaves the work tree as it was.
 */
export async function applyPlan(ctx: CheckoutContext, plan: CheckoutPlan, options: CheckoutOptions = {}): Promise<IndexEntry[]> {
  const { reader, workTree, signal } = ctx
  const progress = ctx.progress ?? silentSink
  const concurrency = options.concurrency ?? 32
  const symlinks = options.symlinks ?? true
  const cone = options.sparse
  const toWrite = cone === undefined ? plan.entries : plan.entries.filter((e) => coneWantsFile(cone, e.path))
  // Only the directories something is written into.
  let needed: Set<string> | undefined
  if (cone !== undefined) {
    needed = new Set<string>()
    for (const e of toWrite) for (let i = e.path.indexOf('/'); i >= 0; i = e.path.indexOf('/', i + 1)) needed.add(e.path.slice(0, i))
  }

  // Each file written as its blob arrives, where it can be; a failed fetch takes them back.
  const early = await fetchWritingOnArrival({ reader, workTree, entries: toWrite, attributes: attributesOf(toWrite), conversion: options.conversion, referrers: plan.trees, signal })
  const smudge = early.conversion?.smudge

  // Synchronously, like the files: a mkdir is cheaper than its thread-pool round trip.
  const breatheDirs = breather()
  for (const group of plan.directories) {
    for (const path of group) {
      if (needed !== undefined && !needed.has(path)) continue
      await breatheDirs()
      checkAborted(signal)
      makeDirectorySync(join(workTree, path), path)
    }
  }

  const total = toWrite.length
  let done = early.written.size
  progress.progress({ title: 'Updating files', current: done, total })
  const breathe = breather()
  const indexEntries = await mapLimit(toWrite, concurrency, async (e): Promise<IndexEntry> => {
    const got = early.written.get(e.path)
    if (got !== undefined) return got
    await breathe()
    checkAborted(signal)
    const entry = await writeEntry(reader, workTree, e, symlinks, smudge)
    done++
    progress.progress({ title: 'Updating files', current: done, total })
    return entry
  })
  progress.progress({ title: 'Updating files', current: done, total, done: true })
  if (cone !== undefined) for (const e of plan.entries) if (!coneWantsFile(cone, e.path)) indexEntries.push(skippedEntry(e.path, e.mode, e.oid))
  return indexEntries
}

/** Checks `treeOid` out into an empty or absent work tree and writes the index. */
export async function checkoutTree(ctx: CheckoutContext, treeOid: Oid, options: CheckoutOptions = {}): Promise<{ files: number; attributes: { path: string; oid: Oid }[] }> {
  const plan = await planTree(ctx.reader, treeOid, options, ctx.signal)
  await prepareWorkTree(ctx.workTree, ctx.gitDir)
  const entries = await applyPlan(ctx, plan, options)
  checkAborted(ctx.signal)
  await writeIndexFile(options.indexPath ?? join(ctx.gitDir, 'index'), entries)
  const written = entries.filter((e) => !e.skipWorktree)
  return { files: written.length, attributes: written.filter((e) => isAttributesFile(e.path)).map((e) => ({ path: e.path, oid: e.oid })) }
}
