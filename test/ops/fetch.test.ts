/**
 * tsgit fetch, judged against git fetch: the same remote and the same changes on it,
 * one clone fetched by tsgit and one by git; refs, FETCH_HEAD, reflogs, report lines
 * and exit codes compared, real git's fsck on the result, the requests counted.
 */
import t from 'tap'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { appendHistory, linearHistory } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let work = ''
let n = 0
const srv = serveRepos(t, 'tsgit-fetch-', async (root) => {
  work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  commit('f', 'one')
  git(['clone', '-q', '--bare', work, join(root, 'repo.git')])
  git(['remote', 'add', 'origin', join(root, 'repo.git')], { cwd: work })
})

/** A new commit in the work repository (not yet pushed). */
function commit(file: string, content: string): void {
  writeFileSync(join(work, file), `${content} ${n++}\n`)
  git(['add', file], { cwd: work })
  git(['commit', '-q', '-m', content], { cwd: work })
}

function push(...args: string[]): void {
  git(['push', '-q', ...args], { cwd: work })
}

/** A tsgit clone and a git clone of the served repository, made with the same flags. */
async function twins(flags: string[] = []): Promise<{ ours: string; theirs: string }> {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  const r = await tsgit(['clone', '-q', ...flags, srv.server.url('repo.git'), ours])
  if (r.status !== 0) throw new Error(r.stderr)
  await gitAsync(['clone', '-q', ...flags, srv.server.url('repo.git'), theirs])
  return { ours, theirs }
}

function refsOf(dir: string): string {
  return git(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: dir }).stdout
}

function sortedLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '').sort()
}

