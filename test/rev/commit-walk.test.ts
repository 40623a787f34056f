/**
 * RevWalk against `git rev-list` in the same repository: commits in git's order (all
 * commits of the fixture share one committer date, so the tie rule decides), limited
 * walks with ^rev, tags peeled, and the pending objects that --objects starts from.
 */
import t from 'tap'
import { join } from 'node:path'
import { MissingObjectError } from '../../lib/errors.js'
import { ObjectStore } from '../../lib/odb/store.js'
import { RefStore } from '../../lib/repo/refs.js'
import { RevWalk, type StartPoint } from '../../lib/rev/commit-walk.js'
import { resolveRevision } from '../../lib/rev/parse.js'
import { git, tempDir } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'

const tmp = tempDir('tsgit-commit-walk-')
t.teardown(tmp.cleanup)
let rich: RichRepo
let store: ObjectStore
let refs: RefStore
t.before(async () => {
  rich = await makeRichRepo(join(tmp.path, 'rich.git'))
  store = new ObjectStore(join(rich.path, 'objects'))
  refs = new RefStore(rich.path)
})
t.teardown(() => store?.close())

/** Start points for `args` (revisions, `^rev`, `<rev>:<path>`), as rev-list's argument parsing makes them. */
async function starts(args: readonly string[]): Promise<StartPoint[]> {
  const out: StartPoint[] = []
  for (const a of args) {
    const uninteresting = a.startsWith('^')
    const name = uninteresting ? a.slice(1) : a
    const colon = name.indexOf(':')
    const path = colon < 0 ? undefined : name.slice(colon + 1)
    out.push({ oid: await resolveRevision({ refs, store }, name), name, path, uninteresting })
  }
  return out
}

async function walk(args: readonly string[], objects = false): Promise<{ commits: string[]; w: RevWalk }> {
  const w = new RevWalk({ store, fetch: false }, { objects })
  for (const s of await starts(args)) await w.add(s)
  const commits: string[] = []
  for (let c = await w.next(); c; c = await w.next()) commits.push(c.oid)
  return { commits, w }
}

const ARGS: string[][] = [
  ['HEAD'],
  ['HEAD~2'],
  ['feature/b05', 'feature/b02', 'main'],
  ['HEAD', '^HEAD~3'],
  ['main', '^feature/b03', '^feature/b01'],
  ['v1.0', 'tag-of-tag'],
  ['light', 'HEAD~1', '^v1.0'],
]

t.test('commits in the order git prints them', async (t) => {
  for (const args of ARGS) {
    const ours = (await walk(args)).commits
    const theirs = git(['rev-list', ...args], { cwd: rich.path }).stdout.split('\n').filter(Boolean)
    t.same(ours, theirs, `rev-list ${args.join(' ')}`)
  }
})

t.test('--objects: tags, then the root tree of each commit shown, as pending objects', async (t) => {
  const { commits, w } = await walk(['tag-of-tag', 'blob-tag', 'HEAD:src', 'HEAD~1', '^HEAD~3'], true)
  const tags = w.pending.filter((p) => p.type === 'tag')
  t.same(tags.map((p) => p.name), ['tag-of-tag', 'v1.0', 'blob-tag'], 'a tag of a tag: both tags, by their own names')
  const blob = w.pending.find((p) => p.type === 'blob')
  t.equal(blob?.oid, git(['rev-parse', 'HEAD:README.md'], { cwd: rich.path }).stdout.trim(), 'a tag of a blob leaves the blob pending')
  t.equal(blob?.path, '', 'without the path of the name that led to its tag')
  const src = w.pending.find((p) => p.type === 'tree' && p.path === 'src')
  t.ok(src, 'a <rev>:<path> tree is pending with its path')
  const roots = w.pending.filter((p) => p.type === 'tree' && p.referrer !== undefined)
  t.same(roots.map((p) => p.referrer), commits, 'one root tree per commit shown, in order, the commit as referrer')
  for (const r of roots) t.equal(r.oid, git(['rev-parse', `${r.referrer}^{tree}`], { cwd: rich.path }).stdout.trim())
  t.ok(w.uninteresting.has(git(['rev-parse', 'HEAD~3^{tree}'], { cwd: rich.path }).stdout.trim()), 'the boundary\'s tree is uninteresting')
})

t.test('a start point that names nothing readable', async (t) => {
  const w = new RevWalk({ store, fetch: false }, { objects: false })
  await t.rejects(w.add({ oid: 'f'.repeat(40), name: 'nothing', uninteresting: false }), MissingObjectError)
  const blob = git(['rev-parse', 'HEAD:README.md'], { cwd: rich.path }).stdout.trim()
  await t.rejects(w.commit(blob), MissingObjectError, 'commit() of a blob')
})
