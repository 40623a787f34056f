import t from 'tap'
import { chmodSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { join } from 'node:path'
import { MissingObjectError, PackError } from '../../lib/errors.js'
import type { GitObject } from '../../lib/oid.js'
import { indexPack } from '../../lib/pack/indexer.js'
import { hashObject } from '../../lib/pack/format.js'
import { PackFile } from '../../lib/pack/reader.js'
import { git, tempDir } from '../fixtures/git.js'
import { buildPack, chunked, gitIndexPack, idxOf, makeBareRepo, makeHistoryRepo, packAll } from '../fixtures/packs.js'

const repo = makeHistoryRepo(10)
t.teardown(repo.cleanup)

/** Every object of `oids` as `git cat-file --batch` prints it. */
function catFileAll(oids: string[]): Map<string, GitObject> {
  const out = git(['cat-file', '--batch'], { cwd: repo.path, input: oids.join('\n') + '\n' }).stdoutBuffer
  const map = new Map<string, GitObject>()
  let pos = 0
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos)
    const [oid, type, size] = out.toString('latin1', pos, nl).split(' ') as [string, GitObject['type'], string]
    const start = nl + 1
    map.set(oid, { type, data: out.subarray(start, start + Number(size)) })
    pos = start + Number(size) + 1
  }
  return map
}

const allOids = git(['rev-list', '--objects', '--all'], { cwd: repo.path }).stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 40))
const expected = catFileAll(allOids)

function writePack(pack: Buffer): string {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const p = join(dir.path, 'pack-test.pack')
  writeFileSync(p, pack)
  writeFileSync(join(dir.path, 'pack-test.idx'), gitIndexPack(pack))
  return p
}

/**
 * Overwrites the file's bytes with zeros in place (a reader's open handle sees the
 * zeros): whatever reads right afterwards did not come from the file. That is how a
 * test sees a pack held whole in memory.
 */
function zeroFile(path: string): void {
  writeFileSync(path, Buffer.alloc(statSync(path).size))
}

/** How many of `oids` read as git has them (a read that throws counts as wrong). */
async function readRight(pf: PackFile, oids: string[]): Promise<number> {
  let right = 0
  for (const oid of oids) {
    const obj = await pf.read(oid).catch(() => undefined)
    if (obj?.data.equals((expected.get(oid) as GitObject).data) === true) right++
  }
  return right
}

for (const [name, flags] of [['OFS_DELTA', []], ['REF_DELTA', ['--no-delta-base-offset']], ['deep chains', ['--no-reuse-delta', '--depth=100', '--window=100']]] as const) {
  for (const [cacheBytes, wholePackBytes] of [[32 << 20, undefined], [0, undefined], [32 << 20, 0]] as const) {
    const how = wholePackBytes === 0 ? 'read entry by entry' : 'read whole'
    t.test(`${name}, cache ${cacheBytes}, ${how}: every object equals git cat-file`, async (t) => {
      const path = writePack(packAll(repo.path, [...flags]))
      const pf = await PackFile.open(path, { cacheBytes, wholePackBytes, wholeAfterReads: 0 })
      t.teardown(() => pf.close())
      t.equal(pf.count, allOids.length)
      for (const oid of allOids) {
        t.ok(pf.has(oid))
        const obj = await pf.read(oid)
        const want = expected.get(oid) as GitObject
        t.equal(obj?.type, want.type, `${oid} type`)
        t.ok(obj?.data.equals(want.data), `${oid} data`)
      }
      // Reading again (served partly from the cache) and concurrently gives the same answers.
      const again = await Promise.all(allOids.map((oid) => pf.read(oid)))
      t.ok(again.every((o, i) => o?.data.equals((expected.get(allOids[i] as string) as GitObject).data)))
      t.equal(await pf.read('00'.repeat(20)), undefined)
      t.notOk(pf.has('00'.repeat(20)))
      zeroFile(path)
      const right = await readRight(pf, allOids)
      // (read entry by entry, only what the cache holds still reads right)
      t.equal(right === allOids.length, wholePackBytes !== 0, wholePackBytes === 0 ? `not held whole: ${right} of ${allOids.length} read right from a zeroed file` : 'held whole: every object reads right from memory')
    })
  }
}

