import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { InterruptedError, PackError } from '../../lib/errors.js'
import { hashObject } from '../../lib/pack/format.js'
import { createResumablePackFile, indexPack, type IndexPackOptions, type IndexPackResult } from '../../lib/pack/indexer.js'
import { PackFile } from '../../lib/pack/reader.js'
import { salvagePack } from '../../lib/pack/salvage.js'
import type { GitObject, Oid } from '../../lib/oid.js'
import { git, tempDir } from '../fixtures/git.js'
import { GitCatFileReader } from '../fixtures/object-reader.js'
import { buildPack, chunked, gitIndexPack, listDir, makeBareRepo, makeDelta, makeHistoryRepo, packAll } from '../fixtures/packs.js'

// B's history since A: every commit changes a.txt and dir/b.txt a little, so a thin pack
// of A..B has deltas on the versions A has.
const repo = makeHistoryRepo(14)
t.teardown(repo.cleanup)
const rev = (name: string) => git(['rev-parse', name], { cwd: repo.path }).stdout.trim()
const A = rev('main~5')
const B = rev('main')

// A repository with A's history only: where the bases come from.
const haveA = makeBareRepo()
t.teardown(haveA.cleanup)
git(['push', '-q', haveA.path, `${A}:refs/heads/main`], { cwd: repo.path })
const store = new GitCatFileReader(haveA.path)
t.teardown(() => store.close())
const fromStore = (oid: Oid) => store.tryRead(oid)

/** The ids of A..B: what a thin pack of it holds. */
const range = new Set(git(['rev-list', '--objects', B, `^${A}`], { cwd: repo.path }).stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 40)))

function thinPack(flags: string[] = []): Buffer {
  return git(['pack-objects', '--revs', '--thin', '--stdout', ...flags], { cwd: repo.path, input: `${B}\n^${A}\n` }).stdoutBuffer
}

/** The pack of `git bundle create x.bundle A..main`, after the bundle's header. */
function bundlePack(): Buffer {
  const dir = tempDir('tsgit-bundle-')
  try {
    const path = join(dir.path, 'x.bundle')
    git(['bundle', 'create', '-q', path, `${A}..main`], { cwd: repo.path })
    const bundle = readFileSync(path)
    return Buffer.from(bundle.subarray(bundle.indexOf('\n\n') + 2))
  } finally {
    dir.cleanup()
  }
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest()
const countOf = (pack: Buffer) => pack.readUInt32BE(8)

/** `git verify-pack -v`: every object's id, type and offset; throws when git refuses the pack. */
function verifyPack(idxPath: string): { oid: string; type: string; offset: number }[] {
  const out = git(['verify-pack', '-v', idxPath]).stdout
  const objects: { oid: string; type: string; offset: number }[] = []
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{40}) (\w+)\s+\d+ \d+ (\d+)/.exec(line)
    if (m) objects.push({ oid: m[1] as string, type: m[2] as string, offset: Number(m[3]) })
  }
  return objects.sort((a, b) => a.offset - b.offset)
}

/** `git cat-file --batch` of `oids` in the repository at `gitDir`. */
function catBatch(gitDir: string, oids: Iterable<string>): Buffer {
  return git(['--git-dir', gitDir, 'cat-file', '--batch'], { input: [...oids].join('\n') + '\n' }).stdoutBuffer
}

/** What `git index-pack --stdin --fix-thin` makes of `thin` next to A's objects. */
function gitFixThin(thin: Buffer): { pack: Buffer; objects: { oid: string; type: string; offset: number }[] } {
  const dir = tempDir('tsgit-git-fix-thin-')
  try {
    const path = join(dir.path, 'fixed.pack')
    git(['index-pack', '--stdin', '--fix-thin', path], { cwd: haveA.path, input: thin })
    return { pack: readFileSync(path), objects: verifyPack(join(dir.path, 'fixed.idx')) }
  } finally {
    dir.cleanup()
  }
}

async function indexInto(pack: Buffer, opts: Partial<IndexPackOptions> = {}) {
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const result = await indexPack(chunked(pack, 4096), { packDir: dest.packDir, resolveExternal: fromStore, ...opts })
  return { dest, result }
}

