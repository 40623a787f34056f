/**
 * End-of-line conversion against real git 2.39 as the oracle: blobs of every kind of
 * content (LF, CRLF, mixed, lone CR, NUL, no final newline, the non-printable
 * threshold, a trailing ^Z) under every attribute setting, checked out by git under
 * each core.autocrlf/core.eol setting, must be the bytes toWorkTree gives; and what
 * git hashes for a file (git add, through the path's attributes and with the index
 * at hand) must be what toGit gives, for the file as checked out and for every
 * other content written over it.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crlfAction, looksBinary, parseAutoCrlf, parseCoreEol, textStats, toGit, toWorkTree, type EolConfig } from '../../lib/worktree/eol.js'
import { git, tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-eol-')
t.teardown(tmp.cleanup)

const contents: Record<string, Buffer> = {
  lf: Buffer.from('a\nb\n'),
  crlf: Buffer.from('a\r\nb\r\n'),
  mixed: Buffer.from('a\r\nb\nc\n'),
  lonecr: Buffer.from('a\rb\nc\n'),
  nul: Buffer.from('a\0\nb\n'),
  noeol: Buffer.from('a\nb'),
  empty: Buffer.alloc(0),
  np127: Buffer.concat([Buffer.alloc(127, 'x'), Buffer.from('\x01\n')]),
  np128: Buffer.concat([Buffer.alloc(128, 'x'), Buffer.from('\x01\n')]),
  eof: Buffer.from('x\n\x1a'),
  del: Buffer.from('abc\x7f\n'),
  crend: Buffer.from('a\nb\r'),
}
const settings: Record<string, string> = {
  plain: '',
  text: 'text',
  textcrlf: 'text eol=crlf',
  eolcrlf: 'eol=crlf',
  eollf: 'eol=lf',
  auto: 'text=auto',
  autocrlf: 'text=auto eol=crlf',
  autolf: 'text=auto eol=lf',
  binary: 'binary',
  binaryeol: 'binary eol=crlf',
  crlf: 'crlf',
  crlfinput: 'crlf=input',
  nocrlf: '-crlf',
  textinput: 'text=input',
  crlfauto: 'crlf=auto',
}
const configs: [string, string][][] = [
  [],
  [['core.autocrlf', 'true']],
  [['core.autocrlf', 'input']],
  [['core.eol', 'crlf']],
  [['core.eol', 'lf']],
  [['core.autocrlf', 'true'], ['core.eol', 'lf']],
  [['core.autocrlf', 'input'], ['core.eol', 'crlf']],
  [['core.autocrlf', 'false'], ['core.eol', 'native']],
]

const src = join(tmp.path, 'src')
git(['init', '-q', src])
const attrs = Object.entries(settings).map(([dir, line]) => `${dir}/** ${line}`).join('\n') + '\n'
writeFileSync(join(src, '.gitattributes'), attrs)
git(['add', '.gitattributes'], { cwd: src })
const paths: string[] = []
for (const dir of Object.keys(settings)) {
  for (const [name, data] of Object.entries(contents)) {
    const oid = git(['hash-object', '-w', '--no-filters', '--stdin'], { cwd: src, input: data }).stdout.trim()
    git(['update-index', '--add', '--cacheinfo', `100644,${oid},${dir}/${name}`], { cwd: src })
    paths.push(`${dir}/${name}`)
  }
}
git(['commit', '-q', '-m', 'contents'], { cwd: src })

const blobId = (data: Buffer): string => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')

function eolConfigOf(cfg: [string, string][]): EolConfig {
  const get = (k: string): string | undefined => cfg.find(([key]) => key === k)?.[1]
  return { autocrlf: parseAutoCrlf(get('core.autocrlf')), eol: parseCoreEol(get('core.eol')) }
}

for (const cfg of configs) {
  const label = cfg.map(([k, v]) => `${k}=${v}`).join(' ') || 'no configuration'
  t.test(`checkout and hashing as git does: ${label}`, async (t) => {
    const dst = join(tmp.path, `dst-${configs.indexOf(cfg)}`)
    const flags = cfg.flatMap(([k, v]) => ['-c', `${k}=${v}`])
    git(['clone', '-q', ...cfg.flatMap(([k, v]) => ['--config', `${k}=${v}`]), src, dst])
    const config = eolConfigOf(cfg)
    const actions = new Map<string, ReturnType<typeof crlfAction>>()
    for (const p of paths) {
      const dir = p.slice(0, p.indexOf('/'))
      const line = settings[dir] as string
      const a: Record<string, boolean | string | undefined> = { text: undefined, crlf: undefined, eol: undefined }
      for (const w of line.split(' ').filter((x) => x !== '')) {
        if (w === 'binary') a.text = false
        else if (w.startsWith('-')) a[w.slice(1)] = false
        else if (w.includes('=')) a[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1)
        else a[w] = true
      }
      actions.set(p, crlfAction({ text: a.text, crlf: a.crlf, eol: a.eol }, config))
    }
    const wrong: string[] = []
    for (const p of paths) {
      const blob = contents[p.slice(p.indexOf('/') + 1)] as Buffer
      const ours = toWorkTree(blob, actions.get(p)!, config)
      const theirs = readFileSync(join(dst, p))
      if (!ours.equals(theirs)) wrong.push(`${p}: ${JSON.stringify(ours.toString('latin1'))} != git ${JSON.stringify(theirs.toString('latin1'))}`)
    }
    t.same(wrong, [], 'every file as git wrote it')

    // what git hashes for the file as written, and for each content written over it
    const variants: [string, (p: string) => Buffer][] = [
      ['as checked out', (p) => readFileSync(join(dst, p))],
      ...Object.entries(contents).map(([name, data]): [string, (p: string) => Buffer] => [name, () => data]),
    ]
    const hashWrong: string[] = []
    for (const [name, content] of variants) {
      const files = new Map(paths.map((p) => [p, content(p)]))
      for (const [p, data] of files) writeFileSync(join(dst, p), data)
      // git add hashes through the attributes, with the index at hand (text=auto looks at the blob there)
      git([...flags, 'add', '--', ...paths], { cwd: dst })
      const staged = new Map<string, string>()
      for (const l of git(['ls-files', '-s', '-z'], { cwd: dst }).stdout.split('\0')) {
        const m = /^\d+ ([0-9a-f]{40}) 0\t(.*)$/s.exec(l)
        if (m) staged.set(m[2] as string, m[1] as string)
      }
      git(['read-tree', 'HEAD'], { cwd: dst })
      paths.forEach((p) => {
        const blob = contents[p.slice(p.indexOf('/') + 1)] as Buffer
        const data = files.get(p) as Buffer
        const cleaned = toGit(data, actions.get(p)!)
        // git's has_crlf_in_index: a CRLF in a blob that does not look binary
        const st = textStats(blob)
        const indexHasCrlf = st.crlf > 0 && !looksBinary(st)
        const ours = cleaned.asIsIfIndexHasCr && indexHasCrlf ? blobId(data) : blobId(cleaned.data)
        if (ours !== staged.get(p)) hashWrong.push(`${p} (${name})`)
      })
    }
    t.same(hashWrong, [], 'every file hashed as git hashes it')
  })
}

t.test('the content heuristic', async (t) => {
  t.notOk(looksBinary(textStats(Buffer.from('a\tb\x1b\x08\x0c\n'))), 'tab, escape, backspace and form feed are printable')
  t.ok(looksBinary(textStats(Buffer.from('a\rb'))), 'a lone CR')
  t.ok(looksBinary(textStats(Buffer.from('a\0b'))), 'a NUL')
  t.notOk(looksBinary(textStats(Buffer.from('abc\n\x1a'))), 'a trailing ^Z')
})

t.test('configuration values', async (t) => {
  t.equal(parseAutoCrlf(undefined), 'false')
  t.equal(parseAutoCrlf(null), 'true', 'a bare key is true')
  t.equal(parseAutoCrlf('Yes'), 'true')
  t.equal(parseAutoCrlf('INPUT'), 'input')
  t.equal(parseAutoCrlf('0'), 'false')
  t.equal(parseCoreEol('native'), 'lf')
  t.equal(parseCoreEol('CRLF'), 'crlf')
  t.equal(parseCoreEol('bogus'), undefined)
})
