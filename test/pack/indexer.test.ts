import t from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { InterruptedError, PackError } from '../../lib/errors.js'
import type { ProgressEvent } from '../../lib/events.js'
import { createResumablePackFile, indexPack, type IndexPackOptions } from '../../lib/pack/indexer.js'
import { git, tempDir } from '../fixtures/git.js'
import {
  buildPack, chunked, fixTrailer, gitIndexPack, listDir, makeBareRepo, makeDelta, makeFarBaseRepo, makeHistoryRepo, packAll,
} from '../fixtures/packs.js'
import { makeBigRepo } from '../fixtures/repos.js'

const repo = makeHistoryRepo(14)
t.teardown(repo.cleanup)

function verifyPackObjects(idxPath: string): Map<string, { type: string; offset: number }> {
  const out = git(['verify-pack', '-v', idxPath]).stdout
  const map = new Map<string, { type: string; offset: number }>()
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{40}) (\w+)\s+\d+ \d+ (\d+)/.exec(line)
    if (m) map.set(m[1] as string, { type: m[2] as string, offset: Number(m[3]) })
  }
  return map
}

function patch(buf: Buffer, at: number, f: (b: number) => number): Buffer {
  const copy = Buffer.from(buf)
  copy[at] = f(copy[at] as number)
  return copy
}

async function indexInto(pack: Buffer, chunkSize: number, opts: Partial<IndexPackOptions> = {}) {
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const result = await indexPack(chunked(pack, chunkSize), { packDir: dest.packDir, ...opts })
  return { dest, result }
}

const variants: [string, string[], Partial<IndexPackOptions>][] = [
  ['OFS_DELTA chains', [], {}],
  ['--no-reuse-delta --depth=50', ['--no-reuse-delta', '--depth=50', '--window=50'], {}],
  ['REF_DELTA (--no-delta-base-offset)', ['--no-delta-base-offset'], {}],
  ['streaming inflate for every entry', [], { streamingThreshold: 0 }],
  // recentBytes 0: no delta is resolved on arrival, all go through the second pass.
  ['second pass only', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 0 }],
  ['bases dropped and rebuilt from the file (no base memory)', ['--no-reuse-delta', '--depth=50', '--window=50'], { baseCacheBytes: 0, recentBytes: 0 }],
  ['REF_DELTA with no base memory', ['--no-delta-base-offset', '--no-reuse-delta'], { baseCacheBytes: 0 }],
  // Small packs are resolved from memory by default; large ones entry by entry from the file.
  ['OFS_DELTA read entry by entry from the file', [], { inMemoryPackBytes: 0, recentBytes: 0 }],
  ['REF_DELTA, no base memory, read from the file', ['--no-delta-base-offset', '--no-reuse-delta'], { baseCacheBytes: 0, inMemoryPackBytes: 0 }],
  // A ring that holds a few objects: some deltas find their base there, the others are
  // resolved afterwards, some of them from bases that were deltas resolved on arrival.
  ['recent objects too few for all bases', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 128 * 1024 }],
  ['recent objects too few, no base memory, read from the file', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 128 * 1024, baseCacheBytes: 0, inMemoryPackBytes: 0 }],
  // The second pass makes bases and results in an arena (arena.ts); with a tiny one, some
  // fit and the rest get memory of their own, and blocks are given back in every order.
  ['second pass in a 4 KiB arena', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 0, arenaBytes: 4096 }],
  ['second pass in a 4 KiB arena, no base memory, read from the file', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 0, arenaBytes: 4096, baseCacheBytes: 0, inMemoryPackBytes: 0 }],
  // The second pass on worker threads (resolve-workers.ts), however few the deltas.
  ['second pass on 2 threads', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 0, threads: 2, threadsMinDeltas: 0 }],
  ['second pass on 3 threads, no base memory, 4 KiB arenas', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 0, threads: 3, threadsMinDeltas: 0, baseCacheBytes: 0, arenaBytes: 4096 }],
  // Roots of the threads' subtrees include deltas resolved on arrival, rebuilt from the file.
  ['threads, some deltas resolved on arrival', ['--no-reuse-delta', '--depth=50', '--window=50'], { recentBytes: 128 * 1024, threads: 2, threadsMinDeltas: 0 }],
  // REF_DELTA entries are only resolved by the single-threaded pass.
  ['REF_DELTA: threads asked for, none used', ['--no-delta-base-offset', '--no-reuse-delta'], { threads: 2, threadsMinDeltas: 0 }],
]

