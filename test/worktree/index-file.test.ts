import t from 'tap'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LockError } from '../../lib/errors.js'
import { IndexFormatError, parseIndex, readIndexFile, serializeIndex, writeIndexFile, type IndexEntry } from '../../lib/worktree/index-file.js'
import { git, tempDir } from '../fixtures/git.js'
import { makeSampleRepo } from './sample-repo.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)
const repo = makeSampleRepo(join(tmp.path, 'repo'), { bulkFiles: 30 }).dir
const indexPath = join(repo, '.git', 'index')

/** A version-2 index without extensions, with real stat data, written by git itself. */
function gitWritesPlainIndex(): Buffer {
  const listing = git(['ls-files', '-s'], { cwd: repo }).stdout
  rmSync(indexPath)
  git(['update-index', '--index-info'], { cwd: repo, input: listing.split('\n').filter(Boolean).map((l) => l.replace(/^(\d+) (\w+) \d\t/, '$1 $2\t')).join('\n') + '\n' })
  git(['update-index', '--index-version', '2'], { cwd: repo })
  git(['update-index', '-q', '--refresh'], { cwd: repo, allowFail: true })
  return readFileSync(indexPath)
}

function rechecksum(body: Buffer): Buffer {
  return Buffer.concat([body, createHash('sha1').update(body).digest()])
}

t.test('a version-2 index written by git is read and written back byte for byte', async (t) => {
  const bytes = gitWritesPlainIndex()
  const index = parseIndex(bytes)
  t.equal(index.version, 2)
  t.same(index.extensions, [])
  t.same(serializeIndex(index.entries), bytes)
  const lsFiles = git(['ls-files', '-s', '-z'], { cwd: repo }).stdout.split('\0').filter(Boolean)
  t.same(index.entries.map((e) => `${e.mode.toString(8)} ${e.oid} ${e.stage}\t${e.path}`), lsFiles)
  const readme = index.entries.find((e) => e.path === 'README')!
  const debug = git(['ls-files', '--debug', 'README'], { cwd: repo }).stdout
  t.match(debug, `mtime: ${readme.mtimeSec}:${readme.mtimeNsec}`)
  t.match(debug, `ino: ${readme.ino}`)
  t.equal(readme.size, 12)
  t.equal(index.entries.find((e) => e.path === 'sub')?.mode, 0o160000)
})

t.test('optional extensions written by git (TREE) are kept and round-trip', async (t) => {
  git(['read-tree', 'HEAD'], { cwd: repo })
  const bytes = readFileSync(indexPath)
  const index = parseIndex(bytes)
  t.same(index.extensions.map((e) => e.signature), ['TREE'])
  t.same(serializeIndex(index.entries, { extensions: index.extensions }), bytes)
})

t.test('version 3 (skip-worktree) and version 4 (prefix-compressed paths) are read', async (t) => {
  const base = parseIndex(gitWritesPlainIndex()).entries
  git(['update-index', '--skip-worktree', 'bulk/d1/f1.txt'], { cwd: repo })
  const v3bytes = readFileSync(indexPath)
  const v3 = parseIndex(v3bytes)
  t.equal(v3.version, 3)
  t.same(v3.entries.filter((e) => e.skipWorktree).map((e) => e.path), ['bulk/d1/f1.txt'])
  t.same(serializeIndex(v3.entries), v3bytes, 'v3 round trip')
  git(['update-index', '--no-skip-worktree', 'bulk/d1/f1.txt'], { cwd: repo })
  git(['update-index', '--index-version', '4'], { cwd: repo })
  const v4 = parseIndex(readFileSync(indexPath))
  t.equal(v4.version, 4)
  const strip = (e: IndexEntry): unknown => ({ ...e, pathBytes: undefined, ctimeSec: 0, ctimeNsec: 0 })
  t.same(v4.entries.map(strip), base.map(strip))
  git(['update-index', '--index-version', '2'], { cwd: repo })
})

