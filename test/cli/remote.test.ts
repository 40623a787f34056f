/**
 * tsgit remote against real git 2.39 in twin repositories (same config bytes, same refs
 * left, same output and exit codes), and a second promisor remote set up by hand that
 * lazy fetches and backfill then use.
 */
import t, { type Test } from 'tap'
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { makeRichRepo } from '../fixtures/repos.js'
import { startGitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-remote-')
t.teardown(tmp.cleanup)

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'latin1') : '<absent>'
}

/** Two identical repositories with one commit (the pinned environment makes the ids equal). */
function twins(name: string): { real: string; ours: string } {
  const out = { real: join(tmp.path, `${name}-real`), ours: join(tmp.path, `${name}-ours`) }
  for (const dir of [out.real, out.ours]) {
    git(['init', '-q', '-b', 'main', dir])
    git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: dir })
  }
  return out
}

function both(d: { real: string; ours: string }, args: string[]): void {
  for (const dir of [d.real, d.ours]) git(args, { cwd: dir })
}

async function same(t: Test, d: { real: string; ours: string }, args: string[], stderr = true): Promise<void> {
  const label = args.join(' ')
  const g = git(args, { cwd: d.real, allowFail: true })
  const o = await tsgit(args, { cwd: d.ours })
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (ours: ${o.stderr.trim()})` : ''}`)
  t.equal(o.stdout, g.stdout, `${label}: stdout`)
  if (stderr) t.equal(o.stderr, g.stderr, `${label}: stderr`)
  t.equal(read(join(d.ours, '.git/config')), read(join(d.real, '.git/config')), `${label}: .git/config bytes`)
}

function refsOf(dir: string): string {
  return git(['for-each-ref', '--format=%(refname) %(objectname) %(symref)'], { cwd: dir }).stdout
}

t.test('add, list, refuse, remove: the same bytes, output and exit codes as git', async (t) => {
  const d = twins('basic')
  await same(t, d, ['remote'])
  await same(t, d, ['remote', 'add', 'origin', 'https://example.com/a.git'])
  await same(t, d, ['remote', 'add', 'cache', '/srv/cache.git'])
  await same(t, d, ['remote'])
  await same(t, d, ['remote', '-v'])
  await same(t, d, ['remote', 'add', 'origin', 'https://elsewhere/b.git'])
  await same(t, d, ['remote', 'add', 'bad name', 'u'])
  await same(t, d, ['remote', 'add', 'origin'], false)
  await same(t, d, ['remote', 'remove', 'nope'])
  await same(t, d, ['remote', 'frobnicate'], false)
  await same(t, d, ['config', 'remote.cache.promisor', 'true'])
  await same(t, d, ['config', '--bool', 'remote.cache.promisor'])
  await same(t, d, ['remote', 'rm', 'origin'])
  await same(t, d, ['remote', '-v'])
})

t.test('remove deletes the remote-tracking refs (loose, packed, symref) and branch entries pointing to it', async (t) => {
  const d = twins('rm')
  both(d, ['remote', 'add', 'origin', 'https://example.com/a.git'])
  both(d, ['remote', 'add', 'cache', 'https://example.com/cache.git'])
  for (const r of ['refs/remotes/cache/main', 'refs/remotes/cache/dev', 'refs/remotes/cache/topic/x', 'refs/remotes/origin/main']) both(d, ['update-ref', r, 'HEAD'])
  both(d, ['pack-refs', '--all'])
  both(d, ['update-ref', 'refs/remotes/cache/loose', 'HEAD'])
  both(d, ['symbolic-ref', 'refs/remotes/cache/HEAD', 'refs/remotes/cache/main'])
  both(d, ['config', 'branch.main.remote', 'cache'])
  both(d, ['config', 'branch.main.merge', 'refs/heads/main'])
  both(d, ['config', 'branch.other.remote', 'origin'])
  both(d, ['config', 'branch.other.merge', 'refs/heads/other'])
  both(d, ['config', 'branch.third.pushRemote', 'cache'])
  both(d, ['config', 'branch.third.description', 'kept'])
  both(d, ['config', 'remote.pushDefault', 'cache'])
  t.equal(read(join(d.ours, '.git/config')), read(join(d.real, '.git/config')), 'same start')
  await same(t, d, ['remote', 'remove', 'cache'])
  t.equal(refsOf(d.ours), refsOf(d.real), 'the same refs are left')
  t.notMatch(refsOf(d.ours), /refs\/remotes\/cache\//, 'no ref of the removed remote is left')
  t.match(refsOf(d.ours), /refs\/remotes\/origin\/main /, "the other remote's refs stay")
  t.equal(read(join(d.ours, '.git/packed-refs')), read(join(d.real, '.git/packed-refs')), 'packed-refs bytes')
  t.equal(existsSync(join(d.ours, '.git/logs/refs/remotes/cache/loose')), false, 'reflogs of deleted refs are gone')
  t.equal(git(['fsck'], { cwd: d.ours, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('a second promisor remote added by hand serves lazy fetches and backfill first', async (t) => {
  const root = join(tmp.path, 'srv')
  mkdirSync(root)
  await makeRichRepo(join(root, 'rich.git'))
  cpSync(join(root, 'rich.git'), join(root, 'mirror.git'), { recursive: true })
  const server = await startGitServer({ root })
  t.teardown(() => server.close())
  const d = join(tmp.path, 'partial')
  const c = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', server.url('rich.git'), d])
  t.equal(c.status, 0, c.stderr)
  const a = await tsgit(['remote', 'add', 'cache', server.url('mirror.git')], { cwd: d })
  t.equal(a.status, 0, a.stderr)
  const p = await tsgit(['config', 'remote.cache.promisor', 'true'], { cwd: d })
  t.equal(p.status, 0, p.stderr)
  t.equal(git(['config', '--get-all', 'remote.cache.fetch'], { cwd: d }).stdout, '+refs/heads/*:refs/remotes/cache/*\n')

  const since = server.requests.length
  const b = await tsgit(['backfill'], { cwd: d })
  t.equal(b.status, 0, b.stderr)
  const fetches = server.requests.slice(since).filter((r) => r.command === 'fetch')
  t.equal(fetches.length, 1, 'one request')
  t.equal(fetches[0]?.path, '/mirror.git/git-upload-pack', 'served by the remote added by hand (before extensions.partialClone)')
  t.equal(git(['rev-list', '--objects', '--missing=print', 'HEAD'], { cwd: d }).stdout.split('\n').filter((l) => l.startsWith('?')).length, 0)
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
})