for (const [name, flags, opts] of variants) {
  t.test(`${name}: .idx equals git index-pack's byte for byte`, async (t) => {
    const pack = packAll(repo.path, flags)
    const expectedIdx = gitIndexPack(pack)
    const { dest, result } = await indexInto(pack, 65536, opts)
    t.ok(result.deltaCount > 0, 'the pack has deltas')
    if (opts.recentBytes === 0 || opts.streamingThreshold === 0 || flags.includes('--no-delta-base-offset')) {
      t.equal(result.resolvedOnArrival, 0, 'no delta resolved on arrival')
    } else if (opts.recentBytes !== undefined) {
      t.ok(result.resolvedOnArrival > 0 && result.resolvedOnArrival < result.deltaCount, `some deltas resolved on arrival (${result.resolvedOnArrival} of ${result.deltaCount})`)
    } else {
      t.equal(result.resolvedOnArrival, result.deltaCount, 'every delta resolved on arrival')
    }
    const threaded = opts.threads !== undefined && opts.threads > 1 && !flags.includes('--no-delta-base-offset') && result.resolvedOnArrival < result.deltaCount
    t.equal(result.resolveThreads, threaded ? opts.threads : 0, threaded ? 'resolved on worker threads' : 'no worker threads')
    t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.pack`])
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), 'idx bytes identical')
    t.ok(readFileSync(result.packPath).equals(pack), 'pack stored unchanged')
    t.equal(result.checksum, pack.subarray(pack.length - 20).toString('hex'))
    const objects = verifyPackObjects(result.idxPath)
    t.equal(result.objectCount, objects.size)
    for (const o of result.objects()) {
      const v = objects.get(o.oid)
      t.same(v && { type: v.type, offset: v.offset }, { type: o.type, offset: o.offset }, `object ${o.oid}`)
    }
    const nonBlobs = [...result.nonBlobs()]
    t.equal(nonBlobs.length, result.counts.commit + result.counts.tree + result.counts.tag)
    t.equal(result.counts.tag, 1)
    git(['fsck', '--strict'], { cwd: dest.path })
  })
}

t.test('deltas whose bases left the recent objects are resolved after the pack, from bases resolved on arrival too', async (t) => {
  const blob = (seed: number) => Buffer.from(Array.from({ length: 1000 }, (_, i) => 97 + ((i * 7 + seed * 13) % 26)))
  // Copy the whole base (offset 0, two size bytes), then insert a line.
  const extend = (baseSize: number, line: string) =>
    makeDelta(baseSize, baseSize + line.length, [0xb0, baseSize & 0xff, baseSize >> 8, line.length, ...Buffer.from(line)])
  const fillers = Array.from({ length: 10 }, (_, k) => ({ packType: 3, body: blob(k + 1) }))
  const pack = buildPack([
    { packType: 3, body: blob(0) }, // 0: B
    { packType: 6, baseIndex: 0, body: extend(1000, 'one\n') }, // 1: D1 on B, resolved on arrival
    ...fillers, // 2-11: push B and D1 out of a ring that holds about 8 of them
    { packType: 6, baseIndex: 1, body: extend(1004, 'two\n') }, // D2 on D1: after the pack, D1 rebuilt from B
    { packType: 6, baseIndex: 0, body: extend(1000, 'three\n') }, // D3 on B: after the pack
  ])
  const expectedIdx = gitIndexPack(pack)
  for (const chunk of [pack.length, 100]) {
    const { dest, result } = await indexInto(pack, chunk, { recentBytes: 8 * 1040 + 100 })
    t.equal(result.deltaCount, 3)
    t.equal(result.resolvedOnArrival, 1, 'only D1 resolved on arrival')
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), `idx bytes identical (chunks of ${chunk})`)
    const oids = [...result.objects()].map((o) => o.oid)
    t.equal(git(['cat-file', 'blob', oids[12] as string], { cwd: dest.path }).stdout, blob(0).toString() + 'one\ntwo\n')
    t.equal(git(['cat-file', 'blob', oids[13] as string], { cwd: dest.path }).stdout, blob(0).toString() + 'three\n')
  }
})

t.test('threads: only for many deltas left after arrival, unless asked to', async (t) => {
  const far = makeFarBaseRepo()
  t.teardown(far.cleanup)
  const pack = packAll(far.path)
  const expectedIdx = gitIndexPack(pack)
  for (const [opts, threads] of [[{}, 0], [{ threads: 2 }, 0], [{ threads: 2, threadsMinDeltas: 1 }, 2], [{ threads: 1, threadsMinDeltas: 0 }, 0]] as const) {
    const { result } = await indexInto(pack, 65536, opts)
    t.ok(result.resolvedOnArrival < result.deltaCount, `a delta left for the second pass (${result.resolvedOnArrival} of ${result.deltaCount} on arrival)`)
    t.equal(result.resolveThreads, threads, `${JSON.stringify(opts)}: ${threads} threads`)
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), 'idx bytes identical')
  }
})

t.test('threads: progress counts every delta, and ends once', async (t) => {
  const pack = packAll(repo.path, ['--no-reuse-delta', '--depth=50', '--window=50'])
  const events: ProgressEvent[] = []
  const sink = { progress: (e: ProgressEvent) => events.push(e), remote() {}, warn() {}, info() {} }
  const { result } = await indexInto(pack, 65536, { recentBytes: 0, threads: 2, threadsMinDeltas: 0, progress: sink })
  t.equal(result.resolveThreads, 2)
  const resolving = events.filter((e) => e.title === 'Resolving deltas')
  t.same(resolving.at(-1), { title: 'Resolving deltas', current: result.deltaCount, total: result.deltaCount, done: true })
  t.equal(resolving.filter((e) => e.done).length, 1)
})

t.test('threads: with hundreds of deltas per thread the line still ends at total/total, and never goes back', async (t) => {
  // A thread publishes its count when its percentage moves; the last report used to add
  // those up, and came short by what the threads resolved after their last move.
  const dir = tempDir('tsgit-pack-many-deltas-')
  t.teardown(dir.cleanup)
  const big = await makeBigRepo(join(dir.path, 'big.git'), { files: 600, commits: 11, fileSize: 300 })
  const pack = packAll(big.path, ['--no-reuse-delta', '--window=20'])
  // How far short it came depended on where each thread stopped: a few runs show it.
  for (let run = 1; run <= 3; run++) {
    const events: ProgressEvent[] = []
    const sink = { progress: (e: ProgressEvent) => events.push(e), remote() {}, warn() {}, info() {} }
    const { result } = await indexInto(pack, 65536, { recentBytes: 0, threads: 2, threadsMinDeltas: 0, progress: sink })
    t.equal(result.resolveThreads, 2)
    t.ok(result.deltaCount >= 1000, `${result.deltaCount} deltas: several for each percent`)
    const resolving = events.filter((e) => e.title === 'Resolving deltas')
    t.same(resolving.at(-1), { title: 'Resolving deltas', current: result.deltaCount, total: result.deltaCount, done: true }, `run ${run}: ends at total/total`)
    t.ok(resolving.every((e, i) => i === 0 || e.current >= (resolving[i - 1] as ProgressEvent).current), `run ${run}: the count never goes back`)
  }
})

t.test('on a slow link the objects are parsed, and progress reported, as they come', async (t) => {
  // Runs of 256 KiB are gathered before they are parsed: at 200 KB/s the line would move
  // only every 1.3 s (it did), after staying blank as long.
  const pack = packAll(repo.path)
  let sent = 0
  const parts = Math.ceil(pack.length / 256)
  async function* slow(): AsyncGenerator<Buffer> {
    for (let i = 0; i < pack.length; i += 256) {
      await new Promise((resolve) => setTimeout(resolve, 15))
      sent++
      yield pack.subarray(i, i + 256)
    }
  }
  const seen: number[] = []
  const sink = { progress: (e: ProgressEvent) => { if (e.title === 'Receiving objects' && e.current > 0) seen.push(sent) }, remote() {}, warn() {}, info() {} }
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const result = await indexPack(slow(), { packDir: dest.packDir, progress: sink })
  t.ok(result.objectCount > 0)
  t.ok(parts >= 20, `${parts} parts of 256 bytes`)
  t.ok(seen.length > 0 && (seen[0] as number) < parts / 2, `objects were counted while the parts came (first after part ${seen[0]} of ${parts})`)
})

t.test('threads: a bad delta in the second pass is a PackError, and nothing is left', async (t) => {
  // The base drops out of a small ring of recent objects, so the bad delta is left for the threads.
  const blob = (seed: number) => Buffer.from(Array.from({ length: 1000 }, (_, i) => 97 + ((i * 7 + seed * 13) % 26)))
  const fillers = Array.from({ length: 10 }, (_, k) => ({ packType: 3, body: blob(k + 1) }))
  const cases: [string, Buffer, RegExp][] = [
    ['copy outside the base', makeDelta(1000, 10, [0x93, 0xe8, 0x03, 10]), /delta copies 10 bytes at 1000, outside the 1000-byte base/],
    ['base size that lies', makeDelta(999, 5, [0x90, 5]), /base size mismatch/],
    ['result size that lies', makeDelta(1000, 100, [0x90, 5]), /delta produced 5 bytes but its header declares 100/],
  ]
  for (const [what, delta, message] of cases) {
    const pack = buildPack([{ packType: 3, body: blob(0) }, ...fillers, { packType: 6, baseIndex: 0, body: delta }])
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const err = await indexPack(chunked(pack, 65536), { packDir: dest.packDir, recentBytes: 8 * 1040 + 100, threads: 2, threadsMinDeltas: 0 }).catch((e: unknown) => e)
    t.type(err, PackError, what)
    t.match((err as Error).message, message, what)
    t.same(listDir(dest.packDir), [], `${what}: nothing left in packDir`)
  }
})

t.test('threads: an abort while they run stops them and cleans up', async (t) => {
  const pack = packAll(repo.path, ['--no-reuse-delta', '--depth=50', '--window=50'])
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const ac = new AbortController()
  let resolving: ProgressEvent | undefined
  // The threaded pass reports 0% as soon as its threads are started: stop there.
  const sink = { progress: (e: ProgressEvent) => { if (e.title === 'Resolving deltas' && resolving === undefined) { resolving = e; ac.abort(new Error('user hit ^C')) } }, remote() {}, warn() {}, info() {} }
  const err = await indexPack(chunked(pack, 65536), { packDir: dest.packDir, recentBytes: 0, threads: 2, threadsMinDeltas: 0, progress: sink, signal: ac.signal }).catch((e: unknown) => e)
  t.same(resolving && { current: resolving.current, done: resolving.done }, { current: 0, done: undefined }, 'aborted at the first report of the threaded pass')
  t.type(err, InterruptedError)
  t.match(err, { code: 'E_INTERRUPTED', retryable: true }, 'an interrupt, not a bad pack')
  t.match((err as Error).message, /aborted/)
  t.same(listDir(dest.packDir), [], 'nothing left')
})

t.test('tiny chunks (1 and 7 bytes) give the same result', async (t) => {
  const pack = packAll(repo.path)
  const expectedIdx = gitIndexPack(pack)
  for (const size of [1, 7]) {
    const { result } = await indexInto(pack, size)
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), `chunks of ${size}`)
  }
})

t.test('an object above the streaming threshold', async (t) => {
  const big = makeHistoryRepo(3, 300_000)
  t.teardown(big.cleanup)
  const pack = packAll(big.path)
  const expectedIdx = gitIndexPack(pack)
  for (const size of [1000, 65536, pack.length]) {
    const { dest, result } = await indexInto(pack, size, { streamingThreshold: 100_000 })
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), `chunks of ${size}`)
    git(['verify-pack', result.idxPath])
    t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.pack`])
  }
})

