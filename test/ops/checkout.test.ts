/**
 * tsgit checkout end to end, judged against real git: every step is run by tsgit in
 * one clone and by git in a twin clone of the same server, and the two must agree on
 * exit status, stdout, stderr, HEAD, branch config, reflog messages, the index
 * (`git ls-files -s`) and every file in the work tree. Partial clones must also make
 * exactly one fetch request for all the blobs a switch needs.
 */
import t, { type Test } from 'tap'
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-checkout-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
mkdirSync(root)
let server: GitServer
const BULK = 300

function write(dir: string, rel: string, content: string): void {
  const p = join(dir, rel)
  mkdirSync(dirname(p), { recursive: true })
  writeFileSync(p, content)
}

/**
 * main: two commits (tag v0 on the first); "other" from main: a modified, removed and
 * added file, an exec bit change, a file that becomes a symlink, a directory that
 * becomes a file, a file that becomes a directory, and BULK new files; "feature" exists
 * only on the server (DWIM).
 */
function makeServerRepo(): void {
  const work = join(tmp.path, 'work')
  git(['init', '-q', '-b', 'main', work])
  const g = (...args: string[]): string => git(args, { cwd: work }).stdout.trim()
  write(work, 'keep.txt', 'unchanged\n')
  write(work, 'mod.txt', 'version 0\n')
  g('add', '-A')
  g('commit', '-q', '-m', 'zero')
  g('tag', '-a', 'v0', '-m', 'tag zero')
  write(work, 'mod.txt', 'version 1\n')
  write(work, 'gone.txt', 'to be removed\n')
  write(work, 'exec.sh', '#!/bin/sh\n')
  write(work, 'becomes-link', 'a plain file\n')
  write(work, 'dir/a.txt', 'a\n')
  write(work, 'dir/sub/b.txt', 'b\n')
  write(work, 'file-to-dir', 'file for now\n')
  write(work, 'deep/x/y/z.txt', 'deep\n')
  g('add', '-A')
  g('commit', '-q', '-m', 'main: one\n\nwith a body')
  g('checkout', '-q', '-b', 'other')
  write(work, 'mod.txt', 'version other\n')
  rmSync(join(work, 'gone.txt'))
  write(work, 'new.txt', 'new file\n')
  chmodSync(join(work, 'exec.sh'), 0o755)
  rmSync(join(work, 'becomes-link'))
  symlinkSync('keep.txt', join(work, 'becomes-link'))
  rmSync(join(work, 'dir'), { recursive: true })
  write(work, 'dir', 'dir is a file now\n')
  rmSync(join(work, 'file-to-dir'))
  write(work, 'file-to-dir/inside.txt', 'inside\n')
  rmSync(join(work, 'deep'), { recursive: true })
  for (let i = 0; i < BULK; i++) write(work, `bulk/d${i % 10}/f${i}.txt`, `bulk file ${i}\n`)
  g('add', '-A')
  g('commit', '-q', '-m', 'other branch')
  g('checkout', '-q', '-b', 'feature', 'main')
  write(work, 'feature.txt', 'feature\n')
  g('add', '-A')
  g('commit', '-q', '-m', 'feature work')
  g('checkout', '-q', 'main')
  git(['clone', '-q', '--bare', '--no-local', work, join(root, 'sw.git')])
  rmSync(work, { recursive: true, force: true })
}

t.before(async () => {
  makeServerRepo()
  server = await startGitServer({ root })
})
t.teardown(async () => server?.close())

let n = 0
function dest(): string {
  return join(tmp.path, `c${n++}`)
}

/** Every work tree entry (not .git) with its type, exec bit and content or target. */
function snapshot(dir: string, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(dir, rel)).sort()) {
    if (rel === '' && name === '.git') continue
    const path = rel === '' ? name : `${rel}/${name}`
    const full = join(dir, path)
    const st = lstatSync(full)
    if (st.isSymbolicLink()) out.push(`link ${path} -> ${readlinkSync(full)}`)
    else if (st.isDirectory()) {
      out.push(`dir ${path}`)
      out.push(...snapshot(dir, path))
    } else out.push(`file ${path} ${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${JSON.stringify(readFileSync(full, 'utf8'))}`)
  }
  return out
}

