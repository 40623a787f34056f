/**
 * `tsgit show-ref` against `git show-ref` on the same repository: stdout, stderr and
 * exit code, for listing, --heads/--tags, patterns, --verify [-q], --hash[=n],
 * --abbrev, -d, --head, packed and loose refs and a symbolic remote HEAD.
 */
import t from 'tap'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-show-ref-')
t.teardown(tmp.cleanup)
const repo = join(tmp.path, 'repo')
const g = (...args: string[]): string => git(args, { cwd: repo }).stdout
git(['init', '-q', '-b', 'main', repo])
g('commit', '-q', '--allow-empty', '-m', 'one')
g('commit', '-q', '--allow-empty', '-m', 'two')
g('branch', 'topic', 'HEAD~1')
g('branch', 'feature/main', 'HEAD~1')
g('tag', '-a', '-m', 'annotated', 'v1', 'HEAD~1')
g('tag', '-a', '-m', 'tag of a tag', 'v1-again', 'v1')
g('tag', 'light')
g('update-ref', 'refs/remotes/origin/main', 'HEAD~1')
g('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main')
g('pack-refs', '--all')
// after packing: a loose ref that overrides a packed one, and one only loose
g('update-ref', 'refs/heads/topic', 'HEAD')
g('branch', 'loose-only')
const empty = join(tmp.path, 'empty')
git(['init', '-q', empty])

t.test('the same output, messages and exit codes as git', async (t) => {
  const cases: [string, string[]][] = [
    [repo, []], [repo, ['--heads']], [repo, ['--tags']], [repo, ['--heads', '--tags']], [repo, ['main']], [repo, ['ain']], [repo, ['origin/main']], [repo, ['heads/main', 'v1']],
    [repo, ['nope']], [repo, ['--verify', 'refs/heads/main']], [repo, ['--verify', 'refs/heads/main', 'refs/tags/v1']], [repo, ['--verify', 'main']], [repo, ['--verify', 'refs/heads/nope']],
    [repo, ['--verify', '-q', 'refs/heads/nope']], [repo, ['--verify', 'HEAD']], [repo, ['--verify', '--quiet', 'refs/heads/main']], [repo, ['-s', 'main']], [repo, ['--hash', 'v1']],
    [repo, ['--hash=10', 'main']], [repo, ['--abbrev', 'v1']], [repo, ['--abbrev=12']], [repo, ['-d']], [repo, ['-d', '--tags', '-s']], [repo, ['--head']], [repo, ['--head', '--tags']],
    [repo, ['-q', 'main']], [repo, ['-q', 'nope']], [repo, ['--', '--heads']], [repo, ['--verify', 'refs/tags/v1-again', '-d']], [empty, []], [empty, ['--head']],
  ]
  for (const [cwd, args] of cases) {
    const gr = git(['show-ref', ...args], { cwd, allowFail: true })
    const o = await tsgit(['show-ref', ...args], { cwd })
    const label = `show-ref ${args.join(' ')}${cwd === empty ? ' (empty)' : ''}`
    t.equal(o.status, gr.status, `${label}: exit ${gr.status}`)
    t.equal(o.stdout, gr.stdout, `${label}: stdout`)
    t.equal(o.stderr, gr.stderr, `${label}: stderr`)
  }
})

t.test('GIT_DIR and -C', async (t) => {
  const gr = git(['show-ref'], { cwd: tmp.path, env: { GIT_DIR: join(repo, '.git') } })
  t.equal((await tsgit(['show-ref'], { cwd: tmp.path, env: { GIT_DIR: join(repo, '.git') } })).stdout, gr.stdout, 'GIT_DIR')
  t.equal((await tsgit(['-C', 'repo', 'show-ref', '--heads'], { cwd: tmp.path })).stdout, git(['show-ref', '--heads'], { cwd: repo }).stdout, '-C')
})

t.test('an unknown option is bad usage', async (t) => {
  const o = await tsgit(['show-ref', '--bogus'], { cwd: repo })
  t.equal(o.status, 129)
  t.equal(o.stderr, "error: unknown option `bogus'\n", "git's first line")
})
