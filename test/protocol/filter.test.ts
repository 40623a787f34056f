import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../lib/errors.js'
import { combineFilterSpecs, filterToConfig, filterToWire, parseFilterSpec, parseGitUlong } from '../../lib/protocol/filter.js'
import { git, tempDir } from '../fixtures/git.js'

const dir = tempDir()
t.teardown(dir.cleanup)
const src = join(dir.path, 'src')
git(['init', '-q', src])
writeFileSync(join(src, 'a'), 'sparse\n')
git(['add', 'a'], { cwd: src })
git(['commit', '-q', '-m', 'one'], { cwd: src })
git(['config', 'uploadpack.allowFilter', 'true'], { cwd: src })

type Expect = { wire: string } | { error: string }

// Expected results derived from rev-list-options; the loop below also asks real git.
const table: Array<[string, Expect]> = [
  ['blob:none', { wire: 'blob:none' }],
  ['blob:limit=0', { wire: 'blob:limit=0' }],
  ['blob:limit=1k', { wire: 'blob:limit=1024' }],
  ['blob:limit=1K', { wire: 'blob:limit=1024' }],
  ['blob:limit=5m', { wire: 'blob:limit=5242880' }],
  ['blob:limit=1g', { wire: 'blob:limit=1073741824' }],
  ['blob:limit=0x10', { wire: 'blob:limit=16' }],
  ['blob:limit=010', { wire: 'blob:limit=8' }],
  ['blob:limit=+5', { wire: 'blob:limit=5' }],
  ['blob:limit= 5', { wire: 'blob:limit=5' }],
  ['blob:limit=18446744073709551615', { wire: 'blob:limit=18446744073709551615' }],
  ['blob:limit=17179869183g', { wire: `blob:limit=${17179869183n * 1024n ** 3n}` }],
  ['blob:limit=18446744073709551616', { error: "invalid filter-spec 'blob:limit=18446744073709551616'" }],
  ['blob:limit=17179869184g', { error: "invalid filter-spec 'blob:limit=17179869184g'" }],
  ['blob:limit=', { error: "invalid filter-spec 'blob:limit='" }],
  ['blob:limit=x', { error: "invalid filter-spec 'blob:limit=x'" }],
  ['blob:limit=1kb', { error: "invalid filter-spec 'blob:limit=1kb'" }],
  ['blob:limit=1t', { error: "invalid filter-spec 'blob:limit=1t'" }],
  ['blob:limit=-1', { error: "invalid filter-spec 'blob:limit=-1'" }],
  ['blob:limit=1 k', { error: "invalid filter-spec 'blob:limit=1 k'" }],
  ['blob:limit=08', { error: "invalid filter-spec 'blob:limit=08'" }],
  ['blob:limit=0x', { error: "invalid filter-spec 'blob:limit=0x'" }],
  ['blob:limit', { error: "invalid filter-spec 'blob:limit'" }],
  ['blob:nonsense', { error: "invalid filter-spec 'blob:nonsense'" }],
  ['blob:None', { error: "invalid filter-spec 'blob:None'" }],
  ['BLOB:none', { error: "invalid filter-spec 'BLOB:none'" }],
  ['blob:', { error: "invalid filter-spec 'blob:'" }],
  ['', { error: "invalid filter-spec ''" }],
  ['nonsense', { error: "invalid filter-spec 'nonsense'" }],
  ['blob:none+tree:1', { error: "invalid filter-spec 'blob:none+tree:1'" }],
  ['tree:0', { wire: 'tree:0' }],
  ['tree:3', { wire: 'tree:3' }],
  ['tree:1k', { wire: 'tree:1k' }],
  ['tree: 5', { wire: 'tree: 5' }],
  ['tree:0x10', { wire: 'tree:0x10' }],
  ['tree:x', { error: "expected 'tree:<depth>'" }],
  ['tree:', { error: "expected 'tree:<depth>'" }],
  ['tree:-1', { error: "expected 'tree:<depth>'" }],
  ['tree:5 ', { error: "expected 'tree:<depth>'" }],
  ['tree:99999999999999999999', { error: "expected 'tree:<depth>'" }],
  ['tree', { error: "invalid filter-spec 'tree'" }],
  ['object:type=blob', { wire: 'object:type=blob' }],
  ['object:type=tree', { wire: 'object:type=tree' }],
  ['object:type=commit', { wire: 'object:type=commit' }],
  ['object:type=tag', { wire: 'object:type=tag' }],
  ['object:type=foo', { error: "'foo' for 'object:type=<type>' is not a valid object type" }],
  ['object:type=', { error: "'' for 'object:type=<type>' is not a valid object type" }],
  ['object:type=Blob', { error: "'Blob' for 'object:type=<type>' is not a valid object type" }],
  ['object:type=blob ', { error: "'blob ' for 'object:type=<type>' is not a valid object type" }],
  ['object:type', { error: "invalid filter-spec 'object:type'" }],
  ['sparse:oid=HEAD:a', { wire: 'sparse:oid=HEAD:a' }],
  ['sparse:path=x', { error: 'sparse:path filters support has been dropped' }],
  ['sparse:oid', { error: "invalid filter-spec 'sparse:oid'" }],
  ['sparse:', { error: "invalid filter-spec 'sparse:'" }],
  ['combine:blob:none+tree:3', { wire: 'combine:blob:none+tree:3' }],
  ['combine:blob:none', { wire: 'combine:blob:none' }],
  ['combine:tree:2+blob:limit=1k', { wire: 'combine:tree:2+blob:limit=1k' }],
  ['combine:blob%3anone+tree%3A1', { wire: 'combine:blob%3anone+tree%3A1' }],
  ['combine:tree:1+combine:blob:none', { wire: 'combine:tree:1+combine:blob:none' }],
  ['combine:sparse:oid=HEAD%3aa', { wire: 'combine:sparse:oid=HEAD%3aa' }],
  ['combine:', { error: 'expected something after combine:' }],
  ['combine', { error: "invalid filter-spec 'combine'" }],
  ['combine:blob:none+', { error: "invalid filter-spec 'blob:none+'" }],
  ['combine:tree:1+', { error: "expected 'tree:<depth>'" }],
  ['combine:+tree:1', { error: "invalid filter-spec ''" }],
  ['combine:+', { error: "invalid filter-spec '+'" }],
  ['combine:blob:none++tree:1', { error: "invalid filter-spec ''" }],
  ['combine:bad%2', { error: "invalid filter-spec 'bad%2'" }],
  ['combine:%zz', { error: "invalid filter-spec '%zz'" }],
  ['combine:%41', { error: "invalid filter-spec 'A'" }],
  ['combine:tree%3ax', { error: "expected 'tree:<depth>'" }],
  ['combine:tree:1%2bblob:none', { error: "expected 'tree:<depth>'" }],
  ['combine:blob:none~tree:1', { error: "must escape char in sub-filter-spec: '~'" }],
  ['combine:a b', { error: "must escape char in sub-filter-spec: ' '" }],
  ['combine:tree:1+object:type=foo', { error: "'foo' for 'object:type=<type>' is not a valid object type" }],
]