t.test('what we write, git reads: paths longer than 0xFFF, conflicts stages, sort order', async (t) => {
  const oid = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: 'x' }).stdout.trim()
  const long = Array.from({ length: 30 }, (_, i) => `component-${i}-${'x'.repeat(140)}`).join('/')
  t.ok(long.length > 0xfff)
  const entry = (path: string, stage: 0 | 1 | 2 | 3 = 0): IndexEntry => ({
    ctimeSec: 1, ctimeNsec: 2, mtimeSec: 3, mtimeNsec: 4, dev: 5, ino: 6, mode: 0o100644, uid: 7, gid: 8, size: 1,
    oid, stage, assumeValid: false, skipWorktree: false, intentToAdd: false, path,
  })
  // U+FF61 sorts before U+1D11E in UTF-8 (git's order), after it in UTF-16 (JavaScript's)
  const entries = [entry('b'), entry(long), entry('a-b'), entry('a/b', 3), entry('a/b', 1), entry('a.b'), entry('é'), entry('\u{1d11e}'), entry('\uff61')]
  const alt = join(tmp.path, 'alt-index')
  await writeIndexFile(alt, entries)
  const lsFiles = git(['ls-files', '-s', '-z'], { cwd: repo, env: { GIT_INDEX_FILE: alt } }).stdout.split('\0').filter(Boolean)
  t.same(lsFiles.map((l) => l.split('\t')[1]), ['a-b', 'a.b', 'a/b', 'a/b', 'b', long, 'é', '\uff61', '\u{1d11e}'])
  t.same(lsFiles.slice(2, 4).map((l) => l.split('\t')[0]!.split(' ')[2]), ['1', '3'])
  // git rewriting it (after a no-op update) gives the same bytes back.
  const ours = readFileSync(alt)
  t.same((await readIndexFile(alt))!.entries.map((e) => e.path), ['a-b', 'a.b', 'a/b', 'a/b', 'b', long, 'é', '\uff61', '\u{1d11e}'])
  git(['update-index', '--index-version', '2'], { cwd: repo, env: { GIT_INDEX_FILE: alt } })
  t.same(readFileSync(alt), ours)
  t.equal(await readIndexFile(join(tmp.path, 'absent-index')), undefined)
  t.throws(() => serializeIndex([entry('x'), entry('x')]), IndexFormatError)
  t.throws(() => serializeIndex([{ ...entry('x'), mode: 0o100600 }]), IndexFormatError)
})

t.test("30,000 skip-worktree entries, as a sparse checkout writes them: git reads them and writes back the same bytes", async (t) => {
  const oid = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: 'sparse' }).stdout.trim()
  const entries: IndexEntry[] = []
  for (let d = 0; d < 100; d++) {
    for (let f = 0; f < 300; f++) {
      // given in no order; a few in the cone, written with stat data
      const path = `d${(d * 37) % 100}/s${f % 7}/file${(f * 7919) % 300}.txt`
      const inCone = d === 0 && f < 10
      entries.push({
        ctimeSec: inCone ? 1700000000 + f : 0, ctimeNsec: 0, mtimeSec: inCone ? 1700000000 + f : 0, mtimeNsec: inCone ? f : 0, dev: 0, ino: inCone ? 1000 + f : 0,
        mode: f === 1 ? 0o100755 : 0o100644, uid: 0, gid: 0, size: inCone ? 6 : 0,
        oid, stage: 0, assumeValid: false, skipWorktree: !inCone, intentToAdd: false, path,
      })
    }
  }
  const alt = join(tmp.path, 'sparse-index')
  await writeIndexFile(alt, entries)
  const ours = readFileSync(alt)
  const env = { GIT_INDEX_FILE: alt }
  const listed = git(['ls-files', '-t', '-s', '-z'], { cwd: repo, env }).stdout.split('\0').filter(Boolean)
  const expected = [...entries]
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
    .map((e) => `${e.skipWorktree ? 'S' : 'H'} ${e.mode.toString(8)} ${e.oid} 0\t${e.path}`)
  t.equal(listed.length, 30000)
  t.same(listed, expected, 'every entry, in git\'s order, with its skip-worktree bit')
  git(['update-index', '--index-version', '3'], { cwd: repo, env })
  t.ok(readFileSync(alt).equals(ours), 'git rewriting it gives the same bytes')
})

