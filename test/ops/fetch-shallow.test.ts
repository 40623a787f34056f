/**
 * fetch's shallow and partial options, judged against git fetch making the same steps in
 * a twin repository: --depth, --deepen, --unshallow, --shallow-since, --shallow-exclude,
 * --filter into a repository that was not partial, --no-filter, --refetch. What is
 * compared: .git/shallow's bytes, `git log`, the refs, FETCH_HEAD, the config, what the
 * server was asked; real git's fsck and checkout run in what tsgit made. And the fetch
 * GitHub's actions/checkout runs, in a repository made by `git init` + `git remote add`.
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deepenArgs } from '../../lib/ops/fetch-shallow.js'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

/** Commit i is made at this time (seconds since the epoch), a day apart. */
const DAY0 = 1577836800
const COMMITS = 8
let work = ''
const srv = serveRepos(t, 'tsgit-fetch-shallow-', async (root) => {
  work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  for (let i = 0; i < COMMITS; i++) {
    writeFileSync(join(work, `f${i}`), `file ${i}\n`)
    writeFileSync(join(work, 'common'), `changed by ${i}\n`)
    git(['add', '.'], { cwd: work })
    const date = `${DAY0 + i * 86400} +0000`
    git(['commit', '-q', '-m', `commit ${i}`], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } })
    if (i === 3) git(['branch', 'old'], { cwd: work })
  }
  git(['clone', '-q', '--bare', work, join(root, 'repo.git')])
})

const url = (): string => srv.server.url('repo.git')
const tip = (): string => git(['rev-parse', 'main'], { cwd: work }).stdout.trim()

/** Two repositories as actions/checkout makes them: `git init`, `git remote add origin <url>`. */
function initPair(): { ours: string; theirs: string } {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  for (const d of [ours, theirs]) {
    git(['init', '-q', d])
    git(['remote', 'add', 'origin', url()], { cwd: d })
  }
  return { ours, theirs }
}

async function clonePair(flags: string[] = []): Promise<{ ours: string; theirs: string }> {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  for (const d of [ours, theirs]) await gitAsync(['clone', '-q', ...flags, url(), d])
  return { ours, theirs }
}

const shallowFile = (d: string): string | undefined => (existsSync(join(d, '.git', 'shallow')) ? readFileSync(join(d, '.git', 'shallow'), 'utf8') : undefined)
const refsOf = (d: string): string => git(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: d }).stdout
const logOf = (d: string): string => git(['log', '--format=%H', '--all'], { cwd: d }).stdout
/** The config without the extensions.partialClone tsgit adds (a documented deviation). */
const configOf = (d: string): string => readFileSync(join(d, '.git', 'config'), 'utf8').replace(/\[extensions\]\n\tpartialClone = origin\n/, '')
const reflogOf = (d: string): string => git(['reflog', 'show', '--format=%H %gs', 'refs/remotes/origin/main'], { cwd: d, allowFail: true }).stdout
const fetchHead = (d: string): string => readFileSync(join(d, '.git', 'FETCH_HEAD'), 'utf8')

/** The same fetch by tsgit in `ours` and git in `theirs`, and what must come out the same. */
async function sameStep(t: Test, ours: string, theirs: string, args: string[]): Promise<string[]> {
  return (await step(t, ours, theirs, args)).fetch
}

/** sameStep, with the commands tsgit sent (ls-refs, fetch) and its fetch request's arguments. */
async function step(t: Test, ours: string, theirs: string, args: string[]): Promise<{ commands: string[]; fetch: string[] }> {
  const what = `fetch ${args.join(' ')}`
  const since = srv.server.requests.length
  const r = await tsgit(['fetch', ...args], { cwd: ours })
  t.equal(r.status, 0, `${what}: ${r.stderr}`)
  const seen = srv.server.requests.slice(since)
  const request = seen.find((q) => q.command === 'fetch')?.args ?? []
  const commands = seen.flatMap((q) => (q.command !== undefined ? [q.command] : []))
  const g = await gitAsync(['fetch', ...args], { cwd: theirs })
  t.equal(r.stderr, g.stderr, `${what}: the same report`)
  t.equal(shallowFile(ours), shallowFile(theirs), `${what}: .git/shallow, byte for byte (or absent in both)`)
  t.equal(logOf(ours), logOf(theirs), `${what}: git log --all`)
  t.equal(refsOf(ours), refsOf(theirs), `${what}: the refs`)
  t.equal(fetchHead(ours), fetchHead(theirs), `${what}: FETCH_HEAD`)
  t.equal(configOf(ours), configOf(theirs), `${what}: the config`)
  t.equal(reflogOf(ours), reflogOf(theirs), `${what}: the reflog of origin/main`)
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, `${what}: git fsck`)
  return { commands, fetch: request }
}

