import t from 'tap'
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MissingObjectError, PackError } from '../../lib/errors.js'
import type { GitObject } from '../../lib/odb/types.js'
import { indexPack } from '../../lib/pack/indexer.js'
import { PackFile, wholePackBytesHeld } from '../../lib/pack/reader.js'
import { git, tempDir } from '../fixtures/git.js'
import { chunked, gitIndexPack, makeBareRepo, makeHistoryRepo, packAll } from '../fixtures/packs.js'

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

for (const [name, flags] of [['OFS_DELTA', []], ['REF_DELTA', ['--no-delta-base-offset']], ['deep chains', ['--no-reuse-delta', '--depth=100', '--window=100']]] as const) {
  for (const [cacheBytes, wholePackBytes] of [[32 << 20, undefined], [0, undefined], [32 << 20, 0]] as const) {
    const how = wholePackBytes === 0 ? 'read entry by entry' : 'read whole'
    t.test(`${name}, cache ${cacheBytes}, ${how}: every object equals git cat-file`, async (t) => {
      const held = wholePackBytesHeld()
      const pf = await PackFile.open(writePack(packAll(repo.path, [...flags])), { cacheBytes, wholePackBytes })
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
      t.equal(wholePackBytesHeld() > held, wholePackBytes !== 0, wholePackBytes === 0 ? 'nothing held whole' : 'the pack is held whole')
      await pf.close()
      t.equal(wholePackBytesHeld(), held, 'closing lets it go')
    })
  }
}

t.test('thin pack indexed by us: bases from outside through resolveExternal', async (t) => {
  const thin = git(['pack-objects', '--thin', '--stdout', '--no-delta-base-offset', '--revs'], { cwd: repo.path, input: 'HEAD\n^HEAD~1\n' }).stdoutBuffer
  const external = async (oid: string): Promise<GitObject | undefined> => expected.get(oid)
  const dest = makeBareRepo()
  t.teardown(dest.cleanup)
  const result = await indexPack(chunked(thin, 1000), { packDir: dest.packDir, resolveExternal: external })
  const withExt = await PackFile.open(result.packPath, { resolveExternal: external })
  t.teardown(() => withExt.close())
  for (const o of result.objects()) {
    const obj = await withExt.read(o.oid)
    t.ok(obj?.data.equals((expected.get(o.oid) as GitObject).data), o.oid)
  }
  const without = await PackFile.open(result.packPath)
  t.teardown(() => without.close())
  const errors = await Promise.all([...result.objects()].map((o) => without.read(o.oid).then(() => undefined, (e: unknown) => e)))
  const missing = errors.filter((e) => e !== undefined)
  t.ok(missing.length > 0, 'some objects need an external base')
  t.ok(missing.every((e) => e instanceof MissingObjectError && /delta base [0-9a-f]{40} missing/.test(e.message)))
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
