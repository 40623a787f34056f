/**
 * tsgit clone against a hostile server: every damaged answer must end in exit
 * 128 with a `fatal:` line that names the cause, and the clone must leave
 * nothing behind (no directory, no temp pack, no pack, no .keep, no refs).
 * The damaged packs start from what real git's upload-pack answered to the very
 * request tsgit sent, and real git is asked to confirm that the damage is real.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { RESULT_TYPE, band, extractPack, isCommand, leftovers, packfileResponse, pkt, realUploadPack, startHostileProxy, tsgitCapped } from '../fixtures/hostile.js'
import { buildPack, fixTrailer, makeDelta } from '../fixtures/packs.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { startGitServer, type CraftedResponse, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { tsgit, type TsgitResult } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-hostile-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
/** Only failed clones go here, so anything found in it was left behind by one. */
const clients = join(tmp.path, 'clients')
const good = join(tmp.path, 'good')
mkdirSync(root)
mkdirSync(clients)
mkdirSync(good)

let rich: RichRepo
let server: GitServer
/** The current test's intercept; undefined lets real git answer. */
let hostile: ((req: RecordedRequest) => CraftedResponse | undefined) | undefined

t.before(async () => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  server = await startGitServer({ root, intercept: (req) => hostile?.(req) })
})
t.teardown(async () => server?.close())

let n = 0
function dest(parent = clients): string {
  return join(parent, `c${n++}`)
}

function result(body: Buffer, status = 200): CraftedResponse {
  return { status, headers: { 'Content-Type': RESULT_TYPE }, body }
}

/** Serves real git's answer to the fetch, with its pack replaced by `damage(pack)`. */
function damagePack(damage: (pack: Buffer) => Buffer): (req: RecordedRequest) => CraftedResponse | undefined {
  return (req) => {
    if (req.command !== 'fetch') return undefined
    const { pack } = extractPack(realUploadPack(rich.path, req.body))
    return result(packfileResponse(damage(pack)))
  }
}

/** Serves `response` (a whole fetch response body) to the fetch. */
function fetchAnswer(response: Buffer): (req: RecordedRequest) => CraftedResponse | undefined {
  return (req) => (req.command === 'fetch' ? result(response) : undefined)
}

/** The real pack the server sends for a full clone (what damage starts from). */
let realPack: Buffer | undefined
async function cloneRequestPack(): Promise<Buffer> {
  if (realPack !== undefined) return realPack
  let captured: Buffer | undefined
  hostile = (req) => {
    if (req.command === 'fetch') captured = req.body
    return undefined
  }
  const d = dest(good)
  const r = await tsgit(['clone', '--no-checkout', server.url('rich.git'), d])
  hostile = undefined
  if (r.status !== 0 || captured === undefined) throw new Error(`baseline clone failed: ${r.stderr}`)
  realPack = extractPack(realUploadPack(rich.path, captured)).pack
  return realPack
}

/** Real git's verdict on a pack: true when `git index-pack --stdin` accepts it. */
function gitAcceptsPack(pack: Buffer): boolean {
  const repo = tempDir('tsgit-hostile-verify-')
  try {
    git(['init', '-q', '--bare', repo.path])
    return git(['index-pack', '--stdin'], { cwd: repo.path, input: pack, allowFail: true }).status === 0
  } finally {
    repo.cleanup()
  }
}

/** The contract of a failed clone: exit 128, a fatal line naming the cause, nothing left. */
function assertCleanFailure(t: Test, r: TsgitResult, d: string, cause: RegExp, opts: { existedEmpty?: boolean } = {}): void {
  t.equal(r.status, 128, `exit 128 (stderr: ${r.stderr})`)
  const fatal = r.stderr.split('\n').filter((l) => l.startsWith('fatal: '))
  t.equal(fatal.length, 1, 'exactly one fatal: line')
  t.match(fatal[0] ?? '', cause, 'the fatal line names the cause')
  t.notMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace')
  t.notMatch(r.stderr, /\bundefined\b|\[object Object\]/, 'no undefined in the message')
  if (opts.existedEmpty) {
    t.same(readdirSync(d), [], 'the pre-existing empty destination is left empty')
  } else {
    t.notOk(existsSync(d), 'the destination directory is removed')
  }
  t.same(leftovers(clients), [], 'no temp pack, pack, idx, keep, promisor or refs anywhere')
}

/**
 * Address space for the giant-size tests: enough for node and a real clone
 * (checked below), less than the 2047 MiB the hostile headers claim, so
 * allocating what a server merely claims fails instead of passing unnoticed
 * thanks to overcommit.
 */
