import t, { type Test } from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { IndexPackResult } from '../../lib/pack/finish.js'
import { salvagePack, type SalvageOptions } from '../../lib/pack/salvage.js'
import { git } from '../fixtures/git.js'
import { gitIndexPack, listDir, makeBareRepo, makeHistoryRepo, packAll } from '../fixtures/packs.js'

interface Entry {
  oid: string
  offset: number
  /** Offset just past the entry: the next one's, or the trailer's. */
  end: number
}

/** The entries of `pack` in pack order, as git index-pack and show-index see them. */
function entriesOf(pack: Buffer, cwd: string): Entry[] {
  const rows = showIndex(gitIndexPack(pack), cwd)
  return rows.map((r, i) => ({ ...r, end: rows[i + 1]?.offset ?? pack.length - 20 }))
}

function showIndex(idx: Buffer, cwd: string): { oid: string; offset: number }[] {
  return git(['show-index'], { cwd, input: idx }).stdout.split('\n').filter(Boolean).map((line) => {
    const [offset, oid] = line.split(' ')
    return { oid: oid as string, offset: Number(offset) }
  }).sort((a, b) => a.offset - b.offset)
}

/** Pseudo-random bytes, the same on every run. */
function noise(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

/** The number of whole entries in the first `length` bytes of the pack. */
function wholeIn(entries: Entry[], length: number): number {
  let k = 0
  while (k < entries.length && (entries[k] as Entry).end <= length) k++
  return k
}

/**
 * Salvages `bytes` written to a temp file of a fresh repository and checks that the
 * pack made of it is the first `k` entries of `pack`, as git index-pack and
 * verify-pack see it. Returns the result for more checks.
 */
async function salvageAndCheck(t: Test, what: string, pack: Buffer, entries: Entry[], bytes: Buffer, k: number, options: Partial<SalvageOptions> = {}, mode = 0o644): Promise<IndexPackResult | undefined> {
  const dest = makeBareRepo()
  try {
    const path = join(dest.packDir, 'tmp_pack_cut')
    writeFileSync(path, bytes, { mode })
    const salvaged = await salvagePack(path, { packDir: dest.packDir, ...options })
    t.equal(salvaged.objects, k, `${what}: ${k} whole entries kept`)
    if (k === 0) {
      t.equal(salvaged.result, undefined, `${what}: nothing`)
      t.same(listDir(dest.packDir), [], `${what}: the file is removed`)
      t.equal(salvaged.droppedBytes, bytes.length, what)
      return undefined
    }
    const result = salvaged.result as IndexPackResult
    t.notOk(existsSync(path), `${what}: the file became the pack`)
    t.same(listDir(dest.packDir), [`${result.name}.idx`, `${result.name}.pack`], what)
    const end = (entries[k - 1] as Entry).end
    const out = readFileSync(result.packPath)
    t.equal(out.length, end + 20, `${what}: cut after entry ${k - 1}, a trailer after it`)
    t.equal(out.readUInt32BE(8), k, `${what}: header count`)
    t.ok(out.subarray(12, end).equals(pack.subarray(12, end)), `${what}: the entries as they were`)
    t.equal(salvaged.droppedBytes, out.equals(bytes) ? 0 : bytes.length - end, `${what}: droppedBytes`)
    t.ok(readFileSync(result.idxPath).equals(gitIndexPack(out)), `${what}: .idx identical to git index-pack's`)
    git(['verify-pack', '-v', result.idxPath], { cwd: dest.path })
    t.same(showIndex(readFileSync(result.idxPath), dest.path), entries.slice(0, k).map(({ oid, offset }) => ({ oid, offset })), `${what}: exactly the first ${k} objects`)
    t.equal(result.objectCount, k)
    t.equal(statSync(result.packPath).mode & 0o777, 0o444 & ~process.umask(), `${what}: installed read-only`)
    return result
  } finally {
    dest.cleanup()
  }
}

/** Inflated size and whether it is a delta, by offset, as git verify-pack -v says. */
function verifyPack(pack: Buffer): Map<number, number> {
  const dest = makeBareRepo()
  try {
    const p = join(dest.packDir, 'x.pack')
    writeFileSync(p, pack)
    git(['index-pack', p])
    const sizes = new Map<number, number>()
    for (const line of git(['verify-pack', '-v', join(dest.packDir, 'x.idx')]).stdout.split('\n')) {
      const m = /^[0-9a-f]{40} \w+\s+(\d+) \d+ (\d+)/.exec(line)
      if (m) sizes.set(Number(m[2]), Number(m[1]))
    }
    return sizes
  } finally {
    dest.cleanup()
  }
}

const repo = makeHistoryRepo(20)
t.teardown(repo.cleanup)
const pack = packAll(repo.path, ['--no-reuse-delta', '--depth=50', '--window=50'])
const entries = entriesOf(pack, repo.path)

t.test('the fixture pack has commits, trees, blobs, a tag and many deltas', async (t) => {
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const p = join(dest.packDir, 'x.pack')
  writeFileSync(p, pack)
  git(['index-pack', p])
  const out = git(['verify-pack', '-v', join(dest.packDir, 'x.idx')]).stdout
  for (const type of ['commit', 'tree', 'blob', 'tag']) t.match(out, new RegExp(`^[0-9a-f]{40} ${type} `, 'm'), type)
  const deltas = out.split('\n').filter((l) => /^[0-9a-f]{40} \w+\s+\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length
  t.ok(deltas > 30, `${deltas} deltas`)
})

t.test('a complete pack salvages to itself', async (t) => {
  const result = await salvageAndCheck(t, 'complete', pack, entries, pack, entries.length)
  t.equal(result?.checksum, pack.subarray(pack.length - 20).toString('hex'))
})

t.test('cut at every entry boundary', async (t) => {
  for (let k = 0; k <= entries.length; k++) {
    const at = k === 0 ? 12 : (entries[k - 1] as Entry).end
    await salvageAndCheck(t, `cut at ${at}`, pack, entries, pack.subarray(0, at), k)
  }
})

t.test('cut a byte either side of boundaries, in the header and in the trailer', async (t) => {
  const cuts = [0, 1, 5, 11, 12, 13, pack.length - 21, pack.length - 19, pack.length - 1]
  for (const k of [1, 2, 3, Math.floor(entries.length / 2), entries.length - 1]) {
    const at = (entries[k] as Entry).offset
    cuts.push(at - 1, at + 1, at + 2)
  }
  for (const at of cuts) await salvageAndCheck(t, `cut at ${at}`, pack, entries, pack.subarray(0, at), wholeIn(entries, at))
})

t.test('cut at random offsets', async (t) => {
  let x = 20240611
  for (let n = 0; n < 25; n++) {
    x = (x * 1103515245 + 12345) >>> 0
    const at = x % pack.length
    await salvageAndCheck(t, `cut at ${at}`, pack, entries, pack.subarray(0, at), wholeIn(entries, at))
  }
})

t.test('a tail of zeros or of garbage after the cut (power loss)', async (t) => {
  const mid = entries[Math.floor(entries.length / 2)] as Entry
  const cuts = [12, (entries[3] as Entry).offset, mid.offset, mid.offset + 7, mid.end - 1, pack.length - 20, pack.length - 3, pack.length]
  for (const at of cuts) {
    const k = wholeIn(entries, at)
    await salvageAndCheck(t, `cut at ${at}, 4096 zeros`, pack, entries, Buffer.concat([pack.subarray(0, at), Buffer.alloc(4096)]), k)
    await salvageAndCheck(t, `cut at ${at}, 4096 bytes of garbage`, pack, entries, Buffer.concat([pack.subarray(0, at), noise(4096, at)]), k)
  }
})

t.test('an entry larger than the streaming threshold, cut in and around it', async (t) => {
  const big = makeHistoryRepo(3, 300_000)
  t.teardown(big.cleanup)
  const bigPack = packAll(big.path)
  const bigEntries = entriesOf(bigPack, big.path)
  const sizes = verifyPack(bigPack)
  const largest = bigEntries.find((e) => (sizes.get(e.offset) ?? 0) === 300_000) as Entry
  t.ok(largest, 'the large entry')
  const cuts = [largest.offset, largest.offset + 1, largest.offset + 5, largest.offset + 100_000, largest.end - 1, largest.end, largest.end + 1, bigPack.length]
  for (const at of cuts) {
    for (const streamingThreshold of [100_000, 0]) {
      await salvageAndCheck(t, `cut at ${at}, streaming above ${streamingThreshold}`, bigPack, bigEntries, bigPack.subarray(0, at), wholeIn(bigEntries, at), { streamingThreshold })
    }
  }
})

t.test('a cut pack is kept only up to its first REF_DELTA; a complete one whole', async (t) => {
  const refPack = packAll(repo.path, ['--no-delta-base-offset'])
  const refEntries = entriesOf(refPack, repo.path)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const p = join(dest.packDir, 'x.pack')
  writeFileSync(p, refPack)
  git(['index-pack', p])
  const deltaOffsets = git(['verify-pack', '-v', join(dest.packDir, 'x.idx')]).stdout.split('\n')
    .map((l) => /^[0-9a-f]{40} \w+\s+\d+ \d+ (\d+) \d+ [0-9a-f]{40}$/.exec(l)).filter((m) => m !== null).map((m) => Number(m[1]))
  const firstRef = refEntries.findIndex((e) => e.offset === Math.min(...deltaOffsets))
  t.ok(firstRef > 0 && firstRef < refEntries.length - 1, `the first REF_DELTA is entry ${firstRef}`)
  await salvageAndCheck(t, 'REF_DELTA, no trailer', refPack, refEntries, refPack.subarray(0, refPack.length - 20), firstRef)
  await salvageAndCheck(t, 'REF_DELTA, cut after it', refPack, refEntries, refPack.subarray(0, (refEntries[firstRef] as Entry).end + 3), firstRef)
  await salvageAndCheck(t, 'REF_DELTA, complete', refPack, refEntries, refPack, refEntries.length)
  await salvageAndCheck(t, 'REF_DELTA, complete, garbage after it', refPack, refEntries, Buffer.concat([refPack, noise(100, 7)]), refEntries.length)
})

t.test('keep, promisor and defer are as indexPack has them', async (t) => {
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const path = join(dest.packDir, 'tmp_pack_cut')
  const at = (entries[20] as Entry).end + 4
  writeFileSync(path, pack.subarray(0, at))
  const salvaged = await salvagePack(path, { packDir: dest.packDir, keep: 'resumable clone', promisor: '', defer: true })
  const result = salvaged.result
  if (result === undefined) throw new Error('nothing salvaged')
  t.equal(salvaged.objects, 21)
  t.equal(salvaged.droppedBytes, 4)
  t.same(listDir(dest.packDir).filter((n) => n.startsWith('pack-')), [], 'nothing in place before install()')
  t.equal(result.pending.packPath, path, 'the pack is still the file salvaged')
  await result.install()
  const name = result.name
  t.same(listDir(dest.packDir), [`${name}.idx`, `${name}.keep`, `${name}.pack`, `${name}.promisor`])
  t.equal(readFileSync(join(dest.packDir, `${name}.keep`), 'utf8'), 'resumable clone\n')
  t.equal(result.keepPath, join(dest.packDir, `${name}.keep`))
})

t.test('a read-only file (a temp a killed index-pack left) is salvaged too', async (t) => {
  const at = (entries[10] as Entry).end + 1
  await salvageAndCheck(t, 'read-only', pack, entries, pack.subarray(0, at), 11, {}, 0o444)
})

t.test('a salvage cut short is tried again to the same pack', async (t) => {
  // The header already rewritten, the file not yet cut: what a salvage killed half-way leaves.
  const at = (entries[30] as Entry).end + 100
  const halfDone = Buffer.from(pack.subarray(0, at))
  halfDone.writeUInt32BE(31, 8)
  await salvageAndCheck(t, 'header rewritten, tail still there', pack, entries, halfDone, 31)
})
