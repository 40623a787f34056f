/**
 * Issue 16's acceptance test: the commands GitHub's actions/checkout v4 runs, every one
 * by tsgit in one directory and by git in a twin, against one git http-backend that
 * requires Basic auth (401 without it): init, remote add, `config --local gc.auto 0`,
 * the token as `http.<origin>/.extraheader` (or a credential helper), `-c
 * protocol.version=2 fetch --no-tags --prune --no-recurse-submodules --depth=1
 * --filter=blob:none origin +<sha>:refs/remotes/origin/main`, sparse-checkout set,
 * `checkout --progress --force -B`, `log -1 --format=%H`. Each step must exit as git's
 * does and say the same (progress lines aside); the repositories must end the same
 * (HEAD, refs, reflogs, config, .git/shallow, index, files; git status clean, git fsck
 * happy); and the server must have seen no more requests, no more bytes and no more
 * 401s for tsgit than for git. With sparse-checkout, no blob outside the cone is asked
 * for. A bad token fails at once, without prompting and without showing the token.
 * And a fetch after 10,000 new upstream commits into a clone of 50,000 (histories made
 * with git fast-import), next to git's. Depth, then --deepen, then --unshallow after
 * this fetch, checked with real git log and fsck: test/ops/fetch-shallow.test.ts.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { git, gitAsync, pinnedEnv, tempDir } from '../fixtures/git.js'
import { appendHistory, linearHistory } from '../fixtures/repos.js'
import { startGitServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { childResult, textResult, tsgit, TSGIT_COMMAND, type TsgitResult } from '../fixtures/tsgit.js'
import { fileOrNone, workTreeFiles } from '../fixtures/worktree-files.js'

const TOKEN = 'ghs_tsgitE2eT0ken'
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64')

function write(dir: string, rel: string, content: string): void {
  const p = join(dir, rel)
  mkdirSync(dirname(p), { recursive: true })
  writeFileSync(p, content)
}

const tmp = tempDir('tsgit-actions-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
const repo = join(root, 'r.git')
let server: GitServer
let sha = ''
let dirs = 0
const dest = (p: string): string => join(tmp.path, `${p}${dirs++}`)

t.before(async () => {
  const work = join(tmp.path, 'work')
  git(['init', '-q', '-b', 'main', work])
  // Several commits, so that --depth=1 leaves history behind; every blob different, so
  // that a wanted blob names one path.
  for (let v = 1; v <= 3; v++) {
    write(work, 'README.md', `readme ${v}\n`)
    write(work, 'src/a.ts', `export const a = ${v}\n`)
    write(work, `src/deep/v${v}.ts`, `export const v = ${v}\n`)
    write(work, 'docs/guide.md', `guide ${v}\n`)
    write(work, `docs/api/page${v}.md`, `page ${v}\n`)
    write(work, 'lib/other.ts', `other ${v}\n`)
    git(['add', '-A'], { cwd: work })
    git(['commit', '-q', '-m', `commit ${v}`], { cwd: work })
  }
  mkdirSync(root)
  git(['clone', '-q', '--bare', work, repo])
  sha = git(['rev-parse', 'main'], { cwd: repo }).stdout.trim()
  server = await startGitServer({ root, auth: { username: 'x-access-token', password: TOKEN } })
})
t.teardown(async () => server?.close())

function state(dir: string) {
  const g = (...args: string[]): string => git(args, { cwd: dir, allowFail: true }).stdout
  return {
    head: fileOrNone(join(dir, '.git/HEAD')),
    refs: g('for-each-ref', '--format=%(refname) %(objectname)'),
    headLog: fileOrNone(join(dir, '.git/logs/HEAD')),
    mainLog: fileOrNone(join(dir, '.git/logs/refs/heads/main')),
    shallow: fileOrNone(join(dir, '.git/shallow')),
    config: g('config', '-l', '--local'),
    worktreeConfig: fileOrNone(join(dir, '.git/config.worktree')),
    sparse: fileOrNone(join(dir, '.git/info/sparse-checkout')),
    index: g('ls-files', '-s', '-v'),
    status: g('status', '--porcelain', '--untracked-files=all'),
    files: workTreeFiles(dir).join('\n'),
  }
}

const withoutProgress = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.split('\r').pop() as string)
    .filter((l) => !/^(Updating files|remote: |Receiving objects|Resolving deltas)/.test(l))
    .join('\n')

/** What the server saw of one side's run of the sequence. */
interface Side {
  requests: RecordedRequest[]
}

