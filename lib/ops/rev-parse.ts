/**
 * `git rev-parse`, the part scripts use: revisions to ids (abbreviated with --short,
 * as ref names with --abbrev-ref or --symbolic-full-name), --verify, and where the
 * repository is (--git-dir, --show-toplevel, --is-inside-work-tree, ...). Arguments
 * are taken in order, as git takes them: what the location options print comes
 * between the revisions around it.
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { RepositoryError, TsgitError, UsageError } from '../errors.js'
import { pathExists } from '../files.js'
import type { Oid } from '../oid.js'
import { abbreviate, defaultAbbrevLength, MIN_ABBREV } from '../rev/abbrev.js'
import { RevisionError, dwimRef, dwimRefNames, resolveRevision } from '../rev/parse.js'
import { shortenRef } from '../rev/short-ref.js'
import type { RepoContext } from './repo-context.js'

export interface RevParseOptions {
  /** The words after `rev-parse`, in order. */
  args: readonly string[]
  /** Where the command runs (after -C). */
  cwd: string
  /** stdout, a line at a time. */
  write(text: string): void | Promise<void>
  /** An `error: ` line on stderr (what git says before it gives up on a revision). */
  error(message: string): void
  /** A `warning: ` line on stderr (a ref name more than one ref answers to). */
  warn(message: string): void
}

/** `--verify` without a single revision: git's fatal (with -q, exit 1 and nothing said). */
export class NeedSingleRevisionError extends TsgitError {
  readonly quiet: boolean
  constructor(quiet: boolean) {
    super('E_BAD_REVISION', 'Needed a single revision', quiet ? { exitCode: 1 } : {})
    this.quiet = quiet
  }
}

const AMBIGUOUS = (arg: string): string =>
  `ambiguous argument '${arg}': unknown revision or path not in the working tree.\nUse '--' to separate paths from revisions, like this:\n'git <command> [<revision>...] -- [<file>...]'`

/** What `--git-dir` prints: GIT_DIR as given, `.git` or `.` from the top, else the absolute path. */
function gitDirText(rc: RepoContext, cwd: string): string {
  const env = rc.env.GIT_DIR
  if (env !== undefined && env !== '') return env
  const { gitDir, workTree } = rc.repo
  if (gitDir === cwd) return '.'
  if (workTree !== undefined && workTree === cwd && gitDir === join(workTree, '.git')) return '.git'
  return gitDir
}