const CAP_KIB = 2_000_000
/** Under the 2 GiB object limit, over the cap. */
const GIANT = 2047 * 1024 ** 2

async function cloneWith(intercept: typeof hostile, args: string[] = [], parent = clients, capped = false): Promise<{ r: TsgitResult; d: string }> {
  const d = dest(parent)
  hostile = intercept
  const argv = ['clone', ...args, server.url('rich.git'), d]
  try {
    return { r: capped ? await tsgitCapped(argv, { virtualKiB: CAP_KIB }) : await tsgit(argv), d }
  } finally {
    hostile = undefined
  }
}

t.test('baseline: the undamaged pack clones and real git accepts it', async (t) => {
  const pack = await cloneRequestPack()
  t.ok(gitAcceptsPack(pack))
  const { r, d } = await cloneWith(damagePack((p) => p), [], good)
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
})

t.test('truncated pack: cut in the middle of an object', async (t) => {
  const pack = await cloneRequestPack()
  const cut = (p: Buffer): Buffer => p.subarray(0, Math.floor(p.length / 2))
  t.notOk(gitAcceptsPack(cut(pack)), 'real git rejects it too')
  const { r, d } = await cloneWith(damagePack(cut))
  assertCleanFailure(t, r, d, /pack is truncated.*offset \d+/)
})

t.test('truncated pack with --progress: the fatal message starts a line of its own', async (t) => {
  const cut = (p: Buffer): Buffer => p.subarray(0, Math.floor(p.length / 2))
  const { r, d } = await cloneWith(damagePack(cut), ['--progress'])
  assertCleanFailure(t, r, d, /pack is truncated.*offset \d+/)
  t.match(r.stderr, /\rReceiving objects: +\d+% \(\d+\/\d+\)[^\n]*\nfatal: pack is truncated/, 'the progress line is ended before the message')
})

t.test('truncated pack: cut inside the trailer', async (t) => {
  const pack = await cloneRequestPack()
  const cut = (p: Buffer): Buffer => p.subarray(0, p.length - 7)
  t.notOk(gitAcceptsPack(cut(pack)))
  const { r, d } = await cloneWith(damagePack(cut))
  assertCleanFailure(t, r, d, /pack is truncated.*trailer/)
})

t.test('truncated pack into an existing empty directory: it is left empty and real git can clone into it', async (t) => {
  const d = dest()
  mkdirSync(d)
  hostile = damagePack((p) => p.subarray(0, Math.floor(p.length / 3)))
  const r = await tsgit(['clone', server.url('rich.git'), d])
  hostile = undefined
  assertCleanFailure(t, r, d, /pack is truncated/, { existedEmpty: true })
  const g = await gitAsync(['clone', '-q', server.url('rich.git'), d], { allowFail: true })
  t.equal(g.status, 0, `git clone into the directory afterwards works: ${g.stderr}`)
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
  rmSync(d, { recursive: true, force: true })
})

t.test('wrong trailer checksum', async (t) => {
  const pack = await cloneRequestPack()
  const flip = (p: Buffer): Buffer => {
    const out = Buffer.from(p)
    out[out.length - 1] = (out[out.length - 1] as number) ^ 0xff
    return out
  }
  t.notOk(gitAcceptsPack(flip(pack)))
  const { r, d } = await cloneWith(damagePack(flip))
  assertCleanFailure(t, r, d, /pack is corrupted \(SHA1 mismatch\)/)
})

t.test('a corrupted object: one byte flipped inside its zlib stream (trailer recomputed)', async (t) => {
  const pack = await cloneRequestPack()
  // The first entry starts at 12; its header is a type/size varint, then zlib
  // (2-byte header, then deflate data): byte 12 + 8 is deep inside the deflate data.
  const flip = (p: Buffer): Buffer => {
    const out = Buffer.from(p)
    out[20] = (out[20] as number) ^ 0x55
    return fixTrailer(out)
  }
  t.notOk(gitAcceptsPack(flip(pack)))
  const { r, d } = await cloneWith(damagePack(flip))
  assertCleanFailure(t, r, d, /(bad object|corrupt).* offset 12\b|offset 12\b.*(bad|corrupt)/)
})