function describe(reqs: readonly RecordedRequest[]): string {
  return reqs
    .map((r) => {
      const wants = r.args.filter((a) => a.startsWith('want ')).length
      const auth = r.headers.authorization === undefined ? 'no-auth' : 'auth'
      const other = r.args.filter((a) => !a.startsWith('want ') && !a.startsWith('have '))
      return `  ${r.method} ${r.path}${r.query !== '' ? `?${r.query}` : ''} ${r.command ?? ''} ${auth} -> ${r.status}, ${r.bytesOut} bytes${wants > 0 ? `, ${wants} wants` : ''}${other.length > 0 ? ` [${other.join(', ')}]` : ''}`
    })
    .join('\n')
}

const bytes = (reqs: readonly RecordedRequest[]): number => reqs.reduce((n, r) => n + r.bytesOut, 0)
const refused = (reqs: readonly RecordedRequest[]): number => reqs.filter((r) => r.status === 401).length

/** Runs one step by git in `theirs`, then by tsgit in `ours`, and compares how they went. */
async function run(t: Test, ours: Side & { dir: string }, theirs: Side & { dir: string }, args: string[], opts: { cwd?: boolean; env?: Record<string, string> } = {}): Promise<string> {
  const inDir = opts.cwd !== false
  let since = server.requests.length
  const g = await gitAsync(args, { cwd: inDir ? theirs.dir : dirname(theirs.dir), allowFail: true, env: opts.env })
  theirs.requests.push(...server.requests.slice(since))
  since = server.requests.length
  const o = await tsgit(
    args.map((a) => (a === theirs.dir ? ours.dir : a)),
    { cwd: inDir ? ours.dir : dirname(ours.dir), env: opts.env },
  )
  ours.requests.push(...server.requests.slice(since))
  const label = args.map((a) => (a === theirs.dir ? '<dir>' : a)).join(' ')
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (${o.stderr})` : ''}`)
  t.equal(o.stdout.split(ours.dir).join('<dir>'), g.stdout.split(theirs.dir).join('<dir>'), `${label}: stdout`)
  t.equal(withoutProgress(o.stderr), withoutProgress(g.stderr), `${label}: stderr`)
  t.notMatch(o.stderr, TOKEN, `${label}: the token is not on stderr`)
  t.notMatch(o.stderr, BASIC, `${label}: nor its base64`)
  return o.stdout
}

/** A credential helper as a workflow would write it, logging each call to `log`. */
function shellHelper(log: string): string {
  return `!f() { echo "$1" >> '${log}'; test "$1" = get && { echo username=x-access-token; echo password=${TOKEN}; }; }; f`
}

interface Options {
  sparse?: string[]
  auth: 'extraheader' | 'helper'
}

