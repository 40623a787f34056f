import t from 'tap'
import { ObjectFormatError } from '../../lib/errors.js'
import { MODE_GITLINK, MODE_TREE, parseTree } from '../../lib/odb/objects.js'
import { ENTRY_BLOB, ENTRY_GITLINK, ENTRY_TREE, entryOid, scanTree } from '../../lib/odb/tree-scan.js'

t.test('scanTree agrees with parseTree, and refuses what parseTree refuses', async (t) => {
  const oid = (n: number): string => n.toString(16).padStart(40, '0')
  const entries = [
    ['40000', 'a-dir', oid(1)], ['040000', 'legacy-dir', oid(2)], ['100644', 'f', oid(3)], ['100664', 'g', oid(4)],
    ['100755', 'x', oid(5)], ['120000', 'link', oid(6)], ['160000', 'sub', oid(7)], ['100644', '', oid(8)], ['100644', 'caf\xe9', oid(9)],
  ] as const
  const tree = Buffer.concat(entries.map(([m, n, o]) => Buffer.concat([Buffer.from(`${m} ${n}\0`, 'latin1'), Buffer.from(o, 'hex')])))
  const modes: number[] = []
  const scanned = scanTree(tree, modes)
  t.same(modes, parseTree(tree, { strictNames: false }).map((e) => e.mode), 'the modes, as parseTree normalises them')
  const parsed = parseTree(tree, { strictNames: false })
  t.equal(scanned.length, parsed.length * 3)
  parsed.forEach((e, i) => {
    const [kind, at, nul] = scanned.slice(i * 3, i * 3 + 3) as [number, number, number]
    t.equal(kind, e.mode === MODE_TREE ? ENTRY_TREE : e.mode === MODE_GITLINK ? ENTRY_GITLINK : ENTRY_BLOB, `kind of ${e.oid}`)
    t.same(tree.subarray(at, nul), e.nameBytes)
    t.equal(entryOid(tree, nul), e.oid)
  })
  t.same(scanTree(Buffer.alloc(0)), [], 'the empty tree')
  for (const bad of [tree.subarray(0, tree.length - 1), Buffer.from(`100645 f\0${'x'.repeat(20)}`), Buffer.from(`0100644 f\0${'x'.repeat(20)}`), Buffer.from('100644 f')]) {
    t.throws(() => scanTree(bad), ObjectFormatError)
    t.throws(() => parseTree(bad, { strictNames: false }), ObjectFormatError)
  }
})
