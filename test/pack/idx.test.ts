import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PackError } from '../../lib/errors.js'
import { PackIndex } from '../../lib/pack/idx.js'
import { git, tempDir } from '../fixtures/git.js'
import { gitIndexPack, idxOf, makeHistoryRepo, packAll, syntheticIdxEntries, type IdxEntry } from '../fixtures/packs.js'

t.test('PackIndex reads git index-pack output', async (t) => {
  const repo = makeHistoryRepo(4)
  t.teardown(repo.cleanup)
  const idx = gitIndexPack(packAll(repo.path))
  const dir = tempDir()
  t.teardown(dir.cleanup)
  writeFileSync(join(dir.path, 'x.idx'), idx)
  const pi = await PackIndex.open(join(dir.path, 'x.idx'))
  const shown = git(['show-index'], { input: idx }).stdout.trim().split('\n')
  t.equal(pi.count, shown.length)
  for (const line of shown) {
    const [off, oid, crc] = line.split(' ') as [string, string, string]
    t.equal(pi.find(oid), Number(off))
    t.equal(pi.crc32Of(oid), parseInt(crc.slice(1, -1), 16))
  }
  t.ok(idxOf([...pi.entries()].map((e) => ({ oid: Buffer.from(e.oid, 'hex'), offset: e.offset, crc32: e.crc32 })), pi.packChecksum).equals(idx), 'round trip is byte-identical')

  // Lookups: every id as hex, upper-case hex and bytes; its neighbours (one bit off in
  // the first, middle and last word) are absent; malformed ids match nothing.
  const present = new Set(shown.map((l) => l.split(' ')[1] as string))
  const flip = (hex: string, at: number): string => hex.slice(0, at) + ((parseInt(hex[at] as string, 16) ^ 1).toString(16)) + hex.slice(at + 1)
  for (const oid of present) {
    t.equal(pi.has(oid.toUpperCase()), true, `upper-case ${oid}`)
    t.equal(pi.has(Buffer.from(oid, 'hex')), true)
    for (const at of [0, 7, 8, 20, 39]) {
      const near = flip(oid, at)
      t.equal(pi.has(near), present.has(near), `${near} (${oid} with digit ${at} changed)`)
    }
  }
  const some = [...present][0] as string
  for (const bad of [some.slice(0, 39), `${some}0`, `${some.slice(0, 39)}g`, `${some.slice(0, 20)}-${some.slice(21)}`, ''])
    t.equal(pi.find(bad), undefined, `malformed '${bad}'`)
  t.equal(pi.has(Buffer.from(some, 'hex').subarray(0, 19)), false, '19 bytes')
})

t.test('corrupt indexes: the header and the table sizes are checked on open, the rest by verify() (as git leaves it to fsck)', async (t) => {
  const good = idxOf(syntheticIdxEntries(), randomBytes(20))
  const resum = (b: Buffer) => {
    const body = b.subarray(0, b.length - 20)
    return Buffer.concat([body, createHash('sha1').update(body).digest()])
  }
  const mutate = (f: (b: Buffer) => void) => {
    const b = Buffer.from(good)
    f(b)
    return resum(b)
  }
  const onOpen: [string, Buffer, RegExp][] = [
    ['too short', good.subarray(0, 100), /too short/],
    ['bad magic', mutate((b) => { b[0] = 0 }), /bad magic/],
    ['version 3', mutate((b) => b.writeUInt32BE(3, 4)), /version 3/],
    ['fan-out not monotonic', mutate((b) => b.writeUInt32BE(1000, 8 + 4 * 10)), /not monotonic/],
    ['count larger than the file', mutate((b) => { for (let i = 0; i < 256; i++) b.writeUInt32BE(Math.max(b.readUInt32BE(8 + 4 * i), i === 255 ? 9 : 0), 8 + 4 * i) }), /too short|does not match/],
  ]
  for (const [what, buf, re] of onOpen) {
    t.throws(() => PackIndex.fromBuffer(buf), PackError, what)
    try { PackIndex.fromBuffer(buf) } catch (e) { t.match((e as Error).message, re, what) }
  }
  t.doesNotThrow(() => PackIndex.fromBuffer(good).verify(), 'a good index verifies')
  // syntheticIdxEntries' 7 objects: 4 of their offsets need the 8-byte table; point those one past its end.
  const offsetsAt = 1032 + 7 * 24
  const badLarge = mutate((b) => { for (let i = 0; i < 7; i++) if (b.readUInt32BE(offsetsAt + 4 * i) & 0x80000000) b.writeUInt32BE(0x80000009, offsetsAt + 4 * i) })
  const byVerify: [string, Buffer, RegExp][] = [
    ['trailer checksum wrong', Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1]! ^ 1])]), /checksum mismatch/],
    ['names unsorted', mutate((b) => { const a = Buffer.from(b.subarray(1032, 1052)); b.copy(b, 1032, 1052, 1072); a.copy(b, 1052) }), /not sorted|fan-out/],
    ['large offset index out of range', badLarge, /large offset/],
  ]
  for (const [what, buf, re] of byVerify) {
    const idx = PackIndex.fromBuffer(buf)
    t.throws(() => idx.verify(), PackError, what)
    try { idx.verify() } catch (e) { t.match((e as Error).message, re, what) }
  }
  // Unverified, the damaged index still answers within its bounds.
  const large = PackIndex.fromBuffer(badLarge)
  const hit = [...Array(large.count).keys()].find((i) => (badLarge.readUInt32BE(offsetsAt + 4 * i) & 0x80000000) !== 0)
  t.ok(hit !== undefined, 'the table has a large offset')
  t.throws(() => large.offsetAt(hit as number), { name: 'PackError', message: /large offset index out of range/ })
})

