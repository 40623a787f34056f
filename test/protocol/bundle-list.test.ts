import t from 'tap'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BundleListError, UsageError } from '../../lib/errors.js'
import {
  classifyBundleUriContent,
  parseBundleList,
  resolveBundleUri,
  sameFilter,
  selectBundles,
  type BundleList,
} from '../../lib/protocol/bundle-list.js'
import { git, tempDir } from '../fixtures/git.js'

const dir = tempDir()
t.teardown(dir.cleanup)

// The example of technical/bundle-uri.adoc, as written there.
const DOC_EXAMPLE = `[bundle]
	version = 1
	mode = all
	heuristic = creationToken

[bundle "2022-02-09-1644442601-daily"]
	uri = https://bundles.example.com/git/git/2022-02-09-1644442601-daily.bundle
	creationToken = 1644442601

[bundle "2022-02-02-1643842562"]
	uri = https://bundles.example.com/git/git/2022-02-02-1643842562.bundle
	creationToken = 1643842562

[bundle "2022-02-09-1644442631-daily-blobless"]
	uri = 2022-02-09-1644442631-daily-blobless.bundle
	creationToken = 1644442631
	filter = blob:none

[bundle "2022-02-02-1643842568-blobless"]
	uri = /git/git/2022-02-02-1643842568-blobless.bundle
	creationToken = 1643842568
	filter = blob:none
`
const DOC_LIST_URI = 'https://bundles.example.com/git/git/'

const ids = (list: readonly { id: string }[]): string[] => list.map((b) => b.id)

function list(body: string, uri = 'https://h.example/lists/list'): BundleList {
  return parseBundleList(`[bundle]\n\tversion = 1\n\tmode = all\n${body}`, uri)
}

t.test("the design document's example", async (t) => {
  const l = parseBundleList(DOC_EXAMPLE, DOC_LIST_URI)
  t.equal(l.version, 1)
  t.equal(l.mode, 'all')
  t.equal(l.heuristic, 'creationToken')
  t.same(l.warnings, [])
  t.same(
    l.bundles.map((b) => [b.id, b.uri, b.creationToken, b.filter]),
    [
      ['2022-02-09-1644442601-daily', 'https://bundles.example.com/git/git/2022-02-09-1644442601-daily.bundle', 1644442601n, undefined],
      ['2022-02-02-1643842562', 'https://bundles.example.com/git/git/2022-02-02-1643842562.bundle', 1643842562n, undefined],
      // the two URIs the document spells out in full
      ['2022-02-09-1644442631-daily-blobless', 'https://bundles.example.com/git/git/2022-02-09-1644442631-daily-blobless.bundle', 1644442631n, 'blob:none'],
      ['2022-02-02-1643842568-blobless', 'https://bundles.example.com/git/git/2022-02-02-1643842568-blobless.bundle', 1643842568n, 'blob:none'],
    ],
  )
  t.equal(l.bundles[2]?.rawUri, '2022-02-09-1644442631-daily-blobless.bundle', 'the URI as written is kept')

  // a list URI naming a file resolves against its directory, as git strips the file name
  const named = parseBundleList(DOC_EXAMPLE, 'https://bundles.example.com/git/git/list.txt?token=1')
  t.same(
    named.bundles.map((b) => b.uri),
    l.bundles.map((b) => b.uri),
  )

  const full = selectBundles(l, undefined)
  if (full.mode !== 'all') throw new Error('mode')
  t.ok(full.byCreationToken)
  t.same(ids(full.download), ['2022-02-09-1644442601-daily', '2022-02-02-1643842562'], 'a full clone: newest first to download')
  t.same(ids(full.unbundle), ['2022-02-02-1643842562', '2022-02-09-1644442601-daily'], 'oldest first to unbundle')

  const blobless = selectBundles(l, 'blob:none')
  if (blobless.mode !== 'all') throw new Error('mode')
  t.same(ids(blobless.download), ['2022-02-09-1644442631-daily-blobless', '2022-02-02-1643842568-blobless'])
  t.same(ids(blobless.unbundle), ['2022-02-02-1643842568-blobless', '2022-02-09-1644442631-daily-blobless'])

  const treeless = selectBundles(l, 'tree:0')
  if (treeless.mode !== 'all') throw new Error('mode')
  t.same(treeless.download, [], 'no bundle for another filter')
})

