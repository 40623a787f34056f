/**
 * A server that answers in protocol v0 (git http-backend without HTTP_GIT_PROTOCOL, as
 * behind a proxy that drops the Git-Protocol header; upload-pack over ssh without
 * GIT_PROTOCOL): clone, partial clone, shallow clone, fetch and lazy fetch, each judged
 * against real git doing the same against the same server (refs, the object set, fsck,
 * status), and the v0 requests the server saw.
 */
import t, { type Test } from 'tap'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { startGitServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
let v0: GitServer
const srv = serveRepos(t, 'tsgit-v0-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  git(['init', '-q', '--bare', join(root, 'empty.git')])
  // for upload-pack run over ssh (the http server sets them for itself), as git's own tests do
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: rich.path })
  git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], { cwd: rich.path })
})
t.before(async () => {
  v0 = await startGitServer({ root: srv.root, protocolV2: false })
})
t.teardown(async () => v0?.close())

/** An ssh stand-in that runs the command here without GIT_PROTOCOL: upload-pack answers in v0. It logs a line per connection. */
function sshV0(): { env: Record<string, string>; connections: () => number } {
  const ssh = join(srv.tmp.path, 'ssh-v0.sh')
  const log = join(srv.tmp.path, 'ssh-v0.log')
  writeFileSync(ssh, `#!/bin/sh\nwhile [ $# -gt 2 ]; do shift; done\necho x >>'${log}'\nunset GIT_PROTOCOL\nexec sh -c "$2"\n`)
  chmodSync(ssh, 0o755)
  writeFileSync(log, '')
  return { env: { GIT_SSH_COMMAND: ssh, GIT_SSH_VARIANT: 'simple' }, connections: () => readFileSync(log, 'utf8').split('\n').length - 1 }
}

/** Every pkt-line of a request body, flushes as "0000". */
function lines(r: RecordedRequest): string[] {
  const out: string[] = []
  for (let pos = 0; pos + 4 <= r.body.length; ) {
    const len = parseInt(r.body.subarray(pos, pos + 4).toString('latin1'), 16)
    if (len < 4) {
      out.push('0000')
      pos += 4
      continue
    }
    out.push(r.body.subarray(pos + 4, pos + len).toString('utf8').replace(/\n$/, ''))
    pos += len
  }
  return out
}

/**
 * The v0 upload-pack requests a client made. (A v2 request may go out with the first
 * GET, speculatively, before tsgit knows the server answers v0: it is never used.)
 */
function v0Posts(server: GitServer, since: number): RecordedRequest[] {
  return server.requests.slice(since).filter((r) => r.method === 'POST' && r.command === undefined)
}

function shallowFile(dir: string): string | undefined {
  const p = join(dir, '.git', 'shallow')
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined
}

/** The local config without the extensions.partialClone section tsgit adds (a documented deviation). */
function configOf(dir: string): string {
  return readFileSync(join(dir, '.git', 'config'), 'utf8').replace(/\[extensions\]\n\tpartialClone = origin\n/, '')
}

async function sameAsGit(t: Test, ours: string, theirs: string, checkedOut = true): Promise<void> {
  t.equal(git(['for-each-ref'], { cwd: ours }).stdout, git(['for-each-ref'], { cwd: theirs }).stdout, 'refs as git’s')
  const objects = ['rev-list', '--objects', '--all', '--missing=print']
  t.equal((await gitAsync(objects, { cwd: ours })).stdout, (await gitAsync(objects, { cwd: theirs })).stdout, 'the object set (and what is missing) as git’s')
  t.equal(shallowFile(ours), shallowFile(theirs), '.git/shallow (or its absence)')
  t.equal(configOf(ours), configOf(theirs), 'config')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  if (checkedOut) t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '', 'git status clean')
}