t.test('filter specs: ours against the table and against real git', async (t) => {
  for (const [spec, expected] of table) {
    const real = git(['rev-list', '--objects', `--filter=${spec}`, '--all'], { cwd: src, allowFail: true })
    if ('wire' in expected) {
      const parsed = parseFilterSpec(spec)
      t.equal(filterToWire(parsed), expected.wire, `wire form of ${JSON.stringify(spec)}`)
      t.equal(real.status, 0, `git accepts ${JSON.stringify(spec)}: ${real.stderr}`)
    } else {
      t.throws(() => parseFilterSpec(spec), { constructor: UsageError, message: expected.error, exitCode: 129 }, `rejects ${JSON.stringify(spec)}`)
      t.equal(real.stderr, `fatal: ${expected.error}\n`, `git's message for ${JSON.stringify(spec)}`)
    }
  }
})

t.test('parsed structure', async (t) => {
  t.same(parseFilterSpec('blob:limit=2m'), { kind: 'blob:limit', limit: 2097152n, text: 'blob:limit=2m' })
  t.same(parseFilterSpec('object:type=tag'), { kind: 'object:type', objectType: 'tag', text: 'object:type=tag' })
  const c = parseFilterSpec('combine:tree%3a2+sparse:oid=x%20y')
  t.same(c, {
    kind: 'combine',
    text: 'combine:tree%3a2+sparse:oid=x%20y',
    filters: [
      { kind: 'tree', depth: 2n, text: 'tree:2' },
      { kind: 'sparse:oid', expression: 'x y', text: 'sparse:oid=x y' },
    ],
  })
  t.equal(parseGitUlong('7G'), 7n * 1024n ** 3n)
  t.equal(parseGitUlong('0-1'), undefined)
})

t.test('combineFilterSpecs validates each spec and rejects an empty list', async (t) => {
  t.throws(() => combineFilterSpecs([]), UsageError)
  t.throws(() => combineFilterSpecs(['blob:none', 'tree:x']), { message: "expected 'tree:<depth>'" })
  t.equal(filterToWire(combineFilterSpecs(['blob:limit=1k'])), 'blob:limit=1024')
})

/** Runs a real partial clone and returns what git sent as its filter line and stored in config. */
function realClone(filters: string[], name: string): { wire: string | undefined; config: string | undefined } {
  const dst = join(dir.path, name)
  const r = git(['clone', '-q', ...filters.map((f) => `--filter=${f}`), `file://${src}`, dst], {
    env: { GIT_TRACE_PACKET: '1' },
    allowFail: true,
  })
  const m = /clone> filter (.*)$/m.exec(r.stderr)
  // GIT_TRACE_PACKET shows unprintable bytes as octal escapes.
  const wire = m?.[1]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  if (r.status !== 0) return { wire, config: undefined }
  const cfg = git(['config', '--get', 'remote.origin.partialclonefilter'], { cwd: dst })
  return { wire, config: cfg.stdout.replace(/\n$/, '') }
}

t.test('wire and config forms match what git 2.39 sends and stores', async (t) => {
  const cases: string[][] = [
    ['blob:limit=1k'],
    ['blob:none'],
    ['tree:1k'],
    ['combine:tree:2+blob:limit=1k'],
    ['blob:none', 'tree:3', 'blob:limit=2k'],
    ['blob:limit=1k', 'tree:0'],
    ['blob:none', 'combine:tree:3+object:type=blob'],
    ['object:type=commit', 'tree:1', 'blob:none'],
  ]
  let i = 0
  for (const filters of cases) {
    const real = realClone(filters, `clone${i++}`)
    const spec = combineFilterSpecs(filters)
    t.equal(filterToWire(spec), real.wire, `wire for ${filters.join(' ')}`)
    t.equal(filterToConfig(spec), real.config, `config for ${filters.join(' ')}`)
  }
})

t.test('repeated filters percent-encode reserved characters like git', async (t) => {
  // The sparse blob does not exist, so the clone fails after sending its request: only the wire matters here.
  const filters = ['blob:none', "sparse:oid=a~b%c+d:\u00e9\x7fZ'`x y"]
  const real = realClone(filters, 'encoded')
  t.equal(filterToWire(combineFilterSpecs(filters)), real.wire)
  t.equal(real.wire, "combine:blob:none+sparse:oid=a%7eb%25c%2bd:%c3%a9\x7fZ%27%60x%20y")
})