async function actions(t: Test, opts: Options): Promise<{ ours: RecordedRequest[]; theirs: RecordedRequest[] }> {
  const ours = { dir: dest('ours'), requests: [] as RecordedRequest[] }
  const theirs = { dir: dest('theirs'), requests: [] as RecordedRequest[] }
  mkdirSync(ours.dir)
  mkdirSync(theirs.dir)
  const url = server.url('r.git')
  await run(t, ours, theirs, ['init', theirs.dir], { cwd: false })
  await run(t, ours, theirs, ['remote', 'add', 'origin', url])
  await run(t, ours, theirs, ['config', '--local', 'gc.auto', '0'])
  const helperLogs = { ours: join(ours.dir, '..', `${dirs}-helper-ours.log`), theirs: join(theirs.dir, '..', `${dirs}-helper-git.log`) }
  if (opts.auth === 'extraheader') {
    await run(t, ours, theirs, ['config', '--local', `http.${server.origin}/.extraheader`, `AUTHORIZATION: basic ${BASIC}`])
  } else {
    // each side its own log: the step is run by hand rather than through run()
    t.equal(git(['config', '--local', 'credential.helper', shellHelper(helperLogs.theirs)], { cwd: theirs.dir }).status, 0)
    const r = await tsgit(['config', '--local', 'credential.helper', shellHelper(helperLogs.ours)], { cwd: ours.dir })
    t.equal(r.status, 0, `config credential.helper: ${r.stderr}`)
  }
  await run(t, ours, theirs, ['-c', 'protocol.version=2', 'fetch', '--no-tags', '--prune', '--no-recurse-submodules', '--depth=1', '--filter=blob:none', 'origin', `+${sha}:refs/remotes/origin/main`])
  if (opts.sparse !== undefined) await run(t, ours, theirs, ['sparse-checkout', 'set', ...opts.sparse])
  await run(t, ours, theirs, ['checkout', '--progress', '--force', '-B', 'main', 'refs/remotes/origin/main'])
  const head = await run(t, ours, theirs, ['log', '-1', '--format=%H'])
  t.equal(head, `${sha}\n`, 'log -1 --format=%H is the commit fetched')

  const a = state(ours.dir)
  const b = state(theirs.dir)
  // tsgit names the promisor remote in extensions.partialClone, git 2.39 does not: a
  // documented deviation (tsgit-clone(1), README)
  a.config = a.config.replace(/^extensions\.partialclone=origin\n/m, '')
  if (opts.auth === 'helper') {
    // the helper's path differs between the twins; the rest of the config must not
    a.config = a.config.split(helperLogs.ours).join('<log>')
    b.config = b.config.split(helperLogs.theirs).join('<log>')
    t.equal(fileOrNone(helperLogs.ours), fileOrNone(helperLogs.theirs), 'the helper was called as git calls it')
    t.match(fileOrNone(helperLogs.ours), /^get\n/, 'the helper was asked')
  }
  t.same(a, b, 'the same repository as git leaves')
  t.equal(a.shallow, `${sha}\n`, '.git/shallow holds the commit fetched')
  t.equal(a.status, '', 'git status is clean')
  t.equal(b.status, '', 'git status is clean in git\'s twin')
  t.equal(git(['fsck'], { cwd: ours.dir, allowFail: true }).status, 0, 'git fsck in tsgit\'s repository')
  t.equal(git(['fsck'], { cwd: theirs.dir, allowFail: true }).status, 0, 'git fsck in git\'s repository')

  // What the server saw: never more than for git.
  t.comment(`server log for tsgit:\n${describe(ours.requests)}`)
  t.comment(`server log for git:\n${describe(theirs.requests)}`)
  t.ok(ours.requests.length <= theirs.requests.length, `no more requests than git (${ours.requests.length} vs ${theirs.requests.length})`)
  // upload-pack forwards pack-objects' output in side-band packets as it reaches it
  // through a pipe: the same pack can take a few more 5-byte packet headers one run
  // than the next. One per KiB is far more than that ever moves.
  const slack = 5 * Math.ceil(bytes(theirs.requests) / 1024)
  t.ok(bytes(ours.requests) <= bytes(theirs.requests) + slack, `no more bytes than git, give or take side-band framing (${bytes(ours.requests)} vs ${bytes(theirs.requests)} + ${slack})`)
  t.ok(refused(ours.requests) <= refused(theirs.requests), `no more requests without credentials than git (${refused(ours.requests)} 401s vs ${refused(theirs.requests)})`)
  if (opts.auth === 'extraheader') t.equal(refused(ours.requests), 0, 'the header went with every request')
  return { ours: ours.requests, theirs: theirs.requests }
}

/** The blobs of the fetch requests' want lines. */
function wantedBlobs(reqs: readonly RecordedRequest[], blobs: ReadonlyMap<string, string[]>): string[] {
  const out = new Set<string>()
  for (const r of reqs) {
    if (r.command !== 'fetch') continue
    for (const a of r.args) {
      const oid = a.startsWith('want ') ? a.slice(5) : undefined
      if (oid !== undefined && blobs.has(oid)) out.add(oid)
    }
  }
  return [...out].sort()
}

t.test('actions/checkout, token in http.<url>.extraheader', (t) => actions(t, { auth: 'extraheader' }).then(() => undefined))

t.test('actions/checkout, token from a credential helper', (t) => actions(t, { auth: 'helper' }).then(() => undefined))

t.test('actions/checkout with sparse-checkout and blob:none: no blob outside the cone asked for', async (t) => {
  const seen = await actions(t, { auth: 'extraheader', sparse: ['src'] })
  const blobs = new Map<string, string[]>()
  for (const line of git(['ls-tree', '-r', sha], { cwd: repo }).stdout.split('\n')) {
    const m = /^\d+ blob ([0-9a-f]{40})\t(.*)$/.exec(line)
    if (m === null) continue
    blobs.set(m[1] as string, [...(blobs.get(m[1] as string) ?? []), m[2] as string])
  }
  const inCone = (path: string): boolean => !path.includes('/') || path.startsWith('src/')
  const wanted = wantedBlobs(seen.ours, blobs)
  t.ok(wanted.length > 0, 'the blobs checked out were fetched on demand')
  const outside = wanted.filter((oid) => !(blobs.get(oid) as string[]).some(inCone)).map((oid) => (blobs.get(oid) as string[]).join(', '))
  t.same(outside, [], 'every blob wanted is at the top level or under src/')
  t.same(wanted, wantedBlobs(seen.theirs, blobs), 'the blobs git wanted')
  const cone = [...blobs.entries()].filter(([, paths]) => paths.some(inCone)).map(([oid]) => oid).sort()
  t.same(wanted, cone, 'every blob of the cone, once')
})

