import t from 'tap'
import { join } from 'node:path'
import { ObjectFormatError } from '../../lib/errors.js'
import {
  MODE_BLOB,
  MODE_EXECUTABLE,
  MODE_GITLINK,
  MODE_SYMLINK,
  MODE_TREE,
  hashObject,
  objectHeader,
  parseCommit,
  parseCommitLinks,
  parseIdent,
  parseTag,
  parseTree,
  serializeTree,
} from '../../lib/odb/objects.js'
import { git, tempDir } from '../fixtures/git.js'
import { makeSampleRepo } from '../worktree/sample-repo.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)
const repo = makeSampleRepo(join(tmp.path, 'repo'), { bulkFiles: 40 }).dir
const catFile = (type: string, oid: string): Buffer => git(['cat-file', type, oid], { cwd: repo }).stdoutBuffer

const all = git(['cat-file', '--batch-all-objects', '--batch-check'], { cwd: repo })
  .stdout.trim()
  .split('\n')
  .map((l) => l.split(' '))
const ofType = (type: string): string[] => all.filter((p) => p[1] === type).map((p) => p[0]!)

t.test('hashObject and objectHeader agree with git hash-object', async (t) => {
  for (const content of ['', 'hello\n', 'x'.repeat(10_000)]) {
    const expected = git(['hash-object', '--stdin'], { input: content }).stdout.trim()
    t.equal(hashObject('blob', Buffer.from(content)), expected)
  }
  t.same(objectHeader('tree', 12), Buffer.from('tree 12\0'))
  // Every stored object hashes to its own name.
  for (const [oid, type] of all) {
    t.equal(hashObject(type as 'blob', catFile(type!, oid!)), oid, `${type} ${oid}`)
  }
})

t.test('trees from a real repository parse like git ls-tree and round-trip byte for byte', async (t) => {
  const trees = ofType('tree')
  t.ok(trees.length > 10)
  for (const oid of trees) {
    const data = catFile('tree', oid)
    const entries = parseTree(data)
    t.same(serializeTree(entries), data, `round trip ${oid}`)
    // Feeding the entries back shuffled must still give git's order.
    t.same(serializeTree([...entries].reverse()), data, `sorted ${oid}`)
    const lsTree = git(['ls-tree', '-z', oid], { cwd: repo }).stdout.split('\0').filter(Boolean)
    t.same(
      entries.map((e) => `${e.modeText.padStart(6, '0')} ${e.type} ${e.oid}\t${e.name}`),
      lsTree,
      `ls-tree ${oid}`,
    )
  }
  const root = parseTree(catFile('tree', git(['rev-parse', 'HEAD^{tree}'], { cwd: repo }).stdout.trim()))
  const modeOf = (name: string): number | undefined => root.find((e) => e.name === name)?.mode
  t.equal(modeOf('sub'), MODE_GITLINK)
  t.equal(modeOf('README'), MODE_BLOB)
  t.equal(modeOf('bin'), MODE_TREE)
  t.equal(root.find((e) => e.name === 'sub')?.type, 'commit')
  const bin = parseTree(catFile('tree', root.find((e) => e.name === 'bin')!.oid))
  t.equal(bin[0]?.mode, MODE_EXECUTABLE)
  const links = parseTree(catFile('tree', root.find((e) => e.name === 'links')!.oid))
  t.same(links.map((e) => e.mode), [MODE_SYMLINK, MODE_SYMLINK])
})

t.test('serializeTree sorts directories as if they ended in a slash, like git mktree', async (t) => {
  const blob = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: 'x' }).stdout.trim()
  const sub = git(['mktree'], { cwd: repo, input: `100644 blob ${blob}\tinner\n` }).stdout.trim()
  const names: [string, boolean][] = [['a', true], ['a-b', false], ['a.c', false], ['a0', false], ['b', true], ['b.', false], ['c', false]]
  const listing = names.map(([n, dir]) => (dir ? `040000 tree ${sub}\t${n}` : `100644 blob ${blob}\t${n}`)).join('\n') + '\n'
  const expected = git(['mktree'], { cwd: repo, input: listing }).stdout.trim()
  const ours = serializeTree(names.map(([name, dir]) => ({ name, mode: dir ? MODE_TREE : MODE_BLOB, oid: dir ? sub : blob })))
  t.equal(hashObject('tree', ours), expected)
  t.same(ours, catFile('tree', expected))
  t.throws(() => serializeTree([{ name: 'x', mode: MODE_BLOB, oid: blob }, { name: 'x', mode: MODE_TREE, oid: sub }]), ObjectFormatError)
  t.throws(() => serializeTree([{ name: 'a/b', mode: MODE_BLOB, oid: blob }]), ObjectFormatError)
  t.throws(() => serializeTree([{ name: '', mode: MODE_BLOB, oid: blob }]), ObjectFormatError)
  t.throws(() => serializeTree([{ name: 'x', mode: 0o100600, oid: blob }]), ObjectFormatError)
})

