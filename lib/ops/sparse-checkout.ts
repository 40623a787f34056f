/**
 * `sparse-checkout init|set|add|reapply|list|disable`, cone mode only, writing what
 * git 2.39 writes: the patterns in `$GIT_DIR/info/sparse-checkout` (through its lock),
 * core.sparseCheckout and core.sparseCheckoutCone in the worktree's config.worktree
 * with extensions.worktreeConfig turned on, and the work tree and index brought in
 * line (lib/worktree/sparse-apply.ts), the blobs that come in fetched in one request
 * in a partial clone. Directories are checked and normalised as git checks them
 * (no leading slash, no glob, no file of the index) unless --skip-checks.
 *
 * Deviations: non-cone (pattern) mode, --no-cone and a sparse index (--sparse-index)
 * are refused; see tsgit-sparse-checkout(1).
 */
import { mkdir, realpath } from 'node:fs/promises'
import { join, posix, relative, sep } from 'node:path'
import { RepositoryError } from '../errors.js'
import { parseCommit } from '../odb/objects.js'
import { unquotePath } from '../odb/alternates.js'
import type { Oid } from '../oid.js'
import { editConfigFile } from '../repo/config-load.js'
import { LockFile } from '../repo/lock.js'
import type { Repository } from '../repo/repository.js'
import { readIndexFile } from '../worktree/index-file.js'
import {
  SPARSE_CHECKOUT_FILE, SparseCheckoutError, coneDirectories, coneOf, formatConePatterns, parseConePatterns, readSparseCheckout, readSparsePatterns,
  type ConeSpec, type SparseCheckout,
} from '../worktree/sparse.js'
import { updateSparsity, type SparsityResult } from '../worktree/sparse-apply.js'
import { quotePath } from './cat-file.js'
import { conversionLoader } from './eol-conversion.js'
import { openRepoContext, type OpContext, type RepoContext } from './repo-context.js'

export { SparseCheckoutError } from '../worktree/sparse.js'

export type SparseCheckoutCommand = 'init' | 'set' | 'add' | 'reapply' | 'list' | 'disable'

export interface SparseCheckoutOptions {
  /** set, add: the directories, relative to ctx.cwd. */
  directories?: string[]
  /** --cone (true) or --no-cone (false, refused); undefined keeps the mode in use. */
  cone?: boolean
  /** --sparse-index (true, refused) or --no-sparse-index (false: index.sparse=false). */
  sparseIndex?: boolean
  /** --skip-checks: take the directories as given (globs, a leading '!', names of files). */
  skipChecks?: boolean
  /** false: --no-lazy-fetch. */
  lazyFetch?: boolean
}

export interface SparseCheckoutResult {
  /** list: the lines to print (directories C-quoted where git quotes them). */
  lines: string[]
  /** What the work tree update did (set, add, init, reapply, disable). */
  update?: SparsityResult
}

/** The root's files, and nothing below: what `init` and `clone --sparse` start from. */
export const ROOT_ONLY_PATTERNS = '/*\n!/*/\n'

const GLOB = /[*?[\]]/

/** Lines of `sparse-checkout set --stdin`: one directory each, C-quoted when it starts with a double quote. */
export function directoriesFromInput(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '')
    .map((l) => (l.startsWith('"') ? unquotePath(l) : l))
}

/**
 * git's checks and normalisation of a directory argument in cone mode: relative to
 * `prefix` (the current directory below the top of the work tree), `.` and `..` and
 * repeated slashes resolved, no trailing slash.
 */
