/**
 * walkTreeLevels over objects in memory, some of them promised (absent until
 * prefetched): one fetch per level that has missing trees, named with exactly the
 * objects that refer to them; levels handed over in order, a bounded number of reads
 * ahead; a tree that stays missing read alone (strict) or handed over as undefined.
 */
import t from 'tap'
import { MissingObjectError } from '../../lib/errors.js'
import { MODE_BLOB, MODE_TREE } from '../../lib/odb/objects.js'
import { walkTreeLevels, type TreeReader, type TreeRef } from '../../lib/odb/tree-walk.js'
import type { GitObject, Oid } from '../../lib/oid.js'
import { MemoryObjectReader } from '../fixtures/object-reader.js'

interface Recorded {
  reader: TreeReader
  maxInFlight: number
}

/** `mem` with the reads in flight counted, each read taking a turn of the event loop. */
function recording(mem: MemoryObjectReader): Recorded {
  let inFlight = 0
  const rec: Recorded = {
    maxInFlight: 0,
    reader: {
      missingOf: (oids) => mem.missingOf(oids),
      prefetch: (oids, options) => mem.prefetch(oids, options),
      tryRead: (oid) => track(() => mem.tryRead(oid)),
      read: (oid) => track(() => mem.read(oid)),
    },
  }
  async function track<T>(fn: () => Promise<T>): Promise<T> {
    rec.maxInFlight = Math.max(rec.maxInFlight, ++inFlight)
    await new Promise((resolve) => setImmediate(resolve))
    inFlight--
    return fn()
  }
  return rec
}

interface Node {
  path: string
  tree: TreeRef
}

/** Walks every tree below `root`, returning the paths visited per level. */
async function walkAll(reader: TreeReader, root: Oid, options: { commit?: Oid; lenient?: boolean; concurrency?: number; fetch?: (missing: Oid[]) => Promise<void> } = {}): Promise<string[][]> {
  const levels: string[][] = []
  await walkTreeLevels<Node>(
    reader,
    [{ path: '', tree: { oid: root, referrer: options.commit } }],
    {
      trees: (n) => [n.tree],
      level: (nodes, depth) => {
        t.equal(levels.length, depth)
        levels.push([])
      },
      visit: (n, [obj], next) => {
        levels[levels.length - 1]!.push(obj === undefined ? `${n.path}?` : n.path)
        if (obj === undefined) return
        t.equal(obj.type, 'tree')
        for (const line of treeEntries(obj)) if (line.mode === MODE_TREE) next.push({ path: `${n.path}/${line.name}`, tree: { oid: line.oid, referrer: n.tree.oid } })
      },
      fetch: options.fetch,
    },
    { lenient: options.lenient, concurrency: options.concurrency },
  )
  return levels
}

function treeEntries(obj: GitObject): { mode: number; name: string; oid: Oid }[] {
  const out: { mode: number; name: string; oid: Oid }[] = []
  for (let pos = 0; pos < obj.data.length; ) {
    const sp = obj.data.indexOf(0x20, pos)
    const nul = obj.data.indexOf(0, sp)
    out.push({ mode: parseInt(obj.data.toString('latin1', pos, sp), 8), name: obj.data.toString('latin1', sp + 1, nul), oid: obj.data.toString('hex', nul + 1, nul + 21) })
    pos = nul + 21
  }
  return out
}

/** root → a, b (b present), a → c; b → c (the same tree at two paths). Trees other than b are promised. */
function sample(): { mem: MemoryObjectReader; root: Oid; a: Oid; b: Oid; c: Oid; commit: Oid } {
  const mem = new MemoryObjectReader()
  const promised = { present: false }
  const blob = mem.add('blob', 'x\n', promised)
  const c = mem.addTree([{ name: 'f', mode: MODE_BLOB, oid: blob }], promised)
  const a = mem.addTree([{ name: 'c', mode: MODE_TREE, oid: c }], promised)
  const b = mem.addTree([{ name: 'c', mode: MODE_TREE, oid: c }, { name: 'g', mode: MODE_BLOB, oid: blob }])
  const root = mem.addTree([{ name: 'a', mode: MODE_TREE, oid: a }, { name: 'b', mode: MODE_TREE, oid: b }], promised)
  return { mem, root, a, b, c, commit: 'c0'.repeat(20) }
}

t.test('one fetch per level with missing trees, named by exactly their referrers', async (t) => {
  const { mem, root, a, b, c, commit } = sample()
  const rec = recording(mem)
  const levels = await walkAll(rec.reader, root, { commit })
  t.same(levels, [[''], ['/a', '/b'], ['/a/c', '/b/c']], 'every path, level by level, in order')
  t.same(mem.prefetchCalls, [[root], [a], [c]], 'the present tree b is not fetched; c once')
  t.same(mem.prefetchReferrers, [[commit], [root], [a, b]], 'each named by the objects that hold it')
  t.same(mem.lazyReads, [], 'nothing read one at a time')
})

t.test('a missing tree named by nothing: no referrers, so the store checks the ids', async (t) => {
  const { mem, root } = sample()
  await walkAll(mem, root)
  t.same(mem.prefetchCalls[0], [root])
  t.same(mem.prefetchReferrers[0], undefined)
})

t.test('nothing missing: no fetch; reads stay within the concurrency', async (t) => {
  const mem = new MemoryObjectReader()
  const leaves = Array.from({ length: 40 }, (_, i) => mem.addTree([{ name: `f${i}`, mode: MODE_BLOB, oid: mem.add('blob', `${i}\n`) }]))
  const root = mem.addTree(leaves.map((oid, i) => ({ name: `d${String(i).padStart(2, '0')}`, mode: MODE_TREE, oid })))
  const rec = recording(mem)
  const levels = await walkAll(rec.reader, root, { concurrency: 8 })
  t.equal(levels[1]?.length, 40)
  t.same(levels[1], [...levels[1]!].sort(), 'handed over in order')
  t.same(mem.prefetchCalls, [])
  t.equal(rec.maxInFlight, 8, 'eight reads at a time')
})

t.test('a tree the level fetch did not bring: read alone (strict), or handed over as undefined (lenient)', async (t) => {
  const { mem, root, a, c } = sample()
  mem.present.add(root)
  const fetchNothing = async (): Promise<void> => {}
  const strict = await walkAll(recording(mem).reader, root, { fetch: fetchNothing })
  t.same(strict, [[''], ['/a', '/b'], ['/a/c', '/b/c']])
  t.same(mem.lazyReads, [a, c], 'strict: read() fetched each alone')

  const { mem: mem2, root: root2 } = sample()
  mem2.present.add(root2)
  const lenient = await walkAll(recording(mem2).reader, root2, { lenient: true, fetch: fetchNothing })
  t.same(lenient, [[''], ['/a?', '/b'], ['/b/c?']], 'lenient: undefined, not entered')
  t.same(mem2.lazyReads, [])

  const gone = new MemoryObjectReader()
  const ghost = 'e'.repeat(40)
  const top = gone.addTree([{ name: 'ghost', mode: MODE_TREE, oid: ghost }])
  await t.rejects(walkAll(gone, top, { fetch: fetchNothing }), MissingObjectError, 'strict: a tree nobody has throws')
})
