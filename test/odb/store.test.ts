/**
 * The lookup seam against repositories made by real git: what another process writes
 * is seen by the confirming lookups (has, tryRead, missingOf), a miss is faulted in
 * through the fetcher only where the repository was promised the object (a stand-in
 * fetcher copies it from the source, as a lazy fetch would bring it), and a damaged
 * object is named.
 */
import t from 'tap'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { git, tempDir } from '../fixtures/git.js'
import { MissingObjectError } from '../../lib/errors.js'
import { loosePath } from '../../lib/odb/loose.js'
import { hashObject } from '../../lib/odb/objects.js'
import { CorruptRepositoryError, ObjectStore, type PromisorFetcher } from '../../lib/odb/store.js'
import { copyObject, damagePackedObject, makeSourceRepo, partialClone, revParse } from './repos.js'
import type { Oid } from '../../lib/oid.js'

const tmp = tempDir('tsgit-store-')
t.teardown(tmp.cleanup)
const src = makeSourceRepo(join(tmp.path, 'src.git'))
const BOGUS = 'deadbeef'.repeat(5)

/** A fetcher that copies the objects asked for from the source repository, and records each call. */
function copyingFetcher(to: string): PromisorFetcher & { calls: Oid[][] } {
  const calls: Oid[][] = []
  return {
    calls,
    fetchMissing: async (oids) => {
      calls.push([...oids])
      for (const oid of oids) copyObject(src.path, to, oid)
    },
  }
}

t.test('has, tryRead and missingOf see a loose object another process wrote after the store looked', async (t) => {
  const dir = join(tmp.path, 'writer.git')
  git(['clone', '-q', '--bare', src.path, dir])
  const store = new ObjectStore(join(dir, 'objects'))
  const content = 'written by real git after the store looked\n'
  const oid = hashObject('blob', Buffer.from(content))
  t.notOk(await store.has(oid), 'absent, and its fan-out directory has been read')
  t.equal(await store.tryRead(oid), undefined)
  t.equal(git(['hash-object', '-w', '--stdin'], { cwd: dir, input: content }).stdout.trim(), oid)
  t.ok(await store.has(oid), 'has() sees it')
  t.same((await store.tryRead(oid))?.data, Buffer.from(content))

  const next = 'written after a rescan\n'
  const nextOid = hashObject('blob', Buffer.from(next))
  t.notOk(await store.has(nextOid))
  git(['hash-object', '-w', '--stdin'], { cwd: dir, input: next })
  await store.rescan()
  t.ok(await store.has(nextOid), 'after an explicit rescan too')

  const third = 'asked about in a batch\n'
  const thirdOid = hashObject('blob', Buffer.from(third))
  t.same(await store.missingOf([thirdOid]), [thirdOid])
  git(['hash-object', '-w', '--stdin'], { cwd: dir, input: third })
  // A batch shares the pack directory's pace: one look every 50 ms.
  await sleep(60)
  t.same(await store.missingOf([thirdOid]), [], 'missingOf sees it at the next look')
  await store.close()
})

t.test('a loose object git gc packs after the store listed it: read from the new pack', async (t) => {
  const dir = join(tmp.path, 'gc.git')
  git(['clone', '-q', '--bare', src.path, dir])
  const oid = git(['hash-object', '-w', '--stdin'], { cwd: dir, input: 'kept by a tag\n' }).stdout.trim()
  git(['tag', 'kept', oid], { cwd: dir })
  const store = new ObjectStore(join(dir, 'objects'))
  t.ok(await store.has(oid), 'listed as a loose object')
  git(['repack', '-q', '-a', '-d'], { cwd: dir })
  t.notOk(existsSync(loosePath(join(dir, 'objects'), oid)), 'git removed the loose file')
  t.same((await store.tryRead(oid))?.data, Buffer.from('kept by a tag\n'))
  await store.close()
})

