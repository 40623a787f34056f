/**
 * The loose-object cache against real git: names read once per fan-out directory, an
 * object another process writes afterwards found by recheck(), one that git gc packs
 * and removes dropped, alternates searched after the store's own directory.
 */
import t from 'tap'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { LooseCache } from '../../lib/odb/loose-cache.js'
import { loosePath } from '../../lib/odb/loose.js'
import { hashObject } from '../../lib/odb/objects.js'

const tmp = tempDir('tsgit-loose-cache-')
t.teardown(tmp.cleanup)

function repo(name: string): string {
  const dir = join(tmp.path, name)
  git(['init', '-q', '--bare', dir])
  return dir
}
const write = (dir: string, content: string): string => git(['hash-object', '-w', '--stdin'], { cwd: dir, input: content }).stdout.trim()
const idOf = (content: string): string => hashObject('blob', Buffer.from(content))
/** `oid` as raw bytes at offset 3 of a buffer, as a tree holds it. */
const raw = (oid: string): Buffer => Buffer.concat([Buffer.from('abc'), Buffer.from(oid, 'hex')])

t.test('names are read once; an object written afterwards is found by recheck, then by has', async (t) => {
  const dir = repo('once.git')
  const first = write(dir, 'first\n')
  const cache = new LooseCache([join(dir, 'objects')])
  t.ok(cache.has(first))
  t.ok(cache.hasBytes(raw(first), 3))
  t.equal(cache.dirOf(first), join(dir, 'objects'))
  t.same((await cache.read(first))?.data, Buffer.from('first\n'))
  // Another process writes an object after the names of its fan-out directory were read.
  let i = 0
  while (idOf(`later ${i}\n`).slice(0, 2) !== first.slice(0, 2)) i++
  const later = write(dir, `later ${i}\n`)
  t.notOk(cache.has(later), 'the names read before do not list it')
  t.notOk(cache.hasBytes(raw(later), 3))
  t.ok(cache.recheck(later), 'recheck looks at its own path')
  t.ok(cache.has(later), 'and adds it to the names')
  t.ok(cache.hasBytes(raw(later), 3))
  t.notOk(cache.recheck('0123456789012345678901234567890123456789'))
})

t.test('forget(): every fan-out directory is read again', async (t) => {
  const dir = repo('forget.git')
  const cache = new LooseCache([join(dir, 'objects')])
  const oid = idOf('forgotten\n')
  t.notOk(cache.has(oid))
  write(dir, 'forgotten\n')
  t.notOk(cache.has(oid))
  cache.forget()
  t.ok(cache.has(oid))
})

t.test('an object whose file has gone (git gc packed it): read() gives undefined and drops it', async (t) => {
  const dir = repo('gone.git')
  const oid = write(dir, 'soon packed\n')
  const cache = new LooseCache([join(dir, 'objects')])
  t.ok(cache.has(oid))
  rmSync(loosePath(join(dir, 'objects'), oid))
  t.equal(await cache.read(oid), undefined)
  t.notOk(cache.has(oid), 'no longer listed')
})

t.test('alternates are searched after the store’s own directory; added() lists what the store wrote', async (t) => {
  const own = repo('own.git')
  const alternate = repo('alternate.git')
  const borrowed = write(alternate, 'borrowed\n')
  const both = write(alternate, 'in both\n')
  write(own, 'in both\n')
  const cache = new LooseCache([join(own, 'objects'), join(alternate, 'objects')])
  t.equal(cache.dirOf(borrowed), join(alternate, 'objects'))
  t.equal(cache.dirOf(both), join(own, 'objects'), 'the store’s own first')
  const mine = idOf('mine\n')
  t.notOk(cache.has(mine))
  write(own, 'mine\n')
  cache.added(mine)
  t.ok(cache.has(mine))
  t.same(await cache.matchPrefix(borrowed.slice(0, 5)), [borrowed], 'matchPrefix reads the disk')
  t.same(await cache.matchPrefix('f'), [], 'one hex digit is too short')
})
