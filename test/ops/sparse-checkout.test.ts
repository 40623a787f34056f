/**
 * tsgit sparse-checkout and clone --sparse end to end, judged against real git: every
 * step is run by tsgit in one clone and by git in a twin clone of the same server, and
 * the two must agree on info/sparse-checkout, config and config.worktree (byte for
 * byte), the index with its skip-worktree bits (`git ls-files -v`, `-s`) and every
 * file of the work tree; git status stays clean and git's own `sparse-checkout list`
 * agrees. In a blob:none clone the server's request log must show no blob outside the
 * cone, and every blob a step needs in one request.
 */
import t, { type Test } from 'tap'
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'
import { fileOrNone } from '../fixtures/worktree-files.js'

function write(dir: string, rel: string, content: string): void {
  const p = join(dir, rel)
  mkdirSync(dirname(p), { recursive: true })
  writeFileSync(p, content)
}

/** blob → every path it has in any commit of the server's repository. */
const pathsOf = new Map<string, Set<string>>()

/**
 * main: files at the top, in a/ (a/b/, a/b/c/), d/ (d/deeper/), e/, an executable
 * and a symlink in the cone and out of it, 40 files in bulk/. "other" from main
 * changes paths inside the cone and outside it, adds f/, removes e/.
 */
const srv = serveRepos(t, 'tsgit-sparse-', async (root) => {
  const work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  const g = (...args: string[]): string => git(args, { cwd: work }).stdout.trim()
  write(work, 'README', 'readme\n')
  write(work, 'top.txt', 'top\n')
  write(work, 'a/f.txt', 'a f\n')
  write(work, 'a/b/g.txt', 'a b g\n')
  write(work, 'a/b/c/h.txt', 'a b c h\n')
  write(work, 'a/b/run.sh', '#!/bin/sh\n')
  chmodSync(join(work, 'a/b/run.sh'), 0o755)
  write(work, 'd/i.txt', 'd i\n')
  write(work, 'd/deeper/j.txt', 'd deeper j\n')
  write(work, 'e/k.txt', 'e k\n')
  symlinkSync('../top.txt', join(work, 'e/link'))
  for (let i = 0; i < 40; i++) write(work, `bulk/x${i % 4}/f${i}.txt`, `bulk ${i}\n`)
  g('add', '-A')
  g('commit', '-q', '-m', 'main')
  g('checkout', '-q', '-b', 'other')
  write(work, 'top.txt', 'top on other\n')
  write(work, 'a/b/g.txt', 'a b g on other\n')
  write(work, 'd/i.txt', 'd i on other\n')
  write(work, 'd/new.txt', 'd new\n')
  write(work, 'f/k.txt', 'f k\n')
  rmSync(join(work, 'e'), { recursive: true })
  g('add', '-A')
  g('commit', '-q', '-m', 'other')
  g('checkout', '-q', 'main')
  git(['clone', '-q', '--bare', '--no-local', work, join(root, 'sp.git')])
  rmSync(work, { recursive: true, force: true })
  const bare = join(root, 'sp.git')
  for (const commit of git(['rev-list', '--all'], { cwd: bare }).stdout.trim().split('\n')) {
    for (const line of git(['ls-tree', '-r', '-z', commit], { cwd: bare }).stdout.split('\0')) {
      const m = /^\d+ blob ([0-9a-f]{40})\t(.*)$/s.exec(line)
      if (m === null) continue
      const set = pathsOf.get(m[1] as string) ?? new Set<string>()
      set.add(m[2] as string)
      pathsOf.set(m[1] as string, set)
    }
  }
})
const { dest } = srv

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

/** What a sparse checkout is, as git sees it: the files git writes, the index with its bits, the work tree. */
function state(dir: string, opts: { config?: boolean } = {}): Record<string, string> {
  const g = (...args: string[]): string => git(args, { cwd: dir, allowFail: true }).stdout
  return {
    patterns: fileOrNone(join(dir, '.git/info/sparse-checkout')),
    ...(opts.config !== false ? { config: fileOrNone(join(dir, '.git/config')) } : {}),
    worktreeConfig: fileOrNone(join(dir, '.git/config.worktree')),
    bits: g('ls-files', '-v'),
    index: g('ls-files', '-s'),
    list: g('sparse-checkout', 'list'),
    files: snapshot(dir).join('\n'),
  }
}

