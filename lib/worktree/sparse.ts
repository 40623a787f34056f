/**
 * Sparse checkout in cone mode (git-sparse-checkout(1), "INTERNALS -- CONE PATTERN
 * SET"): which directories `$GIT_DIR/info/sparse-checkout` names, read and written in
 * the patterns git writes, and what a checkout, a switch and `backfill --sparse` may
 * take from it. Only cone patterns are understood: any other pattern file is refused
 * by the callers, never guessed at.
 */
import { lstatSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TsgitError, isNotFound } from '../errors.js'
import type { ConfigReader } from '../repo/config.js'
import type { IndexEntry } from './index-file.js'

/** The sparse-checkout definition cannot be used (absent, or not cone mode), or a sparse-checkout command was misused. */
export class SparseCheckoutError extends TsgitError {
  constructor(message: string) {
    super('E_SPARSE_CHECKOUT', message)
  }
}

/**
 * A cone-mode sparse-checkout: files directly inside a "parent" directory, and
 * everything below a "recursive" one. The root ('') is always a parent.
 */
export interface ConeSpec {
  recursive: Set<string>
  parents: Set<string>
  /** `/*` without `!/*\/`: the cone is the whole tree. */
  everything: boolean
}

/** The file's name below a worktree's git directory. */
export const SPARSE_CHECKOUT_FILE = join('info', 'sparse-checkout')

/** A directory as a cone pattern writes it: the characters a gitignore pattern would take as a glob, escaped. */
export function escapeConeDir(dir: string): string {
  return dir.replace(/[\\*?[]/g, (c) => `\\${c}`)
}

/** A directory from a cone pattern; undefined when an unescaped glob character makes it no directory name. */
function unescapeConeDir(text: string): string | undefined {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (c === '\\') {
      if (i + 1 >= text.length) return undefined
      out += text[++i] as string
    } else if (c === '*' || c === '?' || c === '[') {
      return undefined
    } else {
      out += c
    }
  }
  return out === '' ? undefined : out
}

/** Parses the lines of .git/info/sparse-checkout as cone patterns; undefined when they are not. */
export function parseConePatterns(text: string): ConeSpec | undefined {
  const recursive = new Set<string>()
  const parents = new Set<string>()
  let rootAll = false
  let rootParent = false
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').replace(/(?<!\\)\s+$/, '')
    if (line === '' || line.startsWith('#')) continue
    if (line === '/*') {
      rootAll = true
      continue
    }
    if (line === '!/*/') {
      rootParent = true
      continue
    }
    let m = /^!\/(.+)\/\*\/$/.exec(line)
    if (m !== null) {
      const dir = unescapeConeDir(m[1] as string)
      // git only accepts the negation right after the directory it narrows
      if (dir === undefined || !recursive.delete(dir)) return undefined
      parents.add(dir)
      continue
    }
    m = /^\/(.+)\/$/.exec(line)
    if (m !== null) {
      const dir = unescapeConeDir(m[1] as string)
      if (dir === undefined) return undefined
      recursive.add(dir)
      continue
    }
    return undefined
  }
  if (!rootAll) return undefined
  parents.add('')
  // ancestors of anything in the cone are parents, whether or not the file said so
  for (const dir of [...recursive, ...parents]) {
    for (const p of parentsOf(dir)) parents.add(p)
  }
  return { recursive, parents, everything: !rootParent }
}

/** The leading directories of a slash-separated path, outermost first (not local-changes.ts's: that one imports checkout.ts, which imports this). */
function parentsOf(path: string): string[] {
  const out: string[] = []
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i))
  return out
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * The cone of these directories (slash-separated, relative to the top, normalised):
 * a directory below another one adds nothing, the root adds nothing (its files are
 * always in).
 */
export function coneOf(dirs: Iterable<string>): ConeSpec {
  const all = new Set([...dirs].filter((d) => d !== ''))
  const recursive = new Set<string>()
  for (const d of all) if (!parentsOf(d).some((p) => all.has(p))) recursive.add(d)
  const parents = new Set<string>([''])
  for (const d of recursive) for (const p of parentsOf(d)) parents.add(p)
  return { recursive, parents, everything: false }
}

/** The directories whose whole subtree is in the cone (what `sparse-checkout list` shows), in byte order. */
export function coneDirectories(spec: ConeSpec): string[] {
  return [...spec.recursive].sort(byBytes)
}

/** The file git writes for a cone: the root's files, then each parent's files, then the recursive directories, each group in byte order. */
export function formatConePatterns(spec: ConeSpec): string {
  if (spec.everything) return '/*\n'
  let text = '/*\n!/*/\n'
  for (const p of [...spec.parents].filter((d) => d !== '' && !spec.recursive.has(d)).sort(byBytes)) {
    text += `/${escapeConeDir(p)}/\n!/${escapeConeDir(p)}/*/\n`
  }
  for (const r of coneDirectories(spec)) text += `/${escapeConeDir(r)}/\n`
  return text
}

function underRecursive(spec: ConeSpec, dir: string): boolean {
  if (spec.recursive.has(dir)) return true
  for (let i = dir.lastIndexOf('/'); i > 0; i = dir.lastIndexOf('/', i - 1)) {
    if (spec.recursive.has(dir.slice(0, i))) return true
  }
  return false
}

