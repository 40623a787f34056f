/**
 * prefetchReachable over objects in memory, promised (absent) until prefetched, as in a
 * tree:0 partial clone: one batch per tree level that has missing trees, the blobs found
 * so far riding along, the rest in one last batch; skip, blobs: false and a path filter.
 */
import t from 'tap'
import { MODE_BLOB, MODE_GITLINK, MODE_TREE } from '../../lib/odb/objects.js'
import { prefetchReachable } from '../../lib/rev/prefetch-reachable.js'
import { MemoryObjectReader } from '../fixtures/object-reader.js'

const promised = { present: false }

/** Two commits' root trees sharing a subtree; blobs b1..b4, a gitlink that is never fetched. */
function history(): { mem: MemoryObjectReader; ids: Record<string, string> } {
  const mem = new MemoryObjectReader()
  const ids: Record<string, string> = {}
  for (const n of ['b1', 'b2', 'b3', 'b4']) ids[n] = mem.add('blob', `${n}\n`, promised)
  ids.deep = mem.addTree([{ name: 'f', mode: MODE_BLOB, oid: ids.b3! }], promised)
  ids.shared = mem.addTree([{ name: 'deep', mode: MODE_TREE, oid: ids.deep }, { name: 'g', mode: MODE_BLOB, oid: ids.b2! }], promised)
  ids.other = mem.addTree([{ name: 'h', mode: MODE_BLOB, oid: ids.b4! }], promised)
  ids.root1 = mem.addTree([{ name: 'a', mode: MODE_BLOB, oid: ids.b1! }, { name: 'lib', mode: MODE_TREE, oid: ids.shared }], promised)
  ids.root2 = mem.addTree(
    [
      { name: 'a', mode: MODE_BLOB, oid: ids.b1! },
      { name: 'lib', mode: MODE_TREE, oid: ids.shared },
      { name: 'other', mode: MODE_TREE, oid: ids.other },
      { name: 'sub', mode: MODE_GITLINK, oid: 'c'.repeat(40) },
    ],
    promised,
  )
  return { mem, ids }
}

const c1 = '1'.repeat(40)
const c2 = '2'.repeat(40)

t.test('a batch per level with missing trees, blobs riding along, the rest at the end', async (t) => {
  const { mem, ids } = history()
  const stats = await prefetchReachable(mem, [
    { oid: ids.root2!, type: 'tree', referrer: c2 },
    { oid: ids.root1!, type: 'tree', referrer: c1 },
  ])
  t.same(mem.prefetchCalls, [[ids.root2, ids.root1], [ids.shared, ids.other, ids.b1], [ids.deep, ids.b2, ids.b4], [ids.b3]])
  t.same(mem.prefetchReferrers.map((r) => new Set(r)), [new Set([c2, c1]), new Set([ids.root2]), new Set([ids.shared, ids.other]), new Set([ids.deep])], 'each batch named by the trees that first held its objects')
  t.same(stats, { batches: 4, objects: 9 })
  t.same(mem.lazyReads, [])
})

t.test('skip, blobs: false, a path filter', async (t) => {
  {
    const { mem, ids } = history()
    mem.present.add(ids.root2!)
    await prefetchReachable(mem, [{ oid: ids.root2!, type: 'tree', referrer: c2 }], new Set([ids.shared!]))
    t.same(mem.prefetchCalls, [[ids.other, ids.b1], [ids.b4]], 'a skipped tree is not entered')
  }
  {
    const { mem, ids } = history()
    const stats = await prefetchReachable(mem, [{ oid: ids.root2!, type: 'tree', referrer: c2 }], new Set(), { blobs: false })
    t.same(mem.prefetchCalls, [[ids.root2], [ids.shared, ids.other], [ids.deep]], 'trees only')
    t.same(stats, { batches: 3, objects: 4 })
  }
  {
    const { mem, ids } = history()
    await prefetchReachable(mem, [{ oid: ids.root2!, type: 'tree', referrer: c2 }], new Set(), {
      paths: { tree: (p) => p === 'lib' || p.startsWith('lib/'), blob: (p) => p !== 'lib/g' },
    })
    t.same(mem.prefetchCalls, [[ids.root2], [ids.shared, ids.b1], [ids.deep], [ids.b3]], 'only what the filter accepts')
  }
})

t.test('roots that are blobs, or present; nothing missing, nothing fetched', async (t) => {
  const { mem, ids } = history()
  for (const oid of Object.values(ids)) mem.present.add(oid)
  t.same(await prefetchReachable(mem, [{ oid: ids.root2!, type: 'tree', referrer: c2 }]), { batches: 0, objects: 0 })
  t.same(mem.prefetchCalls, [])
  const more = new MemoryObjectReader()
  const blob = more.add('blob', 'loose\n', promised)
  await prefetchReachable(more, [{ oid: blob, type: 'blob', referrer: c1 }, { oid: c2, type: 'commit' }])
  t.same(more.prefetchCalls, [[blob]])
  t.same(more.prefetchReferrers, [[c1]])
})