/** Everything said of a pack fixed from `thin`, checked against git. */
async function checkFixed(t: Test, thin: Buffer, result: IndexPackResult, destGitDir: string): Promise<void> {
  const pack = readFileSync(result.packPath)
  const received = thin.length - 20
  t.ok(result.appendedBases > 0, `bases appended (${result.appendedBases})`)
  t.equal(result.objectCount, countOf(thin) + result.appendedBases, 'object count: the thin pack\'s and the bases')
  t.equal(countOf(pack), result.objectCount, 'the header counts them')
  t.ok(pack.subarray(0, 8).equals(thin.subarray(0, 8)), 'signature and version kept')
  t.ok(pack.subarray(12, received).equals(thin.subarray(12, received)), 'the received entries are unchanged')
  t.ok(pack.subarray(-20).equals(sha1(pack.subarray(0, -20))), 'the trailer is the SHA-1 of the new contents')
  t.equal(result.checksum, pack.subarray(-20).toString('hex'))
  t.equal(result.name, `pack-${result.checksum}`, 'named by the new checksum')
  t.same(listDir(join(destGitDir, 'objects', 'pack')), [`${result.name}.idx`, `${result.name}.pack`])

  // git accepts the pack, and indexes it exactly as tsgit did.
  const objects = verifyPack(result.idxPath)
  t.equal(objects.length, result.objectCount, 'verify-pack sees every object')
  t.ok(readFileSync(result.idxPath).equals(gitIndexPack(pack)), '.idx equals git index-pack\'s for this pack, byte for byte')

  // The bases: whole objects at the end, not in A..B, A's.
  const appended = objects.filter((o) => o.offset >= received)
  t.equal(appended.length, result.appendedBases, 'the appended entries are at the end')
  t.equal(appended[0]?.offset, received, 'the first where the received trailer was')
  for (const o of appended) {
    t.notOk(range.has(o.oid), `${o.oid} is a base from outside A..B`)
    t.ok(git(['cat-file', '-e', o.oid], { cwd: haveA.path, allowFail: true }).status === 0, `${o.oid} is one of A's objects`)
  }
  t.same(new Set(objects.map((o) => o.oid)), new Set([...range, ...appended.map((o) => o.oid)]), 'A..B and the bases, nothing else')
  const ours = [...result.objects()]
  t.same(ours.map((o) => [o.oid, o.type, o.offset]), objects.map((o) => [o.oid, o.type, o.offset]), 'objects() as verify-pack lists them')

  // Readable from this pack alone: git in a repository that has nothing else...
  const all = objects.map((o) => o.oid)
  t.ok(catBatch(destGitDir, all).equals(catBatch(join(repo.path, '.git'), all)), 'git cat-file --batch reads every object from it as from the source')
  // ...and tsgit's reader, with nothing to resolve bases from.
  const file = await PackFile.open(result.packPath)
  try {
    for (const o of objects) {
      const obj = await file.read(o.oid)
      t.equal(obj && hashObject(obj.type, obj.data).toString('hex'), o.oid, `tsgit reads ${o.oid}`)
    }
  } finally {
    await file.close()
  }

  // The same objects, bases and offset of the first base as git's own --fix-thin.
  const theirs = gitFixThin(thin)
  t.equal(countOf(theirs.pack), result.objectCount, 'git appends as many')
  t.same(appended.map((o) => o.oid), theirs.objects.filter((o) => o.offset >= received).map((o) => o.oid), 'the same bases, in the same order, as git --fix-thin')
}

const variants: [string, () => Buffer, Partial<IndexPackOptions>][] = [
  ['pack-objects --thin (OFS_DELTA in the pack, REF_DELTA to the bases)', () => thinPack(['--delta-base-offset']), {}],
  ['pack-objects --thin, REF_DELTA only', () => thinPack(), {}],
  // No base memory, no recent objects, read from the file: external bases are fetched
  // again whenever a delta on them is rebuilt.
  ['pack-objects --thin, nothing held', () => thinPack(['--delta-base-offset', '--no-reuse-delta', '--depth=50']), { recentBytes: 0, baseCacheBytes: 0, inMemoryPackBytes: 0, arenaBytes: 4096 }],
  ['every entry inflated as a stream', () => thinPack(['--delta-base-offset']), { streamingThreshold: 0 }],
  ['the pack of a bundle with prerequisites', bundlePack, {}],
]

for (const [name, make, opts] of variants) {
  t.test(`${name}: made complete, accepted by git`, async (t) => {
    const thin = make()
    t.equal(thin.subarray(0, 4).toString('latin1'), 'PACK')
    const asked: Oid[] = []
    const { dest, result } = await indexInto(thin, {
      ...opts,
      resolveExternal: async (oid) => {
        asked.push(oid)
        return fromStore(oid)
      },
    })
    t.ok(asked.length >= result.appendedBases, 'bases come from resolveExternal')
    t.same(new Set(asked).size, result.appendedBases, 'each base asked for is appended')
    await checkFixed(t, thin, result, dest.path)
  })
}

