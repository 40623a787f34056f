/**
 * The conversions tsgit does not make when it writes files (filters, ident,
 * working-tree-encoding) are named in a warning after a clone or a switch that wrote
 * files, and nothing is said when there is nothing to say: line endings (eol=crlf,
 * core.autocrlf) are converted, so they are not named.
 */
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { unappliedAttributes } from '../../lib/worktree/attributes.js'
import { git } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

const srv = serveRepos(t, 'tsgit-attributes-', async (root) => {
  const work = join(root, 'attrs.work')
  git(['init', '-q', '-b', 'main', work])
  writeFileSync(join(work, 'plain.txt'), 'no attributes here\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'plain'], { cwd: work })
  git(['checkout', '-q', '-b', 'attributes'], { cwd: work })
  writeFileSync(join(work, '.gitattributes'), '# big files\n*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt text\n')
  mkdirSync(join(work, 'win'))
  writeFileSync(join(work, 'win', '.gitattributes'), '*.bat eol=crlf\n"with space.c" ident\n')
  writeFileSync(join(work, 'win', 'run.bat'), 'echo hi\n')
  writeFileSync(join(work, 'data.bin'), 'version https://git-lfs.github.com/spec/v1\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'attributes'], { cwd: work })
  git(['clone', '-q', '--bare', work, join(root, 'attrs.git')])
})

t.test('which settings would change the bytes written', async (t) => {
  const lfs = (d: string): boolean => d === 'lfs'
  t.same([...unappliedAttributes('*.bin filter=lfs -text\n*.x filter=other\n', lfs)], ['filter=lfs'], 'a filter only when its driver is configured')
  t.same([...unappliedAttributes('*.c text eol=lf\n*.h text=auto\n*.sh -text\n*.y !eol\n', lfs)], [], 'line endings are applied')
  t.same([...unappliedAttributes('*.bat eol=crlf\n*.z crlf\n"a b" ident working-tree-encoding=UTF-16\n# x ident\n', lfs)], ['ident', 'working-tree-encoding'])
})

t.test('clone and checkout: a warning for each conversion not made, none without them', async (t) => {
  const url = srv.server.url('attrs.git')
  const plain = await tsgit(['clone', '-q', '-b', 'main', url, srv.dest('plain')])
  t.equal(plain.status, 0, plain.stderr)
  t.equal(plain.stderr, '', 'no attributes: nothing said')

  const dir = srv.dest('attrs')
  const r = await tsgit(['-c', 'filter.lfs.smudge=git-lfs smudge -- %f', 'clone', '-q', '-b', 'attributes', url, dir])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /^warning: tsgit does not apply 'filter=lfs' \(\.gitattributes\): the files it covers are checked out as stored in the repository$/m)
  t.match(r.stderr, /^warning: tsgit does not apply 'ident' \(win\/\.gitattributes\)/m)
  t.notMatch(r.stderr, /eol=crlf/, 'line endings are converted, not named')
  t.equal(r.stderr.split('\n').filter((l) => l.startsWith('warning:')).length, 2)

  const unconfigured = await tsgit(['clone', '-q', '-b', 'attributes', url, srv.dest('nolfs')])
  t.notMatch(unconfigured.stderr, /filter=lfs/, 'no filter driver configured: git does not filter either')

  // back and forth in the clone without the filter: switching to the branch with attributes says so
  const co = await tsgit(['-c', 'core.autocrlf=true', 'checkout', 'main'], { cwd: dir })
  t.equal(co.status, 0, co.stderr)
  t.notMatch(co.stderr, /warning/, 'a switch that writes no file says nothing')
  const back = await tsgit(['-c', 'core.autocrlf=true', 'checkout', 'attributes'], { cwd: dir })
  t.equal(back.status, 0, back.stderr)
  t.notMatch(back.stderr, /autocrlf|eol=crlf/, 'core.autocrlf and eol=crlf are applied, not named')
  t.match(back.stderr, /^warning: tsgit does not apply 'ident'/m)
})