t.test('a bad token: the fetch fails at once, prompting no more than git, and does not show the token', async (t) => {
  const bad = 'ghs_wr0ngT0ken'
  const badBasic = Buffer.from(`x-access-token:${bad}`).toString('base64')
  const askpassLog = join(tmp.path, 'askpass.log')
  const askpass = join(tmp.path, 'askpass.sh')
  writeFileSync(askpass, `#!/bin/sh\necho "$1" >> '${askpassLog}'\nexit 1\n`)
  chmodSync(askpass, 0o755)
  const env = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: askpass }
  const fetch = ['-c', 'protocol.version=2', 'fetch', '--no-tags', '--prune', '--no-recurse-submodules', '--depth=1', '--filter=blob:none', 'origin', `+${sha}:refs/remotes/origin/main`]
  const setup = async (dir: string, cli: (args: string[], cwd: string) => Promise<{ status: number }>): Promise<void> => {
    mkdirSync(dir)
    for (const args of [['init', '-q'], ['remote', 'add', 'origin', server.url('r.git')], ['config', '--local', `http.${server.origin}/.extraheader`, `AUTHORIZATION: basic ${badBasic}`]]) {
      t.equal((await cli(args, dir)).status, 0, args.join(' '))
    }
  }
  const ours = dest('bad-ours')
  const theirs = dest('bad-theirs')
  await setup(ours, (args, cwd) => tsgit(args, { cwd }))
  await setup(theirs, (args, cwd) => gitAsync(args, { cwd, allowFail: true }))

  let since = server.requests.length
  const g = await gitAsync(fetch, { cwd: theirs, env, allowFail: true })
  const gitSeen = server.requests.slice(since)
  const gitAsked = fileOrNone(askpassLog)
  writeFileSync(askpassLog, '')
  since = server.requests.length
  const o = await tsgit(fetch, { cwd: ours, env })
  const ourSeen = server.requests.slice(since)
  t.comment(`server log for tsgit:\n${describe(ourSeen)}\nserver log for git:\n${describe(gitSeen)}`)
  t.comment(`git's stderr: ${JSON.stringify(g.stderr)}; git asked askpass: ${JSON.stringify(gitAsked)}`)
  t.equal(o.status, 128, 'exit 128')
  t.equal(g.status, 128, 'as git')
  t.match(o.stderr, /^fatal: /m)
  t.notMatch(o.stderr, bad, 'the token is not on stderr')
  t.notMatch(o.stderr, badBasic, 'nor its base64')
  t.equal(o.stderr, g.stderr, `git's words: ${JSON.stringify(o.stderr)}`)
  // git 2.39 does ask an askpass program when the extraheader is refused (the 401 went
  // without credentials of its own): so does tsgit, once, as git, and no more
  t.equal(readFileSync(askpassLog, 'utf8'), gitAsked, 'askpass asked what git asks, no more')
  t.ok(ourSeen.length <= gitSeen.length, `no more requests than git (${ourSeen.length} vs ${gitSeen.length})`)
  t.ok(ourSeen.every((r) => r.status === 401), 'every request refused')
  t.equal(git(['for-each-ref'], { cwd: ours }).stdout, '', 'no ref written')

  // As on a runner: no askpass, no terminal, GIT_TERMINAL_PROMPT=0: no prompt at all.
  writeFileSync(askpassLog, '')
  const noAsk = { GIT_TERMINAL_PROMPT: '0' }
  since = server.requests.length
  const g2 = await gitAsync(fetch, { cwd: theirs, env: noAsk, allowFail: true })
  const gitSeen2 = server.requests.slice(since)
  since = server.requests.length
  const o2 = await tsgit(fetch, { cwd: ours, env: noAsk })
  const ourSeen2 = server.requests.slice(since)
  t.equal(o2.status, 128, 'exit 128 without askpass')
  t.equal(o2.stderr, g2.stderr, 'git\'s words')
  t.match(o2.stderr, /terminal prompts disabled/)
  t.notMatch(o2.stderr, bad, 'the token is not on stderr')
  t.notMatch(o2.stderr, badBasic, 'nor its base64')
  t.ok(ourSeen2.length <= gitSeen2.length, `no more requests than git (${ourSeen2.length} vs ${gitSeen2.length})`)
  t.equal(readFileSync(askpassLog, 'utf8'), '', 'no askpass called')

  // No terminal at all (a runner's job: no controlling terminal, stdin not one), and
  // prompts not turned off: no prompt either, git's words, at once.
  if (!existsSync('/usr/bin/setsid')) return
  const detached = async (argv: string[], cwd: string): Promise<TsgitResult> => {
    const child = spawn('setsid', ['-w', ...argv], { cwd, env: pinnedEnv({ GIT_TERMINAL_PROMPT: '1' }) })
    child.stdin.end()
    return textResult(await childResult(child))
  }
  since = server.requests.length
  const g3 = await detached(['git', ...fetch], theirs)
  const gitSeen3 = server.requests.slice(since)
  since = server.requests.length
  const o3 = await detached([TSGIT_COMMAND, ...fetch], ours)
  const ourSeen3 = server.requests.slice(since)
  t.equal(o3.status, 128, 'exit 128 without a terminal')
  t.equal(o3.stderr, g3.stderr, 'git\'s words')
  t.match(o3.stderr, /No such device or address/)
  t.notMatch(o3.stderr, bad, 'the token is not on stderr')
  t.notMatch(o3.stderr, badBasic, 'nor its base64')
  t.ok(ourSeen3.length <= gitSeen3.length, `no more requests than git (${ourSeen3.length} vs ${gitSeen3.length})`)
})

