/**
 * Line endings on checkout as git writes them: a repository whose .gitattributes
 * cover `eol=crlf`, `text`, `binary`, `text=auto` (with binary-looking content and a
 * blob that already has CRLF), a macro, and a nested .gitattributes that overrides the
 * top one, cloned (full and blob:none over http) and switched by tsgit under several
 * core.autocrlf/core.eol settings: every file byte for byte what git's own clone and
 * checkout wrote, real `git status` clean and `git diff` empty in tsgit's clone, and
 * the partial clone's checkout still one fetch. A file too large to hold (streamed
 * from the pack otherwise) is converted too. A switch right after a checkout
 * compares CRLF files with the index through the attributes (they are not local
 * changes), and a real change of the same size still is one.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'
import { workTreeFiles } from '../fixtures/worktree-files.js'

/** Commits `files` (path to exact bytes, null to delete) on top of HEAD, bypassing git's own conversion. */
function commitExact(work: string, files: Record<string, string | null>, message: string): void {
  for (const [path, text] of Object.entries(files)) {
    if (text === null) {
      git(['rm', '-q', '--cached', '--', path], { cwd: work })
      continue
    }
    const oid = git(['hash-object', '-w', '--no-filters', '--stdin'], { cwd: work, input: Buffer.from(text, 'latin1') }).stdout.trim()
    git(['update-index', '--add', '--cacheinfo', `100644,${oid},${path}`], { cwd: work })
  }
  git(['commit', '-q', '-m', message], { cwd: work })
}

const bigText = Array.from({ length: 100_000 }, () => randomBytes(48).toString('base64')).join('\n') + '\n'

const srv = serveRepos(t, 'tsgit-eol-', async (root) => {
  const work = join(root, 'eol.work')
  git(['init', '-q', '-b', 'main', work])
  commitExact(
    work,
    {
      '.gitattributes': '* text=auto\n*.bat text eol=crlf\n*.txt text\n*.bin binary\n[attr]win text eol=crlf\n*.cmd win\n',
      'run.bat': '@echo off\necho run\n',
      'readme.txt': 'hello\nworld\n',
      'data.bin': 'a\nb\n',
      'looks-binary.dat': 'x\0\ny\n',
      'plain.c': 'int x;\nint y;\n',
      'already-crlf.c': 'a\r\nb\r\n',
      'mixed.c': 'a\r\nb\n',
      'go.cmd': 'go\n',
      'noeol.sh': 'echo a\necho b',
      'win/.gitattributes': '*.c eol=crlf\n*.bat -text\n',
      'win/x.c': 'int z;\n',
      'win/raw.bat': 'raw\nbat\n',
      'win/deep/z.c': 'deep\n',
      'win/deep/z.h': 'header\n',
      'lib/a.c': 'lib\n',
      // over the size a checkout streams from the pack (and hardly compressible): read whole to be converted
      'big.bat': bigText,
    },
    'first',
  )
  git(['checkout', '-q', '-b', 'other'], { cwd: work })
  commitExact(
    work,
    {
      'run.bat': '@echo off\necho other\n',
      'new/tool.bat': 'tool\n',
      'win/.gitattributes': '*.c eol=crlf\n*.h eol=crlf\n',
      'win/deep/z.h': 'header 2\n',
      'win/deep/w.h': 'w\n',
      'win/raw.bat': 'raw\nbat\nagain\n',
      'lib/a.c': null,
      'lib/b.c': 'b\n',
    },
    'other',
  )
  // the attributes of main, new blobs: a partial clone knows the line endings before their fetch
  git(['checkout', '-q', '-f', '-b', 'third', 'main'], { cwd: work })
  commitExact(work, { 'run.bat': '@echo off\necho third\n', 'win/new.c': 'int n;\n', 'new/more.txt': 'more\ntext\n' }, 'third')
  git(['checkout', '-q', '-f', 'main'], { cwd: work })
  git(['clone', '-q', '--bare', work, join(root, 'eol.git')])

  // no attributes at all: core.autocrlf alone decides
  const plain = join(root, 'plain.work')
  git(['init', '-q', '-b', 'main', plain])
  commitExact(plain, { 'a.txt': 'a\nb\n', 'crlf.txt': 'a\r\nb\r\n', 'mixed.txt': 'a\r\nb\n', 'nul.dat': 'a\0\nb\n', 'd/e.c': 'e\n' }, 'plain')
  git(['clone', '-q', '--bare', plain, join(root, 'plain.git')])
  git(['config', 'uploadpack.allowFilter', 'true'], { cwd: join(root, 'eol.git') })
})

