/** File-system questions every layer asks, answered one way: only ENOENT/ENOTDIR mean absent. */
import { readdir, readFile, stat } from 'node:fs/promises'
import { isNotFound } from './errors.js'

/** Whether `path` exists; any error but "absent" is thrown. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
}

/** The names in directory `dir`; none when it does not exist (any other error is thrown). */
export async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (e) {
    if (isNotFound(e)) return []
    throw e
  }
}

/**
 * A text file's content; undefined when it is not there (absent, a parent that is not a
 * directory, or a directory in its place: nothing to read as a file). Other errors are thrown.
 */
export async function readTextIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if (isNotFound(e) || (e as { code?: unknown } | null)?.code === 'EISDIR') return undefined
    throw e
  }
}
