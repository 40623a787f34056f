import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../../lib/errors.js'
import { fromBinary, parseConfig, parseKey } from '../../lib/repo/config-parse.js'
import { git, tempDir } from '../fixtures/git.js'

t.test('parsing agrees with git config -l on tricky syntax', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const text =
    '\xef\xbb\xbf[s]\n\tk1 = a  b\t c   # comment\n\tk2 = "  q  " x "y"\n\tk3 = one \\\n two\n\tk4 = \\t\\n\\b\\"\\\\\n\tK5\n\tk6 =\n[s "a.b\\"c\\\\d"]\n\tx=1\r\n[S.Leg]\n\ty = 2\n'
  const path = join(d.path, 'c')
  writeFileSync(path, Buffer.from(text, 'latin1'))
  const expected = git(['config', '-l', '-z', '--file', path]).stdoutBuffer.toString('utf8')
  const { entries } = parseConfig(readFileSync(path).toString('latin1'), path)
  const actual = entries.map((e) => (e.value === null ? `${e.key}\0` : `${e.key}\n${e.value}\0`)).join('')
  t.equal(fromBinary(actual), expected)
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
    t.throws(() => parseConfig(readFileSync(path).toString('latin1'), path), new ConfigError(`bad config line ${m?.[1] ?? '?'} in file ${path}`), JSON.stringify(text))
  }
})

t.test('keys are split and made canonical as git does, and refused where git refuses them', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const keys = ['Sec.Key', 'Sec.Sub.Key', 'sec.Sub.With.Dots.KEY', 'a-b.c-d', 'remote.Origin.URL', 'nosection', 'a.', 'a.1b', 'a.b_c', 'a_b.c', 'a.b\nc.d', 'a. spaced sub .k']
  for (const key of keys) {
    const file = join(d.path, 'k')
    writeFileSync(file, '')
    const r = git(['config', '--file', file, '--add', key, 'v'], { allowFail: true })
    if (r.status === 0) {
      const canonical = git(['config', '--file', file, '--list', '--name-only']).stdout.trimEnd()
      t.equal(parseKey(key).key, canonical, `${JSON.stringify(key)} is ${JSON.stringify(canonical)}`)
    } else {
      t.throws(() => parseKey(key), ConfigError, `${JSON.stringify(key)} refused, as git does: ${r.stderr.trim()}`)
    }
  }
  t.match(parseKey('Sec.Sub.Key'), { section: 'sec', subsection: 'Sub', name: 'key', prefix: 'sec.Sub', rawPrefix: 'Sec.Sub', rawName: 'Key' }, 'the case given is kept for writing')
})
