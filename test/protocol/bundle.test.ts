import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BundleError } from '../../lib/errors.js'
import { isBundleSignature, parseBundleHeader, readBundle, type Bundle, type BundleHeader } from '../../lib/protocol/bundle.js'
import { git, tempDir } from '../fixtures/git.js'

const dir = tempDir()
t.teardown(dir.cleanup)
const src = join(dir.path, 'src')
const OID_A = 'a'.repeat(40)
const OID_B = 'b'.repeat(40)

function commit(file: string, content: string | Buffer, message: string): void {
  writeFileSync(join(src, file), content)
  git(['add', file], { cwd: src })
  git(['commit', '-q', '-m', message], { cwd: src })
}

// base: two commits; topic: two more on top; main: one more on base; an annotated tag
git(['init', '-q', '-b', 'main', src])
commit('a.txt', 'one\n', 'first')
commit('big.bin', Buffer.alloc(3000, 'x'), 'second: a blob over 1k')
git(['branch', 'base'], { cwd: src })
git(['tag', '-a', '-m', 'v1', 'v1'], { cwd: src })
git(['checkout', '-q', '-b', 'topic'], { cwd: src })
commit('t.txt', 'topic\n', 'topic one')
commit('t.txt', 'topic two\n', 'topic two')
git(['checkout', '-q', 'main'], { cwd: src })
commit('m.txt', 'main\n', 'main three')

const rev = (r: string): string => git(['rev-parse', r], { cwd: src }).stdout.trim()

interface Fixture {
  name: string
  file: string
  args: string[]
  version: 2 | 3
  filter?: string
}
const fixtures: Fixture[] = [
  { name: 'full (--all, with HEAD and a tag)', file: 'full.bundle', args: ['--all'], version: 2 },
  { name: 'incremental base..topic', file: 'inc.bundle', args: ['base..topic'], version: 2 },
  { name: 'incremental with two prerequisites', file: 'two.bundle', args: ['main', 'topic', '^base', '^main~1'], version: 2 },
  { name: 'v3', file: 'v3.bundle', args: ['--version=3', 'main'], version: 3 },
  { name: 'v3 with blob:none filter', file: 'none.bundle', args: ['--filter=blob:none', 'main'], version: 3, filter: 'blob:none' },
  { name: 'v3 with blob:limit filter', file: 'limit.bundle', args: ['--filter=blob:limit=1k', 'main'], version: 3, filter: 'blob:limit=1024' },
]
for (const f of fixtures) {
  const [first, ...rest] = f.args
  // --version goes before the file name, rev-list arguments (--filter too) after it
  const args = first?.startsWith('--version') === true ? [first, join(dir.path, f.file), ...rest] : [join(dir.path, f.file), ...f.args]
  git(['bundle', 'create', '-q', ...args], { cwd: src })
}

/** What git itself reads from the header: refs from list-heads, prerequisites and filter from verify. */
function gitView(file: string): { refs: { oid: string; name: string }[]; prerequisites: string[]; filter?: string } {
  const refs = git(['bundle', 'list-heads', file], { cwd: src })
    .stdout.split('\n')
    .filter((l) => l.length > 0)
    .map((l) => ({ oid: l.slice(0, 40), name: l.slice(41) }))
  const verify = git(['bundle', 'verify', file], { cwd: src }).stdout
  const requires = verify.split(/The bundle requires th(?:is|ese \d+) refs?:\n/)[1] ?? ''
  const prerequisites = [...requires.matchAll(/^([0-9a-f]{40}) /gm)].map((m) => m[1] as string)
  const filter = /The bundle uses this filter: (.*)/.exec(verify)?.[1]
  return filter === undefined ? { refs, prerequisites } : { refs, prerequisites, filter }
}

async function* chunked(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let pos = 0
  for (let i = 0; pos < buf.length; i++) {
    const n = sizes[i % sizes.length] as number
    yield buf.subarray(pos, pos + n)
    pos += n
  }
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const b of it) parts.push(b)
  return Buffer.concat(parts)
}

