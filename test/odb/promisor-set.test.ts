/**
 * Promisor objects in partial clones made by real git, and where refusing to fetch a
 * missing object that is not one is sound: after blob:none (every tree present) it is;
 * after tree:0 (subtrees below missing trees, git's t5616) it is not, until the trees
 * have been fetched.
 */
import t from 'tap'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { LooseCache } from '../../lib/odb/loose-cache.js'
import { PackDirectory } from '../../lib/odb/pack-dir.js'
import { PromisorSet } from '../../lib/odb/promisor-set.js'
import { makeSourceRepo, partialClone, revParse } from './repos.js'
import type { Oid } from '../../lib/oid.js'

const tmp = tempDir('tsgit-promisor-set-')
t.teardown(tmp.cleanup)
const src = makeSourceRepo(join(tmp.path, 'src.git'))
const BOGUS = 'deadbeef'.repeat(5)

async function open(repo: string): Promise<{ set: PromisorSet; packs: PackDirectory }> {
  const packs = new PackDirectory([join(repo, 'objects')])
  const loose = new LooseCache([join(repo, 'objects')])
  await packs.ensureScanned()
  const set = new PromisorSet({ packs, present: (oid) => packs.has(oid) || loose.has(oid), parentsOf: (_, parents) => parents })
  return { set, packs }
}

t.test('blob:none: the blobs are promisor objects, and a missing id that is not one is refused', async (t) => {
  const dir = partialClone(src, join(tmp.path, 'blobless.git'), 'blob:none')
  const { set, packs } = await open(dir)
  const readme = revParse(src.path, 'main:README')
  const root = revParse(src.path, 'main^{tree}')
  t.notOk(packs.has(readme), 'the blob is missing')
  t.ok(set.inPromisorPack(root))
  t.ok(await set.isPromisorObject(readme), 'a promisor tree refers to it')
  t.ok(await set.isPromisorObject(readme, root), 'the cheap way, through its referrer')
  t.notOk(await set.isPromisorObject(BOGUS))
  t.notOk(await set.hasMissingTrees(), 'every tree is present')
  t.same(await set.refused([readme, BOGUS]), [BOGUS], 'only the id nothing promised is refused')
  t.same(await set.refused([BOGUS], [root]), [], 'a caller vouching with a promisor referrer is believed')
  t.ok(await set.mayFetch(readme))
  t.notOk(await set.mayFetch(BOGUS))
  await packs.close()
})

t.test('tree:0: a subtree below a missing tree is no promisor object, yet may be fetched; refused again once the trees are in', async (t) => {
  const dir = partialClone(src, join(tmp.path, 'treeless.git'), 'tree:0')
  const { set, packs } = await open(dir)
  const subtree = revParse(src.path, 'main:src/lib')
  const roots = src.commits.map((c) => revParse(src.path, `${c}^{tree}`))
  t.notOk(packs.has(subtree))
  t.ok(await set.isPromisorObject(roots[0] as Oid), 'a root tree: a promisor commit refers to it')
  t.notOk(await set.isPromisorObject(subtree), 'nothing present refers to the subtree')
  t.ok(await set.hasMissingTrees(), 'promisor commits refer to missing trees')
  t.same(await set.refused([subtree, BOGUS]), [], 'so nothing is refused')
  t.ok(await set.mayFetch(subtree))
  // Real git's lazy fetch brings each root tree with every tree below it.
  for (const root of roots) git(['cat-file', '-t', root], { cwd: dir })
  await packs.rescan()
  t.ok(packs.has(subtree), 'git fetched the subtrees')
  t.notOk(await set.hasMissingTrees(), 'built again for the new promisor packs: no tree is missing')
  t.same(await set.refused([BOGUS]), [BOGUS])
  await packs.close()
})
