/**
 * A clone from a plain local path (no scheme, no `host:`) must name a repository, as
 * git checks before it prints "Cloning into" or creates anything: a git directory at
 * the path (or at `<path>/.git`, `<path>.git`, `<path>.git/.git`), or a file there (a
 * bundle). Otherwise git's `repository '<path>' does not exist`, the path as given.
 */
import { lstatSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { RepositoryError } from '../errors.js'

/** Whether `dir` looks like a git directory: a HEAD file and an objects directory. */
function isGitDirectory(dir: string): boolean {
  const st = (p: string): ReturnType<typeof statSync> | undefined => statSync(p, { throwIfNoEntry: false })
  return st(join(dir, 'HEAD'))?.isFile() === true && st(join(dir, 'objects'))?.isDirectory() === true
}

/** Throws git's error when `url` is a plain local path that names no repository. */
export function assertLocalSource(url: string, cwd: string): void {
  if (url.includes(':') || url === '') return
  const path = resolve(cwd, url)
  for (const dir of [join(path, '.git'), path, join(`${path}.git`, '.git'), `${path}.git`]) if (isGitDirectory(dir)) return
  for (const file of [`${path}.bundle`, path]) if (lstatSync(file, { throwIfNoEntry: false })?.isFile() === true) return
  throw new RepositoryError(`repository '${url}' does not exist`)
}