/** HEAD, branch config, checkout reflog messages and the index, as real git reports them. */
function state(dir: string): Record<string, string> {
  const g = (...args: string[]): string => git(args, { cwd: dir, allowFail: true }).stdout
  const reflog = readFileSync(join(dir, '.git/logs/HEAD'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('\tcheckout: '))
    .map((l) => `${l.split(' ').slice(0, 2).join(' ')} ${l.split('\t')[1]}`)
    .join('\n')
  return {
    head: g('symbolic-ref', '-q', 'HEAD') + g('rev-parse', 'HEAD'),
    branches: g('for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'),
    config: g('config', '--get-regexp', '^branch\\.'),
    reflog,
    index: g('ls-files', '-s'),
    files: snapshot(dir).join('\n'),
  }
}

interface Twin {
  ours: string
  theirs: string
}

async function makeTwin(oursArgs: string[] = [], theirsArgs: string[] = []): Promise<Twin> {
  const ours = dest()
  const theirs = dest()
  const a = await tsgit(['clone', '-q', ...oursArgs, server.url('sw.git'), ours])
  if (a.status !== 0) throw new Error(a.stderr)
  await gitAsync(['clone', '-q', ...theirsArgs, server.url('sw.git'), theirs])
  return { ours, theirs }
}

/** Runs `checkout <args>` with tsgit and with git and checks that everything agrees. */
async function step(t: Test, tw: Twin, args: string[], expectStatus = 0): Promise<{ stdout: string; stderr: string }> {
  const a = await tsgit(['checkout', ...args], { cwd: tw.ours })
  const b = await gitAsync(['checkout', ...args], { cwd: tw.theirs, allowFail: true })
  const what = `checkout ${args.join(' ')}`
  t.equal(a.status, expectStatus, `${what}: exit ${expectStatus}${a.status !== expectStatus ? ` (${a.stderr})` : ''}`)
  t.equal(b.status, expectStatus, `${what}: git agrees on the exit status`)
  t.equal(a.stderr, b.stderr, `${what}: same stderr as git`)
  t.equal(a.stdout, b.stdout, `${what}: same stdout as git`)
  t.same(state(tw.ours), state(tw.theirs), `${what}: same HEAD, config, reflog, index and files as git`)
  return a
}

function clean(t: Test, dir: string): void {
  t.equal(git(['status', '--porcelain', '--untracked-files=all'], { cwd: dir }).stdout, '', 'git status is clean')
  t.equal(git(['diff', 'HEAD'], { cwd: dir }).stdout, '', 'git diff HEAD is empty')
  // Plumbing that does not refresh the index: our stat data must already match the files.
  t.equal(git(['diff-files', '--name-status'], { cwd: dir }).stdout, '', 'index stat data matches the files')
}

function fetches(since: number): { args: string[] }[] {
  return server.requests.slice(since).filter((r) => r.command === 'fetch')
}

t.test('full clone: switching branches, a tag, -b, --detach, -, DWIM, unknown name — same as git', async (t) => {
  const tw = await makeTwin()
  await step(t, tw, ['other'])
  clean(t, tw.ours)
  t.equal(lstatSync(join(tw.ours, 'becomes-link')).isSymbolicLink(), true, 'a file became a symlink')
  t.equal(lstatSync(join(tw.ours, 'dir')).isFile(), true, 'a directory became a file')
  t.equal(lstatSync(join(tw.ours, 'exec.sh')).mode & 0o111, 0o111 & ~process.umask(), 'exec bit set')
  t.throws(() => lstatSync(join(tw.ours, 'deep')), 'a directory that became empty is removed')
  await step(t, tw, ['main'])
  clean(t, tw.ours)
  await step(t, tw, ['main'])
  await step(t, tw, ['v0'])
  clean(t, tw.ours)
  await step(t, tw, ['-b', 'topic', 'other'])
  await step(t, tw, ['--detach'])
  await step(t, tw, ['-'])
  await step(t, tw, ['feature'])
  t.equal(git(['config', 'branch.feature.merge'], { cwd: tw.ours }).stdout, 'refs/heads/feature\n')
  await step(t, tw, ['HEAD~1'])
  await step(t, tw, ['nosuch'], 1)
  await step(t, tw, ['-b', 'tracked', 'origin/other'])
  clean(t, tw.ours)
  t.equal(git(['fsck'], { cwd: tw.ours, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('advice.detachedHead=false gives the short form', async (t) => {
  const tw = await makeTwin()
  git(['config', 'advice.detachedHead', 'false'], { cwd: tw.ours })
  git(['config', 'advice.detachedHead', 'false'], { cwd: tw.theirs })
  const r = await step(t, tw, ['v0'])
  t.match(r.stderr, /^HEAD is now at [0-9a-f]{7} zero\n$/)
})

t.test('local changes: refused like git, nothing changed; unrelated changes carried', async (t) => {
  const tw = await makeTwin()
  for (const d of [tw.ours, tw.theirs]) writeFileSync(join(d, 'mod.txt'), 'my edit\n')
  const before = state(tw.ours)
  const r = await step(t, tw, ['other'], 1)
  t.match(r.stderr, /error: Your local changes to the following files would be overwritten by checkout:\n\tmod\.txt\n/)
  t.same(state(tw.ours), before, 'HEAD, index and files unchanged')

  // A staged change counts too.
  for (const d of [tw.ours, tw.theirs]) git(['add', 'mod.txt'], { cwd: d })
  await step(t, tw, ['other'], 1)
  for (const d of [tw.ours, tw.theirs]) git(['reset', '-q', '--hard'], { cwd: d })

  // An untracked file where the new branch has one.
  for (const d of [tw.ours, tw.theirs]) writeFileSync(join(d, 'new.txt'), 'mine\n')
  const u = await step(t, tw, ['other'], 1)
  t.match(u.stderr, /untracked working tree files would be overwritten/)
  // Untracked files inside a directory that must become a file.
  for (const d of [tw.ours, tw.theirs]) {
    rmSync(join(d, 'new.txt'))
    writeFileSync(join(d, 'dir/untracked.txt'), 'mine\n')
  }
  await step(t, tw, ['other'], 1)
  for (const d of [tw.ours, tw.theirs]) rmSync(join(d, 'dir/untracked.txt'))

  // A change to a file the switch does not touch is carried over ("M\tkeep.txt").
  for (const d of [tw.ours, tw.theirs]) writeFileSync(join(d, 'keep.txt'), 'edited locally\n')
  const c = await step(t, tw, ['other'])
  t.match(c.stdout, /^M\tkeep\.txt\n/, 'the carried change is listed')
  t.equal(readFileSync(join(tw.ours, 'keep.txt'), 'utf8'), 'edited locally\n')

  // -f throws local changes away.
  for (const d of [tw.ours, tw.theirs]) writeFileSync(join(d, 'mod.txt'), 'another edit\n')
  await step(t, tw, ['-f', 'main'])
  clean(t, tw.ours)
})

t.test('partial clones (tsgit and git): one fetch request for all the blobs of a switch', async (t) => {
  for (const cloner of ['tsgit', 'git'] as const) {
    t.test(`${cloner} clone --filter=blob:none`, async (t) => {
      const d = dest()
      if (cloner === 'tsgit') {
        const r = await tsgit(['clone', '-q', '--filter=blob:none', server.url('sw.git'), d])
        t.equal(r.status, 0, r.stderr)
      } else {
        await gitAsync(['clone', '-q', '--filter=blob:none', server.url('sw.git'), d])
      }
      const since = server.requests.length
      const r = await tsgit(['checkout', 'other'], { cwd: d })
      t.equal(r.status, 0, r.stderr)
      const f = fetches(since)
      t.equal(f.length, 1, `one fetch request, not one per blob (${f.length})`)
      const wants = f[0]?.args.filter((a) => a.startsWith('want ')).length ?? 0
      t.ok(wants >= BULK, `the request wants every new blob (${wants})`)
      t.ok(f[0]?.args.includes('no-progress'), 'no progress asked for: stderr is not a terminal')
      t.notMatch(r.stderr, /remote: /)
      clean(t, d)
      t.equal(git(['fsck', '--connectivity-only'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
      t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout, git(['rev-parse', 'other'], { cwd: join(root, 'sw.git') }).stdout)
    })
  }
})

t.test('tree:0 partial clone: trees fetched level by level, blobs in one batch', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=tree:0', server.url('sw.git'), d])
  t.equal(r.status, 0, r.stderr)
  const since = server.requests.length
  const c = await tsgit(['checkout', 'other'], { cwd: d })
  t.equal(c.status, 0, c.stderr)
  const f = fetches(since)
  // bulk/d*/f*: root, bulk, bulk/d* are three tree levels (plus file-to-dir), then one blob batch.
  t.ok(f.length <= 5, `a handful of requests, not one per object (${f.length})`)
  clean(t, d)
})

t.test('the tracking report: up to date, ahead, diverged — as git words it; -q prints nothing', async (t) => {
  const tw = await makeTwin()
  const r = await step(t, tw, ['main'])
  t.match(r.stdout, /^Your branch is up to date with 'origin\/main'\.\n$/)
  // The same two local commits in both twins (fixed dates, so the same ids).
  for (const dir of [tw.ours, tw.theirs]) {
    for (const n of [1, 2]) {
      writeFileSync(join(dir, `local-${n}.txt`), `${n}\n`)
      git(['add', '-A'], { cwd: dir })
      git(['commit', '-q', '-m', `local ${n}`], { cwd: dir })
    }
  }
  await step(t, tw, ['other'])
  const ahead = await step(t, tw, ['main'])
  t.match(ahead.stdout, /ahead of 'origin\/main' by 2 commits/)
  // origin/main one commit further on its own: diverged, 2 and 1.
  for (const dir of [tw.ours, tw.theirs]) {
    const tip = git(['rev-parse', 'origin/main'], { cwd: dir }).stdout.trim()
    const tree = git(['rev-parse', `${tip}^{tree}`], { cwd: dir }).stdout.trim()
    const upstream = git(['commit-tree', '-p', tip, '-m', 'upstream moved', tree], { cwd: dir }).stdout.trim()
    git(['update-ref', 'refs/remotes/origin/main', upstream], { cwd: dir })
  }
  await step(t, tw, ['other'])
  const diverged = await step(t, tw, ['main'])
  t.match(diverged.stdout, /have diverged,\nand have 2 and 1 different commits each/)
  await step(t, tw, ['other'])
  const quiet = await step(t, tw, ['-q', 'main'])
  t.equal(quiet.stdout, '', '-q: no tracking report')
})