t.test('a large index on disk: read a fan-out bucket at a time, as lookups need them', async (t) => {
  // 20,000 ids (560 KB of index, above what is read whole on open), some offsets large.
  const entries: IdxEntry[] = Array.from({ length: 20000 }, (_, i) => ({
    oid: createHash('sha1').update(`lazy ${i}`).digest(),
    offset: i % 1000 === 0 ? 2 ** 32 + i : 12 + i * 100,
    crc32: (i * 2654435761) >>> 0,
  }))
  const sorted = [...entries].sort((a, b) => a.oid.compare(b.oid))
  const bytes = idxOf(entries, randomBytes(20))
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const path = join(dir.path, 'big.idx')
  writeFileSync(path, bytes)

  const idx = await PackIndex.open(path)
  t.teardown(() => idx.close())
  t.equal(idx.count, 20000)
  for (const e of entries) {
    if (idx.find(e.oid) !== e.offset) {
      t.fail(`find ${e.oid.toString('hex')}`)
      break
    }
  }
  t.pass('every id found at its offset')
  t.equal(idx.find(createHash('sha1').update('absent').digest()), undefined)
  t.same([...idx.oids()], sorted.map((e) => e.oid.toString('hex')), 'ids in order')
  const some = sorted[12345] as IdxEntry
  t.equal(idx.crc32Of(some.oid), some.crc32)
  t.equal(idx.oidAt(12345), some.oid.toString('hex'))
  t.equal(idx.offsetAt(12345), some.offset)
  // One hex digit spans sixteen buckets.
  const hex = some.oid.toString('hex')
  t.same(idx.matchPrefix(hex.slice(0, 6), 5), sorted.filter((e) => e.oid.toString('hex').startsWith(hex.slice(0, 6))).slice(0, 5).map((e) => e.oid.toString('hex')))
  t.same(idx.matchPrefix('a', 3), sorted.filter((e) => e.oid[0]! >> 4 === 0xa).slice(0, 3).map((e) => e.oid.toString('hex')))
  t.doesNotThrow(() => idx.verify())

  // Opening read no bucket: one changed on disk afterwards is read as it is now.
  const inBucket = (b: number) => sorted.filter((e) => e.oid[0] === b)
  const lazy = await PackIndex.open(path)
  t.teardown(() => lazy.close())
  const early = inBucket(0x10)[0] as IdxEntry
  t.equal(lazy.find(early.oid), early.offset, 'bucket 0x10 read')
  const late = inBucket(0x80)[0] as IdxEntry
  const at = 8 + 1024 + sorted.indexOf(late) * 20
  const changed = Buffer.from(bytes)
  changed[at + 19] = changed[at + 19]! ^ 0xff
  writeFileSync(path, changed)
  t.equal(lazy.find(late.oid), undefined, 'bucket 0x80 was read after the change')
  t.equal(lazy.find(early.oid), early.offset, 'bucket 0x10 is kept')
  t.match(lazy.problem(), /checksum mismatch/, 'verify reads the whole file')
})
