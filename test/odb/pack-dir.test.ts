/**
 * The pack directories of a store against real git: every packed object found and read
 * as git reads it, a pack another process adds picked up when the directory is looked at
 * again (and not before the look is due), promisor packs told apart, and a damaged entry
 * reported with the object's id.
 */
import t from 'tap'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { git, tempDir } from '../fixtures/git.js'
import { PackDirectory } from '../../lib/odb/pack-dir.js'
import { allObjects, damagePackedObject, makeSourceRepo, packBlob, revParse } from './repos.js'

const tmp = tempDir('tsgit-pack-dir-')
t.teardown(tmp.cleanup)
const src = makeSourceRepo(join(tmp.path, 'src.git'))

const packsOf = (repo: string): string[] => readdirSync(join(repo, 'objects', 'pack')).filter((f) => f.endsWith('.pack'))

t.test('every packed object is found and reads as git cat-file gives it', async (t) => {
  const packs = new PackDirectory([join(src.path, 'objects')])
  t.notOk(packs.isScanned)
  t.notOk(packs.has(src.commits[0] as string), 'nothing before the first scan')
  await packs.ensureScanned()
  const all = allObjects(src.path)
  for (const [oid, type] of all) {
    t.ok(packs.has(oid), `has ${oid}`)
    t.ok(packs.hasBytes(Buffer.concat([Buffer.from([1, 2]), Buffer.from(oid, 'hex')]), 2), `hasBytes ${oid}`)
    const obj = await packs.read(oid)
    t.equal(obj?.type, type)
    t.same(obj?.data, git(['cat-file', type, oid], { cwd: src.path }).stdoutBuffer)
  }
  t.same([...packs.oids()].map((o) => o.oid).sort(), [...all.keys()].sort(), 'oids() lists them all')
  t.equal(await packs.read('0123456789012345678901234567890123456789'), undefined)
  const head = src.commits[1] as string
  t.same(packs.matchPrefix(head.slice(0, 6), 2), [head])
  t.notOk(packs.hasPromisorPacks())
  await packs.close()
})

t.test('a pack another process adds: seen once the directory is looked at again', async (t) => {
  const repo = join(tmp.path, 'adding.git')
  git(['clone', '-q', '--bare', src.path, repo])
  const packs = new PackDirectory([join(repo, 'objects')])
  await packs.ensureScanned()
  const blob = packBlob(repo, 'packed later\n')
  t.equal(packsOf(repo).length, 2, 'git wrote a second pack')
  t.notOk(packs.has(blob), 'not in the view taken before')
  t.equal(await packs.rescanIfChanged(), true, 'the first look after the scan is taken')
  t.ok(packs.has(blob), 'the changed directory was scanned again')
  const other = packBlob(repo, 'packed later still\n')
  await sleep(60)
  t.equal(await packs.rescanIfChanged(), true)
  t.ok(packs.has(other), 'seen at the next look')
  // A walk asks about thousands of absent objects in a row: they share one look.
  t.equal(await packs.rescanIfChanged(), false, 'no second look straight after the first')
  await packs.close()
})

t.test('promisor packs: told apart, and each one added moves the generation on', async (t) => {
  const repo = join(tmp.path, 'promisor.git')
  git(['clone', '-q', '--bare', src.path, repo])
  const first = packsOf(repo)[0] as string
  writeFileSync(join(repo, 'objects', 'pack', first.replace(/\.pack$/, '.promisor')), '')
  const packs = new PackDirectory([join(repo, 'objects')])
  await packs.ensureScanned()
  const generation = packs.promisorGeneration
  t.ok(packs.hasPromisorPacks())
  t.ok(packs.inPromisorPack(src.commits[0] as string))
  t.equal(packs.promisorPacks().length, 1)
  const blob = packBlob(repo, 'not promised\n')
  await packs.rescan()
  t.ok(packs.has(blob))
  t.notOk(packs.inPromisorPack(blob), 'a pack without .promisor')
  t.equal(packs.promisorGeneration, generation, 'no promisor pack was added')
  const newest = packsOf(repo).find((p) => p !== first) as string
  await packs.close()
  writeFileSync(join(repo, 'objects', 'pack', newest.replace(/\.pack$/, '.promisor')), '')
  await packs.rescan()
  t.ok(packs.inPromisorPack(blob))
  t.ok(packs.promisorGeneration > generation)
  await packs.close()
})

t.test('a damaged packed object: the error names it, and its pack', async (t) => {
  const repo = join(tmp.path, 'damaged.git')
  git(['clone', '-q', '--bare', '--no-local', src.path, repo])
  const readme = revParse(repo, 'main:README')
  const pack = join(repo, 'objects', 'pack', packsOf(repo)[0] as string)
  damagePackedObject(repo, pack, readme)
  const packs = new PackDirectory([join(repo, 'objects')])
  await packs.ensureScanned()
  await t.rejects(packs.read(readme), { name: 'PackError', message: new RegExp(`^packed object ${readme} is corrupt: .*${packsOf(repo)[0]}: bad object at offset \\d+`) })
  t.ok(await packs.read(src.commits[0] as string), 'the other objects still read')
  await packs.close()
})