export function normalizeConeDirectory(arg: string, prefix: string, skipChecks: boolean): string {
  if (!skipChecks) {
    if (arg.startsWith('/')) throw new SparseCheckoutError('specify directories rather than patterns (no leading slash)')
    if (arg.startsWith('!')) throw new SparseCheckoutError("specify directories rather than patterns.  If your directory starts with a '!', pass --skip-checks")
    if (GLOB.test(arg)) throw new SparseCheckoutError("specify directories rather than patterns.  If your directory really has any of '*?[]\\' in it, pass --skip-checks")
  }
  if (arg.includes('\n')) throw new SparseCheckoutError(`a directory name with a newline cannot be written as a pattern: ${JSON.stringify(arg)}`)
  const parts: string[] = []
  for (const part of `${prefix}/${arg}`.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.length === 0) throw new SparseCheckoutError(`could not normalize path ${arg}`)
      parts.pop()
      continue
    }
    parts.push(part)
  }
  return parts.join('/')
}

/**
 * Turns on extensions.worktreeConfig, as git does before it first writes a worktree's
 * config.worktree (moving core.worktree there, so other worktrees do not inherit it),
 * and returns this worktree's config.worktree.
 */
export async function enableWorktreeConfig(repo: Repository): Promise<string> {
  const moved = await editConfigFile(
    join(repo.commonDir, 'config'),
    (f) => {
      const on = f.get('extensions.worktreeconfig')
      if (on === 'true' || on === null) return { write: false, worktree: undefined }
      f.set('extensions.worktreeConfig', 'true')
      const worktree = f.get('core.worktree')
      if (typeof worktree === 'string') f.unsetAll('core.worktree')
      return { write: true, worktree: typeof worktree === 'string' ? worktree : undefined }
    },
    (r) => r.write,
  )
  if (moved.worktree !== undefined) {
    const worktree = moved.worktree
    await editConfigFile(join(repo.commonDir, 'config.worktree'), (f) => f.set('core.worktree', worktree))
  }
  return join(repo.gitDir, 'config.worktree')
}

/** Writes core.sparseCheckout and core.sparseCheckoutCone (and index.sparse, when given) where git writes them. */
export async function writeSparseConfig(repo: Repository, settings: { enabled: boolean; cone: boolean; sparseIndex?: boolean }): Promise<void> {
  const path = await enableWorktreeConfig(repo)
  await editConfigFile(path, (f) => {
    f.set('core.sparseCheckout', String(settings.enabled))
    f.set('core.sparseCheckoutCone', String(settings.cone))
    if (settings.sparseIndex !== undefined) f.set('index.sparse', String(settings.sparseIndex))
  })
}

/**
 * `clone --sparse`: the sparse checkout `sparse-checkout init` makes (the root's files
 * only), set up before the clone's checkout; a pattern file already there is kept.
 */
export async function initCloneSparseCheckout(repo: Repository): Promise<void> {
  await writeSparseConfig(repo, { enabled: true, cone: true })
  await mkdir(join(repo.gitDir, 'info'), { recursive: true })
  const lock = await LockFile.acquire(join(repo.gitDir, SPARSE_CHECKOUT_FILE))
  try {
    if ((await readSparsePatterns(repo.gitDir)) !== undefined) return
    await lock.write(ROOT_ONLY_PATTERNS)
    await lock.commit()
  } finally {
    await lock.rollback()
  }
}

/** Where `cwd` is below the top of the work tree, slash-separated ('' at the top or outside it). */
async function prefixOf(workTree: string, cwd: string): Promise<string> {
  const rel = relative(await realpath(workTree), await realpath(cwd).catch(() => cwd))
  if (rel === '' || rel.startsWith('..') || posix.isAbsolute(rel)) return ''
  return rel.split(sep).join('/')
}

/** The warnings git prints after a sparsity update, in its words. */
function reportUpdate(rc: RepoContext, r: SparsityResult): void {
  const list = (paths: string[]): string => paths.map((p) => `\t${p}\n`).join('')
  const after = '\nAfter fixing the above paths, you may want to run `tsgit sparse-checkout reapply`.'
  if (r.notUptodate.length > 0) rc.sink.warn(`The following paths are not up to date and were left despite sparse patterns:\n${list(r.notUptodate)}${after}`)
  if (r.unmerged.length > 0) rc.sink.warn(`The following paths are unmerged and were left despite sparse patterns:\n${list(r.unmerged)}${after}`)
  if (r.blocked.length > 0) rc.sink.warn(`The following paths were already present and thus not updated despite sparse patterns:\n${list(r.blocked)}${after}`)
  for (const d of r.untrackedDirs) rc.sink.warn(`directory '${d}' contains untracked files, but is not in the sparse-checkout cone`)
}

