/**
 * A blob:none clone with a checkout gets HEAD's blobs in a second request, after its
 * own pack is in: the checkout's lazy fetch. A cut there (the real git http-backend
 * resetting the connection at a chosen byte of that pack) leaves an unfinished clone,
 * not a finished one whose checkout failed: kept with its state, exit 128 and the
 * hint to run clone-resume, the whole objects that arrived kept in a promisor pack.
 * clone-resume (or the same clone again, or clone's own retries) then asks only for
 * the blobs still missing and makes the clone an uncut run makes; real git judges it.
 * The same after SIGKILL and SIGINT in that fetch (the file its state names is
 * salvaged by the resume). A 404 there is no cut: the clone ends as git's does.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { join } from 'node:path'
import { git, pinnedEnv } from '../fixtures/git.js'
import { makeBigRepo } from '../fixtures/repos.js'
import { startGitServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { serveRepos } from '../fixtures/served.js'
import { assertSameClone, gitDirOf, leftovers, resumeState } from '../fixtures/clone-shape.js'
import { TSGIT_BIN, tsgit } from '../fixtures/tsgit.js'
import { workTreeFiles } from '../fixtures/worktree-files.js'

const srv = serveRepos(t, 'tsgit-clone-resume-checkout-', async (root) => {
  // HEAD's blobs about 2 MiB packed: a cut loses at most one packet (64 KiB) of what arrived
  await makeBigRepo(join(root, 'big.git'), { files: 400, commits: 4, fileSize: 16000 })
})
const { dest } = srv

/** The n-th fetch request of the run under test (1-based) is cut at this many bytes of its pack. */
let cut: { fetch: number; at: number } | undefined
/** Fetch requests seen since the run under test began. */
let fetchesSeen = 0
/** Pack bytes each fetch of an uncut clone sent, in order. */
let measuring: number[] | undefined

let server: GitServer
t.before(async () => {
  server = await startGitServer({
    root: srv.root,
    // one thread: the same pack, byte for byte, for the same request
    config: { 'pack.threads': '1' },
    cutInPack: (req) => {
      if (req.command !== 'fetch') return undefined
      fetchesSeen++
      if (cut === undefined || cut.fetch !== fetchesSeen) return undefined
      const at = cut.at
      cut = undefined
      return at
    },
    onPackBytes: (_req, bytes) => {
      if (measuring !== undefined) measuring[fetchesSeen - 1] = bytes
    },
  })
})
t.teardown(() => server.close())

function fetchesSince(since: number): RecordedRequest[] {
  return server.requests.slice(since).filter((r) => r.command === 'fetch')
}

/** Bytes the server sent for fetch requests from request number `since` on. */
function fetchBytes(since: number): number {
  return fetchesSince(since).reduce((n, r) => n + r.bytesOut, 0)
}

interface Reference {
  dir: string
  /** Pack bytes of the clone's own fetch and of the checkout's blob fetch. */
  packs: number[]
  /** Bytes the server sent for the checkout's blob fetch (its whole answer). */
  blobFetchBytes: number
  /** The blobs the checkout fetched. */
  blobs: number
}

let ref: Reference | undefined

/** An uncut blob:none clone with its checkout: the reference, and what its two fetches sent. */
async function reference(): Promise<Reference> {
  if (ref !== undefined) return ref
  const dir = dest('ref-')
  measuring = []
  fetchesSeen = 0
  const since = server.requests.length
  const r = await tsgit(['clone', '-q', '--filter=blob:none', server.url('big.git'), dir])
  const packs = measuring
  measuring = undefined
  if (r.status !== 0) throw new Error(r.stderr)
  const fetches = fetchesSince(since)
  if (fetches.length !== 2 || packs.length !== 2) throw new Error(`expected the clone's fetch and the checkout's: ${fetches.length} fetches`)
  const blobFetch = fetches[1] as RecordedRequest
  const blobs = blobFetch.args.filter((a) => a.startsWith('want ')).length
  ref = { dir, packs, blobFetchBytes: blobFetch.bytesOut, blobs }
  return ref
}

