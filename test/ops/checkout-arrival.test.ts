/**
 * A checkout in a partial clone writes each file as its blob arrives, while the lazy
 * fetch's pack is still coming (worktree/arrival-writes.ts), not once it is all in:
 * the real git http-backend holds its answer back mid-pack and the files are checked on
 * disk then. A fetch cut mid-pack leaves the work tree and the index as they were: the
 * files written early are taken back, in a fresh checkout and in a switch.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git } from '../fixtures/git.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'
import { fileOrNone, workTreeFiles } from '../fixtures/worktree-files.js'

const tmp = tempDir('tsgit-checkout-arrival-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
let n = 0
const dest = (p: string): string => join(tmp.path, `${p}${n++}`)

/** Text that does not compress: the pack is about as large as the files. */
const noise = (bytes: number): string => randomBytes(bytes).toString('base64').replace(/(.{76})/g, '$1\n')

/** Where the next fetch answer is held (once): the hold ends when `release` is called. */
let hold: { at: number; reached: () => void; released: Promise<void> } | undefined
/** The next fetch answer is cut after this many bytes of its pack (once). */
let cutAt: number | undefined

let server: GitServer
t.before(async () => {
  // old: a/ with 40 files; main: a/1.txt changed, new/sub/ with 200 new files (~1.6 MB of pack)
  const work = join(tmp.path, 'make')
  git(['init', '-q', '-b', 'main', work])
  mkdirSync(join(work, 'a'))
  for (let i = 0; i < 40; i++) writeFileSync(join(work, 'a', `${i}.txt`), noise(6000))
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'old'], { cwd: work })
  git(['tag', 'old'], { cwd: work })
  writeFileSync(join(work, 'a', '1.txt'), noise(6000))
  mkdirSync(join(work, 'new', 'sub'), { recursive: true })
  for (let i = 0; i < 200; i++) writeFileSync(join(work, 'new', 'sub', `${i}.txt`), noise(6000))
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'new'], { cwd: work })
  mkdirSync(root)
  git(['clone', '-q', '--bare', work, join(root, 'r.git')])
  server = await startGitServer({
    root,
    config: { 'pack.threads': '1' },
    cutInPack: (req) => {
      if (req.command !== 'fetch' || cutAt === undefined) return undefined
      const at = cutAt
      cutAt = undefined
      return at
    },
    onPackBytes: (req, bytes) => {
      const h = hold
      if (req.command !== 'fetch' || h === undefined || bytes < h.at) return undefined
      hold = undefined
      h.reached()
      return h.released
    },
  })
})
t.teardown(() => server.close())

const served = (): string => join(root, 'r.git')
const blob = (rev: string): string => git(['cat-file', 'blob', rev], { cwd: served() }).stdout

/** A blob:none clone without a checkout. */
async function blobless(p: string, extra: string[] = []): Promise<string> {
  const d = dest(p)
  const r = await tsgit(['clone', '-q', '--filter=blob:none', ...extra, server.url('r.git'), d])
  if (r.status !== 0) throw new Error(r.stderr)
  return d
}

/** Files of the work tree (not directories), as paths. */
const filesOf = (d: string): string[] => workTreeFiles(d).filter((l) => !l.endsWith('/')).map((l) => l.slice(0, l.indexOf(' ')))

t.test('a checkout writes files while the pack of their blobs is still arriving', async (t) => {
  const d = await blobless('held-', ['--no-checkout'])
  let release = (): void => undefined
  let reached = (): void => undefined
  const atHold = new Promise<void>((resolve) => {
    reached = resolve
  })
  hold = { at: 800_000, reached: () => reached(), released: new Promise<void>((resolve) => { release = resolve }) }
  const run = tsgit(['checkout', '-q', '-f', '-B', 'main', 'origin/main'], { cwd: d })
  await atHold
  // the answer is held after 800 KB of a ~1.6 MB pack: the files of the blobs in those bytes are written
  // (until the client has dealt with what it got: the count stops growing)
  let seen: string[] = []
  for (let i = 0, still = 0; i < 400 && still < 4; i++) {
    await new Promise((r) => setTimeout(r, 50))
    const now = filesOf(d)
    still = now.length > 0 && now.length === seen.length ? still + 1 : 0
    seen = now
  }
  const present = seen.length
  t.ok(present > 0 && present < 240, `some files are on disk before the pack has all come (${present} of 240)`)
  t.notOk(existsSync(join(d, '.git', 'index')), 'no index yet')
  let same = 0
  for (const p of seen) if (readFileSync(join(d, p), 'latin1') === blob(`main:${p}`)) same++
  t.equal(same, present, 'each holds its blob')
  release()
  const r = await run
  t.equal(r.status, 0, r.stderr)
  t.equal(filesOf(d).length, 240, 'every file in the end')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'git status: clean')
  t.equal(git(['diff-files', '--name-only'], { cwd: d }).stdout, '', 'the index has the stat data of every file')
  const fsck = git(['fsck', '--no-dangling'], { cwd: d, allowFail: true })
  t.equal(fsck.status, 0, `git fsck: ${fsck.stderr}`)
})

t.test('a blob fetch cut mid-pack: a fresh checkout leaves nothing behind', async (t) => {
  const d = await blobless('fresh-', ['--no-checkout'])
  cutAt = 800_000
  const r = await tsgit(['checkout', '-q', '-f', '-B', 'main', 'origin/main'], { cwd: d })
  t.equal(r.status, 128, 'exit 128')
  t.match(r.stderr, /(^|\n)fatal: /, r.stderr)
  t.equal(cutAt, undefined, '(the server cut the fetch)')
  t.same(workTreeFiles(d), [], 'no file and no directory left in the work tree')
  t.notOk(existsSync(join(d, '.git', 'index')), 'no index')
  t.equal(fileOrNone(join(d, '.git', 'HEAD')), 'ref: refs/heads/main\n', 'HEAD unchanged')
  const again = await tsgit(['checkout', '-q', '-f', '-B', 'main', 'origin/main'], { cwd: d })
  t.equal(again.status, 0, again.stderr)
  t.equal(filesOf(d).length, 240, 'the next try writes every file')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'git status: clean')
})

t.test('a blob fetch cut mid-pack: a switch leaves the work tree and the index as they were', async (t) => {
  const d = await blobless('switch-', ['--branch', 'old'])
  const before = workTreeFiles(d)
  const index = readFileSync(join(d, '.git', 'index'))
  const head = fileOrNone(join(d, '.git', 'HEAD'))
  cutAt = 800_000
  const r = await tsgit(['checkout', '-q', 'main'], { cwd: d })
  t.equal(r.status, 128, `exit 128: ${r.stderr}`)
  t.equal(cutAt, undefined, '(the server cut the fetch)')
  t.same(workTreeFiles(d), before, 'the work tree is as it was: no new file or directory, a/1.txt not changed')
  t.ok(readFileSync(join(d, '.git', 'index')).equals(index), 'the index is as it was')
  t.equal(fileOrNone(join(d, '.git', 'HEAD')), head, 'HEAD unchanged')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'git status: clean')
  const again = await tsgit(['checkout', '-q', 'main'], { cwd: d })
  t.equal(again.status, 0, again.stderr)
  t.equal(readFileSync(join(d, 'a', '1.txt'), 'latin1'), blob('main:a/1.txt'), 'the changed file is written')
  t.equal(filesOf(d).length, 240, 'every file of main')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'git status: clean')
})