function inside(dir: string, cwd: string): boolean {
  const rel = relative(dir, cwd)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/** How many refs the DWIM rules find for `name`. */
async function refsNamed(rc: RepoContext, name: string): Promise<number> {
  let n = 0
  for (const candidate of dwimRefNames(name)) {
    if (!candidate.startsWith('refs/') && !/^[A-Z_]+$/.test(candidate)) continue
    try {
      if ((await rc.repo.refs.resolve(candidate)) !== undefined) n++
    } catch {
      // not a ref name at all
    }
  }
  return n
}

type Mode = 'oid' | 'abbrev-ref' | 'symbolic-full-name'

/** Runs rev-parse; resolves to the exit code: 0, or 1 for `--verify -q` without a single revision. Throws git's fatal errors. */
export async function revParse(rc: RepoContext, options: RevParseOptions): Promise<number> {
  try {
    return await parseAndShow(rc, options)
  } catch (e) {
    if (e instanceof NeedSingleRevisionError && e.quiet) return 1
    throw e
  }
}

async function parseAndShow(rc: RepoContext, options: RevParseOptions): Promise<number> {
  const { repo, store } = rc
  const { cwd } = options
  const ctx = { refs: repo.refs, store }
  const args = options.args
  const hasDashDash = args.includes('--')
  let verify = false
  let quiet = false
  let abbrev = 0
  let mode: Mode = 'oid'
  let strict = true
  let asIs = false
  // after a name that is a file and no revision, every word must be a file too
  let paths = false
  const warnAmbiguous = repo.config.getBool('core.warnambiguousrefs', true)
  const verified: { spec: string; oid: Oid }[] = []

  const show = async (spec: string, oid: Oid): Promise<void> => {
    if (mode === 'oid') {
      await options.write(`${abbrev > 0 && abbrev < 40 ? await abbreviate(store, oid, abbrev) : oid}\n`)
      return
    }
    // a ref name only: other revisions (an id, HEAD~1, main^{commit}) print nothing
    const found = /^[0-9a-f]{40}$/.test(spec) ? undefined : await dwimRef(repo.refs, spec)
    if (found === undefined) return
    // a symbolic ref (HEAD, origin/HEAD) stands for the ref it points to
    const full = await repo.refs.resolveName(found.ref)
    await options.write(`${mode === 'abbrev-ref' ? await shortenRef(repo.refs, full, strict) : full}\n`)
  }

  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (asIs) {
      if (!verify) await options.write(`${arg}\n`)
      if (paths && !verify && !(await pathExists(resolve(cwd, arg)))) {
        throw new TsgitError('E_BAD_REVISION', `${arg}: no such path in the working tree.\nUse 'git <command> -- <path>...' to specify paths that do not exist locally.`)
      }
      continue
    }
    if (arg === '--') {
      asIs = true
      if (!verify) await options.write('--\n')
      continue
    }
    if (arg.startsWith('-') && arg !== '-') {
      if (arg === '--verify') verify = true
      else if (arg === '-q' || arg === '--quiet') quiet = true
      else if (arg === '--short' || arg.startsWith('--short=')) {
        verify = true
        const n = arg === '--short' ? await defaultAbbrevLength(repo.config, store) : Number(arg.slice('--short='.length))
        if (!Number.isInteger(n)) throw new UsageError(`invalid value for '--short': '${arg.slice('--short='.length)}'`)
        abbrev = Math.max(MIN_ABBREV, Math.min(40, n))
      } else if (arg === '--abbrev-ref' || arg === '--abbrev-ref=strict' || arg === '--abbrev-ref=loose') {
        mode = 'abbrev-ref'
        strict = arg === '--abbrev-ref=loose' ? false : repo.config.getBool('core.warnambiguousrefs', true)
      } else if (arg === '--symbolic-full-name') mode = 'symbolic-full-name'
      else if (arg === '--git-dir') await options.write(`${gitDirText(rc, cwd)}\n`)
      else if (arg === '--absolute-git-dir') await options.write(`${repo.gitDir}\n`)
      else if (arg === '--show-toplevel') {
        if (repo.workTree === undefined) throw new RepositoryError('this operation must be run in a work tree')
        await options.write(`${repo.workTree}\n`)
      } else if (arg === '--is-inside-work-tree') await options.write(`${repo.workTree !== undefined && inside(repo.workTree, cwd) && !inside(repo.gitDir, cwd)}\n`)
      else if (arg === '--show-prefix' || arg === '--show-cdup') {
        const rel = repo.workTree !== undefined && inside(repo.workTree, cwd) ? relative(repo.workTree, cwd).split(sep).join('/') : undefined
        const depth = rel === undefined || rel === '' ? 0 : rel.split('/').length
        // outside a work tree git prints an empty prefix and no cdup at all
        if (arg === '--show-prefix') await options.write(`${rel === undefined || rel === '' ? '' : `${rel}/`}\n`)
        else if (repo.workTree !== undefined) await options.write(`${'../'.repeat(depth)}\n`)
      } else if (arg === '--is-inside-git-dir') await options.write(`${inside(repo.gitDir, cwd)}\n`)
      else if (arg === '--is-bare-repository') await options.write(`${repo.workTree === undefined && repo.config.getBool('core.bare', false)}\n`)
      else if (arg === '--is-shallow-repository') await options.write(`${repo.shallow.size > 0}\n`)
      else throw new UsageError(`unknown option '${arg}'`)
      continue
    }
    let oid: Oid
    try {
      oid = await resolveRevision(ctx, arg)
    } catch (e) {
      if (!(e instanceof RevisionError)) throw e
      const typeMismatch = / type, but the object dereferences to /.test(e.message)
      if (verify) {
        if (typeMismatch) options.error(e.message)
        throw new NeedSingleRevisionError(quiet)
      }
      if (hasDashDash) throw new TsgitError('E_BAD_REVISION', `bad revision '${arg}'`)
      // not a revision: git takes it, and what follows, as a path when there is one
      await options.write(`${arg}\n`)
      if (await pathExists(resolve(cwd, arg))) {
        asIs = true
        paths = true
        continue
      }
      if (typeMismatch) {
        // git tries the name twice before it gives up, and says so each time
        options.error(e.message)
        options.error(e.message)
      }
      throw new TsgitError('E_BAD_REVISION', e.message.startsWith('path ') ? e.message : AMBIGUOUS(arg))
    }
    if (warnAmbiguous) {
      const base = /^[^~^:]+/.exec(arg)?.[0]
      if (base !== undefined && !/^[0-9a-f]{40}$/.test(base) && (await refsNamed(rc, base)) > 1) options.warn(`refname '${base}' is ambiguous.`)
    }
    if (verify) verified.push({ spec: arg, oid })
    else await show(arg, oid)
  }
  if (verify) {
    const only = verified.length === 1 ? verified[0] : undefined
    if (only === undefined) throw new NeedSingleRevisionError(quiet)
    await show(only.spec, only.oid)
  }
  return 0
}
