import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigFile, parseBool, parseInteger } from '../../lib/repo/config.js'
import { loadConfig } from '../../lib/repo/config-load.js'
import { ConfigError } from '../../lib/errors.js'
import { EMPTY_GLOBAL_CONFIG, git, tempDir } from '../fixtures/git.js'

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

t.test('parsing agrees with git config -l on tricky syntax', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const text =
    '\xef\xbb\xbf[s]\n\tk1 = a  b\t c   # comment\n\tk2 = "  q  " x "y"\n\tk3 = one \\\n two\n\tk4 = \\t\\n\\b\\"\\\\\n\tK5\n\tk6 =\n[s "a.b\\"c\\\\d"]\n\tx=1\r\n[S.Leg]\n\ty = 2\n'
  const path = join(d.path, 'c')
  writeFileSync(path, Buffer.from(text, 'latin1'))
  const expected = git(['config', '-l', '-z', '--file', path]).stdoutBuffer.toString('utf8')
  const ours = ConfigFile.parse(readFileSync(path))
  const actual = ours
    .entries()
    .map((e) => (e.value === null ? `${e.key}\0` : `${e.key}\n${e.value}\0`))
    .join('')
  t.equal(actual, expected)
})

t.test('bad syntax is reported at the same line as git', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const bad = [
    '[core]\n\tx = "unterminated\n',
    '[core\n\tx = 1\n',
    '[core]\n\n\tx = \\q\n',
    '[core]\n\tx # y\n',
    '[a "b" ]\n',
    '[a "b"\n',
    '[]\n',
    '[core]\n\t1x = 2\n',
    '[a "b\n',
    '[core]\n\tok = 1\n\tx = a\\\n"b\n',
  ]
  for (const text of bad) {
    const path = join(d.path, 'bad')
    writeFileSync(path, text)
    const r = git(['config', '-l', '--file', path], { allowFail: true })
    const m = /bad config line (\d+) in file/.exec(r.stderr)
    t.ok(m, `git rejects ${JSON.stringify(text)}`)
    t.throws(() => ConfigFile.parse(readFileSync(path), path), new ConfigError(`bad config line ${m?.[1] ?? '?'} in file ${path}`), JSON.stringify(text))
  }
})

t.test('typed getters follow git', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const path = join(d.path, 'c')
  const values = ['true', 'yes', 'On', '1', '0', 'false', 'no', 'off', '', '10', '1k', '2M', '1g', '0x10', '010', '-3']
  values.forEach((v, i) => git(['config', '--file', path, `t.v${i}`, v]))
  git(['config', '--file', path, '--add', 't.implicit', 'x'])
  writeFileSync(path, readFileSync(path, 'utf8').replace('implicit = x', 'implicit'))
  const cfg = ConfigFile.parse(readFileSync(path))
  values.forEach((v, i) => {
    const b = git(['config', '--file', path, '--type=bool', `t.v${i}`], { allowFail: true })
    if (b.status === 0) t.equal(parseBool(cfg.get(`t.v${i}`) ?? null, 'k'), b.stdout === 'true\n', `bool ${v}`)
    else t.throws(() => parseBool(cfg.get(`t.v${i}`) ?? null, 'k'), ConfigError, `bool ${v} rejected`)
    const n = git(['config', '--file', path, '--type=int', `t.v${i}`], { allowFail: true })
    if (n.status === 0) t.equal(parseInteger(cfg.get(`t.v${i}`) ?? null, 'k'), Number(n.stdout.trim()), `int ${v}`)
    else t.throws(() => parseInteger(cfg.get(`t.v${i}`) ?? null, 'k'), ConfigError, `int ${v} rejected`)
  })
  const implicit = cfg.get('t.implicit')
  t.equal(implicit, null, 'a key without = has no value')
  t.equal(parseBool(implicit === undefined ? 'missing' : implicit, 't.implicit'), true)
  t.equal(git(['config', '--file', path, '--type=bool', 't.implicit']).stdout, 'true\n')
})

t.test('layered config: system, global, local, env, -c in order', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const gitDir = join(d.path, 'r.git')
  git(['init', '-q', '--bare', gitDir])
  const sys = join(d.path, 'system')
  const glob = join(d.path, 'global')
  writeFileSync(sys, '[x]\n\ta = sys\n\tm = s\n[remote "zeta"]\n\turl = z\n')
  writeFileSync(glob, '[x]\n\ta = global\n\tm = g\n')
  git(['config', '--file', join(gitDir, 'config'), 'x.m', 'l'])
  git(['config', '--file', join(gitDir, 'config'), 'remote.alpha.url', 'a'])
  const env = {
    GIT_CONFIG_SYSTEM: sys,
    GIT_CONFIG_GLOBAL: glob,
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'X.B',
    GIT_CONFIG_VALUE_0: 'count',
    GIT_CONFIG_PARAMETERS: "'x.c'='it'\\''s' 'x.m=param'",
  }
  const cfg = await loadConfig({ gitDir, env, cliConfig: ['x.d=cli', 'x.flag'] })
  const ours = cfg
    .entries()
    .map((e) => `${e.key}=${e.value ?? ''}`)
  // real git under the same environment (its own -c is appended to GIT_CONFIG_PARAMETERS)
  const r = git(['-c', 'x.d=cli', '-c', 'x.flag', 'config', '-l'], { cwd: gitDir, env: { ...env, GIT_CONFIG_NOSYSTEM: '' } })
  t.same(ours, r.stdout.trimEnd().split('\n').map((l) => (l.includes('=') ? l : `${l}=`)))
  t.equal(cfg.get('x.a'), 'global')
  t.equal(cfg.get('x.m'), 'param')
  t.equal(cfg.get('x.c'), "it's")
  t.equal(cfg.getBool('x.flag'), true)
  t.same(cfg.subsections('remote'), ['zeta', 'alpha'])

  await cfg.set('x.new', 'v')
  await cfg.add('x.m', 'second')
  t.equal(git(['config', '--file', join(gitDir, 'config'), '--get-all', 'x.m']).stdout, 'l\nsecond\n')
  t.equal(git(['config', '--file', join(gitDir, 'config'), 'x.new']).stdout, 'v\n')
  t.equal(cfg.get('x.new'), 'v')
})

t.test('a held lock refuses the write and changes nothing', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const gitDir = join(d.path, 'r.git')
  git(['init', '-q', '--bare', gitDir])
  const before = readFileSync(join(gitDir, 'config'))
  writeFileSync(join(gitDir, 'config.lock'), '')
  const cfg = await loadConfig({ gitDir, env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: EMPTY_GLOBAL_CONFIG } })
  await t.rejects(cfg.set('a.b', 'c'), { code: 'E_LOCK' })
  t.same(readFileSync(join(gitDir, 'config')), before)
})
