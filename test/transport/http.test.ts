import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { AuthError, PktLineError, TransportError } from '../../lib/errors.js'
import type { ProgressSink } from '../../lib/events.js'
import { encodePkt, pktText } from '../../lib/pktline/pktline.js'
import { openTransport } from '../../lib/transport/index.js'
import { HttpTransport } from '../../lib/transport/http.js'
import { resolveProxyEnv } from '../../lib/transport/proxy.js'
import { tempDir } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { startGitServer, startRedirectServer, type GitServer } from '../fixtures/server.js'
import { expectedRefs, lsRefsRequest, plainRefs, readSection } from './helpers.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)
let repo: RichRepo
t.before(async () => {
  repo = await makeRichRepo(`${tmp.path}/rich.git`)
})

function collectingSink(): ProgressSink & { warnings: string[] } {
  const warnings: string[] = []
  return { warnings, progress() {}, remote() {}, info() {}, warn: (m) => warnings.push(m) }
}

async function withServer(opts: Omit<Parameters<typeof startGitServer>[0], 'root'>, fn: (s: GitServer) => Promise<void>): Promise<void> {
  const server = await startGitServer({ root: tmp.path, ...opts })
  try {
    await fn(server)
  } finally {
    await server.close()
  }
}

t.test('handshake over http yields the v2 capability advertisement; ls-refs returns the refs', async (t) => {
  await withServer({}, async (server) => {
    const tr = openTransport(server.url('rich.git'), { userAgent: 'git/2.39.0 (tsgit-test)' })
    const adv = await tr.handshake()
    const first = await adv.read()
    t.ok(first, 'got a packet')
    t.equal(first && pktText(first), 'version 2')
    const caps = await readSection(adv)
    t.ok(caps.some((c) => c.startsWith('ls-refs')), 'advertises ls-refs')
    t.ok(caps.some((c) => /^fetch=.*\bfilter\b/.test(c)), 'advertises fetch with filter (server config reached http-backend)')

    const res = await tr.command(lsRefsRequest(['peel', 'symrefs', 'ref-prefix HEAD', 'ref-prefix refs/heads/', 'ref-prefix refs/tags/']))
    const lines = await readSection(res)
    t.same(plainRefs(lines), expectedRefs(repo.path), 'same refs as git for-each-ref')
    t.ok(lines.includes(`${repo.head} HEAD symref-target:refs/heads/main`), 'HEAD symref')
    t.ok(lines.some((l) => l.startsWith(`${repo.tags['v1.0']} refs/tags/v1.0 peeled:${repo.commits[2]}`)), 'annotated tag is peeled')
    t.equal(await res.read(), undefined, 'body ends after the flush')
    t.ok(tr.bytesReceived > 0 && tr.bytesReceived >= adv.bytesRead + res.bytesRead, 'bytesReceived counts both responses')
    await tr.close()

    const [get, post] = server.requests
    t.match(get, { method: 'GET', path: '/rich.git/info/refs', query: 'service=git-upload-pack', gitProtocol: 'version=2', status: 200 })
    t.equal(get?.headers['user-agent'], 'git/2.39.0 (tsgit-test)')
    t.match(post, { method: 'POST', path: '/rich.git/git-upload-pack', gitProtocol: 'version=2', command: 'ls-refs', status: 200 })
    t.same(post?.args, ['peel', 'symrefs', 'ref-prefix HEAD', 'ref-prefix refs/heads/', 'ref-prefix refs/tags/'])
    t.same(post?.capabilities, ['agent=tsgit/test', 'object-format=sha1'])
    t.equal(post?.headers['content-type'], 'application/x-git-upload-pack-request')
    t.equal(post?.headers['accept'], 'application/x-git-upload-pack-result')
    t.equal(post?.bytesOut, res.bytesRead, 'every byte the server sent was read')
  })
})

t.test('an old server (no Git-Protocol passed on) answers with a v0 advertisement, handed back as is', async (t) => {
  await withServer({ protocolV2: false }, async (server) => {
    const tr = openTransport(server.url('rich.git'), {})
    const adv = await tr.handshake()
    const first = await adv.read()
    t.ok(first && first.type === 'data')
    const text = first ? pktText(first) : ''
    t.not(text, 'version 2')
    t.match(text, new RegExp(`^${repo.head} HEAD\\0`), 'v0 ref advertisement starts with HEAD and capabilities')
    await tr.close()
  })
})

