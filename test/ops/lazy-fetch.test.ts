/**
 * Lazy fetch through the one lookup seam, against two and three real git servers:
 * a "cache" that holds only some blobs and the origin that holds all. The servers'
 * request logs show the order of remotes, the number of requests, and who served what.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type AddressInfo } from 'node:net'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { makeBigRepo, type BigRepo } from '../fixtures/repos.js'
import { startGitServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'
import { openRepoContext } from '../../lib/ops/repo-context.js'
import { silentSink, type ProgressSink } from '../../lib/events.js'
import { MissingObjectError } from '../../lib/errors.js'
import { CorruptRepositoryError } from '../../lib/odb/store.js'

const tmp = tempDir('tsgit-lazy-')
t.teardown(tmp.cleanup)
const originRoot = join(tmp.path, 'origin')
const cacheRoot = join(tmp.path, 'cache')
const cache2Root = join(tmp.path, 'cache2')
for (const d of [originRoot, cacheRoot, cache2Root]) mkdirSync(d)

let big: BigRepo
let origin: GitServer
let cache: GitServer
let cache2: GitServer
let headBlobs: string[] = []

/** A bare repository holding just `oids` (copied from `from`) as loose objects, and no refs. */
function partialCopy(from: string, to: string, oids: string[]): void {
  git(['init', '-q', '--bare', to])
  const input = oids.join('\n') + '\n'
  const objects = git(['cat-file', '--batch'], { cwd: from, input }).stdoutBuffer
  let pos = 0
  for (const oid of oids) {
    const nl = objects.indexOf(10, pos)
    const [, type, size] = objects.subarray(pos, nl).toString().split(' ')
    const data = objects.subarray(nl + 1, nl + 1 + Number(size))
    const written = git(['hash-object', '-w', '--stdin', '-t', type as string], { cwd: to, input: data }).stdout.trim()
    if (written !== oid) throw new Error(`copy of ${oid} gave ${written}`)
    pos = nl + 1 + Number(size) + 1
  }
}

t.before(async () => {
  big = await makeBigRepo(join(originRoot, 'repo.git'), { files: 300, commits: 3, fileSize: 300 })
  headBlobs = git(['ls-tree', '-r', '--format=%(objectname)', 'HEAD'], { cwd: big.path }).stdout.trim().split('\n')
  // The cache has every other blob of HEAD; cache2 has none of them but one.
  partialCopy(big.path, join(cacheRoot, 'repo.git'), headBlobs.filter((_, i) => i % 2 === 0))
  partialCopy(big.path, join(cache2Root, 'repo.git'), headBlobs.slice(1, 2))
  origin = await startGitServer({ root: originRoot })
  cache = await startGitServer({ root: cacheRoot })
  cache2 = await startGitServer({ root: cache2Root })
})
t.teardown(async () => {
  await origin?.close()
  await cache?.close()
  await cache2?.close()
})

let n = 0
async function partialClone(): Promise<string> {
  const d = join(tmp.path, `clone${n++}`)
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', origin.url('repo.git'), d])
  if (r.status !== 0) throw new Error(r.stderr)
  return d
}

function fetchesSince(server: GitServer, seq: number): RecordedRequest[] {
  return server.requests.filter((r) => r.seq > seq && r.command === 'fetch')
}
function commandsSince(server: GitServer, seq: number): RecordedRequest[] {
  return server.requests.filter((r) => r.seq > seq && r.command !== undefined)
}
function lastSeq(): number {
  return Math.max(0, ...[origin, cache, cache2].flatMap((s) => s.requests.map((r) => r.seq)))
}
function wants(r: RecordedRequest): string[] {
  return r.args.filter((a) => a.startsWith('want ')).map((a) => a.slice(5))
}

function recordingSink(): ProgressSink & { warnings: string[] } {
  const warnings: string[] = []
  return { ...silentSink, warn: (m: string) => warnings.push(m), warnings }
}

