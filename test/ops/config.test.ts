/**
 * The config operation on its own (the CLI's command line is test/cli/config.test.ts):
 * what each action returns, what it warns, how it refuses, and that what it writes is
 * what git writes and what git reads. Judged against real git 2.39 in twin repositories.
 */
import t from 'tap'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RepositoryError, UsageError } from '../../lib/errors.js'
import { ConfigCommandError, config, type ConfigOptions } from '../../lib/ops/config.js'
import type { ProgressSink } from '../../lib/events.js'
import { PINNED_ENV, git, tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-ops-config-')
t.teardown(tmp.cleanup)

let n = 0
function twins(): { real: string; ours: string } {
  const real = join(tmp.path, `real${n}`)
  const ours = join(tmp.path, `ours${n++}`)
  git(['init', '-q', real])
  git(['init', '-q', ours])
  return { real, ours }
}

function sink(): ProgressSink & { warnings: string[] } {
  const warnings: string[] = []
  return { warnings, progress() {}, remote() {}, info() {}, warn: (m) => void warnings.push(m) }
}

function run(cwd: string, options: ConfigOptions, s: ProgressSink = sink(), configOverrides: string[] = []) {
  return config({ cwd, env: { ...PINNED_ENV }, sink: s, configOverrides }, options)
}

const bytes = (dir: string): string => readFileSync(join(dir, '.git/config'), 'latin1')

t.test('set, add, get, get-all, unset: the same file bytes as git, values as git prints them', async (t) => {
  const d = twins()
  git(['config', 'user.name', 'Some One'], { cwd: d.real })
  t.same(await run(d.ours, { action: 'set', name: 'user.name', value: 'Some One' }), { exitCode: 0 })
  git(['config', '--add', 'remote.o.fetch', 'a'], { cwd: d.real })
  git(['config', '--add', 'remote.o.fetch', 'b'], { cwd: d.real })
  await run(d.ours, { action: 'add', name: 'remote.o.fetch', value: 'a' })
  await run(d.ours, { action: 'add', name: 'remote.o.fetch', value: 'b' })
  t.equal(bytes(d.ours), bytes(d.real), 'config bytes after set and add')

  t.same(await run(d.ours, { action: 'get', name: 'remote.o.fetch' }), { exitCode: 0, values: ['b'] }, 'get: the last value')
  t.same(await run(d.ours, { action: 'get-all', name: 'remote.o.fetch' }), { exitCode: 0, values: ['a', 'b'] })
  t.same(await run(d.ours, { action: 'get', name: 'no.such' }), { exitCode: 1, values: [] }, 'absent: exit 1, nothing')

  git(['config', 'x.flag', 'on'], { cwd: d.real })
  await run(d.ours, { action: 'set', name: 'x.flag', value: 'on' })
  t.same((await run(d.ours, { action: 'get', name: 'x.flag', type: 'bool' })).values, [git(['config', '--bool', 'x.flag'], { cwd: d.real }).stdout.trim()])
  await run(d.ours, { action: 'set', name: 'x.size', value: '2k', type: 'int' })
  git(['config', '--int', 'x.size', '2k'], { cwd: d.real })
  t.equal(bytes(d.ours), bytes(d.real), '--int stores the canonical number, as git')

  const s = sink()
  t.same(await run(d.ours, { action: 'unset', name: 'remote.o.fetch' }, s), { exitCode: 5 }, 'unset with several values: 5')
  t.same(s.warnings, ['remote.o.fetch has multiple values'])
  t.same(await run(d.ours, { action: 'unset', name: 'no.such' }), { exitCode: 5 }, 'nothing to unset: 5')
  t.same(await run(d.ours, { action: 'unset-all', name: 'remote.o.fetch' }), { exitCode: 0 })
  git(['config', '--unset-all', 'remote.o.fetch'], { cwd: d.real })
  t.equal(bytes(d.ours), bytes(d.real), 'config bytes after unset-all')
})

t.test('refusals carry git\'s exit status; usage and location errors are thrown as such', async (t) => {
  const d = twins()
  await run(d.ours, { action: 'add', name: 'a.b', value: '1' })
  await run(d.ours, { action: 'add', name: 'a.b', value: '2' })
  const s = sink()
  const several = await run(d.ours, { action: 'set', name: 'a.b', value: '3' }, s).catch((e: unknown) => e)
  t.ok(several instanceof ConfigCommandError, 'several values, one meant')
  t.equal((several as ConfigCommandError).exitCode, 5)
  t.same(s.warnings, ['a.b has multiple values'], 'warned first, as git')

  const missingName = await run(d.ours, { action: 'set', name: 'nosection', value: 'v' }).catch((e: unknown) => e)
  t.equal((missingName as ConfigCommandError).exitCode, 2, 'a key without a section: 2')
  t.equal((missingName as ConfigCommandError).message, git(['config', 'nosection', 'v'], { cwd: d.real, allowFail: true }).stderr.replace(/^error: /, '').trim())
  const badOnRead = await run(d.ours, { action: 'get', name: 'nosection' }).catch((e: unknown) => e)
  t.equal((badOnRead as ConfigCommandError).exitCode, 1, 'on a read, any bad key is 1')

  await t.rejects(run(d.ours, { action: 'list', file: 'x', global: true }), UsageError, 'one file at a time')
  const outside = join(tmp.path, 'outside')
  mkdirSync(outside)
  await t.rejects(run(outside, { action: 'set', name: 'a.b', value: 'c' }), RepositoryError, 'a write outside a repository needs a file')
  await t.rejects(run(outside, { action: 'get', name: 'a.b', local: true }), RepositoryError, '--local outside a repository')
})

t.test('list: every layer in order, with origins as git shows them; --file alone', async (t) => {
  const d = twins()
  for (const dir of [d.real, d.ours]) git(['config', 'user.name', 'U'], { cwd: dir })
  const listed = await run(d.ours, { action: 'list', showOrigin: true }, sink(), ['cmd.line=1'])
  const theirs = git(['-c', 'cmd.line=1', 'config', '--list', '--show-origin'], { cwd: d.real }).stdout
  const ours = (listed.variables ?? []).map((v) => `${v.origin ?? ''}\t${v.key}${v.value === null ? '' : `=${v.value}`}\n`).join('')
  t.equal(ours, theirs)

  git(['config', '--file', join(d.real, 'my.cfg'), 'a.b', 'c'])
  await run(d.ours, { action: 'set', name: 'a.b', value: 'c', file: 'my.cfg' })
  t.equal(readFileSync(join(d.ours, 'my.cfg'), 'latin1'), readFileSync(join(d.real, 'my.cfg'), 'latin1'), '--file is relative to cwd')
  t.same(await run(d.ours, { action: 'list', file: 'my.cfg', showOrigin: true }), { exitCode: 0, variables: [{ key: 'a.b', value: 'c', origin: 'file:my.cfg' }] })
})
