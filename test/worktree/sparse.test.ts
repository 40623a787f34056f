/**
 * Cone patterns as git 2.39 writes and reads them (the expected files are what `git
 * sparse-checkout set` wrote for the same directories, t1091 and by hand), and the
 * rule that takes a skip-worktree entry whose file is there after all as an ordinary one.
 */
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../fixtures/git.js'
import {
  clearPresentSkipWorktree, coneDirectories, coneFileFilter, coneOf, coneWantsDir, coneWantsFile, escapeConeDir, formatConePatterns, parseConePatterns,
} from '../../lib/worktree/sparse.js'
import { skippedEntry } from '../../lib/worktree/checkout.js'

t.test('cone patterns: what is in, what is not', async (t) => {
  const spec = parseConePatterns('/*\n!/*/\n/a/\n!/a/*/\n/a/b/\n/c\\*d/\n')
  if (spec === undefined) throw new Error('cone patterns rejected')
  t.ok(coneWantsFile(spec, 'top.txt'), 'root files')
  t.ok(coneWantsFile(spec, 'a/x.txt'), 'files directly in a parent')
  t.notOk(coneWantsFile(spec, 'a/z/x.txt'), 'not below a parent')
  t.ok(coneWantsFile(spec, 'a/b/deep/x.txt'), 'everything below a recursive directory')
  t.ok(coneWantsFile(spec, 'c*d/x'), 'escaped characters')
  t.notOk(coneWantsFile(spec, 'other/x'))
  t.ok(coneWantsDir(spec, 'a') && coneWantsDir(spec, 'a/b/deep') && !coneWantsDir(spec, 'a/z') && !coneWantsDir(spec, 'other'))
  t.equal(parseConePatterns('*.c\n'), undefined, 'non-cone patterns are refused')
  t.equal(parseConePatterns('/*\n!/*/\n!/a/*/\n'), undefined, 'a negation without its directory is refused')
  t.equal(parseConePatterns('/*\n!/*/\n/a*/\n'), undefined, 'an unescaped glob is no directory')
  t.equal(parseConePatterns('/*\n!/*/\n/folder1/**\n'), undefined, '/A/** is not a cone pattern')
  t.ok(parseConePatterns('/*\n')?.everything, '/* alone is everything')
})

t.test('the filter that decides once per directory says what coneWantsFile says, in any order', async (t) => {
  const spec = parseConePatterns('/*\n!/*/\n/a/\n!/a/*/\n/a/b/\n/c\\*d/\n')
  if (spec === undefined) throw new Error('cone patterns rejected')
  const paths = ['top.txt', 'a/x.txt', 'a/y.txt', 'a/b/1', 'a/b/deep/x.txt', 'a/bb/x', 'a/z/x.txt', 'a/x2', 'c*d/x', 'c*d/y/z', 'other/x', 'other/y', 'z', 'ab/x', 'a/b', 'a/c']
  // the paths as given, sorted, and each directory's files apart from one another
  for (const order of [paths, [...paths].sort(), [...paths].reverse()]) {
    const wants = coneFileFilter(spec)
    t.same(order.map((p) => wants(p)), order.map((p) => coneWantsFile(spec, p)), order.join(' '))
  }
  t.ok(coneFileFilter({ ...spec, everything: true })('any/where'))
})

t.test('the file git writes for a set of directories', async (t) => {
  t.equal(formatConePatterns(coneOf([])), '/*\n!/*/\n', 'no directory: the root files')
  t.equal(formatConePatterns(coneOf(['deep/deeper1/deepest'])), '/*\n!/*/\n/deep/\n!/deep/*/\n/deep/deeper1/\n!/deep/deeper1/*/\n/deep/deeper1/deepest/\n', 't1091 init and set')
  t.equal(formatConePatterns(coneOf(['deep', 'deep/deeper1/deepest'])), '/*\n!/*/\n/deep/\n', 'a directory below another adds nothing')
  t.equal(formatConePatterns(coneOf(['deep/deeper1', 'folder1'])), '/*\n!/*/\n/deep/\n!/deep/*/\n/deep/deeper1/\n/folder1/\n', 'parents first, then the recursive ones')
  // git 2.39: set --skip-checks 'a+' 'a*' 'a-b/c' a/b 'a.b' é b 'a]' 'a?b' 'a[' '!x'
  t.equal(
    formatConePatterns(coneOf(['a+', 'a*', 'a-b/c', 'a/b', 'a.b', 'é', 'b', 'a]', 'a?b', 'a[', '!x'])),
    '/*\n!/*/\n/a/\n!/a/*/\n/a-b/\n!/a-b/*/\n/!x/\n/a\\*/\n/a+/\n/a-b/c/\n/a.b/\n/a/b/\n/a\\?b/\n/a\\[/\n/a]/\n/b/\n/é/\n',
    'byte order of the names as given; \\ * ? [ escaped',
  )
  t.equal(escapeConeDir('zbad\\dir'), 'zbad\\\\dir')
  const back = parseConePatterns(formatConePatterns(coneOf(['zglob[!a]?', 'zbad\\dir/bogus', 'x'])))
  t.same(back && coneDirectories(back), ['x', 'zbad\\dir/bogus', 'zglob[!a]?'], 'what is written reads back as the same directories')
})

t.test('a skip-worktree entry whose file is there is an ordinary entry again', async (t) => {
  const dir = tempDir('tsgit-sparse-')
  t.teardown(dir.cleanup)
  mkdirSync(join(dir.path, 'd'))
  writeFileSync(join(dir.path, 'd', 'here'), 'x')
  writeFileSync(join(dir.path, 'file'), 'x')
  const oid = '1'.repeat(40)
  const entries = [skippedEntry('d/gone', 0o100644, oid), skippedEntry('d/here', 0o100644, oid), skippedEntry('file/below', 0o100644, oid), skippedEntry('missing/x', 0o100644, oid)]
  const out = clearPresentSkipWorktree(dir.path, entries)
  t.same(out.map((e) => e.skipWorktree), [true, false, true, true])
  t.equal(clearPresentSkipWorktree(dir.path, [entries[0]!]).length, 1)
})