t.test('one batch: the cache serves what it has in one fetch, the origin the rest in one fetch', async (t) => {
  const d = await partialClone()
  git(['remote', 'add', 'cache', cache.url('repo.git')], { cwd: d })
  git(['config', 'remote.cache.promisor', 'true'], { cwd: d })
  const start = lastSeq()
  const rc = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  const missing = await rc.store.missingOf(headBlobs)
  t.equal(missing.length, headBlobs.length, 'all of HEAD\'s blobs start out missing')
  const trees = git(['ls-tree', '-r', '-t', '--format=%(objectname) %(objecttype)', 'HEAD'], { cwd: big.path }).stdout.split('\n').filter((l) => l.endsWith(' tree')).map((l) => l.slice(0, 40))
  await rc.store.prefetch(headBlobs, { referrers: trees })
  await rc.store.close()
  const after = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  t.same(await after.store.missingOf(headBlobs), [], 'every blob is present afterwards')
  await after.store.close()

  const cacheCmds = commandsSince(cache, start)
  const originFetches = fetchesSince(origin, start)
  t.same(cacheCmds.map((r) => r.command), ['fetch', 'object-info', 'fetch'], 'cache: the batch, then what it has, then a fetch of just that')
  const served = wants(cacheCmds[2] as RecordedRequest)
  t.equal(served.length, Math.ceil(headBlobs.length / 2), 'the cache served the half it holds')
  t.equal(originFetches.length, 1, 'the origin got ONE request for the rest')
  t.same(wants(originFetches[0] as RecordedRequest).sort(), headBlobs.filter((_, i) => i % 2 === 1).sort(), 'the origin was asked only for what the cache lacked')
  const firstOrigin = originFetches[0]?.seq ?? 0
  t.ok(cacheCmds.every((r) => r.seq < firstOrigin), 'the cache (later in the file) is tried before extensions.partialClone\'s origin')
  for (const r of [...cacheCmds.filter((c) => c.command === 'fetch'), ...originFetches]) {
    t.ok(r.args.includes('done') && r.args.includes('filter blob:none'), 'want…, done, filter blob:none')
    t.notOk(r.args.some((a) => a.startsWith('have ') || a === 'include-tag'), 'no haves, no tags')
    // as git's: a body over 1 KiB goes gzipped, and git http-backend takes it
    t.equal(r.headers['content-encoding'], 'gzip', 'the request body gzipped')
    t.ok(r.bytesIn < r.body.length / 2, `less than half its size on the wire (${r.bytesIn} of ${r.body.length} bytes)`)
  }
  const packDir = join(d, '.git/objects/pack')
  const packs = readdirSync(packDir).filter((f) => f.endsWith('.pack'))
  t.equal(packs.length, 3, 'clone pack + one pack from each remote')
  t.equal(readdirSync(packDir).filter((f) => f.endsWith('.promisor')).length, 3, 'all of them promisor packs')
  t.notOk(existsSync(join(d, '.git/FETCH_HEAD')), 'no FETCH_HEAD')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'real git fsck passes')
})

t.test('config order, with extensions.partialClone last even when it stands first', async (t) => {
  const d = await partialClone()
  // origin stands first in the file; cache2 then cache follow.
  for (const [name, server] of [['cache2', cache2], ['cache', cache]] as const) {
    git(['remote', 'add', name, server.url('repo.git')], { cwd: d })
    git(['config', `remote.${name}.promisor`, 'true'], { cwd: d })
  }
  const start = lastSeq()
  const rc = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  const blob = headBlobs[2] as string // only the cache has it (and the origin)
  await rc.store.read(blob)
  await rc.store.close()
  const order = [...commandsSince(cache2, start).map((r) => ({ s: 'cache2', r })), ...commandsSince(cache, start).map((r) => ({ s: 'cache', r })), ...commandsSince(origin, start).map((r) => ({ s: 'origin', r }))]
    .sort((a, b) => a.r.seq - b.r.seq)
    .map((x) => x.s)
  t.same(order, ['cache2', 'cache'], 'cache2 (first in file order) fails, cache serves it, origin is never asked')
})

t.test('an object no remote has: git\'s message naming the remotes, exit 128 from the CLI', async (t) => {
  // A server whose blob vanishes after the clone.
  const root = join(tmp.path, 'vanish')
  mkdirSync(root)
  const work = join(tmp.path, 'vanish-work')
  git(['init', '-q', '-b', 'main', work])
  git(['commit', '-q', '--allow-empty', '-m', 'base'], { cwd: work })
  writeFileSync(join(work, 'gone.txt'), 'this blob will vanish from the server\n')
  git(['add', 'gone.txt'], { cwd: work })
  git(['commit', '-q', '-m', 'gone'], { cwd: work })
  const srv = join(root, 'v.git')
  git(['init', '-q', '--bare', srv])
  git(['-c', 'fetch.unpackLimit=100000', 'fetch', '-q', work, 'main:main'], { cwd: srv })
  const blob = git(['rev-parse', 'HEAD:gone.txt'], { cwd: work }).stdout.trim()
  const server = await startGitServer({ root })
  t.teardown(() => server.close())
  const d = join(tmp.path, 'vanish-clone')
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', server.url('v.git'), d])
  t.equal(r.status, 0, r.stderr)
  rmSync(join(srv, 'objects', blob.slice(0, 2), blob.slice(2)))
  git(['remote', 'add', 'cache', cache.url('repo.git')], { cwd: d })
  git(['config', 'remote.cache.promisor', 'true'], { cwd: d })
  const rc = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  const err = await rc.store.read(blob).then(() => undefined, (e: unknown) => e)
  await rc.store.close()
  t.ok(err instanceof MissingObjectError, 'MissingObjectError')
  t.match((err as Error).message, new RegExp(`^could not fetch ${blob} from promisor remote\\(s\\) cache, origin`))
})

