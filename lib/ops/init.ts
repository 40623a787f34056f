/**
 * `git init`: a new repository laid out as git 2.39 lays it out (the same code clone
 * uses, lib/repo/repository.ts), or, where one is already, nothing changed but what
 * git changes on a re-init (nothing a repository already has).
 */
import { mkdir, realpath } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { loadConfig } from '../repo/config-load.js'
import { initRepository } from '../repo/repository.js'
import { RepositoryError } from '../errors.js'
import { pathExists } from '../files.js'
import type { OpContext } from './repo-context.js'

export interface InitOptions {
  /** The directory operand (created with its parents when missing); undefined: the current directory. */
  directory?: string
  bare?: boolean
  /** -b/--initial-branch. */
  initialBranch?: string
}

export interface InitResult {
  /** The git directory, as git names it in "Initialized empty Git repository in <gitDir>/". */
  gitDir: string
  reinitialized: boolean
  /** A re-init ignores -b: git warns about it. */
  ignoredInitialBranch?: string
  /** The branch came from git's built-in default: git 2.39 advises choosing one (advice.defaultBranchName or not). */
  adviseDefaultBranch: boolean
}

/**
 * Whether `GIT_DIR=<dir> git init` (no --bare, no GIT_WORK_TREE) makes a bare
 * repository: git guesses yes unless the directory is named `.git`, and always when it
 * is the current directory.
 */
function guessBare(gitDirSpec: string, gitDir: string, cwd: string): boolean {
  if (gitDirSpec === '.' || gitDir === cwd) return true
  return basename(gitDirSpec) !== '.git'
}

export async function initRepo(ctx: OpContext, options: InitOptions): Promise<InitResult> {
  let cwd = ctx.cwd
  if (options.directory !== undefined) {
    cwd = resolve(cwd, options.directory)
    await mkdir(cwd, { recursive: true })
  }
  cwd = await realpath(cwd)
  const envGitDir = ctx.env.GIT_DIR !== undefined && ctx.env.GIT_DIR !== '' ? ctx.env.GIT_DIR : undefined
  const envWorkTree = ctx.env.GIT_WORK_TREE !== undefined && ctx.env.GIT_WORK_TREE !== '' ? ctx.env.GIT_WORK_TREE : undefined
  let gitDir: string
  let bare: boolean
  let workTree: string | undefined
  if (envGitDir !== undefined) {
    gitDir = resolve(cwd, envGitDir)
    bare = options.bare === true || (envWorkTree === undefined && guessBare(envGitDir, gitDir, cwd))
    workTree = bare ? undefined : envWorkTree !== undefined ? resolve(cwd, envWorkTree) : dirname(gitDir)
    if (workTree !== undefined && !(await pathExists(workTree))) throw new RepositoryError(`Cannot access work tree '${workTree}': No such file or directory`)
  } else {
    bare = options.bare === true
    gitDir = bare ? cwd : join(cwd, '.git')
    workTree = bare ? undefined : envWorkTree !== undefined ? resolve(cwd, envWorkTree) : cwd
  }
  // git's test for an existing repository: it has a HEAD
  const reinitialized = await pathExists(join(gitDir, 'HEAD'))
  const config = await loadConfig({ env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
  const configured = config.getString('init.defaultbranch')
  const branch = options.initialBranch ?? (configured !== undefined && configured !== '' ? configured : undefined)
  const location = await initRepository(bare ? gitDir : dirname(gitDir), {
    bare,
    initialBranch: reinitialized ? undefined : branch,
    gitDir,
    refreshConfig: true,
    config: (file) => {
      // a work tree that is not the git directory's parent is recorded, as git does
      if (workTree !== undefined && workTree !== dirname(gitDir)) file.set('core.worktree', workTree)
    },
  })
  return {
    gitDir: await realpath(location.gitDir),
    reinitialized,
    ignoredInitialBranch: reinitialized ? options.initialBranch : undefined,
    adviseDefaultBranch: !reinitialized && branch === undefined,
  }
}
