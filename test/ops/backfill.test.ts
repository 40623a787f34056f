/**
 * tsgit backfill against a real git http-backend, judged by real git: after a backfill
 * nothing in HEAD's history is missing and fsck passes; the server's request log shows
 * how many requests were made, how big each was, and that every path's versions
 * travelled together.
 */
import t, { type Test } from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'
import { BatchCutter } from '../../lib/ops/backfill.js'

let rich: RichRepo
/**
 * blob → the path backfill groups it under, for HEAD's history on the server: of every
 * path it has in any commit (as real git lists them), the first in path-walk order.
 */
const pathOf = new Map<string, string>()

/**
 * The order in which a path walk completes files (git's path-walk, tsgit's backfill): the
 * files of a directory before its subdirectories, each in byte order, depth first.
 */
function pathWalkOrder(a: string, b: string): number {
  if (a === b) return 0
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; ; i++) {
    const xi = x[i] as string
    const yi = y[i] as string
    if (xi === yi) continue
    const xFile = i === x.length - 1
    const yFile = i === y.length - 1
    if (xFile !== yFile) return xFile ? -1 : 1
    return Buffer.compare(Buffer.from(xi), Buffer.from(yi))
  }
}

const srv = serveRepos(t, 'tsgit-backfill-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  for (const commit of git(['rev-list', 'HEAD'], { cwd: rich.path }).stdout.trim().split('\n')) {
    const lines = git(['ls-tree', '-r', '-z', '--format=%(objecttype) %(objectname) %(path)', commit], { cwd: rich.path }).stdout.split('\0')
    for (const line of lines) {
      if (!line.startsWith('blob ')) continue
      const oid = line.slice(5, 45)
      const path = line.slice(46)
      const known = pathOf.get(oid)
      if (known === undefined || pathWalkOrder(path, known) < 0) pathOf.set(oid, path)
    }
  }
})
const { dest } = srv

function missingInHead(dir: string): string[] {
  const out = git(['rev-list', '--objects', '--missing=print', 'HEAD'], { cwd: dir }).stdout
  return out.split('\n').filter((l) => l.startsWith('?')).map((l) => l.slice(1))
}

function fetchWants(since: number): string[][] {
  return srv.server.requests
    .slice(since)
    .filter((r) => r.command === 'fetch')
    .map((r) => r.args.filter((a) => a.startsWith('want ')).map((a) => a.slice(5)))
}

/** Paths in path-walk order, each with its missing blobs: what a backfill of everything should request. */
function blobsByPath(missing: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const oid of missing) {
    const path = pathOf.get(oid)
    if (path === undefined) throw new Error(`missing ${oid} is not a blob of HEAD's history`)
    m.set(path, [...(m.get(path) ?? []), oid])
  }
  return new Map([...m].sort(([a], [b]) => pathWalkOrder(a, b)))
}

async function blobNoneClone(t: Test): Promise<string> {
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'clone exit 0' : r.stderr)
  return d
}

/** git's rule: add a path's versions, send when the batch reached the minimum. */
function gitBatchSizes(missing: string[], min: number): number[] {
  const sizes: number[] = []
  let cur = 0
  for (const blobs of blobsByPath(missing).values()) {
    cur += blobs.length
    if (cur >= min) {
      sizes.push(cur)
      cur = 0
    }
  }
  if (cur > 0) sizes.push(cur)
  return sizes
}