/** What real git says about a work tree: status and diff, both empty when it is clean. */
async function gitSays(dir: string): Promise<string> {
  return (await gitAsync(['status', '--porcelain'], { cwd: dir })).stdout + (await gitAsync(['diff', '--stat'], { cwd: dir })).stdout
}

const settings: [string, string[]][] = [
  ['no configuration', []],
  ['core.autocrlf=true', ['core.autocrlf=true']],
  ['core.autocrlf=input', ['core.autocrlf=input']],
  ['core.eol=crlf', ['core.eol=crlf']],
]

for (const [label, config] of settings) {
  t.test(`clone and switch as git does: ${label}`, async (t) => {
    const url = srv.server.url('eol.git')
    const flags = config.flatMap((c) => ['--config', c])
    const theirs = srv.dest('git')
    await gitAsync(['clone', '-q', ...flags, url, theirs])
    const ours = srv.dest('tsgit')
    const r = await tsgit(['clone', '-q', ...flags, url, ours])
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stderr, '', 'no warning: the conversion is made')
    t.same(workTreeFiles(ours), workTreeFiles(theirs), 'every file as git wrote it')
    t.equal(await gitSays(ours), '', 'git status and git diff: clean')

    await gitAsync(['checkout', '-q', 'other'], { cwd: theirs })
    const co = await tsgit(['checkout', '-q', 'other'], { cwd: ours })
    t.equal(co.status, 0, co.stderr)
    t.same(workTreeFiles(ours), workTreeFiles(theirs), 'after a switch: the new tree\'s attributes, as git')
    t.equal(await gitSays(ours), '', 'git status clean after the switch')

    await gitAsync(['checkout', '-q', 'main'], { cwd: theirs })
    const back = await tsgit(['checkout', '-q', 'main'], { cwd: ours })
    t.equal(back.status, 0, back.stderr)
    t.same(workTreeFiles(ours), workTreeFiles(theirs), 'and back')
    t.equal(await gitSays(ours), '', 'git status clean')
  })
}

t.test('no attributes: core.autocrlf alone, as git', async (t) => {
  for (const config of [[], ['--config', 'core.autocrlf=true'], ['--config', 'core.autocrlf=input']]) {
    const url = srv.server.url('plain.git')
    const theirs = srv.dest('git')
    await gitAsync(['clone', '-q', ...config, url, theirs])
    const ours = srv.dest('plain')
    const r = await tsgit(['clone', '-q', ...config, url, ours])
    t.equal(r.status, 0, r.stderr)
    t.same(workTreeFiles(ours), workTreeFiles(theirs), config.join(' ') || 'no configuration')
    t.equal(await gitSays(ours), '')
  }
})

t.test('blob:none: files as git writes them, and the checkout still one fetch', async (t) => {
  const url = srv.server.url('eol.git')
  const theirs = srv.dest('git')
  await gitAsync(['clone', '-q', '--config', 'core.autocrlf=true', url, theirs])
  const ours = srv.dest('partial')
  const since = srv.server.requests.length
  const r = await tsgit(['clone', '-q', '--config', 'core.autocrlf=true', '--filter=blob:none', url, ours])
  t.equal(r.status, 0, r.stderr)
  t.equal(srv.fetches(since), 2, 'the clone\'s fetch and one for every blob of the checkout, .gitattributes among them')
  const blobFetch = srv.server.requests.slice(since).filter((q) => q.command === 'fetch')[1]
  const attributes = new Set(git(['ls-tree', '-r', 'HEAD'], { cwd: theirs }).stdout.split('\n').filter((l) => l.endsWith('\t.gitattributes') || l.endsWith('/.gitattributes')).map((l) => l.split(/\s+/)[2]))
  const wants = blobFetch?.args.filter((a) => a.startsWith('want ')).map((a) => a.slice(5)) ?? []
  t.ok(attributes.size > 0 && wants.slice(0, attributes.size).every((w) => attributes.has(w)), 'the attributes files are asked for first (files are written as they arrive once those are in)')
  t.same(workTreeFiles(ours), workTreeFiles(theirs))
  t.equal(await gitSays(ours), '', 'git status clean')

  const before = srv.server.requests.length
  const co = await tsgit(['checkout', '-q', 'other'], { cwd: ours })
  t.equal(co.status, 0, co.stderr)
  t.equal(srv.fetches(before), 1, 'the switch: one fetch')
  await gitAsync(['checkout', '-q', 'other'], { cwd: theirs })
  t.same(workTreeFiles(ours), workTreeFiles(theirs))

  // attributes present, blobs not: files written as they arrive, converted
  const third = srv.server.requests.length
  const again = await tsgit(['checkout', '-q', 'third'], { cwd: ours })
  t.equal(again.status, 0, again.stderr)
  t.equal(srv.fetches(third), 1, 'one fetch')
  await gitAsync(['checkout', '-q', 'third'], { cwd: theirs })
  t.same(workTreeFiles(ours), workTreeFiles(theirs))
  t.equal(await gitSays(ours), '')
})

