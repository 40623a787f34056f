/**
 * tsgit cat-file against real git: the single-object modes and --batch/--batch-check
 * byte for byte in a full clone, the same answers in a partial clone (fetched lazily),
 * one fetch request for a block of hundreds of missing blobs, a subtree of a tree:0
 * clone fetched as git's t5616 fetches it, and errors that name the object they concern.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync, pinnedEnv } from '../fixtures/git.js'
import { makeBigRepo, makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { childResult, tsgit, tsgitRaw, TSGIT_COMMAND, type TsgitRawResult } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-cat-file-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
  await makeBigRepo(join(root, 'big.git'), { files: 600, commits: 1, fileSize: 100 })
  vanishing = makeVanishingRepo(join(root, 'vanish.git'))
})

let vanishing: { path: string; blob: string }

/** A served repository with loose objects, one blob of which can be made to vanish after a clone. */
function makeVanishingRepo(dir: string): { path: string; blob: string } {
  const work = `${dir}.work`
  git(['init', '-q', '-b', 'main', work])
  mkdirSync(join(work, 'sub'))
  writeFileSync(join(work, 'sub', 'gone.txt'), 'this blob will vanish from the server\n')
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'gone'], { cwd: work })
  git(['init', '-q', '--bare', '-b', 'main', dir])
  git(['-c', 'fetch.unpackLimit=100000', 'fetch', '-q', work, 'main:main'], { cwd: dir })
  return { path: dir, blob: git(['rev-parse', 'HEAD:sub/gone.txt'], { cwd: work }).stdout.trim() }
}
const { root, dest, fetches } = srv

/** Runs tsgit and returns stdout as bytes (cat-file prints binary trees with --batch). */
function tsgitBytes(args: string[], cwd: string, input?: string): Promise<TsgitRawResult> {
  return tsgitRaw(args, { cwd, input: input ?? '' })
}

const SINGLE: string[][] = [
  ['-t', 'HEAD'],
  ['-s', 'HEAD'],
  ['-p', 'HEAD'],
  ['-p', 'HEAD^{tree}'],
  ['-p', 'HEAD:src'],
  ['-p', 'HEAD:README.md'],
  ['-p', 'v1.0'],
  ['-t', 'blob-tag'],
  ['-e', 'HEAD'],
  ['-e', '0123456789012345678901234567890123456789'],
  ['-e', 'no-such-name'],
  ['-t', '0123456789012345678901234567890123456789'],
  ['-p', '0123456789012345678901234567890123456789'],
  ['-s', 'no-such-name'],
  ['blob', 'HEAD:src/main.c'],
  ['tree', 'HEAD'],
  ['commit', 'v1.0'],
]

function batchInput(dir: string): string {
  const names = ['HEAD', 'HEAD^{tree}', 'HEAD:src', 'v1.0', 'no-such', '0123456789012345678901234567890123456789', '', 'HEAD:README.md trailing words']
  const all = git(['rev-list', '--objects', '--all'], { cwd: dir }).stdout.split('\n').filter((l) => l !== '').map((l) => l.slice(0, 40))
  return [...names, ...all].join('\n') + '\n'
}

const BATCH = ['--batch', '--batch-check', '--batch-check=%(objecttype) %(objectname) [%(rest)] %(objectsize)', '--batch=%(objectname)']

t.test('full clone: byte-identical to git', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  for (const args of SINGLE) {
    const ours = await tsgitBytes(['cat-file', ...args], d)
    const theirs = git(['cat-file', ...args], { cwd: d, allowFail: true })
    t.equal(ours.status, theirs.status, `status: cat-file ${args.join(' ')}`)
    t.same(ours.stdout, theirs.stdoutBuffer, `stdout: cat-file ${args.join(' ')}`)
    // (tsgit names the object git's "could not get object info" is about: a deviation)
    t.equal(ours.stderr, theirs.stderr.replace(/could not get object info\n/, `could not get object info for ${args[1] ?? ''}\n`), `stderr: cat-file ${args.join(' ')}`)
  }
  const input = batchInput(d)
  for (const opt of BATCH) {
    const ours = await tsgitBytes(['cat-file', opt], d, input)
    const theirs = git(['cat-file', opt], { cwd: d, input })
    t.equal(ours.status, 0, ours.stderr)
    t.same(ours.stdout, theirs.stdoutBuffer, `cat-file ${opt}`)
  }
})