t.test('new commits, branches and tags: the refs, FETCH_HEAD, reflog and report of git fetch', async (t) => {
  const { ours, theirs } = await twins()
  commit('f', 'two')
  git(['tag', 'light'], { cwd: work })
  git(['tag', '-a', 'annotated', '-m', 'annotated'], { cwd: work })
  git(['branch', 'a-rather-long-branch-name'], { cwd: work })
  push('origin', 'main', 'a-rather-long-branch-name', 'light', 'annotated')

  const since = srv.server.requests.length
  const r = await tsgit(['fetch'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const fetches = srv.server.requests.slice(since).filter((q) => q.command === 'fetch')
  t.equal(fetches.length, 1, 'one fetch request')
  t.ok(fetches[0]?.args.some((a) => a.startsWith('have ')), 'the local tips offered as haves')
  t.ok(fetches[0]?.args.includes('include-tag'))
  const g = await gitAsync(['fetch'], { cwd: theirs })

  t.equal(refsOf(ours), refsOf(theirs), 'the same refs')
  t.equal(readFileSync(join(ours, '.git', 'FETCH_HEAD'), 'utf8'), readFileSync(join(theirs, '.git', 'FETCH_HEAD'), 'utf8'), 'the same FETCH_HEAD')
  t.same(sortedLines(r.stderr), sortedLines(g.stderr), 'the same report')
  const reflog = (d: string, ref: string): string => git(['reflog', 'show', '--format=%gs', ref], { cwd: d }).stdout
  for (const ref of ['refs/remotes/origin/main', 'refs/remotes/origin/a-rather-long-branch-name']) t.equal(reflog(ours, ref), reflog(theirs, ref), `the same reflog messages: ${ref}`)
  t.equal(git(['fsck', '--strict'], { cwd: ours }).status, 0, 'git fsck')

  const again = srv.server.requests.length
  const idle = await tsgit(['fetch'], { cwd: ours })
  t.equal(idle.status, 0)
  t.equal(idle.stderr, '', 'nothing to report when nothing changed')
  t.equal(srv.fetches(again), 0, 'and no fetch request: the refs were all there')
})

t.test('a forced update with +, a refused one without: as git, exit 1', async (t) => {
  const { ours, theirs } = await twins()
  commit('f', 'to be rewritten')
  push('origin', 'main')
  for (const d of [ours, theirs]) t.equal((await tsgit(['fetch', '-q'], { cwd: d })).status, 0)
  git(['commit', '-q', '--amend', '-m', 'rewritten'], { cwd: work })
  push('-f', 'origin', 'main')
  const r = await tsgit(['fetch'], { cwd: ours })
  const g = await gitAsync(['fetch'], { cwd: theirs })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr, g.stderr, 'git\'s forced-update line')
  t.match(r.stderr, /^ \+ [0-9a-f]{7}\.\.\.[0-9a-f]{7} main +-> origin\/main {2}\(forced update\)$/m)
  t.equal(refsOf(ours), refsOf(theirs))

  for (const d of [ours, theirs]) git(['config', 'remote.origin.fetch', 'refs/heads/*:refs/remotes/origin/*'], { cwd: d })
  git(['commit', '-q', '--amend', '-m', 'rewritten again'], { cwd: work })
  push('-f', 'origin', 'main')
  const before = refsOf(ours)
  const refused = await tsgit(['fetch'], { cwd: ours })
  const gitRefused = await gitAsync(['fetch'], { cwd: theirs, allowFail: true })
  t.equal(refused.status, 1, 'exit 1')
  t.equal(gitRefused.status, 1)
  t.equal(refused.stderr, gitRefused.stderr, 'git\'s rejected line')
  t.equal(refsOf(ours), before, 'the ref is left alone')
  const quiet = await tsgit(['fetch', '-q'], { cwd: ours })
  t.equal(quiet.status, 1)
  t.equal(quiet.stderr, '', 'nothing printed under -q, as git')
})

t.test('a blob:none clone fetches with its filter: a promisor pack without the new blobs', async (t) => {
  const { ours } = await twins(['--filter=blob:none'])
  commit('new-file', 'blobless')
  push('origin', 'main')
  const since = srv.server.requests.length
  const r = await tsgit(['fetch'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const f = srv.server.requests.slice(since).find((q) => q.command === 'fetch')
  t.ok(f?.args.includes('filter blob:none'), 'the remote\'s partialclonefilter')
  const missing = git(['rev-list', '--objects', '--missing=print', 'origin/main'], { cwd: ours }).stdout
  const blob = git(['rev-parse', 'main:new-file'], { cwd: work }).stdout.trim()
  t.match(missing, `?${blob}`, 'the new blob was left on the server')
  t.equal(git(['fsck', '--connectivity-only'], { cwd: ours }).status, 0, 'git fsck: every pack a promisor pack')
  t.equal((await gitAsync(['cat-file', '-p', 'origin/main:new-file'], { cwd: ours })).status, 0, 'and real git fetches it lazily')
})

t.test('--no-tags and remote.<name>.tagOpt: no tag followed; --tags: all of them', async (t) => {
  const { ours } = await twins()
  commit('f', 'tagged')
  git(['tag', 'not-followed'], { cwd: work })
  push('origin', 'main', 'not-followed')
  t.equal((await tsgit(['fetch', '--no-tags'], { cwd: ours })).status, 0)
  t.equal(git(['tag', '-l', 'not-followed'], { cwd: ours }).stdout, '', '--no-tags')
  git(['tag', 'elsewhere', 'HEAD~1'], { cwd: work })
  push('origin', 'elsewhere')
  git(['config', 'remote.origin.tagOpt', '--tags'], { cwd: ours })
  const r = await tsgit(['fetch'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['tag', '-l'], { cwd: ours }).stdout.includes('elsewhere'), true, 'tagOpt --tags: every tag, even one on old history')
})

t.test('errors: an unknown remote, a remote ref that is not there, a short destination', async (t) => {
  const { ours } = await twins()
  const unknown = await tsgit(['fetch', 'nowhere'], { cwd: ours })
  t.equal(unknown.status, 128)
  t.match(unknown.stderr, /^fatal: 'nowhere' does not appear to be a git repository$/m)
  const missing = await tsgit(['fetch', 'origin', 'no-such-branch'], { cwd: ours })
  t.equal(missing.status, 128)
  t.match(missing.stderr, /^fatal: couldn't find remote ref no-such-branch$/m, 'git\'s words')
  const short = await tsgit(['fetch', 'origin', 'main:copy'], { cwd: ours })
  t.equal(short.status, 129)
  t.match(short.stderr, /must be a full ref name/)
  commit('f', 'not to be fetched into a checked-out branch')
  push('origin', 'main')
  const before = refsOf(ours)
  const checkedOut = await tsgit(['fetch', 'origin', 'main:refs/heads/main'], { cwd: ours })
  t.equal(checkedOut.status, 128)
  t.equal(checkedOut.stderr, `fatal: refusing to fetch into branch 'refs/heads/main' checked out at '${ours}'\n`, 'git\'s words')
  t.equal(refsOf(ours), before, 'nothing moved')
})

t.test('refspecs on the command line: FETCH_HEAD, refs, reflogs and report as git fetch', async (t) => {
  const { ours, theirs } = await twins()
  commit('f', 'main moves')
  git(['checkout', '-q', '-b', 'topic'], { cwd: work })
  commit('t', 'on topic')
  git(['tag', 'vtopic'], { cwd: work })
  git(['checkout', '-q', 'main'], { cwd: work })
  push('origin', 'main', 'topic', 'vtopic')
  const mainTip = git(['rev-parse', 'main'], { cwd: work }).stdout.trim()
  const lines = [
    ['origin', 'topic'],
    ['origin', `${mainTip}`],
    ['origin', 'main:refs/heads/copy'],
    ['-q', 'origin', '+refs/heads/*:refs/test/*'],
  ]
  for (const args of lines) {
    const r = await tsgit(['fetch', ...args], { cwd: ours })
    const g = await gitAsync(['fetch', ...args], { cwd: theirs })
    const what = `fetch ${args.join(' ')}`
    t.equal(r.status, 0, `${what}: ${r.stderr}`)
    t.same(sortedLines(r.stderr), sortedLines(g.stderr), `${what}: the same report`)
    t.equal(refsOf(ours), refsOf(theirs), `${what}: the same refs`)
    t.equal(readFileSync(join(ours, '.git', 'FETCH_HEAD'), 'utf8'), readFileSync(join(theirs, '.git', 'FETCH_HEAD'), 'utf8'), `${what}: the same FETCH_HEAD`)
  }
  const reflog = (d: string, ref: string): string => git(['reflog', 'show', '--format=%gs', ref], { cwd: d }).stdout
  for (const ref of ['refs/remotes/origin/topic', 'refs/remotes/origin/main', 'refs/heads/copy']) t.equal(reflog(ours, ref), reflog(theirs, ref), `reflog of ${ref}`)
  t.equal(git(['fsck'], { cwd: ours }).status, 0)
})

t.test('a shallow clone (git clone --depth=1): the shallow commits sent, nothing past them fetched, as git', async (t) => {
  commit('f', 'before the shallow clones')
  commit('f', 'their tip')
  push('origin', 'main')
  const ours = srv.dest('shallow-ours')
  const theirs = srv.dest('shallow-theirs')
  for (const d of [ours, theirs]) await gitAsync(['clone', '-q', '--depth=1', '--no-single-branch', srv.server.url('repo.git'), d])
  const shallowBefore = readFileSync(join(ours, '.git', 'shallow'), 'utf8')
  commit('f', 'after one')
  commit('f', 'after two')
  git(['branch', '-f', 'side', 'HEAD~3'], { cwd: work })
  push('-f', 'origin', 'main', 'side')

  const since = srv.server.requests.length
  const r = await tsgit(['fetch'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const f = srv.server.requests.slice(since).find((q) => q.command === 'fetch')
  t.ok(f?.args.includes(`shallow ${shallowBefore.trim().split('\n')[0]}`), 'the shallow commits are sent')
  const g = await gitAsync(['fetch'], { cwd: theirs })
  t.same(sortedLines(r.stderr), sortedLines(g.stderr), 'the same report')
  t.equal(refsOf(ours), refsOf(theirs), 'the same refs')
  t.equal(readFileSync(join(ours, '.git', 'shallow'), 'utf8'), readFileSync(join(theirs, '.git', 'shallow'), 'utf8'), 'the same .git/shallow')
  t.equal(readFileSync(join(ours, '.git', 'FETCH_HEAD'), 'utf8'), readFileSync(join(theirs, '.git', 'FETCH_HEAD'), 'utf8'), 'the same FETCH_HEAD')
  const count = (d: string): string => git(['rev-list', '--count', '--all'], { cwd: d }).stdout
  t.equal(count(ours), count(theirs), 'the same history, no more')
  t.equal(git(['fsck'], { cwd: ours }).status, 0, 'git fsck')
})

t.test('--prune, and remote.<name>.prune: remote-tracking refs of deleted branches go, as git', async (t) => {
  git(['branch', '-f', 'gone', 'main'], { cwd: work })
  git(['branch', '-f', 'gone-too', 'main'], { cwd: work })
  push('origin', 'gone', 'gone-too')
  const { ours, theirs } = await twins()
  push('origin', '--delete', 'gone', 'gone-too')
  commit('f', 'while branches went')
  push('origin', 'main')
  const r = await tsgit(['fetch', '--prune'], { cwd: ours })
  const g = await gitAsync(['fetch', '--prune'], { cwd: theirs })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr, g.stderr, 'the same report, the deletions first')
  t.match(r.stderr, /^ - \[deleted\] +\(none\) +-> origin\/gone$/m)
  t.equal(refsOf(ours), refsOf(theirs), 'the same refs: origin/HEAD kept')
  t.notOk(existsSync(join(ours, '.git', 'logs', 'refs', 'remotes', 'origin', 'gone')), 'the reflog went with the ref')
  t.equal(readFileSync(join(ours, '.git', 'FETCH_HEAD'), 'utf8'), readFileSync(join(theirs, '.git', 'FETCH_HEAD'), 'utf8'))

  git(['branch', '-f', 'gone-again', 'main'], { cwd: work })
  push('origin', 'gone-again')
  t.equal((await tsgit(['fetch', '-q'], { cwd: ours })).status, 0)
  push('origin', '--delete', 'gone-again')
  t.equal((await tsgit(['fetch', '-q'], { cwd: ours })).status, 0)
  t.match(refsOf(ours), /refs\/remotes\/origin\/gone-again/, 'not pruned unless asked')
  git(['config', 'remote.origin.prune', 'true'], { cwd: ours })
  t.equal((await tsgit(['fetch', '-q'], { cwd: ours })).status, 0)
  t.notMatch(refsOf(ours), /refs\/remotes\/origin\/gone-again/, 'remote.origin.prune=true prunes')
})

t.test('a URL instead of a remote name: its HEAD, or the refspecs given, to FETCH_HEAD, as git', async (t) => {
  const { ours, theirs } = await twins()
  commit('f', 'fetched by URL')
  push('origin', 'main')
  const url = srv.server.url('repo.git')
  for (const args of [[url], [url, 'main'], [`${url}/`, 'main:refs/heads/via-url']]) {
    const what = `fetch ${args.join(' ')}`
    const r = await tsgit(['fetch', ...args], { cwd: ours })
    const g = await gitAsync(['fetch', ...args], { cwd: theirs })
    t.equal(r.status, 0, `${what}: ${r.stderr}`)
    t.equal(r.stderr, g.stderr, `${what}: the same report`)
    t.equal(readFileSync(join(ours, '.git', 'FETCH_HEAD'), 'utf8'), readFileSync(join(theirs, '.git', 'FETCH_HEAD'), 'utf8'), `${what}: the same FETCH_HEAD`)
    t.equal(refsOf(ours), refsOf(theirs), `${what}: the same refs (no remote-tracking update)`)
  }
  const reflog = (d: string): string => git(['reflog', 'show', '--format=%gs', 'refs/heads/via-url'], { cwd: d }).stdout
  t.equal(reflog(ours), reflog(theirs))
})

t.test('more than 2^14 packed objects: ids shortened to git\'s length, the pack just received counted, as git', async (t) => {
  const big = join(srv.root, 'abbrev.git')
  git(['init', '-q', '--bare', '-b', 'main', big])
  // 16,200 objects: git's length is 7 below 16,384, 8 from there
  appendHistory(big, linearHistory('refs/heads/main', 5400, 'base'))
  const clone = srv.dest('abbrev')
  git(['clone', '-q', '--no-local', '--no-checkout', big, clone])
  git(['remote', 'set-url', 'origin', srv.server.url('abbrev.git')], { cwd: clone })
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  cpSync(clone, ours, { recursive: true })
  cpSync(clone, theirs, { recursive: true })
  for (const added of [200, 1]) {
    const old = git(['rev-parse', 'main'], { cwd: big }).stdout.trim()
    appendHistory(big, linearHistory('refs/heads/main', added, `up${added}`, 'refs/heads/main^0'))
    const tip = git(['rev-parse', 'main'], { cwd: big }).stdout.trim()
    const r = await tsgit(['fetch', 'origin'], { cwd: ours })
    const g = await gitAsync(['fetch', 'origin'], { cwd: theirs })
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stderr, g.stderr, `${added} new: git's report`)
    t.equal(r.stderr, `From ${srv.server.url('abbrev')}\n   ${old.slice(0, 8)}..${tip.slice(0, 8)}  main       -> origin/main\n`, '8 digits, the column 19 wide')
  }
})
