/**
 * tsgit fetch's negotiation, judged against git fetch on identical copies of one old
 * clone of a long history (made quickly with git fast-import): after 1, 100 and 10,000
 * new commits upstream, and in a clone whose branch went its own way with many commits
 * the server never saw, and with nothing in common. What the server saw (requests, bytes sent, haves offered) and
 * what came (the objects of the new pack) are compared; refs and git fsck checked.
 */
import t, { type Test } from 'tap'
import { cpSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { startGitServer, type RecordedRequest } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'
import { appendHistory, linearHistory } from '../fixtures/repos.js'

const BASE_COMMITS = 3000
let cases = 0
const srv = serveRepos(t, 'tsgit-nego-', async (root) => {
  git(['init', '-q', '--bare', '-b', 'main', join(root, 'base.git')])
  appendHistory(join(root, 'base.git'), linearHistory('refs/heads/main', BASE_COMMITS, 'base'))
  // a tag deep in history and a second branch, as an old clone has
  git(['tag', 'v1', 'main~2000'], { cwd: join(root, 'base.git') })
  git(['branch', 'old', 'main~1000'], { cwd: join(root, 'base.git') })
  // One thread for the server's delta search: the same request gets the same pack, byte for byte.
  git(['config', 'pack.threads', '1'], { cwd: join(root, 'base.git') })
})

/** A served copy of the base repository and an old clone of it, made by git. */
async function oldClone(): Promise<{ repo: string; url: string; clone: string }> {
  const name = `case${cases++}.git`
  const repo = join(srv.root, name)
  cpSync(join(srv.root, 'base.git'), repo, { recursive: true })
  const clone = srv.dest('clone')
  await gitAsync(['clone', '-q', srv.server.url(name), clone])
  return { repo, url: srv.server.url(name), clone }
}

interface Seen {
  requests: number
  fetches: number
  bytes: number
  haves: number
  /** Fetch requests that said `done`. */
  done: number
}

function seen(reqs: readonly RecordedRequest[]): Seen {
  const fetches = reqs.filter((r) => r.command === 'fetch')
  return {
    requests: reqs.length,
    fetches: fetches.length,
    bytes: reqs.reduce((n, r) => n + r.bytesOut, 0),
    haves: fetches.reduce((n, r) => n + r.args.filter((a) => a.startsWith('have ')).length, 0),
    done: fetches.filter((r) => r.args.includes('done')).length,
  }
}

function packs(dir: string): Set<string> {
  return new Set(readdirSync(join(dir, '.git', 'objects', 'pack')).filter((f) => f.endsWith('.idx')))
}

/** The objects of the packs that were not there before. */
function newObjects(dir: string, before: Set<string>): string[] {
  const out: string[] = []
  for (const idx of packs(dir)) {
    if (before.has(idx)) continue
    const lines = git(['show-index'], { cwd: dir, input: readFileSync(join(dir, '.git', 'objects', 'pack', idx)) }).stdout.split('\n')
    for (const l of lines) if (l !== '') out.push(l.split(' ')[1] as string)
  }
  return out
}

/** How many of `oids` `dir` has. */
function presentIn(dir: string, oids: readonly string[]): number {
  const r = git(['cat-file', '--batch-check=%(objectname)'], { cwd: dir, input: oids.map((o) => `${o}\n`).join('') })
  return r.stdout.split('\n').filter((l) => l !== '' && !l.endsWith(' missing')).length
}

function refsOf(dir: string): string {
  return git(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: dir }).stdout
}

/**
 * Fetches into two copies of `clone`, tsgit's and git's, and compares what the server saw
 * and what came. Returns both sides' numbers.
 */
