/**
 * Packfile-URI downloads cut short, against a real git 2.39 upload-pack that names two
 * packs on a CDN (the test's Range-capable file server): a cut clone keeps what each
 * download brought, and the resume asks the CDN for the rest with Range and If-Range;
 * a CDN that ignores Range or whose file changed starts that file again; a 416 for a
 * file already whole counts as whole; a resume record that does not match the file is
 * refused; an interrupt while a download is continued keeps it for the next try. Then tsgit fetch, through the same path: the defect it had (a failed fetch
 * left the tips looking present with their blobs missing) and what it must not touch.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync, pinnedEnv, tempDir } from '../fixtures/git.js'
import { startCdn, type Cdn, type CdnRequest } from '../fixtures/cdn.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { assertSameClone, resumeState } from '../fixtures/clone-shape.js'
import { TSGIT_BIN, tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-resume-downloads-')
t.teardown(tmp.cleanup)
let n = 0
const dest = (p: string): string => join(tmp.path, `${p}${n++}`)

/** Text that compresses poorly (a pseudo-random walk), so each pack is a few hundred KB. */
function noise(seed: number, lines: number): Buffer {
  let x = seed
  const out: string[] = []
  for (let i = 0; i < lines; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out.push(`${i} ${x.toString(36)} ${(x >>> 7).toString(16)} ${(x ^ 0x5bd1e995).toString(36)}`)
  }
  return Buffer.from(out.join('\n') + '\n')
}

let cdn: Cdn
let server: GitServer
const blobs: string[] = []
const hashes: string[] = []
let url: string

t.before(async () => {
  const work = join(tmp.path, 'work')
  git(['init', '-q', '-b', 'main', work])
  writeFileSync(join(work, 'small.txt'), 'small\n')
  writeFileSync(join(work, 'a.bin'), noise(1, 24000))
  writeFileSync(join(work, 'b.bin'), noise(2, 24000))
  git(['add', '.'], { cwd: work })
  git(['commit', '-q', '-m', 'one'], { cwd: work })
  writeFileSync(join(work, 'small.txt'), 'small, changed\n')
  git(['commit', '-q', '-am', 'two'], { cwd: work })
  mkdirSync(join(tmp.path, 'srv'))
  // A local clone keeps the objects loose: git 2.39 names a pack only for a loose blob.
  const bare = join(tmp.path, 'srv', 'repo.git')
  git(['clone', '-q', '--bare', work, bare])
  mkdirSync(join(tmp.path, 'cdn'))
  cdn = await startCdn({ root: join(tmp.path, 'cdn') })
  const lines: string[] = []
  for (const name of ['a.bin', 'b.bin']) {
    const blob = git(['rev-parse', `HEAD:${name}`], { cwd: work }).stdout.trim()
    const hash = git(['pack-objects', join(tmp.path, 'cdn', 'p')], { cwd: bare, input: `${blob}\n` }).stdout.trim()
    writeFileSync(join(tmp.path, 'cdn', `${name}.pack`), readFileSync(join(tmp.path, 'cdn', `p-${hash}.pack`)))
    blobs.push(blob)
    hashes.push(hash)
    lines.push(`${blob} ${hash} ${cdn.url(`${name}.pack`)}`)
  }
  server = await startGitServer({ root: join(tmp.path, 'srv'), config: { 'uploadpack.allowSidebandAll': 'true', 'uploadpack.blobPackfileUri': lines } })
  url = server.url('repo.git')
})
t.teardown(async () => {
  await server.close()
  await cdn.close()
})

const size = (i: number): number => statSync(join(tmp.path, 'cdn', `${['a', 'b'][i]}.bin.pack`)).size
const packDir = (d: string): string => join(d, '.git', 'objects', 'pack')

let reference: string | undefined
async function uncut(): Promise<string> {
  if (reference !== undefined) return reference
  const d = dest('ref-')
  const r = await tsgit(['clone', '-q', '-c', 'fetch.uriProtocols=http', url, d])
  if (r.status !== 0) throw new Error(r.stderr)
  reference = d
  return d
}

