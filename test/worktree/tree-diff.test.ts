/**
 * diffTrees over objects in memory, promised (absent) until prefetched as in a tree:0
 * clone: the changed non-tree paths, a subtree both sides share never read, one
 * prefetch per level named by the trees that hold what it fetches, hostile names
 * refused on the new side.
 */
import t from 'tap'
import { UnsafePathError } from '../../lib/errors.js'
import { MODE_BLOB, MODE_EXECUTABLE, MODE_TREE } from '../../lib/odb/objects.js'
import { diffTrees } from '../../lib/worktree/tree-diff.js'
import { MemoryObjectReader } from '../fixtures/object-reader.js'

const promised = { present: false }

t.test('changed paths only; shared subtrees unread; a prefetch per level', async (t) => {
  const mem = new MemoryObjectReader()
  const blob = (s: string): string => mem.add('blob', s, promised)
  const [a1, a2, x, y, z] = ['a1', 'a2', 'x', 'y', 'z'].map((s) => blob(`${s}\n`)) as [string, string, string, string, string]
  const shared = mem.addTree([{ name: 'same', mode: MODE_BLOB, oid: x }], promised)
  const oldSub = mem.addTree([{ name: 'f', mode: MODE_BLOB, oid: y }], promised)
  const newSub = mem.addTree([{ name: 'f', mode: MODE_EXECUTABLE, oid: y }, { name: 'g', mode: MODE_BLOB, oid: z }], promised)
  const oldRoot = mem.addTree(
    [{ name: 'a', mode: MODE_BLOB, oid: a1 }, { name: 'gone', mode: MODE_BLOB, oid: x }, { name: 'lib', mode: MODE_TREE, oid: shared }, { name: 'sub', mode: MODE_TREE, oid: oldSub }],
    promised,
  )
  const newRoot = mem.addTree(
    [{ name: 'a', mode: MODE_BLOB, oid: a2 }, { name: 'gone', mode: MODE_TREE, oid: newSub }, { name: 'lib', mode: MODE_TREE, oid: shared }, { name: 'sub', mode: MODE_TREE, oid: newSub }],
    promised,
  )
  const oldCommit = '1'.repeat(40)
  const newCommit = '2'.repeat(40)
  const { changes, trees } = await diffTrees(mem, oldRoot, newRoot, { oldCommit, newCommit })
  t.same(
    changes.map((c) => [c.path, c.old?.oid, c.new?.oid, c.new?.mode]),
    [
      ['a', a1, a2, MODE_BLOB],
      ['gone', x, undefined, undefined],
      ['gone/f', undefined, y, MODE_EXECUTABLE],
      ['gone/g', undefined, z, MODE_BLOB],
      ['sub/f', y, y, MODE_EXECUTABLE],
      ['sub/g', undefined, z, MODE_BLOB],
    ],
    'a file that became a directory, a mode change, additions; nothing under lib/',
  )
  t.same(trees, [newRoot, newSub, newSub], 'the new side\'s trees: the referrers of its blobs')
  t.same(mem.prefetchCalls, [[oldRoot, newRoot], [newSub, oldSub]], 'one fetch per level; the shared subtree is never fetched')
  t.same(mem.prefetchReferrers, [[oldCommit, newCommit], [newRoot, oldRoot]])
  t.notOk(mem.present.has(shared), 'nor read')
  t.same(mem.lazyReads, [])

  t.same(await diffTrees(mem, newRoot, newRoot), { changes: [], trees: [] }, 'the same tree: nothing read, nothing changed')
  const initial = await diffTrees(mem, undefined, newSub)
  t.same(initial.changes.map((c) => [c.path, c.old, c.new?.oid]), [['f', undefined, y], ['g', undefined, z]], 'no old tree: everything is new')
})

t.test('the new side is checked like a checkout; too deep or too many changes refused', async (t) => {
  const mem = new MemoryObjectReader()
  const b = mem.add('blob', 'x\n')
  const empty = mem.addTree([])
  const hostile = mem.addRawTree([{ name: '.git', mode: MODE_TREE, oid: empty }])
  await t.rejects(diffTrees(mem, empty, hostile), UnsafePathError, '.git in the new tree')
  const twice = mem.addRawTree([{ name: 'f', mode: MODE_BLOB, oid: b }, { name: 'f', mode: MODE_BLOB, oid: b }])
  await t.rejects(diffTrees(mem, empty, twice), UnsafePathError, 'a name given twice')
  let deep = mem.addTree([{ name: 'f', mode: MODE_BLOB, oid: b }])
  for (let i = 0; i < 5; i++) deep = mem.addTree([{ name: 'd', mode: MODE_TREE, oid: deep }])
  await t.rejects(diffTrees(mem, empty, deep, { maxDepth: 3 }), UnsafePathError, 'nested deeper than maxDepth')
  t.equal((await diffTrees(mem, empty, deep, { maxDepth: 5 })).changes.length, 1)
  const wide = mem.addTree(['a', 'b', 'c'].map((name) => ({ name, mode: MODE_BLOB, oid: b })))
  await t.rejects(diffTrees(mem, empty, wide, { maxEntries: 2 }), UnsafePathError, 'more changed paths than maxEntries')
})
