/**
 * fetch's --dry-run, --atomic, --all, negative refspecs and fetching an object id, each
 * judged against git fetch doing the same in a twin clone: refs, FETCH_HEAD, report,
 * exit code. The object id is fetched from a git http-backend that allows no
 * unadvertised want (uploadpack.allowAnySHA1InWant and allowReachableSHA1InWant false):
 * protocol v2's upload-pack serves any object it has all the same, for git as for tsgit.
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

let work = ''
let n = 0
const srv = serveRepos(t, 'tsgit-fetch-options-', async (root) => {
  work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  commit('one')
  commit('two')
  for (const b of ['keep', 'skip-a', 'skip-b']) git(['branch', b], { cwd: work })
  git(['clone', '-q', '--bare', work, join(root, 'repo.git')])
})

/** The same repositories served by a git that refuses unadvertised wants as far as its config can. */
let strict: GitServer
t.before(async () => {
  strict = await startGitServer({ root: srv.root, config: { 'uploadpack.allowAnySHA1InWant': 'false', 'uploadpack.allowReachableSHA1InWant': 'false', 'uploadpack.allowTipSHA1InWant': 'false' } })
})
t.teardown(async () => strict.close())

function commit(message: string): void {
  writeFileSync(join(work, 'f'), `${message} ${n++}\n`)
  git(['add', 'f'], { cwd: work })
  git(['commit', '-q', '-m', message], { cwd: work })
}

function push(...args: string[]): void {
  git(['push', '-q', join(srv.root, 'repo.git'), ...args], { cwd: work })
}

async function twins(): Promise<{ ours: string; theirs: string }> {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  for (const d of [ours, theirs]) await gitAsync(['clone', '-q', srv.server.url('repo.git'), d])
  return { ours, theirs }
}

const refsOf = (d: string): string => git(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: d }).stdout
const fetchHead = (d: string): string | undefined => (existsSync(join(d, '.git', 'FETCH_HEAD')) ? readFileSync(join(d, '.git', 'FETCH_HEAD'), 'utf8') : undefined)
const sorted = (text: string): string[] => text.split('\n').filter((l) => l !== '').sort()

async function both(t: Test, ours: string, theirs: string, args: string[]): Promise<void> {
  const what = `fetch ${args.join(' ')}`
  const r = await tsgit(['fetch', ...args], { cwd: ours })
  const g = await gitAsync(['fetch', ...args], { cwd: theirs, allowFail: true })
  t.equal(r.status, g.status, `${what}: exit ${g.status} (${r.stderr.trim()})`)
  t.same(sorted(r.stderr), sorted(g.stderr), `${what}: the same report`)
  t.equal(r.stdout, g.stdout, `${what}: the same output`)
  t.equal(refsOf(ours), refsOf(theirs), `${what}: the same refs`)
  t.equal(fetchHead(ours), fetchHead(theirs), `${what}: the same FETCH_HEAD`)
}

t.test('--dry-run: the report, objects fetched, no ref or FETCH_HEAD written', async (t) => {
  const { ours, theirs } = await twins()
  for (const d of [ours, theirs]) git(['update-ref', '-d', 'refs/remotes/origin/keep'], { cwd: d })
  commit('for the dry run')
  push('main')
  for (const d of [ours, theirs]) writeFileSync(join(d, '.git', 'FETCH_HEAD'), 'left alone\n')
  await both(t, ours, theirs, ['--dry-run', 'origin'])
  t.equal(fetchHead(ours), 'left alone\n')
  const tip = git(['rev-parse', 'main'], { cwd: work }).stdout.trim()
  t.equal(git(['cat-file', '-t', tip], { cwd: ours }).stdout, 'commit\n', 'the objects came in')
  t.notMatch(refsOf(ours), tip, 'no ref names them')
})

t.test('--atomic: all refs or none; a refused one leaves every ref as it was, as git', async (t) => {
  const { ours, theirs } = await twins()
  commit('atomic')
  push('main')
  // a remote-tracking ref ahead of its branch: not a fast-forward without '+'
  for (const d of [ours, theirs]) {
    git(['config', 'remote.origin.fetch', 'refs/heads/*:refs/remotes/origin/*'], { cwd: d })
    const elsewhere = git(['commit-tree', '-m', 'not on the remote', 'HEAD^{tree}'], { cwd: d }).stdout.trim()
    git(['update-ref', 'refs/remotes/origin/keep', elsewhere], { cwd: d })
  }
  const before = refsOf(ours)
  const r = await tsgit(['fetch', '--atomic', 'origin'], { cwd: ours })
  const g = await gitAsync(['fetch', '--atomic', 'origin'], { cwd: theirs, allowFail: true })
  t.equal(r.status, 1)
  t.equal(g.status, 1)
  t.equal(refsOf(ours), before, 'main was not moved either')
  t.equal(refsOf(ours), refsOf(theirs))
  t.equal(fetchHead(ours), fetchHead(theirs), 'FETCH_HEAD emptied, as git')
  t.match(r.stderr, /^ ! \[rejected\] +keep +-> origin\/keep {2}\(non-fast-forward\)$/m)
  t.match(r.stderr, /^error: fetch --atomic: an update was refused, no ref was updated$/m, 'where git prints an empty "error: "')

  for (const d of [ours, theirs]) git(['update-ref', '-d', 'refs/remotes/origin/keep'], { cwd: d })
  await both(t, ours, theirs, ['--atomic', 'origin'])
})