for (const i of [0, 1]) {
  t.test(`a clone cut in download ${i + 1} of 2 keeps its bytes; clone-resume asks for the rest with Range and If-Range`, async (t) => {
    const ref = await uncut()
    cdn.reset()
    const file = `/${['a', 'b'][i]}.bin.pack`
    cdn.faults.cutAfter = (req) => (req.path === file && req.headers.range === undefined ? 300000 : undefined)
    const d = dest(`cut${i}-`)
    const cut = await tsgit(['clone', '--retries', '0', '-c', 'fetch.uriProtocols=http', url, d])
    t.equal(cut.status, 128, 'exit 128')
    t.match(cut.stderr, new RegExp(`fatal: download of '${cdn.origin.replace(/\./g, '\\.')}${file.replace(/\./g, '\\.')}' was cut after 300000 of ${size(i)} bytes`), `names the cut: ${cut.stderr}`)
    t.match(cut.stderr, /\nhint: .*tsgit clone-resume/)
    const temp = join(packDir(d), `pack-${hashes[i]}.pack.temp`)
    t.equal(statSync(temp).size, 300000, 'the 300000 bytes that arrived are in pack-<hash>.pack.temp')
    t.match(resumeState(d), new RegExp(`resumedownload\\.${hashes[i]}\\.uri `), 'the download is recorded')
    const validator = git(['config', `resumeDownload.${hashes[i]}.validator`], { cwd: d }).stdout.trim()
    t.ok(validator !== '', `with its validator (${validator})`)

    const before = cdn.requests.length
    const resumed = await tsgit(['clone-resume', d])
    t.equal(resumed.status, 0, resumed.stderr)
    const asked = cdn.requests.slice(before).filter((q) => q.path === file)
    t.equal(asked.length, 1, 'one request for the cut file')
    t.equal(asked[0]?.headers.range, 'bytes=300000-', 'for the bytes after those held')
    t.equal(asked[0]?.headers['if-range'], validator, 'if the file is still the one they came from')
    t.equal(asked[0]?.status, 206)
    t.equal(asked[0]?.bytesOut, size(i) - 300000, 'no byte twice')
    assertSameClone(t, d, ref, `cut in download ${i + 1}`)
    t.ok(readdirSync(packDir(d)).includes(`pack-${hashes[i]}.pack`), 'the downloaded pack is installed under its name')
  })
}

t.test('clone retries a cut download by itself; a CDN that ignores Range, or whose file changed, restarts that file only', async (t) => {
  const ref = await uncut()
  for (const [what, fault] of [
    ['plain', {}],
    ['Range ignored', { ignoreRange: true }],
    // (etagOf is asked with the path below the CDN's root, after the request is logged)
    ['file changed', { etagOf: (p: string): string | undefined => (cdn.requests.filter((q) => q.path === `/${p}`).length > 1 ? '"v2"' : '"v1"') }],
  ] as const) {
    cdn.reset()
    const cutOnce = new Set<string>()
    Object.assign(cdn.faults, fault)
    cdn.faults.cutAfter = (req) => {
      if (req.path !== '/a.bin.pack' || cutOnce.has(req.path)) return undefined
      cutOnce.add(req.path)
      return 200000
    }
    const d = dest('retry-')
    const r = await tsgit(['-c', 'clone.retryDelay=0', 'clone', '-c', 'fetch.uriProtocols=http', url, d])
    t.equal(r.status, 0, `${what}: ${r.stderr}`)
    t.match(r.stderr, /was cut after 200000 of \d+ bytes[^\n]*\nretrying/, `${what}: the retry is announced`)
    const a = cdn.requests.filter((q) => q.path === '/a.bin.pack')
    const b = cdn.requests.filter((q) => q.path === '/b.bin.pack')
    t.equal(a.length, 2, `${what}: the cut file asked for twice`)
    // The other download went on to its end; the retry found its file whole (a 416 for
    // the bytes after its end) and did not download it again.
    t.equal(b.reduce((sum, q) => sum + q.bytesOut, 0), size(1), `${what}: the other file's bytes came once`)
    t.equal(b.length, 1, `${what}: and it was not asked for again (the record says it is whole)`)
    if (what === 'plain') t.same([a[1]?.status, a[1]?.bytesOut], [206, size(0) - 200000], 'continued: no byte twice')
    else t.same([a[1]?.status, a[1]?.bytesOut], [200, size(0)], `${what}: the file came whole again, not stitched ${JSON.stringify(a.map((q) => [q.headers.range, q.headers['if-range'], q.status]))}`)
    assertSameClone(t, d, ref, what)
  }
  cdn.reset()
})