t.test('401 is an AuthError; matching credentials in the URL get through', async (t) => {
  await withServer({ auth: { username: 'alice', password: 'p@ss' } }, async (server) => {
    const anon = openTransport(server.url('rich.git'), {})
    const err = await anon.handshake().catch((e: unknown) => e)
    t.ok(err instanceof AuthError, 'AuthError')
    t.equal((err as Error).message, `Authentication failed for '${server.url('rich.git')}/'`)
    await anon.close()

    const wrong = openTransport(server.url('rich.git').replace('//', '//alice:nope@'), {})
    const err2 = await wrong.handshake().catch((e: unknown) => e)
    t.ok(err2 instanceof AuthError)
    t.notMatch((err2 as Error).message, /nope/, 'password not in the message')
    await wrong.close()

    const good = openTransport(server.url('rich.git').replace('//', '//alice:p%40ss@'), {})
    t.equal(good.displayUrl, server.url('rich.git').replace('//', '//alice@'))
    const adv = await good.handshake()
    const first = await adv.read()
    t.equal(first && pktText(first), 'version 2')
    await readSection(adv)
    const res = await good.command(lsRefsRequest())
    t.same(plainRefs(await readSection(res)), expectedRefs(repo.path))
    await good.close()
    const sent = server.requests.at(-1)?.headers['authorization']
    t.equal(sent, `Basic ${Buffer.from('alice:p@ss').toString('base64')}`, 'Basic auth on the POST too')
  })
})

t.test('404 is "repository not found"; other statuses name the code', async (t) => {
  await withServer(
    { intercept: (r) => (r.path.startsWith('/boom') ? { status: 503, body: Buffer.from('down') } : undefined) },
    async (server) => {
      const tr = openTransport(server.url('missing.git'), {})
      const err = await tr.handshake().catch((e: unknown) => e)
      t.ok(err instanceof TransportError)
      t.equal((err as Error).message, `repository '${server.url('missing.git')}' not found`)
      t.equal((err as TransportError).retryable, false)
      await tr.close()

      const tr2 = openTransport(server.url('boom.git'), {})
      const err2 = await tr2.handshake().catch((e: unknown) => e)
      t.ok(err2 instanceof TransportError)
      t.equal((err2 as Error).message, `unable to access '${server.url('boom.git')}': The requested URL returned error: 503`)
      await tr2.close()
    },
  )
})

t.test('a dumb server (wrong content type) is a clear error', async (t) => {
  await withServer({ intercept: (r) => (r.method === 'GET' ? { status: 200, headers: { 'Content-Type': 'text/plain' }, body: Buffer.from(`${repo.head}\trefs/heads/main\n`) } : undefined) }, async (server) => {
    const tr = openTransport(server.url('rich.git'), {})
    await t.rejects(tr.handshake(), { name: 'TransportError', message: /not a smart git HTTP server/ })
    await tr.close()
  })
})

t.test('a response body cut short surfaces as "remote end hung up"', async (t) => {
  await withServer(
    {
      intercept: (r) =>
        r.method === 'POST' ? { status: 200, headers: { 'Content-Type': 'application/x-git-upload-pack-result' }, body: encodePkt(`${repo.head} refs/heads/main\n`).subarray(0, 30) } : undefined,
    },
    async (server) => {
      const tr = openTransport(server.url('rich.git'), {})
      await readSection(await tr.handshake()).then(async (l) => l)
      const res = await tr.command(lsRefsRequest())
      await t.rejects(readSection(res), PktLineError)
      await t.rejects(
        (async () => {
          const r2 = await tr.command(lsRefsRequest())
          await readSection(r2)
        })(),
        { message: /remote end hung up/ },
      )
      await tr.close()
    },
  )
})

t.test('connection refused is a retryable TransportError', async (t) => {
  const server = await startGitServer({ root: tmp.path })
  const url = server.url('rich.git')
  await server.close()
  const tr = openTransport(url, {})
  const err = await tr.handshake().catch((e: unknown) => e)
  t.ok(err instanceof TransportError)
  t.equal((err as TransportError).retryable, true)
  t.match((err as Error).message, new RegExp(`^unable to access '${url.replace(/[.]/g, '\\.')}': .*ECONNREFUSED`))
  await tr.close()
})

