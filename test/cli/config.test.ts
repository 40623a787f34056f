/**
 * tsgit config against real git 2.39: the same commands in twin repositories must give
 * the same exit code, the same stdout and the same config file bytes (and the same
 * stderr where git's wording is the contract: invalid keys, multiple values).
 */
import t, { type Test } from 'tap'
import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-config-')
t.teardown(tmp.cleanup)

let n = 0
function twins(init = true): { real: string; ours: string } {
  const real = join(tmp.path, `real${n}`)
  const ours = join(tmp.path, `ours${n++}`)
  if (init) {
    git(['init', '-q', real])
    git(['init', '-q', ours])
  } else {
    mkdirSync(real)
    mkdirSync(ours)
  }
  return { real, ours }
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'latin1') : '<absent>'
}

interface Step {
  args: string[]
  /** Compare stderr too. */
  stderr?: boolean
  /** A file (relative to each twin) whose bytes must match afterwards; default .git/config. */
  file?: string
  env?: Record<string, string>
}

async function same(t: Test, dirs: { real: string; ours: string }, step: Step): Promise<void> {
  const label = step.args.join(' ')
  const g = git(step.args, { cwd: dirs.real, allowFail: true, env: step.env })
  const o = await tsgit(step.args, { cwd: dirs.ours, env: step.env })
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (ours said ${o.stderr.trim()})` : ''}`)
  t.equal(o.stdout, g.stdout, `${label}: stdout`)
  if (step.stderr === true) t.equal(o.stderr, g.stderr, `${label}: stderr`)
  const file = step.file ?? '.git/config'
  t.equal(read(join(dirs.ours, file)), read(join(dirs.real, file)), `${label}: ${file} bytes`)
}