for (const flags of [[], ['--filter=blob:none', '--no-checkout'], ['--depth=2'], ['--depth=1', '--filter=blob:none'], ['--no-single-branch', '--depth=1']]) {
  t.test(`clone ${flags.join(' ')} from a v0 server: what git's clone makes`, async (t) => {
    const url = v0.url('rich.git')
    const ours = srv.dest('ours')
    const theirs = srv.dest('theirs')
    const since = v0.requests.length
    const r = await tsgit(['clone', '-q', ...flags, url, ours])
    t.equal(r.status, 0, r.stderr)
    const posts = v0Posts(v0, since)
    t.ok(posts.length > 0)
    const first = lines(posts[0] as RecordedRequest)
    t.match(first[0], /^want [0-9a-f]{40} side-band-64k /, 'wants first, capabilities on the first')
    t.notOk(first[0]?.includes('multi_ack'), 'no multi_ack: done at once')
    t.equal(first[first.length - 1], 'done', 'done in the same request')
    if (flags.some((f) => f.startsWith('--filter'))) {
      t.ok(first.includes('filter blob:none'), 'the filter line')
      t.ok(first[0]?.split(' ').includes('filter'), 'the filter capability')
    }
    const depth = flags.find((f) => f.startsWith('--depth='))
    if (depth !== undefined) t.ok(first.includes(`deepen ${depth.slice('--depth='.length)}`), 'deepen')
    await gitAsync(['clone', '-q', ...flags, url, theirs])
    await sameAsGit(t, ours, theirs, !flags.includes('--no-checkout'))
  })
}

t.test('an empty repository from a v0 server (no HEAD in the advertisement): git’s warning and config', async (t) => {
  const url = v0.url('empty.git')
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  const r = await tsgit(['clone', url, ours])
  t.equal(r.status, 0, r.stderr)
  const g = await gitAsync(['clone', url, theirs])
  t.equal(r.stderr.replace(ours, ''), g.stderr.replace(theirs, ''), 'the same words')
  t.equal(configOf(ours), configOf(theirs), 'config, with the initial branch’s remote and merge')
  t.equal(git(['symbolic-ref', 'HEAD'], { cwd: ours }).stdout, git(['symbolic-ref', 'HEAD'], { cwd: theirs }).stdout)
})