t.test('a path that is not valid UTF-8 keeps its bytes: read, sorted and written back as git has them', async (t) => {
  const oid = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: 'bytes' }).stdout.trim()
  const alt = join(tmp.path, 'latin1-index')
  const env = { GIT_INDEX_FILE: alt }
  // git takes the path's bytes as given: 'caf\xe9' (Latin-1), then 'cafe' and 'café' (UTF-8)
  const line = (path: Buffer): Buffer => Buffer.concat([Buffer.from(`100644 ${oid}\t`), path, Buffer.from([0])])
  git(['update-index', '--add', '-z', '--index-info'], { cwd: repo, env, input: Buffer.concat([line(Buffer.from([0x63, 0x61, 0x66, 0xe9])), line(Buffer.from('cafe')), line(Buffer.from('café'))]) })
  const bytes = readFileSync(alt)
  const index = parseIndex(bytes)
  t.same(index.entries.map((e) => e.pathBytes?.toString('hex')), [undefined, undefined, '636166e9'], 'bytes kept only where the string loses them')
  t.same(index.entries.map((e) => e.path), ['cafe', 'café', 'caf\ufffd'], 'in byte order: 0xc3 0xa9 before 0xe9')
  t.same(serializeIndex([...index.entries].reverse()), bytes, 'written back in git\'s order, byte for byte')
})

t.test('writes go through index.lock; a held lock is respected', async (t) => {
  const alt = join(tmp.path, 'locked-index')
  writeFileSync(alt, 'old')
  writeFileSync(`${alt}.lock`, '')
  await t.rejects(writeIndexFile(alt, []), LockError)
  t.equal(readFileSync(alt, 'utf8'), 'old')
  t.ok(existsSync(`${alt}.lock`), 'somebody else\'s lock is left alone')
})

t.test('corrupt or unsupported indexes are refused', async (t) => {
  const good = gitWritesPlainIndex()
  const body = good.subarray(0, good.length - 20)
  const flipped = Buffer.from(good)
  flipped[40] = flipped[40]! ^ 1
  t.throws(() => parseIndex(flipped), IndexFormatError, 'checksum')
  const badSig = Buffer.from(body)
  badSig.write('DIRX', 0)
  t.throws(() => parseIndex(rechecksum(badSig)), IndexFormatError, 'signature')
  const v5 = Buffer.from(body)
  v5.writeUInt32BE(5, 4)
  t.throws(() => parseIndex(rechecksum(v5)), IndexFormatError, 'version')
  const lying = Buffer.from(body)
  lying.writeUInt32BE(0xffffffff, 8)
  t.throws(() => parseIndex(rechecksum(lying)), IndexFormatError, 'entry count')
  const oneMore = Buffer.from(body)
  oneMore.writeUInt32BE(body.readUInt32BE(8) + 1, 8)
  t.throws(() => parseIndex(rechecksum(oneMore)), IndexFormatError, 'truncated entries')
  t.throws(() => parseIndex(good.subarray(0, 25)), IndexFormatError, 'too short')
  const ext = (sig: string, data: Buffer): Buffer => {
    const h = Buffer.alloc(8)
    h.write(sig, 0, 'latin1')
    h.writeUInt32BE(data.length, 4)
    return Buffer.concat([h, data])
  }
  const withOptional = parseIndex(rechecksum(Buffer.concat([body, ext('ZZZZ', Buffer.from('whatever'))])))
  t.same(withOptional.extensions.map((e) => [e.signature, e.data.toString()]), [['ZZZZ', 'whatever']])
  t.throws(() => parseIndex(rechecksum(Buffer.concat([body, ext('link', Buffer.alloc(20))]))), /required extension "link"/)
  t.throws(() => parseIndex(rechecksum(Buffer.concat([body, ext('ZZZZ', Buffer.alloc(4)).subarray(0, 10)]))), IndexFormatError, 'extension past the end')
  // Entries out of order: swap the names of the first two same-length entries.
  const entries = parseIndex(good).entries
  const swapped = serializeIndex(entries)
  const i = entries.findIndex((e, k) => e.path.length === entries[k + 1]?.path.length)
  const a = entries[i]!.path
  const b = entries[i + 1]!.path
  const tampered = Buffer.from(swapped.subarray(0, swapped.length - 20))
  const ia = tampered.indexOf(Buffer.from(a + '\0'), 12)
  const ib = tampered.indexOf(Buffer.from(b + '\0'), ia + 1)
  tampered.write(b, ia, 'latin1')
  tampered.write(a, ib, 'latin1')
  t.throws(() => parseIndex(rechecksum(tampered)), /not sorted/)
})