t.test('get, set, add, unset, list and types in a repository, as git does', async (t) => {
  const d = twins()
  const steps: Step[] = [
    { args: ['config', 'core.bare'] },
    { args: ['config', 'user.name', 'Some One'] },
    { args: ['config', 'remote.origin.url', 'https://example.com/y.git'] },
    { args: ['config', '--add', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'] },
    { args: ['config', '--add', 'remote.origin.fetch', '+refs/tags/*:refs/tags/*'] },
    { args: ['config', 'remote.origin.fetch', 'z'], stderr: true },
    { args: ['config', 'remote.origin.fetch'] },
    { args: ['config', '--get', 'remote.origin.fetch'] },
    { args: ['config', '--get-all', 'remote.origin.fetch'] },
    { args: ['config', '--unset', 'remote.origin.fetch'], stderr: true },
    { args: ['config', '--unset', 'nope.x'], stderr: true },
    { args: ['config', '--unset-all', 'nope.x'], stderr: true },
    { args: ['config', '--unset-all', 'remote.origin.fetch'] },
    { args: ['config', '--get-all', 'remote.origin.fetch'] },
    { args: ['config', 'nope.x'], stderr: true },
    { args: ['config', '--get', 'nope.x'], stderr: true },
    { args: ['config', 'a.1b', 'v'], stderr: true },
    { args: ['config', 'a b.c', 'v'], stderr: true },
    { args: ['config', 'nosection', 'v'], stderr: true },
    { args: ['config', 'a.', 'v'], stderr: true },
    { args: ['config', 'a.1b'], stderr: true },
    { args: ['config', 'nosection'], stderr: true },
    { args: ['config', 'x.yes', 'yes'] },
    { args: ['config', '--bool', 'x.yes'] },
    { args: ['config', '--type=bool', 'x.yes'] },
    { args: ['config', '--type', 'bool', 'core.filemode'] },
    { args: ['config', 'x.n', '1k'] },
    { args: ['config', '--int', 'x.n'] },
    { args: ['config', '--type=int', 'x.n'] },
    { args: ['config', '--bool', 'x.flag', 'on'] },
    { args: ['config', '--int', 'x.size', '2m'] },
    { args: ['config', '--bool', '--int', 'x.n'] },
    { args: ['config', 'x.spaced', ' padded; value # "quoted" \\ '] },
    { args: ['config', 'x.spaced'] },
    { args: ['config', 'sec.SubSec.key', 'v1'] },
    { args: ['config', 'sec.SubSec.key', 'v2'] },
    { args: ['config', 'SEC.SubSec.KEY'] },
    { args: ['config', 'sec.subsec.key'] },
    { args: ['config', 'Sec.SubSec.key'] },
    { args: ['config', '--unset', 'user.name'] },
    { args: ['config', '--list'] },
    { args: ['config', '-l', '--show-origin'] },
    { args: ['-c', 'cmd.line=1', 'config', '--list', '--show-origin'] },
    { args: ['-c', 'cmd.line=1', 'config', 'cmd.line'] },
    { args: ['config'] },
  ]
  for (const step of steps) await same(t, d, step)
})

t.test('a key written without "=" is an implicit true', async (t) => {
  const d = twins()
  for (const dir of [d.real, d.ours]) appendFileSync(join(dir, '.git/config'), '[x]\n\tflag\n')
  for (const args of [['config', 'x.flag'], ['config', '--bool', 'x.flag'], ['config', '--list'], ['config', 'x.other', 'v']]) await same(t, d, { args })
})

t.test('outside a repository: --file and --global write, plain set is fatal', async (t) => {
  const d = twins(false)
  await same(t, d, { args: ['config', '--file', 'my.cfg', 'a.b', 'c'], file: 'my.cfg' })
  await same(t, d, { args: ['config', '-f', 'my.cfg', '--add', 'a.b', 'd'], file: 'my.cfg' })
  await same(t, d, { args: ['config', '--file', 'my.cfg', '--get-all', 'a.b'], file: 'my.cfg' })
  await same(t, d, { args: ['config', '--file', 'my.cfg', '--list', '--show-origin'], file: 'my.cfg' })
  await same(t, d, { args: ['config', '--file', 'my.cfg', '--unset-all', 'a.b'], file: 'my.cfg' })
  await same(t, d, { args: ['config', '--file', 'absent.cfg', '--unset', 'a.b'], file: 'absent.cfg' })
  await same(t, d, { args: ['config', 'a.b', 'c'], stderr: true, file: 'my.cfg' })
  await same(t, d, { args: ['config', 'a.b'], stderr: true, file: 'my.cfg' })
  await same(t, d, { args: ['config', '--local', 'a.b'], stderr: true, file: 'my.cfg' })
  // --global follows GIT_CONFIG_GLOBAL, relative to nothing: give each twin its own file
  for (const [dir, other] of [
    [d.real, 'g'],
    [d.ours, 'g'],
  ] as const) {
    const env = { GIT_CONFIG_GLOBAL: join(dir, other) }
    if (dir === d.real) git(['config', '--global', 'user.email', 'me@example.com'], { cwd: dir, env })
    else {
      const r = await tsgit(['config', '--global', 'user.email', 'me@example.com'], { cwd: dir, env })
      t.equal(r.status, 0, r.stderr)
    }
  }
  t.equal(read(join(d.ours, 'g')), read(join(d.real, 'g')), '--global file bytes')
  const r = await tsgit(['config', 'user.email'], { cwd: d.ours, env: { GIT_CONFIG_GLOBAL: join(d.ours, 'g') } })
  t.equal(r.stdout, 'me@example.com\n', 'reads the global file outside a repository')
})

t.test('what tsgit writes, git reads back', async (t) => {
  const d = twins()
  // git keeps the case a section or key was typed in when it writes it; tsgit lowercases it (same meaning)
  const mixed = await tsgit(['config', 'Sec.SubSec.Key', 'v1'], { cwd: d.ours })
  t.equal(mixed.status, 0)
  t.equal(git(['config', 'sec.SubSec.key'], { cwd: d.ours }).stdout, 'v1\n')
  const r = await tsgit(['config', 'remote.cache.promisor', 'true'], { cwd: d.ours })
  t.equal(r.status, 0)
  t.equal(git(['config', '--bool', 'remote.cache.promisor'], { cwd: d.ours }).stdout, 'true\n')
  t.equal(git(['fsck'], { cwd: d.ours, allowFail: true }).status, 0)
})
