import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../../lib/errors.js'
import { expandPath, parseBool, parseInteger } from '../../lib/repo/config-value.js'
import { git, tempDir } from '../fixtures/git.js'

t.test('booleans and integers are read as git --type=bool and --type=int read them', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const path = join(d.path, 'c')
  const values = ['true', 'yes', 'On', '1', '0', 'false', 'no', 'off', '', '10', '1k', '2M', '1g', '0x10', '010', '-3', '1x', 'maybe', ' 7']
  values.forEach((v, i) => git(['config', '--file', path, `t.v${i}`, v]))
  values.forEach((v, i) => {
    const b = git(['config', '--file', path, '--type=bool', `t.v${i}`], { allowFail: true })
    if (b.status === 0) t.equal(parseBool(v, 'k'), b.stdout === 'true\n', `bool ${JSON.stringify(v)}`)
    else t.throws(() => parseBool(v, 'k'), ConfigError, `bool ${JSON.stringify(v)} rejected`)
    const n = git(['config', '--file', path, '--type=int', `t.v${i}`], { allowFail: true })
    if (n.status === 0) t.equal(parseInteger(v, 'k'), Number(n.stdout.trim()), `int ${JSON.stringify(v)}`)
    else t.throws(() => parseInteger(v, 'k'), ConfigError, `int ${JSON.stringify(v)} rejected`)
  })
  // A key written without `=` (null): true, and no integer.
  git(['config', '--file', path, 't.implicit', 'x'])
  writeFileSync(path, readFileSync(path, 'utf8').replace('implicit = x', 'implicit'))
  t.equal(git(['config', '--file', path, '--type=bool', 't.implicit']).stdout, 'true\n')
  t.equal(parseBool(null, 't.implicit'), true)
  t.throws(() => parseInteger(null, 't.implicit'), new ConfigError("missing value for 't.implicit'"))
  t.throws(() => parseInteger('9007199254740993', 'k'), /out of range/, 'beyond a safe integer')
})

t.test('paths: a leading ~ or ~/ is the home directory, as git --type=path reads it', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const path = join(d.path, 'c')
  for (const v of ['~/x/y', '~', '/abs', 'rel/x']) {
    git(['config', '--file', path, 'p.v', v])
    const want = git(['config', '--file', path, '--type=path', 'p.v'], { env: { HOME: '/home/someone' } }).stdout.trimEnd()
    t.equal(expandPath(v, 'p.v', '/home/someone'), want, v)
  }
  t.throws(() => expandPath('~/x', 'p.v', undefined), new ConfigError("failed to expand user dir in: '~/x'"), 'no home to expand to')
  t.throws(() => expandPath(null, 'p.v', '/h'), new ConfigError("missing value for 'p.v'"))
})
