/**
 * `checkout -B` and `checkout --force -B`, judged against real git: twins run the same
 * steps, git in one and tsgit in the other, and must end with the same refs, HEAD,
 * reflogs (HEAD and branches), config, index and work tree, with git status clean,
 * and say the same. First the sequence GitHub's actions/checkout runs (init, remote
 * add, fetch, sparse-checkout set, `checkout --force -B main refs/remotes/origin/main`
 * on an unborn HEAD), in a full, a blob:none and a sparse repository; in the partial
 * ones the server must see one request for every blob the checkout needs, and none
 * outside the cone.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'
import { fileOrNone, workTreeFiles } from '../fixtures/worktree-files.js'

function write(dir: string, rel: string, content: string): void {
  const p = join(dir, rel)
  mkdirSync(dirname(p), { recursive: true })
  writeFileSync(p, content)
}

const srv = serveRepos(t, 'tsgit-checkout-reset-', async (root) => {
  const work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  const g = (...args: string[]): void => void git(args, { cwd: work })
  write(work, 'README', 'readme\n')
  write(work, 'a/f.txt', 'a f\n')
  write(work, 'a/b/g.txt', 'a b g\n')
  write(work, 'd/h.txt', 'd h\n')
  g('add', '-A')
  g('commit', '-q', '-m', 'one')
  g('branch', 'side')
  write(work, 'a/f.txt', 'a f two\n')
  write(work, 'd/i.txt', 'd i\n')
  g('add', '-A')
  g('commit', '-q', '-m', 'two')
  git(['clone', '-q', '--bare', work, join(root, 'r.git')])
})

/** What the checkout leaves, as git sees it. */
function state(dir: string): Record<string, string> {
  const g = (...args: string[]): string => git(args, { cwd: dir, allowFail: true }).stdout
  const branchLogs = existsSync(join(dir, '.git/logs/refs/heads')) ? readdirSync(join(dir, '.git/logs/refs/heads')).sort() : []
  return {
    head: fileOrNone(join(dir, '.git/HEAD')),
    refs: g('for-each-ref', '--format=%(refname) %(objectname)'),
    headLog: fileOrNone(join(dir, '.git/logs/HEAD')),
    ...Object.fromEntries(branchLogs.map((b) => [`log ${b}`, fileOrNone(join(dir, '.git/logs/refs/heads', b))])),
    config: g('config', '-l', '--local'),
    index: g('ls-files', '-s', '-v'),
    status: g('status', '--porcelain', '--untracked-files=all'),
    files: workTreeFiles(dir).join('\n'),
  }
}

interface Twin {
  ours: string
  theirs: string
}

/** Runs `setup` in two new directories (each made by the tool under test where it says so). */
async function twin(setup: (dir: string, ours: boolean) => Promise<void>): Promise<Twin> {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  await setup(ours, true)
  await setup(theirs, false)
  return { ours, theirs }
}

async function step(t: Test, tw: Twin, args: string[], o: { status?: number } = {}): Promise<void> {
  const g = await gitAsync(args, { cwd: tw.theirs, allowFail: true })
  const r = await tsgit(args, { cwd: tw.ours })
  const label = args.join(' ')
  t.equal(r.status, o.status ?? g.status, `${label}: exit ${g.status}${r.status !== g.status ? ` (${r.stderr})` : ''}`)
  t.equal(r.stdout, g.stdout, `${label}: stdout`)
  t.equal(r.stderr, g.stderr, `${label}: stderr`)
  t.same(state(tw.ours), state(tw.theirs), `${label}: the same refs, reflogs, config, index and files`)
}

/** actions/checkout's steps up to the checkout: init (by the tool under test), remote add, fetch (by git, in both). */
async function actionsSetup(dir: string, ours: boolean, o: { filter?: boolean; sparse?: string[] } = {}): Promise<void> {
  if (ours) {
    const r = await tsgit(['init', '-q', dir])
    if (r.status !== 0) throw new Error(r.stderr)
  } else git(['init', '-q', dir])
  const g = (...args: string[]): Promise<unknown> => gitAsync(args, { cwd: dir })
  await g('remote', 'add', 'origin', srv.server.url('r.git'))
  if (o.filter === true) {
    await g('config', 'remote.origin.promisor', 'true')
    await g('config', 'remote.origin.partialclonefilter', 'blob:none')
  }
  await g('-c', 'protocol.version=2', 'fetch', '--no-tags', '--prune', '--no-recurse-submodules', ...(o.filter === true ? ['--filter=blob:none'] : []), '--depth=1', 'origin', '+refs/heads/main:refs/remotes/origin/main')
  if (o.sparse !== undefined) {
    const r = ours ? await tsgit(['sparse-checkout', 'set', ...o.sparse], { cwd: dir }) : await gitAsync(['sparse-checkout', 'set', ...o.sparse], { cwd: dir })
    if (r.status !== 0) throw new Error(r.stderr)
  }
}

