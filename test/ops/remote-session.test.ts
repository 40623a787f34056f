/**
 * The first command of a session goes out with the handshake over http (one round
 * trip instead of two), and is used only when the request built from the real
 * advertisement is the same: checked against real git http-backends configured to
 * advertise what tsgit guesses and what it does not.
 */
import t from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { startGitServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { openSessionAndListRefs, openSessionWith } from '../../lib/ops/remote-session.js'
import { receive } from '../../lib/ops/receive.js'
import { buildFetchRequest, serverSupportsFilter, type Capabilities, type FetchArgs } from '../../lib/protocol/index.js'
import { silentSink } from '../../lib/events.js'

const tmp = tempDir('tsgit-session-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
mkdirSync(root)
let rich: RichRepo
t.before(async () => {
  rich = await makeRichRepo(join(root, 'rich.git'))
})

/** git's own answer: every ref under HEAD, refs/heads/ and refs/tags/, as "<oid> <name>". */
function gitRefs(): string[] {
  const out = git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/', 'refs/tags/'], { cwd: rich.path }).stdout
  const head = git(['rev-parse', 'HEAD'], { cwd: rich.path }).stdout.trim()
  return [`${head} HEAD`, ...out.trim().split('\n')].sort()
}

const PREFIXES = { refPrefixes: ['HEAD', 'refs/heads/', 'refs/tags/'] }

function commands(server: GitServer, name: string): RecordedRequest[] {
  return server.requests.filter((r) => r.command === name)
}

t.test('over http, ls-refs is sent before the capability advertisement has arrived', async (t) => {
  let lsRefsArrived = false
  let heldGet = false
  let server: GitServer | undefined = undefined
  server = await startGitServer({
    root,
    beforeAnswer: async (req) => {
      if (req.command === 'ls-refs') lsRefsArrived = true
      if (req.method !== 'GET') return
      // The advertisement is held back until ls-refs is in (or 5 s pass): only a client
      // that did not wait for it can have sent ls-refs by then.
      heldGet = true
      for (let i = 0; i < 500 && !lsRefsArrived; i++) await new Promise((r) => setTimeout(r, 10))
    },
  })
  t.teardown(() => server?.close())
  const { session, refs } = await openSessionAndListRefs(server.url('rich.git'), { sink: silentSink }, PREFIXES)
  await session.transport.close()
  t.ok(heldGet, 'the advertisement was asked for')
  t.ok(lsRefsArrived, 'ls-refs arrived while the advertisement was held back')
  t.same(refs.filter((r) => r.oid !== undefined).map((r) => `${r.oid} ${r.name}`).sort(), gitRefs(), 'the refs git lists')
  t.equal(server.requests.length, 2, 'one GET and one POST: nothing sent twice')
  t.ok(commands(server, 'ls-refs')[0]?.args.includes('unborn'), 'the request a git 2.39 advertisement calls for')
})

t.test('a server that does not advertise what was guessed: the early answer is dropped, the right request sent', async (t) => {
  // lsrefs.unborn=ignore: git stops advertising ls-refs=unborn, so the real request has no "unborn".
  const server = await startGitServer({ root, config: { 'lsrefs.unborn': 'ignore' } })
  t.teardown(() => server.close())
  const { session, refs } = await openSessionAndListRefs(server.url('rich.git'), { sink: silentSink }, PREFIXES)
  await session.transport.close()
  t.notOk(session.caps.commandFeatures('ls-refs').has('unborn'), 'the server really does not advertise unborn')
  const lsRefs = commands(server, 'ls-refs')
  t.equal(lsRefs.length, 2, 'the guess went out, then the real request')
  t.ok(lsRefs[0]?.args.includes('unborn') && !lsRefs[1]?.args.includes('unborn'), 'the second is built from the real advertisement')
  t.same(refs.filter((r) => r.oid !== undefined).map((r) => `${r.oid} ${r.name}`).sort(), gitRefs())
})

t.test('a fetch as the first command: used when the guess holds, rebuilt without filter when the server has none', async (t) => {
  const head = git(['rev-parse', 'HEAD'], { cwd: rich.path }).stdout.trim()
  const args = (caps: Capabilities): FetchArgs => ({ wants: [head], done: true, ofsDelta: true, filter: serverSupportsFilter(caps) ? 'blob:none' : undefined, noProgress: true })
  for (const [label, config, fetches, filtered] of [
    ['filter advertised', {}, 1, true],
    ['no filter', { 'uploadpack.allowFilter': 'false' }, 2, false],
  ] as const) {
    const server = await startGitServer({ root, config })
    const packDir = join(tmp.path, `packs-${label.replace(/ /g, '-')}`)
    mkdirSync(packDir)
    const { session, reader } = await openSessionWith(server.url('rich.git'), { sink: silentSink }, (caps) => buildFetchRequest(caps, args(caps)))
    const got = await receive(session, { args: args(session.caps), reader }, { packDir, progress: silentSink })
    await session.transport.close()
    await server.close()
    t.ok(got.objects > 0, `${label}: a pack arrived`)
    const sent = commands(server, 'fetch')
    t.equal(sent.length, fetches, `${label}: ${fetches} fetch request(s)`)
    t.equal(sent.at(-1)?.args.includes('filter blob:none'), filtered, `${label}: the request that counted ${filtered ? 'has' : 'has no'} filter`)
  }
})

t.test('file:// has no early command: one conversation, in order', async (t) => {
  const { session, refs } = await openSessionAndListRefs(`file://${rich.path}`, { sink: silentSink }, PREFIXES)
  await session.transport.close()
  t.same(refs.filter((r) => r.oid !== undefined).map((r) => `${r.oid} ${r.name}`).sort(), gitRefs())
})
