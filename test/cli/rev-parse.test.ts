/**
 * `tsgit rev-parse` against `git rev-parse` on the same repositories, from the same
 * directories, with the same environment: stdout, stderr and exit code must be the
 * same, for revisions, peeling, --verify [-q], --short[=n] (unique abbreviations where
 * prefixes collide), --abbrev-ref, the location options, GIT_DIR/GIT_WORK_TREE/-C,
 * and every way a revision can fail.
 */
import t, { type Test } from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-rev-parse-')
t.teardown(tmp.cleanup)
const repo = join(tmp.path, 'repo')
const g = (...args: string[]): string => git(args, { cwd: repo }).stdout

git(['init', '-q', '-b', 'main', repo])
// 200 commits, each with a blob and a tree of its own: enough ids that 4-digit prefixes collide
let stream = ''
for (let i = 0; i < 200; i++) {
  const message = `commit ${i}\n`
  const content = `content ${i}\n`
  stream += `commit refs/heads/main\ncommitter C O Mitter <c@example.com> ${1112911993 + i * 60} -0700\ndata ${message.length}\n${message}`
  stream += `M 100644 inline dir/f.txt\ndata ${content.length}\n${content}\n`
}
git(['fast-import', '--quiet'], { cwd: repo, input: stream })
g('reset', '-q', '--hard', 'main')
g('branch', 'side', 'main~5')
g('tag', 'light', 'main~3')
g('tag', '-a', '-m', 'annotated', 'v1', 'main~2')
g('update-ref', 'refs/remotes/origin/main', 'main~1')
g('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main')
// a branch and a tag with the same name: --abbrev-ref must keep them apart
g('branch', 'twin', 'main~7')
g('tag', 'twin', 'main~8')
writeFileSync(join(repo, 'a-file'), 'not tracked\n')
mkdirSync(join(repo, 'dir', 'sub'), { recursive: true })

const bare = join(tmp.path, 'bare.git')
git(['clone', '-q', '--bare', repo, bare])
const unborn = join(tmp.path, 'unborn')
git(['init', '-q', '-b', 'main', unborn])
const shallow = join(tmp.path, 'shallow')
git(['clone', '-q', '--depth=3', `file://${repo}`, shallow])
const detached = join(tmp.path, 'detached')
git(['clone', '-q', repo, detached])
git(['checkout', '-q', '--detach', 'HEAD~2'], { cwd: detached })

async function same(t: Test, cwd: string, args: string[], env: Record<string, string> = {}, pre: string[] = []): Promise<void> {
  const gr = git([...pre, 'rev-parse', ...args], { cwd, env, allowFail: true })
  const ours = await tsgit([...pre, 'rev-parse', ...args], { cwd, env })
  const label = `${cwd.slice(tmp.path.length)}: ${[...pre, 'rev-parse', ...args].join(' ')}`
  t.equal(ours.status, gr.status, `${label}: exit ${gr.status}`)
  t.equal(ours.stdout, gr.stdout, `${label}: stdout`)
  t.equal(ours.stderr, gr.stderr, `${label}: stderr`)
}

t.test('revisions, peeling and --verify', async (t) => {
  for (const args of [
    ['HEAD'], ['main'], ['side', 'v1', 'light'], ['@'], ['HEAD~3'], ['HEAD^'], ['HEAD^0'], ['v1^{}'], ['v1^{commit}'], ['v1^{tree}'], ['HEAD^{tree}'], ['v1^{tag}'],
    ['HEAD:dir/f.txt'], ['HEAD:dir'], ['origin/main'], ['origin'], ['refs/heads/side'], ['twin'], [g('rev-parse', 'HEAD~4').slice(0, 12)],
    ['--verify', 'HEAD'], ['--verify', 'v1^{commit}'], ['--verify', '-q', 'HEAD'], ['-q', '--verify', 'nope'], ['--verify', '-q', 'nope'], ['--verify', 'nope'],
    ['--verify'], ['--verify', 'HEAD', 'main'], ['--verify', 'HEAD^{blob}'], ['--quiet', '--verify', 'HEAD^{blob}'],
    ['nope'], ['HEAD', 'nope', 'main'], ['HEAD^{blob}'], ['HEAD:nope'], ['--verify', 'HEAD:nope'], ['HEAD^3'], ['nope', '--'], ['HEAD', '--', 'nope', 'x'],
    ['a-file', 'HEAD'], ['HEAD', 'a-file', 'nope'],
  ]) {
    await same(t, repo, args)
  }
})

