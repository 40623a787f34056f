/**
 * tsgit fsck judged against real git fsck on the same repositories: clean partial
 * clones, a deleted object, an object whose content does not match its name, and a
 * missing object in a partial clone that no promisor object refers to. fsck never fetches.
 */
import t, { type Test } from 'tap'
import { chmodSync, copyFileSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { silentSink } from '../../lib/events.js'
import { FSCK_ERROR_REACHABLE, fsckRepository, worktreeIndexPaths } from '../../lib/ops/fsck.js'
import { openRepoContext } from '../../lib/ops/repo-context.js'
import { git, gitAsync, pinnedEnv } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-fsck-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
})
const { dest, fetches } = srv

/** A clone whose objects are all loose, so single objects can be removed or replaced. */
function looseClone(bare: boolean): { dir: string; gitDir: string } {
  const dir = dest()
  git(['clone', '-q', '--no-local', ...(bare ? ['--bare'] : []), rich.path, dir])
  const gitDir = bare ? dir : join(dir, '.git')
  const packDir = join(gitDir, 'objects/pack')
  const pack = readdirSync(packDir).find((f) => f.endsWith('.pack')) as string
  const saved = `${dest('p')}.pack`
  renameSync(join(packDir, pack), saved)
  for (const f of readdirSync(packDir)) rmSync(join(packDir, f))
  git(['unpack-objects', '-q'], { cwd: dir, input: readFileSync(saved) })
  return { dir, gitDir }
}

const objPath = (gitDir: string, oid: string): string => join(gitDir, 'objects', oid.slice(0, 2), oid.slice(2))

async function sameAsGit(t: Test, dir: string, what: string, args: string[] = []): Promise<{ status: number; stdout: string }> {
  const ours = await tsgit(['fsck', ...args], { cwd: dir })
  const theirs = git(['fsck', ...args], { cwd: dir, allowFail: true })
  t.equal(ours.status, theirs.status, `${what}: exit status ${theirs.status}`)
  // tsgit does not list dangling (unreachable) objects; everything else must match.
  const theirsOut = theirs.stdout.split('\n').filter((l) => !l.startsWith('dangling ')).join('\n')
  t.equal(ours.stdout, theirsOut, `${what}: stdout`)
  t.equal(ours.stderr, theirs.stderr, `${what}: stderr`)
  return ours
}

t.test('partial clones (tsgit and git) pass, without any fetch', async (t) => {
  const a = dest()
  const r = await tsgit(['clone', '-q', '--filter=blob:none', '--no-checkout', srv.server.url('rich.git'), a])
  t.equal(r.status, 0, r.stderr)
  const b = dest()
  await gitAsync(['clone', '-q', '--filter=tree:0', '--no-checkout', srv.server.url('rich.git'), b])
  for (const d of [a, b]) {
    const before = srv.server.requests.length
    for (const args of [[], ['--connectivity-only']]) {
      const ours = await tsgit(['fsck', ...args], { cwd: d })
      t.equal(ours.status, 0, ours.stderr)
      t.equal(ours.stdout, '', 'nothing to report')
    }
    t.equal(fetches(before), 0, 'fsck fetched nothing')
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git agrees')
  }
  const full = dest()
  git(['clone', '-q', '--no-local', rich.path, full])
  await sameAsGit(t, full, 'full clone')
})

t.test('a deleted blob: reported like git, bare (broken link) and with an index', async (t) => {
  for (const bare of [true, false]) {
    const { dir, gitDir } = looseClone(bare)
    const blob = git(['rev-parse', 'HEAD:src/lib/util.c'], { cwd: dir }).stdout.trim()
    rmSync(objPath(gitDir, blob))
    const ours = await sameAsGit(t, dir, bare ? 'bare' : 'with index')
    t.not(ours.status, 0, 'fails')
    t.match(ours.stdout, `missing blob ${blob}`)
    await sameAsGit(t, dir, `${bare ? 'bare' : 'with index'} --connectivity-only`, ['--connectivity-only'])
  }
})

t.test('a deleted tree in a bare repository', async (t) => {
  const { dir, gitDir } = looseClone(true)
  const tree = git(['rev-parse', 'HEAD:src/lib'], { cwd: dir }).stdout.trim()
  rmSync(objPath(gitDir, tree))
  const ours = await sameAsGit(t, dir, 'missing tree')
  t.match(ours.stdout, /broken link from {4}tree [0-9a-f]{40}\n {14}to {4}tree /)
})

