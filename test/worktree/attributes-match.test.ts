/**
 * The attributes matcher answers what real `git check-attr` answers: precedence of
 * lines, files and info/attributes, anchoring, `**`, brackets, quoted patterns,
 * macros (and where they may be defined), negative and directory patterns.
 */
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AttributeMatcher, parseAttributes, wildmatchSource, type AttrValue } from '../../lib/worktree/attributes-match.js'
import { git, tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-attr-match-')
t.teardown(tmp.cleanup)

const tree = new Map<string, string>([
  [
    '',
    [
      '# comment',
      '*.txt text',
      '*.bat text eol=crlf',
      '*.bin binary',
      '[attr]winfile text eol=crlf',
      '[attr]outer winfile foo=outer',
      '*.win winfile',
      '*.out outer',
      'sub/*.x foo=anchored',
      '/top.y foo=top',
      '**/deep/** foo=deep',
      '"quoted name.q" foo=q',
      '"tab\\there" foo=tab',
      '!neg foo=neg',
      '*.later foo=1',
      '*.later foo=2',
      'mixed -foo foo',
      'dir/ foo=dir',
      '*.m binary text',
      '*.n text binary',
      '*.o -winfile',
      'file[!0-9].k foo=bracket',
      '[ab]?.c foo=ab',
      'a/**/z foo=az',
      '*.cr foo=cr\r',
      '*.unset foo',
      'x/*.unset !foo',
      '*.crlfx crlf',
      '*.neg2 -crlf',
    ].join('\n') + '\n',
  ],
  ['sub', '*.txt -text\n[attr]bad text\n*.bad bad\n*.z foo=sub\n'],
  ['sub/inner', '*.txt !text\n*.z foo=inner\n'],
])
const info = 'info.* foo=info\n*.z foo=info-wins\n'

const paths = [
  'a.txt', 'sub/a.txt', 'sub/inner/a.txt', 'sub/inner/deeper/a.txt', 'x.bat', 'sub/x.bat', 'y.bin', 'z.win', 'z.out', 'z.o',
  'sub/q.x', 'sub/deep/q.x', 'q.x', 'top.y', 'sub/top.y', 'a/deep/b/c', 'deep/c', 'quoted name.q', 'tab\there', 'neg', '!neg',
  'x.later', 'mixed', 'dir', 'dir/f', 'f.m', 'f.n', 'sub/f.bad', 'info.txt', 'sub/info.c', 'filea.k', 'file1.k', 'ab.c', 'bb.c', 'cb.c',
  'a/z', 'a/b/c/z', 'b/a/z', 'w.cr', 'x/y.unset', 'y.unset', 'f.crlfx', 'f.neg2', 'sub/f.z', 'sub/inner/f.z', 'f.z', 'sub/inner/x/f.z',
]
const names = ['text', 'eol', 'crlf', 'foo', 'diff', 'merge', 'winfile']

const work = join(tmp.path, 'repo')
git(['init', '-q', work])
for (const [dir, text] of tree) {
  mkdirSync(join(work, dir), { recursive: true })
  writeFileSync(join(work, dir, '.gitattributes'), text)
}
mkdirSync(join(work, '.git', 'info'), { recursive: true })
writeFileSync(join(work, '.git', 'info', 'attributes'), info)

/** git check-attr's answers, as the matcher's values. */
function gitAnswers(): Map<string, Record<string, AttrValue>> {
  const r = git(['check-attr', '-z', '--stdin', ...names], { cwd: work, input: paths.map((p) => `${p}\0`).join('') })
  const fields = r.stdout.split('\0')
  const out = new Map<string, Record<string, AttrValue>>()
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const [path, name, value] = [fields[i] as string, fields[i + 1] as string, fields[i + 2] as string]
    const rec = out.get(path) ?? {}
    rec[name] = value === 'set' ? true : value === 'unset' ? false : value === 'unspecified' ? undefined : value
    out.set(path, rec)
  }
  return out
}

t.test('the same answers as git check-attr', async (t) => {
  const expected = gitAnswers()
  const m = new AttributeMatcher({ tree, info })
  for (const p of paths) t.same(m.check(p, names), expected.get(p), p)
  // lines that set none of the attributes asked about are dropped; macros that reach them are kept
  const only = ['text', 'eol']
  const some = new AttributeMatcher({ tree, info }, only)
  for (const p of paths) {
    const e = expected.get(p) ?? {}
    t.same(some.check(p, only), { text: e.text, eol: e.eol }, `${p}, text and eol only`)
  }
})

t.test('lines skipped as git skips them', async (t) => {
  const f = parseAttributes('[attr]m text\n!x foo\n*.a b@d\n"open foo\nok foo\n', 'sub', false)
  t.same(f.skipped.map((s) => s.replace(/: .*/, '')), ['line 1', 'line 2', 'line 3', 'line 4'])
  t.equal(f.lines.length, 1)
})

t.test('wildmatch', async (t) => {
  const m = (p: string, s: string): boolean => new RegExp(wildmatchSource(p), 's').test(s)
  t.ok(m('**/a', 'a') && m('**/a', 'x/y/a') && !m('**/a', 'xa'))
  t.ok(m('a/**', 'a/b/c') && !m('a/**', 'b/a/c'))
  t.ok(m('a/**/b', 'a/b') && m('a/**/b', 'a/x/y/b'))
  t.ok(m('a*b', 'aXXb') && !m('a*b', 'a/b'))
  t.ok(m('a**b', 'aXb') && !m('a**b', 'a/b'), '** not between slashes is *')
  t.ok(m('[[:digit:]]x', '1x') && !m('[!a-c]', 'b') && m('[!a-c]', 'd') && !m('[!a]', '/'))
  t.ok(m('\\*', '*') && !m('\\*', 'a'))
  t.ok(m('a.b', 'a.b') && !m('a.b', 'axb'), 'regular expression characters are literal')
})

t.test('many paths: each directory stack built once', async (t) => {
  const m = new AttributeMatcher({ tree, info })
  const many: string[] = []
  for (let d = 0; d < 300; d++) for (let f = 0; f < 100; f++) many.push(`dir${d}/sub/f${f}.txt`)
  let crlf = 0
  for (const p of many) if (m.check(p, ['text', 'eol']).eol === 'crlf') crlf++
  t.equal(crlf, 0)
  t.same(m.check('dir3/sub/x.bat', ['eol']), { eol: 'crlf' })
})
