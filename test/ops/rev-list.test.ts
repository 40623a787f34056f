/**
 * tsgit rev-list against real git in the same repositories: full clones, partial
 * clones made by tsgit and by git, --missing in every mode, and the fetch requests
 * a partial clone costs (batches, never one per object).
 */
import t, { type Test } from 'tap'
import { readFileSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeBigRepo, makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'
import { khashOrder } from '../../lib/ops/rev-list.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-rev-list-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  await makeBigRepo(join(root, 'big.git'), { files: 400, commits: 3, fileSize: 200 })
})
const { root, dest, fetches } = srv

/** Argument sets compared with real git, byte for byte. */
const ARGS: string[][] = [
  ['--all'],
  ['--objects', '--all'],
  ['--objects', '--no-object-names', '--all'],
  ['HEAD'],
  ['--objects', 'HEAD~2'],
  ['--objects', 'HEAD', '^HEAD~3'],
  ['--objects', 'HEAD~1..HEAD'],
  ['--objects', '--all', '--not', 'HEAD~2'],
  ['--objects', 'HEAD', '--not', 'feature/b03', 'feature/b01'],
  ['--objects', 'v1.0', 'tag-of-tag', 'blob-tag'],
  ['--objects', 'HEAD:src', 'HEAD^{tree}', 'HEAD:README.md'],
  ['--objects', '--all', '^HEAD^{tree}'],
  ['feature/b05', 'feature/b02', 'main'],
  ['--count', '--all'],
  ['--count', 'HEAD', '^HEAD~3'],
  // With --objects git counts the objects shown too; --missing=print's lines come before the count.
  ['--count', '--objects', '--all'],
]

async function compareAll(t: Test, dir: string, extra: string[] = []): Promise<void> {
  for (const args of ARGS) {
    const full = [...args, ...extra]
    const ours = await tsgit(['rev-list', ...full], { cwd: dir })
    const theirs = await gitAsync(['rev-list', ...full], { cwd: dir, allowFail: true })
    t.equal(ours.status, theirs.status, `exit status: rev-list ${full.join(' ')}`)
    t.equal(ours.stdout, theirs.stdout, `same output: rev-list ${full.join(' ')}`)
  }
}

t.test('full clone: every argument set prints what git prints', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  await compareAll(t, d)
  // Different committer dates and many files: the date order and deep trees.
  const b = dest()
  git(['clone', '-q', '--bare', '--no-local', join(root, 'big.git'), b])
  for (const args of [['--objects', '--all'], ['--objects', 'main', '^main~1'], ['main~1']]) {
    const ours = await tsgit(['rev-list', ...args], { cwd: b })
    t.equal(ours.stdout, git(['rev-list', ...args], { cwd: b }).stdout, `big: rev-list ${args.join(' ')}`)
  }
})

t.test('bad arguments: usage and unknown revisions like git', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  const none = await tsgit(['rev-list'], { cwd: d })
  t.equal(none.status, 129, 'no revision is a usage error')
  const bad = await tsgit(['rev-list', 'no-such-rev'], { cwd: d })
  t.equal(bad.status, 128)
  t.match(bad.stderr, /^fatal: ambiguous argument 'no-such-rev'/)
  const mode = await tsgit(['rev-list', '--missing=maybe', 'HEAD'], { cwd: d })
  t.equal(mode.status, 129, 'unknown --missing action')
  // paths after --: refused by name (not read as revisions), whatever stands before the --
  for (const args of [['HEAD', '--', 'a'], ['--all', '--not', 'HEAD~1', '--', 'a', 'b']]) {
    const paths = await tsgit(['rev-list', ...args], { cwd: d })
    t.equal(paths.status, 128, `rev-list ${args.join(' ')}`)
    t.equal(paths.stderr, `fatal: rev-list: limiting history to paths is not supported (${args.slice(args.indexOf('--') + 1).map((p) => `'${p}'`).join(', ')})\n`)
  }
  const trailing = await tsgit(['rev-list', '--count', 'HEAD', '--'], { cwd: d })
  t.equal(trailing.stdout, git(['rev-list', '--count', 'HEAD', '--'], { cwd: d }).stdout, 'a -- with nothing after it')
})

t.test('tsgit partial clone: --missing modes never fetch and match git', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  const before = srv.server.requests.length
  for (const mode of ['print', 'allow-any', 'allow-promisor']) {
    await compareAll(t, d, [`--missing=${mode}`])
  }
  const printed = await tsgit(['rev-list', '--objects', '--missing=print', '--all'], { cwd: d })
  t.ok(printed.stdout.split('\n').some((l) => l.startsWith('?')), 'missing blobs printed as ?<oid>')
  t.equal(fetches(before), 0, 'no fetch request for any --missing mode')
})