t.test('--short: unique abbreviations', async (t) => {
  await same(t, repo, ['--short', 'HEAD'])
  await same(t, repo, ['--short=10', 'HEAD'])
  await same(t, repo, ['--short=2', 'HEAD'])
  await same(t, repo, ['--short=41', 'HEAD'])
  await same(t, repo, ['HEAD~1', '--short', 'HEAD'])
  await same(t, repo, ['--short', 'HEAD~1', '--short=10', 'HEAD'])
  await same(t, repo, ['--short'])
  await same(t, repo, ['--short', 'nope'])
  await same(t, repo, ['--short', '--abbrev-ref', 'HEAD'])
  await same(t, repo, ['--short', 'HEAD'], {}, ['-c', 'core.abbrev=12'])
  // every object at 4 digits: some prefixes collide and must grow
  const all = g('rev-list', '--objects', '--all').split('\n').filter((l) => l !== '').map((l) => l.slice(0, 40))
  const gits = all.map((oid) => git(['rev-parse', '--short=4', oid], { cwd: repo }).stdout)
  t.ok(gits.some((s) => s.length > 5), 'some 4-digit prefixes collide')
  for (const [i, oid] of all.entries()) {
    // the ids whose prefix grows, and a few that do not
    if ((gits[i] as string).length <= 5 && i % 100 !== 0) continue
    const r = await tsgit(['rev-parse', '--short=4', oid], { cwd: repo })
    t.equal(r.stdout, gits[i], `${oid}: grows to ${(gits[i] as string).length - 1} digits as in git`)
  }
})

t.test('--abbrev-ref and --symbolic-full-name', async (t) => {
  for (const args of [
    ['--abbrev-ref', 'HEAD'], ['--abbrev-ref', 'refs/heads/main'], ['--abbrev-ref', 'refs/remotes/origin/main'], ['--abbrev-ref', 'origin/main'], ['--abbrev-ref', 'origin/HEAD'],
    ['--abbrev-ref', 'origin'], ['--abbrev-ref', 'v1'], ['--abbrev-ref', 'refs/tags/twin'], ['--abbrev-ref', 'refs/heads/twin'], ['--abbrev-ref=loose', 'refs/heads/twin'], ['--abbrev-ref', 'HEAD~1'],
    ['--abbrev-ref', g('rev-parse', 'HEAD').trim()], ['--abbrev-ref', 'main^{commit}'], ['--abbrev-ref'], ['--abbrev-ref', 'nope'], ['--verify', '--abbrev-ref', 'HEAD'],
    ['--symbolic-full-name', 'HEAD'], ['--symbolic-full-name', 'main', 'origin/HEAD', 'v1'],
  ]) {
    await same(t, repo, args)
  }
  await same(t, detached, ['--abbrev-ref', 'HEAD'])
  await same(t, detached, ['--symbolic-full-name', 'HEAD'])
})

t.test('where the repository is, from where the command runs', async (t) => {
  const loc = ['--show-prefix', '--show-cdup', '--git-dir', '--show-toplevel', '--is-inside-work-tree', '--is-inside-git-dir', '--is-bare-repository', '--is-shallow-repository', '--absolute-git-dir']
  for (const cwd of [repo, join(repo, 'dir'), join(repo, 'dir', 'sub'), join(repo, '.git'), join(repo, '.git', 'refs'), bare, join(bare, 'refs'), shallow, unborn]) {
    for (const a of loc) await same(t, cwd, [a])
    await same(t, cwd, ['--git-dir', 'HEAD', '--is-inside-work-tree'])
  }
  await same(t, repo, ['--git-dir', '--show-toplevel', '--is-inside-work-tree', 'HEAD'], { GIT_DIR: '.git' })
  await same(t, join(repo, 'dir'), ['--git-dir', '--show-toplevel', '--is-inside-work-tree', 'HEAD'], { GIT_DIR: '../.git' })
  await same(t, join(repo, 'dir'), ['--git-dir', '--show-toplevel', '--is-inside-work-tree', 'HEAD'], { GIT_DIR: join(repo, '.git'), GIT_WORK_TREE: join(repo, 'dir') })
  await same(t, tmp.path, ['--git-dir', '--show-toplevel', 'HEAD'], { GIT_DIR: bare })
  await same(t, tmp.path, ['--git-dir', '--show-toplevel', '--is-inside-work-tree', 'HEAD'], {}, ['-C', 'repo/dir'])
  await same(t, tmp.path, ['HEAD'], {}, ['-C', 'repo', '-c', 'core.abbrev=5'])
  await same(t, tmp.path, ['--git-dir'])
})

t.test('an unborn HEAD', async (t) => {
  for (const args of [['HEAD'], ['--verify', 'HEAD'], ['--verify', '-q', 'HEAD'], ['--abbrev-ref', 'HEAD'], ['--short', 'HEAD'], ['--symbolic-full-name', 'HEAD'], ['--symbolic-full-name', '--verify', '--quiet', 'HEAD']]) {
    await same(t, unborn, args)
  }
  // what actions/checkout asks of a repository it finds in place
  await same(t, repo, ['--symbolic-full-name', '--verify', '--quiet', 'HEAD'])
})

t.test('an unknown option is a usage error (a deviation: git prints it back)', async (t) => {
  const r = await tsgit(['rev-parse', '--frobnicate'], { cwd: repo })
  t.equal(r.status, 129)
  t.equal(r.stderr, "error: unknown option '--frobnicate'\n")
})
