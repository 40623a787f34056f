/**
 * Alternate object directories (gitrepository-layout: objects/info/alternates): a
 * repository made by `git clone --reference <repo>`, `--shared` or `--local -s`
 * borrows the objects of another object directory instead of copying them. Each line
 * of the file names one, relative to the objects directory that lists it; lines
 * starting with `#` and empty lines are skipped; a line starting with `"` is
 * C-quoted. An alternate's own alternates are followed too, five levels deep at most,
 * as git does. GIT_ALTERNATE_OBJECT_DIRECTORIES adds more, separated by `:`.
 *
 * Objects are only ever read from an alternate: everything tsgit writes goes into the
 * repository's own objects directory.
 */
import { readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { isNotFound } from '../errors.js'

/** git's limit on alternates of alternates. */
const MAX_DEPTH = 5

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' }

/** A C-quoted path as git writes one (`"a\\tb\\303\\251"`); the line itself when it is not quoted. */
export function unquotePath(line: string): string {
  if (!line.startsWith('"') || !line.endsWith('"') || line.length < 2) return line
  const bytes: number[] = []
  const body = line.slice(1, -1)
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b)
      continue
    }
    const next = body[++i] ?? ''
    const octal = /^[0-3][0-7]{2}/.exec(body.slice(i, i + 3))
    if (octal !== null) {
      bytes.push(parseInt(octal[0], 8))
      i += 2
    } else if (next in ESCAPES) {
      bytes.push((ESCAPES[next] as string).charCodeAt(0))
    } else {
      // Not an escape git writes: taken as it stands.
      bytes.push(0x5c, ...Buffer.from(next, 'utf8'))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** The directories one alternates file names, resolved against the objects directory `dir`. */
export function parseAlternates(text: string, dir: string): string[] {
  const out: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '')
    if (line === '' || line.startsWith('#')) continue
    const path = unquotePath(line)
    out.push(isAbsolute(path) ? resolve(path) : resolve(dir, path))
  }
  return out
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
}

function readAlternatesOf(dir: string): string[] {
  try {
    return parseAlternates(readFileSync(join(dir, 'info', 'alternates'), 'utf8'), dir)
  } catch (e) {
    if (isNotFound(e)) return []
    throw e
  }
}

/**
 * The alternate object directories of `objectsDir`, in the order git searches them:
 * the environment's first, then the file's, each followed by its own alternates.
 * A directory that does not exist is reported through `warn` (git's error) and skipped.
 */
export function alternateDirectories(objectsDir: string, options: { env?: string; cwd?: string; warn?: (message: string) => void } = {}): string[] {
  const self = resolve(objectsDir)
  const seen = new Set<string>([self])
  const out: string[] = []
  const add = (dir: string, depth: number): void => {
    if (seen.has(dir)) return
    seen.add(dir)
    if (!isDirectory(dir)) {
      options.warn?.(`object directory ${dir} does not exist; check .git/objects/info/alternates`)
      return
    }
    out.push(dir)
    if (depth >= MAX_DEPTH) return
    for (const next of readAlternatesOf(dir)) add(next, depth + 1)
  }
  const fromEnv = (options.env ?? '').split(':').filter((p) => p !== '')
  for (const dir of fromEnv) add(resolve(options.cwd ?? process.cwd(), dir), 1)
  for (const dir of readAlternatesOf(self)) add(dir, 1)
  return out
}