t.test('.keep and .promisor are written with the pack', async (t) => {
  const pack = packAll(repo.path)
  const events: ProgressEvent[] = []
  const sink = { progress: (e: ProgressEvent) => events.push(e), remote() {}, warn() {}, info() {} }
  const { dest, result } = await indexInto(pack, 4096, { keep: 'fetch-pack 123 on host', promisor: '', progress: sink })
  t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.keep`, `${result.name}.pack`, `${result.name}.promisor`])
  t.equal(readFileSync(join(dest.packDir, `${result.name}.keep`), 'utf8'), 'fetch-pack 123 on host\n')
  t.equal(readFileSync(join(dest.packDir, `${result.name}.promisor`), 'utf8'), '')
  t.equal(result.keepPath, join(dest.packDir, `${result.name}.keep`))
  const head = git(['rev-parse', 'HEAD'], { cwd: repo.path }).stdout.trim()
  t.equal(git(['cat-file', '-t', head], { cwd: dest.path }).stdout, 'commit\n', 'git reads the indexed pack')
  const receiving = events.filter((e) => e.title === 'Receiving objects')
  const resolving = events.filter((e) => e.title === 'Resolving deltas')
  t.same(receiving.at(-1), { title: 'Receiving objects', current: result.objectCount, total: result.objectCount, bytes: pack.length, done: true })
  t.same(resolving.at(-1), { title: 'Resolving deltas', current: result.deltaCount, total: result.deltaCount, done: true })
  t.ok(receiving.every((e, i) => i === 0 || e.current >= (receiving[i - 1] as ProgressEvent).current), 'monotonic')
})

t.test('thin pack: REF_DELTA bases from outside the pack', async (t) => {
  const revs = 'HEAD\n^HEAD~1\n'
  const thin = git(['pack-objects', '--thin', '--stdout', '--no-delta-base-offset', '--revs'], { cwd: repo.path, input: revs }).stdoutBuffer
  const expected = new Set(git(['rev-list', '--objects', 'HEAD', '^HEAD~1'], { cwd: repo.path }).stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 40)))

  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const err = await indexPack(chunked(thin, 512), { packDir: dest.packDir }).catch((e: unknown) => e)
  t.type(err, PackError)
  t.match((err as Error).message, /^delta base [0-9a-f]{40} missing \(needed by the delta at offset \d+\): not in the pack$/)
  t.same(listDir(dest.packDir), [], 'nothing left behind')

  const asked: string[] = []
  const result = await indexPack(chunked(thin, 512), {
    packDir: dest.packDir,
    baseCacheBytes: 0,
    resolveExternal: async (oid) => {
      asked.push(oid)
      const r = git(['cat-file', '-t', oid], { cwd: repo.path, allowFail: true })
      if (r.status !== 0) return undefined
      const type = r.stdout.trim() as 'blob'
      return { type, data: git(['cat-file', type, oid], { cwd: repo.path }).stdoutBuffer }
    },
  })
  t.ok(asked.length > 0, 'external bases were requested')
  // The bases are appended (fix-thin.ts; test/pack/fix-thin.test.ts has the rest).
  const appended = [...result.objects()].filter((o) => o.offset >= thin.length - 20).map((o) => o.oid)
  t.equal(appended.length, result.appendedBases)
  t.ok(appended.length > 0 && appended.every((oid) => asked.includes(oid) && !expected.has(oid)), 'the bases asked for are appended')
  t.same(new Set([...result.objects()].map((o) => o.oid)), new Set([...expected, ...appended]))
})

t.test('duplicate objects are tolerated like git index-pack', async (t) => {
  const blob = Buffer.from('same blob twice\n')
  const pack = buildPack([{ packType: 3, body: blob }, { packType: 3, body: Buffer.from('other\n') }, { packType: 3, body: blob }])
  const { result } = await indexInto(pack, 5)
  t.equal(result.objectCount, 3)
  t.ok(readFileSync(result.idxPath).equals(gitIndexPack(pack)))
})

t.test('bad input: PackError, nothing left in packDir', async (t) => {
  const pack = packAll(repo.path)
  const objects = (() => {
    const d = makeBareRepo()
    try {
      const p = join(d.packDir, 'x.pack')
      writeFileSync(p, pack)
      git(['index-pack', p])
      return [...verifyPackObjects(join(d.packDir, 'x.idx')).values()].sort((a, b) => a.offset - b.offset)
    } finally {
      d.cleanup()
    }
  })()
  const mid = objects[Math.floor(objects.length / 2)] as { offset: number }
  const withCount = (n: number) => {
    const p = Buffer.from(pack)
    p.writeUInt32BE(n, 8)
    return fixTrailer(p)
  }
  const flipped = Buffer.from(pack)
  flipped[mid.offset + 6] = (flipped[mid.offset + 6] as number) ^ 0x55
  const base = Buffer.from('hello, delta world\n')
  const cases: [string, Buffer, RegExp, Partial<IndexPackOptions>?][] = [
    ['empty input', Buffer.alloc(0), /truncated/],
    ['truncated in the header', pack.subarray(0, 7), /truncated/],
    ['truncated after the header', pack.subarray(0, 12), /truncated/],
    ['truncated mid-object', pack.subarray(0, mid.offset + 5), /truncated/],
    ['truncated before the trailer', pack.subarray(0, pack.length - 20), /truncated.*trailer/],
    ['truncated inside the trailer', pack.subarray(0, pack.length - 1), /truncated.*trailer/],
    ['wrong trailer checksum', patch(pack, pack.length - 1, (b) => b ^ 1), /SHA1 mismatch/],
    ['flipped byte inside zlib data', flipped, /bad object|truncated|SHA1 mismatch/],
    // Depending on what is at hand, the trailer is read as one more object, or found missing.
    ['header count larger than the content', withCount(objects.length + 1), /truncated|bad object at offset \d+|is too large/],
    ['header count smaller than the content', withCount(objects.length - 1), /SHA1 mismatch|junk/],
    ['header claims 4 billion objects', withCount(0xfffffff0), /truncated|bad object at offset \d+|is too large/],
    ['header count over maxObjects', withCount(objects.length), /more than the limit/, { maxObjects: 10 }],
    ['trailing garbage', Buffer.concat([pack, Buffer.from('garbage')]), /junk at the end/],
    ['bad signature', Buffer.concat([Buffer.from('PACX'), pack.subarray(4)]), /signature/],
    ['REF_DELTA base missing', buildPack([{ packType: 3, body: base }, { packType: 7, baseOid: 'ab'.repeat(20), body: makeDelta(base.length, 5, [0x90, 5]) }]), /delta base abababab[0-9a-f]{32} missing/],
    ['delta result size lies (too big)', buildPack([{ packType: 3, body: base }, { packType: 6, baseIndex: 0, body: makeDelta(base.length, 100, [0x90, 5]) }]), /delta produced 5 bytes but its header declares 100/],
    ['delta result size lies (too small)', buildPack([{ packType: 3, body: base }, { packType: 6, baseIndex: 0, body: makeDelta(base.length, 3, [0x90, 5]) }]), /more data than its header declares/],
    ['delta base size lies', buildPack([{ packType: 3, body: base }, { packType: 6, baseIndex: 0, body: makeDelta(base.length + 1, 5, [0x90, 5]) }]), /base size mismatch/],
    ['delta result over maxObjectSize', buildPack([{ packType: 3, body: base }, { packType: 6, baseIndex: 0, body: makeDelta(base.length, 2 ** 40, [0x90, 5]) }]), /exceeds the limit/],
    ['huge claimed object size', buildPack([{ packType: 3, size: 2 ** 45, body: base }]), /too large/],
    ['claimed size above the streaming threshold that lies', buildPack([{ packType: 3, size: 1_500_000_000, body: base }]), /inflated size 19 differs from the declared 1500000000/],
    ['object inflating to more than its header says', buildPack([{ packType: 3, size: 4, body: base }]), /inflates to more than its declared 4 bytes/],
    ['delta cycle', buildPack([
      { packType: 7, baseOid: 'cd'.repeat(20), body: makeDelta(5, 5, [0x90, 5]) },
      { packType: 7, baseOid: 'ef'.repeat(20), body: makeDelta(5, 5, [0x90, 5]) },
    ]), /delta base .* missing/],
    ['OFS_DELTA base not at an object start', fixTrailer(patch(buildPack([{ packType: 3, body: base }, { packType: 6, baseIndex: 0, body: makeDelta(1, 1, [1, 0x41]) }]), 12 + 2 + deflateSync(base).length + 1, (b) => b - 1)), /delta base offset 13 is not the start of an object/],
  ]
  for (const [what, bytes, message, opts] of cases) {
    for (const chunk of [1 << 16, 3]) {
      if (chunk === 3 && bytes.length > 5000) continue
      const dest = makeBareRepo()
      const err = await indexPack(chunked(bytes, chunk), { packDir: dest.packDir, ...opts }).catch((e: unknown) => e)
      t.type(err, PackError, `${what} (chunks of ${chunk})`)
      t.match((err as Error).message, message, what)
      t.same(listDir(dest.packDir), [], `${what}: nothing left in packDir`)
      dest.cleanup()
    }
  }
})

t.test('an aborted signal stops indexing and cleans up', async (t) => {
  const pack = packAll(repo.path)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const ac = new AbortController()
  async function* input() {
    let n = 0
    for await (const c of chunked(pack, 100)) {
      if (++n === 3) ac.abort(new Error('user hit ^C'))
      yield c
    }
  }
  const err = await indexPack(input(), { packDir: dest.packDir, signal: ac.signal }).catch((e: unknown) => e)
  t.type(err, InterruptedError)
  t.match(err, { code: 'E_INTERRUPTED', retryable: true }, 'an interrupt, not a bad pack')
  t.match((err as Error).message, /aborted/)
  t.same(listDir(dest.packDir), [])
})

/** A resumable pack file in `packDir` holding `bytes`, open as a caller continuing it opens it. */
async function targetWith(packDir: string, bytes: Buffer, have = bytes.length, keepOnFailure = true) {
  const f = await createResumablePackFile(packDir)
  await f.handle.write(bytes, 0, bytes.length, 0)
  return { path: f.path, handle: f.handle, have, keepOnFailure }
}

/** The pieces of `bytes` in chunks of `size`, then `fail` thrown: a connection cut. */
async function* cutAfter(bytes: Buffer, size: number, fail: Error): AsyncGenerator<Buffer> {
  yield* chunked(bytes, size)
  throw fail
}

const mode = (path: string) => statSync(path).mode & 0o777
const umask = process.umask()

t.test('target: the start of the pack is parsed from the file, the rest written after it', async (t) => {
  const pack = packAll(repo.path)
  const expectedIdx = gitIndexPack(pack)
  const mid = Math.floor(pack.length / 2) + 3
  const cases: [string, Buffer, number][] = [
    ['have 0', Buffer.alloc(0), 0],
    ['have 0, stale bytes after it', Buffer.from('stale bytes from a try before'), 0],
    ['have a middle offset', pack.subarray(0, mid), mid],
    ['have a middle offset, stale bytes after it', Buffer.concat([pack.subarray(0, mid), Buffer.alloc(5000, 0)]), mid],
    ['have the whole pack, input empty', pack, pack.length],
  ]
  for (const [what, inFile, have] of cases) {
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const target = await targetWith(dest.packDir, inFile, have)
    const events: ProgressEvent[] = []
    const sink = { progress: (e: ProgressEvent) => events.push(e), remote() {}, warn() {}, info() {} }
    const result = await indexPack(chunked(pack.subarray(have), 4096), { packDir: dest.packDir, target, progress: sink })
    t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.pack`], `${what}: the target became the pack`)
    t.notOk(existsSync(target.path), what)
    t.ok(readFileSync(result.packPath).equals(pack), `${what}: pack bytes`)
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), `${what}: idx bytes identical to git's`)
    t.same(events.filter((e) => e.title === 'Receiving objects').at(-1), { title: 'Receiving objects', current: result.objectCount, total: result.objectCount, bytes: pack.length, done: true }, `${what}: progress counts the whole pack`)
    t.equal(target.handle.fd, -1, `${what}: the handle is closed`)
  }
})

