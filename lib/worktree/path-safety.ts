/**
 * Decides whether a path from a tree may be written into the work tree. Every
 * rule here exists because some file system would otherwise let a tree write
 * into .git or outside the work tree (git's verify_path with core.protectNTFS and
 * core.protectHFS both on, which is what git does on every platform for checkout
 * safety; see t/t0060-path-utils.sh and t/t1450-fsck.sh in git).
 *
 * Deviation: git accepts backslashes in names on POSIX when core.protectNTFS is
 * off; tsgit always refuses them because on Windows they are separators. Names
 * that are not valid UTF-8 are refused too, because the work tree is written
 * through JavaScript strings, which would silently change such names.
 */
import { isUtf8 } from 'node:buffer'
import { UnsafePathError } from '../errors.js'
import { MODE_SYMLINK } from '../odb/objects.js'

// Code points HFS+ ignores when comparing names, so ".g\u200cit" is ".git" there.
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase())
}

/**
 * NTFS drops trailing dots and spaces and treats ':' as the start of an
 * alternate data stream, so ".git . ::$INDEX_ALLOCATION" opens ".git".
 */
function ntfsBase(name: string): string {
  const colon = name.indexOf(':')
  const head = colon < 0 ? name : name.slice(0, colon)
  return asciiLower(head.replace(/[. ]+$/, ''))
}

/**
 * True when `name` is, on NTFS, the file `.<full>` or one of its 8.3 short names:
 * the first six letters followed by ~1..~4, or Windows' hashed fallback
 * (`fallback` padded with ~N to eight characters, N without leading zeros).
 */
function isNtfsAlias(name: string, full: string, fallback: string): boolean {
  const base = ntfsBase(name)
  if (base === '.' + full) return true
  if (base.length !== 8) return false
  if (base === full.slice(0, 6) + '~' + base[7] && /^[1-4]$/.test(base[7]!)) return true
  const tilde = base.lastIndexOf('~')
  if (tilde < 0) return false
  const digits = base.slice(tilde + 1)
  return /^[1-9][0-9]*$/.test(digits) && fallback.startsWith(base.slice(0, tilde))
}

/** ".git" as HFS+ sees it (case-insensitive, ignorable code points dropped). */
function isHfsName(name: string, full: string): boolean {
  return asciiLower(name.replace(HFS_IGNORABLE, '')) === '.' + full
}

export function isDotGitAlias(name: string): boolean {
  if (isHfsName(name, 'git')) return true
  const base = ntfsBase(name)
  return base === '.git' || base === 'git~1'
}

export function isDotGitmodulesAlias(name: string): boolean {
  return isHfsName(name, 'gitmodules') || isNtfsAlias(name, 'gitmodules', 'gi7eba')
}

/**
 * A component no rule of checkComponent can refuse, told in one regular expression
 * test: ASCII without NUL, '/' or '\\', not starting with '.', 'g' or 'G'. Every alias
 * of .git starts with one of those (HFS+'s ignorable code points are not ASCII), and so
 * do '.' and '..'. Most names of a tree are like this; the others take the full checks.
 * (Not enough for a symlink: Windows' hashed short name of .gitmodules may start with '~'.)
 */
const PLAIN = String.raw`[\x01-\x2d\x30-\x46\x48-\x5b\x5d-\x66\x68-\x7f][\x01-\x2e\x30-\x5b\x5d-\x7f]*`
const PLAIN_COMPONENT = new RegExp(`^${PLAIN}$`)
const PLAIN_PATH = new RegExp(`^${PLAIN}(?:/${PLAIN})*$`)

function describe(path: string): string {
  return JSON.stringify(path)
}

/** Throws UnsafePathError unless `name` is a single safe path component. */
export function checkComponent(name: string, path: string = name): void {
  if (PLAIN_COMPONENT.test(name)) return
  const fail = (why: string): never => {
    throw new UnsafePathError(path, `refusing unsafe path ${describe(path)}: ${why}`)
  }
  if (name.length === 0) fail('empty path component')
  if (name === '.' || name === '..') fail(`path component ${describe(name)}`)
  if (name.includes('\0')) fail('NUL in name')
  if (name.includes('/')) fail("'/' inside a tree entry name")
  if (name.includes('\\')) fail('backslash in name (a separator on Windows)')
  if (isDotGitAlias(name)) fail(`${describe(name)} is an alias of .git`)
}

/**
 * Checks a whole slash-separated path as it would go into the index and the
 * work tree. `mode` matters only for symlinks: git refuses a .gitmodules that is
 * a symlink, because it would let a submodule read files outside the repository.
 */
export function checkPath(path: string, mode?: number): void {
  if (mode !== MODE_SYMLINK && PLAIN_PATH.test(path)) return
  if (path.length === 0) throw new UnsafePathError(path, 'refusing empty path')
  const parts = path.split('/')
  for (const part of parts) checkComponent(part, path)
  const last = parts[parts.length - 1]!
  if (mode === MODE_SYMLINK && isDotGitmodulesAlias(last)) {
    throw new UnsafePathError(path, `refusing unsafe path ${describe(path)}: .gitmodules is a symbolic link`)
  }
}

/** Like checkPath, for a name decoded from raw bytes: the bytes must be valid UTF-8. */
export function checkPathBytes(bytes: Buffer, path: string): void {
  if (!isValidUtf8(bytes)) throw new UnsafePathError(path, `refusing unsafe path ${describe(path)}: name is not valid UTF-8`)
}

function isValidUtf8(bytes: Buffer): boolean {
  return isUtf8(bytes)
}