t.test('a base dropped while its deltas are resolved is fetched again, and appended once', async (t) => {
  const base = Buffer.from('a base with two deltas on it\n')
  const baseOid = hashObject('blob', base).toString('hex')
  const bytes = (s: string) => [...Buffer.from(s)]
  const thin = buildPack([
    { packType: 7, baseOid, body: makeDelta(base.length, 14, [0x90, 10, 4, ...bytes('one\n')]) },
    { packType: 7, baseOid, body: makeDelta(base.length, 14, [0x90, 10, 4, ...bytes('two\n')]) },
    // On the first delta: walking down to it lets go of the base, which the second needs.
    { packType: 6, baseIndex: 0, body: makeDelta(14, 20, [0x90, 14, 6, ...bytes('three\n')]) },
  ])
  const asked: Oid[] = []
  const { result } = await indexInto(thin, {
    recentBytes: 0, baseCacheBytes: 0,
    resolveExternal: async (oid) => {
      asked.push(oid)
      return oid === baseOid ? { type: 'blob', data: base } : undefined
    },
  })
  t.same(asked, [baseOid, baseOid], 'fetched again once dropped')
  t.equal(result.appendedBases, 1, 'appended once')
  t.equal(result.objectCount, 4)
  const objects = verifyPack(result.idxPath)
  t.same(objects.at(-1), { oid: baseOid, type: 'blob', offset: thin.length - 20 })
  t.ok(readFileSync(result.idxPath).equals(gitIndexPack(readFileSync(result.packPath))), '.idx as git\'s')
})

t.test('a pack that needs no base from outside is left byte for byte', async (t) => {
  for (const flags of [[], ['--no-delta-base-offset']]) {
    const pack = packAll(repo.path, flags)
    let asked = 0
    const { result } = await indexInto(pack, { resolveExternal: async (oid) => { asked++; return fromStore(oid) } })
    t.equal(asked, 0, `${flags.join(' ') || 'OFS_DELTA'}: resolveExternal is not called`)
    t.equal(result.appendedBases, 0)
    t.ok(readFileSync(result.packPath).equals(pack), 'the pack is unchanged')
    t.equal(result.checksum, pack.subarray(-20).toString('hex'))
    t.ok(readFileSync(result.idxPath).equals(gitIndexPack(pack)), '.idx as git\'s')
  }
})

t.test('a base resolveExternal cannot supply: a PackError naming it, nothing left', async (t) => {
  const thin = thinPack(['--delta-base-offset'])
  const refBases = new Set<string>()
  // The bases the pack names: what git --fix-thin appends.
  for (const o of gitFixThin(thin).objects) if (o.offset >= thin.length - 20) refBases.add(o.oid)
  t.ok(refBases.size >= 2, 'the pack needs two bases or more')
  const none = async () => undefined
  let served = 0
  const first = async (oid: Oid) => (served++ === 0 ? fromStore(oid) : undefined)
  for (const [what, resolveExternal] of [['none of them', none], ['only the first', first]] as const) {
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const err = await indexPack(chunked(thin, 4096), { packDir: dest.packDir, resolveExternal }).catch((e: unknown) => e)
    t.type(err, PackError, what)
    const m = /^delta base ([0-9a-f]{40}) missing \(needed by the delta at offset (\d+)\): not in the pack nor in the repository$/.exec((err as Error).message)
    t.ok(m, `${what}: ${(err as Error).message}`)
    t.ok(refBases.has(m?.[1] as string), `${what}: names a base the pack needs`)
    t.same(listDir(dest.packDir), [], `${what}: nothing left in packDir`)
  }
  // Without resolveExternal a thin pack is refused as before.
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const err = await indexPack(chunked(thin, 4096), { packDir: dest.packDir }).catch((e: unknown) => e)
  t.match((err as Error).message, /^delta base [0-9a-f]{40} missing \(needed by the delta at offset \d+\): not in the pack$/)
  t.same(listDir(dest.packDir), [])
})