t.test('relative URIs', async (t) => {
  const base = 'https://bundles.example.com/git/git/'
  t.equal(resolveBundleUri('x.bundle', base), 'https://bundles.example.com/git/git/x.bundle')
  t.equal(resolveBundleUri('/other/x.bundle', base), 'https://bundles.example.com/other/x.bundle')
  t.equal(resolveBundleUri('../x.bundle', base), 'https://bundles.example.com/git/x.bundle')
  t.equal(resolveBundleUri('sub/x.bundle', 'https://bundles.example.com/git/git'), 'https://bundles.example.com/git/sub/x.bundle', 'no trailing slash: the last segment is a file')
  t.equal(resolveBundleUri('https://cdn.example.net/x.bundle', base), 'https://cdn.example.net/x.bundle', 'a scheme makes it absolute')
  t.equal(resolveBundleUri('file:///srv/x.bundle', base), 'file:///srv/x.bundle')
  t.equal(resolveBundleUri('x.bundle', 'file:///srv/bundles/list'), 'file:///srv/bundles/x.bundle')
  t.equal(resolveBundleUri('/y/x.bundle', 'file:///srv/bundles/list'), 'file:///y/x.bundle')
  // git takes a plain path for --bundle-uri; its list's relative URIs are paths beside it
  t.equal(resolveBundleUri('x.bundle', '/srv/bundles/list'), '/srv/bundles/x.bundle')
  t.equal(resolveBundleUri('../x.bundle', 'srv/bundles/list'), 'srv/x.bundle')
  t.equal(resolveBundleUri('/abs/x.bundle', 'srv/bundles/list'), '/abs/x.bundle')
})

t.test('modes and the order without the heuristic', async (t) => {
  const body = `[bundle "c"]\n\turi = c.bundle\n\tcreationToken = 1\n[bundle "a"]\n\turi = a.bundle\n\tcreationToken = 3\n[bundle "b"]\n\turi = b.bundle\n\tcreationToken = 2\n`
  const all = selectBundles(list(body), undefined)
  t.same(all, { mode: 'all', byCreationToken: false, download: list(body).bundles, unbundle: list(body).bundles }, 'list order for both')

  const any = parseBundleList(`[bundle]\nversion=1\nmode=any\n${body}[bundle "f"]\nuri=f\nfilter=blob:none\nlocation = Europe\n`, 'https://h/l')
  t.equal(any.mode, 'any')
  const sel = selectBundles(any, undefined)
  t.same(sel.mode === 'any' && ids(sel.candidates), ['c', 'a', 'b'], 'any: the candidates in list order')
  const selF = selectBundles(any, 'blob:none')
  t.same(selF.mode === 'any' && selF.candidates.map((b) => [b.id, b.location]), [['f', 'Europe']])

  const unknownHeuristic = list(`\theuristic = newest-first\n${body}`)
  t.equal(unknownHeuristic.heuristic, undefined, 'an unknown heuristic is ignored')
  t.same(unknownHeuristic.warnings, [])
  const kept = list(`\theuristic = creationToken\n\theuristic = newest-first\n${body}`)
  t.equal(kept.heuristic, 'creationToken', 'and does not undo a known one')
  t.equal(list(`\theuristic = CreationToken\n${body}`).heuristic, undefined, 'the value is case-sensitive, as in git')
})

