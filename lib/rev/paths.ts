/**
 * Paths in the revision walks are "byte strings": each char is one byte (latin1), so
 * names that are not UTF-8 come out exactly as stored, and code-unit order is byte
 * order (git's order of names in a tree, of paths in the index).
 */

/** The byte string (latin1) of a UTF-8 string. */
export function byteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}

/**
 * Which entries below a tree a walk goes into, by path (byte string, '/'-separated):
 * a tree entry is entered and a blob entry kept only when this says so. What it
 * turns away is not marked as seen, so the same object is still reached by a path
 * it accepts. The start objects themselves are not asked about.
 */
export interface PathFilter {
  tree(path: string): boolean
  blob(path: string): boolean
}
