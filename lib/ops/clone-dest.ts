/**
 * Where a clone goes, decided the way git decides: the directory named on the
 * command line, or one derived from the URL; it may exist only if it is empty.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { RepositoryError } from '../errors.js'

/** git's guess of a directory name: last path component, without a trailing "/.git" or ".git". */
export function directoryFromUrl(url: string, bare: boolean): string {
  let s = url.replace(/[/\\]+$/, '')
  s = s.replace(/\/\.git$/, '')
  s = s.replace(/[/\\]+$/, '')
  // scp-like host:path and URLs: take what follows the last '/' or ':'
  let name = s.slice(Math.max(s.lastIndexOf('/'), s.lastIndexOf(':')) + 1)
  if (name.endsWith('.git')) name = name.slice(0, -4)
  if (name === '' || name === '.' || name === '..') name = basename(resolve(s)) || 'repo'
  return bare ? `${name}.git` : name
}

export interface Destination {
  path: string
  /** True if the clone created the directory (so a failed clone removes it); false if it existed empty. */
  created: boolean
}

/**
 * Checks or creates the destination. Synchronous calls: this runs before the first
 * request, and the first call through the thread pool starts its threads (~5 ms here),
 * which can as well happen while the request is out.
 */
export async function prepareDestination(path: string): Promise<Destination> {
  const st = statSync(path, { throwIfNoEntry: false })
  if (st !== undefined) {
    if (!st.isDirectory() || !(readdirSync(path).length === 0 || cloneDebris(path))) {
      throw new RepositoryError(`destination path '${path}' already exists and is not an empty directory.`)
    }
    return { path, created: false }
  }
  mkdirSync(path, { recursive: true })
  return { path, created: true }
}

/**
 * What a clone killed before its repository's config was written leaves: a `.git` with
 * no config and no HEAD, the only thing in the directory (no git repository looks like
 * that). Removed, so the same clone command can start again.
 */
function cloneDebris(path: string): boolean {
  const names = readdirSync(path)
  if (names.length !== 1 || names[0] !== '.git') return false
  const gitDir = join(path, '.git')
  if (!statSync(gitDir).isDirectory()) return false
  if (statSync(join(gitDir, 'config'), { throwIfNoEntry: false }) !== undefined) return false
  if (statSync(join(gitDir, 'HEAD'), { throwIfNoEntry: false }) !== undefined) return false
  rmSync(gitDir, { recursive: true, force: true })
  return true
}

/** Undoes a failed clone: removes the directory it created, or empties the one it was given. */
export async function removeDestination(dest: Destination): Promise<void> {
  if (dest.created) {
    await rm(dest.path, { recursive: true, force: true })
    return
  }
  for (const name of await readdir(dest.path)) await rm(resolve(dest.path, name), { recursive: true, force: true })
}