t.test('negative refspecs, on the command line and in remote.<name>.fetch', async (t) => {
  const { ours, theirs } = await twins()
  for (const d of [ours, theirs]) for (const b of ['keep', 'skip-a', 'skip-b']) git(['update-ref', '-d', `refs/remotes/origin/${b}`], { cwd: d })
  await both(t, ours, theirs, ['origin', '^refs/heads/skip-*', 'refs/heads/*:refs/remotes/origin/*'])
  t.notMatch(refsOf(ours), 'skip-', 'the glob kept skip-a and skip-b out')
  t.match(refsOf(ours), 'refs/remotes/origin/keep')
  await both(t, ours, theirs, ['origin', '^refs/heads/keep'])
  for (const d of [ours, theirs]) git(['config', '--add', 'remote.origin.fetch', '^refs/heads/skip-b'], { cwd: d })
  await both(t, ours, theirs, ['origin'])
  t.match(refsOf(ours), 'skip-a')
  t.notMatch(refsOf(ours), 'skip-b', 'remote.origin.fetch\'s negative refspec')
  for (const bad of ['^refs/heads/a:refs/heads/b', '+^refs/heads/a']) {
    const r = await tsgit(['fetch', 'origin', bad], { cwd: ours })
    const g = await gitAsync(['fetch', 'origin', bad], { cwd: theirs, allowFail: true })
    t.equal(r.status, g.status, `${bad}: exit ${g.status}`)
    t.equal(r.stderr, g.stderr, `${bad}: ${g.stderr.trim()}`)
  }
})

t.test('--all: every remote, announced, FETCH_HEAD from all of them', async (t) => {
  const { ours, theirs } = await twins()
  await both(t, ours, theirs, ['--all'])
  for (const d of [ours, theirs]) git(['remote', 'add', 'second', srv.server.url('repo.git')], { cwd: d })
  commit('for all')
  push('main')
  await both(t, ours, theirs, ['--all'])
  t.match(refsOf(ours), 'refs/remotes/second/main')
  await both(t, ours, theirs, ['--all', '-q'])
  for (const args of [['--all', 'origin'], ['--all', 'origin', 'main']]) {
    const r = await tsgit(['fetch', ...args], { cwd: ours })
    const g = await gitAsync(['fetch', ...args], { cwd: theirs, allowFail: true })
    t.equal(r.status, g.status)
    t.equal(r.stderr, g.stderr, `${args.join(' ')}: ${g.stderr.trim()}`)
  }
})

t.test('an object id that no ref names, from a server that allows no unadvertised want: v2 serves it, as to git', async (t) => {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  for (const d of [ours, theirs]) {
    git(['init', '-q', d])
    git(['remote', 'add', 'origin', strict.url('repo.git')], { cwd: d })
  }
  const old = git(['rev-parse', 'main~1'], { cwd: work }).stdout.trim()
  const since = strict.requests.length
  await both(t, ours, theirs, ['--no-tags', '--no-recurse-submodules', 'origin', `+${old}:refs/remotes/origin/main`])
  t.ok(strict.requests.slice(since).some((q) => q.command === 'fetch' && q.args.includes(`want ${old}`)), 'the id wanted as it is')
  t.equal(git(['rev-parse', 'refs/remotes/origin/main'], { cwd: ours }).stdout.trim(), old)
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  const missing = await tsgit(['fetch', 'origin', '1234567890123456789012345678901234567890'], { cwd: ours })
  const g = await gitAsync(['fetch', 'origin', '1234567890123456789012345678901234567890'], { cwd: theirs, allowFail: true })
  t.equal(missing.status, 128)
  t.equal(missing.stderr, g.stderr, 'an object the server does not have: git\'s words')
})

t.test('a relative remote URL is read from the top of the work tree, as git reads it, for fetch and for a lazy fetch', async (t) => {
  const { ours, theirs } = await twins()
  const repoGit = join(srv.root, 'repo.git')
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: repoGit })
  commit('relative')
  push('main')
  for (const d of [ours, theirs]) {
    git(['remote', 'set-url', 'origin', `../srv/repo.git`], { cwd: d })
    git(['checkout', '-q', '-b', 'sub'], { cwd: d })
  }
  // run from elsewhere, through -C: the URL still means <top>/../srv/repo.git
  const r = await tsgit(['-C', ours, 'fetch', 'origin'], { cwd: '/' })
  const g = await gitAsync(['-C', theirs, 'fetch', 'origin'], { cwd: '/', allowFail: true })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr, g.stderr, 'the same report')
  t.equal(refsOf(ours), refsOf(theirs))

  // a blob:none clone whose promisor URL is relative: its lazy fetch finds the remote too
  const partial = srv.dest('partial')
  git(['clone', '-q', '--no-checkout', '--filter=blob:none', `file://${repoGit}`, partial])
  git(['remote', 'set-url', 'origin', '../srv/repo.git'], { cwd: partial })
  const blob = git(['rev-parse', 'main:f'], { cwd: work }).stdout.trim()
  const shown = await tsgit(['-C', partial, 'cat-file', '-p', blob], { cwd: '/' })
  t.equal(shown.status, 0, shown.stderr)
  t.equal(shown.stdout, readFileSync(join(work, 'f'), 'utf8'), 'the blob, fetched from the relative URL')
})
