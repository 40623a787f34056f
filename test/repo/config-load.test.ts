import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../lib/repo/config-load.js'
import { EMPTY_GLOBAL_CONFIG, git, tempDir } from '../fixtures/git.js'

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