function headerOf(b: Bundle): BundleHeader {
  const { pack: _pack, ...header } = b
  return header
}

t.test('bundles written by git 2.39 read as git reads them', async (t) => {
  for (const f of fixtures) {
    await t.test(f.name, async (t) => {
      const path = join(dir.path, f.file)
      const bytes = readFileSync(path)
      const bundle = await readBundle(chunked(bytes, [65536]))
      const view = gitView(path)
      t.equal(bundle.version, f.version)
      t.same(bundle.refs, view.refs, 'refs as git bundle list-heads')
      t.same(
        bundle.prerequisites.map((p) => p.oid),
        view.prerequisites,
        'prerequisites as git bundle verify',
      )
      t.equal(bundle.filter?.text, f.filter)
      t.equal(view.filter, f.filter, 'git reports the same filter')
      if (f.version === 3) {
        t.same([...bundle.capabilities], f.filter === undefined ? [['object-format', 'sha1']] : [['object-format', 'sha1'], ['filter', f.filter]])
      } else {
        t.equal(bundle.capabilities.size, 0)
      }
      t.equal(bytes.subarray(bundle.headerLength - 2, bundle.headerLength).toString(), '\n\n', 'headerLength ends at the blank line')
      const pack = await collect(bundle.pack)
      t.ok(pack.equals(bytes.subarray(bundle.headerLength)), 'pack bytes are the file after the header')
      t.equal(pack.subarray(0, 4).toString(), 'PACK')
      t.same(parseBundleHeader(bytes), headerOf(bundle), 'the synchronous parser agrees')
    })
  }
})

t.test('the packs yielded are accepted by git index-pack', async (t) => {
  const empty = join(dir.path, 'empty.git')
  git(['init', '-q', '--bare', empty])
  const atBase = join(dir.path, 'at-base.git')
  git(['init', '-q', '--bare', atBase])
  git(['fetch', '-q', src, 'base:refs/heads/base'], { cwd: atBase })
  for (const f of fixtures) {
    const bundle = await readBundle(chunked(readFileSync(join(dir.path, f.file)), [1000]))
    const pack = await collect(bundle.pack)
    const into = bundle.prerequisites.length > 0 ? atBase : empty
    // bundle packs are thin: their deltas may name prerequisite objects
    const r = git(['index-pack', '--stdin', '--fix-thin'], { cwd: into, input: pack })
    t.match(r.stdout, /^pack\t[0-9a-f]{40}\n$/, `${f.name}: index-pack accepts the pack`)
  }
})

t.test('prerequisites carry the subject as comment; refs include HEAD and tags', async (t) => {
  const inc = await readBundle(chunked(readFileSync(join(dir.path, 'inc.bundle')), [4096]))
  t.same(inc.prerequisites, [{ oid: rev('base'), comment: 'second: a blob over 1k' }])
  t.same(inc.refs, [{ oid: rev('topic'), name: 'refs/heads/topic' }])
  const full = await readBundle(chunked(readFileSync(join(dir.path, 'full.bundle')), [4096]))
  t.same(
    full.refs.map((r) => r.name),
    ['refs/heads/base', 'refs/heads/main', 'refs/heads/topic', 'refs/tags/v1', 'HEAD'],
  )
  t.equal(full.refs.find((r) => r.name === 'refs/tags/v1')?.oid, rev('v1'), 'the tag object, not the commit')
})

t.test('any chunking gives the same header and the same pack bytes', async (t) => {
  for (const f of fixtures) {
    const bytes = readFileSync(join(dir.path, f.file))
    const whole = parseBundleHeader(bytes)
    for (const sizes of [[1], [2], [3], [7], [13, 1, 64], [4096], [bytes.length]]) {
      const bundle = await readBundle(chunked(bytes, sizes))
      t.same(headerOf(bundle), whole, `${f.file} in chunks of ${sizes.join(',')}`)
      t.ok((await collect(bundle.pack)).equals(bytes.subarray(bundle.headerLength)))
    }
  }
})