t.test('creationToken ordering', async (t) => {
  const body =
    `\theuristic = creationToken\n` +
    `[bundle "mid"]\n\turi = mid\n\tcreationToken = 9007199254740992\n` +
    `[bundle "none"]\n\turi = none\n` +
    `[bundle "max"]\n\turi = max\n\tcreationToken = 18446744073709551615\n` +
    `[bundle "mid2"]\n\turi = mid2\n\tcreationToken = 9007199254740993\n` +
    `[bundle "tie"]\n\turi = tie\n\tcreationToken = 9007199254740992\n` +
    `[bundle "bad"]\n\turi = bad\n\tcreationToken = 12abc\n` +
    `[bundle "big"]\n\turi = big\n\tcreationToken = 18446744073709551616\n` +
    `[bundle "neg"]\n\turi = neg\n\tcreationToken = -1\n`
  const l = list(body)
  t.equal(l.bundles.find((b) => b.id === 'max')?.creationToken, 18446744073709551615n)
  t.same(
    l.warnings,
    [
      "could not parse bundle list key creationToken with value '12abc'",
      "could not parse bundle list key creationToken with value '18446744073709551616'",
      "could not parse bundle list key creationToken with value '-1'",
    ],
    'bad tokens warn, as git does',
  )
  t.equal(l.bundles.find((b) => b.id === 'bad')?.creationToken, undefined)
  const sel = selectBundles(l, undefined)
  if (sel.mode !== 'all') throw new Error('mode')
  // 2^53 and 2^53+1 are one number as doubles; as bigints they sort apart
  t.same(ids(sel.download), ['max', 'mid2', 'mid', 'tie', 'none', 'bad', 'big', 'neg'], 'decreasing; ties and missing tokens (as 0) in list order')
  t.same(ids(sel.unbundle), ['none', 'bad', 'big', 'neg', 'mid', 'tie', 'mid2', 'max'], 'increasing; ties in list order')

  const again = list(`[bundle "x"]\n\turi = x\n\tcreationToken = 5\n\tcreationToken = nope\n`)
  t.equal(again.bundles[0]?.creationToken, 5n, 'an unparsable later value keeps the earlier one')
})

t.test('filters select bundles by meaning, not spelling', async (t) => {
  const l = list(
    `[bundle "full"]\n\turi = full\n` +
      `[bundle "lim"]\n\turi = lim\n\tfilter = blob:limit=1k\n` +
      `[bundle "none"]\n\turi = none\n\tfilter = blob:none\n` +
      `[bundle "comb"]\n\turi = comb\n\tfilter = combine:blob:none+tree:0\n` +
      `[bundle "broken"]\n\turi = broken\n\tfilter = blob:nonsense\n`,
  )
  t.same(l.warnings, ["bundle 'broken' has an unparsable filter 'blob:nonsense'; it will not be used"])
  const pick = (f: string | undefined): string[] => {
    const s = selectBundles(l, f)
    return s.mode === 'all' ? ids(s.download) : []
  }
  t.same(pick(undefined), ['full'], 'a full clone takes only unfiltered bundles')
  t.same(pick('blob:limit=1024'), ['lim'])
  t.same(pick('blob:limit=1k'), ['lim'])
  t.same(pick('blob:none'), ['none'])
  t.same(pick('combine:blob%3anone+tree:0'), ['comb'], 'percent-encoding in combine: does not matter')
  t.same(pick('tree:0'), [])
  t.throws(() => selectBundles(l, 'blob:nonsense'), UsageError, "the client's own filter must parse")

  t.ok(sameFilter(undefined, undefined))
  t.notOk(sameFilter(undefined, 'blob:none'))
  t.ok(sameFilter('tree:1k', 'tree:1024'))
  t.notOk(sameFilter('blob:nonsense', 'blob:nonsense'), 'an unparsable filter equals nothing')
})

t.test('unknown keys in the bundle section are ignored', async (t) => {
  const l = list(`\tfuture = yes\n[bundle "a"]\n\turi = a\n\tsomethingNew = 1\n\tlocation = Mars\n`)
  t.same(
    l.bundles.map((b) => [b.id, b.uri, b.location]),
    [['a', 'https://h.example/lists/a', 'Mars']],
  )
})

