/**
 * $GIT_DIR/shallow: in a shallow clone (`git clone --depth`), the commits whose
 * parents the repository does not have, one hex id per line. git grafts them: every
 * history walk sees them as commits without parents, so nothing reads past them, and
 * in a partial clone nothing lazily fetches the history behind them (a want of such a
 * parent, with no haves, would bring the whole history in).
 *
 * `tsgit clone --depth` writes it, as git does: the ids sorted, one per line.
 */
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { RepositoryError, isNotFound } from '../errors.js'
import { LockFile, writeFileAtomic } from './lock.js'

const HEX_ID = /^[0-9a-f]{40}$/

/** The shallow commits of the repository at `gitDir`; empty when it is not shallow. */
export function readShallow(gitDir: string): ReadonlySet<string> {
  let text: string
  try {
    text = readFileSync(join(gitDir, 'shallow'), 'latin1')
  } catch (e) {
    if (isNotFound(e)) return new Set()
    throw e
  }
  const ids = new Set<string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    // git: "bad shallow line"
    if (!HEX_ID.test(line)) throw new RepositoryError(`bad shallow line: ${line}`)
    ids.add(line)
  }
  return ids
}

/**
 * Writes $GIT_DIR/shallow (through its lock file) with these commits, sorted as git writes
 * them; none left (a fetch --unshallow) removes the file, under its lock, as git does.
 */
export async function writeShallow(gitDir: string, commits: Iterable<string>): Promise<void> {
  const ids = [...new Set(commits)].sort()
  for (const id of ids) if (!HEX_ID.test(id)) throw new RepositoryError(`bad shallow commit id: ${id}`)
  const path = join(gitDir, 'shallow')
  if (ids.length > 0) return writeFileAtomic(path, ids.map((id) => `${id}\n`).join(''))
  const lock = await LockFile.acquire(path)
  try {
    await rm(path, { force: true })
  } finally {
    await lock.rollback()
  }
}
