/**
 * packfile-uris: a real git 2.39 upload-pack (uploadpack.blobPackfileUri, sideband-all)
 * leaves a blob out of its pack and names a pack on another server instead; tsgit
 * downloads it, checks its checksum, holds it with a .keep until the refs are written,
 * and makes the repository real git's own clone would make.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-packfile-uris-')
t.teardown(tmp.cleanup)

interface CdnRequest {
  path: string
  headers: IncomingHttpHeaders
  /** What the clone's pack directory held when the request came (set by `watch`, a .git directory). */
  seen?: string[]
  /** Whether the clone had written packed-refs by then. */
  refs?: boolean
}

/** A plain file server on its own origin (another port): the "CDN". */
const cdnRequests: CdnRequest[] = []
let watch: string | undefined
const cdn: Server = createServer((req, res) => {
  const path = req.url ?? '/'
  const rec: CdnRequest = { path, headers: req.headers }
  if (watch !== undefined) {
    const packDir = join(watch, 'objects', 'pack')
    rec.seen = existsSync(packDir) ? readdirSync(packDir).sort() : []
    rec.refs = existsSync(join(watch, 'packed-refs'))
  }
  cdnRequests.push(rec)
  if (path.startsWith('/redirect/')) {
    res.writeHead(302, { Location: path.slice('/redirect'.length) })
    res.end()
    return
  }
  if (path.startsWith('/to-file/')) {
    res.writeHead(302, { Location: `file://${join(tmp.path, 'cdn', 'blob.pack')}` })
    res.end()
    return
  }
  const file = join(tmp.path, 'cdn', path.replace(/^\/+/, ''))
  if (!/^\/[\w.-]+$/.test(path) || !existsSync(file)) {
    res.writeHead(404)
    res.end()
    return
  }
  const body = readFileSync(file)
  res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' })
  res.end(body)
})

let cdnOrigin: string
let blob: string
let packHash: string
const servers: GitServer[] = []
const bigContent = Buffer.from(Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 2654435761) >>> 0}\n`).join(''))

/** A git server whose upload-pack names `uri` (with `hash`) for the big blob. */
async function serverNaming(uri: string, hash = packHash): Promise<GitServer> {
  const s = await startGitServer({
    root: join(tmp.path, 'srv'),
    config: { 'uploadpack.allowSidebandAll': 'true', 'uploadpack.blobPackfileUri': `${blob} ${hash} ${uri}` },
  })
  servers.push(s)
  return s
}

let main: GitServer

t.before(async () => {
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve))
  cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`
  const work = join(tmp.path, 'work')
  git(['init', '-q', '-b', 'main', work])
  writeFileSync(join(work, 'small.txt'), 'small\n')
  writeFileSync(join(work, 'big.txt'), bigContent)
  git(['add', '.'], { cwd: work })
  git(['commit', '-q', '-m', 'one'], { cwd: work })
  writeFileSync(join(work, 'small.txt'), 'small, changed\n')
  git(['commit', '-q', '-am', 'two'], { cwd: work })
  mkdirSync(join(tmp.path, 'srv'))
  // A local clone keeps the objects loose: git 2.39 names a pack only for a loose blob.
  git(['clone', '-q', '--bare', work, join(tmp.path, 'srv', 'repo.git')])
  blob = git(['rev-parse', 'HEAD:big.txt'], { cwd: work }).stdout.trim()
  mkdirSync(join(tmp.path, 'cdn'))
  packHash = git(['pack-objects', join(tmp.path, 'cdn', 'p')], { cwd: join(tmp.path, 'srv', 'repo.git'), input: `${blob}\n` }).stdout.trim()
  writeFileSync(join(tmp.path, 'cdn', 'blob.pack'), readFileSync(join(tmp.path, 'cdn', `p-${packHash}.pack`)))
  main = await serverNaming(`${cdnOrigin}/blob.pack`)
})
t.teardown(async () => {
  for (const s of servers) await s.close()
  await new Promise<void>((resolve) => cdn.close(() => resolve()))
})

function packFiles(dir: string): string[] {
  return readdirSync(join(dir, '.git', 'objects', 'pack')).sort()
}

