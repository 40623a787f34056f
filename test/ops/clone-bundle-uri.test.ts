/**
 * clone --bundle-uri: bundles made by real git (`git bundle create`), served by a static
 * file server (the CDN fixture), unbundled before the remote (a real git http-backend) is
 * asked for the rest with the bundles' refs as haves. Judged against git 2.39's own
 * `clone --bundle-uri` of the same bundles: the same refs (refs/bundles/* too), objects,
 * fsck. A cut bundle download is continued with Range; a bundle that cannot be used is
 * skipped with a warning, as git does, and nothing of it is left.
 */
import t from 'tap'
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeBigRepo, type BigRepo } from '../fixtures/repos.js'
import { startCdn, type Cdn } from '../fixtures/cdn.js'
import { serveRepos } from '../fixtures/served.js'
import { assertSameClone, cloneShape, leftovers } from '../fixtures/clone-shape.js'
import { tsgit } from '../fixtures/tsgit.js'

let big: BigRepo
let cdn: Cdn
const srv = serveRepos(t, 'tsgit-bundle-uri-', async (root) => {
  big = await makeBigRepo(join(root, 'big.git'), { files: 120, commits: 30, fileSize: 2000 })
  const cdnRoot = join(root, '..', 'cdn')
  mkdirSync(cdnRoot)
  cdn = await startCdn({ root: cdnRoot })
  // Bundles of the history up to commit 20 (whole), and of 10..20 (needs commit 10).
  git(['branch', 'at10', big.commits[9] as string], { cwd: big.path })
  git(['branch', 'at20', big.commits[19] as string], { cwd: big.path })
  git(['bundle', 'create', join(cdnRoot, 'upto20.bundle'), 'at20'], { cwd: big.path })
  git(['bundle', 'create', join(cdnRoot, 'upto10.bundle'), 'at10'], { cwd: big.path })
  git(['bundle', 'create', join(cdnRoot, 'from10to20.bundle'), 'at10..at20'], { cwd: big.path })
  git(['branch', '-D', 'at10', 'at20'], { cwd: big.path })
  // newest first by creationToken, applied oldest first (git's example); git 2.39 cannot
  // follow relative URIs in a list (it asks for them as they are), so the list compared
  // with git's clone names them whole, and another the same bundles relatively.
  const list = (b2: string, b1: string): string => `[bundle]\n\tversion = 1\n\tmode = all\n\theuristic = creationToken\n[bundle "b2"]\n\turi = ${b2}\n\tcreationToken = 2\n[bundle "b1"]\n\turi = ${b1}\n\tcreationToken = 1\n`
  writeFileSync(join(cdnRoot, 'list'), list(cdn.url('from10to20.bundle'), cdn.url('upto10.bundle')))
  writeFileSync(join(cdnRoot, 'relative-list'), list('from10to20.bundle', '/upto10.bundle'))
  writeFileSync(join(cdnRoot, 'notabundle'), 'hello\n')
  const bad = readFileSync(join(cdnRoot, 'upto20.bundle'))
  bad.fill(0x42, bad.length - 5000, bad.length - 4000)
  writeFileSync(join(cdnRoot, 'corrupt.bundle'), bad)
  writeFileSync(join(cdnRoot, 'local-list'), `[bundle]\n\tversion = 1\n\tmode = all\n[bundle "x"]\n\turi = file://${join(cdnRoot, 'upto20.bundle')}\n`)
})
t.teardown(() => cdn?.close())
const { dest } = srv

function fetchRequests(since: number): { haves: number; bytes: number } {
  const reqs = srv.server.requests.slice(since).filter((r) => r.command === 'fetch')
  return { haves: reqs.reduce((n, r) => n + r.args.filter((a) => a.startsWith('have ')).length, 0), bytes: reqs.reduce((n, r) => n + r.bytesOut, 0) }
}