t.test('blob:none: a promised blob is faulted in once; an id nothing promised is refused without a fetch', async (t) => {
  const dir = partialClone(src, join(tmp.path, 'blobless.git'), 'blob:none')
  const fetcher = copyingFetcher(dir)
  const store = new ObjectStore(join(dir, 'objects'), { fetcher })
  const readme = revParse(src.path, 'main:README')
  t.same((await store.read(readme)).data, Buffer.from('read me\n'))
  t.same(fetcher.calls, [[readme]])
  const blobs = ['main:src/main.c', 'main:src/lib/util.c', 'main:docs/guide/intro.txt'].map((n) => revParse(src.path, n))
  await store.prefetch([...blobs, readme, blobs[0] as Oid])
  t.same(fetcher.calls[1], blobs, 'one batch of the missing ones, each once')
  const err = await store.read(BOGUS).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof CorruptRepositoryError)
  t.match((err as Error).message, `missing object ${BOGUS} is not a promisor object`)
  t.equal(fetcher.calls.length, 2, 'the fetcher was not asked')
  t.notOk(await store.mayFetch(BOGUS))
  await store.close()
})

t.test('tree:0: a subtree that nothing present refers to is fetched, as git fetches it (t5616)', async (t) => {
  const dir = partialClone(src, join(tmp.path, 'treeless.git'), 'tree:0')
  const fetcher = copyingFetcher(dir)
  const store = new ObjectStore(join(dir, 'objects'), { fetcher })
  const subtree = revParse(src.path, 'main:src/lib')
  t.ok(await store.mayFetch(subtree))
  const obj = await store.read(subtree)
  t.equal(obj.type, 'tree')
  t.same(obj.data, git(['cat-file', 'tree', subtree], { cwd: src.path }).stdoutBuffer)
  t.same(fetcher.calls, [[subtree]])
  await store.close()
})

t.test('lazy fetching off: MissingObjectError naming the object, and the warning once', async (t) => {
  const dir = partialClone(src, join(tmp.path, 'off.git'), 'blob:none')
  let warned = 0
  const store = new ObjectStore(join(dir, 'objects'), { onLazyFetchDisabled: () => void warned++ })
  const readme = revParse(src.path, 'main:README')
  const err = await store.read(readme).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof MissingObjectError)
  t.equal((err as MissingObjectError).message, `unable to read ${readme}: object is missing`)
  t.equal((err as MissingObjectError).oid, readme)
  await t.rejects(store.read(readme), { name: 'MissingObjectError' })
  t.equal(warned, 1)
  await store.close()
})

t.test('a damaged packed object: read() names it', async (t) => {
  const dir = join(tmp.path, 'damaged.git')
  git(['clone', '-q', '--bare', '--no-local', src.path, dir])
  const readme = revParse(dir, 'main:README')
  const pack = readdirSync(join(dir, 'objects', 'pack')).find((f) => f.endsWith('.pack')) as string
  damagePackedObject(dir, join(dir, 'objects', 'pack', pack), readme)
  const store = new ObjectStore(join(dir, 'objects'))
  await t.rejects(store.read(readme), { name: 'PackError', message: new RegExp(`^packed object ${readme} is corrupt: `) })
  await store.close()
})

t.test('lazy fetching is denied inside withoutFetching, however deep, while another such run ends, and allowed again after', async (t) => {
  const store = new ObjectStore(join(tmp.path, 'none', 'objects'), { fetcher: { fetchMissing: async () => {} } })
  t.ok(store.canFetch)
  let release = (): void => {}
  const held = new Promise<void>((resolve) => (release = resolve))
  const seen: [string, boolean][] = []
  const long = ObjectStore.withoutFetching(async () => {
    await held
    await sleep(1)
    seen.push(['long, after the short one ended', store.canFetch])
    await ObjectStore.withoutFetching(async () => seen.push(['nested', store.canFetch]))
    seen.push(['long, after the nested one', store.canFetch])
  })
  await ObjectStore.withoutFetching(async () => {
    await sleep(1)
    seen.push(['short', store.canFetch])
  })
  t.ok(store.canFetch, 'allowed outside, the long run going on')
  release()
  await long
  t.same(seen, [['short', false], ['long, after the short one ended', false], ['nested', false], ['long, after the nested one', false]])
  t.ok(store.canFetch, 'allowed once every run has ended')
  await t.rejects(ObjectStore.withoutFetching(async () => Promise.reject(new Error('fails'))), /fails/)
  t.ok(store.canFetch, 'and after one that failed')
})
