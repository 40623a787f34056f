/**
 * Resumable downloads of a URI a server named (download.ts): against the CDN
 * fixture for what a real file server does (cuts, Range, If-Range, 416, changed
 * files, servers without range support), and against tiny servers of its own for
 * answers no honest server gives (a 206 for another range, another length, another
 * file).
 */
import { utimesSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { TransportError } from '../../lib/errors.js'
import { downloadUri, type Download, type DownloadContext, type ResumeFrom } from '../../lib/transport/download.js'
import { openDownload, openTransport, type Transport } from '../../lib/transport/index.js'
import { NodeHttpClient } from '../../lib/transport/node-http.js'
import { undiciClient } from '../../lib/transport/undici-parts.js'
import { startCdn, type Cdn } from '../fixtures/cdn.js'
import { tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-download-')
t.teardown(tmp.cleanup)

const SIZE = 812345
/** Bytes that differ everywhere, so a misplaced byte cannot pass for the right one. */
function fileBytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = (Math.imul(i + seed, 2654435761) >>> 13) & 0xff
  return b
}
const file = fileBytes(SIZE, 1)
const filePath = join(tmp.path, 'p.pack')

let cdn: Cdn
let client: NodeHttpClient
t.before(async () => {
  writeFileSync(filePath, file)
  cdn = await startCdn({ root: tmp.path })
  client = new NodeHttpClient({ rejectUnauthorized: true })
})
t.teardown(async () => {
  await client.close()
  await cdn.close()
})
t.beforeEach(() => {
  writeFileSync(filePath, file)
  cdn.reset()
})

function ctx(extra: Partial<DownloadContext> = {}): DownloadContext {
  return { client, schemes: ['http'], headersFor: () => ({ 'User-Agent': 'tsgit-test' }), ...extra }
}

/** Everything the body gives, and the error that ended it, if one did. */
async function drain(download: Download): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Buffer[] = []
  try {
    for await (const chunk of download.body) parts.push(chunk)
  } catch (e) {
    return { bytes: Buffer.concat(parts), error: e }
  }
  return { bytes: Buffer.concat(parts), error: undefined }
}

/** A download cut after `n` bytes on its first try: what the caller holds, and the validator to resume with. */
async function cutAt(n: number): Promise<{ held: Buffer; first: Download; error: unknown }> {
  cdn.faults.cutAfter = (req) => (req.seq === cdn.requests[0]?.seq ? n : undefined)
  const first = await downloadUri(cdn.url('p.pack'), ctx())
  const { bytes, error } = await drain(first)
  return { held: bytes, first, error }
}

t.test('a plain download: the whole file from 0, its length and its strong ETag, no Range sent', async (t) => {
  const d = await downloadUri(cdn.url('p.pack'), ctx())
  t.match(d, { displayUri: cdn.url('p.pack'), start: 0, length: SIZE, complete: false })
  t.match(d.validator, /^"[0-9a-f]+-[0-9a-f]+"$/)
  const { bytes, error } = await drain(d)
  t.equal(error, undefined)
  t.ok(bytes.equals(file))
  t.equal(cdn.requests.length, 1)
  t.equal(cdn.requests[0]?.headers.range, undefined)
  t.equal(cdn.requests[0]?.headers['if-range'], undefined)
})

t.test('a cut after N bytes is a retryable TransportError counting the bytes; resuming gets exactly the rest', async (t) => {
  const { held, first, error } = await cutAt(300000)
  t.equal(held.length, 300000, 'the bytes before the cut were handed on')
  t.type(error, TransportError)
  t.match(error, { code: 'E_TRANSPORT', retryable: true })
  t.match((error as Error).message, new RegExp(`^download of '${cdn.url('p.pack')}' was cut after 300000 of ${SIZE} bytes \\(ECONNRESET: aborted\\)$`))
  t.ok(cdn.requests[0]?.cut)

  const resume: ResumeFrom = { have: held.length, expectedLength: first.length, ...(first.validator !== undefined ? { validator: first.validator } : {}) }
  const rest = await downloadUri(cdn.url('p.pack'), ctx(), resume)
  t.match(rest, { start: 300000, length: SIZE, validator: first.validator, complete: false })
  const { bytes, error: e2 } = await drain(rest)
  t.equal(e2, undefined)
  t.equal(bytes.length, SIZE - 300000, 'only the remaining bytes')
  t.ok(Buffer.concat([held, bytes]).equals(file), 'prefix + rest is the file')
  const req = cdn.requests[1]
  t.equal(req?.headers.range, 'bytes=300000-')
  t.equal(req?.headers['if-range'], first.validator)
  t.equal(req?.status, 206)
  t.equal(req?.bytesOut, SIZE - 300000)
})

