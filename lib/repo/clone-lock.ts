/**
 * One process at a time works on an unfinished clone: `<git dir>/clone-resume.lock`,
 * created exclusively, holds its process id. A resume that takes it (the lock free, or
 * held by a process that is gone: killed, nothing ran after it) knows that every other
 * lock file in the repository was left by a killed try (a clone's repository has no
 * other writer), and removes them before it goes on: a HEAD.lock or config.lock left by
 * a kill would stop every resume.
 */
import { open, readFile, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { RepositoryError, isNotFound } from '../errors.js'

const LOCK = 'clone-resume.lock'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists, owned by someone else
    return (e as { code?: unknown }).code === 'EPERM'
  }
}

/** Every *.lock file below `dir` (the repository's own directories only: not objects). */
async function staleLocks(dir: string, depth = 0): Promise<string[]> {
  let names
  try {
    names = await readdir(dir, { withFileTypes: true })
  } catch (e) {
    if (isNotFound(e)) return []
    throw e
  }
  const out: string[] = []
  for (const d of names) {
    const path = join(dir, d.name)
    if (d.isDirectory()) {
      if (depth === 0 && d.name === 'objects') continue
      if (depth < 16) out.push(...(await staleLocks(path, depth + 1)))
    } else if (d.name.endsWith('.lock') && !(depth === 0 && d.name === LOCK)) {
      out.push(path)
    }
  }
  return out
}

/**
 * Takes the clone's lock; with `resuming`, then removes the lock files a killed try
 * left. Resolves to its release.
 */
export async function takeCloneLock(gitDir: string, resuming: boolean): Promise<() => Promise<void>> {
  const path = join(gitDir, LOCK)
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644)
      try {
        await handle.write(`${process.pid}\n`)
      } finally {
        await handle.close()
      }
      if (resuming) for (const lock of await staleLocks(gitDir)) await unlink(lock).catch(() => undefined)
      return async () => {
        await unlink(path).catch((e: unknown) => { if (!isNotFound(e)) throw e })
      }
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST' || attempt > 0) throw e
    }
    const text = await readFile(path, 'utf8').catch(() => '')
    const pid = Number(text.trim())
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new RepositoryError(`another tsgit (process ${pid}) is working on this clone: ${path}`)
    }
    await unlink(path).catch(() => undefined)
  }
}