t.test('chunks may be plain Uint8Arrays', async (t) => {
  const bytes = readFileSync(join(dir.path, 'inc.bundle'))
  async function* plain(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += 100) yield new Uint8Array(bytes.subarray(i, i + 100))
  }
  const bundle = await readBundle(plain())
  t.equal(bundle.refs.length, 1)
  const pack = await collect(bundle.pack)
  t.ok(Buffer.isBuffer(pack) && pack.equals(bytes.subarray(bundle.headerLength)))
})

t.test('parseBundleHeader: undefined until the whole header is there', async (t) => {
  const bytes = readFileSync(join(dir.path, 'limit.bundle'))
  const full = parseBundleHeader(bytes)
  if (full === undefined) throw new Error('no header')
  for (let n = 0; n < full.headerLength; n++) {
    if (parseBundleHeader(bytes.subarray(0, n)) !== undefined) t.fail(`a header from ${n} bytes`)
  }
  t.same(parseBundleHeader(bytes.subarray(0, full.headerLength)), full, 'exactly the header is enough')
})

t.test('isBundleSignature', async (t) => {
  t.ok(isBundleSignature(Buffer.from('# v2 git bundle\n')))
  t.ok(isBundleSignature(Buffer.from('# v3 git bundle\nabc')))
  t.notOk(isBundleSignature(Buffer.from('# v2 git bundle')), 'without the LF')
  t.notOk(isBundleSignature(Buffer.from('# v4 git bundle\n')))
  t.notOk(isBundleSignature(Buffer.from('# V2 git bundle\n')))
  t.notOk(isBundleSignature(Buffer.alloc(0)))
  t.ok(isBundleSignature(readFileSync(join(dir.path, 'v3.bundle')).subarray(0, 16)))
})

t.test('the pack stream is lazy, read once, and closes the source when abandoned', async (t) => {
  const bytes = readFileSync(join(dir.path, 'full.bundle'))
  let pulled = 0
  let closed = false
  async function* source(): AsyncGenerator<Buffer> {
    try {
      for (let i = 0; i < bytes.length; i += 64) {
        pulled++
        yield bytes.subarray(i, i + 64)
      }
    } finally {
      closed = true
    }
  }
  const bundle = await readBundle(source())
  const afterHeader = pulled
  t.equal(afterHeader, Math.ceil(bundle.headerLength / 64), 'nothing read past the chunk that ends the header')
  const it = bundle.pack[Symbol.asyncIterator]()
  t.throws(() => bundle.pack[Symbol.asyncIterator](), BundleError, 'a second reader is refused')
  const first = await it.next()
  t.notOk(first.done)
  t.ok(first.value.equals(bytes.subarray(bundle.headerLength, afterHeader * 64)), 'first the tail of the header chunk')
  await it.return?.()
  t.ok(closed, 'the source was closed')
})

t.test('a header error closes the source', async (t) => {
  let closed = false
  async function* source(): AsyncGenerator<Buffer> {
    try {
      yield Buffer.from('# v2 git bundle\nnot a ref line\n')
      yield Buffer.alloc(10)
    } finally {
      closed = true
    }
  }
  await t.rejects(readBundle(source()), { code: 'E_BUNDLE', message: /bad ref line "not a ref line"/ })
  t.ok(closed)
})

function header(...lines: string[]): Buffer {
  return Buffer.from(lines.join(''), 'latin1')
}

async function rejectsBoth(t: Test, bytes: Buffer, message: RegExp, what: string): Promise<void> {
  t.throws(() => parseBundleHeader(bytes), { code: 'E_BUNDLE', message }, `${what} (parseBundleHeader)`)
  await t.rejects(readBundle(chunked(bytes, [1])), { code: 'E_BUNDLE', message }, `${what} (readBundle, 1-byte chunks)`)
}