t.test('on undici\'s client (the one used behind a proxy) a cut is the same TransportError, and resuming the same', async (t) => {
  // No proxy configured: undici connects directly, which is all this needs.
  const undici = undiciClient(({ EnvHttpProxyAgent }) => new EnvHttpProxyAgent({ httpProxy: '', httpsProxy: '', noProxy: '' }))
  t.teardown(() => undici.close())
  cdn.faults.cutAfter = (req) => (req.seq === cdn.requests[0]?.seq ? 70000 : undefined)
  const first = await downloadUri(cdn.url('p.pack'), ctx({ client: undici }))
  const { bytes: held, error } = await drain(first)
  t.type(error, TransportError)
  t.match(error, { retryable: true, message: new RegExp(`was cut after 70000 of ${SIZE} bytes \\(`) })
  const rest = await downloadUri(cdn.url('p.pack'), ctx({ client: undici }), { have: held.length, validator: first.validator ?? '' })
  t.equal(rest.start, 70000)
  t.ok(Buffer.concat([held, (await drain(rest)).bytes]).equals(file))
})

t.test('a resumed download cut again counts bytes of the whole file', async (t) => {
  const { held, first } = await cutAt(1000)
  cdn.faults.cutAfter = () => 5000
  const again = await downloadUri(cdn.url('p.pack'), ctx(), { have: held.length, validator: first.validator ?? '' })
  t.equal(again.start, 1000)
  const { bytes, error } = await drain(again)
  t.equal(bytes.length, 5000)
  t.match(error, { retryable: true, message: new RegExp(`was cut after 6000 of ${SIZE} bytes`) })
})

