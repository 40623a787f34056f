// Its own file, so that its process has not loaded undici for another test.
import { createRequire } from 'node:module'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { pktText } from '../../lib/pktline/pktline.js'
import { openTransport } from '../../lib/transport/index.js'
import { tempDir } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { startGitServer } from '../fixtures/server.js'
import { lsRefsRequest, readSection } from './helpers.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)
let repo: RichRepo
t.before(async () => {
  repo = await makeRichRepo(`${tmp.path}/rich.git`)
})

function undiciLoaded(): boolean {
  return Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/undici/'))
}

t.test('a direct connection goes through node:http without loading undici; a proxied one through undici, end to end', async (t) => {
  const server = await startGitServer({ root: tmp.path })
  // A forwarding proxy: plain http arrives in absolute form and is passed on.
  const proxied: string[] = []
  const proxy = createServer((req, res) => {
    proxied.push(`${req.method} ${req.url}`)
    const target = new URL(req.url ?? '')
    const upstream = request({ hostname: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()))
  try {
    const direct = openTransport(server.url('rich.git'), { env: {} })
    const adv = await direct.handshake()
    t.equal(pktText((await adv.read())!), 'version 2')
    await readSection(adv)
    const refs = await readSection(await direct.command(lsRefsRequest()))
    t.ok(refs.some((l) => l.endsWith(' refs/heads/main') && l.startsWith(repo.head)), 'ls-refs answered')
    await direct.close()
    t.equal(undiciLoaded(), false, 'undici not loaded for a direct connection')

    const via = openTransport(server.url('rich.git'), { env: { http_proxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` } })
    const adv2 = await via.handshake()
    t.equal(pktText((await adv2.read())!), 'version 2')
    await readSection(adv2)
    const refs2 = await readSection(await via.command(lsRefsRequest()))
    t.same(refs2, refs, 'the same refs through the proxy')
    await via.close()
    t.equal(undiciLoaded(), true, 'undici loaded for the proxy')
    t.same(proxied, [`GET ${server.url('rich.git')}/info/refs?service=git-upload-pack`, `POST ${server.url('rich.git')}/git-upload-pack`])
    t.equal(server.requests.length, 4)
  } finally {
    proxy.closeAllConnections()
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
    await server.close()
  }
})