t.test('with fetch.uriProtocols the named pack is downloaded: the packs of git\'s own clone, fsck and status clean', async (t) => {
  const url = main.url('repo.git')
  const ours = join(tmp.path, 'ours')
  const since = main.requests.length
  const cdnSince = cdnRequests.length
  watch = join(ours, '.git')
  const r = await tsgit(['clone', '-q', '-c', 'fetch.uriProtocols=http', url, ours])
  watch = undefined
  t.equal(r.status, 0, r.stderr)
  const fetch = main.requests.slice(since).find((q) => q.command === 'fetch')
  t.ok(fetch?.args.includes('sideband-all'), 'sideband-all asked for')
  t.ok(fetch?.args.includes('packfile-uris http'), 'packfile-uris with the allowed protocols')
  const got = cdnRequests.slice(cdnSince)
  t.same(got.map((q) => q.path), ['/blob.pack'], 'the pack downloaded once')
  // While it downloaded, nothing was in place yet (every pack goes in once all are in, the
  // response's own last) and no ref was written; the download went to git's temp name.
  const seen = got[0]?.seen ?? []
  t.notOk(seen.some((f) => f.startsWith('pack-') && f.endsWith('.idx')), `no pack in place during the download: ${seen.join(' ')}`)
  t.ok(seen.includes(`pack-${packHash}.pack.temp`), 'the download goes to pack-<hash>.pack.temp, as git names it')
  t.equal(got[0]?.refs, false, 'refs are written after the download')
  t.ok(existsSync(join(ours, '.git', 'packed-refs')), '(where the clone writes them)')

  const theirs = join(tmp.path, 'theirs')
  await gitAsync(['-c', 'fetch.uriProtocols=http', 'clone', '-q', url, theirs])
  t.same(packFiles(ours), packFiles(theirs), 'the same two packs as git\'s clone, and no .keep left')
  t.equal(packFiles(ours).filter((f) => f.endsWith('.pack')).length, 2)
  t.ok(packFiles(ours).includes(`pack-${packHash}.pack`))
  t.equal(git(['fsck', '--strict'], { cwd: ours }).status, 0, 'git fsck')
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '')
  t.ok(readFileSync(join(ours, 'big.txt')).equals(bigContent))
  t.equal(git(['cat-file', '-t', blob], { cwd: ours }).stdout.trim(), 'blob')
})

t.test('without fetch.uriProtocols nothing is asked for and the server sends everything', async (t) => {
  const since = main.requests.length
  const cdnSince = cdnRequests.length
  const d = join(tmp.path, 'plain')
  const r = await tsgit(['clone', '-q', main.url('repo.git'), d])
  t.equal(r.status, 0, r.stderr)
  const fetch = main.requests.slice(since).find((q) => q.command === 'fetch')
  t.notOk(fetch?.args.some((a) => a.startsWith('packfile-uris')))
  t.equal(cdnRequests.length, cdnSince, 'no download')
  t.equal(packFiles(d).filter((f) => f.endsWith('.pack')).length, 1)
  t.equal(git(['fsck'], { cwd: d }).status, 0)
})

