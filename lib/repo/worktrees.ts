/**
 * The worktrees of a repository, as `git worktree list` knows them: the main one (the
 * common directory's own HEAD) and the linked ones under `<commonDir>/worktrees/<id>`,
 * each with a `gitdir` file naming its `.git` file. Enough to refuse, as git does, to
 * check out a branch that another worktree has checked out.
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { isNotFound } from '../errors.js'

export interface WorktreeHead {
  /** The worktree's directory. */
  path: string
  /** Its git directory (the common directory for the main worktree). */
  gitDir: string
  /** What its HEAD points at when HEAD is a symbolic ref, e.g. refs/heads/main. */
  symref: string | undefined
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

function symrefOf(head: string | undefined): string | undefined {
  const m = head === undefined ? null : /^ref: (\S+)\s*$/.exec(head)
  return m === null ? undefined : m[1]
}

/** Every worktree with a readable HEAD; the main one first unless the repository is bare. */
export async function worktreeHeads(commonDir: string, mainIsBare: boolean): Promise<WorktreeHead[]> {
  const out: WorktreeHead[] = []
  if (!mainIsBare) {
    const path = basename(commonDir) === '.git' ? dirname(commonDir) : commonDir
    out.push({ path, gitDir: resolve(commonDir), symref: symrefOf(await readOptional(join(commonDir, 'HEAD'))) })
  }
  let ids: string[] = []
  try {
    ids = await readdir(join(commonDir, 'worktrees'))
  } catch (e) {
    if (!isNotFound(e)) throw e
  }
  for (const id of ids.sort()) {
    const gitDir = resolve(commonDir, 'worktrees', id)
    const dotGit = (await readOptional(join(gitDir, 'gitdir')))?.replace(/\r?\n$/, '')
    const head = await readOptional(join(gitDir, 'HEAD'))
    if (dotGit === undefined || dotGit === '' || head === undefined) continue
    out.push({ path: dirname(resolve(gitDir, dotGit)), gitDir, symref: symrefOf(head) })
  }
  return out
}

/** The directory of another worktree (not the one at `gitDir`) that has `ref` checked out. */
export async function checkedOutElsewhere(commonDir: string, gitDir: string, mainIsBare: boolean, ref: string): Promise<string | undefined> {
  const self = resolve(gitDir)
  for (const wt of await worktreeHeads(commonDir, mainIsBare)) {
    if (wt.gitDir !== self && wt.symref === ref) return wt.path
  }
  return undefined
}