t.test('a remote that is unreachable or fails: warned about, and the batch goes on to the next remote', async (t) => {
  const d = await partialClone()
  // A port nothing listens on, and a server that answers every fetch with 500.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const failing = await startGitServer({ root: cacheRoot, intercept: (req) => (req.command === 'fetch' ? { status: 500, body: Buffer.from('boom') } : undefined) })
  t.teardown(() => failing.close())
  git(['remote', 'add', 'dead', `http://127.0.0.1:${port}/repo.git`], { cwd: d })
  git(['config', 'remote.dead.promisor', 'true'], { cwd: d })
  git(['remote', 'add', 'broken', failing.url('repo.git')], { cwd: d })
  git(['config', 'remote.broken.promisor', 'true'], { cwd: d })
  const start = lastSeq()
  const sink = recordingSink()
  const rc = await openRepoContext({ cwd: d, env: {}, sink })
  await rc.store.prefetch(headBlobs.slice(0, 20))
  t.same(await rc.store.missingOf(headBlobs.slice(0, 20)), [], 'every blob arrived')
  await rc.store.close()
  t.equal(sink.warnings.length, 2, 'one warning per failing remote')
  t.match(sink.warnings[0], /^could not fetch from promisor remote 'dead': unable to access/)
  t.match(sink.warnings[1], /^could not fetch from promisor remote 'broken': .*500/)
  t.equal(failing.requests.filter((r) => r.command === 'fetch').length, 1, 'the failing remote was asked once')
  const originFetches = fetchesSince(origin, start)
  t.equal(originFetches.length, 1, 'the origin got the whole batch in one request')
  t.equal(wants(originFetches[0] as RecordedRequest).length, 20)
})

t.test('a missing object that no promisor object refers to is corruption, not fetched', async (t) => {
  const d = await partialClone()
  const start = lastSeq()
  const rc = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  const bogus = 'deadbeef'.repeat(5)
  const err = await rc.store.read(bogus).then(() => undefined, (e: unknown) => e)
  await rc.store.close()
  t.ok(err instanceof CorruptRepositoryError, 'CorruptRepositoryError')
  t.match((err as Error).message, /is not a promisor object/)
  t.equal(commandsSince(origin, start).length, 0, 'nothing was asked of any server')
})

t.test('GIT_NO_LAZY_FETCH=1: git\'s warning, and a clean failure without a request', async (t) => {
  const d = await partialClone()
  const start = lastSeq()
  const sink = recordingSink()
  const rc = await openRepoContext({ cwd: d, env: { GIT_NO_LAZY_FETCH: '1' }, sink })
  const err = await rc.store.read(headBlobs[0] as string).then(() => undefined, (e: unknown) => e)
  await rc.store.read(headBlobs[1] as string).catch(() => undefined)
  await rc.store.close()
  t.ok(err instanceof MissingObjectError)
  t.same(sink.warnings, ['lazy fetching disabled; some objects may not be available'], 'warned once')
  t.equal(commandsSince(origin, start).length, 0, 'no request')
  const rc2 = await openRepoContext({ cwd: d, env: {}, sink }, { lazyFetch: false })
  t.equal(rc2.lazy, undefined, '--no-lazy-fetch turns it off as well')
  await rc2.store.close()
})