t.test('a loose object whose content does not match its name', async (t) => {
  const { dir, gitDir } = looseClone(false)
  const victim = git(['rev-parse', 'HEAD:src/main.c'], { cwd: dir }).stdout.trim()
  const other = git(['rev-parse', 'HEAD:README.md'], { cwd: dir }).stdout.trim()
  chmodSync(objPath(gitDir, victim), 0o644)
  copyFileSync(objPath(gitDir, other), objPath(gitDir, victim))
  const ours = await sameAsGit(t, dir, 'hash mismatch')
  t.match(ours.stdout, `missing blob ${victim}`)
  const conn = await sameAsGit(t, dir, 'hash mismatch, --connectivity-only', ['--connectivity-only'])
  t.equal(conn.status, 0, '--connectivity-only does not re-hash')
})

t.test('--connectivity-only reads no blob, as git: a blob that cannot be inflated passes, a tree does not', async (t) => {
  // Bare, the blob is reached through its tree; with a work tree, through the index too.
  const bare = looseClone(true)
  const bareBlob = git(['rev-parse', 'HEAD:src/main.c'], { cwd: bare.dir }).stdout.trim()
  chmodSync(objPath(bare.gitDir, bareBlob), 0o644)
  writeFileSync(objPath(bare.gitDir, bareBlob), readFileSync(objPath(bare.gitDir, bareBlob)).subarray(0, 6))
  t.equal((await sameAsGit(t, bare.dir, 'bare, truncated blob, --connectivity-only', ['--connectivity-only'])).status, 0, 'bare: passes')
  const { dir, gitDir } = looseClone(false)
  const blob = git(['rev-parse', 'HEAD:src/main.c'], { cwd: dir }).stdout.trim()
  chmodSync(objPath(gitDir, blob), 0o644)
  writeFileSync(objPath(gitDir, blob), readFileSync(objPath(gitDir, blob)).subarray(0, 6))
  const conn = await sameAsGit(t, dir, 'truncated blob, --connectivity-only', ['--connectivity-only'])
  t.equal(conn.status, 0, 'the blob is there; its content is not looked at')
  const full = await tsgit(['fsck'], { cwd: dir })
  t.not(full.status, 0, 'a full fsck reads it and fails')
  const tree = git(['rev-parse', 'HEAD:src'], { cwd: dir }).stdout.trim()
  chmodSync(objPath(gitDir, tree), 0o644)
  writeFileSync(objPath(gitDir, tree), readFileSync(objPath(gitDir, tree)).subarray(0, 6))
  const broken = await tsgit(['fsck', '--connectivity-only'], { cwd: dir })
  t.not(broken.status, 0, 'a tree is read to follow its links: a truncated one fails')
  t.match(broken.stderr, new RegExp(`error: ${tree}: object corrupt or missing`))
  t.equal(git(['fsck', '--connectivity-only'], { cwd: dir, allowFail: true }).status !== 0, true, 'git fails too')
})