t.test('a 416 for a file already whole counts as whole (git 2.39 fails there)', async (t) => {
  const ref = await uncut()
  cdn.reset()
  cdn.faults.cutAfter = (req) => (req.path === '/a.bin.pack' && req.headers.range === undefined ? 100000 : undefined)
  const d = dest('whole-')
  t.equal((await tsgit(['clone', '--retries', '0', '-c', 'fetch.uriProtocols=http', url, d])).status, 128)
  // The rest arrived (say, by a try killed just before it installed the pack), and the
  // record does not say how long the file is (a server that sent it chunked): asked.
  writeFileSync(join(packDir(d), `pack-${hashes[0]}.pack.temp`), readFileSync(join(tmp.path, 'cdn', 'a.bin.pack')))
  git(['config', '--unset', `resumeDownload.${hashes[0]}.length`], { cwd: d })
  cdn.reset()
  const r = await tsgit(['clone-resume', d])
  t.equal(r.status, 0, r.stderr)
  const asked = cdn.requests.filter((q) => q.path === '/a.bin.pack')
  t.same(asked.map((q) => [q.headers.range, q.status, q.bytesOut]), [[`bytes=${size(0)}-`, 416, 0]], 'asked for the bytes after the end: 416, nothing sent')
  assertSameClone(t, d, ref, 'after a 416')
})

t.test('a resume record that does not match its file is refused, and nothing changes', async (t) => {
  cdn.reset()
  cdn.faults.cutAfter = (req) => (req.path === '/a.bin.pack' && req.headers.range === undefined ? 300000 : undefined)
  const d = dest('mismatch-')
  t.equal((await tsgit(['clone', '--retries', '0', '-c', 'fetch.uriProtocols=http', url, d])).status, 128)
  git(['config', `resumeDownload.${hashes[0]}.have`, '400000'], { cwd: d })
  cdn.reset()
  const r = await tsgit(['clone-resume', '--retries', '0', d])
  t.equal(r.status, 128)
  t.match(r.stderr, new RegExp(`fatal: cannot continue the download of '.*a\\.bin\\.pack': .*pack-${hashes[0]}\\.pack\\.temp holds 300000 bytes, the record says 400000 arrived`))
  t.equal(cdn.requests.length, 0, 'nothing downloaded')
  t.equal(statSync(join(packDir(d), `pack-${hashes[0]}.pack.temp`)).size, 300000, 'the file is left as it was')
})

