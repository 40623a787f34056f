/**
 * The benchmark and the demo run a copy of the built CLI: it must hold everything the
 * package installs, or a clone that needs a part left out fails only in the benchmark.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { cloneCommand, snapshotTsgit } from '../../bench/clients.js'
import { git, tempDir } from '../fixtures/git.js'
import { makeFarBaseRepo } from '../fixtures/packs.js'

t.test('the snapshot holds what package.json installs, and its clone resolves deltas on threads', async (t) => {
  const snapshot = snapshotTsgit()
  t.teardown(snapshot.cleanup)
  const root = dirname(dirname(snapshot.bin))
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }
  for (const entry of manifest.files) t.ok(existsSync(join(root, entry)), `${entry} is in the snapshot`)

  const far = makeFarBaseRepo()
  t.teardown(far.cleanup)
  const tmp = tempDir('tsgit-snapshot-clone-')
  t.teardown(tmp.cleanup)
  const dest = join(tmp.path, 'c')
  // pack.threads=2 sends the deltas git wrote far from their bases to the worker threads (dist/resolve-worker.js).
  const cmd = cloneCommand('tsgit', ['-q', '--no-checkout', '-c', 'pack.threads=2'], `file://${far.path}`, dest)
  const r = spawnSync(cmd.command, cmd.args, { env: cmd.env, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.equal(git(['fsck', '--strict'], { cwd: dest, allowFail: true }).status, 0, 'git fsck passes')
})
