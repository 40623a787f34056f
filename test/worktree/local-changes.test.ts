/**
 * The file/directory check a switch makes over every path it leaves in the index: a
 * path may not also be the directory of another. It decides each directory once; these
 * cases hold it to the answer of looking at every parent of every path.
 */
import t from 'tap'
import { LocalChangesError, refuseFileDirectoryConflicts } from '../../lib/worktree/local-changes.js'

function conflict(paths: string[], tracked: string[] = []): string[] | undefined {
  try {
    refuseFileDirectoryConflicts(new Set(paths), (p) => tracked.includes(p))
    return undefined
  } catch (e) {
    if (e instanceof LocalChangesError && e.kind === 'not-uptodate') return e.paths
    throw e
  }
}

t.test('many paths below shared directories, none of them a path: no conflict', async (t) => {
  const paths: string[] = []
  for (let d = 0; d < 20; d++) for (let f = 0; f < 50; f++) paths.push(`d${d}/s${f % 5}/f${f}`, `d${d}/f${f}`)
  paths.push('top', 'd0x/f')
  t.equal(conflict(paths), undefined)
})

t.test('a path that is also the directory of another is refused, wherever it comes in the set', async (t) => {
  const below = Array.from({ length: 100 }, (_, i) => `a/b/f${i}`)
  // the file after the paths below it, and before them; the file still tracked or not
  t.same(conflict([...below, 'a/b']), ['a/b/f0'])
  t.same(conflict(['a/b', ...below]), ['a/b/f0'])
  t.same(conflict([...below, 'a/b'], ['a/b']), ['a/b'])
  // two of its parents are paths: the outermost is named
  t.same(conflict(['x/y/z', 'x/y', 'x'], ['x', 'x/y']), ['x'])
  t.same(conflict(['q', 'x/y/1', 'x/y/2', 'x/y'], ['x/y']), ['x/y'])
})