t.test('malformed lists are refused with a clear message', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['no version', '[bundle]\nmode = all\n[bundle "a"]\nuri = a\n', /^bundle list at 'https:\/\/h\/l' has no bundle\.version$/],
    ['no mode', '[bundle]\nversion = 1\n[bundle "a"]\nuri = a\n', /has no bundle\.mode$/],
    ['version 2', '[bundle]\nversion = 2\nmode = all\n', /unsupported bundle\.version 2 \(only 1 is known\) \(line 2\)/],
    ['version not a number', '[bundle]\nversion = one\nmode = all\n', /bad bundle\.version \(line 2\)/],
    ['version without value', '[bundle]\nversion\nmode = all\n', /bad bundle\.version/],
    ['an unknown mode', '[bundle]\nversion = 1\nmode = some\n', /bundle\.mode must be 'all' or 'any', not "some" \(line 3\)/],
    ['a mode in capitals', '[bundle]\nversion = 1\nmode = ALL\n', /bundle\.mode must be 'all' or 'any', not "ALL"/],
    ['a bundle without uri', '[bundle]\nversion = 1\nmode = all\n[bundle "a"]\ncreationToken = 1\n', /^bundle list at 'https:\/\/h\/l': bundle 'a' has no uri$/],
    ['two uris', '[bundle]\nversion = 1\nmode = all\n[bundle "a"]\nuri = a\nuri = b\n', /bundle 'a' has more than one uri \(line 6\)/],
    ['an empty uri', '[bundle]\nversion = 1\nmode = all\n[bundle "a"]\nuri =\n', /bundle 'a' has an empty uri/],
    ['a uri with a newline', '[bundle]\nversion = 1\nmode = all\n[bundle "a"]\nuri = "a\\nb"\n', /bundle 'a' has a uri with a space or control character: "a\\nb"/],
    ['a uri with a space', '[bundle]\nversion = 1\nmode = all\n[bundle "a"]\nuri = "a b"\n', /a uri with a space or control character/],
    ['an id with a dot', '[bundle]\nversion = 1\nmode = all\n[bundle "a.b"]\nuri = a\n', /bad bundle id "a\.b" \(only alphanumerics and '-' are allowed\)/],
    ['an id with an underscore', '[bundle]\nversion = 1\nmode = all\n[bundle "a_b"]\nuri = a\n', /bad bundle id "a_b"/],
    ['an id with a space', '[bundle]\nversion = 1\nmode = all\n[bundle "a b"]\nuri = a\n', /bad bundle id "a b"/],
    ['an empty id', '[bundle]\nversion = 1\nmode = all\n[bundle ""]\nuri = a\n', /bad bundle id ""/],
    ['a key outside the bundle section', '[bundle]\nversion = 1\nmode = all\n[core]\nx = 1\n', /key 'core\.x' is not in the bundle section \(line 5\)/],
    ['not config text', 'bogus\n', /key 'bogus' is not in the bundle section/],
    ['broken config syntax', '[bundle\nversion = 1\n', /^bundle list at 'https:\/\/h\/l': not a bundle list: bad config line 1 in file https:\/\/h\/l$/],
    ['a bundle', '# v2 git bundle\n\u0000\u0001PACK', /not a bundle list: bad config line/],
  ]
  for (const [what, text, message] of cases) {
    t.throws(() => parseBundleList(text, 'https://h/l'), { code: 'E_BUNDLE_LIST', message }, what)
  }
  t.throws(() => parseBundleList('[bundle]\nversion=1\nmode=all\n', 'https://h/l', { maxBytes: 10 }), { message: /larger than 10 bytes/ }, 'the size is capped')
  t.same(parseBundleList('[bundle]\nversion=1\nmode=all\n', 'https://h/l').bundles, [], 'an empty list is a list')
  t.type(new BundleListError('x'), Error)
})