t.test('the fetch of actions/checkout, then --deepen, then --unshallow: step by step as git', async (t) => {
  const { ours, theirs } = initPair()
  const sha = tip()
  const line = ['--no-tags', '--prune', '--no-recurse-submodules', '--depth=1', '--filter=blob:none', 'origin', `+${sha}:refs/remotes/origin/main`]
  const { commands, fetch: first } = await step(t, ours, theirs, line)
  t.same(commands, ['fetch'], 'no ls-refs: nothing to list for an object id with --no-tags, as git lists nothing')
  t.ok(first.includes('deepen 1') && first.includes('filter blob:none') && first.includes(`want ${sha}`), 'deepen 1, the filter, the object id wanted')
  t.notOk(first.some((a) => a.startsWith('have ')), 'nothing to offer')
  t.equal(shallowFile(ours), `${sha}\n`)
  const packs = readdirSync(join(ours, '.git', 'objects', 'pack'))
  t.ok(packs.some((p) => p.endsWith('.promisor')), 'a promisor pack')
  t.match(readFileSync(join(ours, '.git', 'config'), 'utf8'), /\[core\]\n\trepositoryformatversion = 1\n[^]*\tpromisor = true\n\tpartialclonefilter = blob:none\n\[extensions\]\n\tpartialClone = origin\n$/)

  // what the workflow does next, with real git: a checkout that fetches its blobs lazily
  for (const d of [ours, theirs]) await gitAsync(['checkout', '-q', '--force', '-B', 'main', 'refs/remotes/origin/main'], { cwd: d })
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '', 'a clean checkout')
  t.equal(readFileSync(join(ours, 'common'), 'utf8'), `changed by ${COMMITS - 1}\n`)
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck after the checkout')

  const deeper = await sameStep(t, ours, theirs, ['--no-tags', '--prune', '--no-recurse-submodules', '--deepen=2', 'origin', `+${sha}:refs/remotes/origin/main`])
  t.ok(deeper.includes(`shallow ${sha}`) && deeper.includes('deepen 2') && deeper.includes('deepen-relative'), 'the boundary sent, two more asked for')
  t.ok(deeper.includes('filter blob:none'), 'the promisor remote\'s filter, from the config now')
  t.equal(git(['rev-list', '--count', 'HEAD'], { cwd: ours }).stdout, '3\n')

  await sameStep(t, ours, theirs, ['--unshallow', 'origin'])
  t.equal(shallowFile(ours), undefined, 'no .git/shallow any more')
  t.equal(git(['rev-list', '--count', 'HEAD'], { cwd: ours }).stdout, `${COMMITS}\n`, 'the whole history')
  const again = await tsgit(['fetch', '--unshallow', 'origin'], { cwd: ours })
  t.equal(again.status, 128)
  t.equal(again.stderr, 'fatal: --unshallow on a complete repository does not make sense\n')
  t.equal((await gitAsync(['fetch', '--unshallow', 'origin'], { cwd: theirs, allowFail: true })).stderr, again.stderr, 'git\'s words')
})

t.test('--depth on a full clone, then a deeper --depth, then --deepen', async (t) => {
  const { ours, theirs } = await clonePair()
  const cut = await sameStep(t, ours, theirs, ['--depth=2', 'origin'])
  t.ok(cut.includes('deepen 2'))
  t.ok(cut.includes(`want ${tip()}`), 'the tip wanted although it is here: the server draws the boundary from it')
  t.equal(git(['rev-list', '--count', 'origin/main'], { cwd: ours }).stdout, '2\n')
  await sameStep(t, ours, theirs, ['--depth=4', 'origin'])
  await sameStep(t, ours, theirs, ['--deepen=1', 'origin'])
  const lines = (shallowFile(ours) ?? '').split('\n').filter((l) => l !== '')
  t.ok(lines.length > 0, 'still shallow')
  t.same(lines, [...lines].sort(), 'the shallow commits sorted')
})

t.test('--shallow-since and --shallow-exclude, fetch and clone', async (t) => {
  const since = initPair()
  const request = await sameStep(t, since.ours, since.theirs, ['--shallow-since=@' + String(DAY0 + 5 * 86400), 'origin'])
  t.ok(request.includes(`deepen-since ${DAY0 + 5 * 86400}`))
  const exclude = initPair()
  const excluded = await sameStep(t, exclude.ours, exclude.theirs, ['--shallow-exclude=old', '--shallow-exclude=refs/heads/old', 'origin', 'main'])
  t.ok(excluded.includes('deepen-not old') && excluded.includes('deepen-not refs/heads/old'), 'each --shallow-exclude a deepen-not line')

  for (const flags of [['--shallow-since=2020-01-06 00:00:00 +0000'], ['--shallow-exclude=old'], ['--shallow-exclude=old', '--filter=blob:none']]) {
    const ours = srv.dest('clone-ours')
    const theirs = srv.dest('clone-theirs')
    const r = await tsgit(['clone', '-q', ...flags, url(), ours])
    t.equal(r.status, 0, r.stderr)
    await gitAsync(['clone', '-q', ...flags, url(), theirs])
    const what = `clone ${flags.join(' ')}`
    t.equal(shallowFile(ours), shallowFile(theirs), `${what}: .git/shallow`)
    t.ok(shallowFile(ours), `${what}: shallow`)
    t.equal(refsOf(ours), refsOf(theirs), `${what}: refs (one branch)`)
    t.equal(logOf(ours), logOf(theirs), `${what}: git log`)
    t.equal(configOf(ours), configOf(theirs), `${what}: config`)
    t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, `${what}: git fsck`)
  }
})

