import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigFile } from '../../lib/repo/config-edit.js'
import { git, tempDir } from '../fixtures/git.js'

const TRICKY_VALUES = [
  'plain',
  'with spaces inside',
  ' leading space',
  'trailing space ',
  'has # hash',
  'has ; semi',
  'quote " inside',
  'back\\slash',
  'tab\there',
  'new\nline',
  '',
  'ünïcödé',
]

t.test('values written by real git are read back identically', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const file = join(d.path, 'cfg')
  TRICKY_VALUES.forEach((v, i) => git(['config', '--file', file, '--add', `sec.sub.with.dots "q\\b.key${i}`, v]))
  git(['config', '--file', file, '--add', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'])
  git(['config', '--file', file, '--add', 'remote.origin.fetch', '+refs/tags/*:refs/tags/*'])
  const cfg = ConfigFile.parse(readFileSync(file), file)
  TRICKY_VALUES.forEach((v, i) => t.equal(cfg.get(`sec.sub.with.dots "q\\b.key${i}`), v, `value ${JSON.stringify(v)}`))
  t.same(cfg.getAll('remote.origin.fetch'), ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'])
  t.same(cfg.subsections('sec'), ['sub.with.dots "q\\b'])
})

t.test('values we write are read back by real git, byte-identical to what git writes', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const theirs = join(d.path, 'theirs')
  const ours = ConfigFile.empty()
  TRICKY_VALUES.forEach((v, i) => {
    git(['config', '--file', theirs, `sec.Sub "x".key${i}`, v])
    ours.set(`sec.Sub "x".key${i}`, v)
  })
  t.equal(ours.toBuffer().toString('latin1'), readFileSync(theirs).toString('latin1'))
  const oursPath = join(d.path, 'ours')
  writeFileSync(oursPath, ours.toBuffer())
  TRICKY_VALUES.forEach((v, i) => {
    t.equal(git(['config', '--file', oursPath, '--get', `sec.Sub "x".key${i}`]).stdout, `${v}\n`)
  })
})

t.test('a sequence of edits produces the bytes git config produces', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  git(['init', '-q', '--bare', join(d.path, 'r.git')])
  const cfgPath = join(d.path, 'r.git', 'config')
  const start = readFileSync(cfgPath)
  const ours = ConfigFile.parse(start, cfgPath)
  const steps: { args: string[]; apply: (c: ConfigFile) => void }[] = [
    { args: ['remote.origin.url', 'https://example.com/r.git'], apply: (c) => c.set('remote.origin.url', 'https://example.com/r.git') },
    { args: ['--add', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'], apply: (c) => c.add('remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*') },
    { args: ['--add', 'remote.origin.fetch', '+refs/tags/*:refs/tags/*'], apply: (c) => c.add('remote.origin.fetch', '+refs/tags/*:refs/tags/*') },
    { args: ['extensions.partialClone', 'origin'], apply: (c) => c.set('extensions.partialClone', 'origin') },
    { args: ['remote.origin.tagOpt', '--no-tags'], apply: (c) => c.set('remote.origin.tagOpt', '--no-tags') },
    { args: ['Sec.SubSec.Key', 'v'], apply: (c) => c.set('Sec.SubSec.Key', 'v') },
    { args: ['sec.SubSec.otherKey', 'w'], apply: (c) => c.set('sec.SubSec.otherKey', 'w') },
    { args: ['core.repositoryformatversion', '1'], apply: (c) => c.set('core.repositoryformatversion', '1') },
    { args: ['remote.origin.promisor', 'true'], apply: (c) => c.set('remote.origin.promisor', 'true') },
    { args: ['remote.origin.partialclonefilter', 'blob:none'], apply: (c) => c.set('remote.origin.partialclonefilter', 'blob:none') },
    { args: ['remote.origin.partialCloneFilter', 'tree:0'], apply: (c) => c.set('remote.origin.partialCloneFilter', 'tree:0') },
    { args: ['branch.main.remote', 'origin'], apply: (c) => c.set('branch.main.remote', 'origin') },
    { args: ['--unset', 'remote.origin.promisor'], apply: (c) => void c.unset('remote.origin.promisor') },
    { args: ['--unset-all', 'branch.main.remote'], apply: (c) => void c.unsetAll('branch.main.remote') },
    { args: ['--rename-section', 'remote.origin', 'remote.upstream'], apply: (c) => void c.renameSection('remote.origin', 'remote.upstream') },
    { args: ['--remove-section', 'extensions'], apply: (c) => void c.removeSection('extensions') },
  ]
  for (const step of steps) {
    git(['config', '--file', cfgPath, ...step.args])
    step.apply(ours)
    t.equal(ours.toBuffer().toString('latin1'), readFileSync(cfgPath).toString('latin1'), `after git config ${step.args.join(' ')}`)
  }
})

t.test('edits keep comments, odd layout and legacy sections as git does', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const original =
    '# top comment\n[core]\n    bare = false ; trailing\n\tfilemode\n[branch.Foo]\n\tremote = origin\n[Remote "Up"] url = x\n; c\n[a]\n\tk = 1\n\tk = 2\n'
  const cases: { args: string[]; apply: (c: ConfigFile) => void }[] = [
    { args: ['core.bare', 'true'], apply: (c) => c.set('core.bare', 'true') },
    { args: ['branch.foo.merge', 'refs/heads/x'], apply: (c) => c.set('branch.foo.merge', 'refs/heads/x') },
    { args: ['remote.Up.url', 'y'], apply: (c) => c.set('remote.Up.url', 'y') },
    { args: ['remote.Up.fetch', 'z'], apply: (c) => c.set('remote.Up.fetch', 'z') },
    { args: ['--add', 'a.k', '3'], apply: (c) => c.add('a.k', '3') },
    { args: ['--unset-all', 'a.k'], apply: (c) => void c.unsetAll('a.k') },
    { args: ['--unset', 'core.filemode'], apply: (c) => void c.unset('core.filemode') },
    { args: ['new.key', 'v'], apply: (c) => c.set('new.key', 'v') },
  ]
  for (const step of cases) {
    const path = join(d.path, 'c')
    writeFileSync(path, original)
    git(['config', '--file', path, ...step.args])
    const ours = ConfigFile.parse(original)
    step.apply(ours)
    t.equal(ours.toBuffer().toString('latin1'), readFileSync(path).toString('latin1'), `git config ${step.args.join(' ')}`)
  }
  const parsed = ConfigFile.parse(original)
  t.equal(parsed.get('core.filemode'), null, 'key without = is implicit')
  t.equal(parsed.get('core.bare'), 'false')
  t.equal(parsed.get('branch.foo.remote'), 'origin', 'legacy subsection lowercased')
  t.equal(parsed.get('branch.Foo.remote'), undefined)
  t.equal(parsed.get('remote.Up.URL'), 'x', 'key on the header line, subsection case kept')
  t.equal(parsed.get('remote.up.url'), undefined)
  t.equal(parsed.get('a.k'), '2', 'last value wins')
})

t.test('load reads a missing file as empty; save writes through <file>.lock', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const path = join(d.path, 'config')
  const cfg = await ConfigFile.load(path)
  t.same(cfg.entries(), [], 'a missing file is an empty config')
  cfg.set('core.bare', 'true')
  await cfg.save()
  t.equal(git(['config', '--file', path, 'core.bare']).stdout, 'true\n')
  writeFileSync(`${path}.lock`, '')
  cfg.set('core.bare', 'false')
  await t.rejects(cfg.save(), { code: 'E_LOCK' }, 'a held lock refuses the write')
  t.equal(readFileSync(path, 'utf8'), '[core]\n\tbare = true\n', 'and the file is as it was')
})
