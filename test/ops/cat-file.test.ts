/**
 * tsgit cat-file against real git: the single-object modes and --batch/--batch-check
 * byte for byte in a full clone, the same answers in a partial clone (fetched lazily),
 * and one fetch request for a block of hundreds of missing blobs.
 */
import t from 'tap'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeBigRepo, makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit, tsgitRaw, type TsgitRawResult } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-cat-file-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  await makeBigRepo(join(root, 'big.git'), { files: 600, commits: 1, fileSize: 100 })
})
const { root, dest, fetches } = srv

/** Runs tsgit and returns stdout as bytes (cat-file prints binary trees with --batch). */
function tsgitBytes(args: string[], cwd: string, input?: string): Promise<TsgitRawResult> {
  return tsgitRaw(args, { cwd, input: input ?? '' })
}

const SINGLE: string[][] = [
  ['-t', 'HEAD'],
  ['-s', 'HEAD'],
  ['-p', 'HEAD'],
  ['-p', 'HEAD^{tree}'],
  ['-p', 'HEAD:src'],
  ['-p', 'HEAD:README.md'],
  ['-p', 'v1.0'],
  ['-t', 'blob-tag'],
  ['-e', 'HEAD'],
  ['-e', '0123456789012345678901234567890123456789'],
  ['-e', 'no-such-name'],
  ['-t', '0123456789012345678901234567890123456789'],
  ['-p', '0123456789012345678901234567890123456789'],
  ['-s', 'no-such-name'],
  ['blob', 'HEAD:src/main.c'],
  ['tree', 'HEAD'],
  ['commit', 'v1.0'],
]

function batchInput(dir: string): string {
  const names = ['HEAD', 'HEAD^{tree}', 'HEAD:src', 'v1.0', 'no-such', '0123456789012345678901234567890123456789', '', 'HEAD:README.md trailing words']
  const all = git(['rev-list', '--objects', '--all'], { cwd: dir }).stdout.split('\n').filter((l) => l !== '').map((l) => l.slice(0, 40))
  return [...names, ...all].join('\n') + '\n'
}

const BATCH = ['--batch', '--batch-check', '--batch-check=%(objecttype) %(objectname) [%(rest)] %(objectsize)', '--batch=%(objectname)']

t.test('full clone: byte-identical to git', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  for (const args of SINGLE) {
    const ours = await tsgitBytes(['cat-file', ...args], d)
    const theirs = git(['cat-file', ...args], { cwd: d, allowFail: true })
    t.equal(ours.status, theirs.status, `status: cat-file ${args.join(' ')}`)
    t.same(ours.stdout, theirs.stdoutBuffer, `stdout: cat-file ${args.join(' ')}`)
    t.equal(ours.stderr, theirs.stderr, `stderr: cat-file ${args.join(' ')}`)
  }
  const input = batchInput(d)
  for (const opt of BATCH) {
    const ours = await tsgitBytes(['cat-file', opt], d, input)
    const theirs = git(['cat-file', opt], { cwd: d, input })
    t.equal(ours.status, 0, ours.stderr)
    t.same(ours.stdout, theirs.stdoutBuffer, `cat-file ${opt}`)
  }
})

t.test('usage errors', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  t.equal((await tsgit(['cat-file', '-t', '-s', 'HEAD'], { cwd: d })).status, 129)
  t.equal((await tsgit(['cat-file', 'HEAD'], { cwd: d })).status, 129)
  t.equal((await tsgit(['cat-file', '--batch-check=%(objectsize:disk)'], { cwd: d })).status, 129)
})

t.test('partial clone: the answers of a full clone, fetched lazily', async (t) => {
  const full = dest()
  git(['clone', '-q', '--no-local', rich.path, full])
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  const input = batchInput(full)
  for (const opt of BATCH) {
    const ours = await tsgitBytes(['cat-file', opt], d, input)
    t.equal(ours.status, 0, ours.stderr)
    t.same(ours.stdout, git(['cat-file', opt], { cwd: full, input }).stdoutBuffer, `cat-file ${opt}`)
  }
  const d2 = dest()
  await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d2])
  for (const args of [['-p', 'HEAD:src/main.c'], ['-s', 'HEAD:src/lib/util.c'], ['-e', 'HEAD:docs/guide/intro.txt']]) {
    const before = srv.server.requests.length
    const ours = await tsgitBytes(['cat-file', ...args], d2)
    t.equal(ours.status, 0, ours.stderr)
    t.same(ours.stdout, git(['cat-file', ...args], { cwd: full }).stdoutBuffer, `git's partial clone: cat-file ${args.join(' ')}`)
    t.equal(fetches(before), 1, 'one fetch for the one missing blob')
  }
  const off = await tsgit(['--no-lazy-fetch', 'cat-file', '-e', 'HEAD:bin/run.sh'], { cwd: d2 })
  t.equal(off.status, 1, '--no-lazy-fetch: missing blob is absent')
})

t.test('batch of hundreds of missing blobs: one fetch request', async (t) => {
  const full = dest()
  git(['clone', '-q', '--bare', '--no-local', join(root, 'big.git'), full])
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('big.git'), d])
  t.equal(r.status, 0, r.stderr)
  const blobs = git(['rev-list', '--objects', '--all'], { cwd: full })
    .stdout.split('\n')
    .filter((l) => l.includes(' ') && l.endsWith('.txt'))
    .map((l) => l.slice(0, 40))
  t.ok(blobs.length >= 600, `${blobs.length} blobs`)
  const missingBefore = git(['rev-list', '--objects', '--missing=print', '--all'], { cwd: d }).stdout.split('\n').filter((l) => l.startsWith('?')).length
  t.ok(missingBefore >= 600, 'all blobs missing before')
  const input = blobs.join('\n') + '\n'
  const before = srv.server.requests.length
  const ours = await tsgitBytes(['cat-file', '--batch'], d, input)
  t.equal(ours.status, 0, ours.stderr)
  t.same(ours.stdout, git(['cat-file', '--batch'], { cwd: full, input }).stdoutBuffer, 'same bytes as the full clone')
  t.equal(fetches(before), 1, 'exactly one fetch request for the block')
  const fetch = srv.server.requests.slice(before).find((q) => q.command === 'fetch')
  t.equal(fetch?.args.filter((a) => a.startsWith('want ')).length, blobs.length, 'every blob wanted in that request')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck accepts the repository')
})
