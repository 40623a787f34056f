import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { NodeHttpClient, requestTarget } from '../../lib/transport/node-http.js'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
  remotePort: number
}

async function withHttp(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void, fn: (base: string, seen: Seen[], server: Server) => Promise<void>): Promise<void> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts), remotePort: req.socket.remotePort ?? 0 }
      seen.push(s)
      handler(req, res, s)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of body) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

t.test('requestTarget: host, port and path of the URL, never its userinfo; IPv6 literals unbracketed', async (t) => {
  t.same(requestTarget(new URL('http://user:secret@example.com:8080/a/b.git/info/refs?service=git-upload-pack')), {
    protocol: 'http:',
    hostname: 'example.com',
    port: 8080,
    path: '/a/b.git/info/refs?service=git-upload-pack',
  })
  t.same(requestTarget(new URL('https://[::1]/r')), { protocol: 'https:', hostname: '::1', port: undefined, path: '/r' })
})

t.test('a POST carries its headers and body with a Content-Length; responses stream; the connection is reused', async (t) => {
  await withHttp(
    (_req, res, s) => {
      res.writeHead(201, { 'Content-Type': 'application/x-test', 'X-Echo': String(s.body.length) })
      res.end(Buffer.concat([Buffer.from('got:'), s.body]))
    },
    async (base, seen) => {
      const client = new NodeHttpClient({ rejectUnauthorized: true })
      const body = Buffer.from('0014command=ls-refs\n0000')
      const first = await client.request(new URL(`${base}/repo/git-upload-pack`), { method: 'POST', headers: { 'Git-Protocol': 'version=2' }, body })
      t.equal(first.statusCode, 201)
      t.equal(first.headers['content-type'], 'application/x-test')
      t.equal(first.headers['x-echo'], String(body.length))
      t.equal((await readAll(first.body)).toString(), `got:${body.toString()}`)
      const second = await client.request(new URL(`${base}/repo/info/refs?service=git-upload-pack`), { method: 'GET', headers: {} })
      await readAll(second.body)
      await client.close()
      t.equal(seen.length, 2)
      t.equal(seen[0]?.method, 'POST')
      t.equal(seen[0]?.headers['content-length'], String(body.length))
      t.equal(seen[0]?.headers['transfer-encoding'], undefined, 'not chunked')
      t.equal(seen[0]?.headers['git-protocol'], 'version=2')
      t.same(seen[0]?.body, body)
      t.equal(seen[1]?.url, '/repo/info/refs?service=git-upload-pack')
      t.equal(seen[1]?.remotePort, seen[0]?.remotePort, 'kept alive: one connection for both')
    },
  )
})

t.test('credentials in the URL are not sent', async (t) => {
  await withHttp(
    (_req, res) => res.end('ok'),
    async (base, seen) => {
      const client = new NodeHttpClient({ rejectUnauthorized: true })
      const res = await client.request(new URL(base.replace('http://', 'http://alice:secret@') + '/r'), { method: 'GET', headers: {} })
      await res.dump()
      await client.close()
      t.equal(seen[0]?.headers['authorization'], undefined)
    },
  )
})

t.test('dump() of an endless body stops after 128 KiB and closes the connection', async (t) => {
  let closed = false
  await withHttp(
    (req, res) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' })
      const chunk = Buffer.alloc(16 * 1024, 0x61)
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump)
      }
      req.socket.on('close', () => {
        closed = true
      })
      pump()
    },
    async (base) => {
      const client = new NodeHttpClient({ rejectUnauthorized: true })
      const res = await client.request(new URL(`${base}/r`), { method: 'GET', headers: {} })
      t.equal(res.statusCode, 500)
      await res.dump()
      t.ok(res.body.destroyed, 'body destroyed rather than read to an end that never comes')
      await new Promise((resolve) => setTimeout(resolve, 50))
      t.ok(closed, 'the server saw the connection close')
      await client.close()
    },
  )
})

t.test('an abort while the body is read ends it with an AbortError; before the answer, the request rejects with one', async (t) => {
  await withHttp(
    (req, res) => {
      if (req.url === '/slow-headers') return // never answers
      res.writeHead(200)
      res.write('first part')
    },
    async (base) => {
      const client = new NodeHttpClient({ rejectUnauthorized: true })
      const during = new AbortController()
      const res = await client.request(new URL(`${base}/body`), { method: 'GET', headers: {}, signal: during.signal })
      const reading = readAll(res.body)
      setTimeout(() => during.abort(), 20)
      await t.rejects(reading, { name: 'AbortError' })
      const before = new AbortController()
      const pending = client.request(new URL(`${base}/slow-headers`), { method: 'GET', headers: {}, signal: before.signal })
      setTimeout(() => before.abort(), 20)
      await t.rejects(pending, { name: 'AbortError' })
      await client.close()
    },
  )
})

t.test('a header value with a line break is refused before anything is sent', async (t) => {
  await withHttp(
    (_req, res) => res.end('ok'),
    async (base, seen) => {
      const client = new NodeHttpClient({ rejectUnauthorized: true })
      await t.rejects(client.request(new URL(`${base}/r`), { method: 'GET', headers: { 'X-Evil': 'a\r\nInjected: yes' } }), { code: 'ERR_INVALID_CHAR' })
      await client.close()
      t.equal(seen.length, 0)
    },
  )
})