t.test('blob:none clone, small --min-batch-size: whole paths per request, sizes as git batches them', async (t) => {
  const d = await blobNoneClone(t)
  const before = missingInHead(d)
  // the blob a tag points at came with the clone
  t.equal(before.length, pathOf.size - 1, 'every other blob of the history is missing before')
  const since = srv.server.requests.length
  const r = await tsgit(['backfill', '--min-batch-size=4'], { cwd: d })
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.same(missingInHead(d), [], 'real git finds nothing missing in HEAD\'s history')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')

  const wants = fetchWants(since)
  const expected = gitBatchSizes(before, 4)
  t.same(
    wants.map((w) => w.length),
    expected,
    'request sizes',
  )
  t.ok(expected.length < before.length, 'fewer requests than blobs')
  const handshakes = srv.server.requests.slice(since).filter((q) => q.method === 'GET').length
  t.equal(handshakes, 1, `one handshake for all ${wants.length} requests: the session is kept between batches`)
  const batchOfPath = new Map<string, number>()
  wants.forEach((w, i) => {
    for (const oid of w) {
      const path = pathOf.get(oid)
      t.ok(path !== undefined, `${oid} is a blob of HEAD's history`)
      if (path === undefined) continue
      const prev = batchOfPath.get(path)
      if (prev !== undefined && prev !== i) t.fail(`${path} split over requests ${prev} and ${i}`)
      batchOfPath.set(path, i)
    }
  })
  t.same(wants.flat().sort(), [...before].sort(), 'each missing blob asked for once')
  const multi = [...blobsByPath(before)].filter(([, b]) => b.length > 1)
  t.ok(multi.length >= 3, 'the fixture has paths with several versions')
  for (const [path, blobs] of multi) {
    const idx = wants.findIndex((w) => w.includes(blobs[0] as string))
    t.ok(blobs.every((b) => wants[idx]?.includes(b)), `all ${blobs.length} versions of ${path} in one request`)
  }

  const again = srv.server.requests.length
  const r2 = await tsgit(['backfill'], { cwd: d })
  t.equal(r2.status, 0)
  t.same(fetchWants(again), [], 'a second backfill has nothing to fetch')
})

