/**
 * tsgit killed with SIGKILL (nothing runs after it: no cleanup, no state written) at 20
 * points from its first request to the end of its checkout, chosen by what the server
 * sees: a request arriving, a fraction of a pack gone out, a checkout's lazy fetch. After
 * each, real git reads the directory without calling it corrupt, and tsgit clone-resume
 * (the same clone command when the kill came before the repository said what it is)
 * finishes it into the clone an uncut run makes.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { git, pinnedEnv } from '../fixtures/git.js'
import { makeBigRepo } from '../fixtures/repos.js'
import { startGitServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { serveRepos } from '../fixtures/served.js'
import { assertSameClone, gitDirOf, resumeState } from '../fixtures/clone-shape.js'
import { TSGIT_BIN, tsgit } from '../fixtures/tsgit.js'

const srv = serveRepos(t, 'tsgit-clone-kill-', async (root) => {
  const big = await makeBigRepo(join(root, 'big.git'), { files: 200, commits: 60, fileSize: 2000 })
  git(['tag', 'v0', big.commits[0] as string], { cwd: big.path })
})
const { dest } = srv

/** When to kill: at the n-th request of the clone (1-based), or once the n-th fetch's pack has sent this fraction. */
type Point = { kind: 'request'; n: number; what: string } | { kind: 'pack'; fetch: number; fraction: number }

let victim: ChildProcess | undefined
let point: Point | undefined
let seen = 0
let fetches = 0
/** Pack sizes of each fetch of an uncut clone, per kind of clone. */
const packSizes = new Map<string, number[]>()
let kindNow = ''
let measuring: number[] | undefined

function kill(): void {
  victim?.kill('SIGKILL')
  victim = undefined
  point = undefined
}

let server: GitServer
t.before(async () => {
  server = await startGitServer({
    root: srv.root,
    config: { 'pack.threads': '1' },
    beforeAnswer: async (req: RecordedRequest) => {
      seen++
      if (req.command === 'fetch') fetches++
      if (point?.kind === 'request' && point.n === seen) kill()
    },
    onPackBytes: (req, bytes) => {
      if (measuring !== undefined) measuring[fetches - 1] = bytes
      if (point?.kind !== 'pack' || point.fetch !== fetches) return
      const total = packSizes.get(kindNow)?.[fetches - 1] ?? Infinity
      if (bytes >= total * point.fraction) kill()
    },
  })
})
t.teardown(() => server.close())

function run(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [TSGIT_BIN, ...args], { env: pinnedEnv(), stdio: ['ignore', 'ignore', 'ignore'] })
  victim = child
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(signal === 'SIGKILL' ? null : code)))
}

const references = new Map<string, string>()

async function reference(kind: string, args: string[]): Promise<string> {
  const known = references.get(kind)
  if (known !== undefined) return known
  const dir = dest('ref-')
  measuring = []
  fetches = 0
  const r = await tsgit(['clone', '-q', ...args, server.url('big.git'), dir])
  packSizes.set(kind, measuring)
  measuring = undefined
  if (r.status !== 0) throw new Error(r.stderr)
  references.set(kind, dir)
  return dir
}

const FULL: [string, string[]] = ['full', []]
const BLOBLESS: [string, string[]] = ['blob:none', ['--filter=blob:none']]

// Over http the advertisement and the speculative ls-refs arrive together: requests 1 and 2.
const points: [[string, string[]], Point][] = [
  [FULL, { kind: 'request', n: 1, what: 'the advertisement' }],
  [FULL, { kind: 'request', n: 2, what: 'ls-refs' }],
  [FULL, { kind: 'request', n: 3, what: 'the fetch' }],
  ...[0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9].map((fraction): [[string, string[]], Point] => [FULL, { kind: 'pack', fetch: 1, fraction }]),
  [FULL, { kind: 'pack', fetch: 1, fraction: 1 }],
  [BLOBLESS, { kind: 'request', n: 3, what: 'the fetch' }],
  ...[0.2, 0.5, 0.8].map((fraction): [[string, string[]], Point] => [BLOBLESS, { kind: 'pack', fetch: 1, fraction }]),
  [BLOBLESS, { kind: 'pack', fetch: 1, fraction: 1 }],
  [BLOBLESS, { kind: 'request', n: 4, what: "the checkout's lazy fetch (its advertisement)" }],
  ...[0.3, 0.7].map((fraction): [[string, string[]], Point] => [BLOBLESS, { kind: 'pack', fetch: 2, fraction }]),
  [BLOBLESS, { kind: 'pack', fetch: 2, fraction: 1 }],
]

t.equal(points.length, 20, 'twenty points')

for (const [i, [[kind, args], p]] of points.entries()) {
  const where = p.kind === 'request' ? `at ${p.what}` : `with ${Math.round(p.fraction * 100)}% of fetch ${p.fetch}'s pack sent`
  t.test(`${kind} clone killed ${where}`, async (t) => {
    const ref = await reference(kind, args)
    const d = dest(`kill${i}-`)
    kindNow = kind
    seen = 0
    fetches = 0
    point = p
    const code = await run(['clone', ...args, server.url('big.git'), d])
    point = undefined
    t.equal(code, null, 'killed')
    if (!existsSync(join(d, '.git'))) {
      t.ok(i < 2, 'only a kill at the very first requests can come before the repository exists')
    } else {
      // Real git reads what a killed clone leaves without calling it corrupt (killed
      // before HEAD was written, it is not a repository to git yet: also fine).
      const fsck = git(['fsck', '--no-dangling'], { cwd: gitDirOf(d), allowFail: true })
      const status = git(['status', '--porcelain'], { cwd: d, allowFail: true })
      const said = `${fsck.stdout}${fsck.stderr}${status.stderr}`.replace(/fatal: not a git repository[^\n]*\n?/g, '')
      t.notMatch(said, /corrupt|bad object|broken link|missing (commit|tree|blob)|error:|fatal:/i, `git fsck and status: ${said}`)
    }
    const state = existsSync(join(d, '.git')) ? resumeState(d) : ''
    const finish = state.includes('cloneresume.url') ? await tsgit(['clone-resume', d]) : await tsgit(['clone', ...args, server.url('big.git'), d])
    t.equal(finish.status, 0, `finished (${state.includes('cloneresume.url') ? 'clone-resume' : 'the clone again'}): ${finish.stderr}`)
    assertSameClone(t, d, ref, `${kind} killed ${where}`)
  })
}
