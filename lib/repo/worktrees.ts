/**
 * The worktrees of a repository, as `git worktree list` knows them: the main one (the
 * common directory's own HEAD) and the linked ones under `<commonDir>/worktrees/<id>`,
 * each with a `gitdir` file naming its `.git` file. Enough to refuse, as git does, to
 * check out a branch that another worktree has checked out.
 */
import { readdir } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { isNotFound } from '../errors.js'
import { readTextIfPresent } from '../files.js'

export interface WorktreeHead {
  /** The worktree's directory. */
  path: string
  /** Its git directory (the common directory for the main worktree). */
  gitDir: string
  /** The name git gives its HEAD among all worktrees': main-worktree/HEAD, worktrees/<id>/HEAD. */
  headName: string
  /** What its HEAD points at when HEAD is a symbolic ref, e.g. refs/heads/main. */
  symref: string | undefined
  /** The commit a detached HEAD holds. */
  detached: string | undefined
}


function headOf(content: string): { symref: string | undefined; detached: string | undefined } {
  const ref = /^ref: (\S+)\s*$/.exec(content)
  const oid = /^([0-9a-f]{40})\s*$/.exec(content)
  return { symref: ref?.[1], detached: oid?.[1] }
}

/** Every worktree with a readable HEAD; the main one first unless it is bare (git does not count a bare one as checked out). */
export async function worktreeHeads(commonDir: string, mainIsBare: boolean): Promise<WorktreeHead[]> {
  const out: WorktreeHead[] = []
  const mainHead = mainIsBare ? undefined : await readTextIfPresent(join(commonDir, 'HEAD'))
  if (mainHead !== undefined) {
    const path = basename(commonDir) === '.git' ? dirname(commonDir) : commonDir
    out.push({ path, gitDir: resolve(commonDir), headName: 'main-worktree/HEAD', ...headOf(mainHead) })
  }
  let ids: string[] = []
  try {
    ids = await readdir(join(commonDir, 'worktrees'))
  } catch (e) {
    if (!isNotFound(e)) throw e
  }
  for (const id of ids.sort()) {
    const gitDir = resolve(commonDir, 'worktrees', id)
    const dotGit = (await readTextIfPresent(join(gitDir, 'gitdir')))?.replace(/\r?\n$/, '')
    const head = await readTextIfPresent(join(gitDir, 'HEAD'))
    if (dotGit === undefined || dotGit === '' || head === undefined) continue
    out.push({ path: dirname(resolve(gitDir, dotGit)), gitDir, headName: `worktrees/${id}/HEAD`, ...headOf(head) })
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