t.test('legacy modes written by old git survive a round trip', async (t) => {
  const blob = git(['hash-object', '-w', '--stdin'], { cwd: repo, input: 'legacy' }).stdout.trim()
  const raw = Buffer.concat([Buffer.from('100664 old\0'), Buffer.from(blob, 'hex')])
  const oid = git(['hash-object', '-t', 'tree', '-w', '--literally', '--stdin'], { cwd: repo, input: raw }).stdout.trim()
  const entries = parseTree(catFile('tree', oid))
  t.equal(entries[0]?.mode, MODE_BLOB)
  t.equal(entries[0]?.modeText, '100664')
  t.equal(hashObject('tree', serializeTree(entries)), oid)
})

t.test('malformed trees are refused', async (t) => {
  const oid = Buffer.alloc(20, 0xab)
  const entry = (mode: string, name: string, id: Buffer = oid): Buffer => Buffer.concat([Buffer.from(`${mode} ${name}\0`), id])
  const bad: [string, Buffer][] = [
    ['unknown mode', entry('100600', 'f')],
    ['non-octal mode', entry('1006x4', 'f')],
    ['mode too long', entry('0100644', 'f')],
    ['truncated oid', entry('100644', 'f', oid.subarray(0, 19))],
    ['no NUL after name', Buffer.from('100644 name-without-end')],
    ['no space after mode', Buffer.from('100644')],
    ['empty name', entry('100644', '')],
    ['slash in name', entry('100644', 'a/b')],
    ['trailing garbage', Buffer.concat([entry('100644', 'f'), Buffer.from('4')])],
  ]
  for (const [what, data] of bad) t.throws(() => parseTree(data), ObjectFormatError, what)
  // The lenient form leaves names to path-safety, but still checks the format.
  t.equal(parseTree(entry('100644', 'a/b'), { strictNames: false })[0]?.name, 'a/b')
  t.throws(() => parseTree(entry('100644', 'f', oid.subarray(0, 5)), { strictNames: false }), ObjectFormatError)
  t.same(parseTree(Buffer.alloc(0)), [])
})

t.test('commits parse like git log reads them', async (t) => {
  const commits = ofType('commit')
  t.ok(commits.length >= 5)
  let sawEncoding = false
  let sawMerge = false
  for (const oid of commits) {
    const c = parseCommit(catFile('commit', oid))
    const fmt = git(['log', '-1', '--date=raw', '--format=%T%n%P%n%an%n%ae%n%ad%n%cn%n%ce%n%cd%n%e', oid], { cwd: repo }).stdout.split('\n')
    t.equal(c.tree, fmt[0])
    t.same(c.parents, fmt[1] === '' ? [] : fmt[1]!.split(' '))
    t.same([c.author.name, c.author.email, `${c.author.timestamp} ${c.author.timezone}`], fmt.slice(2, 5))
    t.same([c.committer.name, c.committer.email, `${c.committer.timestamp} ${c.committer.timezone}`], fmt.slice(5, 8))
    t.equal(c.encoding ?? '', fmt[8])
    const raw = catFile('commit', oid).toString('utf8')
    t.ok(raw.endsWith(c.message) && raw.slice(0, raw.length - c.message.length).endsWith('\n\n'), 'message is everything after the blank line')
    if (c.encoding) sawEncoding = true
    if (c.parents.length === 2) {
      sawMerge = true
      t.equal(c.message, 'merge side\n\nwith a body\n')
    }
  }
  t.ok(sawEncoding && sawMerge)
})

t.test('commit headers: gpgsig continuation lines, extra headers, missing pieces', async (t) => {
  const tree = '4b825dc642cb6eb9a060e54bf8d69288fbee4904'
  const text =
    `tree ${tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 -0130\n` +
    'gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\nx-custom value\n\nmsg\n'
  const c = parseCommit(Buffer.from(text))
  t.equal(c.gpgsig, '-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----')
  t.same(c.extraHeaders, [{ key: 'x-custom', value: 'value' }])
  t.equal(c.committer.timezone, '-0130')
  t.equal(c.message, 'msg\n')
  t.throws(() => parseCommit(Buffer.from(`author A <a@x> 1 +0000\n\n`)), ObjectFormatError)
  t.throws(() => parseCommit(Buffer.from(`tree ${tree}\ncommitter C <c@x> 2 +0000\n\n`)), ObjectFormatError)
  t.throws(() => parseCommit(Buffer.from(`tree nothex\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\n`)), ObjectFormatError)
})