t.test('classifyBundleUriContent', async (t) => {
  const repo = join(dir.path, 'repo')
  git(['init', '-q', '-b', 'main', repo])
  writeFileSync(join(repo, 'f'), 'x\n')
  git(['add', 'f'], { cwd: repo })
  git(['commit', '-q', '-m', 'c'], { cwd: repo })
  git(['bundle', 'create', '-q', join(dir.path, 'b.bundle'), 'main'], { cwd: repo })
  git(['bundle', 'create', '-q', '--version=3', join(dir.path, 'b3.bundle'), 'main'], { cwd: repo })
  const bundle = readFileSync(join(dir.path, 'b.bundle'))
  t.equal(classifyBundleUriContent(bundle), 'bundle')
  t.equal(classifyBundleUriContent(bundle.subarray(0, 16)), 'bundle', '16 bytes suffice')
  t.equal(classifyBundleUriContent(readFileSync(join(dir.path, 'b3.bundle')).subarray(0, 16)), 'bundle')
  t.equal(classifyBundleUriContent(Buffer.from(DOC_EXAMPLE)), 'list')
  t.equal(classifyBundleUriContent(Buffer.from('# a comment\n[bundle]\n\tmode = any\n')), 'list', 'classification does not validate the list')
  t.equal(classifyBundleUriContent(Buffer.from('bogus\n')), 'unknown', "t5558's non-bundle file")
  t.equal(classifyBundleUriContent(Buffer.alloc(0)), 'unknown')
  t.equal(classifyBundleUriContent(Buffer.from('# only a comment\n')), 'unknown')
  t.equal(classifyBundleUriContent(Buffer.from('[core]\n\tbare = true\n')), 'unknown')
  t.equal(classifyBundleUriContent(Buffer.from('[bundle]\nversion = 1\n[core]\nx = 1\n')), 'unknown')
  t.equal(classifyBundleUriContent(Buffer.from('# v2 git bun')), 'unknown', 'a cut-off signature')
  t.equal(classifyBundleUriContent(Buffer.from('<html><body>404</body></html>\n')), 'unknown')
  t.equal(classifyBundleUriContent(Buffer.from('[bundle]\n\0\n')), 'unknown', 'binary')
  t.equal(classifyBundleUriContent(new Uint8Array(Buffer.from('[bundle]\nversion = 1\n'))), 'list', 'a plain Uint8Array')
})

t.test('git 2.39 refuses the lists we refuse, and uses the ones we use', async (t) => {
  const src = join(dir.path, 'src')
  git(['init', '-q', '-b', 'main', src])
  writeFileSync(join(src, 'f'), 'x\n')
  git(['add', 'f'], { cwd: src })
  git(['commit', '-q', '-m', 'c'], { cwd: src })
  const bundleFile = join(dir.path, 'src.bundle')
  git(['bundle', 'create', '-q', bundleFile, 'main'], { cwd: src })
  const uri = `file://${bundleFile}`
  const head = '[bundle]\n\tversion = 1\n\tmode = all\n'
  const cases: Array<[string, string, boolean]> = [
    ['a plain list', `${head}[bundle "a"]\n\turi = ${uri}\n`, true],
    ['unknown keys', `${head}\tfuture = 1\n[bundle "a"]\n\turi = ${uri}\n\tnewKey = 2\n`, true],
    ['mode any', `[bundle]\n\tversion = 1\n\tmode = any\n[bundle "a"]\n\turi = ${uri}\n`, true],
    ['a key outside the bundle section', `${head}[core]\n\tx = 1\n[bundle "a"]\n\turi = ${uri}\n`, false],
    ['version 2', `[bundle]\n\tversion = 2\n\tmode = all\n[bundle "a"]\n\turi = ${uri}\n`, false],
    ['an unknown mode', `[bundle]\n\tversion = 1\n\tmode = some\n[bundle "a"]\n\turi = ${uri}\n`, false],
    ['two uris', `${head}[bundle "a"]\n\turi = ${uri}\n\turi = ${uri}\n`, false],
    ['not config', 'bogus\n', false],
  ]
  const listFile = join(dir.path, 'list')
  const dst = join(dir.path, 'dst')
  for (const [what, text, usable] of cases) {
    writeFileSync(listFile, text)
    rmSync(dst, { recursive: true, force: true })
    const r = git(['clone', '-q', `--bundle-uri=file://${listFile}`, src, dst])
    const gitUsed = git(['for-each-ref', 'refs/bundles/'], { cwd: dst }).stdout.length > 0
    t.equal(gitUsed, usable, `${what}: git ${usable ? 'uses' : 'refuses'} it`)
    if (!usable) t.match(r.stderr, /is not a bundle or bundle list/)
    let ours: boolean
    try {
      parseBundleList(text, `file://${listFile}`)
      ours = true
    } catch (e) {
      if (!(e instanceof BundleListError)) throw e
      ours = false
    }
    t.equal(ours, usable, `${what}: tsgit agrees`)
  }
})
