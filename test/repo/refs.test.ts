import t from 'tap'
import { existsSync, readFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { RefStore, formatReflogLine } from '../../lib/repo/refs.js'
import { git } from '../fixtures/git.js'
import { refFixture } from './ref-fixture.js'

t.test('reading loose and packed refs; packed-refs written as git pack-refs writes it', async (t) => {
  const f = refFixture(t)
  const store = new RefStore(f.gitDir)
  const loose = await store.list()
  t.same(loose.map((r) => r.name), git(['for-each-ref', '--format=%(refname)'], { cwd: f.dir }).stdout.trim().split('\n'))
  t.equal(await store.resolve('HEAD'), f.c2)
  t.equal(await store.readSymref('HEAD'), 'refs/heads/main')

  git(['pack-refs', '--all'], { cwd: f.dir })
  const gitBytes = readFileSync(join(f.gitDir, 'packed-refs'))
  const packed = await store.readPackedRefs()
  t.equal(packed.find((r) => r.name === 'refs/tags/v1.0')?.peeled, f.c1)
  t.equal(await store.resolve('refs/tags/v1.0'), f.tagObj)

  await store.writePackedRefs([...packed].reverse())
  t.same(readFileSync(join(f.gitDir, 'packed-refs')), gitBytes, 'byte-identical packed-refs')
  git(['fsck', '--no-progress'], { cwd: f.dir })
  const listed = await store.list('refs/tags/')
  t.same(listed.map((r) => `${r.oid} ${r.name}`).join('\n'), git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/tags/'], { cwd: f.dir }).stdout.trim())
})

t.test('packed-refs is parsed again when another process rewrote it, not otherwise', async (t) => {
  const f = refFixture(t)
  git(['pack-refs', '--all'], { cwd: f.dir })
  const store = new RefStore(f.gitDir)
  const first = await store.readPackedRefs()
  first.pop()
  t.same(await store.readPackedRefs(), (await new RefStore(f.gitDir).readPackedRefs()), 'what a caller does to its copy does not change the next answer')
  git(['update-ref', 'refs/heads/later', f.c1], { cwd: f.dir })
  git(['pack-refs', '--all'], { cwd: f.dir })
  t.equal((await store.readPackedRefs()).find((r) => r.name === 'refs/heads/later')?.oid, f.c1, 'a ref git packed since is seen')
  git(['update-ref', '-d', 'refs/heads/later'], { cwd: f.dir })
  t.equal((await store.readPackedRefs()).find((r) => r.name === 'refs/heads/later'), undefined, 'and one git deleted from packed-refs is gone')
  t.equal(await store.resolve('refs/heads/later'), undefined)
})

t.test('setSymref writes HEAD the way git does', async (t) => {
  const f = refFixture(t)
  const store = new RefStore(f.gitDir)
  await store.setSymref('HEAD', 'refs/heads/feature/x')
  t.equal(readFileSync(join(f.gitDir, 'HEAD'), 'utf8'), 'ref: refs/heads/feature/x\n')
  t.equal(git(['symbolic-ref', 'HEAD'], { cwd: f.dir }).stdout, 'refs/heads/feature/x\n')
  mkdirSync(join(f.gitDir, 'refs/remotes/origin'), { recursive: true })
  await store.setSymref('refs/remotes/origin/HEAD', 'refs/heads/main')
  t.equal(git(['rev-parse', 'refs/remotes/origin/HEAD'], { cwd: f.dir }).stdout.trim(), f.c2)
  t.equal(existsSync(join(f.gitDir, 'HEAD.lock')), false)
  await t.rejects(store.setSymref('HEAD', 'refs/heads/bad..name'), { code: 'E_REF' })
})

t.test('reflog lines as git writes them: whitespace in the message made one space', async (t) => {
  const ident = { name: 'C O Mitter', email: 'committer@example.com', timestamp: 1112911993, tz: '-0700' }
  const a = 'a'.repeat(40)
  const b = 'b'.repeat(40)
  t.equal(formatReflogLine(a, b, ident, '  commit:\tone\n two  '), `${a} ${b} C O Mitter <committer@example.com> 1112911993 -0700\tcommit: one two\n`)
  t.equal(formatReflogLine(a, b, ident, ' \n '), `${a} ${b} C O Mitter <committer@example.com> 1112911993 -0700\n`, 'no message: no tab')
})
