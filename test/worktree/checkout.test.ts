import t from 'tap'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { RepositoryError, UnsafePathError } from '../../lib/errors.js'
import type { ProgressEvent, ProgressSink } from '../../lib/events.js'
import { MODE_BLOB, MODE_EXECUTABLE, MODE_GITLINK, MODE_SYMLINK, MODE_TREE, type TreeEntryInput } from '../../lib/odb/objects.js'
import { checkoutTree } from '../../lib/worktree/checkout.js'
import { readIndexFile } from '../../lib/worktree/index-file.js'
import { git, tempDir } from '../fixtures/git.js'
import { GitCatFileReader, MemoryObjectReader } from '../fixtures/object-reader.js'
import { makeSampleRepo } from './sample-repo.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)
const source = makeSampleRepo(join(tmp.path, 'source'), { bulkFiles: 400 })
const umask = process.umask()

function recordingSink(): ProgressSink & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = []
  return { events, progress: (ev) => events.push(ev), remote() {}, warn() {}, info() {} }
}

/** A repository with objects and HEAD but no index and no work tree files. */
function bareCheckoutTarget(name: string): { dir: string; gitDir: string; tree: string } {
  const dir = join(tmp.path, name)
  git(['clone', '-q', '--no-checkout', source.dir, dir])
  return { dir, gitDir: join(dir, '.git'), tree: git(['rev-parse', 'HEAD^{tree}'], { cwd: dir }).stdout.trim() }
}

t.test('checkout of a real repository: git sees a clean work tree and our stat data', async (t) => {
  const { dir, gitDir, tree } = bareCheckoutTarget('real')
  const reader = new GitCatFileReader(gitDir)
  t.teardown(() => reader.close())
  const sink = recordingSink()
  const { files } = await checkoutTree({ reader, workTree: dir, gitDir, progress: sink }, tree)

  const lsTree = git(['ls-tree', '-r', '-z', tree], { cwd: dir }).stdout.split('\0').filter(Boolean)
  t.equal(files, lsTree.length)
  const blobs = new Set(lsTree.filter((l) => l.split(' ')[1] === 'blob').map((l) => l.split(' ')[2]!.split('\t')[0]!))
  t.equal(reader.prefetchCalls.length, 1, 'one prefetch for the whole checkout (trees were all present)')
  t.same(new Set(reader.prefetchCalls[0]), blobs, 'exactly the blobs of the tree')
  t.equal(reader.prefetchCalls[0]!.length, blobs.size, 'each blob once')

  // Plumbing that does not refresh the index first: stat data must already match.
  t.equal(git(['diff-files', '--name-status'], { cwd: dir }).stdout, '')
  t.equal(git(['diff-index', '--cached', 'HEAD'], { cwd: dir }).stdout, '')
  t.equal(git(['status', '--porcelain', '--ignored', '--untracked-files=all'], { cwd: dir }).stdout, '')
  git(['fsck', '--no-dangling'], { cwd: dir })

  // The index lists what git's own checkout would, and its stat data is the files' lstat.
  const reference = join(tmp.path, 'reference')
  git(['clone', '-q', source.dir, reference])
  t.equal(git(['ls-files', '-s'], { cwd: dir }).stdout, git(['ls-files', '-s'], { cwd: reference }).stdout)
  const debug = git(['-c', 'core.quotePath=false', 'ls-files', '-s', '--debug'], { cwd: dir }).stdout
  const records = debug.split(/\n(?=\d{6} )/)
  t.equal(records.length, files)
  for (const rec of records) {
    const path = rec.split('\n')[0]!.split('\t')[1]!
    const st = lstatSync(join(dir, path), { bigint: true })
    const m = /mtime: (\d+):(\d+)[\s\S]*ino: (\d+)[\s\S]*size: (\d+)/.exec(rec)
    t.ok(m, path)
    if (!m) continue
    t.same([BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!), BigInt(m[4]!)], [st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n, st.ino % (1n << 32n), st.size], `stat of ${path}`)
  }

  t.equal(lstatSync(join(dir, 'bin/run.sh')).mode & 0o777, 0o777 & ~umask)
  t.equal(lstatSync(join(dir, 'README')).mode & 0o777, 0o666 & ~umask)
  t.equal(readFileSync(join(dir, 'README'), 'utf8'), 'hello again\n')
  t.equal(readFileSync(join(dir, 'big.bin')).length, 200_000)
  t.equal(readlinkSync(join(dir, 'links/readme-link')), '../README')
  t.equal(readlinkSync(join(dir, 'links/dir-link')), '../deep/er')
  t.ok(lstatSync(join(dir, 'sub')).isDirectory())
  t.same(readdirSync(join(dir, 'sub')), [], 'a gitlink becomes an empty directory')
  const index = await readIndexFile(join(gitDir, 'index'))
  t.equal(index?.entries.find((e) => e.path === 'sub')?.oid, source.submoduleCommit)

  const updates = sink.events.filter((e) => e.title === 'Updating files')
  t.equal(updates.at(-1)?.done, true)
  t.equal(updates.at(-1)?.current, files)
  t.ok(updates.every((e) => e.total === files))
})

