/** The shared fixtures themselves: repositories real git accepts, a server real git can clone from. */
import { readdirSync } from 'node:fs'
import t from 'tap'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { makeBigRepo, makeEmptyRepo, makeRichRepo } from '../fixtures/repos.js'
import { startGitServer } from '../fixtures/server.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)

t.test('makeRichRepo: fsck-clean, deterministic, with every kind of entry and ref', async (t) => {
  const a = await makeRichRepo(`${tmp.path}/a.git`)
  const b = await makeRichRepo(`${tmp.path}/b.git`)
  t.same(b, { ...a, path: b.path }, 'same hashes every time')
  git(['fsck', '--strict', '--no-dangling'], { cwd: a.path })
  t.equal(git(['symbolic-ref', 'HEAD'], { cwd: a.path }).stdout.trim(), 'refs/heads/main')
  t.equal(git(['rev-parse', 'main'], { cwd: a.path }).stdout.trim(), a.head)
  t.ok(a.commits.length >= 6)
  t.equal(git(['rev-list', '--count', 'main'], { cwd: a.path }).stdout.trim(), String(a.commits.length))

  const tree = git(['ls-tree', '-r', 'main'], { cwd: a.path }).stdout
  t.match(tree, /^100755 blob [0-9a-f]{40}\tbin\/run\.sh$/m, 'executable')
  t.match(tree, /^120000 blob [0-9a-f]{40}\tlink-to-main$/m, 'symlink')
  t.match(tree, new RegExp(`^160000 commit ${a.submoduleCommit}\\tsub$`, 'm'), 'gitlink')
  t.match(tree, /\t\.gitmodules$/m)
  t.match(tree, /\tsrc\/lib\/gen\/file1\.c$/m, 'nested directories')

  const heads = git(['for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads/'], { cwd: a.path }).stdout.trim().split('\n')
  t.equal(heads.length, 21, 'main + 20 branches')
  for (const line of heads) {
    const [name, oid] = line.split(' ')
    t.equal(a.branches[name ?? ''], oid, `branch ${name}`)
  }
  const type = (oid: string): string => git(['cat-file', '-t', oid], { cwd: a.path }).stdout.trim()
  t.equal(type(a.tags['v1.0'] ?? ''), 'tag')
  t.equal(type(a.tags['light'] ?? ''), 'commit')
  t.equal(git(['cat-file', '-t', 'blob-tag^{}'], { cwd: a.path }).stdout.trim(), 'blob', 'annotated tag of a blob')
  t.equal(git(['cat-file', '-p', a.tags['tag-of-tag'] ?? ''], { cwd: a.path }).stdout.split('\n')[0], `object ${a.tags['v1.0']}`, 'tag of a tag')

  const packs = git(['count-objects', '-v'], { cwd: a.path }).stdout
  t.match(packs, /^packs: [1-9]/m, 'objects are packed')
})

t.test('makeRichRepo packs contain deltas', async (t) => {
  const r = await makeRichRepo(`${tmp.path}/d.git`)
  const idx = git(['-C', r.path, 'rev-parse', '--git-path', 'objects/pack'], {}).stdout.trim()
  const dir = idx.startsWith('/') ? idx : `${r.path}/${idx}`
  const list = readdirSync(dir).filter((f) => f.endsWith('.idx'))
  t.ok(list.length > 0)
  const out = git(['verify-pack', '-v', `${dir}/${list[0]}`]).stdout
  t.match(out, /^chain length = 1: [1-9]/m, 'at least one delta')
})

t.test('makeEmptyRepo', async (t) => {
  const e = await makeEmptyRepo(`${tmp.path}/empty.git`)
  t.equal(git(['rev-parse', '--is-bare-repository'], { cwd: e }).stdout.trim(), 'true')
  t.equal(git(['for-each-ref'], { cwd: e }).stdout, '')
})

t.test('makeBigRepo: fast-import builds a deterministic, fsck-clean repository with deltas', async (t) => {
  const opts = { files: 300, commits: 5, fileSize: 1500 }
  const a = await makeBigRepo(`${tmp.path}/big-a.git`, opts)
  const b = await makeBigRepo(`${tmp.path}/big-b.git`, opts)
  t.equal(a.head, b.head, 'deterministic')
  t.equal(a.commits.length, 5)
  git(['fsck', '--no-dangling'], { cwd: a.path })
  t.equal(git(['ls-tree', '-r', '--name-only', 'main'], { cwd: a.path }).stdout.trim().split('\n').length, 300)
  // Commit 2 edits files 2, 12, 22, ...: 30 files.
  t.equal(git(['diff', '--name-only', `${a.commits[1]}`, `${a.commits[2]}`], { cwd: a.path }).stdout.trim().split('\n').length, 30)
})

t.test('the test server serves real git: a partial clone over protocol v2 is recorded', async (t) => {
  const r = await makeRichRepo(`${tmp.path}/served.git`)
  const server = await startGitServer({ root: tmp.path })
  try {
    const dest = `${tmp.path}/clone`
    await gitAsync(['-c', 'protocol.version=2', 'clone', '-q', '--bare', '--filter=blob:none', server.url('served.git'), dest])
    t.equal(git(['rev-parse', 'main'], { cwd: dest }).stdout.trim(), r.head)
    t.equal(git(['config', '--get', 'remote.origin.promisor'], { cwd: dest }).stdout.trim(), 'true')
    const fetch = server.requests.find((q) => q.command === 'fetch')
    t.ok(fetch, 'a fetch command was recorded')
    t.ok(fetch?.args.includes('filter blob:none'), 'filter argument parsed')
    t.ok(fetch?.args.includes(`want ${r.head}`) || fetch?.args.some((a) => a.startsWith('want ')), 'wants parsed')
    t.ok(fetch?.args.includes('done'))
    t.equal(fetch?.gitProtocol, 'version=2')
    t.ok((fetch?.bytesOut ?? 0) > 0)
    const lsRefs = server.requests.find((q) => q.command === 'ls-refs')
    t.ok(lsRefs?.args.includes('symrefs'))
  } finally {
    await server.close()
  }
})

t.test('the test server with uploadpack.allowFilter=false advertises no filter', async (t) => {
  await makeRichRepo(`${tmp.path}/nofilter.git`)
  const server = await startGitServer({ root: tmp.path, config: { 'uploadpack.allowFilter': 'false' } })
  try {
    const r = await gitAsync(['-c', 'protocol.version=2', 'clone', '-q', '--bare', '--filter=blob:none', server.url('nofilter.git'), `${tmp.path}/nf-clone`])
    t.match(r.stderr, /filtering not recognized by server/)
  } finally {
    await server.close()
  }
})
