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
import { parseAttributes } from './attributes-match.js'

/** The attribute settings in one attributes file that git would apply and tsgit does not, in the file's order. */
export function unappliedAttributes(text: string, driverConfigured: (driver: string) => boolean): Set<string> {
  const found = new Set<string>()
  const file = parseAttributes(text, '', true)
  // (parsed last first: turned back into the file's order)
  for (const states of [...file.macros.values(), ...file.lines.map((l) => l.states)].reverse()) {
    for (const { name, value } of [...states].reverse()) {
      if (name === 'filter' && typeof value === 'string' && driverConfigured(value)) found.add(`filter=${value}`)
      else if (name === 'ident' && value === true) found.add('ident')
      else if (name === 'working-tree-encoding' && typeof value === 'string') found.add('working-tree-encoding')
    }
  }
  return found
}

/** Whether a path names an attributes file of the tree. */
export function isAttributesFile(path: string): boolean {
  return path === '.gitattributes' || path.endsWith('/.gitattributes')
}
