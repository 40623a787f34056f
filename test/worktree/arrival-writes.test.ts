/**
 * Files written as their blobs arrive (arrival-writes.ts): only where nothing is, in
 * directories that are real, never through a symlink; undo() takes back exactly what
 * was written and the directories made for it.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../fixtures/git.js'
import { MODE_BLOB, MODE_EXECUTABLE, MODE_SYMLINK } from '../../lib/odb/objects.js'
import { startArrivals } from '../../lib/worktree/arrival-writes.js'

const blobId = (data: Buffer): string => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')

t.test('writes where nothing is; never through a symlink or a file in the way; undo takes back its own', async (t) => {
  const tmp = tempDir('tsgit-arrival-')
  t.teardown(tmp.cleanup)
  const wt = join(tmp.path, 'wt')
  const outside = join(tmp.path, 'outside')
  mkdirSync(wt)
  mkdirSync(outside)
  symlinkSync(outside, join(wt, 'link'))
  writeFileSync(join(wt, 'file'), 'in the way\n')
  mkdirSync(join(wt, 'kept'))
  writeFileSync(join(wt, 'kept', 'old.txt'), 'old\n')
  writeFileSync(join(wt, 'taken.txt'), 'untracked\n')

  const one = Buffer.from('one\n')
  const two = Buffer.from('two\n')
  const w = startArrivals(wt, [
    { path: 'a/b/x.txt', mode: MODE_BLOB, oid: blobId(one) },
    { path: 'a/y.sh', mode: MODE_EXECUTABLE, oid: blobId(two) },
    { path: 'link/z.txt', mode: MODE_BLOB, oid: blobId(one) },
    { path: 'link/deep/z.txt', mode: MODE_BLOB, oid: blobId(one) },
    { path: 'file/z.txt', mode: MODE_BLOB, oid: blobId(one) },
    { path: 'taken.txt', mode: MODE_BLOB, oid: blobId(two) },
    { path: 'kept/new.txt', mode: MODE_BLOB, oid: blobId(two) },
    { path: 'sym', mode: MODE_SYMLINK, oid: blobId(one) },
  ])
  t.notOk(existsSync(join(wt, 'a')), 'nothing made before a blob arrives')

  w.observe(blobId(one), 'tree', one)
  t.notOk(existsSync(join(wt, 'a', 'b', 'x.txt')), 'a tree with the id of a blob is not written')
  w.observe(blobId(one), 'blob', one)
  w.observe(blobId(two), 'blob', two)
  w.observe(blobId(two), 'blob', two)
  t.ok(lstatSync(join(wt, 'a', 'b')).isDirectory(), 'directories made below real ones')
  t.equal(readFileSync(join(wt, 'a', 'b', 'x.txt'), 'utf8'), 'one\n')
  t.equal(lstatSync(join(wt, 'a', 'y.sh')).mode & 0o111, 0o111 & ~process.umask(), 'an executable gets its mode')
  t.equal(readFileSync(join(wt, 'kept', 'new.txt'), 'utf8'), 'two\n', 'into an existing directory')
  t.same(readdirSync(outside), [], 'nothing written through the symlink')
  t.equal(readFileSync(join(wt, 'taken.txt'), 'utf8'), 'untracked\n', 'a file in the way is left alone')
  t.notOk(existsSync(join(wt, 'sym')), 'symlinks are left for the write loop')
  t.same([...w.written.keys()].sort(), ['a/b/x.txt', 'a/y.sh', 'kept/new.txt'], 'what was written')
  const e = w.written.get('a/b/x.txt')
  t.equal(e?.size, 4, 'its index entry has the stat data')
  t.equal(e?.mode, MODE_BLOB)

  w.undo()
  t.same(readdirSync(wt).sort(), ['file', 'kept', 'link', 'taken.txt'], 'undo: the files and the directories made go')
  t.same(readdirSync(join(wt, 'kept')), ['old.txt'], 'what was there stays')
  t.equal(w.written.size, 0)
})

t.test('after an abort nothing more is written', async (t) => {
  const tmp = tempDir('tsgit-arrival-abort-')
  t.teardown(tmp.cleanup)
  const ac = new AbortController()
  const data = Buffer.from('x\n')
  const w = startArrivals(tmp.path, [{ path: 'f', mode: MODE_BLOB, oid: blobId(data) }], ac.signal)
  ac.abort()
  w.observe(blobId(data), 'blob', data)
  t.notOk(existsSync(join(tmp.path, 'f')))
})