t.test('fetch after 10,000 new upstream commits into a clone that has 50,000: no more requests or bytes than git', async (t) => {
  const big = join(root, 'big.git')
  git(['init', '-q', '--bare', '-b', 'main', big])
  // one thread for the server's delta search: the same request gets the same pack
  git(['config', 'pack.threads', '1'], { cwd: big })
  appendHistory(big, linearHistory('refs/heads/main', 50_000, 'base'))
  // The old clone, made from the path (quick), then pointed at the server with the token
  const clone = dest('big-clone')
  git(['clone', '-q', '--no-local', big, clone])
  git(['remote', 'set-url', 'origin', server.url('big.git')], { cwd: clone })
  git(['config', `http.${server.origin}/.extraheader`, `AUTHORIZATION: basic ${BASIC}`], { cwd: clone })
  const ours = dest('big-ours')
  const theirs = dest('big-theirs')
  cpSync(clone, ours, { recursive: true })
  cpSync(clone, theirs, { recursive: true })
  t.equal(git(['rev-list', '--count', 'origin/main'], { cwd: ours }).stdout, '50000\n', 'the clone has 50,000 commits')
  appendHistory(big, linearHistory('refs/heads/main', 10_000, 'up', 'refs/heads/main^0'))
  const tip = git(['rev-parse', 'main'], { cwd: big }).stdout.trim()

  const fetch = ['fetch', '--no-tags', '--prune', 'origin']
  let since = server.requests.length
  const o = await tsgit(fetch, { cwd: ours })
  const mine = server.requests.slice(since)
  since = server.requests.length
  const g = await gitAsync(fetch, { cwd: theirs, allowFail: true })
  const gits = server.requests.slice(since)
  t.comment(`server log for tsgit:\n${describe(mine)}\nserver log for git:\n${describe(gits)}`)
  t.equal(o.status, 0, o.stderr)
  t.equal(g.status, 0, g.stderr)
  t.equal(withoutProgress(o.stderr), withoutProgress(g.stderr), 'the same report')
  const refs = (dir: string): string => git(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: dir }).stdout
  t.equal(refs(ours), refs(theirs), 'the same refs as git')
  t.equal(git(['log', '-1', '--format=%H', 'origin/main'], { cwd: ours }).stdout, `${tip}\n`, 'origin/main is the new tip')
  t.equal(git(['rev-list', '--count', 'origin/main'], { cwd: ours }).stdout, '60000\n', '60,000 commits')
  t.equal(git(['fsck', '--no-progress'], { cwd: ours, allowFail: true }).status, 0, 'git fsck in tsgit\'s repository')
  t.ok(mine.length <= gits.length, `no more requests than git (${mine.length} vs ${gits.length})`)
  const haves = (reqs: readonly RecordedRequest[]): number => reqs.reduce((n, r) => n + r.args.filter((a) => a.startsWith('have ')).length, 0)
  t.ok(haves(mine) <= haves(gits), `no more haves than git (${haves(mine)} vs ${haves(gits)})`)
  const slack = 5 * Math.ceil(bytes(gits) / 1024)
  t.ok(bytes(mine) <= bytes(gits) + slack, `no more bytes than git, give or take side-band framing (${bytes(mine)} vs ${bytes(gits)} + ${slack})`)
  t.equal(refused(mine), 0, 'the header went with every request')
})