t.test('partial clone, --missing=error: one batch for all missing blobs, output of a full clone', async (t) => {
  const full = dest()
  git(['clone', '-q', '--no-local', rich.path, full])
  const expected = git(['rev-list', '--objects', '--all'], { cwd: full }).stdout
  for (const maker of ['tsgit', 'git']) {
    const d = dest()
    if (maker === 'tsgit') {
      const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
      t.equal(r.status, 0, r.stderr)
    } else {
      await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
    }
    const before = srv.server.requests.length
    const ours = await tsgit(['rev-list', '--objects', '--all'], { cwd: d })
    t.equal(ours.status, 0, ours.stderr)
    t.equal(ours.stdout, expected, `${maker} clone: same objects and order as a full clone`)
    t.equal(fetches(before), 1, `${maker} clone: exactly one fetch request`)
    t.equal(git(['rev-list', '--objects', '--missing=print', '--all'], { cwd: d }).stdout.includes('\n?'), false, 'nothing missing afterwards')
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck accepts the fetched objects')
  }
})

t.test('tree:0 partial clone: one request per tree level, not per object', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=tree:0', srv.server.url('big.git'), d])
  t.equal(r.status, 0, r.stderr)
  const full = dest()
  git(['clone', '-q', '--bare', '--no-local', join(root, 'big.git'), full])
  const before = srv.server.requests.length
  const ours = await tsgit(['rev-list', '--objects', '--all'], { cwd: d })
  t.equal(ours.status, 0, ours.stderr)
  t.equal(ours.stdout, git(['rev-list', '--objects', '--all'], { cwd: full }).stdout, 'same as a full clone')
  // Trees are 3 levels deep (root, dNN, sN), then the blobs: at most 4 batches.
  const count = fetches(before)
  t.ok(count >= 1 && count <= 4, `${count} fetch requests for ${ours.stdout.split('\n').length} objects`)
})

t.test('many missing blobs: ?<oid> lines in git\'s (hash table) order', async (t) => {
  const d = dest()
  await gitAsync(['clone', '-q', '--bare', '--filter=blob:none', srv.server.url('big.git'), d])
  const args = ['rev-list', '--objects', '--missing=print', '--all']
  const theirs = git(args, { cwd: d }).stdout
  const ours = await tsgit(args, { cwd: d })
  t.ok(theirs.split('\n').filter((l) => l.startsWith('?')).length > 400, 'hundreds of missing blobs')
  t.equal(ours.stdout, theirs, 'byte-identical, including the order of the ? lines')
})

t.test('missing objects in a repository that is not a partial clone', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  // Unpack so single objects can be removed.
  const packDir = join(d, '.git/objects/pack')
  const pack = readdirSync(packDir).find((f) => f.endsWith('.pack')) as string
  const saved = `${dest('p')}.pack`
  renameSync(join(packDir, pack), saved)
  for (const f of readdirSync(packDir)) rmSync(join(packDir, f))
  git(['unpack-objects', '-q'], { cwd: d, input: readFileSync(saved) })
  const blob = git(['rev-parse', 'HEAD:src/lib/util.c'], { cwd: d }).stdout.trim()
  const tree = git(['rev-parse', 'HEAD~1:docs/guide'], { cwd: d }).stdout.trim()
  rmSync(join(d, '.git/objects', blob.slice(0, 2), blob.slice(2)))
  for (const extra of [[], ['--missing=print'], ['--missing=allow-any'], ['--missing=allow-promisor']]) {
    const args = ['rev-list', '--objects', '--all', ...extra]
    const ours = await tsgit(args, { cwd: d })
    const theirs = git(args, { cwd: d, allowFail: true })
    t.equal(ours.status, theirs.status, `status ${extra.join(' ')}`)
    t.equal(ours.stdout, theirs.stdout, `stdout ${extra.join(' ')}`)
    t.equal(ours.stderr, theirs.stderr, `stderr ${extra.join(' ')}`)
  }
  rmSync(join(d, '.git/objects', tree.slice(0, 2), tree.slice(2)))
  for (const extra of [[], ['--missing=print']]) {
    const args = ['rev-list', '--objects', '--all', ...extra]
    const ours = await tsgit(args, { cwd: d })
    const theirs = git(args, { cwd: d, allowFail: true })
    t.equal(ours.status, theirs.status, `tree missing: status ${extra.join(' ')}`)
    t.equal(ours.stdout, theirs.stdout, `tree missing: stdout ${extra.join(' ')}`)
    t.equal(ours.stderr, theirs.stderr, `tree missing: stderr ${extra.join(' ')}`)
  }
})

t.test('khashOrder: insertion order survives only through the buckets', async (t) => {
  const ids = ['ff', '00', '01', '03'].map((p) => p + '0'.repeat(38))
  // 4 buckets until the 4th insert: indexes by the first byte's low bits.
  // The 4th insert grows the table to 8 buckets: order by the first byte's low 3 bits.
  t.same(khashOrder(ids, 0), ['00', '01', '03', 'ff'].map((p) => p + '0'.repeat(38)))
  t.same(khashOrder([...ids, ...ids], 0).length, 4, 'duplicates kept once')
  // rev-list's 16384 buckets: ordered by the low 14 bits of the little-endian first word.
  t.same(khashOrder(['0100', '0001', 'ff00'].map((p) => p + '0'.repeat(36))), ['0100', 'ff00', '0001'].map((p) => p + '0'.repeat(36)))
})
