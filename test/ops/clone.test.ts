/**
 * tsgit clone end to end against a real git http-backend, judged by real git:
 * fsck, the set of missing objects, status after checkout, log, and git's own lazy
 * fetch afterwards.
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeEmptyRepo, makeRichRepo, FAKE_SSH, type RichRepo } from '../fixtures/repos.js'
import { chunked, makeBareRepo, makeFarBaseRepo } from '../fixtures/packs.js'
import { indexPack } from '../../lib/pack/indexer.js'
import { startGitServer } from '../fixtures/server.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
let sparseSpec = ''
const srv = serveRepos(t, 'tsgit-clone-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  await makeEmptyRepo(join(root, 'empty.git'))
  const far = makeFarBaseRepo()
  git(['clone', '-q', '--bare', far.path, join(root, 'far.git')])
  far.cleanup()
  // A sparse-checkout spec blob on the server for sparse:oid.
  sparseSpec = git(['hash-object', '-w', '--stdin'], { cwd: rich.path, input: '/src/\n' }).stdout.trim()
})
const { root, dest } = srv

/** What real git says is missing in a repository, as a sorted list of ids. */
function missingObjects(gitDir: string): string[] {
  const out = git(['rev-list', '--objects', '--missing=print', '--all'], { cwd: gitDir }).stdout
  return out.split('\n').filter((l) => l.startsWith('?')).map((l) => l.slice(1).trim()).sort()
}

/** What the filter should leave out, according to real git on the srv.server. */
function omittedByFilter(spec: string): string[] {
  const out = git(['rev-list', '--objects', '--all', `--filter=${spec}`, '--filter-print-omitted'], { cwd: rich.path }).stdout
  return out.split('\n').filter((l) => l.startsWith('~')).map((l) => l.slice(1).trim()).sort()
}

/** What the filter keeps (everything without a filter), according to real git on the srv.server. */
function keptByFilter(spec?: string): string[] {
  const filter = spec === undefined ? [] : [`--filter=${spec}`]
  const out = git(['rev-list', '--objects', '--all', ...filter], { cwd: rich.path }).stdout
  return [...new Set(out.split('\n').filter((l) => l !== '').map((l) => l.slice(0, 40)))].sort()
}

/** Every object present in a repository, according to real git. */
function presentObjects(gitDir: string): string[] {
  return git(['cat-file', '--batch-all-objects', '--batch-check=%(objectname)'], { cwd: gitDir }).stdout.split('\n').filter((l) => l !== '').sort()
}

/**
 * A partial clone holds exactly what the server's filter keeps, and everything real git
 * finds missing is something the filter omitted (git cannot see past a missing tree,
 * so it reports fewer than were omitted for tree filters).
 */
function assertFiltered(t: Test, gitDir: string, spec: string): void {
  t.same(presentObjects(gitDir), keptByFilter(spec), 'present = what the filter keeps')
  const kept = new Set(keptByFilter(spec))
  const all = new Set(keptByFilter())
  const missing = missingObjects(gitDir)
  t.ok(missing.length > 0, 'real git sees missing objects')
  t.same(missing.filter((o) => kept.has(o) || !all.has(o)), [], 'everything missing is an object of the server that the filter left out')
}

function fetchRequests(since: number): { args: string[] }[] {
  return srv.server.requests.slice(since).filter((r) => r.command === 'fetch')
}