t.test('thin pack on disk: bases from outside through resolveExternal', async (t) => {
  const thin = git(['pack-objects', '--thin', '--stdout', '--no-delta-base-offset', '--revs'], { cwd: repo.path, input: 'HEAD\n^HEAD~1\n' }).stdoutBuffer
  const external = async (oid: string): Promise<GitObject | undefined> => expected.get(oid)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const result = await indexPack(chunked(thin, 1000), { packDir: dest.packDir, resolveExternal: external })
  // index-pack appends the bases (fix-thin.ts): the pack it wrote needs nothing outside it.
  const fixed = await PackFile.open(result.packPath)
  t.teardown(() => fixed.close())
  for (const o of result.objects()) t.ok((await fixed.read(o.oid))?.data.equals((expected.get(o.oid) as GitObject).data), `${o.oid} from the pack index-pack wrote`)
  // A thin pack on disk (as another tool may leave one): the received pack, with an .idx of its entries alone.
  const received = [...result.objects()].filter((o) => o.offset < thin.length - 20)
  const thinPath = join(dest.path, 'pack-thin.pack')
  writeFileSync(thinPath, thin)
  writeFileSync(join(dest.path, 'pack-thin.idx'), idxOf(received.map((o) => ({ oid: Buffer.from(o.oid, 'hex'), offset: o.offset, crc32: o.crc32 })), thin.subarray(-20)))
  const withExt = await PackFile.open(thinPath, { resolveExternal: external })
  t.teardown(() => withExt.close())
  for (const o of received) {
    const obj = await withExt.read(o.oid)
    t.ok(obj?.data.equals((expected.get(o.oid) as GitObject).data), o.oid)
  }
  const without = await PackFile.open(thinPath)
  t.teardown(() => without.close())
  const errors = await Promise.all(received.map((o) => without.read(o.oid).then(() => undefined, (e: unknown) => e)))
  const missing = errors.filter((e) => e !== undefined)
  t.ok(missing.length > 0, 'some objects need an external base')
  t.ok(missing.every((e) => e instanceof MissingObjectError && /delta base [0-9a-f]{40} missing/.test(e.message)))
})

/** A valid zlib stream of `data` padded with `empty` empty stored blocks: far longer than deflate would make it. */
function paddedZlib(data: Buffer, empty: number): Buffer {
  const adler = (buf: Buffer): number => {
    let a = 1
    let b = 0
    for (const x of buf) {
      a = (a + x) % 65521
      b = (b + a) % 65521
    }
    return ((b << 16) | a) >>> 0
  }
  const parts: Buffer[] = [Buffer.from([0x78, 0x01])]
  // An empty non-final stored block: BFINAL 0, BTYPE 00, LEN 0, NLEN 0xffff.
  for (let i = 0; i < empty; i++) parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]))
  const last = Buffer.from([0x01, data.length & 0xff, data.length >> 8, ~data.length & 0xff, (~data.length >> 8) & 0xff])
  const tail = Buffer.alloc(4)
  tail.writeUInt32BE(adler(data))
  parts.push(last, Buffer.from(data), tail)
  return Buffer.concat(parts)
}

t.test('entries are read without knowing where they end: big ones, and zlib streams longer than any deflate makes', async (t) => {
  const small = Buffer.from('hello\n')
  const medium = Buffer.from('medium object '.repeat(40))
  const big = randomBytes(100 * 1024)
  const entries = [
    { packType: 3, body: small, zdata: paddedZlib(small, 2000) }, // 10 KB of stream for 6 bytes: two re-reads
    { packType: 3, body: medium, zdata: paddedZlib(medium, 30) },
    { packType: 3, body: big }, // incompressible: all of deflate's worst case
    { packType: 3, body: randomBytes(5 * 1024 * 1024 + 7) }, // large: inflated a chunk at a time
    { packType: 3, body: Buffer.alloc(6 * 1024 * 1024, 'large and compressible ') },
    { packType: 3, body: Buffer.from('last\n'), zdata: deflateSync(Buffer.from('last\n')) },
  ]
  const packPath = writePack(buildPack(entries))
  const ids = entries.map((e) => git(['hash-object', '--stdin'], { input: e.body }).stdout.trim())
  for (const wholePackBytes of [0, undefined]) {
    const pf = await PackFile.open(packPath, { wholePackBytes, cacheBytes: 0, wholeAfterReads: 0 })
    for (const [i, e] of entries.entries()) {
      const obj = await pf.read(ids[i] as string)
      t.equal(obj?.type, 'blob')
      t.ok(obj?.data.equals(e.body), `object ${i}, ${wholePackBytes === 0 ? 'entry by entry' : 'read whole'}`)
    }
    await pf.close()
  }
})