t.test('a REF_DELTA whose base is missing', async (t) => {
  const missing = 'deadbeef'.repeat(5)
  const pack = buildPack([
    { packType: 3, body: Buffer.from('a blob\n') },
    { packType: 7, baseOid: missing, body: makeDelta(7, 5, [0x05, ...Buffer.from('hello')]) },
  ])
  t.notOk(gitAcceptsPack(pack))
  const { r, d } = await cloneWith(fetchAnswer(packfileResponse(pack)))
  assertCleanFailure(t, r, d, new RegExp(`delta base ${missing} missing`))
})

t.test('the header claims more objects than the pack holds', async (t) => {
  const pack = await cloneRequestPack()
  const lie = (p: Buffer): Buffer => {
    const out = Buffer.from(p)
    out.writeUInt32BE(out.readUInt32BE(8) + 1, 8)
    return fixTrailer(out)
  }
  t.notOk(gitAcceptsPack(lie(pack)))
  const { r, d } = await cloneWith(damagePack(lie))
  assertCleanFailure(t, r, d, new RegExp(`pack is truncated: its header claims ${pack.readUInt32BE(8) + 1} objects, but the trailer follows object ${pack.readUInt32BE(8)}`))
})

t.test('the header claims fewer objects than the pack holds', async (t) => {
  const pack = await cloneRequestPack()
  const lie = (p: Buffer): Buffer => {
    const out = Buffer.from(p)
    out.writeUInt32BE(out.readUInt32BE(8) - 1, 8)
    return fixTrailer(out)
  }
  t.notOk(gitAcceptsPack(lie(pack)))
  const { r, d } = await cloneWith(damagePack(lie))
  assertCleanFailure(t, r, d, /pack .*(SHA1 mismatch|junk|corrupt)/)
})

t.test('a malformed pkt-line: non-hex length inside the pack stream', async (t) => {
  const pack = await cloneRequestPack()
  const body = Buffer.concat([pkt('packfile\n'), band(1, pack.subarray(0, 100)), Buffer.from('zz1g\x01garbage', 'latin1')])
  const { r, d } = await cloneWith(fetchAnswer(body))
  assertCleanFailure(t, r, d, /bad line length character: "zz1g"/)
})

t.test('an oversized pkt-line length (ffff, over 65520)', async (t) => {
  const pack = await cloneRequestPack()
  const body = Buffer.concat([pkt('packfile\n'), band(1, pack.subarray(0, 100)), Buffer.from('ffff\x01', 'latin1'), Buffer.alloc(70000, 0x41)])
  const { r, d } = await cloneWith(fetchAnswer(body))
  assertCleanFailure(t, r, d, /bad line length 65535/)
})

t.test('a band-3 error from the server is shown with its message', async (t) => {
  const pack = await cloneRequestPack()
  const body = Buffer.concat([pkt('packfile\n'), band(2, 'Enumerating objects: 5, done.\n'), band(1, pack.subarray(0, 300)), band(3, 'fatal: the disk caught fire\n')])
  const { r, d } = await cloneWith(fetchAnswer(body))
  assertCleanFailure(t, r, d, /remote error: .*the disk caught fire/)
  t.match(r.stderr, /remote: Enumerating objects: 5, done\./, 'band 2 before it was shown as remote:')
})

t.test('the server closes the connection in the middle of the response: what arrived is kept, clone-resume finishes it', async (t) => {
  const pack = await cloneRequestPack()
  const full = packfileResponse(pack)
  const half = full.subarray(0, Math.floor(full.length / 2))
  let cutting = true
  let cuts = 0
  const proxy = await startHostileProxy(server.origin, (req, res) => {
    if (!cutting || req.method !== 'POST' || !isCommand(req.body, 'fetch')) return false
    // Announce the whole length, send half, then drop the connection.
    cuts++
    res.writeHead(200, { 'Content-Type': RESULT_TYPE, 'Content-Length': String(full.length) })
    res.write(half, () => res.socket?.destroy())
    return true
  })
  t.teardown(() => proxy.close())
  const d = dest()
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  // a cut is worth retrying: clone tries again by itself (quickly here), then keeps the directory
  const r = await tsgit(['-c', 'clone.retryDelay=1', 'clone', proxy.url('rich.git'), d])
  t.equal(r.status, 128, r.stderr)
  t.equal(cuts, 4, 'the first try and three retries, each cut')
  const fatal = r.stderr.split('\n').filter((l) => l.startsWith('fatal: '))
  t.equal(fatal.length, 1, 'exactly one fatal: line')
  t.match(fatal[0] ?? '', /the remote end hung up unexpectedly/, 'the fatal line names the cause')
  t.match(r.stderr, new RegExp(`tsgit clone-resume .*${d.split('/').pop() ?? ''}`), 'stderr says how to finish it')
  t.notMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace')
  t.ok(existsSync(d), 'the directory is kept: pack data had arrived')
  t.match(git(['config', '--get-regexp', '^cloneresume\\.'], { cwd: d, allowFail: true }).stdout, /cloneresume\.url /, 'with its resume state')
  t.equal(git(['fsck', '--no-dangling'], { cwd: d, allowFail: true }).status, 0, 'real git does not call what was kept corrupt')
  cutting = false
  const resumed = await tsgit(['clone-resume', d])
  t.equal(resumed.status, 0, resumed.stderr)
  t.equal(git(['fsck', '--strict'], { cwd: d, allowFail: true }).status, 0, 'git fsck after the resume')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'clean status')
  t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout, git(['rev-parse', 'main'], { cwd: rich.path }).stdout, 'HEAD as on the server')
})

