/**
 * `tsgit init` against `git init`: in twin directories both are run with the same
 * arguments and environment, and must leave the same files with the same bytes
 * (git's sample hooks aside: see the man page's DEVIATIONS), the same
 * `git config -l --local`, and say the same on stdout and stderr; a re-init changes
 * nothing. Real git then works in what tsgit made: status, fsck, a fetch.
 */
import t, { type Test } from 'tap'
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { startGitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-init-')
t.teardown(tmp.cleanup)
let n = 0

/** Every file and directory under `dir` (hooks/ left out), with each file's bytes. */
function snapshot(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const rel = relative(dir, p)
      if (name === 'hooks') continue
      const st = statSync(p)
      if (st.isDirectory()) {
        out[`${rel}/`] = ''
        walk(p)
      } else out[rel] = `${(st.mode & 0o777).toString(8)} ${readFileSync(p, 'latin1').split(base).join('<dir>')}`
    }
  }
  walk(dir)
  return out
}

/** Runs `args` with git in one new directory and with tsgit in another; both must agree. */
async function twin(t: Test, args: string[], opts: { env?: Record<string, string>; prepare?: (dir: string) => void; files?: boolean } = {}): Promise<{ ours: string; theirs: string }> {
  const base = join(tmp.path, `case${n++}`)
  const ours = join(base, 'ours')
  const theirs = join(base, 'theirs')
  for (const d of [ours, theirs]) {
    mkdirSync(d, { recursive: true })
    opts.prepare?.(d)
  }
  const g = git(args, { cwd: theirs, env: opts.env, allowFail: true })
  const o = await tsgit(args, { cwd: ours, env: opts.env })
  const label = args.join(' ')
  t.equal(o.status, g.status, `${label}: exit ${g.status}`)
  t.equal(o.stdout.split(ours).join('<dir>'), g.stdout.split(theirs).join('<dir>'), `${label}: stdout`)
  t.equal(o.stderr.split(ours).join('<dir>'), g.stderr.split(theirs).join('<dir>'), `${label}: stderr`)
  if (opts.files !== false) t.same(snapshot(ours), snapshot(theirs), `${label}: the same files`)
  return { ours, theirs }
}

function localConfig(dir: string, env?: Record<string, string>): string {
  return git(['config', '-l', '--local'], { cwd: dir, env }).stdout
}

t.test('a new repository: the files git writes, and its words', async (t) => {
  for (const args of [['init'], ['init', 'sub/dir'], ['init', '-b', 'main'], ['init', '--initial-branch=trunk', '-q', 'x'], ['init', '--bare'], ['init', '--bare', 'r.git'], ['init', '-q']]) {
    const { ours, theirs } = await twin(t, args)
    const where = args.find((a, i) => i > 0 && !a.startsWith('-') && args[i - 1] !== '-b') ?? '.'
    t.equal(localConfig(join(ours, where)), localConfig(join(theirs, where)), `${args.join(' ')}: git config -l --local`)
  }
})

t.test('init.defaultBranch, from -c and from the global config', async (t) => {
  await twin(t, ['-c', 'init.defaultBranch=trunk', 'init'])
  const global = join(tmp.path, 'global-config')
  git(['config', '--file', global, 'init.defaultBranch', 'develop'])
  const { ours } = await twin(t, ['init'], { env: { GIT_CONFIG_GLOBAL: global } })
  t.equal(readFileSync(join(ours, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/develop\n')
  await twin(t, ['-c', 'advice.defaultBranchName=false', 'init'])
})

t.test('GIT_DIR, GIT_WORK_TREE and -C', async (t) => {
  await twin(t, ['init', '-b', 'm'], { env: { GIT_DIR: 'foo.git' } })
  await twin(t, ['init', '-b', 'm'], { env: { GIT_DIR: '.git' } })
  await twin(t, ['init', '-b', 'm'], { env: { GIT_DIR: 'x/.git' } })
  await twin(t, ['init', '-b', 'm'], { env: { GIT_DIR: 'x/.git' }, prepare: (d) => mkdirSync(join(d, 'x')) })
  const { ours, theirs } = await twin(t, ['init', '-b', 'm'], { env: { GIT_DIR: 'meta', GIT_WORK_TREE: 'wt' }, prepare: (d) => mkdirSync(join(d, 'wt')) })
  t.equal(localConfig(ours, { GIT_DIR: 'meta' }).split(ours).join('<dir>'), localConfig(theirs, { GIT_DIR: 'meta' }).split(theirs).join('<dir>'), 'core.worktree as git writes it')
  await twin(t, ['-C', 'deep', 'init', '-b', 'm', 'er'], { prepare: (d) => mkdirSync(join(d, 'deep')) })
})

t.test('re-init: the same words as git, nothing changed', async (t) => {
  const prepare = (d: string): void => {
    git(['init', '-q', '-b', 'main', '--bare', join(d, 'b.git')])
    git(['init', '-q', '-b', 'main', d])
  }
  await twin(t, ['init'], { prepare })
  await twin(t, ['init', '-b', 'other'], { prepare })
  await twin(t, ['init', '-q', '-b', 'other'], { prepare })
  await twin(t, ['init', '--bare', 'b.git'], { prepare })
  // what git writes again on a re-init, and what it leaves
  await twin(t, ['init'], {
    prepare: (d) => {
      prepare(d)
      for (const args of [['config', 'core.filemode', 'false'], ['config', 'core.logallrefupdates', 'false'], ['config', '--unset', 'core.repositoryformatversion'], ['config', 'user.name', 'kept']]) git(args, { cwd: d })
      rmSync(join(d, '.git', 'description'))
      rmSync(join(d, '.git', 'refs', 'tags'), { recursive: true })
    },
  })
})

t.test('refused as git refuses', async (t) => {
  // git has made most of the repository by then; tsgit checks the name first and leaves nothing
  const { ours } = await twin(t, ['init', '-b', 'bad..name'], { files: false })
  t.same(readdirSync(ours), [], 'nothing left behind')
})

t.test('real git works in it: status, fsck, fetch', async (t) => {
  const src = join(tmp.path, 'src')
  git(['init', '-q', '-b', 'main', src])
  git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: src })
  const server = await startGitServer({ root: tmp.path })
  t.teardown(() => server.close())
  const dir = join(tmp.path, 'fetched')
  const r = await tsgit(['init', '-q', dir])
  t.equal(r.status, 0)
  t.equal(git(['status', '--porcelain'], { cwd: dir }).stdout, '')
  git(['fsck'], { cwd: dir })
  git(['remote', 'add', 'origin', server.url('src')], { cwd: dir })
  await gitAsync(['fetch', '-q', 'origin'], { cwd: dir })
  t.equal(git(['rev-parse', 'refs/remotes/origin/main'], { cwd: dir }).stdout, git(['rev-parse', 'main'], { cwd: src }).stdout)
  git(['fsck'], { cwd: dir })
})