t.test('full clone over http: fsck, refs, tags, config, clean status', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.match(r.stderr, /Cloning into '.*c\d+'\.\.\./)
  t.equal(git(['fsck', '--strict'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'git status is clean')
  t.equal(git(['log', '--format=%H', 'HEAD'], { cwd: d }).stdout, git(['log', '--format=%H', 'main'], { cwd: rich.path }).stdout, 'git log matches the server')
  // every branch as a remote-tracking ref, every tag with the server's value
  const serverRefs = git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: rich.path }).stdout.trim().split('\n')
  const ours = git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: d }).stdout
  for (const line of serverRefs) {
    const [oid, name] = line.split(' ') as [string, string]
    const mapped = name.startsWith('refs/heads/') ? `refs/remotes/origin/${name.slice(11)}` : name
    t.ok(ours.includes(`${oid} ${mapped}\n`), `${mapped} = ${oid}`)
  }
  t.equal(git(['symbolic-ref', 'HEAD'], { cwd: d }).stdout.trim(), 'refs/heads/main')
  t.equal(git(['symbolic-ref', 'refs/remotes/origin/HEAD'], { cwd: d }).stdout.trim(), 'refs/remotes/origin/main')
  t.equal(git(['rev-parse', 'refs/tags/blob-tag^{}'], { cwd: d }).stdout.trim(), git(['rev-parse', 'HEAD:README.md'], { cwd: rich.path }).stdout.trim(), 'a tag pointing at a blob')
  const packed = readFileSync(join(d, '.git/packed-refs'), 'utf8')
  t.match(packed, /^# pack-refs with: peeled fully-peeled sorted \n/)
  t.match(packed, new RegExp(`refs/tags/v1\\.0\\n\\^${rich.commits[2]}\\n`), 'annotated tags are peeled in packed-refs')
  t.equal(git(['config', 'branch.main.remote'], { cwd: d }).stdout.trim(), 'origin')
  t.equal(git(['config', 'branch.main.merge'], { cwd: d }).stdout.trim(), 'refs/heads/main')
  t.equal(git(['config', '--get-all', 'remote.origin.fetch'], { cwd: d }).stdout, '+refs/heads/*:refs/remotes/origin/*\n')
  t.equal(git(['config', '--get', 'extensions.partialclone'], { cwd: d, allowFail: true }).status, 1, 'a full clone is not partial')
  const packs = readdirSync(join(d, '.git/objects/pack'))
  t.equal(packs.filter((f) => f.endsWith('.pack')).length, 1)
  t.same(packs.filter((f) => f.endsWith('.keep') || f.endsWith('.promisor') || f.startsWith('tmp_')), [], 'no .keep, .promisor or temp file left')
  // files: executable bit, symlink, gitlink directory
  t.equal(git(['ls-files', '-s', 'bin/run.sh', 'link-to-main', 'sub'], { cwd: d }).stdout.split('\n').map((l) => l.split(' ')[0]).join(','), '100755,120000,160000,')
  t.ok(existsSync(join(d, 'sub')), 'the gitlink is an empty directory')
  t.match(readFileSync(join(d, '.git/logs/HEAD'), 'utf8'), /clone: from http:\/\/127\.0\.0\.1/)
})

const FILTERS = ['blob:none', 'blob:limit=1k', 'tree:0', 'tree:1', 'object:type=commit', 'combine:blob:none+tree:2']

for (const spec of FILTERS) {
  t.test(`--filter=${spec} --no-checkout: real git sees exactly the filtered objects as missing`, async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-q', '--no-checkout', `--filter=${spec}`, srv.server.url('rich.git'), d])
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.equal(r.stderr, '', '--quiet prints nothing')
    const gitDir = join(d, '.git')
    assertFiltered(t, gitDir, spec)
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
    t.equal(git(['config', 'remote.origin.promisor'], { cwd: d }).stdout.trim(), 'true')
    t.equal(git(['config', 'extensions.partialclone'], { cwd: d }).stdout.trim(), 'origin')
    t.equal(git(['config', 'core.repositoryformatversion'], { cwd: d }).stdout.trim(), '1')
    const packDir = join(gitDir, 'objects/pack')
    const promisor = readdirSync(packDir).filter((f) => f.endsWith('.promisor'))
    t.equal(promisor.length, 1, 'the pack is a promisor pack')
    t.match(readFileSync(join(packDir, promisor[0] as string), 'utf8'), new RegExp(`^${rich.head} refs/heads/main$`, 'm'), '.promisor lists the refs fetched')
    t.same(readdirSync(packDir).filter((f) => f.endsWith('.keep')), [], 'the .keep is released')
  })
}