const SIG2 = '# v2 git bundle\n'
const SIG3 = '# v3 git bundle\n'
const REF = `${OID_A} refs/heads/main\n`

t.test('hostile and malformed headers are refused with a clear message', async (t) => {
  // a stream is refused at the first byte that cannot begin a signature, so it quotes less
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not a bundle', header('bogus\n'), /^bundle header: not a v2 or v3 bundle \(it starts with "b(ogus)?"\)$/],
    ['an unknown version', header('# v4 git bundle\n', REF, '\n'), /not a v2 or v3 bundle \(it starts with "# v4( git bundle)?"\)/],
    ['a zip file, refused before any LF', header('PK\x03\x04\x14\x00'), /not a v2 or v3 bundle/],
    ['a signature with CRLF', header('# v2 git bundle\r\n', REF, '\n'), /not a v2 or v3 bundle \(it starts with "# v2 git bundle\\r"\)/],
    ['a bad object id', header(SIG2, `${'z'.repeat(40)} refs/heads/main\n`, '\n'), /bad ref line "z{40} refs\/heads\/main": no 40-hex object id/],
    ['a short object id', header(SIG2, `${'a'.repeat(39)} refs/heads/main\n`, '\n'), /bad ref line .*: no 40-hex object id/],
    ['an uppercase object id', header(SIG2, `${'A'.repeat(40)} refs/heads/main\n`, '\n'), /object id not in lowercase hex/],
    ['a SHA-256 id in a ref line', header(SIG2, `${'a'.repeat(64)} refs/heads/main\n`, '\n'), /bad ref line .*: a SHA-256 object id; tsgit reads SHA-1 bundles only/],
    ['a ref line without a name', header(SIG2, `${OID_A}\n`, '\n'), /bad ref line .*: nothing after the object id/],
    ['a ref line with a tab', header(SIG2, `${OID_A}\trefs/heads/main\n`, '\n'), /bad ref line .*: no space after the object id/],
    ['an empty ref name', header(SIG2, `${OID_A} \n`, '\n'), /bad ref name ""/],
    ['a ref name with ..', header(SIG2, `${OID_A} refs/heads/a..b\n`, '\n'), /^bundle header: bad ref name "refs\/heads\/a\.\.b"$/],
    ['a ref name ending .lock', header(SIG2, `${OID_A} refs/heads/x.lock\n`, '\n'), /bad ref name "refs\/heads\/x\.lock"/],
    ['a one-level ref name', header(SIG2, `${OID_A} main\n`, '\n'), /bad ref name "main"/],
    ['a ref name with a space', header(SIG2, `${OID_A} refs/heads/a b\n`, '\n'), /bad ref name "refs\/heads\/a b"/],
    ['a ref name with a CR inside', header(SIG2, `${OID_A} refs/heads/a\rb\n`, '\n'), /bad ref name "refs\/heads\/a\\rb"/],
    ['a ref name that is not UTF-8', header(SIG2, `${OID_A} refs/heads/\xff\n`, '\n'), /ref name in line .* is not UTF-8/],
    ['a line ending in CR', header(SIG2, `${OID_A} refs/heads/main\r\n`, '\n'), /line ".*\\r" ends in CR \(was the bundle converted to CRLF text\?\)/],
    ['a NUL in a line', header(SIG2, `${OID_A} refs/heads/ma\0in\n`, '\n'), /NUL byte in line ".*\\u0000in"/],
    ['a NUL in a comment', header(SIG2, `-${OID_B} sub\0ject\n`, REF, '\n'), /NUL byte in line/],
    ['a bad prerequisite', header(SIG2, `-${OID_B.slice(1)} subject\n`, REF, '\n'), /^bundle header: bad prerequisite line "-b{39} subject": no 40-hex object id$/],
    ['a prerequisite glued to its comment', header(SIG2, `-${OID_B}subject\n`, REF, '\n'), /bad prerequisite line "-b{40}subject": no space after the object id/],
    ['a prerequisite after a ref', header(SIG2, REF, `-${OID_B} x\n`, '\n'), /prerequisite line "-b{40} x" after the refs/],
    ['a capability in a v2 bundle', header(SIG2, '@object-format=sha1\n', REF, '\n'), /capability line "@object-format=sha1" in a v2 bundle/],
    ['a capability after a ref', header(SIG3, REF, '@object-format=sha1\n', '\n'), /capability line "@object-format=sha1" after prerequisites or refs/],
    ['an unknown capability', header(SIG3, '@object-format=sha1\n', '@frobnicate=yes\n', REF, '\n'), /^bundle header: unknown capability 'frobnicate'$/],
    ['an unknown capability without value', header(SIG3, '@shallow\n', REF, '\n'), /unknown capability 'shallow'/],
    ['a bad capability key', header(SIG3, '@bad key=1\n', REF, '\n'), /bad capability line "@bad key=1"/],
    ['a capability given twice', header(SIG3, '@object-format=sha1\n', '@object-format=sha1\n', REF, '\n'), /capability 'object-format' given twice/],
    ['sha256', header(SIG3, '@object-format=sha256\n', `${'a'.repeat(64)} refs/heads/main\n`, '\n'), /object format sha256 is not supported \(tsgit reads SHA-1 bundles only\)/],
    ['an unknown hash', header(SIG3, '@object-format=md5\n', REF, '\n'), /unrecognized bundle hash algorithm "md5"/],
    ['object-format without value', header(SIG3, '@object-format\n', REF, '\n'), /unrecognized bundle hash algorithm ""/],
    ['a bad filter', header(SIG3, '@filter=blob:nonsense\n', REF, '\n'), /bad filter capability "@filter=blob:nonsense": invalid filter-spec 'blob:nonsense'/],
    ['an empty filter', header(SIG3, '@filter=\n', REF, '\n'), /capability "@filter=" has no filter/],
  ]
  for (const [what, bytes, message] of cases) await rejectsBoth(t, bytes, message, what)
})

