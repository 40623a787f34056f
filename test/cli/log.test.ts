/**
 * `tsgit log` against `git log` on the same repositories: byte for byte, for the
 * default (medium) format, --oneline, --pretty=oneline, format:/tformat: with every
 * placeholder tsgit knows, -n/-<n>/--max-count, revision ranges, history with merges
 * and committer dates out of order. In a blob:none clone it asks the server for
 * nothing; in a shallow clone it stops where git stops.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let repo = ''
const srv = serveRepos(t, 'tsgit-log-', async (root) => {
  repo = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', repo])
  let n = 0
  const commit = (message: string, extra: string[] = [], date?: number): void => {
    const when = `${date ?? 1112911993 + n * 3600} ${n % 2 === 0 ? '-0700' : '+0530'}`
    git(['commit', '-q', '--allow-empty', '--cleanup=verbatim', '-m', message, ...extra], {
      cwd: repo,
      env: { GIT_COMMITTER_DATE: when, GIT_AUTHOR_DATE: `${1112900000 + n * 7}  +0000`, GIT_AUTHOR_NAME: n % 3 === 0 ? 'Ünïcode Äuthor' : 'A U Thor' },
    })
    n++
  }
  commit('first')
  commit('  leading spaces subject  \nsecond line of the subject\n\n\nbody line  \n\n  indented\n\n\n')
  git(['branch', 'topic'], { cwd: repo })
  commit('on main')
  git(['checkout', '-q', 'topic'], { cwd: repo })
  // a commit dated before its parent: the walk's order is by committer date, not topology
  commit('topic, dated in the past', [], 1000000000)
  commit('topic again')
  git(['checkout', '-q', 'main'], { cwd: repo })
  git(['merge', '-q', '--no-ff', '--no-edit', 'topic'], { cwd: repo, env: { GIT_COMMITTER_DATE: '1113911993 +0100' } })
  commit('subject only')
  git(['tag', '-a', '-m', 'annotated', 'v1', 'HEAD~1'], { cwd: repo })
  git(['tag', 'light', 'topic'], { cwd: repo })
  git(['update-ref', 'refs/remotes/origin/main', 'HEAD~2'], { cwd: repo })
  git(['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main'], { cwd: repo })
  git(['clone', '-q', '--bare', repo, join(root, 'r.git')])
  git(['--git-dir', join(root, 'r.git'), 'config', 'uploadpack.allowFilter', 'true'])
})

async function same(t: Test, cwd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const g = await gitAsync(['log', ...args], { cwd, env, allowFail: true })
  const o = await tsgit(['log', ...args], { cwd, env })
  const label = `log ${args.join(' ')}`
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (${o.stderr})` : ''}`)
  t.equal(o.stdout, g.stdout, `${label}: stdout`)
  t.equal(o.stderr, g.stderr, `${label}: stderr`)
}

const EVERY = '%H|%h|%T|%t|%P|%p|%an|%ae|%ad|%at|%ai|%aI|%ar|%cn|%ce|%cd|%ct|%ci|%cI|%cr|%d|%D|%%|%x41|%z|%'

t.test('formats', async (t) => {
  for (const args of [
    [], ['--oneline'], ['--pretty=oneline'], ['--pretty'], ['--pretty=medium'], ['--format=medium'], [`--format=${EVERY}`], [`--pretty=format:${EVERY}`],
    [`--pretty=tformat:${EVERY}`], [`--pretty=${EVERY}`], ['--format=[%s]%n[%b]%n[%B]'], ['--pretty=format:%s'], ['--format='], ['--format=%H', '--oneline'], ['--oneline', '--format=%h'],
    ['--decorate', '--oneline'], ['--decorate'], ['--oneline', '--no-abbrev-commit'], ['--pretty=nope'],
  ]) {
    await same(t, repo, args)
  }
})

t.test('counts and revisions', async (t) => {
  for (const args of [
    ['-1'], ['-3'], ['-n', '2'], ['-n2'], ['--max-count=4'], ['-n', '0'], ['-1', '--format=%H'], ['topic'], ['main..topic'], ['topic..main'], ['^topic', 'main'], ['v1'], ['--all', '--oneline'],
    ['light', 'origin/main', '--format=%h %s'], ['nope'], ['HEAD', '--'], ['-3', '-1'], ['-n'], ['-n', 'x'], ['--max-count=2x'], ['-n', '-1'], ['-n-1'],
  ]) {
    await same(t, repo, args)
  }
})

t.test('GIT_DIR, -C and an unborn HEAD', async (t) => {
  await same(t, srv.tmp.path, ['--oneline'], { GIT_DIR: join(repo, '.git') })
  const g = await gitAsync(['-C', repo, 'log', '-2'], { cwd: srv.tmp.path })
  const o = await tsgit(['-C', repo, 'log', '-2'], { cwd: srv.tmp.path })
  t.equal(o.stdout, g.stdout, '-C')
  const unborn = srv.dest('unborn')
  git(['init', '-q', '-b', 'trunk', unborn])
  await same(t, unborn, [])
})

t.test('a blob:none clone: commits only, nothing fetched', async (t) => {
  const dir = srv.dest('partial')
  await gitAsync(['clone', '-q', '--filter=blob:none', '--no-checkout', srv.server.url('r.git'), dir])
  const before = srv.server.requests.length
  await same(t, dir, [])
  await same(t, dir, [`--format=${EVERY}`])
  t.equal(srv.server.requests.length, before, 'no request to the server')
})

t.test('a shallow clone: history ends at the shallow commits', async (t) => {
  const dir = srv.dest('shallow')
  await gitAsync(['clone', '-q', '--depth=2', '--no-single-branch', srv.server.url('r.git'), dir])
  await same(t, dir, [])
  await same(t, dir, ['--all', '--format=%h %p %s'])
})

t.test('relative dates (%ar, %cr), from seconds to years', async (t) => {
  const dir = srv.dest('relative')
  git(['init', '-q', '-b', 'main', dir])
  const now = Math.floor(Date.now() / 1000)
  // ages away from git's rounding steps, so the second or two between the runs cannot cross one
  for (const age of [100, 3000, 7200, 144000, 432000, 1728000, 8640000, 20000000, 34560000, 50000000, 69120000, 259200000]) {
    const date = `${now - age} +0000`
    git(['commit', '-q', '--allow-empty', '-m', String(age)], { cwd: dir, env: { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date } })
  }
  await same(t, dir, ['--format=%s %ar %cr'])
})