t.test('a cut before any body byte, and a cut of a body of unknown length (chunked): no "of N"', async (t) => {
  const { held, error } = await cutAt(0)
  t.equal(held.length, 0)
  t.match(error, { retryable: true, message: new RegExp(`was cut after 0 of ${SIZE} bytes`) })
  cdn.reset()
  cdn.faults = { chunked: true, cutAfter: () => 70000 }
  const d = await downloadUri(cdn.url('p.pack'), ctx())
  t.equal(d.length, undefined)
  const r = await drain(d)
  t.type(r.error, TransportError)
  t.match((r.error as Error).message, /was cut after 70000 bytes \(/)
})

t.test('a file changed between tries: If-Range fails, 200, start 0, the new file whole', async (t) => {
  const { held, first } = await cutAt(300000)
  const changed = fileBytes(SIZE + 7, 2)
  writeFileSync(filePath, changed)
  const d = await downloadUri(cdn.url('p.pack'), ctx(), { have: held.length, validator: first.validator ?? '', expectedLength: SIZE })
  t.match(d, { start: 0, length: SIZE + 7, complete: false })
  t.not(d.validator, first.validator, 'the new file\'s validator')
  t.ok((await drain(d)).bytes.equals(changed))
  t.equal(cdn.requests[1]?.headers['if-range'], first.validator, 'If-Range was sent')
  t.equal(cdn.requests[1]?.status, 200)
})

t.test('the same, told by Last-Modified alone (a server without ETags)', async (t) => {
  cdn.faults = { etag: 'none' }
  const past = new Date('2024-03-05T10:20:30Z')
  utimesSync(filePath, past, past)
  const first = await downloadUri(cdn.url('p.pack'), ctx())
  t.equal(first.validator, past.toUTCString())
  await drain(first)
  const same = await downloadUri(cdn.url('p.pack'), ctx(), { have: 100, validator: past.toUTCString() })
  t.equal(same.start, 100, 'unchanged: continued')
  t.ok((await drain(same)).bytes.equals(file.subarray(100)))
  const later = new Date('2024-03-05T10:20:31Z')
  utimesSync(filePath, later, later)
  const d = await downloadUri(cdn.url('p.pack'), ctx(), { have: 100, validator: past.toUTCString() })
  t.match(d, { start: 0, length: SIZE, validator: later.toUTCString() })
  t.ok((await drain(d)).bytes.equals(file))
})

t.test('a server that ignores Range: 200, start 0, the whole file', async (t) => {
  cdn.faults = { ignoreRange: true }
  const d = await downloadUri(cdn.url('p.pack'), ctx(), { have: 300000 })
  t.match(d, { start: 0, length: SIZE })
  t.ok((await drain(d)).bytes.equals(file))
  t.equal(cdn.requests[0]?.headers.range, 'bytes=300000-')
  t.equal(cdn.requests.length, 1)
})

t.test('a weak ETag is not a validator: Last-Modified is, and the server honours it', async (t) => {
  cdn.faults = { etag: 'weak' }
  const { held, first } = await cutAt(4096)
  t.match(first.validator, /GMT$/, 'Last-Modified, not the weak ETag')
  const d = await downloadUri(cdn.url('p.pack'), ctx(), { have: held.length, validator: first.validator ?? '' })
  t.equal(cdn.requests[1]?.headers['if-range'], first.validator)
  t.equal(d.start, 4096)
  t.ok(Buffer.concat([held, (await drain(d)).bytes]).equals(file))
  cdn.faults = { etag: 'weak', lastModified: false }
  const none = await downloadUri(cdn.url('p.pack'), ctx())
  t.equal(none.validator, undefined, 'a weak ETag alone: no validator')
  await drain(none)
})

t.test('416 for a file exactly as long as what is held: complete, an empty body', async (t) => {
  const d = await downloadUri(cdn.url('p.pack'), ctx(), { have: SIZE, expectedLength: SIZE })
  t.match(d, { complete: true, start: SIZE, length: SIZE })
  t.match(d.validator, /^"/)
  t.equal((await drain(d)).bytes.length, 0)
  t.equal(cdn.requests.length, 1)
  t.equal(cdn.requests[0]?.status, 416)
})

t.test('416 for a file shorter than what is held, or not the length expected: the whole file again, start 0', async (t) => {
  for (const resume of [{ have: SIZE + 10 }, { have: SIZE, expectedLength: SIZE + 10 }]) {
    cdn.reset()
    const d = await downloadUri(cdn.url('p.pack'), ctx(), resume)
    t.match(d, { complete: false, start: 0, length: SIZE }, JSON.stringify(resume))
    t.ok((await drain(d)).bytes.equals(file))
    t.same(cdn.requests.map((r) => [r.status, r.headers.range]), [[416, `bytes=${resume.have}-`], [200, undefined]])
  }
})

t.test('a resume that cannot be asked for is a plain GET, start 0', async (t) => {
  const d = await downloadUri(cdn.url('p.pack'), ctx(), { have: 100, validator: 'W/"weak"' })
  t.equal(d.start, 0)
  await drain(d)
  t.equal(cdn.requests[0]?.headers.range, undefined)
})

t.test('statuses: 404 is permanent, 503/500/408/429 retryable, all in git\'s words', async (t) => {
  for (const [status, retryable] of [[404, false], [403, false], [410, false], [500, true], [503, true], [408, true], [429, true]] as const) {
    cdn.faults = { status: () => status }
    const e = await downloadUri(cdn.url('p.pack'), ctx(), { have: 10 }).catch((e: unknown) => e)
    t.type(e, TransportError, String(status))
    t.match(e, { retryable, message: `unable to download packfile URI '${cdn.url('p.pack')}': The requested URL returned error: ${status}` }, String(status))
  }
})

t.test('a redirect on a resumed request: Range and If-Range on every hop, the rest from where it leads', async (t) => {
  const { held, first } = await cutAt(2000)
  const d = await downloadUri(cdn.url('redirect/p.pack'), ctx(), { have: held.length, validator: first.validator ?? '' })
  t.equal(d.start, 2000)
  t.ok(Buffer.concat([held, (await drain(d)).bytes]).equals(file))
  t.same(cdn.requests.slice(1).map((r) => [r.path, r.status, r.headers.range, r.headers['if-range']]), [
    ['/redirect/p.pack', 302, 'bytes=2000-', first.validator],
    ['/p.pack', 206, 'bytes=2000-', first.validator],
  ])
})

t.test('credentials: a resumed request to another origin, or redirected to one, gets none', async (t) => {
  const other = await startCdn({ root: tmp.path })
  t.teardown(() => other.close())
  // The remote is on cdn's origin; `other` is the CDN another host would be.
  cdn.faults = { redirect: (req) => (req.path.startsWith('/elsewhere/') ? `${other.origin}/${req.path.slice('/elsewhere/'.length)}` : undefined) }
  const transport = openTransport(cdn.url('repo.git').replace('http://', 'http://user:secret@'), { extraHeaders: ['X-Token: s3cret'], userAgent: 'tsgit-test' })
  t.teardown(() => transport.close())
  const resume = { have: 500, validator: '"anything"' }

  const direct = await openDownload(transport, other.url('p.pack'), ['http'], {}, resume)
  await drain(direct)
  const viaRedirect = await openDownload(transport, cdn.url('elsewhere/p.pack'), ['http'], {}, resume)
  await drain(viaRedirect)
  const own = await openDownload(transport, cdn.url('p.pack'), ['http'], {}, { have: 500 })
  t.equal(own.start, 500)
  t.ok((await drain(own)).bytes.equals(file.subarray(500)))

  t.equal(other.requests.length, 2)
  for (const r of other.requests) {
    t.equal(r.headers.range, 'bytes=500-', 'the range went along')
    t.equal(r.headers.authorization, undefined, 'no Authorization to another origin')
    t.equal(r.headers['x-token'], undefined, 'no http.extraHeader to another origin')
    t.equal(r.headers['user-agent'], 'tsgit-test')
  }
  t.same(cdn.requests.map((r) => [r.path, r.headers.range, typeof r.headers.authorization, r.headers['x-token']]), [
    ['/elsewhere/p.pack', 'bytes=500-', 'string', 's3cret'],
    ['/p.pack', 'bytes=500-', 'string', 's3cret'],
  ], 'the remote\'s own origin gets them')
})

t.test('openDownload without a transport of its own passes the resume on and keeps start, length, validator', async (t) => {
  const { held, first } = await cutAt(777)
  const notHttp = { displayUrl: 'file:///x' } as unknown as Transport
  const d = await openDownload(notHttp, cdn.url('p.pack'), ['http'], { userAgent: 'tsgit-test' }, { have: held.length, validator: first.validator ?? '' })
  t.match(d, { start: 777, length: SIZE, validator: first.validator, complete: false })
  t.ok(Buffer.concat([held, (await drain(d)).bytes]).equals(file))
  t.equal(cdn.requests[1]?.headers.range, 'bytes=777-')
})

t.test('an abort from the caller stays an AbortError', async (t) => {
  const ac = new AbortController()
  cdn.faults = { chunked: true }
  const d = await downloadUri(cdn.url('p.pack'), ctx({ signal: ac.signal }))
  const it = d.body[Symbol.asyncIterator]()
  await it.next()
  ac.abort()
  const e = await (async () => {
    for (;;) if ((await it.next()).done === true) return undefined
  })().catch((e: unknown) => e)
  t.match(e, { name: 'AbortError' })
  t.notOk(e instanceof TransportError)
})

/** A server of the test's own, for answers a real file server does not give. */
async function withServer(handle: (req: IncomingMessage, res: ServerResponse) => void, fn: (origin: string, seen: IncomingMessage['headers'][]) => Promise<void>): Promise<void> {
  const seen: IncomingMessage['headers'][] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const small = fileBytes(1000, 3)
const ETAG = '"v1"'

t.test('a 206 that is not the rest of this file is never stitched: the whole file again, without Range', async (t) => {
  const have = 400
  const rest = small.subarray(have)
  const hostile: [string, Record<string, string>, Buffer][] = [
    ['another first byte', { 'Content-Range': 'bytes 399-999/1000' }, small.subarray(399)],
    ['a range that stops short', { 'Content-Range': 'bytes 400-899/1000' }, small.subarray(400, 900)],
    ['another total', { 'Content-Range': 'bytes 400-1199/1200' }, Buffer.concat([rest, Buffer.alloc(200)])],
    ['no total', { 'Content-Range': 'bytes 400-999/*' }, rest],
    ['no Content-Range', {}, rest],
    ['a malformed Content-Range', { 'Content-Range': 'bytes=400-999/1000' }, rest],
    ['a total beyond MAX_SAFE_INTEGER', { 'Content-Range': 'bytes 400-999/99999999999999999999' }, rest],
    ['another file (ETag)', { 'Content-Range': 'bytes 400-999/1000', ETag: '"v2"' }, rest],
    ['multipart/byteranges', { 'Content-Range': 'bytes 400-999/1000', 'Content-Type': 'multipart/byteranges; boundary=B' }, Buffer.from('--B\r\nContent-Range: bytes 400-999/1000\r\n\r\nx\r\n--B--\r\n')],
    ['a Content-Length that disagrees with the range', { 'Content-Range': 'bytes 400-999/1000', 'Content-Length': '599' }, rest.subarray(0, 599)],
  ]
  for (const [what, headers, body] of hostile) {
    await withServer(
      (req, res) => {
        if (req.headers.range !== undefined) {
          // Chunked unless a case says otherwise, so that each case is judged on its own fault.
          res.writeHead(206, { ETag: ETAG, ...headers })
          res.end(body)
          return
        }
        res.writeHead(200, { ETag: ETAG, 'Content-Length': String(small.length) })
        res.end(small)
      },
      async (origin, seen) => {
        const d = await downloadUri(`${origin}/p.pack`, ctx(), { have, validator: ETAG, expectedLength: 1000 })
        t.match(d, { start: 0, length: 1000, validator: ETAG, complete: false }, what)
        t.ok((await drain(d)).bytes.equals(small), `${what}: the whole file`)
        t.equal(seen.length, 2, `${what}: asked again`)
        t.equal(seen[1]?.range, undefined, `${what}: without Range`)
        t.equal(seen[1]?.['if-range'], undefined, `${what}: without If-Range`)
      },
    )
  }
})

t.test('a 206 to the request for the whole file is an error, not a loop', async (t) => {
  await withServer(
    (_req, res) => {
      res.writeHead(206, { 'Content-Range': 'bytes 0-9/1000', 'Content-Length': '10' })
      res.end(small.subarray(0, 10))
    },
    async (origin, seen) => {
      const e = await downloadUri(`${origin}/p.pack`, ctx(), { have: 400 }).catch((e: unknown) => e)
      t.match(e, { retryable: false, message: /the server sent part of the file \(206\) when asked for all of it/ })
      t.equal(seen.length, 2)
    },
  )
})

t.test('a 206 body shorter than its Content-Range (chunked, ended cleanly) is a cut; a longer one a lie', async (t) => {
  for (const [what, extra, expected] of [
    ['shorter', -100, { retryable: true, message: /was cut after 900 of 1000 bytes \(the server ended the response early\)/ }],
    ['longer', 100, { retryable: false, message: /the server sent more than the 1000 bytes it announced/ }],
  ] as const) {
    await withServer(
      (_req, res) => {
        res.writeHead(206, { 'Content-Range': 'bytes 400-999/1000' })
        res.end(Buffer.concat([small.subarray(400), Buffer.alloc(100)]).subarray(0, 600 + extra))
      },
      async (origin) => {
        const d = await downloadUri(`${origin}/p.pack`, ctx(), { have: 400 })
        t.equal(d.start, 400)
        const { bytes, error } = await drain(d)
        t.type(error, TransportError, what)
        t.match(error, expected, what)
        t.ok(bytes.equals(small.subarray(400, 400 + bytes.length)), `${what}: what was handed on is the file`)
      },
    )
  }
})