t.test('--filter=sparse:oid: what the server omits is missing', async (t) => {
  const d = dest()
  const spec = `sparse:oid=${sparseSpec}`
  const r = await tsgit(['clone', '-q', '--no-checkout', `--filter=${spec}`, srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  assertFiltered(t, join(d, '.git'), spec)
  t.equal(git(['config', 'remote.origin.partialclonefilter'], { cwd: d }).stdout.trim(), spec)
})

t.test('repeated --filter options are combined like git', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', '-q', '-n', '--filter=blob:limit=1k', '--filter=tree:3', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.equal(git(['config', 'remote.origin.partialclonefilter'], { cwd: d }).stdout.trim(), 'combine:blob:limit=1k+tree:3')
  assertFiltered(t, join(d, '.git'), 'combine:blob:limit=1024+tree:3')
})

t.test('--filter=blob:none with checkout: ONE batched request for all blobs, clean status, git lazy-fetches later', async (t) => {
  const d = dest()
  const before = srv.server.requests.length
  const r = await tsgit(['clone', '--filter=blob:none', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  const fetches = fetchRequests(before)
  t.equal(fetches.length, 2, 'one fetch for the clone, one for the checkout')
  // the blobs of HEAD that the blob:none pack did not bring (an annotated tag of a blob brings that blob)
  const omitted = new Set(omittedByFilter('blob:none'))
  const headBlobs = git(['ls-tree', '-r', 'HEAD'], { cwd: rich.path }).stdout.split('\n').filter((l) => l.includes(' blob ')).map((l) => l.split(/\s+/)[2] as string)
  const needed = [...new Set(headBlobs.filter((b) => omitted.has(b)))].sort()
  const wanted = (fetches[1]?.args ?? []).filter((a) => a.startsWith('want ')).map((a) => a.slice(5))
  t.ok(needed.length >= 10, 'the checkout needs many blobs')
  t.same([...wanted].sort(), needed, 'the checkout asked for exactly the missing blobs of HEAD, once each, in one request')
  t.ok(fetches[1]?.args.includes('filter blob:none'), 'a lazy fetch never drags in more blobs')
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', 'git status is clean')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
  t.equal(readdirSync(join(d, '.git/objects/pack')).filter((f) => f.endsWith('.promisor')).length, 2, 'the blobs arrived as a promisor pack too')
  // real git checks out an old commit in the tsgit-made repository: its lazy fetch works
  const old = rich.commits[0] as string
  const co = await gitAsync(['checkout', '-q', old], { cwd: d, allowFail: true })
  t.equal(co.status, 0, `git checkout of an old commit lazily fetches: ${co.stderr}`)
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
  t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout.trim(), old)
})

t.test('--filter=tree:0 with checkout fetches trees level by level, then the blobs once', async (t) => {
  const d = dest()
  const before = srv.server.requests.length
  const r = await tsgit(['clone', '-q', '--filter=tree:0', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
  const fetches = fetchRequests(before)
  // clone + one per tree level (root, src|docs|bin, lib|guide, gen) + blobs
  t.ok(fetches.length <= 6, `a handful of requests, not one per object (${fetches.length})`)
})

t.test('a server without filter support: git\'s warning and a clone that is not partial', async (t) => {
  const plain = await startGitServer({ root, config: { 'uploadpack.allowFilter': 'false' } })
  t.teardown(() => plain.close())
  const d = dest()
  const r = await tsgit(['clone', '--filter=blob:none', plain.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.match(r.stderr, /warning: filtering not recognized by server, ignoring/)
  t.same(missingObjects(join(d, '.git')), [], 'nothing is missing')
  t.equal(git(['config', 'remote.origin.promisor'], { cwd: d, allowFail: true }).status, 1, 'not marked partial')
  t.same(readdirSync(join(d, '.git/objects/pack')).filter((f) => f.endsWith('.promisor')), [])
  t.notOk(plain.requests.some((q) => q.args.some((a) => a.startsWith('filter '))), 'no filter was sent')
})

t.test('--bare, -o, --no-tags, --single-branch, -b', async (t) => {
  t.test('--bare: branches copied as branches, no fetch refspec', async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-q', '--bare', '--filter=blob:none', srv.server.url('rich.git'), d])
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.equal(git(['config', 'core.bare'], { cwd: d }).stdout.trim(), 'true')
    t.equal(git(['config', '--get-all', 'remote.origin.fetch'], { cwd: d, allowFail: true }).status, 1)
    t.equal(git(['rev-parse', 'refs/heads/feature/b03'], { cwd: d }).stdout.trim(), rich.branches['feature/b03'])
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
    t.notOk(existsSync(join(d, 'index')), 'no checkout in a bare repository')
  })
  t.test('-o upstream names the remote', async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-q', '-n', '-o', 'upstream', '--filter=blob:none', srv.server.url('rich.git'), d])
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.equal(git(['config', 'extensions.partialclone'], { cwd: d }).stdout.trim(), 'upstream')
    t.equal(git(['config', 'branch.main.remote'], { cwd: d }).stdout.trim(), 'upstream')
    t.equal(git(['rev-parse', 'refs/remotes/upstream/main'], { cwd: d }).stdout.trim(), rich.head)
  })
  t.test('--no-tags fetches no tags and says so in config', async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-q', '--no-tags', srv.server.url('rich.git'), d])
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.equal(git(['tag'], { cwd: d }).stdout, '')
    t.equal(git(['config', 'remote.origin.tagOpt'], { cwd: d }).stdout.trim(), '--no-tags')
  })
  t.test('--single-branch -b feature/b01: one branch, its refspec, tags that point into it', async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-q', '--single-branch', '-b', 'feature/b01', srv.server.url('rich.git'), d])
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.equal(git(['for-each-ref', '--format=%(refname)', 'refs/remotes'], { cwd: d }).stdout, 'refs/remotes/origin/feature/b01\n')
    t.equal(git(['config', '--get-all', 'remote.origin.fetch'], { cwd: d }).stdout, '+refs/heads/feature/b01:refs/remotes/origin/feature/b01\n')
    t.equal(git(['symbolic-ref', 'HEAD'], { cwd: d }).stdout.trim(), 'refs/heads/feature/b01')
    t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout.trim(), rich.branches['feature/b01'])
    // as real git: the lightweight tag on that history, and the tag of a blob that history contains
    t.equal(git(['tag'], { cwd: d }).stdout, 'blob-tag\nlight\n', 'only the tags pointing into that history')
    t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
  })
  t.test('-b <tag> detaches HEAD at the tag', async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-q', '-b', 'v1.0', srv.server.url('rich.git'), d])
    t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
    t.equal(git(['symbolic-ref', '-q', 'HEAD'], { cwd: d, allowFail: true }).status, 1, 'HEAD is detached')
    t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout.trim(), rich.commits[2])
    t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
  })
  t.test('-b that does not exist: git\'s message, exit 128, nothing left', async (t) => {
    const d = dest()
    const r = await tsgit(['clone', '-b', 'nope', srv.server.url('rich.git'), d])
    t.equal(r.status, 128)
    t.match(r.stderr, /fatal: Remote branch nope not found in upstream origin/)
    t.notOk(existsSync(d))
  })
})