/** HEAD's commit and tree, when HEAD points at a commit. */
async function headTree(rc: RepoContext): Promise<{ tree: Oid; commit: Oid } | undefined> {
  const commit = await rc.repo.refs.resolve('HEAD')
  if (commit === undefined) return undefined
  return { tree: parseCommit((await rc.store.read(commit)).data).tree, commit }
}

/** Applies `cone` (undefined: every path) to the work tree and index, with the repository's own settings. */
async function update(rc: RepoContext, workTree: string, cone: ConeSpec | undefined): Promise<SparsityResult> {
  const { repo, store } = rc
  const head = await headTree(rc)
  const r = await updateSparsity(
    { reader: store, workTree, gitDir: repo.gitDir, progress: rc.sink, signal: rc.signal },
    cone?.everything === true ? undefined : cone,
    {
      symlinks: repo.config.getBool('core.symlinks', true),
      fileMode: repo.config.getBool('core.filemode', true),
      trustCtime: repo.config.getBool('core.trustctime', true),
      ...(head !== undefined ? { head } : {}),
      conversion: conversionLoader({ reader: store, config: repo.config, commonDir: repo.commonDir, workTree, env: rc.env }),
    },
  )
  reportUpdate(rc, r)
  return r
}

function nonConeRefused(what: string): SparseCheckoutError {
  return new SparseCheckoutError(`${what}: tsgit supports cone-mode sparse checkouts only (directories, not patterns); run 'tsgit sparse-checkout set --cone <dir>...' to switch to cone mode`)
}

/** The cone in use, which add and reapply build on (undefined: no pattern file, every path); `coneGiven`: --cone. */
function currentCone(sc: SparseCheckout, command: 'add' | 'reapply', coneGiven: boolean): ConeSpec | undefined {
  if (sc.state === 'off') throw new SparseCheckoutError(command === 'add' ? 'no sparse-checkout to add to' : 'must be in a sparse-checkout to reapply sparsity patterns')
  if (sc.state === 'no-file') {
    if (command === 'add') throw new SparseCheckoutError('unable to load existing sparse-checkout patterns')
    return undefined
  }
  if (sc.state === 'patterns') {
    if (command === 'add' && sc.coneConfig) throw new SparseCheckoutError('existing sparse-checkout patterns do not use cone mode')
    throw nonConeRefused('the sparse-checkout patterns are not cone patterns')
  }
  if (!sc.coneConfig && !coneGiven) throw nonConeRefused('core.sparseCheckoutCone is false')
  return sc.cone
}

/** Whether `path` is a file (any entry) of the index: git refuses it as a directory. */
async function indexFiles(gitDir: string): Promise<Set<string>> {
  const index = await readIndexFile(join(gitDir, 'index'))
  return new Set((index?.entries ?? []).map((e) => e.path))
}