t.test('a damaged large entry (inflated a chunk at a time) is a PackError naming the pack', async (t) => {
  const body = randomBytes(5 * 1024 * 1024)
  const pack = buildPack([{ packType: 3, body }])
  const id = git(['hash-object', '--stdin'], { input: body }).stdout.trim()
  const packPath = writePack(pack)
  const pf = await PackFile.open(packPath, { wholePackBytes: 0, cacheBytes: 0 })
  t.ok((await pf.read(id))?.data.equals(body), 'intact, it reads')
  await pf.close()
  const damaged = Buffer.from(readFileSync(packPath))
  const mid = Math.floor(damaged.length / 2)
  damaged[mid] = (damaged[mid] as number) ^ 0xff
  chmodSync(packPath, 0o644)
  writeFileSync(packPath, damaged)
  const bad = await PackFile.open(packPath, { wholePackBytes: 0, cacheBytes: 0 })
  await t.rejects(bad.read(id), { name: 'PackError', message: /bad object at offset 12: incorrect data check/ })
  await bad.close()
})

t.test('a damaged index offset is an error naming the pack, not a read outside it', async (t) => {
  const packPath = writePack(packAll(repo.path))
  const idxPath = packPath.replace(/\.pack$/, '.idx')
  const idx = gitIndexPack(packAll(repo.path))
  // The first object's 32-bit offset, pointed past the end of the pack.
  const n = idx.readUInt32BE(8 + 255 * 4)
  idx.writeUInt32BE(0x7fffff00, 8 + 1024 + n * 24)
  writeFileSync(idxPath, idx)
  const pf = await PackFile.open(packPath, { wholePackBytes: 0 })
  const first = idx.toString('hex', 8 + 1024, 8 + 1024 + 20)
  await t.rejects(pf.read(first), { name: 'PackError', message: /object offset 2147483392 is outside the pack/ })
  await pf.close()
})

t.test('open refuses a pack that does not match its index', async (t) => {
  const a = writePack(packAll(repo.path))
  const other = makeHistoryRepo(2)
  t.teardown(other.cleanup)
  const b = writePack(packAll(other.path))
  copyFileSync(b.replace(/\.pack$/, '.idx'), a.replace(/\.pack$/, '.idx'))
  await t.rejects(PackFile.open(a), PackError)
  await t.rejects(PackFile.open(a.replace(/\.pack$/, '.nope')), PackError)
  writeFileSync(b, Buffer.concat([Buffer.from('PACK\0\0\0\x09'), Buffer.alloc(40)]))
  await t.rejects(PackFile.open(b), /version 9 unsupported/)
})

t.test('a pack is read whole only once many of its entries have been read one by one', async (t) => {
  t.ok(allOids.length > 12, `${allOids.length} objects`)
  // The first objects are commits, one entry each: n reads are n entries read.
  const first = allOids.slice(0, 9)
  t.ok(first.every((oid) => expected.get(oid)?.type === 'commit'), 'the first nine objects are commits')
  for (const reads of [8, 9]) {
    const path = writePack(packAll(repo.path, []))
    const pf = await PackFile.open(path, { cacheBytes: 0, wholeAfterReads: 8 })
    t.teardown(() => pf.close())
    t.equal(await readRight(pf, first.slice(0, reads)), reads, `${reads} reads`)
    zeroFile(path)
    const right = await readRight(pf, allOids)
    if (reads === 8) t.equal(right, 0, 'eight reads: still read entry by entry (nothing reads right from the zeroed file)')
    else t.equal(right, allOids.length, 'the ninth read took the pack whole: everything reads right from memory')
  }
})

t.test('packs held whole share a budget; closing one gives its share back', async (t) => {
  // One stored blob of 33 MiB: two such packs are over the 64 MiB all packs may hold.
  const blob = Buffer.alloc(33 << 20, 'x')
  const oid = hashObject('blob', blob).toString('hex')
  const pack = buildPack([{ packType: 3, body: blob, zdata: deflateSync(blob, { level: 0 }) }])
  const a = writePack(pack)
  const b = writePack(pack)
  const options = { cacheBytes: 0, wholeAfterReads: 0, wholePackBytes: 48 << 20 }
  const readsRight = async (pf: PackFile) => (await pf.read(oid).catch(() => undefined))?.data.equals(blob) === true
  const first = await PackFile.open(a, options)
  t.ok(await readsRight(first), 'the first pack reads')
  const second = await PackFile.open(b, options)
  t.ok(await readsRight(second), 'the second pack reads')
  zeroFile(a)
  zeroFile(b)
  t.ok(await readsRight(first), 'the first is held whole')
  t.notOk(await readsRight(second), 'the second is not: the budget is spent')
  await first.close()
  await second.close()
  writeFileSync(b, pack)
  const again = await PackFile.open(b, options)
  t.teardown(() => again.close())
  t.ok(await readsRight(again), 'a third reads')
  zeroFile(b)
  t.ok(await readsRight(again), 'with the first closed, a pack of its size is held whole again')
})
