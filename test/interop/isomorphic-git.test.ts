/**
 * A second, independent reader of what tsgit writes: isomorphic-git (a different
 * implementation of packs, indexes and the index file) must read a tsgit clone the way
 * real git does — history, every blob of HEAD, and a clean status.
 */
import t from 'tap'
import fs from 'node:fs'
import { join } from 'node:path'
import * as isogit from 'isomorphic-git'
import { git, tempDir } from '../fixtures/git.js'
import { makeRichRepo } from '../fixtures/repos.js'
import { tsgit } from '../fixtures/tsgit.js'

t.test('isomorphic-git reads a tsgit clone as real git does', async (t) => {
  const tmp = tempDir('tsgit-iso-')
  t.teardown(tmp.cleanup)
  const rich = await makeRichRepo(join(tmp.path, 'rich.git'))
  const dir = join(tmp.path, 'clone')
  const r = await tsgit(['clone', '-q', rich.path, dir])
  t.equal(r.status, 0, r.stderr)

  const log = await isogit.log({ fs, dir, ref: 'HEAD' })
  t.same(log.map((c) => c.oid), git(['rev-list', 'HEAD'], { cwd: rich.path }).stdout.trim().split('\n'), 'the same history')

  const files = git(['ls-tree', '-r', 'HEAD'], { cwd: rich.path }).stdout.trim().split('\n')
  let blobs = 0
  for (const line of files) {
    const [meta, path] = line.split('\t') as [string, string]
    const [, type, oid] = meta.split(' ') as [string, string, string]
    if (type !== 'blob') continue
    const { blob } = await isogit.readBlob({ fs, dir, oid })
    t.ok(Buffer.from(blob).equals(git(['cat-file', 'blob', oid], { cwd: rich.path }).stdoutBuffer), `${path}: same bytes`)
    blobs++
  }
  t.ok(blobs > 5, 'read every blob of HEAD from tsgit\'s pack')

  const matrix = await isogit.statusMatrix({ fs, dir })
  const changed = matrix.filter(([, head, work, stage]) => !(head === 1 && work === 1 && stage === 1))
  t.same(changed, [], 'isomorphic-git finds the work tree and the index tsgit wrote clean')
})