t.test('each batch is asked for while the one before it is still arriving (one request each, none wasted)', async (t) => {
  // The server sends each fetch's "packfile" header and then holds the pack back
  // until another fetch request comes in (or 5 s pass). A client that waits for a
  // batch before asking for the next could not finish that batch in the meantime.
  let server: GitServer | undefined
  let holding = false
  let lastBatch = -1
  const seen: { seq: number; nextArrived: boolean }[] = []
  const fetchesAfter = (seq: number): boolean => (server?.requests ?? []).some((r) => r.command === 'fetch' && r.seq > seq)
  server = await startGitServer({
    root: srv.root,
    holdBody: async (req) => {
      if (!holding || req.command !== 'fetch') return
      const index = (server?.requests ?? []).filter((r) => r.command === 'fetch' && r.seq >= since).findIndex((r) => r.seq === req.seq)
      if (index === lastBatch) return
      for (let i = 0; i < 500 && !fetchesAfter(req.seq); i++) await new Promise((r) => setTimeout(r, 10))
      seen.push({ seq: req.seq, nextArrived: fetchesAfter(req.seq) })
    },
  })
  t.teardown(() => server?.close())
  const d = dest()
  const c = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', server.url('rich.git'), d])
  t.equal(c.status, 0, c.status === 0 ? 'clone exit 0' : c.stderr)
  const before = missingInHead(d)
  const sizes = gitBatchSizes(before, 4)
  t.ok(sizes.length >= 3, `several batches (${sizes.length})`)
  lastBatch = sizes.length - 1
  const since = server.requests.length === 0 ? 0 : (server.requests[server.requests.length - 1]?.seq ?? 0) + 1
  holding = true
  const r = await tsgit(['backfill', '--min-batch-size=4'], { cwd: d })
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  const fetches = server.requests.filter((q) => q.seq >= since && q.command === 'fetch')
  t.same(
    fetches.map((q) => q.args.filter((a) => a.startsWith('want ')).length),
    sizes,
    'one request per batch, in order, as without pipelining',
  )
  t.equal(seen.length, sizes.length - 1, 'every batch but the last was held')
  t.ok(
    seen.every((s) => s.nextArrived),
    'the next request arrived while the batch before it was held back',
  )
  t.same(missingInHead(d), [], 'nothing missing in HEAD\'s history')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('a batch the server refuses (or fails) on the way: the refused one goes the usual way, the rest still one request each', async (t) => {
  for (const failure of ['not our ref', 'HTTP 500'] as const) {
    // The second fetch of the backfill (a request sent ahead) is answered with an error.
    let fetches = 0
    let counting = false
    const server = await startGitServer({
      root: srv.root,
      intercept: (req) => {
        if (!counting || req.command !== 'fetch' || ++fetches !== 2) return undefined
        if (failure === 'HTTP 500') return { status: 500, body: Buffer.from('boom') }
        const err = Buffer.from('ERR upload-pack: not our ref 0000000000000000000000000000000000000001\n')
        const pkt = Buffer.concat([Buffer.from((err.length + 4).toString(16).padStart(4, '0')), err])
        return { headers: { 'Content-Type': 'application/x-git-upload-pack-result' }, body: pkt }
      },
    })
    t.teardown(() => server.close())
    const d = dest()
    const c = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', server.url('rich.git'), d])
    t.equal(c.status, 0, c.status === 0 ? 'clone exit 0' : c.stderr)
    const before = missingInHead(d)
    const sizes = gitBatchSizes(before, 4)
    counting = true
    const since = (server.requests[server.requests.length - 1]?.seq ?? 0) + 1
    const r = await tsgit(['backfill', '--min-batch-size=4'], { cwd: d })
    const cmds = server.requests.filter((q) => q.seq >= since && q.command !== undefined)
    if (failure === 'HTTP 500') {
      // one promisor remote, and it failed: git's message, exit 128, what came before kept
      t.equal(r.status, 128, 'exit 128')
      t.match(r.stderr, /^warning: could not fetch from promisor remote 'origin': .*500/m)
      t.match(r.stderr, /^fatal: could not fetch [0-9a-f]{40} from promisor remote\(s\) origin/m)
      t.equal(missingInHead(d).length, before.length - (sizes[0] as number), 'the first batch stays')
      t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
      continue
    }
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.same(
      cmds.map((q) => q.command),
      ['fetch', 'fetch', 'object-info', ...sizes.slice(1).map(() => 'fetch')],
      'refused: object-info, then the batch again; every other batch one fetch',
    )
    t.equal(
      server.requests.filter((q) => q.seq >= since && q.method === 'GET').length,
      1,
      'one handshake: a refusal over http does not end the session',
    )
    t.same(missingInHead(d), [], 'nothing missing in HEAD\'s history')
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
  }
})

t.test('default batch size: one request for the whole history; progress with --progress', async (t) => {
  const d = await blobNoneClone(t)
  const missing = missingInHead(d).length
  const since = srv.server.requests.length
  const r = await tsgit(['backfill', '--progress'], { cwd: d })
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  const wants = fetchWants(since)
  t.equal(wants.length, 1, 'one fetch request')
  t.equal(wants[0]?.length, missing)
  t.match(r.stderr, new RegExp(`Backfilling objects: 100% \\(${missing}/${missing}\\), done\\.\\n`))
  t.match(r.stderr, /Walking commits: \d+, done\.\n/)
  t.same(missingInHead(d), [])
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('--min-batch-size=1 (and 0): one request per path', async (t) => {
  for (const size of ['1', '0']) {
    const d = await blobNoneClone(t)
    const before = missingInHead(d)
    const since = srv.server.requests.length
    const r = await tsgit(['backfill', '--min-batch-size', size], { cwd: d })
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    const wants = fetchWants(since)
    const byPath = [...blobsByPath(before).values()]
    t.same(
      wants.map((w) => [...w].sort()),
      byPath.map((b) => [...b].sort()),
      `--min-batch-size=${size}: each request is exactly one path's versions, in path order`,
    )
    t.same(missingInHead(d), [])
  }
})

t.test('a clone made by real git (blob:none) is backfilled too', async (t) => {
  const d = dest()
  await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
  t.equal(missingInHead(d).length, pathOf.size - 1)
  const r = await tsgit(['backfill'], { cwd: d })
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.same(missingInHead(d), [])
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
})

t.test('tree:0 clone: trees first, level by level, then blobs', async (t) => {
  const d = dest()
  const c = await tsgit(['clone', '-q', '--no-checkout', '--filter=tree:0', srv.server.url('rich.git'), d])
  t.equal(c.status, 0, c.stderr)
  const since = srv.server.requests.length
  const r = await tsgit(['backfill', '--min-batch-size=100000'], { cwd: d })
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.same(missingInHead(d), [], 'nothing missing')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
  const wants = fetchWants(since)
  // the root trees of every commit in one request (the server sends their subtrees with them), then the blobs
  t.equal(wants.length, 2, 'two requests: root trees, then all blobs')
  t.equal(wants[0]?.length, new Set(rich.commits.map((c) => git(['rev-parse', `${c}^{tree}`], { cwd: rich.path }).stdout.trim())).size)
  t.equal(wants[1]?.length, pathOf.size - 1, 'every blob but the tagged one')
})

t.test('--sparse: only the cone; --no-sparse: the rest; --sparse without sparse checkout fails', async (t) => {
  const d = await blobNoneClone(t)
  git(['config', 'core.sparseCheckout', 'true'], { cwd: d })
  git(['config', 'core.sparseCheckoutCone', 'true'], { cwd: d })
  mkdirSync(join(d, '.git/info'), { recursive: true })
  writeFileSync(join(d, '.git/info/sparse-checkout'), '/*\n!/*/\n/src/\n!/src/*/\n/src/lib/\n')
  const inCone = (p: string): boolean => !p.includes('/') || /^src\/[^/]+$/.test(p) || p.startsWith('src/lib/')
  const since = srv.server.requests.length
  // sparse is the default when sparse checkout is on
  const r = await tsgit(['backfill'], { cwd: d })
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  const fetched = fetchWants(since).flat()
  t.ok(fetched.length > 0)
  t.same(
    fetched.filter((o) => !inCone(pathOf.get(o) ?? '')),
    [],
    'only blobs inside the cone were asked for',
  )
  const missing = missingInHead(d)
  t.same(
    missing.filter((o) => inCone(pathOf.get(o) ?? '')),
    [],
    'every blob inside the cone is present',
  )
  t.same(
    [...new Set(missing.map((o) => pathOf.get(o)))].sort(),
    ['bin/run.sh', 'docs/guide/intro.txt'],
    'what is left missing is outside the cone',
  )

  const r2 = await tsgit(['backfill', '--no-sparse'], { cwd: d })
  t.equal(r2.status, 0, r2.stderr)
  t.same(missingInHead(d), [], '--no-sparse fetches the rest')

  const plain = await blobNoneClone(t)
  const r3 = await tsgit(['backfill', '--sparse'], { cwd: plain })
  t.equal(r3.status, 128)
  t.match(r3.stderr, /^fatal: problem loading sparse-checkout/m)
})

t.test('a sparse checkout made by git sparse-checkout (its settings in config.worktree) is honoured', async (t) => {
  const d = await blobNoneClone(t)
  await gitAsync(['sparse-checkout', 'set', 'src/lib'], { cwd: d })
  t.match(readFileSync(join(d, '.git', 'config.worktree'), 'utf8'), /sparseCheckout = true/, 'git keeps the setting in config.worktree')
  const since = srv.server.requests.length
  const r = await tsgit(['backfill'], { cwd: d })
  t.equal(r.status, 0, r.stderr)
  const inCone = (p: string): boolean => !p.includes('/') || /^src\/[^/]+$/.test(p) || p.startsWith('src/lib/')
  const fetched = fetchWants(since).flat()
  t.ok(fetched.length > 0)
  t.same(fetched.filter((o) => !inCone(pathOf.get(o) ?? '')), [], 'only blobs inside the cone were asked for')
})

t.test('not a partial clone: nothing to do, no request; --no-lazy-fetch with missing blobs fails', async (t) => {
  const d = dest()
  const c = await tsgit(['clone', '-q', '--no-checkout', srv.server.url('rich.git'), d])
  t.equal(c.status, 0, c.stderr)
  const since = srv.server.requests.length
  const r = await tsgit(['backfill'], { cwd: d })
  t.equal(r.status, 0, r.stderr)
  t.equal(srv.server.requests.length, since, 'no request at all')

  const p = await blobNoneClone(t)
  const r2 = await tsgit(['--no-lazy-fetch', 'backfill'], { cwd: p })
  t.equal(r2.status, 128)
  t.match(r2.stderr, /could not backfill/)
  t.equal(missingInHead(p).length, pathOf.size - 1, 'nothing was fetched')
})

t.test('batch planning (units; the cone patterns are test/worktree/sparse.test.ts)', async (t) => {
  const cutter = new BatchCutter<number>(3)
  const groups = [
    { blobs: ['a', 'b', 'c'], extra: 1 },
    { blobs: [], extra: 2 },
    { blobs: ['d'], extra: 3 },
    { blobs: ['e', 'f'], extra: 4 },
    { blobs: ['g'], extra: 5 },
  ]
  const plan = [...groups.map((g) => cutter.add(g)), cutter.flush()].filter((b) => b !== undefined)
  t.same(
    plan.map((p) => p.blobs.join('')),
    ['abc', 'def', 'g'],
  )
  t.same(
    plan.map((p) => p.extras),
    [[1], [3, 4], [5]],
  )
})