export async function sparseCheckout(ctx: OpContext, command: SparseCheckoutCommand, options: SparseCheckoutOptions = {}): Promise<SparseCheckoutResult> {
  const rc = await openRepoContext(ctx, { lazyFetch: options.lazyFetch })
  try {
    const { repo } = rc
    const workTree = repo.workTree
    if (workTree === undefined) throw new RepositoryError('this operation must be run in a work tree')
    const sc = await readSparseCheckout(repo.gitDir, repo.config)

    if (command === 'list') {
      if (sc.state === 'off') throw new SparseCheckoutError('this worktree is not sparse')
      if (sc.state === 'no-file') {
        rc.sink.warn('this worktree is not sparse (sparse-checkout file may not exist)')
        return { lines: [] }
      }
      if (sc.state === 'cone' && sc.coneConfig) return { lines: coneDirectories(sc.cone).map((d) => quotePath(Buffer.from(d, 'utf8'))) }
      if (sc.coneConfig) rc.sink.warn('disabling cone pattern matching')
      return { lines: sc.text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '' && !l.startsWith('#')) }
    }

    if (options.cone === false) throw nonConeRefused('--no-cone')
    if (options.sparseIndex === true) throw new SparseCheckoutError('--sparse-index: tsgit reads and writes full indexes only, not sparse ones')
    const enabled = sc.state !== 'off'

    if (command === 'disable') {
      const r = await update(rc, workTree, undefined)
      await writeSparseConfig(repo, { enabled: false, cone: false, sparseIndex: false })
      return { lines: [], update: r }
    }

    // git keeps the mode in use unless told, and records it when sparse checkout was off
    if (enabled && sc.state !== 'no-file' && !sc.coneConfig && options.cone !== true) throw nonConeRefused('core.sparseCheckoutCone is false')
    // what add and reapply build on is checked before anything is written, as git checks it
    const base = command === 'add' || command === 'reapply' ? currentCone(sc, command, options.cone === true) : undefined
    const recordMode = options.cone !== undefined || !enabled
    // git records the mode first: a set whose directories are then refused leaves it on (with no patterns: every file checked out)
    if (command !== 'add' && (recordMode || options.sparseIndex === false)) {
      await writeSparseConfig(repo, { enabled: true, cone: true, ...(options.sparseIndex === false ? { sparseIndex: false } : {}) })
    }

    let cone: ConeSpec | undefined
    let text: string | undefined
    if (command === 'reapply') {
      cone = base
    } else if (command === 'init') {
      // an existing pattern file is kept, as git's init keeps it
      if (sc.state === 'patterns') throw nonConeRefused('the existing sparse-checkout patterns are not cone patterns')
      const existing = sc.state === 'cone' ? sc.cone : sc.state === 'off' ? await existingCone(repo.gitDir) : undefined
      if (existing !== undefined) cone = existing
      else {
        text = ROOT_ONLY_PATTERNS
        cone = parseConePatterns(text)
      }
    } else {
      const prefix = await prefixOf(workTree, ctx.cwd)
      const skipChecks = options.skipChecks === true
      const dirs = (options.directories ?? []).map((d) => normalizeConeDirectory(d, prefix, skipChecks))
      if (!skipChecks) {
        const files = await indexFiles(repo.gitDir)
        const file = dirs.find((d) => files.has(d))
        if (file !== undefined) throw new SparseCheckoutError(`'${file}' is not a directory; to treat it as a directory anyway, rerun with --skip-checks`)
      }
      cone = coneOf([...(base !== undefined && !base.everything ? coneDirectories(base) : []), ...dirs])
      text = formatConePatterns(cone)
    }

    // The pattern file is locked before anything changes and written last: a failed
    // update leaves the patterns that were in use.
    await mkdir(join(repo.gitDir, 'info'), { recursive: true })
    const lock = await LockFile.acquire(join(repo.gitDir, SPARSE_CHECKOUT_FILE))
    try {
      const r = await update(rc, workTree, cone)
      if (text !== undefined) {
        await lock.write(text)
        await lock.commit()
      }
      return { lines: [], update: r }
    } finally {
      await lock.rollback()
    }
  } finally {
    await rc.store.close()
  }
}

/** The cone of a pattern file left by an earlier sparse checkout (sparse checkout now off). */
async function existingCone(gitDir: string): Promise<ConeSpec | undefined> {
  const file = await readSparsePatterns(gitDir)
  if (file !== undefined && file.cone === undefined) throw nonConeRefused('the existing sparse-checkout patterns are not cone patterns')
  return file?.cone
}