t.test('what the grammar allows is accepted', async (t) => {
  const head = header(
    SIG3,
    '@object-format=sha1\n',
    '@filter=combine:blob:none+tree:0\n',
    `-${OID_B}\n`,
    `-${OID_A} \n`,
    `-${OID_B} a  subject\twith\rodd spacing \n`,
    REF,
    `${OID_B} HEAD\n`,
    `${OID_A} refs/tags/\xc3\xbc\n`,
    '\n',
  )
  const h = parseBundleHeader(Buffer.concat([head, Buffer.from('PACK')]))
  t.same(
    h?.prerequisites,
    [
      { oid: OID_B, comment: '' },
      { oid: OID_A, comment: '' },
      { oid: OID_B, comment: 'a  subject\twith\rodd spacing ' },
    ],
    'the comment is optional and kept as written',
  )
  t.same(
    h?.refs.map((r) => r.name),
    ['refs/heads/main', 'HEAD', 'refs/tags/ü'],
  )
  t.equal(h?.filter?.kind, 'combine')
  t.equal(h?.headerLength, head.length)
  const bare = parseBundleHeader(header(SIG2, '\n'))
  t.same(bare?.refs, [], 'a header without refs parses (git refuses to write one, but it is well-formed)')
  t.equal(bare?.headerLength, 17)
})