t.test('target with keepOnFailure: a cut input leaves the file, a second try finishes it', async (t) => {
  const pack = packAll(repo.path)
  const expectedIdx = gitIndexPack(pack)
  const uncut = await indexInto(pack, 65536)
  for (const [what, cut, input] of [
    ['the input throws', Math.floor(pack.length * 0.4) + 1, (b: Buffer) => cutAfter(b, 1000, new Error('connection reset'))],
    ['the input ends too soon', Math.floor(pack.length * 0.7), (b: Buffer) => chunked(b, 1000)],
    ['the input throws at once', 0, (b: Buffer) => cutAfter(b, 1000, new Error('connection reset'))],
    ['the input throws inside the trailer', pack.length - 7, (b: Buffer) => cutAfter(b, 1000, new Error('connection reset'))],
  ] as const) {
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const first = await createResumablePackFile(dest.packDir)
    const err = await indexPack(input(pack.subarray(0, cut)), { packDir: dest.packDir, target: { ...first, have: 0, keepOnFailure: true } }).catch((e: unknown) => e)
    t.type(err, Error, what)
    if (what.includes('throws')) t.equal((err as Error).message, 'connection reset', `${what}: the input's error`)
    else t.match((err as Error).message, /truncated/, what)
    t.same(listDir(dest.packDir), [first.path.slice(dest.packDir.length + 1)], `${what}: only the file is left`)
    t.equal(statSync(first.path).size, cut, `${what}: its length is the bytes received`)
    t.equal(mode(first.path), 0o644 & ~umask, `${what}: still writable by its owner`)

    const handle = await open(first.path, 'r+')
    const result = await indexPack(chunked(pack.subarray(cut), 3000), { packDir: dest.packDir, target: { path: first.path, handle, have: cut, keepOnFailure: true } })
    t.equal(result.name, uncut.result.name, what)
    t.ok(readFileSync(result.packPath).equals(pack), `${what}: same .pack as an uncut run`)
    t.ok(readFileSync(result.idxPath).equals(readFileSync(uncut.result.idxPath)), `${what}: same .idx as an uncut run`)
    t.ok(readFileSync(result.idxPath).equals(expectedIdx), `${what}: and as git's`)
    t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.pack`])
  }
})

t.test('target with keepOnFailure: an abort leaves the file with every chunk that came', async (t) => {
  const pack = packAll(repo.path)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const ac = new AbortController()
  let sent = 0
  // As a transport does: the body fails with the abort's reason once the signal fires.
  async function* input() {
    for await (const c of chunked(pack, 1000)) {
      ac.signal.throwIfAborted()
      sent += c.length
      if (sent > pack.length / 2) ac.abort(new Error('user hit ^C'))
      yield c
    }
  }
  const target = await targetWith(dest.packDir, Buffer.alloc(0))
  const err = await indexPack(input(), { packDir: dest.packDir, target, signal: ac.signal }).catch((e: unknown) => e)
  t.type(err, InterruptedError)
  t.match(err, { code: 'E_INTERRUPTED', retryable: true }, 'an interrupt, not a bad pack')
  t.match((err as Error).message, /aborted/)
  t.ok(sent > pack.length / 2 && sent < pack.length, 'cut in the middle')
  t.equal(statSync(target.path).size, sent, 'every byte that came is in the file')
  const handle = await open(target.path, 'r+')
  const result = await indexPack(chunked(pack.subarray(sent), 65536), { packDir: dest.packDir, target: { path: target.path, handle, have: sent, keepOnFailure: true } })
  t.ok(readFileSync(result.idxPath).equals(gitIndexPack(pack)), 'continued to the same pack')
})

t.test('target: what came is in the file while the input stalls (a process killed then leaves it)', async (t) => {
  // Runs of up to 256 KiB are gathered before they are written: they used to wait for
  // the next chunk, so a stalled connection held them in memory only.
  const pack = packAll(repo.path)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const target = await targetWith(dest.packDir, Buffer.alloc(0))
  const half = Math.floor(pack.length / 2)
  let resume: () => void = () => undefined
  const stalled = new Promise<void>((r) => (resume = r))
  async function* input(): AsyncGenerator<Buffer> {
    yield* chunked(pack.subarray(0, half), 1000)
    await stalled
    yield* chunked(pack.subarray(half), 1000)
  }
  t.ok(half < 256 * 1024, '(less than one run: only the wait lets it go)')
  const indexing = indexPack(input(), { packDir: dest.packDir, target })
  // nothing else comes until the file has it (the test times out if it never does)
  while (statSync(target.path).size < half) await new Promise((r) => setTimeout(r, 10))
  t.equal(statSync(target.path).size, half, 'every byte that came is in the file, before any more comes')
  resume()
  const result = await indexing
  t.ok(readFileSync(result.idxPath).equals(gitIndexPack(pack)), 'then the same pack as git indexes')
})

t.test('a reader that stops while the input stalls is not held by it', async (t) => {
  // A bad pack before a stall: the error comes at once, not when (if ever) more arrives.
  const pack = packAll(repo.path)
  const bad = Buffer.concat([pack.subarray(0, 12), Buffer.alloc(64, 0xff)])
  let stopped = false
  async function* input(): AsyncGenerator<Buffer> {
    try {
      yield bad
      await new Promise(() => undefined)
    } finally {
      stopped = true
    }
  }
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const err = await indexPack(input(), { packDir: dest.packDir }).catch((e: unknown) => e)
  t.type(err, PackError)
  t.equal(stopped, false, '(the stalled input is left to end when it can)')
  t.same(listDir(dest.packDir), [], 'nothing left')
})

t.test('target without keepOnFailure: a cut input removes the file', async (t) => {
  const pack = packAll(repo.path)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const target = await targetWith(dest.packDir, pack.subarray(0, 1000), 1000, false)
  const err = await indexPack(cutAfter(pack.subarray(1000, 3000), 500, new Error('connection reset')), { packDir: dest.packDir, target }).catch((e: unknown) => e)
  t.equal((err as Error).message, 'connection reset')
  t.same(listDir(dest.packDir), [])
})

t.test('target with keepOnFailure: an abort while deltas are resolved keeps the whole pack', async (t) => {
  const pack = packAll(repo.path, ['--no-reuse-delta', '--depth=50', '--window=50'])
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const ac = new AbortController()
  const sink = { progress: (e: ProgressEvent) => { if (e.title === 'Resolving deltas') ac.abort(new Error('user hit ^C')) }, remote() {}, warn() {}, info() {} }
  const target = await targetWith(dest.packDir, Buffer.alloc(0))
  const err = await indexPack(chunked(pack, 4096), { packDir: dest.packDir, target, recentBytes: 0, threads: 2, threadsMinDeltas: 0, progress: sink, signal: ac.signal }).catch((e: unknown) => e)
  t.match((err as Error).message, /aborted/)
  t.same(listDir(dest.packDir), [target.path.slice(dest.packDir.length + 1)], 'only the pack file is left')
  t.equal(statSync(target.path).size, pack.length)
  const handle = await open(target.path, 'r+')
  const result = await indexPack(chunked(Buffer.alloc(0), 1), { packDir: dest.packDir, target: { path: target.path, handle, have: pack.length, keepOnFailure: true } })
  t.ok(readFileSync(result.idxPath).equals(gitIndexPack(pack)), 'indexed from the file alone')
})

t.test('target with keepOnFailure: bytes that are not a pack remove the file', async (t) => {
  const pack = packAll(repo.path)
  const flipAt = Math.floor(pack.length / 2)
  const flipped = patch(pack, flipAt, (b) => b ^ 0x55)
  const cases: [string, Buffer, number][] = [
    ['corrupt input', Buffer.alloc(0), 0],
    ['corrupt bytes in the file', flipped.subarray(0, flipAt + 100), flipAt + 100],
    ['a wrong trailer', pack.subarray(0, 1000), 1000],
  ]
  for (const [what, inFile, have] of cases) {
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const target = await targetWith(dest.packDir, inFile, have)
    const rest = what === 'a wrong trailer' ? patch(pack, pack.length - 1, (b) => b ^ 1).subarray(have) : flipped.subarray(have)
    const err = await indexPack(chunked(rest, 4096), { packDir: dest.packDir, target }).catch((e: unknown) => e)
    t.type(err, PackError, what)
    t.same(listDir(dest.packDir), [], `${what}: the file is removed`)
  }
})

t.test('expectedChecksum: another trailer is an error, and the file is removed even with keepOnFailure', async (t) => {
  const pack = packAll(repo.path)
  const sum = pack.subarray(pack.length - 20).toString('hex')
  const wrong = 'f'.repeat(40)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const target = await targetWith(dest.packDir, pack.subarray(0, 500))
  const err = await indexPack(chunked(pack.subarray(500), 4096), { packDir: dest.packDir, target, expectedChecksum: wrong }).catch((e: unknown) => e)
  t.type(err, PackError)
  t.match((err as Error).message, new RegExp(`${sum}.*${wrong}`), 'names both sums')
  t.same(listDir(dest.packDir), [])
  const ok = await indexPack(chunked(pack, 4096), { packDir: dest.packDir, expectedChecksum: sum.toUpperCase() })
  t.equal(ok.checksum, sum, 'the expected one passes, in either case')
})

t.test('defer: nothing in place until install(); discard() removes the temps', async (t) => {
  const pack = packAll(repo.path)
  const expectedIdx = gitIndexPack(pack)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const target = await targetWith(dest.packDir, pack.subarray(0, 3000))
  const result = await indexPack(chunked(pack.subarray(3000), 4096), { packDir: dest.packDir, target, keep: 'clone in progress', defer: true })
  t.same(listDir(dest.packDir).filter((n) => n.startsWith('pack-')), [], 'nothing in place')
  t.equal(result.pending.packPath, target.path)
  t.ok(readFileSync(result.pending.packPath).equals(pack), 'the pack under its temp name')
  t.ok(readFileSync(result.pending.idxPath).equals(expectedIdx), 'the idx under its temp name')
  t.equal(result.keepPath, undefined, 'no .keep yet')
  await result.install()
  t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.keep`, `${result.name}.pack`])
  t.equal(result.keepPath, join(dest.packDir, `${result.name}.keep`))
  t.equal(result.alreadyInstalled, false)
  t.ok(readFileSync(result.idxPath).equals(expectedIdx))
  await result.install()
  await result.discard()
  t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.keep`, `${result.name}.pack`], 'a second install and a discard after it change nothing')
  git(['fsck', '--strict'], { cwd: dest.path })

  const other = makeBareRepo()
  t.teardown(other.cleanup)
  const dropped = await indexPack(chunked(pack, 4096), { packDir: other.packDir, promisor: '', defer: true })
  t.equal(listDir(other.packDir).length, 2, 'two temps')
  await dropped.discard()
  t.same(listDir(other.packDir), [], 'discard removes them')
  await t.rejects(dropped.install(), PackError, 'no install after a discard')
})

t.test('.keep already there is neither reported nor replaced; alreadyInstalled', async (t) => {
  const pack = packAll(repo.path)
  const name = `pack-${pack.subarray(pack.length - 20).toString('hex')}`
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const keep = join(dest.packDir, `${name}.keep`)
  writeFileSync(keep, 'held by another fetch\n')
  const first = await indexPack(chunked(pack, 65536), { packDir: dest.packDir, keep: 'mine', promisor: '' })
  t.equal(first.keepPath, undefined, 'not reported')
  t.equal(first.promisorPath, join(dest.packDir, `${name}.promisor`), 'the .promisor it made is')
  t.equal(first.alreadyInstalled, false)
  t.equal(readFileSync(keep, 'utf8'), 'held by another fetch\n', 'left as it was')

  const installedIdx = readFileSync(first.idxPath)
  const again = await indexPack(chunked(pack, 65536), { packDir: dest.packDir, keep: 'mine', promisor: 'other' })
  t.equal(again.alreadyInstalled, true)
  t.equal(again.keepPath, undefined)
  t.equal(again.promisorPath, undefined)
  t.equal(readFileSync(join(dest.packDir, `${name}.promisor`), 'utf8'), '', '.promisor left as it was')
  t.ok(readFileSync(again.idxPath).equals(installedIdx))
  t.same(listDir(dest.packDir), [`${name}.idx`, `${name}.keep`, `${name}.pack`, `${name}.promisor`], 'no temps left')
})

t.test('installed .pack and .idx are read-only, as git makes them', async (t) => {
  const pack = packAll(repo.path)
  for (const opts of [{}, { target: true }] as const) {
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const result = 'target' in opts
      ? await indexPack(chunked(pack.subarray(100), 4096), { packDir: dest.packDir, target: await targetWith(dest.packDir, pack.subarray(0, 100)) })
      : await indexPack(chunked(pack, 4096), { packDir: dest.packDir })
    t.equal(mode(result.packPath), 0o444 & ~umask, '.pack')
    t.equal(mode(result.idxPath), 0o444 & ~umask, '.idx')
  }
})