t.test('bad combinations: git\'s words and exit code', async (t) => {
  const { ours, theirs } = await clonePair()
  for (const args of [['--unshallow'], ['--depth=0'], ['--depth=abc'], ['--depth=2', '--unshallow'], ['--deepen=1', '--depth=1'], ['--deepen=-1']]) {
    const r = await tsgit(['fetch', ...args, 'origin'], { cwd: ours })
    const g = await gitAsync(['fetch', ...args, 'origin'], { cwd: theirs, allowFail: true })
    t.equal(r.status, g.status, `${args.join(' ')}: exit ${g.status}`)
    t.equal(r.stderr, g.stderr, `${args.join(' ')}: ${g.stderr.trim()}`)
  }
  t.equal(shallowFile(ours), undefined, 'nothing was cut')
})

t.test('.git/shallow is written through its lock file: a held lock stops the fetch, as git', async (t) => {
  const { ours, theirs } = await clonePair(['--depth=1'])
  const before = shallowFile(ours)
  for (const d of [ours, theirs]) writeFileSync(join(d, '.git', 'shallow.lock'), '')
  const r = await tsgit(['fetch', '--deepen=1', 'origin'], { cwd: ours })
  const g = await gitAsync(['fetch', '--deepen=1', 'origin'], { cwd: theirs, allowFail: true })
  t.equal(r.status, 128)
  t.equal(r.stderr.replace(ours, '<dir>'), g.stderr.replace(theirs, '<dir>'), 'git\'s words')
  t.equal(shallowFile(ours), before, '.git/shallow as it was')
  t.ok(existsSync(join(ours, '.git', 'shallow.lock')), 'the lock that was there is left alone')
})

t.test('--filter on a full clone makes the remote a promisor remote, as git; --no-filter; --refetch', async (t) => {
  const { ours, theirs } = await clonePair()
  writeFileSync(join(work, 'later'), 'a blob left on the server\n')
  git(['add', 'later'], { cwd: work })
  git(['commit', '-q', '-m', 'later'], { cwd: work })
  git(['push', '-q', join(srv.root, 'repo.git'), 'main'], { cwd: work })
  try {
    const request = await sameStep(t, ours, theirs, ['--filter=blob:none', 'origin'])
    t.ok(request.includes('filter blob:none'))
    const blob = git(['rev-parse', 'main:later'], { cwd: work }).stdout.trim()
    t.match(git(['rev-list', '--objects', '--missing=print', 'origin/main'], { cwd: ours }).stdout, `?${blob}`, 'the new blob was left out')
    const promisors = readdirSync(join(ours, '.git', 'objects', 'pack')).filter((p) => p.endsWith('.promisor'))
    t.equal(promisors.length, 1, 'the new pack is a promisor pack (the clone\'s is not)')

    // git 2.39 keeps the first filter registered
    await sameStep(t, ours, theirs, ['--filter=tree:0', 'origin'])

    const since = srv.server.requests.length
    t.equal((await tsgit(['fetch', '--no-filter', '--refetch', 'origin'], { cwd: ours })).status, 0)
    const refetch = srv.server.requests.slice(since).find((q) => q.command === 'fetch')?.args ?? []
    t.notOk(refetch.some((a) => a.startsWith('filter')), '--no-filter: no filter')
    t.notOk(refetch.some((a) => a.startsWith('have ')), '--refetch: no haves')
    t.ok(refetch.includes(`want ${tip()}`), '--refetch: the tips wanted, though here')
    t.equal(git(['cat-file', '-e', blob], { cwd: ours, env: { GIT_NO_LAZY_FETCH: '1' }, allowFail: true }).status, 0, 'the blob is here now')
    t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  } finally {
    git(['reset', '-q', '--hard', 'HEAD~1'], { cwd: work })
    git(['push', '-q', '-f', join(srv.root, 'repo.git'), 'main'], { cwd: work })
  }
})

t.test('the deepen arguments each option makes', async (t) => {
  t.equal(deepenArgs({}, true), undefined, 'none: the boundary stays')
  t.same(deepenArgs({ depth: 3 }, false), { deepen: 3 })
  t.same(deepenArgs({ deepen: 2 }, true), { deepen: 2, deepenRelative: true })
  t.equal(deepenArgs({ deepen: 0 }, true), undefined, '--deepen=0 is nothing, as in git')
  t.same(deepenArgs({ unshallow: true }, true), { deepen: 0x7fffffff })
  t.same(deepenArgs({ shallowSince: 5, shallowExclude: ['a'] }, false), { deepenSince: 5, deepenNot: ['a'] })
})