/** The blobs present in a clone (in any pack or loose). */
function blobsIn(dir: string): number {
  return git(['cat-file', '--batch-all-objects', '--batch-check=%(objecttype)'], { cwd: gitDirOf(dir) }).stdout.split('\n').filter((l) => l === 'blob').length
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

for (const fraction of [0.25, 0.5, 0.9]) {
  t.test(`blob:none clone cut at ${fraction * 100}% of its checkout's blob fetch: kept, then clone-resume fetches only the missing blobs`, async (t) => {
    const r0 = await reference()
    const d = dest(`cut${fraction * 100}-`)
    fetchesSeen = 0
    cut = { fetch: 2, at: Math.floor((r0.packs[1] as number) * fraction) }
    const before = server.requests.length
    const cutRun = await tsgit(['clone', '--retries', '0', '--filter=blob:none', server.url('big.git'), d])
    t.equal(cutRun.status, 128, 'exit 128')
    const cutFetch = fetchesSince(before)[1]
    t.equal(cutFetch?.cut, true, '(the server cut the blob fetch)')
    t.notMatch(cutRun.stderr, /Clone succeeded, but checkout failed/, 'the clone did not succeed: it is unfinished')
    t.match(cutRun.stderr, /(^|\n)fatal: could not fetch [0-9a-f]{40} from promisor remote\(s\) origin: the remote end hung up unexpectedly/, 'fatal: and its cause')
    t.match(cutRun.stderr, new RegExp(`\\nhint: .*tsgit clone-resume ${escape(d)}.*\\n$`), `ends with the command that finishes it: ${cutRun.stderr}`)
    t.ok(existsSync(join(d, '.git')), 'the directory is kept')
    t.same(workTreeFiles(d), [], 'the files written as their blobs arrived are taken back')
    t.match(resumeState(d), /cloneresume\.phase checkout/, 'its state says it is checking out')
    const kept = blobsIn(d)
    t.ok(kept > 0 && kept < r0.blobs, `the whole blobs that arrived before the cut are kept (${kept} of ${r0.blobs})`)
    const packDir = join(gitDirOf(d), 'objects', 'pack')
    for (const p of readdirSync(packDir).filter((n) => n.endsWith('.pack'))) {
      t.ok(existsSync(join(packDir, p.replace(/\.pack$/, '.promisor'))), `${p} is a promisor pack`)
    }
    const fsck = git(['fsck', '--no-dangling'], { cwd: gitDirOf(d), allowFail: true })
    t.equal(fsck.status, 0, `git fsck: ${fsck.stderr}${fsck.stdout}`)

    const since = server.requests.length
    const resumed = await tsgit(['clone-resume', d])
    t.equal(resumed.status, 0, resumed.stderr)
    assertSameClone(t, d, r0.dir, `cut at ${fraction * 100}% of the blob fetch`)
    const fetches = fetchesSince(since)
    t.equal(fetches.length, 1, 'one request: the blobs still missing')
    const asked = (fetches[0] as RecordedRequest).args.filter((a) => a.startsWith('want ')).length
    t.equal(asked, r0.blobs - kept, 'it asks for just the blobs that are missing')
    const sent = fetchBytes(since)
    const missingPart = r0.blobFetchBytes - (cutFetch?.bytesOut ?? 0)
    t.ok(sent <= missingPart + 0.1 * r0.blobFetchBytes, `the server sent ${sent} bytes on the resume: at most the missing part (${Math.round(missingPart)}) + 10% of the blob fetch (${r0.blobFetchBytes})`)
  })
}

t.test('the same clone command run again finishes it', async (t) => {
  const r0 = await reference()
  const d = dest('again-')
  fetchesSeen = 0
  cut = { fetch: 2, at: Math.floor((r0.packs[1] as number) / 2) }
  t.equal((await tsgit(['clone', '--retries', '0', '--filter=blob:none', server.url('big.git'), d])).status, 128)
  const kept = blobsIn(d)
  const since = server.requests.length
  const again = await tsgit(['clone', '--filter=blob:none', server.url('big.git'), d])
  t.equal(again.status, 0, again.stderr)
  t.match(again.stderr, /Resuming the clone into/)
  const fetches = fetchesSince(since)
  t.equal(fetches.length, 1, 'one request')
  t.equal((fetches[0] as RecordedRequest).args.filter((a) => a.startsWith('want ')).length, r0.blobs - kept, 'for the missing blobs only')
  assertSameClone(t, d, r0.dir, 'run again')
})

t.test("clone's own retries take a cut in the checkout's fetch, asking only for what is missing", async (t) => {
  const r0 = await reference()
  const d = dest('retry-')
  fetchesSeen = 0
  cut = { fetch: 2, at: Math.floor((r0.packs[1] as number) * 0.6) }
  const since = server.requests.length
  const r = await tsgit(['-c', 'clone.retryDelay=0', 'clone', '--filter=blob:none', server.url('big.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /warning: could not fetch .* from promisor remote\(s\) origin: .*\nretrying in 0\.0 s \(try 2 of 4\), keeping what arrived/, 'the retry is announced')
  t.notMatch(r.stderr, /Clone succeeded, but checkout failed/)
  const fetches = fetchesSince(since)
  t.equal(fetches.length, 3, "the clone's fetch, the cut blob fetch, the retry's")
  const cutFetch = fetches[1] as RecordedRequest
  t.equal(cutFetch.cut, true, '(the server cut the blob fetch)')
  const retry = fetches[2] as RecordedRequest
  const missingPart = r0.blobFetchBytes - cutFetch.bytesOut
  t.ok(retry.bytesOut <= missingPart + 0.1 * r0.blobFetchBytes, `the retry was sent ${retry.bytesOut} bytes: at most the missing part (${missingPart}) + 10% of the blob fetch (${r0.blobFetchBytes})`)
  const kept = Number(/Kept (\d+) objects that arrived before the checkout's fetch failed/.exec(r.stderr)?.[1] ?? 0)
  t.ok(kept > 0, `the whole blobs that arrived were kept (${kept})`)
  t.equal(retry.args.filter((a) => a.startsWith('want ')).length, r0.blobs - kept, 'it asks for just the blobs that are missing')
  assertSameClone(t, d, r0.dir, 'retried')
})

t.test("a failure no retry changes in the checkout's fetch ends as git's clone: the clone stands, its checkout failed", async (t) => {
  const r0 = await reference()
  let fetches = 0
  // the blob fetch answered 404: the repository is not there (any more)
  const refusing = await startGitServer({
    root: srv.root,
    intercept: (req) => (req.command === 'fetch' && ++fetches === 2 ? { status: 404, body: Buffer.from('not found\n') } : undefined),
  })
  t.teardown(() => refusing.close())
  const d = dest('permanent-')
  const r = await tsgit(['-c', 'clone.retryDelay=0', 'clone', '--filter=blob:none', refusing.url('big.git'), d])
  t.equal(r.status, 128, 'exit 128')
  t.match(r.stderr, /warning: Clone succeeded, but checkout failed\.\nYou can inspect what was checked out with 'git status'\nand retry with 'git restore --source=HEAD :\/'\n/, "git's words")
  t.notMatch(r.stderr, /retrying|hint:/, 'not tried again, nothing to resume')
  t.equal(fetches, 2, 'no retry')
  t.equal(resumeState(d), '', 'no resume state: the clone is done')
  t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout.trim(), git(['rev-parse', 'HEAD'], { cwd: r0.dir }).stdout.trim(), 'its refs are written')
  t.same(leftovers(d), [], 'no temporary file or .keep left')
  const resumed = await tsgit(['clone-resume', d])
  t.equal(resumed.status, 128)
  t.match(resumed.stderr, /holds no unfinished clone/)
})

/**
 * A clone whose checkout's fetch is stopped by `sig` once 60% of its pack is on disk:
 * past that point the server holds its answer back until the clone has written every
 * byte sent so far to the file its state names; then the signal.
 */
async function stopInBlobFetch(d: string, sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; held: number | undefined; onDisk: number }> {
  const r0 = await reference()
  const total = r0.packs[1] as number
  let fetches = 0
  let held: number | undefined
  let child: ReturnType<typeof spawn> | undefined
  let exited: Promise<void> = Promise.resolve()
  /** The size of the file the clone's state names as receiving the checkout's pack. */
  const receiving = (): number => {
    const name = git(['config', '--get', 'cloneresume.pack'], { cwd: gitDirOf(d), allowFail: true }).stdout.trim()
    return name === '' ? -1 : (statSync(join(gitDirOf(d), 'objects', 'pack', name), { throwIfNoEntry: false })?.size ?? -1)
  }
  let onDisk = -1
  const stopper = await startGitServer({
    root: srv.root,
    config: { 'pack.threads': '1' },
    cutInPack: (req) => {
      if (req.command === 'fetch') fetches++
      return undefined
    },
    onPackBytes: (_req, bytes) => {
      if (fetches !== 2 || held !== undefined || bytes < total * 0.6) return undefined
      held = bytes
      return (async () => {
        // (bounded: a clone that never writes them fails the test on what it left)
        for (let i = 0; i < 3000 && receiving() < bytes; i++) await delay(10)
        onDisk = receiving()
        child?.kill(sig)
        // the rest of the answer only once the clone has stopped: what it keeps is what came before the signal
        await Promise.race([exited, delay(30_000)])
      })()
    },
  })
  try {
    child = spawn(process.execPath, [TSGIT_BIN, 'clone', '--filter=blob:none', stopper.url('big.git'), d], { env: pinnedEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child?.on('close', (c, s) => resolve([c, s])))
    exited = closed.then(() => undefined)
    const [code, signal] = await closed
    return { code, signal, stderr, held, onDisk }
  } finally {
    child = undefined
    await stopper.close()
  }
}

/** Points a clone made through a stopped server at the main one (same repository): its resume goes there. */
function toMainServer(d: string): void {
  git(['config', 'remote.origin.url', server.url('big.git')], { cwd: d })
  git(['config', 'cloneResume.url', server.url('big.git')], { cwd: d })
}

/**
 * What the stop left is read by real git as sound; clone-resume then keeps the whole
 * blobs on disk and asks in one request for the others only; the result is an uncut clone.
 */
async function resumesTheRest(t: Test, d: string, r0: Reference, what: string): Promise<RecordedRequest> {
  t.match(resumeState(d), /cloneresume\.phase checkout/, 'its state says it is checking out')
  const fsck = git(['fsck', '--no-dangling'], { cwd: gitDirOf(d), allowFail: true })
  t.equal(fsck.status, 0, `real git reads what the stop left: ${fsck.stderr}${fsck.stdout}`)
  toMainServer(d)
  const since = server.requests.length
  const resumed = await tsgit(['clone-resume', d])
  t.equal(resumed.status, 0, resumed.stderr)
  const kept = Number(/Kept (\d+) objects that arrived before the clone was cut/.exec(resumed.stderr)?.[1] ?? 0)
  // the file held 60% of the pack: about as many of its (similar) blobs, bar the last
  t.ok(kept >= r0.blobs * 0.5 && kept < r0.blobs, `the whole blobs on disk are kept: ${kept} of ${r0.blobs}`)
  const fetchesAfter = fetchesSince(since)
  t.equal(fetchesAfter.length, 1, 'one request')
  const request = fetchesAfter[0] as RecordedRequest
  t.equal(request.args.filter((a) => a.startsWith('want ')).length, r0.blobs - kept, 'it asks for just the blobs that are missing, none of those kept')
  const sent = fetchBytes(since)
  t.ok(sent <= r0.blobFetchBytes * 0.4 + 0.1 * r0.blobFetchBytes, `the server sent ${sent} bytes on the resume: at most the 40% missing + 10% of the blob fetch (${r0.blobFetchBytes})`)
  assertSameClone(t, d, r0.dir, what)
  return request
}

t.test("killed (SIGKILL) in the checkout's fetch: clone-resume salvages the file its state names and asks only for the rest", async (t) => {
  const r0 = await reference()
  const d = dest('killed-')
  const since = server.requests.length
  const stopped = await stopInBlobFetch(d, 'SIGKILL')
  t.equal(stopped.signal, 'SIGKILL', 'killed')
  t.ok(stopped.held !== undefined && stopped.onDisk >= stopped.held, `killed with the ${stopped.held} pack bytes sent on disk (${stopped.onDisk})`)
  t.match(resumeState(d), /cloneresume\.pack tmp_pack_/, 'the file receiving the blobs is named in the state')
  t.equal(since, server.requests.length, '(the main server saw nothing of it)')
  await resumesTheRest(t, d, r0, "killed in the checkout's fetch")
})

t.test("interrupted (SIGINT) in the checkout's fetch: kept with the hint, exit 130; clone-resume asks only for the rest", async (t) => {
  const r0 = await reference()
  const d = dest('sigint-')
  const stopped = await stopInBlobFetch(d, 'SIGINT')
  t.equal(stopped.code, 130, `exit 130: ${stopped.stderr}`)
  t.notMatch(stopped.stderr, /Clone succeeded, but checkout failed/, 'not a finished clone')
  t.match(stopped.stderr, new RegExp(`\\nhint: .*tsgit clone-resume ${escape(d)}.*\\n$`), 'ends with the command that finishes it')
  await resumesTheRest(t, d, r0, "interrupted in the checkout's fetch")
})