t.test('a partial clone gets the named pack too, as a promisor pack', async (t) => {
  const d = join(tmp.path, 'partial')
  const r = await tsgit(['clone', '-q', '--filter=blob:limit=1', '-c', 'fetch.uriProtocols=http', main.url('repo.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.equal(packFiles(d).filter((f) => f.endsWith('.promisor')).length, packFiles(d).filter((f) => f.endsWith('.pack')).length, 'every pack has its .promisor')
  t.equal(git(['fsck'], { cwd: d }).status, 0)
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
})

t.test('credentials and http.extraHeader go to the remote, not to a packfile URI on another host', async (t) => {
  const url = main.url('repo.git').replace('http://', 'http://user:secret@')
  const since = main.requests.length
  const cdnSince = cdnRequests.length
  const d = join(tmp.path, 'creds')
  const r = await tsgit(['clone', '-q', '-c', 'fetch.uriProtocols=http', '-c', 'http.extraHeader=X-Token: s3cret', url, d])
  t.equal(r.status, 0, r.stderr)
  const toRemote = main.requests.slice(since)
  t.ok(toRemote.length > 0 && toRemote.every((q) => q.headers['x-token'] === 's3cret' && typeof q.headers.authorization === 'string'), 'the remote got them')
  const toCdn = cdnRequests.slice(cdnSince)
  t.equal(toCdn.length, 1)
  t.equal(toCdn[0]?.headers.authorization, undefined, 'no Authorization to the CDN')
  t.equal(toCdn[0]?.headers['x-token'], undefined, 'no http.extraHeader to the CDN')
})

t.test('credentials a helper gave for the remote do not go to a packfile URI on another host', async (t) => {
  const authed = await startGitServer({
    root: join(tmp.path, 'srv'),
    auth: { username: 'u', password: 'helper-secret' },
    config: { 'uploadpack.allowSidebandAll': 'true', 'uploadpack.blobPackfileUri': `${blob} ${packHash} ${cdnOrigin}/blob.pack` },
  })
  servers.push(authed)
  const cdnSince = cdnRequests.length
  const d = join(tmp.path, 'creds-helper')
  const r = await tsgit(['clone', '-q', '-c', 'fetch.uriProtocols=http', '-c', 'credential.helper=!f() { echo username=u; echo password=helper-secret; }; f', authed.url('repo.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.ok(authed.requests.some((q) => q.command === 'fetch' && typeof q.headers.authorization === 'string' && q.status === 200), 'the remote got them')
  const toCdn = cdnRequests.slice(cdnSince)
  t.equal(toCdn.length, 1, 'the pack came from the CDN')
  t.equal(toCdn[0]?.headers.authorization, undefined, 'no Authorization to the CDN')
})

t.test('a redirect of the URI is followed within the allowed protocols', async (t) => {
  const s = await serverNaming(`${cdnOrigin}/redirect/blob.pack`)
  const d = join(tmp.path, 'redirected')
  const cdnSince = cdnRequests.length
  const r = await tsgit(['clone', '-q', '-c', 'fetch.uriProtocols=http', s.url('repo.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.same(cdnRequests.slice(cdnSince).map((q) => q.path), ['/redirect/blob.pack', '/blob.pack'])
  t.equal(git(['fsck'], { cwd: d }).status, 0)
})

t.test('bad URIs and bad packs: fatal, exit 128, nothing left', async (t) => {
  const cases: [string, GitServer, string, RegExp][] = [
    ['a pack whose checksum is not the one named', await serverNaming(`${cdnOrigin}/blob.pack`, 'f'.repeat(40)), 'http', /fatal: fetch-pack: pack downloaded from http:\/\/127\.0\.0\.1:\d+\/blob\.pack does not match expected hash f{40}/],
    ['a URI that is not there', await serverNaming(`${cdnOrigin}/missing.pack`), 'http', /fatal: unable to download packfile URI '.*\/missing\.pack': The requested URL returned error: 404/],
    ['a redirect to file://', await serverNaming(`${cdnOrigin}/to-file/x`), 'http,file', /fatal: unable to download packfile URI '.*': redirect to a disallowed scheme 'file'/],
  ]
  for (const [i, [what, s, protocols, message]] of cases.entries()) {
    const d = join(tmp.path, `bad-${i}`)
    const r = await tsgit(['clone', '-q', '-c', `fetch.uriProtocols=${protocols}`, s.url('repo.git'), d])
    t.equal(r.status, 128, `${what}: exit 128`)
    t.match(r.stderr, message, what)
    t.notOk(existsSync(d), `${what}: the clone's directory is removed`)
  }
})

t.test('asked for https only, git names no http pack and sends everything itself', async (t) => {
  const d = join(tmp.path, 'https-only')
  const since = main.requests.length
  const cdnSince = cdnRequests.length
  const r = await tsgit(['clone', '-q', '-c', 'fetch.uriProtocols=https', main.url('repo.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.ok(main.requests.slice(since).find((q) => q.command === 'fetch')?.args.includes('packfile-uris https'))
  t.equal(cdnRequests.length, cdnSince)
  t.equal(packFiles(d).filter((f) => f.endsWith('.pack')).length, 1)
})

t.test('a lazy fetch in a blob:none clone downloads the pack the server names for the blob it asks for', async (t) => {
  const d = join(tmp.path, 'lazy')
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', '-c', 'fetch.uriProtocols=http', main.url('repo.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['config', 'fetch.uriProtocols'], { cwd: d }).stdout.trim(), 'http', '-c is written into the new repository, as git does')
  const since = main.requests.length
  const cdnSince = cdnRequests.length
  const cat = await tsgit(['cat-file', '-p', 'HEAD:big.txt'], { cwd: d })
  t.equal(cat.status, 0, cat.stderr)
  t.ok(Buffer.from(cat.stdout).equals(bigContent), 'the blob, from the downloaded pack')
  // (over http the first fetch may go out before the advertisement is in, built without
  // packfile-uris: its answer is then dropped and this one sent)
  t.ok(main.requests.slice(since).some((q) => q.command === 'fetch' && q.args.includes('packfile-uris http')))
  t.same(cdnRequests.slice(cdnSince).map((q) => q.path), ['/blob.pack'])
  t.ok(packFiles(d).includes(`pack-${packHash}.promisor`), 'kept as a promisor pack')
  t.notOk(packFiles(d).some((f) => f.endsWith('.keep')))
  t.equal(git(['fsck'], { cwd: d }).status, 0)
})
