/**
 * The negotiation walk against real git: its order is `git rev-list`'s; what the server
 * acknowledged stops it (`git rev-list <tips> --not <common>`); presumed tips go first
 * and hold back what is no newer until settled; what is missing is skipped, not fetched.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ObjectStore } from '../../lib/odb/store.js'
import { COMMON_WALK_LIMIT, HaveWalk } from '../../lib/rev/have-walk.js'
import { git, tempDir } from '../fixtures/git.js'
import { appendHistory, linearHistory } from '../fixtures/repos.js'

const tmp = tempDir('tsgit-have-walk-')
t.teardown(tmp.cleanup)
const dir = join(tmp.path, 'repo')
let date = 1_200_000_000
const rev: Record<string, string> = {}

function commit(name: string): void {
  writeFileSync(join(dir, 'f'), `${name}\n`)
  git(['add', 'f'], { cwd: dir })
  date += 100
  git(['commit', '-q', '-m', name], { cwd: dir, env: { GIT_COMMITTER_DATE: `${date} +0000`, GIT_AUTHOR_DATE: `${date} +0000` } })
  rev[name] = git(['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim()
}

// a1..a6 on main; side branches off a2 (s1..s3, newer) and a4 (old1, older than a6)
git(['init', '-q', '-b', 'main', dir])
for (const n of ['a1', 'a2', 'a3', 'a4']) commit(n)
git(['checkout', '-q', '-b', 'old'], { cwd: dir })
commit('old1')
git(['checkout', '-q', 'main'], { cwd: dir })
commit('a5')
commit('a6')
git(['checkout', '-q', '-b', 'side', rev.a2 as string], { cwd: dir })
for (const n of ['s1', 's2', 's3']) commit(n)
git(['tag', 'v0', rev.a1 as string], { cwd: dir })

const store = new ObjectStore(join(dir, '.git', 'objects'))
t.teardown(() => store.close())
const all = ['main', 'old', 'side', 'v0']
const tips = all.map((r) => ({ oid: git(['rev-parse', r], { cwd: dir }).stdout.trim() }))

async function drain(walk: HaveWalk, step = 3): Promise<string[]> {
  const out: string[] = []
  for (let got = await walk.take(step); got.length > 0; got = await walk.take(step)) out.push(...got)
  return out
}

function revList(...args: string[]): string[] {
  return git(['rev-list', ...args], { cwd: dir }).stdout.split('\n').filter((l) => l !== '')
}

t.test('every local commit once, in git rev-list order', async (t) => {
  const walk = new HaveWalk({ store, fetch: false })
  await walk.add(tips)
  t.same(await drain(walk), revList(...all))
  t.equal(walk.more, false)
})

t.test('an acknowledged commit: it and its ancestors are not offered', async (t) => {
  const walk = new HaveWalk({ store, fetch: false })
  await walk.add(tips)
  const first = await walk.take(2)
  t.same(first, [rev.s3, rev.s2])
  walk.markCommon(rev.s2 as string)
  walk.markCommon(rev.a4 as string)
  t.same(await drain(walk), revList(...all, '--not', rev.s2 as string, rev.a4 as string).filter((o) => !first.includes(o)), 'git rev-list <tips> --not <common>')
  t.equal(walk.more, false)
})

t.test('only the acknowledged commits not below another are resent', async (t) => {
  const walk = new HaveWalk({ store, fetch: false })
  await walk.add([{ oid: rev.a6 as string }])
  t.same(await walk.take(3), [rev.a6, rev.a5, rev.a4])
  walk.markCommon(rev.a4 as string)
  walk.markCommon(rev.a3 as string)
  walk.markCommon(rev.a5 as string)
  t.same(walk.frontier, [rev.a5], 'a3 and a4 are below a5')
  t.same(await walk.take(3), [], 'and nothing is left to offer')
})

t.test('presumed tips first, then only what is newer, until settled', async (t) => {
  const walk = new HaveWalk({ store, fetch: false })
  // main presumed (the remote's own ref): s1..s3 are newer than a6? no: they came after it
  await walk.add([{ oid: rev.a6 as string, presumed: true }, ...tips])
  const first = await walk.take(16)
  t.same(first, [rev.a6, rev.s3, rev.s2, rev.s1], 'the presumed tip, then the commits newer than it; the rest waits')
  t.equal(walk.more, true, 'more to come once settled')
  walk.markCommon(rev.a6 as string)
  walk.settle()
  t.same(await drain(walk), [rev.old1], 'then what is not below the acknowledged tip')
})

t.test('a presumed tip the server did not know: its history is walked after all', async (t) => {
  const walk = new HaveWalk({ store, fetch: false })
  await walk.add([{ oid: rev.a6 as string, presumed: true }, { oid: rev.a5 as string }])
  t.same(await walk.take(16), [rev.a6])
  walk.settle()
  t.same(await drain(walk), revList('main').filter((o) => o !== rev.a6))
})

t.test('what is not here is skipped, never fetched', async (t) => {
  const walk = new HaveWalk({ store, fetch: false })
  await walk.add([{ oid: 'f'.repeat(40) }, { oid: rev.a2 as string }])
  t.same(await drain(walk), [rev.a2, rev.a1])
  t.throws(() => new HaveWalk({ store, fetch: true }))
})

t.test('a shallow commit is offered, its parents are not', async (t) => {
  const shallow = new ObjectStore(join(dir, '.git', 'objects'), { shallow: () => new Set([rev.a4 as string]) })
  t.teardown(() => shallow.close())
  const walk = new HaveWalk({ store: shallow, fetch: false })
  await walk.add([{ oid: rev.a6 as string }])
  t.same(await drain(walk), [rev.a6, rev.a5, rev.a4])
})

t.test('below the boundary the walk stops after COMMON_WALK_LIMIT commits: an old tag does not make it read a long history', async (t) => {
  const long = join(tmp.path, 'long')
  git(['init', '-q', '--bare', '-b', 'main', long])
  appendHistory(long, linearHistory('refs/heads/main', 3 * COMMON_WALK_LIMIT, 'long'))
  const root = git(['rev-list', '--max-parents=0', 'main'], { cwd: long }).stdout.trim()
  const tip = git(['rev-parse', 'main'], { cwd: long }).stdout.trim()
  const counted = new ObjectStore(join(long, 'objects'))
  t.teardown(() => counted.close())
  let reads = 0
  const tryRead = counted.tryRead.bind(counted)
  counted.tryRead = async (oid) => {
    reads++
    return tryRead(oid)
  }
  const walk = new HaveWalk({ store: counted, fetch: false })
  await walk.add([{ oid: tip }, { oid: root }])
  t.same(await walk.take(1), [tip], 'the tip first')
  walk.markCommon(tip)
  walk.settle()
  const rest = await drain(walk, 16)
  t.same(rest, [], 'nothing more offered: the tag is taken to be below what is common')
  t.equal(walk.more, false, 'the walk is over')
  t.ok(reads < COMMON_WALK_LIMIT + 64, `${reads} objects read, not the ${3 * COMMON_WALK_LIMIT} commits down to the tag`)
})

t.test("a tag tip whose peeled commit is given (packed-refs' ^ line): the tag object is not read", async (t) => {
  git(['tag', '-a', '-m', 'annotated', 'v-annotated', rev.a3 as string], { cwd: dir })
  const tag = git(['rev-parse', 'v-annotated'], { cwd: dir }).stdout.trim()
  const counted = new ObjectStore(join(dir, '.git', 'objects'))
  t.teardown(() => counted.close())
  const read: string[] = []
  const tryRead = counted.tryRead.bind(counted)
  counted.tryRead = async (oid) => {
    read.push(oid)
    return tryRead(oid)
  }
  const walk = new HaveWalk({ store: counted, fetch: false })
  await walk.add([{ oid: tag, peeled: rev.a3 as string }])
  t.notOk(read.includes(tag), 'the tag object is not read')
  t.same(await drain(walk), revList('v-annotated^{commit}'), 'its commit and history are offered')
  const plain = new HaveWalk({ store: counted, fetch: false })
  read.length = 0
  await plain.add([{ oid: tag }])
  t.ok(read.includes(tag), 'without the peeled id, the tag is read to peel it')
  t.same(await drain(plain), revList('v-annotated^{commit}'), 'to the same commits')
})
