/**
 * Generated benchmark repositories, cached under the temp dir by their
 * parameters: building 100k objects takes a while, reruns should not pay it.
 * A repository is built in a scratch dir and renamed into place only when
 * complete, so an interrupted build is never mistaken for a cached one.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { git } from '../test/fixtures/git.js'
import { makeBigRepo, type BigRepoOptions } from '../test/fixtures/repos.js'

/** Bump when the way a repository is generated changes, so old caches are not reused. */
const GENERATOR_VERSION = 1

export interface CachedRepo {
  /** The bare repository. */
  path: string
  /** Whether it was built now (false: reused from the cache). */
  built: boolean
}

export function cacheKey(options: BigRepoOptions): string {
  return `big-v${GENERATOR_VERSION}-f${options.files}-c${options.commits}-s${options.fileSize}.git`
}

export function defaultCacheDir(): string {
  return join(tmpdir(), 'tsgit-bench-cache')
}

/**
 * A bare repository made by makeBigRepo and then repacked into one pack with
 * a bitmap, as a serving host would have it (the server then spends the same
 * little time counting objects for either client).
 */
export async function cachedBigRepo(options: BigRepoOptions, cacheDir = defaultCacheDir()): Promise<CachedRepo> {
  const path = join(cacheDir, cacheKey(options))
  if (existsSync(join(path, 'HEAD'))) return { path, built: false }
  mkdirSync(cacheDir, { recursive: true })
  const scratch = `${path}.tmp-${process.pid}`
  rmSync(scratch, { recursive: true, force: true })
  try {
    await makeBigRepo(scratch, options)
    git(['repack', '-a', '-d', '-b', '-q'], { cwd: scratch })
    renameSync(scratch, path)
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true })
    throw e
  }
  return { path, built: true }
}

export interface RepoStats {
  objects: number
  /** Bytes of all packs. */
  packBytes: number
}

/** Object count and pack size as `git count-objects -v` reports them (loose + packed). */
export function repoStats(gitDir: string): RepoStats {
  const out = git(['count-objects', '-v'], { cwd: gitDir }).stdout
  const field = (name: string): number => {
    const m = new RegExp(`^${name}: (\\d+)$`, 'm').exec(out)
    return m ? Number(m[1]) : 0
  }
  return { objects: field('count') + field('in-pack'), packBytes: field('size-pack') * 1024 + field('size') * 1024 }
}
