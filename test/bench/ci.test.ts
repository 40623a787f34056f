/**
 * The CI rows' pieces that can go wrong without the bench noticing: the server's count
 * of pack framing (the bytes target judges bytes without it), the actions/checkout
 * script as real git runs it, and the upstream commits being the same for both clients.
 */
import t from 'tap'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { actionsCheckoutScript, firstTopDirectory, upstreamCommitsStream } from '../../bench/ci.js'
import { summarizeRequests } from '../../bench/stats.js'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { makeBigRepo } from '../fixtures/repos.js'
import { startGitServer } from '../fixtures/server.js'

const tmp = tempDir('tsgit-bench-ci-')
t.teardown(tmp.cleanup)
const served = join(tmp.path, 'served')
// ~1 MiB of pack: several pkt-lines of band 1, however git's output is chunked.
const repo = await makeBigRepo(join(served, 'big.git'), { files: 600, commits: 2, fileSize: 1800 })
const server = await startGitServer({ root: served, countPackFraming: true })
t.teardown(() => server.close())
const url = server.url('big.git')

t.test('countPackFraming: the pack as git stored it, and 5 bytes of framing a packet', async (t) => {
  const dest = join(tmp.path, 'clone')
  const before = server.requests.length
  await gitAsync(['clone', '-q', '--bare', url, dest])
  const fetches = server.requests.slice(before).filter((r) => r.command === 'fetch')
  t.equal(fetches.length, 1)
  const f = fetches[0]
  if (f === undefined) return
  const packs = readdirSync(join(dest, 'objects', 'pack')).filter((n) => n.endsWith('.pack'))
  t.equal(packs.length, 1)
  t.equal(f.packBytes, statSync(join(dest, 'objects', 'pack', packs[0] ?? '')).size, "packBytes: the pack file git's clone wrote")
  const framing = f.packFramingBytes ?? NaN
  t.equal(framing % 5, 0, 'a whole number of packets')
  t.ok(framing / 5 >= Math.ceil((f.packBytes ?? 0) / 65515), 'at least as many packets as a pkt-line holds')
  // Left: "packfile\n" (13 bytes) and the final flush (4): git clone -q asks for no progress.
  t.equal(f.bytesOut - (f.packBytes ?? 0) - framing, 17, 'the rest of the answer is its section header and flush')
  const s = summarizeRequests(server.requests.slice(before))
  t.equal(s.packFraming, framing, 'summarizeRequests adds the framing up')
  t.equal(
    server.requests.slice(before).filter((r) => r.command !== 'fetch').every((r) => r.packFramingBytes === undefined),
    true,
    'only a fetch answer has a pack',
  )
})

t.test("actions/checkout's commands, sparse, as real git runs them", async (t) => {
  const dir = join(tmp.path, 'checkout')
  const sparse = firstTopDirectory(repo.path, repo.head)
  t.equal(sparse, 'd0', "the first top-level directory in git's order")
  const steps = actionsCheckoutScript({ dir, url, sha: repo.head, branch: 'main', sparse })
  t.same(
    steps.map((s) => s.name),
    ['init', 'remote add', 'config', 'fetch', 'sparse-checkout', 'checkout', 'log'],
  )
  for (const step of steps) {
    // Asynchronously: the server runs in this process.
    const r = await gitAsync(step.inRepo ? ['-C', dir, ...step.args] : step.args, { allowFail: true })
    t.equal(r.status, 0, `git ${step.args.join(' ')}: ${r.stderr}`)
    if (step.name === 'log') t.equal(r.stdout, `${repo.head}\n`, 'log -1 --format=%H names the commit')
  }
  t.equal(git(['rev-parse', '--is-shallow-repository'], { cwd: dir }).stdout, 'true\n')
  t.equal(git(['status', '--porcelain'], { cwd: dir }).stdout, '', 'git status is clean')
  const top = readdirSync(dir).filter((n) => n !== '.git')
  t.same(top, ['d0'], 'only the cone is written')
})

t.test('the upstream commits are the same objects in every copy', async (t) => {
  const tips: string[] = []
  for (const name of ['a.git', 'b.git']) {
    const copy = join(tmp.path, name)
    git(['clone', '-q', '--mirror', '--shared', repo.path, copy])
    git(['fast-import', '--quiet'], { cwd: copy, input: upstreamCommitsStream('main', repo.head, 100, Number(git(['log', '-1', '--format=%ct', repo.head], { cwd: copy }).stdout.trim())) })
    tips.push(git(['rev-parse', 'main'], { cwd: copy }).stdout.trim())
    t.equal(git(['rev-list', '--count', `${repo.head}..main`], { cwd: copy }).stdout, '100\n', '100 commits on top of the tip')
    const dates = git(['log', '--format=%ct', '-101', 'main'], { cwd: copy }).stdout.trim().split('\n').map(Number)
    t.ok(dates.every((d, i) => i === dates.length - 1 || d > (dates[i + 1] as number)), 'each newer than its parent, the first newer than the tip')
  }
  t.equal(tips[0], tips[1])
})