t.test('the initial GET follows a redirect; later POSTs go to the redirected base', async (t) => {
  await withServer({}, async (server) => {
    // Same server, redirecting /old.git/* to /rich.git/*.
    const redirecting = await startGitServer({ root: tmp.path, redirect: { from: '/old.git', to: server.url('rich.git') } })
    try {
      const sink = collectingSink()
      const tr = new HttpTransport(
        { kind: 'http', baseUrl: redirecting.url('old.git'), displayUrl: redirecting.url('old.git') },
        { sink },
      )
      const adv = await tr.handshake()
      const first = await adv.read()
      t.equal(first && pktText(first), 'version 2')
      await readSection(adv)
      t.equal(tr.baseUrl, server.url('rich.git'))
      t.same(sink.warnings, [`redirecting to ${server.url('rich.git')}/`])
      const res = await tr.command(lsRefsRequest())
      t.same(plainRefs(await readSection(res)), expectedRefs(repo.path))
      await tr.close()
      t.same(redirecting.requests.map((r) => `${r.method} ${r.path} ${r.status}`), ['GET /old.git/info/refs 302'])
      t.same(server.requests.map((r) => `${r.method} ${r.path}`), ['GET /rich.git/info/refs', 'POST /rich.git/git-upload-pack'])
    } finally {
      await redirecting.close()
    }
  })
})

t.test('credentials and extra headers go to the original origin only, never to a cross-origin redirect target', async (t) => {
  await withServer({}, async (target) => {
    const front = await startRedirectServer({ to: target.origin })
    try {
      const url = front.url('rich.git').replace('//', '//alice:secret@')
      const tr = openTransport(url, { extraHeaders: ['X-Custom-Token: abc123', 'Authorization-Extra: yes'] })
      const adv = await tr.handshake()
      await readSection(adv)
      const res = await tr.command(lsRefsRequest())
      t.same(plainRefs(await readSection(res)), expectedRefs(repo.path))
      await tr.close()

      t.equal(front.requests.length, 1, 'only the initial GET hits the original origin')
      const orig = front.requests[0]
      t.equal(orig?.headers['authorization'], `Basic ${Buffer.from('alice:secret').toString('base64')}`, 'credentials sent to the original')
      t.equal(orig?.headers['x-custom-token'], 'abc123', 'extra header sent to the original')
      t.equal(target.requests.length, 2)
      for (const r of target.requests) {
        t.equal(r.headers['authorization'], undefined, `${r.method}: no Authorization to the other origin`)
        t.equal(r.headers['x-custom-token'], undefined, `${r.method}: no extra header to the other origin`)
        t.equal(r.headers['authorization-extra'], undefined)
        t.equal(r.gitProtocol, 'version=2', 'Git-Protocol still sent')
      }
    } finally {
      await front.close()
    }
  })
})

t.test('localhost and 127.0.0.1 are different origins', async (t) => {
  await withServer({}, async (target) => {
    const front = await startRedirectServer({ to: target.origin.replace('127.0.0.1', 'localhost') })
    try {
      const tr = openTransport(front.url('rich.git'), { extraHeaders: ['X-Custom-Token: abc123'] })
      const err = await tr.handshake().then(
        async (adv) => {
          await readSection(adv)
          return undefined
        },
        (e: unknown) => e,
      )
      await tr.close()
      // localhost may resolve to ::1 where nothing listens; what matters is what reached 127.0.0.1.
      t.equal(front.requests[0]?.headers['x-custom-token'], 'abc123')
      if (err === undefined) t.equal(target.requests[0]?.headers['x-custom-token'], undefined)
      else t.ok(err instanceof TransportError, 'connection failure is a TransportError')
    } finally {
      await front.close()
    }
  })
})

t.test('redirects to disallowed schemes are refused', async (t) => {
  const front = await startRedirectServer({ to: 'ftp://127.0.0.1:1' })
  try {
    const tr = openTransport(front.url('rich.git'), {})
    await t.rejects(tr.handshake(), { name: 'TransportError', message: /disallowed scheme 'ftp'/ })
    await tr.close()
  } finally {
    await front.close()
  }
  const front2 = await startRedirectServer({ to: 'http://127.0.0.1:1' })
  try {
    const tr2 = openTransport(front2.url('rich.git'), { allowedSchemes: ['https'] })
    await t.rejects(tr2.handshake(), { name: 'TransportError', message: /disallowed scheme 'http'/ })
    await tr2.close()
  } finally {
    await front2.close()
  }
})

