/**
 * tsgit clone of server repositories whose trees try to write outside the work
 * tree or into .git. The trees are made with real git plumbing
 * (`hash-object --literally`), so the server serves them as any other object.
 *
 * What git does, and tsgit with it: the fetch succeeds (fetch.fsckObjects is off
 * by default), the refs are written, then checkout refuses the tree before it
 * writes a single file, and clone exits 128 after "Clone succeeded, but checkout
 * failed". So a refused clone leaves behind the repository (.git with the
 * objects and refs, HEAD on the branch) and an otherwise empty work tree with no
 * index; the tests below check exactly that, and that nothing was written
 * outside the work tree or inside .git by the checkout.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync, tempDir } from '../fixtures/git.js'
import { walk } from '../fixtures/hostile.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-unsafe-')
t.teardown(tmp.cleanup)
const root = join(tmp.path, 'srv')
const clients = join(tmp.path, 'clients')
mkdirSync(root)
mkdirSync(clients)
/** The sentinel next to every destination: a symlink in a hostile tree points here. */
const outside = join(clients, 'outside')
mkdirSync(outside)
writeFileSync(join(outside, 'sentinel'), 'untouched\n')

let server: GitServer
t.before(async () => {
  server = await startGitServer({ root })
})
t.teardown(async () => server?.close())

interface Entry {
  mode: '100644' | '100755' | '120000' | '40000'
  name: string
  oid: string
}

function hashBlob(repo: string, content: string): string {
  return git(['hash-object', '-w', '--stdin'], { cwd: repo, input: content }).stdout.trim()
}

/** Writes a tree exactly as given (names unchecked), in git's entry order. */
function hashTree(repo: string, entries: Entry[]): string {
  const key = (e: Entry): Buffer => Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name, 'utf8')
  const sorted = [...entries].sort((a, b) => Buffer.compare(key(a), key(b)))
  const bytes = Buffer.concat(sorted.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex')])))
  return git(['hash-object', '-w', '--literally', '-t', 'tree', '--stdin'], { cwd: repo, input: bytes }).stdout.trim()
}

/**
 * A bare repository whose main branch has one commit: README plus whatever
 * `extra` adds to the root tree. `payload` is a tree holding a file "payload".
 */