t.test('tsgit inside a partial clone made by real git, with a promisor remote added by real git config', async (t) => {
  const d = join(tmp.path, 'realgit')
  const r = await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', origin.url('repo.git'), d], { allowFail: true })
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['config', 'extensions.partialclone'], { cwd: d, allowFail: true }).status, 1, 'real git 2.39 writes no extensions.partialClone')
  git(['remote', 'add', 'cache', cache.url('repo.git')], { cwd: d })
  git(['config', 'remote.cache.promisor', 'true'], { cwd: d })
  const start = lastSeq()
  const rc = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  await rc.store.prefetch(headBlobs.slice(0, 20), { referrers: [git(['rev-parse', 'HEAD^{tree}'], { cwd: d }).stdout.trim()] })
  await rc.store.close()
  // Without extensions.partialClone, both are plain promisor remotes in file order: origin first.
  const originFetches = fetchesSince(origin, start)
  t.equal(originFetches.length, 1, 'origin (first in the file) served the batch in one request')
  t.equal(commandsSince(cache, start).length, 0, 'the cache was not needed')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'real git fsck passes after tsgit\'s lazy fetch')
  const co = await gitAsync(['checkout', '-q', 'main'], { cwd: d, allowFail: true })
  t.equal(co.status, 0, `real git's own lazy fetch still works: ${co.stderr}`)
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
})

t.test('promisor.quiet silences lazy-fetch progress', async (t) => {
  const d = await partialClone()
  git(['config', 'promisor.quiet', 'true'], { cwd: d })
  const lines: string[] = []
  const sink: ProgressSink = { ...silentSink, remote: (s) => lines.push(s), progress: (e) => lines.push(e.title) }
  const rc = await openRepoContext({ cwd: d, env: {}, sink })
  await rc.store.read(headBlobs[0] as string)
  await rc.store.close()
  t.same(lines, [], 'no progress and no remote: lines')
  const d2 = await partialClone()
  const rc2 = await openRepoContext({ cwd: d2, env: {}, sink })
  await rc2.store.read(headBlobs[0] as string)
  await rc2.store.close()
  t.ok(lines.length > 0, 'without it, progress is reported')
})

t.test('progress of a lazy fetch only on a terminal, whatever the command\'s --progress, as git\'s own fetch', async (t) => {
  const askedProgress = async (sink: ProgressSink): Promise<boolean> => {
    const d = await partialClone()
    const seq = lastSeq()
    const rc = await openRepoContext({ cwd: d, env: {}, sink })
    await rc.store.read(headBlobs[0] as string)
    await rc.store.close()
    const fetches = fetchesSince(origin, seq)
    t.equal(fetches.length, 1, 'one lazy fetch')
    return !fetches.every((r) => r.args.includes('no-progress'))
  }
  t.equal(await askedProgress({ ...silentSink, showProgress: true, terminal: false }), false, '--progress, not a terminal: no-progress')
  t.equal(await askedProgress({ ...silentSink, showProgress: true, terminal: true }), true, '--progress on a terminal: progress')
  t.equal(await askedProgress({ ...silentSink, showProgress: true }), true, 'a sink that does not say: as --progress says')
  // The CLI, its stderr a pipe, beside real git in a partial clone of its own
  const ours = await partialClone()
  const theirs = join(tmp.path, `clone${n++}`)
  await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', origin.url('repo.git'), theirs])
  let seq = lastSeq()
  t.equal((await tsgit(['checkout', '--progress', 'main'], { cwd: ours })).status, 0)
  const mine = fetchesSince(origin, seq)
  seq = lastSeq()
  t.equal((await gitAsync(['checkout', '--progress', 'main'], { cwd: theirs })).status, 0)
  const gits = fetchesSince(origin, seq)
  t.ok(gits.length > 0 && gits.every((r) => r.args.includes('no-progress')), 'git\'s lazy fetch asked for no progress')
  t.ok(mine.length > 0 && mine.every((r) => r.args.includes('no-progress')), 'so did tsgit\'s')
})

t.test('code running inside a lazy fetch reads with fetching denied: no recursion', async (t) => {
  const d = await partialClone()
  const rc = await openRepoContext({ cwd: d, env: {}, sink: silentSink })
  const inner = rc.lazy
  t.ok(inner, 'a partial clone gets a lazy fetcher')
  let calls = 0
  let innerError: unknown
  rc.store.setFetcher({
    fetchMissing: async (oids) => {
      calls++
      // A fetch that itself needs a missing object must not start another fetch.
      innerError = await rc.store.read(headBlobs[5] as string).then(() => undefined, (e: unknown) => e)
      await inner?.fetchMissing(oids)
    },
  })
  const obj = await rc.store.read(headBlobs[4] as string)
  await rc.store.close()
  t.equal(obj.type, 'blob', 'the outer read is served')
  t.equal(calls, 1, 'the fetcher ran once')
  t.ok(innerError instanceof MissingObjectError, 'the nested read failed instead of fetching')
})