t.test('a base that is not the object named is a PackError, nothing left', async (t) => {
  const thin = thinPack(['--delta-base-offset'])
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const lie = async (oid: Oid): Promise<GitObject | undefined> => {
    const obj = await fromStore(oid)
    return obj && { type: obj.type, data: Buffer.concat([obj.data, Buffer.from('x')]) }
  }
  const swap = async (oid: Oid): Promise<GitObject | undefined> => {
    const obj = await fromStore(oid)
    if (obj === undefined) return undefined
    const data = Buffer.from(obj.data)
    data[0] = (data[0] as number) ^ 1
    return { type: obj.type, data }
  }
  // Checked before any delta is applied to it, whether or not its size fits the delta.
  for (const [what, resolveExternal] of [['a base of another size', lie], ['a base of the same size', swap]] as const) {
    const err = await indexPack(chunked(thin, 4096), { packDir: dest.packDir, resolveExternal }).catch((e: unknown) => e)
    t.type(err, PackError, what)
    t.match((err as Error).message, /^delta base [0-9a-f]{40} supplied from outside the pack is another object: its blob content hashes to [0-9a-f]{40}$/, what)
    t.same(listDir(dest.packDir), [], `${what}: nothing left`)
  }
})

t.test('expectedChecksum is the pack as received, before its bases are appended', async (t) => {
  const thin = thinPack(['--delta-base-offset'])
  const received = thin.subarray(-20).toString('hex')
  const { result } = await indexInto(thin, { expectedChecksum: received })
  t.ok(result.appendedBases > 0)
  t.not(result.checksum, received, 'the result is named by the new checksum')

  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const err = await indexPack(chunked(thin, 4096), { packDir: dest.packDir, resolveExternal: fromStore, expectedChecksum: result.checksum }).catch((e: unknown) => e)
  t.match((err as Error).message, /differs from the expected/, 'the checksum after fixing is not the one checked')
  t.same(listDir(dest.packDir), [])
})

t.test('keepOnFailure: a failure while bases are appended leaves the pack as received; a second try fixes it', async (t) => {
  const thin = thinPack(['--delta-base-offset'])
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const file = await createResumablePackFile(dest.packDir)
  let served = 0
  // The second base fails, after the first was written where the trailer was.
  const flaky = async (oid: Oid) => {
    if (served++ === 1) throw new Error('object store unavailable')
    return fromStore(oid)
  }
  const err = await indexPack(chunked(thin, 4096), { packDir: dest.packDir, resolveExternal: flaky, target: { ...file, have: 0, keepOnFailure: true } }).catch((e: unknown) => e)
  t.equal((err as Error).message, 'object store unavailable')
  t.same(listDir(dest.packDir), [file.path.slice(dest.packDir.length + 1)], 'only the file is left')
  t.ok(readFileSync(file.path).equals(thin), 'it is the pack as received, byte for byte')

  const handle = await open(file.path, 'r+')
  const result = await indexPack(chunked(Buffer.alloc(0), 1), { packDir: dest.packDir, resolveExternal: fromStore, target: { path: file.path, handle, have: thin.length, keepOnFailure: true } })
  const direct = await indexInto(thin)
  t.equal(result.name, direct.result.name, 'the same pack as a try that did not fail')
  t.ok(readFileSync(result.packPath).equals(readFileSync(direct.result.packPath)))
  await checkFixed(t, thin, result, dest.path)
})

t.test('an abort while bases are appended removes the file, or keeps the pack as received', async (t) => {
  const thin = thinPack(['--delta-base-offset'])
  for (const keepOnFailure of [false, true]) {
    const dest = makeBareRepo()
    t.teardown(dest.cleanup)
    const ac = new AbortController()
    const file = await createResumablePackFile(dest.packDir)
    const abortAfterFirst = async (oid: Oid) => {
      const obj = await fromStore(oid)
      ac.abort()
      return obj
    }
    const err = await indexPack(chunked(thin, 4096), { packDir: dest.packDir, resolveExternal: abortAfterFirst, signal: ac.signal, target: { ...file, have: 0, keepOnFailure } }).catch((e: unknown) => e)
    t.type(err, InterruptedError)
    t.match(err, { code: 'E_INTERRUPTED', retryable: true }, 'an interrupt, not a bad pack')
    t.match((err as Error).message, /aborted/)
    if (keepOnFailure) t.ok(readFileSync(file.path).equals(thin), 'kept: the pack as received')
    else t.same(listDir(dest.packDir), [], 'not kept: nothing left')
  }
})

t.test('salvagePack and defer: a complete thin pack in a file is made complete too', async (t) => {
  const thin = thinPack(['--delta-base-offset'])
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const path = join(dest.packDir, 'tmp_pack_salvage')
  writeFileSync(path, thin)
  const { result, objects } = await salvagePack(path, { packDir: dest.packDir, resolveExternal: fromStore, defer: true })
  t.equal(objects, countOf(thin), 'every received entry kept')
  if (result === undefined) throw new Error('nothing salvaged')
  t.same(listDir(dest.packDir).length, 2, 'the pack and .idx under temporary names')
  await result.install()
  await checkFixed(t, thin, result, dest.path)
})