t.test('usage errors', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  t.equal((await tsgit(['cat-file', '-t', '-s', 'HEAD'], { cwd: d })).status, 129)
  t.equal((await tsgit(['cat-file', 'HEAD'], { cwd: d })).status, 129)
  t.equal((await tsgit(['cat-file', '--batch-check=%(objectsize:disk)'], { cwd: d })).status, 129)
})

t.test('partial clone: the answers of a full clone, fetched lazily', async (t) => {
  const full = dest()
  git(['clone', '-q', '--no-local', rich.path, full])
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  const input = batchInput(full)
  for (const opt of BATCH) {
    const ours = await tsgitBytes(['cat-file', opt], d, input)
    t.equal(ours.status, 0, ours.stderr)
    t.same(ours.stdout, git(['cat-file', opt], { cwd: full, input }).stdoutBuffer, `cat-file ${opt}`)
  }
  const d2 = dest()
  await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('rich.git'), d2])
  for (const args of [['-p', 'HEAD:src/main.c'], ['-s', 'HEAD:src/lib/util.c'], ['-e', 'HEAD:docs/guide/intro.txt']]) {
    const before = srv.server.requests.length
    const ours = await tsgitBytes(['cat-file', ...args], d2)
    t.equal(ours.status, 0, ours.stderr)
    t.same(ours.stdout, git(['cat-file', ...args], { cwd: full }).stdoutBuffer, `git's partial clone: cat-file ${args.join(' ')}`)
    t.equal(fetches(before), 1, 'one fetch for the one missing blob')
  }
  const off = await tsgit(['--no-lazy-fetch', 'cat-file', '-e', 'HEAD:bin/run.sh'], { cwd: d2 })
  t.equal(off.status, 1, '--no-lazy-fetch: missing blob is absent')
})

t.test('batch of hundreds of missing blobs: one fetch request', async (t) => {
  const full = dest()
  git(['clone', '-q', '--bare', '--no-local', join(root, 'big.git'), full])
  const d = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('big.git'), d])
  t.equal(r.status, 0, r.stderr)
  const blobs = git(['rev-list', '--objects', '--all'], { cwd: full })
    .stdout.split('\n')
    .filter((l) => l.includes(' ') && l.endsWith('.txt'))
    .map((l) => l.slice(0, 40))
  t.ok(blobs.length >= 600, `${blobs.length} blobs`)
  const missingBefore = git(['rev-list', '--objects', '--missing=print', '--all'], { cwd: d }).stdout.split('\n').filter((l) => l.startsWith('?')).length
  t.ok(missingBefore >= 600, 'all blobs missing before')
  const input = blobs.join('\n') + '\n'
  const before = srv.server.requests.length
  const ours = await tsgitBytes(['cat-file', '--batch'], d, input)
  t.equal(ours.status, 0, ours.stderr)
  t.same(ours.stdout, git(['cat-file', '--batch'], { cwd: full, input }).stdoutBuffer, 'same bytes as the full clone')
  t.equal(fetches(before), 1, 'exactly one fetch request for the block')
  const fetch = srv.server.requests.slice(before).find((q) => q.command === 'fetch')
  t.equal(fetch?.args.filter((a) => a.startsWith('want ')).length, blobs.length, 'every blob wanted in that request')
  t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, 'git fsck accepts the repository')
})

t.test('tree:0 clone: a subtree nothing present refers to is fetched, as git fetches it (t5616)', async (t) => {
  const full = dest()
  git(['clone', '-q', '--no-local', rich.path, full])
  const subtree = git(['rev-parse', 'HEAD:src/lib'], { cwd: full }).stdout.trim()
  const other = git(['rev-parse', 'HEAD:docs/guide'], { cwd: full }).stdout.trim()
  const ours = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=tree:0', srv.server.url('rich.git'), ours])
  t.equal(r.status, 0, r.stderr)
  const theirs = dest()
  await gitAsync(['clone', '-q', '--no-checkout', '--filter=tree:0', srv.server.url('rich.git'), theirs])
  for (const d of [ours, theirs]) {
    const who = d === ours ? 'tsgit’s clone' : 'git’s clone'
    t.equal((await tsgit(['--no-lazy-fetch', 'cat-file', '-e', subtree], { cwd: d })).status, 1, `${who}: the subtree is missing`)
    const before = srv.server.requests.length
    const shown = await tsgitBytes(['cat-file', '-p', subtree], d)
    t.equal(shown.status, 0, shown.stderr)
    t.same(shown.stdout, git(['cat-file', '-p', subtree], { cwd: full }).stdoutBuffer, `${who}: cat-file -p <subtree> as git prints it`)
    t.equal(fetches(before), 1, `${who}: one fetch`)
    t.equal(git(['fsck'], { cwd: d, allowFail: true }).status, 0, `${who}: git fsck still passes after the fetch of a tree`)
    const input = `${other}\n`
    const batch = await tsgitBytes(['cat-file', '--batch-check'], d, input)
    t.same(batch.stdout, git(['cat-file', '--batch-check'], { cwd: full, input }).stdoutBuffer, `${who}: --batch-check fetches a subtree too`)
    rmSync(d, { recursive: true, force: true })
  }
})