t.test('core.symlinks=false writes a symlink as a file holding its target', async (t) => {
  const { dir, gitDir, tree } = bareCheckoutTarget('nosymlinks')
  git(['config', 'core.symlinks', 'false'], { cwd: dir })
  const reader = new GitCatFileReader(gitDir)
  t.teardown(() => reader.close())
  await checkoutTree({ reader, workTree: dir, gitDir }, tree, { symlinks: false })
  t.ok(lstatSync(join(dir, 'links/readme-link')).isFile())
  t.equal(readFileSync(join(dir, 'links/readme-link'), 'utf8'), '../README')
  t.match(git(['ls-files', '-s', 'links/readme-link'], { cwd: dir }).stdout, /^120000 /)
  t.equal(git(['status', '--porcelain'], { cwd: dir }).stdout, '')
})

t.test('a work tree that is not empty is refused before anything is written', async (t) => {
  const { dir, gitDir, tree } = bareCheckoutTarget('notempty')
  writeFileSync(join(dir, 'README'), 'mine')
  const reader = new GitCatFileReader(gitDir)
  t.teardown(() => reader.close())
  await t.rejects(checkoutTree({ reader, workTree: dir, gitDir }, tree), RepositoryError)
  t.equal(readFileSync(join(dir, 'README'), 'utf8'), 'mine')
  t.same(readdirSync(dir).sort(), ['.git', 'README'])
  t.notOk(existsSync(join(gitDir, 'index')))
})

t.test('a tree:0 partial clone: one prefetch per tree level, then one for all blobs, no lazy reads', async (t) => {
  const reader = new MemoryObjectReader()
  const promised = { present: false }
  const blob = (s: string): string => reader.add('blob', s, promised)
  const b1 = blob('one\n')
  const b2 = blob('two\n')
  const b3 = blob('three\n')
  const leaf = reader.addTree([{ name: 'f', mode: MODE_BLOB, oid: b3 }], promised)
  const mid1 = reader.addTree([{ name: 'leaf', mode: MODE_TREE, oid: leaf }, { name: 'x', mode: MODE_BLOB, oid: b2 }], promised)
  const mid2 = reader.addTree([{ name: 'y', mode: MODE_EXECUTABLE, oid: b1 }, { name: 'same', mode: MODE_TREE, oid: leaf }], promised)
  const root = reader.addTree(
    [
      { name: 'a.txt', mode: MODE_BLOB, oid: b1 },
      { name: 'm1', mode: MODE_TREE, oid: mid1 },
      { name: 'm2', mode: MODE_TREE, oid: mid2 },
    ],
    promised,
  )
  const work = join(tmp.path, 'partial')
  mkdirSync(join(work, '.git'), { recursive: true })
  const { files } = await checkoutTree({ reader, workTree: work, gitDir: join(work, '.git') }, root)
  t.equal(files, 5)
  t.same(reader.prefetchCalls.map((c) => new Set(c)), [new Set([root]), new Set([mid1, mid2]), new Set([leaf]), new Set([b1, b2, b3])])
  t.same(reader.lazyReads, [])
  t.equal(readFileSync(join(work, 'm2/same/f'), 'utf8'), 'three\n')
  t.same((await readIndexFile(join(work, '.git', 'index')))!.entries.map((e) => e.path), ['a.txt', 'm1/leaf/f', 'm1/x', 'm2/same/f', 'm2/y'])
})