t.test('a redirect loop stops after 20 hops', async (t) => {
  // A server that redirects every request to itself.
  const srv = await startGitServer({ root: tmp.path, intercept: (r) => ({ status: 302, headers: { Location: `${r.path}?${r.query}` }, body: Buffer.alloc(0) }) })
  try {
    const tr = openTransport(srv.url('rich.git'), {})
    await t.rejects(tr.handshake(), { message: /Maximum \(20\) redirects followed/ })
    await tr.close()
    t.equal(srv.requests.length, 21)
  } finally {
    await srv.close()
  }
})

t.test('https: TLS verification, sslCAInfo, sslVerify=false, and no https→http downgrade on redirect', async (t) => {
  const key = `${tmp.path}/key.pem`
  const cert = `${tmp.path}/cert.pem`
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
  t.equal(r.status, 0, `openssl: ${r.stderr}`)
  await withServer({}, async (target) => {
    const tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      res.statusCode = 302
      res.setHeader('Location', `${target.origin}${req.url ?? '/'}`)
      res.end()
    })
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', () => resolve()))
    const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/rich.git`
    try {
      const untrusted = openTransport(url, {})
      const err = await untrusted.handshake().catch((e: unknown) => e)
      t.ok(err instanceof TransportError, 'self-signed certificate rejected')
      t.equal((err as TransportError).retryable, false, 'and not worth a retry: the certificate will not change')
      t.match((err as Error).message, /^unable to access 'https:\/\/127\.0\.0\.1:\d+\/rich\.git': .*(self[- ]signed|certificate)/i)
      await untrusted.close()

      for (const opts of [{ sslCAInfo: cert }, { sslVerify: false }]) {
        const tr = openTransport(url, opts)
        await t.rejects(tr.handshake(), { name: 'TransportError', message: /refusing to follow a redirect from https to http/ }, JSON.stringify(opts))
        await tr.close()
      }
      t.equal(target.requests.length, 0, 'the http target was never contacted')
    } finally {
      tls.closeAllConnections()
      await new Promise<void>((resolve) => tls.close(() => resolve()))
    }
  })
})

t.test('proxy environment variables are read like curl does', async (t) => {
  t.same(resolveProxyEnv({ HTTP_PROXY: 'http://evil:1', https_proxy: 'p:3128', no_proxy: 'a.example' }), { httpProxy: '', httpsProxy: 'http://p:3128', noProxy: 'a.example' })
  t.same(resolveProxyEnv({ http_proxy: 'http://h:1', ALL_PROXY: 'http://all:2' }), { httpProxy: 'http://h:1', httpsProxy: 'http://all:2', noProxy: '' })
  t.same(resolveProxyEnv({ HTTPS_PROXY: 'http://s:1', NO_PROXY: '*' }), { httpProxy: '', httpsProxy: 'http://s:1', noProxy: '*' })
})

t.test('http_proxy from the given env is used; no_proxy and an empty http.proxy bypass it', async (t) => {
  const proxy = createHttpServer((req, res) => {
    proxied.push(req.url ?? '')
    res.statusCode = 502
    res.end()
  })
  const proxied: string[] = []
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()))
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  try {
    await withServer({}, async (server) => {
      const via = openTransport(server.url('rich.git'), { env: { http_proxy: proxyUrl } })
      await t.rejects(via.handshake(), { message: /returned error: 502/ })
      await via.close()
      t.same(proxied, [`${server.url('rich.git')}/info/refs?service=git-upload-pack`], 'absolute-form request reached the proxy')

      for (const opts of [{ env: { http_proxy: proxyUrl, no_proxy: '127.0.0.1' } }, { env: { http_proxy: proxyUrl }, proxy: '' }]) {
        const direct = openTransport(server.url('rich.git'), opts)
        const adv = await direct.handshake()
        t.equal(pktText((await adv.read())!), 'version 2')
        await direct.close()
      }
      t.equal(proxied.length, 1, 'bypassed the proxy')
      t.equal(server.requests.length, 2)
    })
  } finally {
    proxy.closeAllConnections()
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
  }
})
