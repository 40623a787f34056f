/**
 * git:// against a real `git daemon` on loopback: the daemon's request line, clone (whole
 * and blob:none), fetch and a lazy fetch, each judged against real git cloning and
 * fetching the same (refs, the object set, git fsck, git status).
 */
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { startGitDaemon, startOldGitDaemon, type GitDaemon } from '../fixtures/daemon.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { tsgit } from '../fixtures/tsgit.js'
import { daemonRequest } from '../../lib/transport/daemon.js'

const tmp = tempDir('tsgit-daemon-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
let rich: RichRepo
let daemon: GitDaemon
let n = 0
const dest = (p: string): string => join(tmp.path, `${p}${n++}`)

t.before(async () => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  // server-side config in the repository, as git's own tests set it
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: rich.path })
  daemon = await startGitDaemon(root)
})
t.teardown(async () => daemon?.close())

async function sameAsGit(t: Test, ours: string, theirs: string): Promise<void> {
  t.equal(git(['for-each-ref'], { cwd: ours }).stdout, git(['for-each-ref'], { cwd: theirs }).stdout, 'refs as git’s')
  const objects = ['rev-list', '--objects', '--all', '--missing=print']
  t.equal((await gitAsync(objects, { cwd: ours })).stdout, (await gitAsync(objects, { cwd: theirs })).stdout, 'the object set (and what is missing) as git’s')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '', 'git status clean')
}

t.test('the request line: service, path, host (with the port when the URL has one), version=2 as an extra parameter', async (t) => {
  t.equal(daemonRequest({ kind: 'git', host: 'example.com', path: '/r.git', displayUrl: '' }).toString('latin1'), 'git-upload-pack /r.git\0host=example.com\0\0version=2\0')
  t.equal(daemonRequest({ kind: 'git', host: '::1', port: 9419, path: '~a/r', displayUrl: '' }).toString('latin1'), 'git-upload-pack ~a/r\0host=[::1]:9419\0\0version=2\0')
})

for (const flags of [[], ['--filter=blob:none']]) {
  t.test(`clone ${flags.join(' ')} over git://: what git's clone makes`, async (t) => {
    const url = daemon.url('rich.git')
    const ours = dest('ours')
    const theirs = dest('theirs')
    const r = await tsgit(['clone', '-q', ...flags, url, ours])
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stderr, '')
    await gitAsync(['clone', '-q', ...flags, url, theirs])
    await sameAsGit(t, ours, theirs)
    t.equal(git(['config', 'remote.origin.url'], { cwd: ours }).stdout, `${url}\n`)
    if (flags.length > 0) t.match(git(['rev-list', '--objects', '--all', '--missing=print'], { cwd: ours }).stdout, /^\?/m, 'a partial clone: blobs of history left out')
  })
}

t.test('fetch over git://: the refs git gets', async (t) => {
  const url = daemon.url('rich.git')
  const ours = dest('ours')
  const theirs = dest('theirs')
  t.equal((await tsgit(['clone', '-q', url, ours])).status, 0)
  await gitAsync(['clone', '-q', url, theirs])
  const work = dest('work')
  git(['clone', '-q', rich.path, work])
  writeFileSync(join(work, 'new.txt'), 'new\n')
  git(['add', 'new.txt'], { cwd: work })
  git(['commit', '-q', '-m', 'new'], { cwd: work })
  git(['push', '-q', 'origin', 'HEAD:refs/heads/daemon-topic'], { cwd: work })
  t.teardown(() => git(['push', '-q', 'origin', ':refs/heads/daemon-topic'], { cwd: work }))
  const r = await tsgit(['fetch', '-q'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  await gitAsync(['fetch', '-q'], { cwd: theirs })
  t.equal(git(['for-each-ref'], { cwd: ours }).stdout, git(['for-each-ref'], { cwd: theirs }).stdout, 'refs as git’s')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  // nothing new: no fetch, the connection ended with a flush (upload-pack ends cleanly)
  const again = await tsgit(['fetch'], { cwd: ours })
  t.equal(again.status, 0, again.stderr)
  t.equal(again.stderr, '')
})

t.test('lazy fetch over git://: checkout of a blob:none clone fetches its blobs from the daemon', async (t) => {
  const ours = dest('ours')
  t.equal((await tsgit(['clone', '-q', '--filter=blob:none', '--no-checkout', daemon.url('rich.git'), ours])).status, 0)
  const before = daemon.log().split('\n').filter((l) => l.includes('Request upload-pack')).length
  const r = await tsgit(['checkout', '-q', 'main'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const after = daemon.log().split('\n').filter((l) => l.includes('Request upload-pack')).length
  t.equal(after - before, 1, 'one connection for every blob of the checkout')
  const missing = git(['rev-list', '--no-walk', '--objects', '--missing=print', 'HEAD'], { cwd: ours }).stdout.split('\n').filter((l) => l.startsWith('?'))
  t.same(missing, [], 'nothing of HEAD missing')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '', 'git status clean')
})

t.test('a daemon whose upload-pack answers in v0: clone --filter=blob:none and its lazy fetch, each on a connection of its own, as git’s', async (t) => {
  git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], { cwd: rich.path })
  t.teardown(() => git(['config', '--unset', 'uploadpack.allowAnySHA1InWant'], { cwd: rich.path }))
  const old = await startOldGitDaemon(root)
  t.teardown(() => old.close())
  const url = old.url('rich.git')
  const ours = dest('ours')
  const theirs = dest('theirs')
  const r = await tsgit(['clone', '-q', '--filter=blob:none', url, ours])
  t.equal(r.status, 0, r.stderr)
  t.equal(old.connections(), 2, 'the clone, then the checkout’s lazy fetch')
  await gitAsync(['clone', '-q', '--filter=blob:none', url, theirs])
  await sameAsGit(t, ours, theirs)
  // backfill: batch after batch on one session; upload-pack serves one fetch per connection
  const before = old.connections()
  const b = await tsgit(['backfill', '--min-batch-size=2'], { cwd: ours })
  t.equal(b.status, 0, b.stderr)
  t.ok(old.connections() - before > 1, 'a connection for each batch')
  const missing = git(['rev-list', '--objects', '--all', '--missing=print'], { cwd: ours }).stdout.split('\n').filter((l) => l.startsWith('?'))
  t.same(missing, [], 'every blob of history is here')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
})

t.test('a path the daemon does not serve: its words, as git prints them', async (t) => {
  const url = daemon.url('nope.git')
  const r = await tsgit(['clone', url, dest('nope')])
  t.equal(r.status, 128)
  const theirs = await gitAsync(['clone', url, dest('nope')], { allowFail: true })
  const line = theirs.stderr.split('\n').find((l) => l.startsWith('fatal:'))
  t.ok(line !== undefined && r.stderr.includes(line), `tsgit says git's "${line}"`)
})
