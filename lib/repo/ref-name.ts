/**
 * Ref names: which are valid (`git check-ref-format`), how git orders them, and which
 * belong to one worktree.
 */
import { RefError } from '../errors.js'

/**
 * Whether a ref belongs to one worktree (git's per-worktree refs): HEAD and the other
 * pseudo-refs (no slash), and refs/bisect/, refs/worktree/, refs/rewritten/.
 */
export function isPerWorktreeRef(name: string): boolean {
  return !name.includes('/') || /^refs\/(bisect|worktree|rewritten)\//.test(name)
}

export interface CheckRefFormatOptions {
  /** `--allow-onelevel`: accept names without a slash (HEAD-like or short names). */
  allowOnelevel?: boolean
  /** `--refspec-pattern`: accept a single `*`. */
  refspecPattern?: boolean
}

function badComponentChar(code: number): boolean {
  return code < 0x20 || code === 0x7f || ' ~^:?*[\\'.includes(String.fromCharCode(code))
}

/** The rules of `git check-ref-format` (without --normalize). */
export function isValidRefName(name: string, options: CheckRefFormatOptions = {}): boolean {
  if (name === '@' || name.length === 0) return false
  if (name.includes('@{') || name.includes('..')) return false
  if (name.endsWith('.')) return false
  const components = name.split('/')
  if (components.length < 2 && options.allowOnelevel !== true) return false
  let stars = 0
  for (const component of components) {
    if (component.length === 0) return false
    if (component.startsWith('.')) return false
    if (component.endsWith('.lock')) return false
    for (let i = 0; i < component.length; i++) {
      const code = component.charCodeAt(i)
      if (code === 0x2a && options.refspecPattern === true) {
        stars++
        continue
      }
      if (badComponentChar(code)) return false
    }
  }
  return stars <= 1
}

/** Throws the RefError git gives for a name it will not write (HEAD is allowed). */
export function assertValidRefName(name: string): void {
  if (name === 'HEAD' || isValidRefName(name)) return
  throw new RefError(`refusing to update ref with bad name '${name}'`)
}

/** git sorts refs by bytes (strcmp), not by locale or UTF-16 units. */
export function compareRefNames(a: string, b: string): number {
  // Below U+D800, UTF-16 units sort as UTF-8 bytes do: compared as they are up to the
  // first difference, encoded only when a surrogate or a unit above it is involved.
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if (x < 0xd800 && y < 0xd800) return x - y
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
  }
  return a.length - b.length
}