t.test('actions/checkout on an unborn HEAD, over an untracked file in the way', async (t) => {
  const tw = await twin(async (dir, ours) => {
    await actionsSetup(dir, ours)
    write(dir, 'README', 'in the way\n')
  })
  await step(t, tw, ['checkout', '--force', '-B', 'main', 'refs/remotes/origin/main'])
})

t.test('actions/checkout in a blob:none repository: the blobs in one request', async (t) => {
  const tw = await twin((dir, ours) => actionsSetup(dir, ours, { filter: true }))
  const before = srv.server.requests.length
  const r = await tsgit(['checkout', '--force', '-B', 'main', 'refs/remotes/origin/main'], { cwd: tw.ours })
  t.equal(r.status, 0, r.stderr)
  t.equal(srv.fetches(before), 1, 'one fetch request for the blobs')
  await gitAsync(['checkout', '--force', '-B', 'main', 'refs/remotes/origin/main'], { cwd: tw.theirs })
  t.same(state(tw.ours), state(tw.theirs), 'the same as git')
})

t.test('actions/checkout with a sparse cone set before, in a blob:none repository', async (t) => {
  const tw = await twin((dir, ours) => actionsSetup(dir, ours, { filter: true, sparse: ['a'] }))
  const before = srv.server.requests.length
  const r = await tsgit(['checkout', '--force', '-B', 'main', 'refs/remotes/origin/main'], { cwd: tw.ours })
  t.equal(r.status, 0, r.stderr)
  t.equal(srv.fetches(before), 1, 'one fetch request for the blobs')
  const wants = srv.server.requests.slice(before).flatMap((q) => q.args.filter((a) => a.startsWith('want ')).map((a) => a.slice(5)))
  const outside = git(['ls-tree', '-r', '--format=%(objectname)', 'refs/remotes/origin/main', 'd'], { cwd: tw.ours }).stdout.trim().split('\n')
  t.equal(wants.filter((w) => outside.includes(w)).length, 0, 'no blob outside the cone was asked for')
  t.ok(wants.length > 0, 'the cone\'s blobs were')
  await gitAsync(['checkout', '--force', '-B', 'main', 'refs/remotes/origin/main'], { cwd: tw.theirs })
  t.same(state(tw.ours), state(tw.theirs), 'the same as git')
  t.notOk(existsSync(join(tw.ours, 'd')), 'd/ is outside the cone')
})

t.test('-B on an existing repository: create, reset the current branch, reset another, same value', async (t) => {
  const tw = await twin(async (dir) => {
    await gitAsync(['clone', '-q', srv.server.url('r.git'), dir])
  })
  await step(t, tw, ['checkout', '-B', 'main', 'origin/side'])
  await step(t, tw, ['checkout', '-B', 'main', 'origin/side'])
  await step(t, tw, ['checkout', '-B', 'other'])
  await step(t, tw, ['checkout', '-B', 'other', 'main'])
  await step(t, tw, ['checkout', '-B', 'main', 'origin/main'])
  await step(t, tw, ['checkout', '-B', 'other', 'origin/side'])
  await step(t, tw, ['checkout', '-q', '-B', 'main', 'side'])
  await step(t, tw, ['checkout', '-B', 'main', 'nope'])
  await step(t, tw, ['checkout', '-b', 'x', '-B', 'y'])
  await step(t, tw, ['checkout', '--detach', '-B', 'y'])
})

t.test('-B with local changes: carried over without --force, discarded with it', async (t) => {
  const tw = await twin(async (dir) => {
    await gitAsync(['clone', '-q', srv.server.url('r.git'), dir])
    write(dir, 'README', 'changed\n')
    write(dir, 'd/h.txt', 'changed too\n')
  })
  await step(t, tw, ['checkout', '-B', 'main', 'origin/side'])
  write(tw.ours, 'a/f.txt', 'conflict\n')
  write(tw.theirs, 'a/f.txt', 'conflict\n')
  await step(t, tw, ['checkout', '-B', 'main', 'origin/main'])
  await step(t, tw, ['checkout', '-f', '-B', 'main', 'origin/main'])
  t.equal(git(['status', '--porcelain'], { cwd: tw.ours }).stdout, '', 'git status is clean')
})
