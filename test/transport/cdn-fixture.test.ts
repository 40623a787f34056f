/** The CDN fixture itself (test/fixtures/cdn.ts), spoken to with node:http alone, so that it is not judged by the code it tests. */
import { writeFileSync } from 'node:fs'
import { request, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { startCdn, type Cdn } from '../fixtures/cdn.js'
import { tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-cdn-')
t.teardown(tmp.cleanup)
const data = Buffer.from('0123456789abcdefghij')
let cdn: Cdn
t.before(async () => {
  writeFileSync(join(tmp.path, 'f.bin'), data)
  cdn = await startCdn({ root: tmp.path })
})
t.teardown(() => cdn.close())
t.beforeEach(() => cdn.reset())

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(cdn.url(path), { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('whole file, single ranges, If-Range, 416, HEAD, redirects; every request recorded', async (t) => {
  const whole = await get('f.bin')
  t.equal(whole.status, 200)
  t.ok(whole.body.equals(data))
  t.match(whole.headers, { etag: /^"[0-9a-f]+-[0-9a-f]+"$/, 'last-modified': /GMT$/, 'content-length': '20', 'accept-ranges': 'bytes' })
  const etag = String(whole.headers.etag)
  const lastModified = String(whole.headers['last-modified'])

  const tail = await get('f.bin', { Range: 'bytes=15-', 'If-Range': etag })
  t.match(tail, { status: 206, headers: { 'content-range': 'bytes 15-19/20', 'content-length': '5' } })
  t.equal(tail.body.toString(), 'fghij')
  t.equal((await get('f.bin', { Range: 'bytes=2-4' })).body.toString(), '234')
  t.equal((await get('f.bin', { Range: 'bytes=5-', 'If-Range': lastModified })).status, 206, 'a date equal to Last-Modified')
  t.equal((await get('f.bin', { Range: 'bytes=5-', 'If-Range': '"other"' })).status, 200, 'another ETag: the whole file')
  t.equal((await get('f.bin', { Range: 'bytes=5-', 'If-Range': `W/${etag}` })).status, 200, 'a weak ETag never matches')
  t.equal((await get('f.bin', { Range: 'bytes=0-1,5-6' })).status, 200, 'several ranges: ignored')
  const past = await get('f.bin', { Range: 'bytes=20-' })
  t.match(past, { status: 416, headers: { 'content-range': 'bytes */20' } })
  const head = await get('f.bin', {}, 'HEAD')
  t.match(head, { status: 200, headers: { 'content-length': '20' } })
  t.equal(head.body.length, 0)
  t.match(await get('redirect/f.bin'), { status: 302, headers: { location: '/f.bin' } })
  t.equal((await get('missing')).status, 404)
  t.equal((await get('%2e%2e/%2e%2e/etc/passwd')).status, 404, 'nothing outside the root')
  t.same(cdn.requests.map((r) => r.status), [200, 206, 206, 206, 200, 200, 200, 416, 200, 302, 404, 404])
  t.same(cdn.requests.slice(0, 2).map((r) => r.bytesOut), [20, 5])
  t.equal(cdn.requests[1]?.headers['if-range'], etag)
})

t.test('faults: a status, no range support, weak or no validators, chunked, a redirect elsewhere, a cut', async (t) => {
  cdn.faults = { status: (r) => (r.path === '/f.bin' ? 503 : undefined) }
  t.equal((await get('f.bin')).status, 503)
  cdn.faults = { ignoreRange: true }
  t.match(await get('f.bin', { Range: 'bytes=5-' }), { status: 200, headers: { 'accept-ranges': 'none' } })
  cdn.faults = { etag: 'weak' }
  t.match((await get('f.bin')).headers.etag, /^W\/"/)
  cdn.faults = { etag: 'none', lastModified: false }
  const bare = await get('f.bin')
  t.equal(bare.headers.etag, undefined)
  t.equal(bare.headers['last-modified'], undefined)
  cdn.faults = { etagOf: () => '"fixed"', chunked: true }
  const chunked = await get('f.bin')
  t.match(chunked.headers, { etag: '"fixed"', 'transfer-encoding': 'chunked' })
  t.equal(chunked.headers['content-length'], undefined)
  cdn.faults = { redirect: () => 'http://elsewhere.invalid/f.bin' }
  t.match(await get('f.bin'), { status: 302, headers: { location: 'http://elsewhere.invalid/f.bin' } })
  cdn.reset()
  cdn.faults = { cutAfter: () => 7 }
  const cut = await get('f.bin').catch((e: unknown) => e)
  t.match(cut, { code: 'ECONNRESET' }, 'the client sees the connection go')
  t.match(cdn.requests[0], { status: 200, bytesOut: 7, cut: true })
})

t.test('a paced body (bytesPerSecond, for the benchmark) arrives whole, ranges and all', async (t) => {
  cdn.faults = { bytesPerSecond: 1 << 20 }
  const whole = await get('f.bin')
  t.equal(whole.status, 200)
  t.ok(whole.body.equals(data))
  const tail = await get('f.bin', { Range: 'bytes=15-' })
  t.match(tail, { status: 206, headers: { 'content-range': 'bytes 15-19/20' } })
  t.equal(tail.body.toString(), 'fghij')
  t.same(cdn.requests.map((r) => r.bytesOut), [20, 5])
})
