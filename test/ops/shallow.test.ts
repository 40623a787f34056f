/**
 * tsgit inside a shallow partial clone made by real git (`git clone --depth=2
 * --filter=blob:none`, what CI checkouts often are): history ends at the commits in
 * .git/shallow for every command, as for git, and nothing fetches the history behind
 * them (a want of a missing parent with no haves would bring all of it in).
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-shallow-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
})

/** git, asynchronously: the server answering it runs in this process. */
async function shallowClone(depth: number): Promise<string> {
  const dir = srv.dest('shallow')
  await gitAsync(['clone', '-q', `--depth=${depth}`, '--filter=blob:none', srv.server.url('rich.git'), dir])
  return dir
}

const missingLines = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('?'))

t.test('history walks end at the shallow commits, as git’s do, and fetch nothing', async (t) => {
  const dir = await shallowClone(2)
  t.equal(git(['rev-list', '--count', 'HEAD'], { cwd: dir }).stdout, '2\n')
  t.ok(rich.commits.length > 2, 'the server’s history is longer')
  const before = srv.server.requests.length
  for (const args of [['--count', 'HEAD'], ['--objects', '--missing=print', 'HEAD'], ['--objects', '--missing=print', '--all'], ['--all'], ['HEAD', '^HEAD~1']]) {
    const ours = await tsgit(['rev-list', ...args], { cwd: dir })
    const theirs = git(['rev-list', ...args], { cwd: dir })
    t.equal(ours.status, 0, `${args.join(' ')}: ${ours.stderr}`)
    t.equal(ours.stdout, theirs.stdout, `rev-list ${args.join(' ')} as git prints it`)
  }
  for (const args of [['fsck'], ['fsck', '--connectivity-only']]) {
    const r = await tsgit(args, { cwd: dir })
    t.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
  }
  const past = await tsgit(['cat-file', '-t', 'HEAD~2'], { cwd: dir })
  t.equal(past.status, 128)
  t.equal(past.stderr, 'fatal: Not a valid object name HEAD~2\n')
  t.equal(git(['cat-file', '-t', 'HEAD~2'], { cwd: dir, allowFail: true }).stderr, past.stderr, 'git says the same')
  t.equal(srv.server.requests.length, before, 'no request to the server')
})

t.test('backfill fetches the blobs of the shallow history only, in one request for blobs', async (t) => {
  const dir = await shallowClone(2)
  const missing = missingLines(git(['rev-list', '--objects', '--missing=print', 'HEAD'], { cwd: dir }).stdout)
  t.ok(missing.length > 0, 'the checkout left older blobs missing')
  const since = srv.server.requests.length
  const r = await tsgit(['backfill'], { cwd: dir })
  t.equal(r.status, 0, r.stderr)
  const fetches = srv.server.requests.slice(since).filter((q) => q.command === 'fetch')
  t.equal(fetches.length, 1)
  const wants = (fetches[0]?.args ?? []).filter((a) => a.startsWith('want ')).map((a) => a.slice(5)).sort()
  t.same(wants, missing.map((l) => l.slice(1)).sort(), 'exactly the missing blobs were asked for')
  t.same(missingLines(git(['rev-list', '--objects', '--missing=print', 'HEAD'], { cwd: dir }).stdout), [])
  t.equal(git(['rev-list', '--count', 'HEAD'], { cwd: dir }).stdout, '2\n', 'the history was not deepened')
  t.equal(git(['fsck'], { cwd: dir, allowFail: true }).status, 0)
})

t.test('checkout in a shallow clone: the tracking report counts as git does, only blobs are fetched', async (t) => {
  const ours = await shallowClone(3)
  const theirs = await shallowClone(3)
  for (const dir of [ours, theirs]) {
    git(['branch', '--track', 'behind', 'origin/main'], { cwd: dir })
    git(['update-ref', 'refs/heads/behind', 'HEAD~2'], { cwd: dir })
  }
  const since = srv.server.requests.length
  const r = await tsgit(['checkout', 'behind'], { cwd: ours })
  const g = await gitAsync(['checkout', 'behind'], { cwd: theirs })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stdout, g.stdout, 'the same report as git')
  t.match(r.stdout, /behind 'origin\/main' by 2 commits/)
  for (const q of srv.server.requests.slice(since).filter((q) => q.command === 'fetch')) {
    for (const want of q.args.filter((a) => a.startsWith('want '))) {
      t.equal(git(['cat-file', '-t', want.slice(5)], { cwd: ours }).stdout, 'blob\n', `fetched ${want}: a blob`)
    }
  }
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '')
  t.equal(git(['rev-list', '--count', 'HEAD'], { cwd: ours }).stdout, '1\n')
})

t.test('a malformed shallow file is an error, as in git', async (t) => {
  const dir = await shallowClone(1)
  writeFileSync(join(dir, '.git', 'shallow'), 'not-an-id\n')
  const r = await tsgit(['rev-list', 'HEAD'], { cwd: dir })
  t.equal(r.status, 128)
  t.equal(r.stderr, 'fatal: bad shallow line: not-an-id\n')
})
