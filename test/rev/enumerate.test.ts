/**
 * enumerateObjects after a RevWalk against `git rev-list --objects`: the same objects,
 * names and order; a path filter, the `shown` set, and objects that are not there.
 */
import t from 'tap'
import { join } from 'node:path'
import { ObjectStore } from '../../lib/odb/store.js'
import { RefStore } from '../../lib/repo/refs.js'
import { RevWalk } from '../../lib/rev/commit-walk.js'
import { enumerateObjects, type WalkedObject } from '../../lib/rev/enumerate.js'
import { resolveRevision } from '../../lib/rev/parse.js'
import type { PathFilter } from '../../lib/rev/paths.js'
import { git, tempDir } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'

const tmp = tempDir('tsgit-enumerate-')
t.teardown(tmp.cleanup)
let rich: RichRepo
let store: ObjectStore
t.before(async () => {
  rich = await makeRichRepo(join(tmp.path, 'rich.git'))
  store = new ObjectStore(join(rich.path, 'objects'))
})
t.teardown(() => store?.close())

async function collect(it: AsyncIterable<WalkedObject>): Promise<WalkedObject[]> {
  const out: WalkedObject[] = []
  for await (const o of it) out.push(o)
  return out
}

/** The objects of the walk of `args` (revisions and ^revisions), as rev-list prints them. */
async function walked(args: readonly string[], options: { filter?: PathFilter; shown?: Set<string> } = {}): Promise<{ lines: string[] }> {
  const refs = new RefStore(rich.path)
  const w = new RevWalk({ store, fetch: false }, { objects: true })
  for (const a of args) {
    const uninteresting = a.startsWith('^')
    const name = uninteresting ? a.slice(1) : a
    await w.add({ oid: await resolveRevision({ refs, store }, name), name, uninteresting })
  }
  // walking the commits is what queues their root trees as pending objects
  while ((await w.next()) !== undefined) continue
  const objects = await collect(enumerateObjects(store, w.pending, w.uninteresting, options.shown, options.filter))
  t.ok(objects.every((o) => o.present), 'every object is there')
  return { lines: objects.map((o) => `${o.oid} ${o.name}`) }
}

/** git's objects lines (after its commit lines). */
function gitObjects(args: readonly string[]): string[] {
  const lines = git(['rev-list', '--objects', ...args], { cwd: rich.path }).stdout.split('\n').filter(Boolean)
  const commits = git(['rev-list', ...args], { cwd: rich.path }).stdout.split('\n').filter(Boolean).length
  return lines.slice(commits)
}

t.test('the objects git prints, in its order', async (t) => {
  for (const args of [['HEAD'], ['HEAD', '^HEAD~3'], ['feature/b04', 'feature/b01', '^feature/b00'], ['v1.0', 'tag-of-tag', 'blob-tag']]) {
    const { lines } = await walked(args)
    t.same(lines, gitObjects(args), `rev-list --objects ${args.join(' ')}`)
  }
})

t.test('a path filter turns away what it does not accept; shown objects are not yielded again', async (t) => {
  const noDocs: PathFilter = { tree: (p) => p !== 'docs', blob: (p) => !p.endsWith('.sh') }
  const { lines } = await walked(['HEAD'], { filter: noDocs })
  const expected = gitObjects(['HEAD']).filter((l) => !/ (docs(\/|$)|.*\.sh$)/.test(l))
  t.same(lines, expected, 'git\'s list without docs/ and the *.sh files')
  const shown = new Set<string>()
  t.same((await walked(['HEAD~2'], { shown })).lines, gitObjects(['HEAD~2']))
  const again = await walked(['HEAD~1'], { shown })
  const olderObjects = new Set(gitObjects(['HEAD~2']).map((l) => l.slice(0, 40)))
  t.same(again.lines, gitObjects(['HEAD~1']).filter((l) => !olderObjects.has(l.slice(0, 40))), 'only what the first walk did not show')
})

t.test('objects that are not there are yielded as absent, a tree not entered', async (t) => {
  const tree = 'e'.repeat(40)
  const blob = 'b'.repeat(40)
  const objects = await collect(
    enumerateObjects(store, [{ oid: tree, type: 'tree', path: 'gone' }, { oid: blob, type: 'blob', path: 'gone.txt', referrer: tree }, { oid: tree, type: 'tree', path: 'again' }], new Set()),
  )
  t.same(
    objects.map((o) => [o.oid, o.type, o.name, o.present]),
    [[tree, 'tree', 'gone', false], [blob, 'blob', 'gone.txt', false]],
    'each once, with its path, absent',
  )
  t.equal(objects[1]?.referrer, tree)
})