let plainBytes = 0
t.test('a bundle: unbundled first, its refs the haves of the fetch; the clone git makes with it', async (t) => {
  const url = srv.server.url('big.git')
  const plain = dest('plain-')
  let since = srv.server.requests.length
  t.equal((await tsgit(['clone', '-q', url, plain])).status, 0)
  plainBytes = fetchRequests(since).bytes

  const ours = dest('ours-')
  since = srv.server.requests.length
  const r = await tsgit(['clone', '-q', `--bundle-uri=${cdn.url('upto20.bundle')}`, url, ours])
  t.equal(r.status, 0, r.stderr)
  const asked = fetchRequests(since)
  t.ok(asked.haves > 0, 'the fetch sends the bundle\'s tip as a have')
  t.ok(asked.bytes < plainBytes / 2, `the remote sent ${asked.bytes} bytes, not the ${plainBytes} of a clone without the bundle`)
  t.equal(git(['rev-parse', 'refs/bundles/at20'], { cwd: ours }).stdout.trim(), big.commits[19], 'refs/bundles/<branch>, as git 2.39 writes it')

  const theirs = dest('theirs-')
  await gitAsync(['clone', '-q', `--bundle-uri=${cdn.url('upto20.bundle')}`, url, theirs])
  const a = cloneShape(ours)
  const b = cloneShape(theirs)
  t.equal(a.refs, b.refs, 'the same refs as git\'s clone with the bundle')
  t.same(a.objects, b.objects, 'the same objects')
  t.equal(git(['fsck', '--strict'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '')
  t.same(leftovers(ours), [], 'nothing left over')
})

t.test('a bundle list (mode all, creationToken): an incremental bundle waits for the one with its prerequisites', async (t) => {
  const url = srv.server.url('big.git')
  const ours = dest('list-')
  cdn.reset()
  const r = await tsgit(['clone', '-q', `--bundle-uri=${cdn.url('list')}`, url, ours])
  t.equal(r.status, 0, r.stderr)
  t.same(cdn.requests.map((q) => q.path), ['/list', '/from10to20.bundle', '/upto10.bundle'], 'the list, then the bundles newest first')
  t.equal(git(['rev-parse', 'refs/bundles/at20'], { cwd: ours }).stdout.trim(), big.commits[19], 'both applied')
  const theirs = dest('list-git-')
  await gitAsync(['clone', '-q', `--bundle-uri=${cdn.url('list')}`, url, theirs])
  assertSameClone(t, ours, theirs, 'as git clones with the list')
  // URIs relative to the list's, as the bundle-uri design says (git 2.39 does not resolve them)
  const relative = dest('relative-')
  cdn.reset()
  t.equal((await tsgit(['clone', '-q', `--bundle-uri=${cdn.url('relative-list')}`, url, relative])).status, 0)
  t.same(cdn.requests.map((q) => q.path), ['/relative-list', '/from10to20.bundle', '/upto10.bundle'], 'relative URIs resolved against the list\'s')
  assertSameClone(t, relative, theirs, 'with a list of relative URIs')
})

t.test('a bundle download cut short is continued with Range', async (t) => {
  const url = srv.server.url('big.git')
  cdn.reset()
  cdn.faults.cutAfter = (req) => (req.path === '/upto20.bundle' && req.headers.range === undefined ? 150000 : undefined)
  const d = dest('cut-')
  const cut = await tsgit(['clone', '--retries', '0', `--bundle-uri=${cdn.url('upto20.bundle')}`, url, d])
  t.equal(cut.status, 128)
  t.match(cut.stderr, /was cut after 150000 of \d+ bytes[\s\S]*\nhint: .*tsgit clone-resume/)
  t.ok(readdirSync(join(d, '.git', 'objects', 'pack')).some((f) => f.startsWith('tmp_bundle_')), 'the bytes that arrived are kept')
  cdn.reset()
  const resumed = await tsgit(['clone-resume', d])
  t.equal(resumed.status, 0, resumed.stderr)
  t.same(cdn.requests.map((q) => [q.path, q.headers.range, q.status]), [['/upto20.bundle', 'bytes=150000-', 206]], 'the rest, once')
  const full = dest('cut-ref-')
  await gitAsync(['clone', '-q', `--bundle-uri=${cdn.url('upto20.bundle')}`, url, full])
  assertSameClone(t, d, full, 'after the cut bundle')
})

t.test('a bundle that cannot be used is skipped with a warning, as git does, and nothing of it is left', async (t) => {
  const url = srv.server.url('big.git')
  const cases: [string, string, RegExp][] = [
    ['missing', cdn.url('nope.bundle'), /warning: failed to use bundle URI '.*nope\.bundle': .*404/],
    ['not a bundle', cdn.url('notabundle'), /warning: failed to use bundle URI '.*notabundle': not a bundle or bundle list/],
    ['corrupt', cdn.url('corrupt.bundle'), /warning: failed to use bundle URI '.*corrupt\.bundle': the bundle is corrupt/],
    ['prerequisites missing', cdn.url('from10to20.bundle'), /warning: failed to use bundle URI '.*from10to20\.bundle': its prerequisite [0-9a-f]{40} is not in the repository/],
    ['a list from the network naming a local file', cdn.url('local-list'), /warning: failed to use bundle URI 'file:\/\/.*upto20\.bundle': a bundle list from the network may not name a local file/],
  ]
  for (const [what, uri, warning] of cases) {
    cdn.reset()
    const d = dest('bad-')
    const r = await tsgit(['clone', '-q', `--bundle-uri=${uri}`, url, d])
    t.equal(r.status, 0, `${what}: the clone goes on from the remote: ${r.stderr}`)
    t.match(r.stderr, warning, `${what}: says why`)
    t.same(leftovers(d), [], `${what}: nothing of it left`)
    t.equal(git(['for-each-ref', 'refs/bundles/'], { cwd: d }).stdout, '', `${what}: no bundle ref`)
    t.equal(git(['fsck', '--strict'], { cwd: d, allowFail: true }).status, 0, `${what}: git fsck`)
  }
})

t.test('a local bundle file, and --bundle-uri with --depth refused as git does', async (t) => {
  const url = srv.server.url('big.git')
  const local = join(srv.tmp.path, 'copy.bundle')
  copyFileSync(join(srv.tmp.path, 'cdn', 'upto20.bundle'), local)
  const d = dest('local-')
  const r = await tsgit(['clone', '-q', `--bundle-uri=${local}`, url, d])
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['rev-parse', 'refs/bundles/at20'], { cwd: d }).stdout.trim(), big.commits[19])
  t.ok(readFileSync(local).length > 0, 'a local file is read, not consumed')
  const bad = await tsgit(['clone', '--depth=1', `--bundle-uri=${local}`, url, dest('depth-')])
  t.equal(bad.status, 128)
  t.match(bad.stderr, /fatal: --bundle-uri is incompatible with --depth, --shallow-since, and --shallow-exclude/)
})
