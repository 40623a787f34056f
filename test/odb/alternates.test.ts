/**
 * Alternate object directories: repositories made by `git clone --reference` and
 * `--shared` borrow their objects, and tsgit must read them there, as git does, and
 * never fetch what an alternate already has.
 */
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { alternateDirectories, parseAlternates, unquotePath } from '../../lib/odb/alternates.js'
import { git, gitAsync } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-alternates-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
})

t.test('the alternates file: relative and absolute paths, comments, CRLF, C-quoted names', async (t) => {
  const text = '# a comment\n../../other/objects\r\n\n/abs/objects\n"/quoted/with\\ttab/\\303\\251\\"q\\"/objects"\n'
  t.same(parseAlternates(text, '/repo/.git/objects'), ['/repo/other/objects', '/abs/objects', '/quoted/with\ttab/é"q"/objects'])
  t.equal(unquotePath('"a\\\\b"'), 'a\\b')
  t.equal(unquotePath('plain'), 'plain')
})

t.test('alternates of alternates are followed five levels deep, each once, in git’s order', async (t) => {
  const base = join(srv.tmp.path, 'chain')
  const dirs = Array.from({ length: 8 }, (_, i) => join(base, `d${i}`, 'objects'))
  for (const d of dirs) mkdirSync(join(d, 'info'), { recursive: true })
  // d0 -> d1 -> ... -> d7, and d2 back to d0 (a cycle), and d1 to one that does not exist
  for (let i = 0; i < 7; i++) writeFileSync(join(dirs[i] as string, 'info', 'alternates'), `${dirs[i + 1]}\n`)
  writeFileSync(join(dirs[2] as string, 'info', 'alternates'), `${dirs[3]}\n../../d0/objects\n`)
  writeFileSync(join(dirs[1] as string, 'info', 'alternates'), `${dirs[2]}\n${join(base, 'gone', 'objects')}\n`)
  const warnings: string[] = []
  const found = alternateDirectories(dirs[0] as string, { warn: (m) => void warnings.push(m) })
  t.same(found, dirs.slice(1, 6), 'd1..d5: the main directory is not its own alternate, and d6 is too deep')
  t.same(warnings, [`object directory ${join(base, 'gone', 'objects')} does not exist; check .git/objects/info/alternates`])
  const extra = join(base, 'd7', 'objects')
  t.same(alternateDirectories(dirs[5] as string, { env: `${extra}:relative/none`, cwd: base }), [extra, dirs[6]], 'the environment’s first, relative to cwd; a missing one skipped')
})

t.test('a clone made with --reference: tsgit reads the borrowed objects and fetches none', async (t) => {
  const reference = srv.dest('reference')
  await gitAsync(['clone', '-q', '--bare', srv.server.url('rich.git'), reference])
  const dir = srv.dest('borrowing')
  await gitAsync(['clone', '-q', '--filter=blob:none', '--reference', reference, srv.server.url('rich.git'), dir])
  t.match(git(['count-objects', '-v'], { cwd: dir }).stdout, /^count: 0$/m, 'nothing loose')
  const before = srv.server.requests.length
  for (const args of [['--objects', '--all'], ['--objects', '--missing=print', 'HEAD~2']]) {
    const r = await tsgit(['rev-list', ...args], { cwd: dir })
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stdout, git(['rev-list', ...args], { cwd: dir }).stdout, `rev-list ${args.join(' ')} as git prints it`)
  }
  t.equal((await tsgit(['fsck'], { cwd: dir })).status, 0, 'fsck')
  const first = rich.commits[0] as string
  const shown = await tsgit(['cat-file', '-p', first], { cwd: dir })
  t.equal(shown.stdout, git(['cat-file', '-p', first], { cwd: dir }).stdout)
  const co = await tsgit(['checkout', '--detach', first], { cwd: dir })
  t.equal(co.status, 0, co.stderr)
  t.equal(git(['status', '--porcelain'], { cwd: dir }).stdout, '')
  t.equal(srv.server.requests.length, before, 'every object came from the alternate: no request')
})

t.test('a --shared clone, and an alternate that has gone: git’s error, as a warning, then the objects are missing', async (t) => {
  const source = srv.dest('source')
  await gitAsync(['clone', '-q', srv.server.url('rich.git'), source])
  const dir = srv.dest('shared')
  git(['clone', '-q', '--shared', source, dir])
  const r = await tsgit(['rev-list', '--count', '--all'], { cwd: dir })
  t.equal(r.stdout, git(['rev-list', '--count', '--all'], { cwd: dir }).stdout)
  writeFileSync(join(dir, '.git', 'objects', 'info', 'alternates'), `${join(srv.tmp.path, 'nowhere')}\n`)
  const gone = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: dir })
  t.equal(gone.status, 128)
  t.match(gone.stderr, /^warning: object directory .*nowhere does not exist; check \.git\/objects\/info\/alternates$/m)
})
