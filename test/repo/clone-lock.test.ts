/**
 * The lock of an unfinished clone: one process at a time; a resume after a killed try
 * clears the lock files that try left (a HEAD.lock would stop every resume), and only then.
 */
import t from 'tap'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { takeCloneLock } from '../../lib/repo/clone-lock.js'
import { tempDir } from '../fixtures/git.js'

t.test('one holder; a dead holder\'s lock and the locks it left go on resume', async (t) => {
  const tmp = tempDir('tsgit-clone-lock-')
  t.teardown(tmp.cleanup)
  const gitDir = join(tmp.path, '.git')
  mkdirSync(join(gitDir, 'refs', 'heads'), { recursive: true })
  mkdirSync(join(gitDir, 'objects', 'pack'), { recursive: true })
  const release = await takeCloneLock(gitDir, false)
  t.equal(existsSync(join(gitDir, 'clone-resume.lock')), true)
  // A holder that is alive (this process is, as far as another would see: use the parent).
  writeFileSync(join(gitDir, 'clone-resume.lock'), `${process.ppid}\n`)
  await t.rejects(takeCloneLock(gitDir, true), /another tsgit \(process \d+\) is working on this clone/)
  await release()
  t.notOk(existsSync(join(gitDir, 'clone-resume.lock')), 'released')

  // A holder that is gone, and the locks its kill left.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
  writeFileSync(join(gitDir, 'clone-resume.lock'), `${dead}\n`)
  for (const f of ['HEAD.lock', 'config.lock', 'refs/heads/main.lock', 'objects/pack/keep-me.lock']) writeFileSync(join(gitDir, f), '')
  const again = await takeCloneLock(gitDir, true)
  t.notOk(existsSync(join(gitDir, 'HEAD.lock')), 'HEAD.lock removed')
  t.notOk(existsSync(join(gitDir, 'config.lock')), 'config.lock removed')
  t.notOk(existsSync(join(gitDir, 'refs/heads/main.lock')), 'a ref lock removed')
  t.ok(existsSync(join(gitDir, 'objects/pack/keep-me.lock')), 'nothing under objects is touched')
  await again()

  // Not resuming (a fresh clone, its creator): nothing else is touched.
  writeFileSync(join(gitDir, 'HEAD.lock'), '')
  const fresh = await takeCloneLock(gitDir, false)
  t.ok(existsSync(join(gitDir, 'HEAD.lock')), 'a fresh clone takes the lock and leaves the rest')
  await fresh()
})