t.test('fetch from a v0 server: the refs, objects and FETCH_HEAD git gets', async (t) => {
  const url = v0.url('rich.git')
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  t.equal((await tsgit(['clone', '-q', url, ours])).status, 0)
  await gitAsync(['clone', '-q', url, theirs])
  // the server moves on: a new commit on main and a new branch
  const work = srv.dest('work')
  git(['clone', '-q', rich.path, work])
  writeFileSync(join(work, 'new.txt'), 'new\n')
  git(['add', 'new.txt'], { cwd: work })
  git(['commit', '-q', '-m', 'new'], { cwd: work })
  git(['push', '-q', 'origin', 'HEAD:main', 'HEAD:refs/heads/v0-topic'], { cwd: work })
  t.teardown(() => git(['push', '-q', 'origin', `${rich.head}:main`, ':refs/heads/v0-topic', '--force'], { cwd: work }))
  const since = v0.requests.length
  const r = await tsgit(['fetch', '-q'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const post = v0Posts(v0, since)[0]
  t.ok(post && lines(post).some((l) => l.startsWith('have ')), 'local tips sent as haves')
  await gitAsync(['fetch', '-q'], { cwd: theirs })
  t.equal(readFileSync(join(ours, '.git', 'FETCH_HEAD'), 'utf8').replaceAll(ours, ''), readFileSync(join(theirs, '.git', 'FETCH_HEAD'), 'utf8').replaceAll(theirs, ''), 'FETCH_HEAD')
  t.equal(git(['for-each-ref'], { cwd: ours }).stdout, git(['for-each-ref'], { cwd: theirs }).stdout, 'refs as git’s')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
})

t.test('fetch into a shallow clone from a v0 server: shallow lines, no deepen, what git gets', async (t) => {
  const url = v0.url('rich.git')
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  t.equal((await tsgit(['clone', '-q', '--depth=1', url, ours])).status, 0)
  await gitAsync(['clone', '-q', '--depth=1', url, theirs])
  const work = srv.dest('work')
  git(['clone', '-q', rich.path, work])
  writeFileSync(join(work, 'shallow-new.txt'), 'new\n')
  git(['add', '.'], { cwd: work })
  git(['commit', '-q', '-m', 'new'], { cwd: work })
  git(['push', '-q', 'origin', 'HEAD:main'], { cwd: work })
  t.teardown(() => git(['push', '-q', '--force', 'origin', `${rich.head}:main`], { cwd: work }))
  const since = v0.requests.length
  const r = await tsgit(['fetch', '-q'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const sent = lines(v0Posts(v0, since)[0] as RecordedRequest)
  t.ok(sent.includes(`shallow ${rich.head}`), 'the shallow boundary sent')
  await gitAsync(['fetch', '-q'], { cwd: theirs })
  await sameAsGit(t, ours, theirs)
})

// (--unshallow: git 2.39 over v0 does not follow the tags of the history it brings in,
// tsgit does, as git does over v2: see tsgit-fetch(1), DEVIATIONS)
for (const flags of [['--deepen=1'], ['--depth=3']]) {
  t.test(`fetch ${flags.join(' ')} in a shallow clone from a v0 server: the history git gets`, async (t) => {
    const url = v0.url('rich.git')
    const ours = srv.dest('ours')
    const theirs = srv.dest('theirs')
    t.equal((await tsgit(['clone', '-q', '--depth=1', url, ours])).status, 0)
    await gitAsync(['clone', '-q', '--depth=1', url, theirs])
    const r = await tsgit(['fetch', '-q', ...flags], { cwd: ours })
    t.equal(r.status, 0, r.stderr)
    await gitAsync(['fetch', '-q', ...flags], { cwd: theirs })
    await sameAsGit(t, ours, theirs)
  })
}

t.test('lazy fetch from a v0 server: missing blobs wanted by id, in one request', async (t) => {
  const ours = srv.dest('ours')
  t.equal((await tsgit(['clone', '-q', '--filter=blob:none', '--no-checkout', v0.url('rich.git'), ours])).status, 0)
  const since = v0.requests.length
  const r = await tsgit(['checkout', '-q', 'main'], { cwd: ours })
  t.equal(r.status, 0, r.stderr)
  const posts = v0Posts(v0, since)
  t.equal(posts.length, 1, 'one request for every blob of the checkout')
  t.ok(lines(posts[0] as RecordedRequest).filter((l) => l.startsWith('want ')).length > 1, 'many wants')
  t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
  t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '', 'git status clean')
  const missing = git(['rev-list', '--no-walk', '--objects', '--missing=print', 'HEAD'], { cwd: ours }).stdout.split('\n').filter((l) => l.startsWith('?'))
  t.same(missing, [], 'nothing of HEAD missing')
})

t.test('lazy fetch from a v0 upload-pack that allows no unadvertised want: its refusal, as git gets it', async (t) => {
  // Over http (stateless) upload-pack takes any want reachable from a tip; over a
  // stateful connection only advertised tips, unless uploadpack.allowAnySHA1InWant.
  const env = sshV0().env
  const strict = join(srv.root, 'strict.git')
  git(['clone', '-q', '--bare', rich.path, strict])
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: strict })
  const ours = srv.dest('ours')
  const url = `example.invalid:${strict}`
  const c = await tsgit(['clone', '-q', '--filter=blob:none', '--no-checkout', url, ours], { env })
  t.equal(c.status, 0, c.stderr)
  const blob = git(['rev-parse', 'main:src/main.c'], { cwd: rich.path }).stdout.trim()
  const r = await tsgit(['cat-file', '-p', blob], { cwd: ours, env })
  t.equal(r.status, 128)
  t.match(r.stderr, `fatal: could not fetch ${blob} from promisor remote(s) origin`)
  const theirs = await gitAsync(['cat-file', '-p', blob], { cwd: ours, env, allowFail: true })
  t.equal(theirs.status, 128, 'git cannot either')
  t.match(theirs.stderr, `Server does not allow request for unadvertised object ${blob}`)
})

t.test('ssh to an upload-pack that ignores GIT_PROTOCOL: v0 over a stateful connection, one connection per fetch', async (t) => {
  const ssh = sshV0()
  const env = ssh.env
  const url = `example.invalid:${rich.path}`
  const ours = srv.dest('ours')
  const theirs = srv.dest('theirs')
  const r = await tsgit(['clone', '-q', '--filter=blob:none', url, ours], { env })
  t.equal(r.status, 0, r.stderr)
  t.equal(ssh.connections(), 2, 'the clone and its checkout’s lazy fetch connected apart')
  await gitAsync(['clone', '-q', '--filter=blob:none', url, theirs], { env })
  t.equal(git(['rev-list', '--objects', '--missing=print', '--all'], { cwd: ours }).stdout.includes('\n?'), true, 'blobs left out: a partial clone')
  await sameAsGit(t, ours, theirs)
  // a fetch with nothing new: no request, upload-pack told to end with a flush
  const f = await tsgit(['fetch'], { cwd: ours, env })
  t.equal(f.status, 0, f.stderr)
  t.equal(f.stderr, '', 'nothing said')
})