function makeRepo(name: string, extra: (ids: { repo: string; payloadBlob: string; payloadTree: string }) => Entry[]): { path: string; commit: string } {
  const repo = join(root, `${name}.git`)
  git(['init', '-q', '--bare', '-b', 'main', repo])
  const readme = hashBlob(repo, 'a harmless file\n')
  const payloadBlob = hashBlob(repo, 'written by a hostile tree\n')
  const payloadTree = hashTree(repo, [{ mode: '100644', name: 'payload', oid: payloadBlob }])
  const tree = hashTree(repo, [{ mode: '100644', name: 'README', oid: readme }, ...extra({ repo, payloadBlob, payloadTree })])
  const commit = git(['commit-tree', tree, '-m', `hostile tree: ${name}`], { cwd: repo }).stdout.trim()
  git(['update-ref', 'refs/heads/main', commit], { cwd: repo })
  return { path: repo, commit }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

interface Case {
  title: string
  /**
   * What real git 2.39 on Linux does with the same tree. Where it accepts the
   * tree, tsgit is stricter on purpose: a backslash is a separator on Windows
   * (see the Deviation in lib/worktree/path-safety.ts), and of a name used twice
   * git silently keeps one entry, which tsgit will not guess at.
   */
  git: 'refuses' | 'accepts'
  /** The path the fatal line must name (as tsgit prints it: JSON-quoted). */
  named: string
  entries: (ids: { repo: string; payloadBlob: string; payloadTree: string }) => Entry[]
}

const cases: Case[] = [
  { title: 'a tree named ".."', git: 'refuses', named: '..', entries: (i) => [{ mode: '40000', name: '..', oid: i.payloadTree }] },
  { title: 'a tree named ".git"', git: 'refuses', named: '.git', entries: (i) => [{ mode: '40000', name: '.git', oid: i.payloadTree }] },
  { title: 'a tree named ".GIT"', git: 'refuses', named: '.GIT', entries: (i) => [{ mode: '40000', name: '.GIT', oid: i.payloadTree }] },
  { title: 'a tree named ".Git"', git: 'refuses', named: '.Git', entries: (i) => [{ mode: '40000', name: '.Git', oid: i.payloadTree }] },
  { title: 'a tree named "git~1" (the NTFS short name of .git)', git: 'refuses', named: 'git~1', entries: (i) => [{ mode: '40000', name: 'git~1', oid: i.payloadTree }] },
  { title: 'a tree named ".git." (trailing dot)', git: 'refuses', named: '.git.', entries: (i) => [{ mode: '40000', name: '.git.', oid: i.payloadTree }] },
  { title: 'a tree named ".git " (trailing space)', git: 'refuses', named: '.git ', entries: (i) => [{ mode: '40000', name: '.git ', oid: i.payloadTree }] },
  { title: 'a file name containing "/"', git: 'refuses', named: '../payload', entries: (i) => [{ mode: '100644', name: '../payload', oid: i.payloadBlob }] },
  { title: 'a file name containing a backslash', git: 'accepts', named: '..\\payload', entries: (i) => [{ mode: '100644', name: '..\\payload', oid: i.payloadBlob }] },
  {
    title: 'a symlink evil -> ../outside, then evil/payload through it',
    git: 'accepts',
    named: 'evil',
    entries: (i) => [
      { mode: '120000', name: 'evil', oid: hashBlob(i.repo, '../outside') },
      { mode: '40000', name: 'evil', oid: i.payloadTree },
    ],
  },
  {
    title: 'a .gitmodules that is a symlink',
    git: 'refuses',
    named: '.gitmodules',
    entries: (i) => [{ mode: '120000', name: '.gitmodules', oid: hashBlob(i.repo, '../outside/sentinel') }],
  },
]

let n = 0
for (const c of cases) {
  t.test(c.title, async (t) => {
    const name = `unsafe${n++}`
    const { commit } = makeRepo(name, c.entries)
    const d = join(clients, name)
    const r = await tsgit(['clone', server.url(`${name}.git`), d])

    t.equal(r.status, 128, `exit 128 (stderr: ${r.stderr})`)
    const fatal = r.stderr.split('\n').filter((l) => l.startsWith('fatal: '))
    t.equal(fatal.length, 1, 'one fatal: line')
    t.match(fatal[0] ?? '', new RegExp(`refusing .*${escapeRegExp(JSON.stringify(c.named))}`), 'it names the unsafe path')
    t.match(r.stderr, /Clone succeeded, but checkout failed/, 'says, as git does, that the clone itself succeeded')
    t.notMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace')

    // Nothing outside the work tree, nothing by the checkout inside .git.
    t.same(readdirSync(outside), ['sentinel'], 'the sentinel directory next to the destination is untouched')
    t.equal(readFileSync(join(outside, 'sentinel'), 'utf8'), 'untouched\n')
    t.same(walk(tmp.path).filter((p) => /(^|\/)payload$/.test(p) || p.endsWith('\\payload')), [], 'no file named payload anywhere')

    // What is left: the repository, as git leaves it, and no checkout at all.
    t.same(readdirSync(d), ['.git'], 'the work tree holds nothing but .git')
    t.notOk(existsSync(join(d, '.git', 'index')), 'no index was written')
    t.equal(git(['rev-parse', 'HEAD'], { cwd: d }).stdout.trim(), commit, 'HEAD names the fetched commit')
    t.equal(git(['symbolic-ref', 'HEAD'], { cwd: d }).stdout.trim(), 'refs/heads/main')
    t.equal(git(['cat-file', '-t', commit], { cwd: d }).stdout.trim(), 'commit', 'real git reads the kept repository')

    // Real git on the same tree, cloned next to the same sentinel.
    const g = await gitAsync(['clone', '-q', server.url(`${name}.git`), join(clients, `git-${name}`)], { allowFail: true })
    if (c.git === 'refuses') {
      t.equal(g.status, 128, `real git refuses it too: ${g.stderr.trim()}`)
      t.match(g.stderr, /invalid path/)
    } else {
      t.equal(g.status, 0, `real git accepts it on Linux: ${g.stderr.trim()}`)
    }
    t.same(readdirSync(outside), ['sentinel'], 'real git did not write outside either')
    rmSync(join(clients, `git-${name}`), { recursive: true, force: true })
  })
}
