/**
 * missingBlobsByPath over a repository made by real git whose loose blobs are deleted
 * (so they are missing): one group per path, in path-walk order (a directory's files,
 * then its subdirectories, each in byte order), every version of a path in its group,
 * each blob once, at the first path that has it.
 */
import t from 'tap'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ObjectStore } from '../../lib/odb/store.js'
import { missingBlobsByPath, type PathBlobs, type PathWalkEnd } from '../../lib/rev/path-walk.js'
import { git, tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-path-walk-')
t.teardown(tmp.cleanup)
const work = join(tmp.path, 'work')
git(['init', '-q', '-b', 'main', work])
const g = (args: string[]): string => git(args, { cwd: work }).stdout.trim()
const commit = (files: Record<string, string>): string => {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true })
    writeFileSync(join(work, path), content)
  }
  g(['add', '-A'])
  g(['commit', '-q', '-m', 'c'])
  return g(['rev-parse', 'HEAD^{tree}'])
}
const trees = [
  commit({ 'a.txt': 'a1\n', 'z.txt': 'kept\n', 'dir/b.txt': 'b1\n', 'dir/sub/c.txt': 'c1\n' }),
  commit({ 'a.txt': 'a2\n', 'dir/sub/c.txt': 'c2\n', 'dir/d.txt': 'd1\n' }),
  // e/f.txt has c1's content: that blob belongs to dir/sub/c.txt, met first
  commit({ 'dir/b.txt': 'b2\n', 'e/f.txt': 'c1\n', 'e/g.txt': 'g1\n' }),
].reverse()
const blob = (content: string): string => git(['hash-object', '--stdin'], { cwd: work, input: content }).stdout.trim()
const loose = (oid: string): string => join(work, '.git', 'objects', oid.slice(0, 2), oid.slice(2))
for (const content of ['a1\n', 'a2\n', 'b1\n', 'b2\n', 'c1\n', 'c2\n', 'd1\n', 'g1\n']) rmSync(loose(blob(content)))

async function run(store: ObjectStore, ...args: Parameters<typeof missingBlobsByPath> extends [unknown, ...infer R] ? R : never): Promise<{ groups: [string, string[]][]; end: PathWalkEnd }> {
  const walk = missingBlobsByPath(store, ...args)
  const groups: [string, string[]][] = []
  for (;;) {
    const r = await walk.next()
    if (r.done === true) return { groups, end: r.value }
    const p: PathBlobs = r.value
    groups.push([p.path, p.blobs])
    t.ok(p.referrers.length > 0, `${p.path}: the trees that name its blobs`)
  }
}

t.test('groups by path in path-walk order, each blob once', async (t) => {
  const store = new ObjectStore(join(work, '.git', 'objects'))
  t.teardown(() => store.close())
  const { groups, end } = await run(store, trees)
  t.same(groups, [
    ['a.txt', [blob('a2\n'), blob('a1\n')]],
    ['dir/b.txt', [blob('b2\n'), blob('b1\n')]],
    ['dir/d.txt', [blob('d1\n')]],
    ['dir/sub/c.txt', [blob('c2\n'), blob('c1\n')]],
    ['e/g.txt', [blob('g1\n')]],
  ])
  t.same(end, {}, 'the walk ran to its end')
})

t.test('a path filter; a tree that is missing ends the walk there', async (t) => {
  const store = new ObjectStore(join(work, '.git', 'objects'))
  t.teardown(() => store.close())
  const filtered = await run(store, trees, { tree: (p) => p !== 'dir/sub', blob: (p) => p !== 'a.txt' })
  t.same(filtered.groups.map(([p]) => p), ['dir/b.txt', 'dir/d.txt', 'e/f.txt', 'e/g.txt'], 'c1 is e/f.txt\'s once dir/sub is turned away')

  const eTree = g(['rev-parse', 'HEAD:e'])
  rmSync(loose(eTree))
  const after = new ObjectStore(join(work, '.git', 'objects'))
  t.teardown(() => after.close())
  const cut = await run(after, trees)
  t.same(cut.groups.map(([p]) => p), ['a.txt', 'dir/b.txt', 'dir/d.txt', 'dir/sub/c.txt'], 'what came before the missing tree stands')
  t.same(cut.end, { missingTree: eTree })
})