t.test('partial clone: a missing object no promisor object refers to is an error', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', '-q', '--filter=blob:none', '--no-checkout', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  // A new local commit (not in a promisor pack) whose tree nobody has.
  // Not the empty tree: git knows that one without having it.
  const treeBody = Buffer.concat([Buffer.from('100644 only-here\0'), Buffer.alloc(20, 7)])
  const tree = git(['hash-object', '-t', 'tree', '--stdin'], { cwd: d, input: treeBody }).stdout.trim()
  const body = `tree ${tree}\nparent ${rich.head}\nauthor A <a@example.com> 1112911993 -0700\ncommitter C <c@example.com> 1112911993 -0700\n\nlocal\n`
  const commit = git(['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: d, input: body }).stdout.trim()
  git(['update-ref', 'refs/heads/local', commit], { cwd: d })
  const before = srv.server.requests.length
  const ours = await sameAsGit(t, d, 'non-promisor missing tree')
  t.match(ours.stdout, `broken link from  commit ${commit}\n              to    tree ${tree}\nmissing tree ${tree}`)
  t.equal(fetches(before), 0, 'nothing fetched')
})

t.test('a damaged .idx or .pack: fsck names it as git does; other commands still read the pack, as git does', async (t) => {
  const dir = dest()
  git(['clone', '-q', '--no-local', rich.path, dir])
  const packDir = join(dir, '.git/objects/pack')
  const pack = readdirSync(packDir).find((f) => f.endsWith('.pack')) as string
  const packPath = join(packDir, pack)
  const idxPath = packPath.replace(/\.pack$/, '.idx')
  const flip = (path: string, at: number): Buffer => {
    const saved = readFileSync(path)
    const b = Buffer.from(saved)
    b[at] = (b[at] as number) ^ 1
    chmodSync(path, 0o644)
    writeFileSync(path, b)
    return saved
  }
  const revList = git(['rev-list', '--objects', '--all'], { cwd: dir }).stdout

  // The index's own checksum.
  const idx = flip(idxPath, readFileSync(idxPath).length - 3)
  const line = `error: Packfile index for .git/objects/pack/${pack} hash mismatch`
  const ours = await tsgit(['fsck'], { cwd: dir })
  const theirs = git(['fsck'], { cwd: dir, allowFail: true })
  t.equal(ours.status, theirs.status, 'the exit status git gives (its bad-pack bit)')
  t.equal(ours.status & 4, 4)
  t.ok(ours.stderr.split('\n').includes(line), `tsgit: ${line}`)
  t.ok(theirs.stderr.split('\n').includes(line), 'git says the same')
  const listed = await tsgit(['rev-list', '--objects', '--all'], { cwd: dir })
  t.equal(listed.status, 0, listed.stderr)
  t.equal(listed.stdout, revList, 'rev-list reads the pack regardless, like git')
  t.equal((await tsgit(['fsck', '--connectivity-only'], { cwd: dir })).status, 0, '--connectivity-only does not check packs, like git')
  writeFileSync(idxPath, idx)

  // A byte of the pack's content (its trailer, which the index repeats, is left alone).
  const size = readFileSync(packPath).length
  const packBytes = flip(packPath, Math.floor(size / 2))
  const packLine = `error: .git/objects/pack/${pack} pack checksum mismatch`
  const ours2 = await tsgit(['fsck'], { cwd: dir })
  t.equal(ours2.status & 4, 4, 'the bad-pack bit')
  t.ok(ours2.stderr.split('\n').includes(packLine), `tsgit: ${packLine}`)
  t.ok(git(['fsck'], { cwd: dir, allowFail: true }).stderr.split('\n').includes(packLine), 'git says the same')
  writeFileSync(packPath, packBytes)
  const clean = await tsgit(['fsck'], { cwd: dir })
  t.equal(clean.status, 0, clean.stderr)

  // A blob whose compressed data is damaged: the entries git names, in git's words, and fsck goes on.
  const blob = git(['rev-parse', 'HEAD:README.md'], { cwd: dir }).stdout.trim()
  const offset = Number(git(['show-index'], { cwd: dir, input: readFileSync(idxPath) }).stdout.split('\n').find((l) => l.includes(blob))?.split(' ')[0])
  t.ok(offset > 0, `the blob's offset: ${offset}`)
  const saved = readFileSync(packPath)
  const damaged = Buffer.from(saved)
  for (const k of [20, 21, 22]) damaged[offset + k] = (damaged[offset + k] as number) ^ 0xff
  writeFileSync(packPath, damaged)
  const ours3 = await tsgit(['fsck'], { cwd: dir })
  const theirs3 = git(['fsck'], { cwd: dir, allowFail: true })
  t.match(theirs3.stderr, `error: index CRC mismatch for object ${blob}`)
  t.equal(ours3.stderr, theirs3.stderr, 'the same lines as git')
  t.equal(ours3.stdout, theirs3.stdout)
  t.equal(ours3.status, theirs3.status, 'the same exit status as git')
  writeFileSync(packPath, saved)
})

t.test('fsckRepository reads the index of every worktree (worktreeIndexPaths), as git fsck does', async (t) => {
  const dir = dest()
  git(['clone', '-q', '--no-local', rich.path, dir])
  const wt = dest('wt')
  git(['worktree', 'add', '-q', wt], { cwd: dir })
  // a blob that only the linked worktree's index refers to
  writeFileSync(join(wt, 'only-here.txt'), 'staged in the linked worktree\n')
  git(['add', 'only-here.txt'], { cwd: wt })
  const blob = git(['rev-parse', ':only-here.txt'], { cwd: wt }).stdout.trim()
  const rc = await openRepoContext({ cwd: dir, env: pinnedEnv(), sink: silentSink }, { lazyFetch: false })
  try {
    t.same(await worktreeIndexPaths(rc.repo), [join(dir, '.git', 'index'), join(dir, '.git', 'worktrees', basename(wt), 'index')])
    const clean = await fsckRepository(rc, { out: () => undefined, err: () => undefined })
    t.equal(clean.exitCode, 0)
    rmSync(objPath(join(dir, '.git'), blob))
    const out: string[] = []
    const broken = await fsckRepository(rc, { out: (l) => void out.push(l), err: () => undefined })
    // git 2.39 reads only the current worktree's index (and says 0 here); 2.40 and later read them all
    t.equal(broken.exitCode, FSCK_ERROR_REACHABLE, 'a missing reachable object')
    t.match(out.join('\n'), blob, 'the blob named')
  } finally {
    await rc.store.close()
  }
  const bare = dest('bare')
  git(['clone', '-q', '--bare', rich.path, bare])
  const rcBare = await openRepoContext({ cwd: bare, env: pinnedEnv(), sink: silentSink }, { lazyFetch: false })
  try {
    t.same(await worktreeIndexPaths(rcBare.repo), [], 'a bare repository without worktrees has no index')
  } finally {
    await rcBare.store.close()
  }
})
