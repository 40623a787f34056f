/**
 * The benchmark and the demo run a copy of the built CLI: it must hold everything the
 * package installs, or a clone that needs a part left out fails only in the benchmark.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { checkWithGit, cloneCommand, snapshotTsgit } from '../../bench/clients.js'
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

t.test("checkWithGit: fsck lines git's own clone has too are the repository's, not the client's", async (t) => {
  const tmp = tempDir('tsgit-check-')
  t.teardown(tmp.cleanup)
  const repo = join(tmp.path, 'r')
  git(['init', '-q', '-b', 'main', repo])
  git(['commit', '-q', '--allow-empty', '-m', 'c'], { cwd: repo })
  // A tag without a tagger line, like git.git's oldest tags: git fsck warns and exits 0.
  const head = git(['rev-parse', 'HEAD'], { cwd: repo }).stdout.trim()
  const tag = git(['hash-object', '-t', 'tag', '-w', '--stdin', '--literally'], { cwd: repo, input: `object ${head}\ntype commit\ntag old\n\nno tagger\n` }).stdout.trim()
  git(['update-ref', 'refs/tags/old', tag], { cwd: repo })
  const alone = checkWithGit(repo, false)
  t.equal(alone.fsck.ok, false, 'a warning is not clean')
  t.match(alone.fsck.detail, /missingTaggerEntry/)
  const shared = checkWithGit(repo, false, new Set(alone.fsckLines))
  t.equal(shared.fsck.ok, true, "the same warning on git's own clone: ok")
  t.match(shared.fsck.detail, /clean but for 1 lines/)
  t.equal(checkWithGit(repo, false, new Set(['warning in tag 0000: something else'])).fsck.ok, false, 'other lines do not excuse it')
})