t.test('SIGINT while clone-resume continues a download: the download stays recorded, and the next resume continues it', async (t) => {
  const ref = await uncut()
  cdn.reset()
  cdn.faults.cutAfter = (req) => (req.path === '/a.bin.pack' && req.headers.range === undefined ? 300000 : undefined)
  const d = dest('intr-')
  t.equal((await tsgit(['clone', '--retries', '0', '-c', 'fetch.uriProtocols=http', url, d])).status, 128)
  const temp = join(packDir(d), `pack-${hashes[0]}.pack.temp`)
  cdn.reset()
  cdn.faults.stallAfter = (req) => (req.path === '/a.bin.pack' ? 100000 : undefined)
  const child = spawn(process.execPath, [TSGIT_BIN, 'clone-resume', d], { env: pinnedEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const end = Date.now() + 20000
  while (!cdn.requests.some((q) => q.stalled) && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  t.ok(cdn.requests.some((q) => q.path === '/a.bin.pack' && q.stalled), 'the continued download stalls after 100000 more bytes')
  // (give the client the time to write what arrived)
  await new Promise((r) => setTimeout(r, 300))
  child.kill('SIGINT')
  t.equal(await exited, 130, `exit code of a process killed by SIGINT: ${stderr}`)
  t.notMatch(stderr, /dropping the download/, 'an interrupt is not a download that can no longer be had')
  t.match(resumeState(d), new RegExp(`resumedownload\\.${hashes[0]}\\.uri `), 'the download is still recorded')
  const have = statSync(temp).size
  t.ok(have >= 300000, `the file keeps what arrived (${have} bytes)`)

  cdn.reset()
  const r = await tsgit(['clone-resume', d])
  t.equal(r.status, 0, r.stderr)
  const asked = cdn.requests.filter((q) => q.path === '/a.bin.pack')
  t.same(asked.map((q) => [q.headers.range, q.status]), [[`bytes=${have}-`, 206]], 'continued from what the file holds')
  assertSameClone(t, d, ref, 'after an interrupted resume')
})

t.test('tsgit fetch: a cut download leaves nothing a later fetch takes as complete, and the next fetch continues it', async (t) => {
  cdn.reset()
  const d = dest('fetch-')
  git(['init', '-q', d])
  // A .keep that was there before: a fetch that brings the same pack must leave it alone.
  const before = join(packDir(d), `pack-${hashes[1]}.keep`)
  writeFileSync(before, 'kept by someone else\n')
  cdn.faults.cutAfter = (req) => (req.path === '/a.bin.pack' && req.headers.range === undefined ? 300000 : undefined)
  const since = server.requests.length
  const r1 = await tsgit(['-c', 'fetch.uriProtocols=https,http,ftp', 'fetch', url], { cwd: d })
  t.equal(r1.status, 128)
  t.match(r1.stderr, /fatal: download of '.*a\.bin\.pack' was cut after 300000 of \d+ bytes/, `names what happened: ${r1.stderr}`)
  t.match(r1.stderr, /warning: ignoring 'ftp' in fetch\.uriProtocols/)
  t.ok(server.requests.slice(since).some((q) => q.command === 'fetch' && q.args.includes('packfile-uris https,http')), 'only http and https reach the server')
  t.notOk(server.requests.slice(since).some((q) => q.args.some((a) => a.includes('ftp'))))
  const head = git(['ls-remote', join(tmp.path, 'srv', 'repo.git'), 'HEAD']).stdout.split('\t')[0] as string
  t.equal(git(['cat-file', '-e', head], { cwd: d, allowFail: true }).status !== 0, true, 'the commit fetched is not here: nothing makes the fetch look done')
  t.equal(readFileSync(before, 'utf8'), 'kept by someone else\n', 'the .keep that was there is untouched')

  cdn.reset()
  const r2 = await tsgit(['-c', 'fetch.uriProtocols=http', 'fetch', url], { cwd: d })
  t.equal(r2.status, 0, r2.stderr)
  const asked = cdn.requests.filter((q) => q.path === '/a.bin.pack')
  t.same(asked.map((q) => q.headers.range), ['bytes=300000-'], 'the next fetch continues the cut download')
  t.equal(git(['rev-list', '--objects', '--missing=print', 'FETCH_HEAD'], { cwd: d }).stdout.split('\n').filter((l) => l.startsWith('?')).length, 0, 'nothing missing: real git says so')
  t.equal(git(['fsck', '--strict'], { cwd: d, allowFail: true }).status, 0, 'git fsck')
  t.ok(existsSync(before), 'the .keep that was there is still there')
  t.notOk(readdirSync(packDir(d)).some((f) => f.endsWith('.keep') && f !== `pack-${hashes[1]}.keep`), 'the fetch left no .keep of its own')
  t.notOk(readdirSync(packDir(d)).some((f) => f.endsWith('.temp') || f.startsWith('tmp_')), 'nor a temporary file')
  // git's own fetch reads what tsgit fetched
  await gitAsync(['fetch', '-q', url], { cwd: d })
})

t.test('a lazy fetch: a cut download is continued by the next lazy fetch with Range, and nothing is taken as present before it is whole', async (t) => {
  cdn.reset()
  const d = dest('lazy-')
  const clone = await tsgit(['clone', '-q', '--filter=blob:none', '--no-checkout', url, d])
  t.equal(clone.status, 0, clone.stderr)
  git(['config', 'fetch.uriProtocols', 'http'], { cwd: d })
  cdn.faults.cutAfter = (req) => (req.path === '/a.bin.pack' && req.headers.range === undefined ? 300000 : undefined)
  const r1 = await tsgit(['cat-file', '-p', blobs[0] as string], { cwd: d })
  t.equal(r1.status, 128, r1.stderr)
  t.match(r1.stderr, /download of '.*a\.bin\.pack' was cut after 300000 of \d+ bytes/, `names what happened: ${r1.stderr}`)
  // (read from the pack indexes: git 2.39 has no way to ask without a lazy fetch of its own)
  const indexed = readdirSync(packDir(d)).filter((f) => f.endsWith('.idx')).flatMap((f) => git(['show-index'], { input: readFileSync(join(packDir(d), f)) }).stdout.split('\n'))
  t.notOk(indexed.some((l) => l.includes(blobs[0] as string)), 'the blob is in no installed pack: not taken as present')
  t.equal(git(['fsck', '--connectivity-only'], { cwd: d, allowFail: true }).status, 0, 'real git reads the repository as sound')

  cdn.reset()
  const r2 = await tsgit(['cat-file', '-p', blobs[0] as string], { cwd: d })
  t.equal(r2.status, 0, r2.stderr)
  t.same(cdn.requests.filter((q) => q.path === '/a.bin.pack').map((q) => q.headers.range), ['bytes=300000-'], 'the next lazy fetch continues the cut download')
  t.equal(r2.stdout, git(['cat-file', '-p', blobs[0] as string], { cwd: join(tmp.path, 'srv', 'repo.git') }).stdout, 'the blob, whole')
  t.equal(git(['fsck', '--strict'], { cwd: d, allowFail: true }).status, 0, 'git fsck')
  t.notOk(readdirSync(packDir(d)).some((f) => f.endsWith('.keep') || f.endsWith('.temp') || f.startsWith('tmp_')), 'no .keep or temporary file left')
})

/**
 * Runs a clone whose first packfile-URI download stalls; waits until the other pack is
 * served whole (downloads side by side) or, with one at a time, until the first stalls;
 * then interrupts it. Returns what the CDN saw of the other pack meanwhile.
 */
async function stalledClone(concurrency: number): Promise<{ otherWhole: boolean; otherAsked: boolean }> {
  cdn.reset()
  let first: string | undefined
  cdn.faults.stallAfter = (req) => {
    first ??= req.path
    return req.path === first ? 1000 : undefined
  }
  const d = dest(`conc${concurrency}-`)
  const child = spawn(process.execPath, [TSGIT_BIN, '-c', 'fetch.uriProtocols=http', '-c', `fetch.uriConcurrency=${concurrency}`, 'clone', '--retries', '0', url, d], { env: pinnedEnv(), stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  const other = (): CdnRequest[] => cdn.requests.filter((q) => first !== undefined && q.path !== first)
  const whole = (): boolean => other().some((q) => q.bytesOut === size(q.path === '/a.bin.pack' ? 0 : 1))
  const stalled = (): boolean => cdn.requests.some((q) => q.stalled)
  const end = Date.now() + 20000
  while (!(stalled() && (concurrency === 1 || whole())) && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  const seen = { otherWhole: stalled() && whole(), otherAsked: other().length > 0 }
  child.kill('SIGINT')
  await exited
  return seen
}

t.test('fetch.uriConcurrency: with 2 the second pack comes whole while the first is held up; with 1 it waits', async (t) => {
  t.same(await stalledClone(2), { otherWhole: true, otherAsked: true }, 'side by side')
  t.same(await stalledClone(1), { otherWhole: false, otherAsked: false }, 'one at a time: the other not even asked for')
})