/** parseCommit's answer for what a walk needs, or the error class it throws. */
function viaParseCommit(data: Buffer): unknown {
  try {
    const c = parseCommit(data)
    return { tree: c.tree, parents: c.parents, date: c.committer.timestamp }
  } catch (e) {
    return (e as Error).constructor.name
  }
}

function viaLinks(data: Buffer): unknown {
  try {
    return parseCommitLinks(data)
  } catch (e) {
    return (e as Error).constructor.name
  }
}

t.test('parseCommitLinks answers as parseCommit does: real commits, and thousands of damaged ones', async (t) => {
  const tree = '4b825dc642cb6eb9a060e54bf8d69288fbee4904'
  const parent = 'a'.repeat(40)
  const samples = [
    ...ofType('commit').map((oid) => catFile('commit', oid)),
    Buffer.from(`tree ${tree}\nparent ${parent}\nparent ${'b'.repeat(40)}\nauthor A U <a@x> 1 +0000\ncommitter C <c@x> 1234567890 -0130\nencoding ISO-8859-1\n\nmsg\n`),
    Buffer.from(`tree ${tree}\nauthor A <a@x> 1 +0000\ncommitter Ç <c@x> 2 +0100\ngpgsig -----BEGIN-----\n \n abc\n -----END-----\nmergetag object ${parent}\n type commit\n\nmsg\n`),
    Buffer.from(`tree ${tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 99999999999999999999 +0000`),
    Buffer.from(`tree ${tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 3 +0000\n`),
  ]
  let accepted = 0
  let refused = 0
  for (const s of samples) {
    const whole = viaLinks(s)
    t.same(whole, viaParseCommit(s))
    if (typeof whole === 'object') accepted++
  }
  // Damage: every byte of the header block replaced by each of a few telling bytes, and cut short there.
  const telling = [0x0a, 0x20, 0x3c, 0x3e, 0x2b, 0x2d, 0x30, 0x41, 0x66, 0x67, 0x00]
  let cases = 0
  let mismatches = 0
  for (const s of samples.slice(-4)) {
    const head = s.indexOf('\n\n') < 0 ? s.length : s.indexOf('\n\n') + 2
    for (let i = 0; i < head; i++) {
      const variants = [s.subarray(0, i), ...telling.map((b) => Buffer.concat([s.subarray(0, i), Buffer.from([b]), s.subarray(i + 1)]))]
      variants.push(Buffer.concat([s.subarray(0, i), Buffer.from([0x20]), s.subarray(i)]))
      for (const v of variants) {
        cases++
        const a = viaLinks(v)
        const b = viaParseCommit(v)
        if (typeof a === 'object') accepted++
        else refused++
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          mismatches++
          if (mismatches <= 5) t.fail(`differs from parseCommit for ${JSON.stringify(v.toString('latin1'))}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
        }
      }
    }
  }
  t.equal(mismatches, 0, `${cases} damaged commits answered alike`)
  t.ok(accepted > 100 && refused > 100, `both outcomes exercised (${accepted} accepted, ${refused} refused)`)
})

t.test('tags parse like git for-each-ref reads them', async (t) => {
  const tags = ofType('tag')
  t.equal(tags.length, 2)
  for (const oid of tags) {
    const tag = parseTag(catFile('tag', oid))
    const fmt = git(['for-each-ref', '--format=%(objectname)%00%(object)%00%(type)%00%(tag)%00%(taggername)%00%(taggeremail:trim)%00%(contents)', 'refs/tags'], { cwd: repo })
      .stdout.split('\n')
      .map((l) => l.split('\0'))
      .find((f) => f[0] === oid)!
    t.same([tag.object, tag.type, tag.tag, tag.tagger?.name, tag.tagger?.email], fmt.slice(1, 6))
    t.ok(tag.message.startsWith(fmt[6]!))
  }
  t.throws(() => parseTag(Buffer.from('type commit\ntag x\n\n')), ObjectFormatError)
  t.throws(() => parseTag(Buffer.from(`object ${'1'.repeat(40)}\ntype banana\ntag x\n\n`)), ObjectFormatError)
})

t.test('identities', async (t) => {
  t.same(parseIdent('A U Thor <author@example.com> 1112911993 -0700'), { name: 'A U Thor', email: 'author@example.com', timestamp: 1112911993, timezone: '-0700' })
  t.same(parseIdent('<> 0 +0000'), { name: '', email: '', timestamp: 0, timezone: '+0000' })
  t.equal(parseIdent('Odd <a <b> > 5 +0100').email, 'a <b> ')
  t.throws(() => parseIdent('No Email 5 +0000'), ObjectFormatError)
  t.throws(() => parseIdent('N <e> notanumber +0000'), ObjectFormatError)
  t.throws(() => parseIdent('N <e> 5'), ObjectFormatError)
})
