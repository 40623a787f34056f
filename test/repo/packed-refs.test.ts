import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RefError } from '../../lib/errors.js'
import { PACKED_REFS_HEADER, formatPackedRefs, parsePackedRefs } from '../../lib/repo/packed-refs.js'
import { git } from '../fixtures/git.js'
import { refFixture } from './ref-fixture.js'

t.test('packed-refs as git pack-refs writes it: read, and written back byte for byte in any order', async (t) => {
  const f = refFixture(t)
  git(['pack-refs', '--all'], { cwd: f.dir })
  const gitText = readFileSync(join(f.gitDir, 'packed-refs'), 'utf8')
  t.ok(gitText.startsWith(PACKED_REFS_HEADER), 'git 2.39 writes the same header')
  const packed = parsePackedRefs(gitText)
  t.same(packed.map((r) => r.name), git(['for-each-ref', '--format=%(refname)'], { cwd: f.dir }).stdout.trim().split('\n'))
  t.same(packed.find((r) => r.name === 'refs/tags/v1.0'), { name: 'refs/tags/v1.0', oid: f.tagObj, peeled: f.c1 }, 'an annotated tag with what it peels to')
  t.equal(packed.find((r) => r.name === 'refs/tags/light')?.peeled, undefined)
  t.equal(formatPackedRefs([...packed].reverse()), gitText, 'byte-identical')
})

t.test('lines git would not accept are refused, and so are refs git would not write', async (t) => {
  const oid = 'a'.repeat(40)
  for (const text of [`${oid} refs/heads/a..b\n`, `${oid}refs/heads/x\n`, `${'g'.repeat(40)} refs/heads/x\n`, `^${oid}\n`, `${oid} refs/heads/x\n^nope\n`]) {
    t.throws(() => parsePackedRefs(text), RefError, JSON.stringify(text))
  }
  t.throws(() => formatPackedRefs([{ name: 'refs/heads/x', oid }, { name: 'refs/heads/x', oid }]), /duplicate ref 'refs\/heads\/x'/)
  t.throws(() => formatPackedRefs([{ name: 'refs/heads/x', oid: 'nope' }]), /invalid object id/)
  t.throws(() => formatPackedRefs([{ name: 'refs/heads/a..b', oid }]), /bad name/)
})