t.test('a CRLF file checked out is no local change; a real change of the same size is', async (t) => {
  const ours = srv.dest('racy')
  const r = await tsgit(['clone', '-q', srv.server.url('eol.git'), ours])
  t.equal(r.status, 0, r.stderr)
  t.equal(readFileSync(join(ours, 'run.bat'), 'latin1'), '@echo off\r\necho run\r\n')
  // an index older than every file: no stat data is trusted, every file is hashed
  const index = join(ours, '.git', 'index')
  utimesSync(index, new Date(1_000_000_000_000), new Date(1_000_000_000_000))
  const co = await tsgit(['checkout', 'other'], { cwd: ours })
  t.equal(co.status, 0, co.stderr)
  t.notMatch(co.stdout, /^[MD]\t/m, 'no local change listed')
  t.equal(await gitSays(ours), '')

  writeFileSync(join(ours, 'run.bat'), '@echo off\r\necho RUN\r\n'.replace('RUN', 'OTH'))
  writeFileSync(join(ours, 'win', 'x.c'), 'int Z;\r\n')
  utimesSync(index, new Date(1_000_000_000_000), new Date(1_000_000_000_000))
  const refused = await tsgit(['checkout', 'main'], { cwd: ours })
  t.equal(refused.status, 1, 'refused: a local change would be lost')
  t.match(refused.stderr, /\trun\.bat\n/)
  const kept = await tsgit(['checkout', '-f', 'main'], { cwd: ours })
  t.equal(kept.status, 0, kept.stderr)
  t.equal(await gitSays(ours), '')
})

t.test('sparse checkout writes what comes in as git does', async (t) => {
  const url = srv.server.url('eol.git')
  const theirs = srv.dest('git')
  await gitAsync(['clone', '-q', '--sparse', url, theirs])
  await gitAsync(['sparse-checkout', 'set', 'win'], { cwd: theirs })
  const ours = srv.dest('sparse')
  const r = await tsgit(['clone', '-q', '--sparse', url, ours])
  t.equal(r.status, 0, r.stderr)
  const s = await tsgit(['sparse-checkout', 'set', 'win'], { cwd: ours })
  t.equal(s.status, 0, s.stderr)
  t.same(workTreeFiles(ours), workTreeFiles(theirs))
  t.equal(await gitSays(ours), '')
})

t.test('info/attributes over the tree, core.attributesFile under it', async (t) => {
  const url = srv.server.url('eol.git')
  const global = join(srv.tmp.path, 'global-attributes')
  writeFileSync(global, 'noeol.sh eol=crlf\n*.bat -text\n')
  const theirs = srv.dest('git')
  const ours = srv.dest('info')
  await gitAsync(['clone', '-q', '-n', url, theirs])
  const r = await tsgit(['clone', '-q', '-n', url, ours])
  t.equal(r.status, 0, r.stderr)
  for (const dir of [theirs, ours]) {
    mkdirSync(join(dir, '.git', 'info'), { recursive: true })
    writeFileSync(join(dir, '.git', 'info', 'attributes'), '*.c eol=crlf\n')
    git(['config', 'core.attributesFile', global], { cwd: dir })
  }
  await gitAsync(['checkout', '-q', 'main'], { cwd: theirs })
  const co = await tsgit(['checkout', '-q', 'main'], { cwd: ours })
  t.equal(co.status, 0, co.stderr)
  t.same(workTreeFiles(ours), workTreeFiles(theirs))
  t.equal(readFileSync(join(ours, 'plain.c'), 'latin1'), 'int x;\r\nint y;\r\n', 'info/attributes: CRLF where the tree says text=auto')
  t.equal(readFileSync(join(ours, 'noeol.sh'), 'latin1'), 'echo a\r\necho b', 'the global file sets what the tree leaves unset')
  t.equal(readFileSync(join(ours, 'run.bat'), 'latin1'), '@echo off\r\necho run\r\n', 'and not what the tree sets')
  t.equal(await gitSays(ours), '')
})