t.test('hostile trees are refused with UnsafePathError and nothing is written anywhere', async (t) => {
  const reader = new MemoryObjectReader()
  const blob = reader.add('blob', 'payload\n')
  const outside = reader.add('blob', '/tmp/elsewhere')
  const hookBlob = reader.add('blob', '#!/bin/sh\necho pwned\n')
  const file = (name: string | Buffer, mode = MODE_BLOB, oid = blob): TreeEntryInput =>
    typeof name === 'string' ? { name, mode, oid } : { name: name.toString('utf8'), nameBytes: name, mode, oid }
  const inner = reader.addTree([file('file')])
  const hooks = reader.addTree([file('post-checkout', MODE_EXECUTABLE, hookBlob)])
  const dotgitDir = reader.addRawTree([{ name: 'hooks', mode: MODE_TREE, oid: hooks }])
  const dotdotInside = reader.addRawTree([file('..')])
  const cases: [string, TreeEntryInput[]][] = [
    ['..', [file('aaa'), file('..')]],
    ['.', [file('.')]],
    ['empty name', [file('')]],
    ['.git directory', [file('aaa'), { name: '.git', mode: MODE_TREE, oid: dotgitDir }]],
    ['.GIT', [{ name: '.GIT', mode: MODE_TREE, oid: dotgitDir }]],
    ['git~1', [{ name: 'git~1', mode: MODE_TREE, oid: dotgitDir }]],
    ['.git.', [{ name: '.git.', mode: MODE_TREE, oid: dotgitDir }]],
    ['.git with trailing space', [{ name: '.git ', mode: MODE_TREE, oid: dotgitDir }]],
    ['.git::$INDEX_ALLOCATION', [{ name: '.git::$INDEX_ALLOCATION', mode: MODE_TREE, oid: dotgitDir }]],
    ['HFS ignorable in .git', [{ name: '.g\u200cit', mode: MODE_TREE, oid: dotgitDir }]],
    ['slash in a name', [file('a/b')]],
    ['../ in a name', [file('../escape')]],
    ['backslash', [file('..\\escape')]],
    ['.. one level down', [file('zzz'), { name: 'dir', mode: MODE_TREE, oid: dotdotInside }]],
    ['symlink then a directory through it', [file('link', MODE_SYMLINK, outside), { name: 'link', mode: MODE_TREE, oid: inner }]],
    ['directory and symlink of the same name', [{ name: 'link', mode: MODE_TREE, oid: inner }, file('link', MODE_SYMLINK, outside)]],
    ['the same file twice', [file('twice'), file('twice')]],
    ['the same name twice, apart, in a tree out of order', [file('b'), file('a'), file('c'), file('b')]],
    ['.gitmodules symlink', [file('.gitmodules', MODE_SYMLINK, outside)]],
    ['GITMOD~1 symlink', [file('GITMOD~1', MODE_SYMLINK, outside)]],
    ['non-UTF-8 name', [file(Buffer.from([0x61, 0xff]))]],
  ]
  for (const [what, entries] of cases) {
    const root = reader.addRawTree(entries)
    const parent = join(tmp.path, `hostile-${cases.findIndex((c) => c[0] === what)}`)
    mkdirSync(parent)
    writeFileSync(join(parent, 'sentinel'), 'untouched')
    const work = join(parent, 'work')
    const prefetchesBefore = reader.prefetchCalls.length
    await t.rejects(checkoutTree({ reader, workTree: work, gitDir: join(work, '.git') }, root), UnsafePathError, what)
    t.same(readdirSync(parent), ['sentinel'], `${what}: nothing created next to the work tree, not even the work tree`)
    t.equal(readFileSync(join(parent, 'sentinel'), 'utf8'), 'untouched')
    t.equal(reader.prefetchCalls.length, prefetchesBefore, `${what}: refused before fetching any blob`)
  }
  t.notOk(existsSync('/tmp/elsewhere/file'))
})

t.test('a hostile tree is refused even when the work tree already exists with its .git', async (t) => {
  const reader = new MemoryObjectReader()
  const blob = reader.add('blob', 'x')
  const root = reader.addRawTree([{ name: 'ok', mode: MODE_BLOB, oid: blob }, { name: '.Git', mode: MODE_BLOB, oid: blob }])
  const work = join(tmp.path, 'existing')
  mkdirSync(join(work, '.git'), { recursive: true })
  writeFileSync(join(work, '.git', 'config'), 'original')
  await t.rejects(checkoutTree({ reader, workTree: work, gitDir: join(work, '.git') }, root), UnsafePathError)
  t.same(readdirSync(work), ['.git'])
  t.same(readdirSync(join(work, '.git')), ['config'])
})

t.test('gitlink and wrong object types', async (t) => {
  const reader = new MemoryObjectReader()
  const commitish = 'c'.repeat(40)
  const notBlob = reader.addTree([])
  const root = reader.addTree([{ name: 'sub', mode: MODE_GITLINK, oid: commitish }])
  const work = join(tmp.path, 'gitlink-only')
  mkdirSync(join(work, '.git'), { recursive: true })
  await checkoutTree({ reader, workTree: work, gitDir: join(work, '.git') }, root)
  t.same(reader.prefetchCalls, [], 'the commit of a gitlink is never fetched')
  t.same((await readIndexFile(join(work, '.git', 'index')))!.entries.map((e) => [e.path, e.mode, e.oid]), [['sub', MODE_GITLINK, commitish]])
  const bad = reader.addTree([{ name: 'f', mode: MODE_BLOB, oid: notBlob }])
  await t.rejects(checkoutTree({ reader, workTree: join(tmp.path, 'wrong-type'), gitDir: join(tmp.path, 'wrong-type', '.git') }, bad), /is a tree, expected a blob/)
})
