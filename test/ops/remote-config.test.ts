/**
 * Remote management as an operation (the command line is test/cli/remote.test.ts):
 * openRemotes finds the repository first, then adds, lists and removes remotes with the
 * config bytes and refs git's `remote` leaves, refusing as git does.
 */
import t from 'tap'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RepositoryError } from '../../lib/errors.js'
import { RemoteConfigError, openRemotes } from '../../lib/ops/remote-config.js'
import { PINNED_ENV, git, tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-ops-remote-')
t.teardown(tmp.cleanup)

function twins(name: string): { real: string; ours: string } {
  const out = { real: join(tmp.path, `${name}-real`), ours: join(tmp.path, `${name}-ours`) }
  for (const dir of [out.real, out.ours]) {
    git(['init', '-q', '-b', 'main', dir])
    git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: dir })
  }
  return out
}

const open = (cwd: string, configOverrides: string[] = []) => openRemotes({ cwd, env: { ...PINNED_ENV }, configOverrides })
const bytes = (dir: string): string => readFileSync(join(dir, '.git/config'), 'latin1')
const refs = (dir: string): string => git(['for-each-ref', '--format=%(refname)'], { cwd: dir }).stdout

t.test('add, list, remove: the bytes and refs git leaves', async (t) => {
  const d = twins('basic')
  const remotes = await open(d.ours)
  t.same(remotes.list(), [])
  await remotes.add('origin', 'https://example.com/a.git')
  await remotes.add('cache', '/srv/cache.git')
  git(['remote', 'add', 'origin', 'https://example.com/a.git'], { cwd: d.real })
  git(['remote', 'add', 'cache', '/srv/cache.git'], { cwd: d.real })
  t.equal(bytes(d.ours), bytes(d.real), 'config bytes after add')
  t.same(remotes.list().map((r) => r.name), ['cache', 'origin'], 'sorted by name, as git lists them')
  t.same(remotes.list()[1], { name: 'origin', urls: ['https://example.com/a.git'], pushUrls: [] })

  for (const dir of [d.real, d.ours]) git(['update-ref', 'refs/remotes/cache/main', 'HEAD'], { cwd: dir })
  const removed = await remotes.remove('cache')
  git(['remote', 'remove', 'cache'], { cwd: d.real })
  t.same(removed, { refs: ['refs/remotes/cache/main'], skipped: [] })
  t.equal(bytes(d.ours), bytes(d.real), 'config bytes after remove')
  t.equal(refs(d.ours), refs(d.real), 'the same refs left')
  t.same((await open(d.ours)).list().map((r) => r.name), ['origin'], 'a handle opened afterwards sees the change')
})

t.test('refusals: git\'s exit statuses; outside a repository, the repository error first', async (t) => {
  const d = twins('refuse')
  const remotes = await open(d.ours)
  await remotes.add('origin', 'u')
  const exists = await remotes.add('origin', 'v').catch((e: unknown) => e)
  t.ok(exists instanceof RemoteConfigError)
  t.equal((exists as RemoteConfigError).exitCode, 3, 'already exists: 3')
  const none = await remotes.remove('nope').catch((e: unknown) => e)
  t.equal((none as RemoteConfigError).exitCode, 2, 'no such remote: 2')
  await t.rejects(remotes.add('bad name', 'u'), RepositoryError, 'an invalid name is fatal')

  const outside = join(tmp.path, 'outside')
  mkdirSync(outside)
  await t.rejects(open(outside), RepositoryError)
})
