import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { PackError } from '../../lib/errors.js'
import type { ProgressEvent } from '../../lib/events.js'
import { indexPack, type IndexPackOptions } from '../../lib/pack/indexer.js'
import { git } from '../fixtures/git.js'
import {
  buildPack, chunked, fixTrailer, gitIndexPack, listDir, makeBareRepo, makeDelta, makeFarBaseRepo, makeHistoryRepo, packAll,
} from '../fixtures/packs.js'

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
  t.type(err, PackError)
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
  t.match((err as Error).message, /^delta base [0-9a-f]{40} missing$/)
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
  t.same(new Set([...result.objects()].map((o) => o.oid)), expected)
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
  t.type(err, PackError)
  t.match((err as Error).message, /aborted/)
  t.same(listDir(dest.packDir), [])
})
