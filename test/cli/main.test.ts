/**
 * tsgit's own options, judged against real git: `-C` stacks (each relative to the one
 * before, `..` taken after symbolic links as chdir does) and a directory that cannot be
 * entered is fatal with git's words, whatever the command.
 */
import t, { type Test } from 'tap'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-main-')
t.teardown(tmp.cleanup)
const top = tmp.path
// a/ is a repository with a subdirectory b/; b/ beside it is another repository
git(['init', '-q', join(top, 'a')])
git(['config', 'user.name', 'in a'], { cwd: join(top, 'a') })
mkdirSync(join(top, 'a', 'b'))
writeFileSync(join(top, 'a', 'f'), 'a file\n')
git(['init', '-q', join(top, 'b')])
git(['config', 'user.name', 'in b'], { cwd: join(top, 'b') })
symlinkSync(join(top, 'a', 'b'), join(top, 'link'))

async function same(t: Test, args: string[]): Promise<void> {
  const g = git(args, { cwd: top, allowFail: true })
  const o = await tsgit(args, { cwd: top })
  const label = args.join(' ')
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (ours said ${o.stderr.trim()})` : ''}`)
  t.equal(o.stdout, g.stdout, `${label}: stdout`)
  t.equal(o.stderr, g.stderr, `${label}: stderr`)
}

t.test('-C stacks: each is relative to the one before', async (t) => {
  await same(t, ['-C', 'a', '-C', 'b', 'config', 'user.name'])
  await same(t, ['-C', 'b', 'config', 'user.name'])
  await same(t, ['-C', join(top, 'b'), '-C', '../a', 'config', 'user.name'])
  await same(t, ['-C', 'a', '-C', join(top, 'b'), 'config', 'user.name'])
  await same(t, ['-C', '', '-C', 'a', '-C', '', 'config', 'user.name'])
  // chdir follows the link before `..`: link/.. is a/, not the top
  await same(t, ['-C', 'link/..', 'config', 'user.name'])
})

t.test('a directory -C cannot enter: git\'s fatal message and 128, before the command is looked at', async (t) => {
  await same(t, ['-C', join(top, 'nonexistent'), 'config', 'user.name'])
  await same(t, ['-C', 'a', '-C', 'nonexistent', 'config', 'user.name'])
  await same(t, ['-C', 'a/f', 'config', 'user.name'])
  await same(t, ['-C', 'nonexistent', 'frobnicate'])
  const r = await tsgit(['-C', 'nonexistent', 'fsck'], { cwd: top })
  t.equal(r.stderr, "fatal: cannot change to 'nonexistent': No such file or directory\n", 'not "not a git repository"')
})