t.test('an ERR packet in ls-refs', async (t) => {
  const { r, d } = await cloneWith((req) => (req.command === 'ls-refs' ? result(pkt('ERR access denied by policy\n')) : undefined))
  assertCleanFailure(t, r, d, /remote error: access denied by policy/)
})

t.test('404', async (t) => {
  const { r, d } = await cloneWith(() => ({ status: 404, headers: { 'Content-Type': 'text/plain' }, body: Buffer.from('Not Found\n') }))
  assertCleanFailure(t, r, d, /repository '.*rich\.git' not found/)
})

t.test('401 with no helper and terminal prompts off: git\'s "could not read Username", nothing read from stdin', async (t) => {
  const authServer = await startGitServer({ root, auth: { username: 'u', password: 'p' } })
  t.teardown(() => authServer.close())
  const d = dest()
  const r = await tsgit(['clone', authServer.url('rich.git'), d], { input: 'u\np\n' })
  assertCleanFailure(t, r, d, new RegExp(`^fatal: could not read Username for '${authServer.origin.replace(/\./g, '\\.')}': terminal prompts disabled$`))
  t.equal(authServer.requests.filter((q) => q.headers.authorization !== undefined).length, 0, 'no credentials were invented or read from stdin')
})

t.test('connection refused (a closed port)', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const d = dest()
  const r = await tsgit(['clone', `http://127.0.0.1:${port}/rich.git`, d])
  assertCleanFailure(t, r, d, /unable to access '.*rich\.git'.*ECONNREFUSED/)
})

t.test('under the memory cap of the giant-size tests, a real clone still works', async (t) => {
  const { r, d } = await cloneWith(undefined, [], good, true)
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
})

t.test('an object header claiming more than the size limit is refused before any allocation', async (t) => {
  // 3 GiB claimed, a few bytes sent.
  const pack = buildPack([{ packType: 3, size: 3 * 1024 ** 3, body: Buffer.from('tiny') }])
  const { r, d } = await cloneWith(fetchAnswer(packfileResponse(pack)), [], clients, true)
  assertCleanFailure(t, r, d, /object at offset 12 is too large: 3221225472 bytes exceeds the limit/)
})

t.test('an object header claiming a giant size under the limit: streamed, not allocated', async (t) => {
  const pack = buildPack([{ packType: 3, size: GIANT, body: Buffer.from('tiny') }])
  const { r, d } = await cloneWith(fetchAnswer(packfileResponse(pack)), [], clients, true)
  assertCleanFailure(t, r, d, new RegExp(`bad object at offset 12: inflated size 4 differs from the declared ${GIANT}`))
})

t.test('a delta claiming a giant result over the limit', async (t) => {
  const base = Buffer.from('hello\n')
  const pack = buildPack([
    { packType: 3, body: base },
    { packType: 6, baseIndex: 0, body: makeDelta(base.length, 3 * 1024 ** 3, [0x91, 0, base.length]) },
  ])
  const { r, d } = await cloneWith(fetchAnswer(packfileResponse(pack)), [], clients, true)
  assertCleanFailure(t, r, d, /delta result of 3221225472 bytes exceeds the limit/)
})

t.test('a delta claiming a giant result under the limit is refused before allocating it', async (t) => {
  const base = Buffer.from('hello\n')
  const pack = buildPack([
    { packType: 3, body: base },
    { packType: 6, baseIndex: 0, body: makeDelta(base.length, GIANT, [0x91, 0, base.length]) },
  ])
  t.notOk(gitAcceptsPack(pack))
  const { r, d } = await cloneWith(fetchAnswer(packfileResponse(pack)), [], clients, true)
  assertCleanFailure(t, r, d, new RegExp(`delta .*${GIANT}`))
})