t.test('an empty repository', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', srv.server.url('empty.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.match(r.stderr, /warning: You appear to have cloned an empty repository\./)
  t.equal(git(['symbolic-ref', 'HEAD'], { cwd: d }).stdout.trim(), 'refs/heads/main', 'HEAD from the server\'s unborn HEAD')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0)
  t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '')
})

t.test('file://, plain path, ssh:// and host:path transports', async (t) => {
  for (const [label, url, env] of [
    ['file://', `file://${rich.path}`, {}],
    ['plain path', rich.path, {}],
    ['ssh://', `ssh://git@example.com${rich.path}`, { GIT_SSH_COMMAND: FAKE_SSH }],
    ['host:path', `example.com:${rich.path}`, { GIT_SSH_COMMAND: FAKE_SSH }],
  ] as const) {
    const d = dest()
    const r = await tsgit(['clone', '-q', '--filter=blob:none', url, d], { env: { ...env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'uploadpack.allowFilter', GIT_CONFIG_VALUE_0: 'true' } })
    t.equal(r.status, 0, `${label}: ${r.stderr}`)
    t.equal(git(['status', '--porcelain'], { cwd: d }).stdout, '', `${label}: clean`)
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, `${label}: fsck`)
    t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout.trim(), rich.head, `${label}: HEAD`)
  }
})

t.test('destination rules and usage errors', async (t) => {
  const d = dest()
  mkdirSync(d)
  writeFileSync(join(d, 'x'), 'x')
  const before = srv.server.requests.length
  const r = await tsgit(['clone', srv.server.url('rich.git'), d])
  t.equal(r.status, 128)
  t.match(r.stderr, /^fatal: destination path '.*' already exists and is not an empty directory\.\n$/)
  t.equal(readFileSync(join(d, 'x'), 'utf8'), 'x', 'the existing directory is untouched')

  const bad = await tsgit(['clone', '--filter=blob:nonsense', srv.server.url('rich.git'), dest()])
  t.equal(bad.status, 129, 'a bad filter spec is a usage error')
  t.match(bad.stderr, /invalid filter-spec 'blob:nonsense'/)
  t.equal(srv.server.requests.length, before, 'nothing was sent for either')

  const unknown = await tsgit(['clone', '--frobnicate', srv.server.url('rich.git')])
  t.equal(unknown.status, 129)

  const missing = await tsgit(['clone', srv.server.url('nope.git'), dest()])
  t.equal(missing.status, 128)
  t.match(missing.stderr, /fatal: repository '.*nope\.git' not found/)
})

