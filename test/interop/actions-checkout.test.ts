/**
 * The commands GitHub's actions/checkout runs, every one by tsgit in one directory
 * and by git in another, against the suite's http server: init, remote add, config,
 * fetch, sparse-checkout set, `checkout --progress --force -B`, `log -1 --format=%H`,
 * rev-parse. Each step must exit as git's does and say the same (progress lines
 * aside: tsgit draws them at once, git after a delay), and the repositories must end
 * the same: HEAD, refs, HEAD's and the branch's reflogs, config, index, files; git
 * status clean and git fsck happy.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readFileSync, readdirSync, lstatSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

function write(dir: string, rel: string, content: string): void {
  const p = join(dir, rel)
  mkdirSync(dirname(p), { recursive: true })
  writeFileSync(p, content)
}

const srv = serveRepos(t, 'tsgit-actions-', async (root) => {
  const work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  write(work, 'README.md', 'readme\n')
  write(work, 'src/a.ts', 'export const a = 1\n')
  write(work, 'docs/guide.md', 'guide\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'first'], { cwd: work })
  write(work, 'src/b.ts', 'export const b = 2\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'second'], { cwd: work })
  git(['clone', '-q', '--bare', work, join(root, 'r.git')])
})

function files(dir: string, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(dir, rel)).sort()) {
    if (rel === '' && name === '.git') continue
    const path = rel === '' ? name : `${rel}/${name}`
    if (lstatSync(join(dir, path)).isDirectory()) out.push(`${path}/`, ...files(dir, path))
    else out.push(`${path} ${JSON.stringify(readFileSync(join(dir, path), 'utf8'))}`)
  }
  return out
}

function fileOrNone(path: string): string {
  return existsSync(path) ? readFileSync(path, 'latin1') : '(none)'
}

function state(dir: string): Record<string, string> {
  const g = (...args: string[]): string => git(args, { cwd: dir, allowFail: true }).stdout
  return {
    head: fileOrNone(join(dir, '.git/HEAD')),
    refs: g('for-each-ref', '--format=%(refname) %(objectname)'),
    headLog: fileOrNone(join(dir, '.git/logs/HEAD')),
    mainLog: fileOrNone(join(dir, '.git/logs/refs/heads/main')),
    config: g('config', '-l', '--local'),
    worktreeConfig: fileOrNone(join(dir, '.git/config.worktree')),
    sparse: fileOrNone(join(dir, '.git/info/sparse-checkout')),
    index: g('ls-files', '-s', '-v'),
    status: g('status', '--porcelain', '--untracked-files=all'),
    files: files(dir).join('\n'),
  }
}

const withoutProgress = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.split('\r').pop() as string)
    .filter((l) => !/^(Updating files|remote: |Receiving objects|Resolving deltas)/.test(l))
    .join('\n')

async function run(t: Test, ours: string, theirs: string, args: string[], cwd = true): Promise<string> {
  const g = await gitAsync(args, { cwd: cwd ? theirs : dirname(theirs), allowFail: true })
  const o = await tsgit(args.map((a) => (a === theirs ? ours : a)), { cwd: cwd ? ours : dirname(ours) })
  const label = args.map((a) => (a === theirs ? '<dir>' : a)).join(' ')
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (${o.stderr})` : ''}`)
  t.equal(o.stdout.split(ours).join('<dir>'), g.stdout.split(theirs).join('<dir>'), `${label}: stdout`)
  t.equal(withoutProgress(o.stderr), withoutProgress(g.stderr), `${label}: stderr`)
  return o.stdout
}

async function actions(t: Test, sparse: string[] | undefined): Promise<void> {
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  mkdirSync(ours)
  mkdirSync(theirs)
  const url = srv.server.url('r.git')
  await run(t, ours, theirs, ['init', theirs], false)
  await run(t, ours, theirs, ['remote', 'add', 'origin', url])
  await run(t, ours, theirs, ['config', '--local', 'gc.auto', '0'])
  await run(t, ours, theirs, ['-c', 'protocol.version=2', 'fetch', '--no-tags', '--prune', '--quiet', 'origin', '+refs/heads/main:refs/remotes/origin/main'])
  if (sparse !== undefined) await run(t, ours, theirs, ['sparse-checkout', 'set', ...sparse])
  await run(t, ours, theirs, ['checkout', '--progress', '--force', '-B', 'main', 'refs/remotes/origin/main'])
  const head = await run(t, ours, theirs, ['log', '-1', '--format=%H'])
  t.match(head, /^[0-9a-f]{40}\n$/, 'log -1 --format=%H is the commit')
  await run(t, ours, theirs, ['rev-parse', 'HEAD'])
  await run(t, ours, theirs, ['rev-parse', '--abbrev-ref', 'HEAD'])
  const a = state(ours)
  const b = state(theirs)
  // fetch writes the URL into FETCH_HEAD and the remote-tracking reflog only; the rest must match
  t.same(a, b, 'the same repository as git leaves')
  t.equal(a.status, '', 'git status is clean')
  git(['fsck'], { cwd: ours })
}

t.test('actions/checkout, full checkout', (t) => actions(t, undefined))
t.test('actions/checkout with sparse-checkout', (t) => actions(t, ['src']))
