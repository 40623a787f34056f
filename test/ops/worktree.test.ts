/**
 * tsgit in a linked worktree made by real git (`git worktree add`): the worktree's
 * .git file leads to .git/worktrees/<id>, whose `commondir` leads back to the
 * repository; config, objects and shared refs are read and written there, HEAD, the
 * index and the per-worktree refs stay in the worktree's own directory, as git does.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-worktree-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
})

/** A blob:none clone by git with a linked worktree on a new branch at HEAD~1. */
async function cloneWithWorktree(): Promise<{ main: string; wt: string; id: string }> {
  const main = srv.dest('main')
  await gitAsync(['clone', '-q', '--filter=blob:none', srv.server.url('rich.git'), main])
  const wt = `${main}-wt`
  await gitAsync(['worktree', 'add', '-q', '-b', 'side', wt, 'HEAD~1'], { cwd: main })
  const id = readFileSync(join(wt, '.git'), 'utf8').trim().split('/').pop() as string
  return { main, wt, id }
}

t.test('reading: refs, objects and config come from the common directory; HEAD from the worktree', async (t) => {
  const { main, wt } = await cloneWithWorktree()
  // a detached HEAD in the main worktree on a commit no ref reaches: --all must include it
  const tree = git(['rev-parse', 'HEAD^{tree}'], { cwd: main }).stdout.trim()
  const loose = git(['commit-tree', '-p', 'HEAD', '-m', 'only in main', tree], { cwd: main }).stdout.trim()
  git(['checkout', '-q', '--detach', loose], { cwd: main })
  for (const args of [['--all'], ['HEAD'], ['--objects', '--missing=print', '--all']]) {
    const r = await tsgit(['rev-list', ...args], { cwd: wt })
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stdout, git(['rev-list', ...args], { cwd: wt }).stdout, `rev-list ${args.join(' ')} in the worktree as git prints it`)
  }
  t.match((await tsgit(['rev-list', '--all'], { cwd: wt })).stdout, loose, 'the other worktree’s HEAD is a start point of --all')
  t.equal((await tsgit(['cat-file', '-p', 'HEAD'], { cwd: wt })).stdout, git(['cat-file', '-p', 'HEAD'], { cwd: wt }).stdout)
  t.equal((await tsgit(['config', '--get', 'remote.origin.url'], { cwd: wt })).stdout, `${srv.server.url('rich.git')}\n`)
  const fsck = await tsgit(['fsck'], { cwd: wt })
  t.equal(fsck.status, 0, fsck.stderr)
  t.notMatch(fsck.stdout, loose, 'the main worktree’s HEAD is a root, not a dangling commit')
})

t.test('writing: a new branch lands in the common refs, HEAD and its log in the worktree, fetched objects in the common store', async (t) => {
  const { main, wt, id } = await cloneWithWorktree()
  const since = srv.server.requests.length
  const r = await tsgit(['checkout', '-b', 'topic', rich.commits[0] as string], { cwd: wt })
  t.equal(r.status, 0, r.stderr)
  t.equal(srv.server.requests.slice(since).filter((q) => q.command === 'fetch').length, 1, 'the missing blobs in one request')
  const common = join(main, '.git')
  const own = join(common, 'worktrees', id)
  t.equal(readFileSync(join(own, 'HEAD'), 'utf8'), 'ref: refs/heads/topic\n')
  t.equal(git(['rev-parse', 'topic'], { cwd: main }).stdout.trim(), rich.commits[0], 'the branch is seen from the main worktree')
  t.ok(existsSync(join(common, 'logs', 'refs', 'heads', 'topic')), 'the branch’s log in the common directory')
  t.match(readFileSync(join(own, 'logs', 'HEAD'), 'utf8'), /checkout: moving from side to topic/)
  t.notMatch(readFileSync(join(common, 'logs', 'HEAD'), 'utf8'), /moving from side to topic/, 'the main worktree’s HEAD log is untouched')
  t.equal(readFileSync(join(common, 'HEAD'), 'utf8'), 'ref: refs/heads/main\n')
  t.equal(git(['status', '--porcelain'], { cwd: wt }).stdout, '')
  t.equal(git(['status', '--porcelain'], { cwd: main }).stdout, '', 'the main worktree’s index is untouched')
  t.equal(git(['fsck'], { cwd: main, allowFail: true }).status, 0)
  t.ok(git(['worktree', 'list'], { cwd: main }).stdout.includes('[topic]'))

  const set = await tsgit(['config', 'tsgit.test', 'yes'], { cwd: wt })
  t.equal(set.status, 0, set.stderr)
  t.equal(git(['config', '--get', 'tsgit.test'], { cwd: main }).stdout, 'yes\n', 'config is written to the common file')
})

t.test('a branch checked out in another worktree is refused with git’s message', async (t) => {
  const { main, wt } = await cloneWithWorktree()
  const ours = await tsgit(['checkout', 'main'], { cwd: wt })
  const theirs = git(['checkout', 'main'], { cwd: wt, allowFail: true })
  t.equal(ours.status, 128)
  t.equal(ours.stderr, theirs.stderr)
  t.equal(ours.stderr, `fatal: 'main' is already checked out at '${main}'\n`)
  const back = await tsgit(['checkout', 'side'], { cwd: main })
  t.equal(back.status, 128)
  t.equal(back.stderr, `fatal: 'side' is already checked out at '${wt}'\n`)
  const forced = await tsgit(['checkout', '--ignore-other-worktrees', 'main'], { cwd: wt })
  t.equal(forced.status, 0, forced.stderr)
  t.equal(readFileSync(join(wt, '.git'), 'utf8').startsWith('gitdir: '), true)
})

t.test('per-worktree refs and config.worktree stay with their worktree', async (t) => {
  const { main, wt } = await cloneWithWorktree()
  git(['update-ref', 'refs/bisect/bad', 'HEAD'], { cwd: wt })
  git(['config', 'core.repositoryformatversion', '1'], { cwd: main })
  git(['config', 'extensions.worktreeConfig', 'true'], { cwd: main })
  git(['config', '--worktree', 'tsgit.where', 'worktree'], { cwd: wt })
  t.equal((await tsgit(['config', '--get', 'tsgit.where'], { cwd: wt })).stdout, 'worktree\n')
  t.equal((await tsgit(['config', '--get', 'tsgit.where'], { cwd: main })).status, 1, 'not set in the main worktree')
  for (const dir of [main, wt]) {
    t.equal((await tsgit(['rev-list', '--all'], { cwd: dir })).stdout, git(['rev-list', '--all'], { cwd: dir }).stdout, `rev-list --all in ${dir === main ? 'main' : 'the worktree'}`)
  }
})
