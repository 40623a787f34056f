/**
 * What tsgit does not do when it writes files: git's checkout conversions other than
 * line endings (which conversion.ts applies). A .gitattributes line can ask for a
 * filter driver's smudge command (git-lfs is one), for `$Id$` expansion (`ident`) or
 * for another encoding (`working-tree-encoding`). tsgit writes those files without
 * them, so it says so, once per kind, instead of leaving a work tree that differs
 * from git's without a word.
 *
 * A filter whose driver has neither a smudge nor a process command configured is
 * skipped by git too, and is not named.
 */

/** The attribute settings in one attributes file that git would apply and tsgit does not. */
export function unappliedAttributes(text: string, driverConfigured: (driver: string) => boolean): Set<string> {
  const found = new Set<string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    // the pattern (possibly quoted), then the attributes
    const rest = line.startsWith('"') ? line.slice(line.indexOf('"', 1) + 1) : line.replace(/^\S+/, '')
    for (const attr of rest.trim().split(/\s+/)) {
      if (attr === '' || attr.startsWith('-') || attr.startsWith('!')) continue
      const eq = attr.indexOf('=')
      const name = eq < 0 ? attr : attr.slice(0, eq)
      const value = eq < 0 ? undefined : attr.slice(eq + 1)
      if (name === 'filter' && value !== undefined && driverConfigured(value)) found.add(`filter=${value}`)
      else if (name === 'ident' && value === undefined) found.add('ident')
      else if (name === 'working-tree-encoding' && value !== undefined) found.add('working-tree-encoding')
    }
  }
  return found
}

/** Whether a path names an attributes file of the tree. */
export function isAttributesFile(path: string): boolean {
  return path === '.gitattributes' || path.endsWith('/.gitattributes')
}
