import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { PackIndex } from '../../lib/pack/idx.js'
import { writeIdxV2Columns } from '../../lib/pack/idx-write.js'
import { git } from '../fixtures/git.js'
import { idxOf, syntheticIdxEntries, type IdxEntry } from '../fixtures/packs.js'

t.test('large offsets: git show-index reads what we wrote', async (t) => {
  const entries = syntheticIdxEntries()
  const packSum = randomBytes(20)
  const idx = idxOf(entries, packSum)
  const out = git(['show-index'], { input: idx }).stdout
  const lines = out.trim().split('\n')
  const expected = [...entries]
    .sort((a, b) => a.oid.compare(b.oid))
    .map((e) => `${e.offset} ${e.oid.toString('hex')} (${e.crc32.toString(16).padStart(8, '0')})`)
  t.same(lines, expected)
  // Three offsets are < 2^31, four need the 8-byte table.
  t.equal(idx.length, 8 + 1024 + 7 * 28 + 4 * 8 + 40)
  const read = PackIndex.fromBuffer(idx)
  t.equal(read.count, 7)
  t.ok(read.packChecksum.equals(packSum))
  for (const e of entries) {
    t.equal(read.find(e.oid), e.offset)
    t.equal(read.find(e.oid.toString('hex')), e.offset)
    t.equal(read.crc32Of(e.oid), e.crc32)
  }
  t.equal(read.find('00'.repeat(20)), undefined)
  t.equal(read.find('ff'.repeat(20)), undefined)
  t.equal(read.find('abc'), undefined)
  t.same([...read.entries()].map((e) => e.offset).sort((a, b) => a - b), entries.map((e) => e.offset).sort((a, b) => a - b))
})

t.test('ids sharing their first bytes, and the same id twice, are ordered as git show-index orders them', async (t) => {
  // 40 ids in one two-byte bucket (a comparator sort), 10 in another (insertion sort),
  // one id at two offsets, and ids on their own; given in a scrambled order.
  const id = (prefix: string, i: number): Buffer => Buffer.concat([Buffer.from(prefix, 'hex'), createHash('sha1').update(`${prefix} ${i}`).digest().subarray(prefix.length / 2)])
  const oids = [
    ...Array.from({ length: 40 }, (_, i) => id('abcd', i)),
    ...Array.from({ length: 10 }, (_, i) => id('0001', i)),
    ...Array.from({ length: 30 }, (_, i) => id('', i)),
  ]
  const dup = id('abcd', 7)
  const entries: IdxEntry[] = oids.map((oid, i) => ({ oid, offset: 12 + 1000 * ((i * 37) % oids.length), crc32: i }))
  entries.push({ oid: dup, offset: 5, crc32: 999 })
  const idx = idxOf(entries, randomBytes(20))
  const shown = git(['show-index'], { input: idx }).stdout.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '))
  const expected = [...entries].sort((a, b) => a.oid.compare(b.oid) || a.offset - b.offset).map((e) => `${e.offset} ${e.oid.toString('hex')}`)
  t.same(shown, expected)
  t.equal(shown.filter((l) => l.endsWith(dup.toString('hex'))).length, 2, 'both copies of the duplicate')
  const read = PackIndex.fromBuffer(idx)
  for (const e of entries) if (!e.oid.equals(dup)) t.equal(read.find(e.oid), e.offset)
})

t.test('thousands of ids (buckets of more than one byte), given as columns whose ids are not word-aligned', async (t) => {
  const n = 5000
  const ids: Buffer[] = Array.from({ length: n }, (_, i) => createHash('sha1').update(`id ${i}`).digest())
  ids[4999] = ids[17] as Buffer // the same id twice, at two offsets
  const backing = Buffer.alloc(n * 20 + 3)
  const oids = backing.subarray(3)
  ids.forEach((id, i) => id.copy(oids, i * 20))
  const offsets = Float64Array.from({ length: n }, (_, i) => 12 + 97 * ((i * 7919) % n) + (i === 4999 ? 2 ** 32 : 0))
  const crcs = Uint32Array.from({ length: n }, (_, i) => (i * 0x9e3779b1) >>> 0)
  const packSum = randomBytes(20)
  const idx = writeIdxV2Columns({ count: n, oids, offsets, crcs }, packSum)
  const shown = git(['show-index'], { input: idx }).stdout.trim().split('\n')
  const expected = ids
    .map((oid, i) => ({ oid, offset: offsets[i] as number, crc: crcs[i] as number }))
    .sort((a, b) => a.oid.compare(b.oid) || a.offset - b.offset)
    .map((e) => `${e.offset} ${e.oid.toString('hex')} (${e.crc.toString(16).padStart(8, '0')})`)
  t.same(shown, expected, 'git show-index lists every id, in order, with its offset and CRC')
  t.ok(idx.equals(idxOf(ids.map((oid, i) => ({ oid, offset: offsets[i] as number, crc32: crcs[i] as number })), packSum)), 'the same bytes as from word-aligned ids')
})