interface Twin {
  ours: string
  theirs: string
}

async function twin(oursArgs: string[] = [], theirsArgs: string[] = oursArgs): Promise<Twin> {
  const ours = dest('ours')
  const theirs = dest('theirs')
  const a = await tsgit(['clone', '-q', ...oursArgs, srv.server.url('sp.git'), ours])
  if (a.status !== 0) throw new Error(a.stderr)
  await gitAsync(['clone', '-q', ...theirsArgs, srv.server.url('sp.git'), theirs])
  return { ours, theirs }
}

function clean(t: Test, dir: string): void {
  t.equal(git(['status', '--porcelain', '--untracked-files=all'], { cwd: dir }).stdout, '', 'git status is clean')
  // Plumbing that does not refresh the index: the stat data of what was written is right.
  t.equal(git(['diff-files', '--name-status'], { cwd: dir }).stdout, '', 'index stat data matches the files')
}

/** Runs `<command> <args>` with tsgit and git, from `sub` below each work tree, and compares. */
async function step(t: Test, tw: Twin, command: 'sparse-checkout' | 'checkout', args: string[], o: { status?: number; sub?: string; config?: boolean; stderr?: boolean; input?: string } = {}): Promise<string> {
  const status = o.status ?? 0
  const input = o.input !== undefined ? { input: o.input } : {}
  const a = await tsgit([command, ...args], { cwd: join(tw.ours, o.sub ?? ''), ...input })
  const b = await gitAsync([command, ...args], { cwd: join(tw.theirs, o.sub ?? ''), allowFail: true, ...input })
  const what = `${command} ${args.join(' ')}`
  t.equal(a.status, status, `${what}: exit ${status}${a.status !== status ? ` (${a.stderr})` : ''}`)
  t.equal(b.status, status, `${what}: git agrees on the exit status`)
  if (o.stderr === true) t.equal(a.stderr.replace(/`tsgit /g, '`git '), b.stderr, `${what}: same messages as git`)
  t.same(state(tw.ours, o), state(tw.theirs, o), `${what}: same patterns, config, skip-worktree bits, index and files as git`)
  return a.stderr
}

t.test('set, add, reapply, init, disable in a tsgit clone and a git clone: the same files, bits and work tree', async (t) => {
  const tw = await twin()
  t.same(state(tw.ours), state(tw.theirs), 'the clones agree to begin with')
  await step(t, tw, 'sparse-checkout', ['set', 'a/b'])
  t.match(fileOrNone(join(tw.ours, '.git/config')), /\[extensions\]\n\tworktreeConfig = true\n/, 'extensions.worktreeConfig in the repository config')
  t.equal(fileOrNone(join(tw.ours, '.git/config.worktree')), '[core]\n\tsparseCheckout = true\n\tsparseCheckoutCone = true\n')
  t.equal(fileOrNone(join(tw.ours, '.git/info/sparse-checkout')), '/*\n!/*/\n/a/\n!/a/*/\n/a/b/\n')
  t.notOk(existsSync(join(tw.ours, 'd')), 'a directory that left the cone is gone')
  clean(t, tw.ours)
  await step(t, tw, 'sparse-checkout', ['add', 'd/deeper', 'bulk'])
  clean(t, tw.ours)
  await step(t, tw, 'sparse-checkout', ['set', 'e', 'd', 'd/deeper', 'a/b/c'])
  clean(t, tw.ours)
  await step(t, tw, 'sparse-checkout', ['set'])
  await step(t, tw, 'sparse-checkout', ['set', 'a/b'])
  await step(t, tw, 'sparse-checkout', ['add', '../e', 'b/c'], { sub: 'a' })
  await step(t, tw, 'sparse-checkout', ['reapply'])
  await step(t, tw, 'sparse-checkout', ['disable'])
  t.equal(fileOrNone(join(tw.ours, '.git/config.worktree')), '[core]\n\tsparseCheckout = false\n\tsparseCheckoutCone = false\n[index]\n\tsparse = false\n')
  clean(t, tw.ours)
  await step(t, tw, 'sparse-checkout', ['init'])
  t.equal(fileOrNone(join(tw.ours, '.git/info/sparse-checkout')), '/*\n!/*/\n/a/\n!/a/*/\n/a/b/\n/e/\n', 'init keeps the patterns disable left')
  await step(t, tw, 'sparse-checkout', ['set', '--no-sparse-index', 'd'])
  await step(t, tw, 'sparse-checkout', ['set', '--stdin'], { input: 'e\n"a/b"\nbulk/x1\n' })
  await step(t, tw, 'sparse-checkout', ['list'])
  clean(t, tw.ours)
  t.equal(git(['fsck'], { cwd: tw.ours, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('switching branches keeps the cone; a cone set by real git is honoured', async (t) => {
  const tw = await twin()
  // git sets the cone in both: tsgit must read what git wrote
  for (const d of [tw.ours, tw.theirs]) await gitAsync(['sparse-checkout', 'set', 'a/b', 'd'], { cwd: d })
  await step(t, tw, 'checkout', ['other'])
  clean(t, tw.ours)
  t.notOk(existsSync(join(tw.ours, 'f')), 'a new directory outside the cone is not written')
  t.equal(readFileSync(join(tw.ours, 'd/i.txt'), 'utf8'), 'd i on other\n', 'a changed file in the cone is written')
  await step(t, tw, 'checkout', ['main'])
  clean(t, tw.ours)
  await step(t, tw, 'checkout', ['-b', 'topic', 'origin/other'])
  await step(t, tw, 'sparse-checkout', ['add', 'f'])
  await step(t, tw, 'checkout', ['main'])
  await step(t, tw, 'sparse-checkout', ['list'])
  // the cone changed behind the index's back (edited by hand): a switch applies it to every entry, as git does
  for (const d of [tw.ours, tw.theirs]) writeFileSync(join(d, '.git/info/sparse-checkout'), '/*\n!/*/\n/e/\n')
  await step(t, tw, 'checkout', ['other'])
  await step(t, tw, 'checkout', ['main'])
  clean(t, tw.ours)
  for (const d of [tw.ours, tw.theirs]) writeFileSync(join(d, 'e/k.txt'), 'thrown away by -f\n')
  await step(t, tw, 'checkout', ['-f', 'other'])
  await step(t, tw, 'checkout', ['-f', 'main'])
  clean(t, tw.ours)
  await step(t, tw, 'sparse-checkout', ['disable'])
  clean(t, tw.ours)
  t.equal(snapshot(tw.ours).filter((l) => l.startsWith('file ')).length, 49, 'disable restores every file')
})

t.test('local changes: a changed file leaving the cone stays, untracked files keep their directory, a file at a skip-worktree path counts as a change', async (t) => {
  const tw = await twin()
  for (const d of [tw.ours, tw.theirs]) {
    writeFileSync(join(d, 'd/i.txt'), 'my edit\n')
    write(d, 'e/untracked/note', 'mine\n')
  }
  const stderr = await step(t, tw, 'sparse-checkout', ['set', 'a'], { stderr: true })
  t.match(stderr, /warning: The following paths are not up to date and were left despite sparse patterns:\n\td\/i\.txt\n/)
  t.match(stderr, /warning: directory 'e\/' contains untracked files, but is not in the sparse-checkout cone\n/)
  for (const d of [tw.ours, tw.theirs]) git(['checkout', '--', 'd/i.txt'], { cwd: d })
  await step(t, tw, 'sparse-checkout', ['reapply'])
  t.notOk(existsSync(join(tw.ours, 'd')), 'once clean, reapply takes it out')
  // a file where a skip-worktree entry is: git takes the entry as present again
  for (const d of [tw.ours, tw.theirs]) write(d, 'd/i.txt', 'not what the index has\n')
  await step(t, tw, 'checkout', ['other'], { status: 1 })
  for (const d of [tw.ours, tw.theirs]) rmSync(join(d, 'd'), { recursive: true })
  await step(t, tw, 'checkout', ['other'])
})

t.test('clone --sparse: the files, config and index git clone --sparse makes', async (t) => {
  const tw = await twin(['--sparse'])
  t.same(state(tw.ours), state(tw.theirs), 'same patterns, config, bits and files as git')
  t.same(snapshot(tw.ours), ['file README - "readme\\n"', 'file top.txt - "top\\n"'], 'the top files alone')
  clean(t, tw.ours)
  await step(t, tw, 'sparse-checkout', ['add', 'a/b'])
  await step(t, tw, 'checkout', ['other'])
  const n = await twin(['--sparse', '--no-checkout'])
  t.same(state(n.ours), state(n.theirs), '--no-checkout: the sparse checkout is set up all the same')
  await step(t, n, 'sparse-checkout', ['set', 'd'])
  await step(t, n, 'checkout', ['main'])
  const bare = await tsgit(['clone', '--bare', '--sparse', srv.server.url('sp.git'), dest()])
  t.equal(bare.status, 129, '--bare --sparse is refused before anything is fetched')
})

/** The blobs the fetch requests since `since` asked for, and in how many requests. */
function blobWants(since: number): { requests: number; paths: string[] } {
  const fetches = srv.server.requests.slice(since).filter((r) => r.command === 'fetch')
  const paths: string[] = []
  for (const r of fetches) {
    for (const a of r.args) {
      if (!a.startsWith('want ')) continue
      const p = pathsOf.get(a.slice(5))
      if (p !== undefined) paths.push(...p)
    }
  }
  return { requests: fetches.length, paths: paths.sort() }
}

t.test('a sparse blob:none clone never fetches a blob outside the cone', async (t) => {
  const d = dest()
  let since = srv.server.requests.length
  const r = await tsgit(['clone', '-q', '--sparse', '--filter=blob:none', srv.server.url('sp.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.same(blobWants(since).paths, ['README', 'top.txt'], 'the clone fetched the top files alone')
  since = srv.server.requests.length
  const s = await tsgit(['sparse-checkout', 'set', 'a/b'], { cwd: d })
  t.equal(s.status, 0, s.stderr)
  const set = blobWants(since)
  t.equal(set.requests, 1, 'set: one request')
  t.same(set.paths, ['a/b/c/h.txt', 'a/b/g.txt', 'a/b/run.sh', 'a/f.txt'], 'set: the blobs that came into the cone, nothing else')
  clean(t, d)
  t.equal(git(['sparse-checkout', 'list'], { cwd: d }).stdout, 'a/b\n', "git's own list agrees")
  since = srv.server.requests.length
  const c = await tsgit(['checkout', '-q', 'other'], { cwd: d })
  t.equal(c.status, 0, c.stderr)
  t.same(blobWants(since), { requests: 1, paths: ['a/b/g.txt', 'top.txt'] }, 'checkout: the changed blobs in the cone, in one request')
  clean(t, d)
  const missing = git(['rev-list', '--objects', '--missing=print', 'HEAD'], { cwd: d }).stdout.split('\n').filter((l) => l.startsWith('?'))
  const outside = missing.flatMap((l) => [...(pathsOf.get(l.slice(1)) ?? [])]).filter((p) => !p.startsWith('a/') && p.includes('/'))
  t.equal(outside.length, missing.length, 'every blob still missing is outside the cone')
  t.ok(missing.length > 40, 'bulk/, d/ and f/ were never fetched')
  since = srv.server.requests.length
  const off = await tsgit(['sparse-checkout', 'disable'], { cwd: d })
  t.equal(off.status, 0, off.stderr)
  t.equal(blobWants(since).requests, 1, 'disable: every blob that comes in, in one request')
  t.same(git(['rev-list', '--objects', '--missing=print', '--no-walk', 'HEAD'], { cwd: d }).stdout.split('\n').filter((l) => l.startsWith('?')), [], "nothing of HEAD's tree is missing now")
  clean(t, d)
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('non-cone patterns are refused, never guessed at', async (t) => {
  const tw = await twin()
  for (const d of [tw.ours, tw.theirs]) await gitAsync(['sparse-checkout', 'set', '--no-cone', '/*.txt', '/d/'], { cwd: d })
  const before = state(tw.ours)
  const c = await tsgit(['checkout', 'other'], { cwd: tw.ours })
  t.equal(c.status, 128)
  t.match(c.stderr, /^fatal: the sparse-checkout patterns .* are not cone-mode patterns; tsgit supports cone mode only/m)
  t.same(state(tw.ours), before, 'nothing changed')
  const s = await tsgit(['sparse-checkout', 'add', 'a'], { cwd: tw.ours })
  t.equal(s.status, 128)
  t.match(s.stderr, /cone-mode sparse checkouts only/)
  const n = await tsgit(['sparse-checkout', 'set', '--no-cone', 'a'], { cwd: tw.ours })
  t.equal(n.status, 128)
  t.same(state(tw.ours), before, 'still nothing changed')
  await step(t, tw, 'sparse-checkout', ['list'])
  await step(t, tw, 'sparse-checkout', ['set', '--cone', 'd'])
  clean(t, tw.ours)
})

t.test('arguments: refused as git refuses them, from a subdirectory relative to it', async (t) => {
  const tw = await twin()
  await step(t, tw, 'sparse-checkout', ['list'], { status: 128, stderr: true })
  await step(t, tw, 'sparse-checkout', ['add', 'a'], { status: 128, stderr: true })
  await step(t, tw, 'sparse-checkout', ['reapply'], { status: 128, stderr: true })
  for (const bad of ['top.txt', '/a', 'a*', '!a', '../x']) await step(t, tw, 'sparse-checkout', ['set', bad], { status: 128, stderr: true })
  await step(t, tw, 'sparse-checkout', ['set', 'deeper', '../a/b/'], { sub: 'd' })
  await step(t, tw, 'sparse-checkout', ['set', '--skip-checks', 'top.txt', 'a*'])
  await step(t, tw, 'sparse-checkout', ['set', './d//deeper/', 'nonexistent'])
  writeFileSync(join(tw.ours, '.git/info/sparse-checkout.lock'), '')
  const locked = await tsgit(['sparse-checkout', 'set', 'a'], { cwd: tw.ours })
  t.equal(locked.status, 128)
  t.match(locked.stderr, /Unable to create .*sparse-checkout\.lock/)
})

t.test('a linked worktree has a sparse checkout of its own, as git keeps it', async (t) => {
  const tw = await twin()
  const wt = { ours: `${tw.ours}-wt`, theirs: `${tw.theirs}-wt` }
  git(['worktree', 'add', '-q', wt.ours, 'origin/other'], { cwd: tw.ours })
  git(['worktree', 'add', '-q', wt.theirs, 'origin/other'], { cwd: tw.theirs })
  await step(t, wt, 'sparse-checkout', ['set', 'd'], { config: false })
  const name = (p: string): string => p.split('/').pop() as string
  for (const f of ['config.worktree', 'info/sparse-checkout']) {
    t.equal(fileOrNone(join(tw.ours, '.git/worktrees', name(wt.ours), f)), fileOrNone(join(tw.theirs, '.git/worktrees', name(wt.theirs), f)), `worktrees/<name>/${f} as git writes it`)
  }
  t.same(state(tw.ours, { config: false }), state(tw.theirs, { config: false }), 'the main worktree stays whole')
  t.equal(fileOrNone(join(tw.ours, '.git/config.worktree')), '(none)')
  await step(t, wt, 'checkout', ['--detach', 'origin/main'], { config: false })
  clean(t, wt.ours)
})