t.test('a server that cannot speak protocol v2: tsgit falls back to v0, as git does', async (t) => {
  const old = await startGitServer({ root, protocolV2: false })
  t.teardown(() => old.close())
  const d = dest()
  const r = await tsgit(['clone', '-q', old.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.notOk(old.requests.some((q) => q.command === 'fetch'), 'no v2 fetch sent')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck')
})

t.test('a sha256 repository: a clear error before any fetch, nothing left', async (t) => {
  const sha = join(root, 'sha256.git')
  git(['init', '-q', '--bare', '--object-format=sha256', sha])
  const work = join(root, 'sha256-work')
  git(['init', '-q', '--object-format=sha256', '-b', 'main', work])
  git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: work })
  git(['push', '-q', sha, 'main'], { cwd: work })
  const before = srv.server.requests.length
  const d = dest()
  const r = await tsgit(['clone', '--filter=blob:none', srv.server.url('sha256.git'), d])
  t.equal(r.status, 128)
  t.match(r.stderr, /^fatal: .*sha256.*not support/m)
  t.notOk(existsSync(d), 'no directory left')
  t.notOk(srv.server.requests.slice(before).some((q) => q.command === 'fetch'), 'no fetch was sent')
})

t.test('-c key=value is written into the new repository; tsgit -c applies to this run only', async (t) => {
  const d = dest()
  const r = await tsgit(['-c', 'http.extraHeader=X-Run-Only: 1', 'clone', '-q', '-c', 'core.autocrlf=false', '-c', 'user.name=Clone Config', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.equal(git(['config', 'user.name'], { cwd: d }).stdout.trim(), 'Clone Config')
  t.equal(git(['config', 'core.autocrlf'], { cwd: d }).stdout.trim(), 'false')
  t.equal(git(['config', 'http.extraHeader'], { cwd: d, allowFail: true }).status, 1, 'the global -c is not written')
  const last = srv.server.requests.filter((q) => q.command === 'ls-refs').pop()
  t.equal(last?.headers['x-run-only'], '1', 'but it was used for the clone')
})

t.test('clone -c options apply to the clone\'s own requests (the remote is contacted while the repository is created)', async (t) => {
  const d = dest()
  const before = srv.server.requests.length
  const r = await tsgit(['clone', '-q', '-c', 'http.extraHeader=X-Clone-Option: 2', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.equal(git(['config', 'http.extraHeader'], { cwd: d }).stdout.trim(), 'X-Clone-Option: 2', 'written into the new repository')
  const seen = srv.server.requests.slice(before)
  t.same(seen.map((q) => q.command ?? q.method).sort(), ['GET', 'fetch', 'ls-refs'])
  t.ok(seen.every((q) => q.headers['x-clone-option'] === '2'), 'sent with every request of the clone')
})

t.test('--progress shows git\'s progress lines even when stderr is not a terminal', async (t) => {
  const d = dest()
  const r = await tsgit(['clone', '--progress', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.match(r.stderr, /Receiving objects: 100% \(\d+\/\d+\), [\d.]+ (bytes|KiB|MiB) \| [\d.]+ (bytes|KiB|MiB)\/s, done\./)
  t.match(r.stderr, /Resolving deltas: 100% \(\d+\/\d+\), done\./)
  t.match(r.stderr, /Updating files: 100% \(\d+\/\d+\), done\./)
  t.match(r.stderr, /remote: Enumerating objects/)
  const before = srv.server.requests.length
  const quiet = await tsgit(['clone', srv.server.url('rich.git'), dest()])
  t.notMatch(quiet.stderr, /Receiving objects/, 'no progress without a terminal or --progress')
  t.notMatch(quiet.stderr, /remote: /, 'nor the server\'s')
  const fetch = srv.server.requests.slice(before).find((q) => q.command === 'fetch')
  t.ok(fetch?.args.includes('no-progress'), 'asked for none, as git does')
})

t.test('pack.threads: the deltas left once the pack is in are resolved on worker threads, by the installed bundle', async (t) => {
  const d = dest()
  const r = await tsgit(['-c', 'pack.threads=2', 'clone', '--progress', '--no-checkout', srv.server.url('far.git'), d])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.stderr)
  t.match(r.stderr, /Resolving deltas: 100% \((\d+)\/\1\), done\./)
  t.equal(git(['fsck', '--strict'], { cwd: d, allowFail: true }).status, 0, 'git fsck passes')
  t.same(presentObjects(join(d, '.git')), presentObjects(join(root, 'far.git')), 'every object of the server')
  // The pack as received needed the second pass (so the threads ran): indexed again here, not all deltas resolve on arrival.
  const packDir = join(d, '.git/objects/pack')
  const pack = readdirSync(packDir).find((f) => f.endsWith('.pack')) as string
  const again = makeBareRepo()
  t.teardown(again.cleanup)
  const result = await indexPack(chunked(readFileSync(join(packDir, pack)), 65536), { packDir: again.packDir, threads: 1 })
  t.ok(result.resolvedOnArrival < result.deltaCount, `deltas left for the second pass (${result.deltaCount - result.resolvedOnArrival})`)
})