async function race(t: Test, clone: string, upstream: { repo: string; added: () => void }, fetchArgs: string[] = []): Promise<{ ours: Seen; theirs: Seen }> {
  upstream.added()
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  cpSync(clone, ours, { recursive: true })
  cpSync(clone, theirs, { recursive: true })
  const oldTip = git(['rev-parse', 'main'], { cwd: join(srv.root, 'base.git') }).stdout.trim()
  const newTip = git(['rev-parse', 'refs/heads/main'], { cwd: upstream.repo }).stdout.trim()
  // What has to come: the objects of the new history and nothing the clone has.
  const needed = git(['rev-list', '--objects', '--count', newTip, '--not', oldTip], { cwd: upstream.repo }).stdout.trim()

  const packsBefore = packs(ours)
  let since = srv.server.requests.length
  const r = await tsgit(['fetch', '-q', ...fetchArgs], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const mine = seen(srv.server.requests.slice(since))
  since = srv.server.requests.length
  // (the pack kept whatever its size, as tsgit keeps it, to count what came)
  await gitAsync(['-c', 'fetch.unpackLimit=1', 'fetch', '-q', ...fetchArgs], { cwd: theirs })
  const others = seen(srv.server.requests.slice(since))

  t.equal(refsOf(ours), refsOf(theirs), 'the same refs as git')
  t.equal(git(['fsck', '--strict', '--no-progress'], { cwd: ours }).status, 0, 'git fsck')
  // Both asked for a thin pack: its deltas' bases were here and are appended to the
  // pack (index-pack --fix-thin); everything else in it is new.
  const got = newObjects(ours, packsBefore)
  const gitGot = newObjects(theirs, packsBefore)
  t.equal(got.length - presentIn(clone, got), Number(needed), 'the pack has the new objects, and of what the clone had only the bases of its deltas')
  t.ok(got.length <= gitGot.length, `no more objects than git received (${got.length} vs ${gitGot.length})`)
  t.ok(mine.requests <= others.requests, `no more requests than git (${mine.requests} vs ${others.requests})`)
  t.ok(mine.haves <= others.haves, `no more haves than git (${mine.haves} vs ${others.haves})`)
  // The margin: upload-pack forwards the pack in side-band packets as pack-objects'
  // output reaches it through a pipe, so how many packets (5 bytes of framing each) the
  // same pack takes varies from one run to the next; one packet per KiB is far more than
  // that ever moves. The acknowledgments and the pack itself must be no bigger.
  const slack = 5 * Math.ceil(others.bytes / 1024)
  t.ok(mine.bytes <= others.bytes + slack, `no more bytes than git, give or take side-band framing (${mine.bytes} vs ${others.bytes} + ${slack})`)
  t.comment(`tsgit ${JSON.stringify(mine)} git ${JSON.stringify(others)}`)
  return { ours: mine, theirs: others }
}

for (const added of [1, 100, 10_000]) {
  t.test(`${added} new commit(s) upstream`, async (t) => {
    const { repo, clone } = await oldClone()
    const { ours } = await race(t, clone, { repo, added: () => appendHistory(repo, linearHistory('refs/heads/main', added, `up${added}`, 'refs/heads/main^0')) })
    t.equal(ours.fetches, 1, 'one fetch request: the tip the server sent last time is common at once')
    t.equal(ours.done, 0, 'the server said ready: the pack came in the answer to that round')
  })
}

/** An old clone whose main went its own way: `local` commits the server never saw, on top of what it cloned. */
async function divergedClone(local: number): Promise<{ repo: string; url: string; clone: string }> {
  const c = await oldClone()
  appendHistory(c.clone, linearHistory('refs/heads/main', local, 'local', 'refs/heads/main^0'))
  return c
}

t.test('a clone with 2,000 commits of its own: the server finds the common base in one round', async (t) => {
  const { repo, clone } = await divergedClone(2000)
  const { ours, theirs } = await race(t, clone, { repo, added: () => appendHistory(repo, linearHistory('refs/heads/main', 100, 'up-diverged', 'refs/heads/main^0')) })
  t.equal(ours.fetches, 1, 'one fetch request: the remote-tracking tip offered first')
  t.ok(theirs.fetches > 1, `git needed ${theirs.fetches} rounds, offering its own commits first`)
})

t.test('no remote-tracking ref to start from (a fetch by URL): rounds growing until the base is found', async (t) => {
  const { repo, url, clone } = await divergedClone(2000)
  // Nothing says what the server has: every ref but the local branch goes.
  for (const ref of git(['for-each-ref', '--format=%(refname)'], { cwd: clone }).stdout.split('\n')) {
    if (ref !== '' && ref !== 'refs/heads/main') git(['update-ref', '-d', ref], { cwd: clone })
  }
  const { ours, theirs } = await race(t, clone, { repo, added: () => appendHistory(repo, linearHistory('refs/heads/main', 100, 'up-url', 'refs/heads/main^0')) }, [url, 'main:refs/remotes/origin/main'])
  t.ok(ours.fetches > 1, `negotiated over ${ours.fetches} requests (git: ${theirs.fetches})`)
})

t.test('an unrelated history: every local commit offered, then done', async (t) => {
  const other = join(srv.root, 'other.git')
  git(['init', '-q', '--bare', '-b', 'main', other])
  appendHistory(other, linearHistory('refs/heads/main', 30, 'other'))
  const local = srv.dest('unrelated')
  git(['init', '-q', '-b', 'main', local])
  appendHistory(local, linearHistory('refs/heads/main', 40, 'mine'))
  const theirs = srv.dest('unrelated-git')
  cpSync(local, theirs, { recursive: true })
  const spec = [srv.server.url('other.git'), 'main:refs/remotes/other/main']
  let since = srv.server.requests.length
  const r = await tsgit(['fetch', '-q', ...spec], { cwd: local })
  t.equal(r.status, 0, r.stderr)
  const mine = seen(srv.server.requests.slice(since))
  since = srv.server.requests.length
  await gitAsync(['fetch', '-q', ...spec], { cwd: theirs })
  const others = seen(srv.server.requests.slice(since))
  t.comment(`tsgit ${JSON.stringify(mine)} git ${JSON.stringify(others)}`)
  t.equal(mine.haves, 40, 'each local commit offered once')
  t.same([mine.fetches, mine.done], [2, 1], '16, then the 24 left with done')
  t.ok(mine.fetches <= others.fetches, `no more requests than git (${mine.fetches} vs ${others.fetches})`)
  t.equal(refsOf(local), refsOf(theirs))
  t.equal(git(['fsck', '--strict', '--no-progress'], { cwd: local }).status, 0, 'git fsck')
})

t.test('a shallow clone whose upstream rewrote its last commits: its tips as haves in one request, no more than git', async (t) => {
  const name = `case${cases++}.git`
  const repo = join(srv.root, name)
  cpSync(join(srv.root, 'base.git'), repo, { recursive: true })
  const clone = srv.dest('shallow')
  await gitAsync(['clone', '-q', '--depth=300', srv.server.url(name), clone])
  // upstream: the last 5 commits replaced, 10 more on top (a force push)
  const rewrite = (): void => {
    const base = git(['rev-parse', 'main~5'], { cwd: repo }).stdout.trim()
    git(['fast-import', '--quiet', '--force'], { cwd: repo, input: linearHistory('refs/heads/main', 15, 'rewritten', base) })
  }
  // (the server keeps the replaced commits, so the old tip is still common: one request
  // is enough, as the one tsgit makes in a shallow repository)
  const { ours } = await race(t, clone, { repo, added: rewrite })
  t.equal(ours.fetches, 1, 'one request')
})

t.test('a server that acknowledges what was never offered: refused, nothing changed', async (t) => {
  const { repo, clone } = await oldClone()
  appendHistory(repo, linearHistory('refs/heads/main', 5, 'up-hostile', 'refs/heads/main^0'))
  const name = repo.slice(srv.root.length + 1)
  const liar = await startGitServer({
    root: srv.root,
    intercept: (req) => {
      if (req.command !== 'fetch' || req.args.includes('done')) return undefined
      const lines = ['acknowledgments\n', `ACK ${'e'.repeat(40)}\n`].map((l) => Buffer.concat([Buffer.from((Buffer.byteLength(l) + 4).toString(16).padStart(4, '0')), Buffer.from(l)]))
      return { headers: { 'Content-Type': 'application/x-git-upload-pack-result' }, body: Buffer.concat([...lines, Buffer.from('0000')]) }
    },
  })
  t.teardown(() => liar.close())
  git(['remote', 'set-url', 'origin', liar.url(name)], { cwd: clone })
  const before = refsOf(clone)
  const r = await tsgit(['fetch', '-q'], { cwd: clone })
  t.equal(r.status, 128)
  t.match(r.stderr, /ACK for e{40}, which was never offered/)
  t.equal(refsOf(clone), before, 'no ref moved')
})

/** The `have` lines of the fetch requests from request number `since` on. */
function havesSince(since: number): string[] {
  return srv.server.requests.slice(since).filter((r) => r.command === 'fetch').flatMap((r) => r.args.filter((a) => a.startsWith('have ')).map((a) => a.slice(5)))
}

t.test('fetch.negotiationAlgorithm=noop: no haves at all, as git', async (t) => {
  const { repo, clone } = await oldClone()
  git(['config', 'fetch.negotiationAlgorithm', 'NoOp'], { cwd: clone })
  const { ours, theirs } = await race(t, clone, { repo, added: () => appendHistory(repo, linearHistory('refs/heads/main', 10, 'up-noop', 'refs/heads/main^0')) })
  t.same([ours.haves, theirs.haves], [0, 0], 'neither offers a commit')
  t.same([ours.fetches, ours.done], [1, 1], 'one request, with done')
})

t.test('--negotiation-tip: haves only from the history of the revisions and refs it names and what the server listed, as git', async (t) => {
  const { repo, clone } = await oldClone()
  const listedTips = new Set(git(['for-each-ref', '--format=%(objectname)', 'refs/heads/'], { cwd: repo }).stdout.split('\n').filter((l) => l !== ''))
  appendHistory(repo, linearHistory('refs/heads/main', 10, 'up-tip', 'refs/heads/main^0'))
  // (a local branch of its own, so that leaving it out is seen)
  appendHistory(clone, linearHistory('refs/heads/mine', 20, 'mine', 'refs/heads/main^0'))
  const mine = git(['rev-parse', 'mine'], { cwd: clone }).stdout.trim()
  for (const [tip, below] of [['v1', 'v1'], ['refs/remotes/origin/o*', 'origin/old'], ['remotes/origin/o?d', 'origin/old']] as const) {
    const history = new Set(git(['rev-list', below], { cwd: clone }).stdout.split('\n').filter((l) => l !== ''))
    const seenBy: Record<string, number> = {}
    for (const client of ['tsgit', 'git'] as const) {
      const dir = srv.dest(`tip-${client}`)
      cpSync(clone, dir, { recursive: true })
      const since = srv.server.requests.length
      const r = client === 'tsgit' ? await tsgit(['fetch', '-q', `--negotiation-tip=${tip}`], { cwd: dir }) : await gitAsync(['fetch', '-q', `--negotiation-tip=${tip}`], { cwd: dir })
      t.equal(r.status, 0, r.stderr)
      const haves = havesSince(since)
      t.ok(haves.length > 0 && haves.every((h) => history.has(h) || listedTips.has(h)), `${client} --negotiation-tip=${tip}: ${haves.length} haves, each in the history of ${below} or a tip the server listed`)
      t.notOk(haves.includes(mine), 'the local branch left out is not offered')
      t.equal(git(['rev-parse', 'refs/remotes/origin/main'], { cwd: dir }).stdout, git(['rev-parse', 'main'], { cwd: repo }).stdout, 'and the new tip came')
      seenBy[client] = srv.server.requests.slice(since).reduce((n, q) => n + q.bytesOut, 0)
    }
    const slack = 5 * Math.ceil((seenBy.git as number) / 1024)
    t.ok((seenBy.tsgit as number) <= (seenBy.git as number) + slack, `no more bytes than git (${seenBy.tsgit} vs ${seenBy.git})`)
  }
})

t.test('bad negotiation settings: git\'s messages and exit status, before connecting', async (t) => {
  const { clone } = await oldClone()
  const cases: string[][] = [
    ['-c', 'fetch.negotiationAlgorithm=bogus', 'fetch', 'origin'],
    ['fetch', '--negotiation-tip=no-such-thing', 'origin'],
    ['fetch', '--negotiation-tip=0123456789012345678901234567890123456789', 'origin'],
  ]
  for (const args of cases) {
    const since = srv.server.requests.length
    const r = await tsgit(args, { cwd: clone })
    const g = await gitAsync(args, { cwd: clone, allowFail: true })
    t.equal(r.status, 128, `${args.join(' ')}: exit 128`)
    t.equal(r.stderr, g.stderr, `git's words: ${g.stderr.trim()}`)
    t.equal(srv.server.requests.length, since, 'nothing asked of the server')
  }
  const r = await tsgit(['fetch', '-q', '--negotiation-tip=refs/none/*', 'origin'], { cwd: clone })
  const g = await gitAsync(['fetch', '-q', '--negotiation-tip=refs/none/*', 'origin'], { cwd: clone, allowFail: true })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr, g.stderr, `a glob that matches no ref is ignored with git's warning: ${g.stderr.trim()}`)
})