/** Whether the walk must look inside directory `dir` ('' is the root). */
export function coneWantsDir(spec: ConeSpec, dir: string): boolean {
  return spec.everything || spec.parents.has(dir) || underRecursive(spec, dir)
}

/** Whether the file at `path` is inside the cone. */
export function coneWantsFile(spec: ConeSpec, path: string): boolean {
  if (spec.everything) return true
  const slash = path.lastIndexOf('/')
  const dir = slash < 0 ? '' : path.slice(0, slash)
  return spec.parents.has(dir) || underRecursive(spec, dir)
}

/**
 * coneWantsFile for many paths, deciding once per directory: a path in the directory
 * of the one before (index order keeps a directory's files together) costs a
 * comparison, and no string is made for it.
 */
export function coneFileFilter(spec: ConeSpec): (path: string) => boolean {
  if (spec.everything) return () => true
  // the directory decided last: where its path ends (-1: the root), its path, the answer
  let dirEnd = -2
  let dir = ''
  let wanted = false
  return (path) => {
    const slash = path.lastIndexOf('/')
    if (slash === dirEnd && (slash < 0 || path.startsWith(dir))) return wanted
    dirEnd = slash
    dir = slash < 0 ? '' : path.slice(0, slash)
    wanted = spec.parents.has(dir) || underRecursive(spec, dir)
    return wanted
  }
}

/** What a worktree's configuration and pattern file say about its sparse checkout. */
export type SparseCheckout =
  /** core.sparseCheckout is not true: every path is checked out. */
  | { state: 'off' }
  /** On, but there is no pattern file: git checks out every path then too. */
  | { state: 'no-file' }
  | { state: 'cone'; cone: ConeSpec; text: string; coneConfig: boolean }
  /** Patterns that are not cone patterns, or core.sparseCheckoutCone=false with patterns that are. */
  | { state: 'patterns'; text: string; coneConfig: boolean }

/** The pattern file's text and, when they are cone patterns, their cone; undefined when there is no file. */
export async function readSparsePatterns(gitDir: string): Promise<{ text: string; cone: ConeSpec | undefined } | undefined> {
  let text: string
  try {
    text = await readFile(join(gitDir, SPARSE_CHECKOUT_FILE), 'utf8')
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
  return { text, cone: parseConePatterns(text) }
}

/**
 * Reads the worktree's sparse checkout: core.sparseCheckout and
 * core.sparseCheckoutCone from `config` (config.worktree included, where `git
 * sparse-checkout` keeps them) and the patterns from `<gitDir>/info/sparse-checkout`.
 */
export async function readSparseCheckout(gitDir: string, config: ConfigReader): Promise<SparseCheckout> {
  if (config.getBool('core.sparsecheckout') !== true) return { state: 'off' }
  const file = await readSparsePatterns(gitDir)
  if (file === undefined) return { state: 'no-file' }
  // unset means cone mode, as git 2.39 reads it
  const coneConfig = config.getBool('core.sparsecheckoutcone') !== false
  if (file.cone === undefined) return { state: 'patterns', text: file.text, coneConfig }
  return { state: 'cone', cone: file.cone, text: file.text, coneConfig }
}

/**
 * The cone a checkout or switch honours; undefined when every path is checked out.
 * Cone patterns are honoured even under core.sparseCheckoutCone=false: read as
 * gitignore patterns they select the same paths.
 */
export function checkoutCone(sc: SparseCheckout): ConeSpec | undefined {
  if (sc.state === 'off' || sc.state === 'no-file') return undefined
  if (sc.state === 'cone') return sc.cone.everything ? undefined : sc.cone
  throw new SparseCheckoutError(
    'the sparse-checkout patterns in .git/info/sparse-checkout are not cone-mode patterns; tsgit supports cone mode only ' +
      "(run 'tsgit sparse-checkout set <dir>...' to replace them, or 'tsgit sparse-checkout disable')",
  )
}

/** lstat that answers only "is something there"; a file where a directory was expected means nothing is. */
function present(full: string): boolean {
  try {
    return lstatSync(full, { throwIfNoEntry: false }) !== undefined
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
}

/**
 * git (since 2.37, sparse.expectFilesOutsideOfPatterns unset) takes a skip-worktree
 * entry whose file is in the work tree after all as an ordinary entry again, so the
 * file is compared with the index instead of being overwritten or ignored. Returns the
 * entries with those bits cleared (the same array when none is).
 */
export function clearPresentSkipWorktree(workTree: string, entries: IndexEntry[]): IndexEntry[] {
  // one lstat per missing directory instead of one per entry below it, and the
  // directory decided once for the run of its entries (index order keeps them together)
  const missingDirs = new Set<string>()
  let lastDir: string | undefined
  let dirMissing = false
  let out: IndexEntry[] | undefined
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as IndexEntry
    if (!e.skipWorktree) continue
    const slash = e.path.lastIndexOf('/')
    const dir = slash < 0 ? '' : e.path.slice(0, slash)
    if (dir !== lastDir) {
      lastDir = dir
      dirMissing = dir !== '' && (parentsOf(e.path).some((d) => missingDirs.has(d)) || !present(join(workTree, dir)))
      if (dirMissing) missingDirs.add(dir)
    }
    if (dirMissing) continue
    if (!present(join(workTree, e.path))) continue
    out ??= entries.slice()
    out[i] = { ...e, skipWorktree: false }
  }
  return out ?? entries
}