t.test('a sha256 bundle made by git is refused as unsupported', async (t) => {
  const repo = join(dir.path, 'sha256')
  git(['init', '-q', '--object-format=sha256', '-b', 'main', repo])
  writeFileSync(join(repo, 'f'), 'x\n')
  git(['add', 'f'], { cwd: repo })
  git(['commit', '-q', '-m', 'c'], { cwd: repo })
  const file = join(dir.path, 'sha256.bundle')
  git(['bundle', 'create', '-q', file, 'main'], { cwd: repo })
  const bytes = readFileSync(file)
  t.ok(isBundleSignature(bytes), 'it is a bundle')
  await rejectsBoth(t, bytes, /object format sha256 is not supported/, 'sha256 bundle')
})

t.test('the header is bounded', async (t) => {
  const refs = Array.from({ length: 50 }, (_, i) => `${OID_A} refs/heads/b${i}\n`)
  const bytes = header(SIG2, ...refs, '\n')
  t.ok(parseBundleHeader(bytes, { maxHeaderBytes: bytes.length }), 'a header exactly at the byte cap')
  t.throws(() => parseBundleHeader(bytes, { maxHeaderBytes: bytes.length - 1 }), { code: 'E_BUNDLE', message: `bundle header: no blank line within the first ${bytes.length - 1} bytes (the header is capped)` })
  t.ok(parseBundleHeader(bytes, { maxHeaderLines: 50 }))
  t.throws(() => parseBundleHeader(bytes, { maxHeaderLines: 49 }), { code: 'E_BUNDLE', message: 'bundle header: more than 49 lines (the header is capped)' })

  // a server that streams ref lines forever is cut off at the cap, not at the end of memory
  let sent = 0
  async function* endless(): AsyncGenerator<Buffer> {
    yield Buffer.from(SIG2)
    const line = Buffer.from(`${OID_A} refs/heads/main\n`)
    const block = Buffer.concat(Array.from({ length: 1000 }, () => line))
    for (;;) {
      sent += block.length
      yield block
    }
  }
  await t.rejects(readBundle(endless(), { maxHeaderBytes: 1 << 20 }), { code: 'E_BUNDLE', message: /no blank line within the first 1048576 bytes/ })
  t.ok(sent < (1 << 20) + 100_000, 'stopped reading at the cap')

  // one endless line without LF is bounded the same way
  async function* oneLine(): AsyncGenerator<Buffer> {
    yield Buffer.from(`${SIG2}${OID_A} refs/heads/`)
    for (;;) yield Buffer.alloc(65536, 'a')
  }
  await t.rejects(readBundle(oneLine(), { maxHeaderBytes: 1 << 20 }), { code: 'E_BUNDLE', message: /no blank line within the first 1048576 bytes/ })

  // a non-bundle of any size is refused from its first bytes
  async function* huge(): AsyncGenerator<Buffer> {
    for (;;) yield Buffer.alloc(65536, 'x')
  }
  await t.rejects(readBundle(huge()), { code: 'E_BUNDLE', message: /not a v2 or v3 bundle/ })
})

t.test('data that ends inside the header is truncated, and worth a retry', async (t) => {
  const bytes = readFileSync(join(dir.path, 'inc.bundle'))
  const full = parseBundleHeader(bytes)
  if (full === undefined) throw new Error('no header')
  for (const n of [0, 5, 15, 16, 60, full.headerLength - 1]) {
    const cut = bytes.subarray(0, n)
    t.equal(parseBundleHeader(cut), undefined, `${n} bytes: more needed`)
    const e = await readBundle(chunked(cut, [3])).then(
      () => undefined,
      (err: unknown) => err,
    )
    t.ok(e instanceof BundleError, `${n} bytes: BundleError`)
    t.match(e, { code: 'E_BUNDLE', retryable: true, message: new RegExp(`^bundle header: truncated: the data ended after ${n} bytes, ${n < 16 ? 'inside the signature' : 'before the blank line'}`) })
  }
  // the header complete and the pack missing is not a header problem: the pack reader finds it
  const onlyHeader = await readBundle(chunked(bytes.subarray(0, full.headerLength), [7]))
  t.equal((await collect(onlyHeader.pack)).length, 0)
})