t.test('a promised object no remote has, an unknown id: the error names the object', async (t) => {
  const ours = dest()
  const r = await tsgit(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('vanish.git'), ours])
  t.equal(r.status, 0, r.stderr)
  const theirs = dest()
  await gitAsync(['clone', '-q', '--no-checkout', '--filter=blob:none', srv.server.url('vanish.git'), theirs])
  const blob = vanishing.blob
  rmSync(join(vanishing.path, 'objects', blob.slice(0, 2), blob.slice(2)))
  const lastLine = (stderr: string): string => stderr.trimEnd().split('\n').pop() ?? ''
  for (const args of [['-t', blob], ['-s', blob], ['-p', blob], ['-e', blob], ['blob', blob], ['-s', 'HEAD:sub/gone.txt']]) {
    const mine = await tsgit(['cat-file', ...args], { cwd: ours })
    const gits = await gitAsync(['cat-file', ...args], { cwd: theirs, allowFail: true })
    t.equal(gits.status, 128, `git: cat-file ${args.join(' ')}`)
    t.match(lastLine(gits.stderr), `fatal: could not fetch ${blob} from promisor remote`, 'git names the object')
    t.equal(mine.status, gits.status, `tsgit: cat-file ${args.join(' ')}`)
    t.match(lastLine(mine.stderr), `fatal: could not fetch ${blob} from promisor remote`, 'and so does tsgit')
  }
  const unknown = '0123456789012345678901234567890123456789'
  for (const mode of ['-t', '-s']) {
    const gits = await gitAsync(['cat-file', mode, unknown], { cwd: theirs, allowFail: true })
    t.match(gits.stderr, `not our ref ${unknown}`, 'git names the id through its failed fetch')
    t.equal(lastLine(gits.stderr), 'fatal: git cat-file: could not get object info')
    const before = srv.server.requests.length
    const mine = await tsgit(['cat-file', mode, unknown], { cwd: ours })
    t.equal(mine.status, gits.status)
    t.match(mine.stderr, `fatal: git cat-file: could not get object info: missing object ${unknown} is not a promisor object`)
    t.equal(fetches(before), 0, 'an id no promisor object refers to is not asked for (blob:none: every tree is present)')
  }
  const p = await tsgit(['cat-file', '-p', unknown], { cwd: ours })
  t.equal(p.stderr, `fatal: Not a valid object name ${unknown}\n`)
  t.equal((await tsgit(['cat-file', '-e', unknown], { cwd: ours })).status, 1)
})

t.test('--batch-check driven line by line sees a loose object real git writes in between', async (t) => {
  const d = dest()
  git(['clone', '-q', '--no-local', rich.path, d])
  const content = 'written while cat-file runs\n'
  const oid = git(['hash-object', '--stdin'], { input: content }).stdout.trim()
  const child = spawn(TSGIT_COMMAND, ['cat-file', '--batch-check'], { cwd: d, env: pinnedEnv() })
  const done = childResult(child)
  let out = ''
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('latin1')
  })
  const nextLine = async (): Promise<string> => {
    while (!out.includes('\n')) await once(child.stdout, 'data')
    const line = out.slice(0, out.indexOf('\n'))
    out = out.slice(line.length + 1)
    return line
  }
  child.stdin.write(`${oid}\n`)
  t.equal(await nextLine(), `${oid} missing`, 'not there yet (and its directory has been read)')
  git(['hash-object', '-w', '--stdin'], { cwd: d, input: content })
  child.stdin.write(`${oid}\n`)
  t.equal(await nextLine(), `${oid} blob ${content.length}`, 'there once git has written it')
  child.stdin.end()
  const r = await done
  t.equal(r.status, 0, r.stderr)
})
