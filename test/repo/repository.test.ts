import t from 'tap'
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { initRepository, findRepository, Repository } from '../../lib/repo/repository.js'
import { LockFile, lockHeldMessage, writeFileAtomic } from '../../lib/repo/lock.js'
import { LockError } from '../../lib/errors.js'
import { EMPTY_GLOBAL_CONFIG, git, tempDir } from '../fixtures/git.js'

function tree(root: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      const rel = relative(root, p)
      if (rel === 'hooks' || rel.startsWith('hooks/')) continue
      out.push(e.isDirectory() ? `${rel}/` : rel)
      if (e.isDirectory()) walk(p)
    }
  }
  walk(root)
  return out.sort()
}

for (const bare of [false, true]) {
  t.test(`init matches git init (bare=${bare})`, async (t) => {
    const d = tempDir()
    t.teardown(d.cleanup)
    const theirs = join(d.path, 'theirs')
    const ours = join(d.path, 'ours')
    git(['init', '-q', ...(bare ? ['--bare'] : []), '-b', 'trunk', theirs])
    const loc = await initRepository(ours, { bare, initialBranch: 'trunk' })
    const tg = bare ? theirs : join(theirs, '.git')
    t.equal(loc.gitDir, bare ? ours : join(ours, '.git'))
    t.same(tree(loc.gitDir), tree(tg), 'same files and directories, hooks aside')
    for (const f of ['HEAD', 'config', 'description', 'info/exclude']) {
      t.same(readFileSync(join(loc.gitDir, f)), readFileSync(join(tg, f)), `${f} byte-identical`)
    }
    t.equal(git(['config', '-l', '--file', join(loc.gitDir, 'config')]).stdout, git(['config', '-l', '--file', join(tg, 'config')]).stdout)
    t.equal(statSync(join(loc.gitDir, 'config')).mode, statSync(join(tg, 'config')).mode)
    t.equal(git(['rev-parse', '--is-bare-repository'], { cwd: loc.gitDir }).stdout.trim(), String(bare))
    git(['fsck', '--no-progress'], { cwd: loc.gitDir })
  })
}

t.test('init refuses sha256 and bad branch names', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  await t.rejects(initRepository(join(d.path, 'a'), { objectFormat: 'sha256' }), { code: 'E_REPOSITORY', message: 'sha256 is not supported yet' })
  await t.rejects(initRepository(join(d.path, 'b'), { initialBranch: 'bad..name' }), { code: 'E_REPOSITORY' })
  t.equal(existsSync(join(d.path, 'b')), false)
})

t.test('discovery: .git dir, gitfile, bare, GIT_DIR/GIT_WORK_TREE', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const work = join(d.path, 'work')
  git(['init', '-q', work])
  mkdirSync(join(work, 'a/b'), { recursive: true })
  t.same(await findRepository(join(work, 'a/b')), { gitDir: join(work, '.git'), workTree: work, bare: false })

  const bare = join(d.path, 'bare.git')
  git(['init', '-q', '--bare', bare])
  t.same(await findRepository(join(bare, 'refs/heads')), { gitDir: bare, bare: true })

  const linked = join(d.path, 'linked')
  const sep = join(d.path, 'sep.git')
  git(['init', '-q', '--separate-git-dir', sep, linked])
  t.same(await findRepository(linked), { gitDir: sep, workTree: linked, bare: false })

  t.same(await findRepository(d.path, { GIT_DIR: bare, GIT_WORK_TREE: work }), { gitDir: bare, workTree: work, bare: false })
  await t.rejects(findRepository(d.path), { code: 'E_REPOSITORY' })

  const repo = await Repository.open(join(work, 'a'), { env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: EMPTY_GLOBAL_CONFIG }, cliConfig: ['user.name=X'] })
  t.equal(repo.objectsDir, join(work, '.git', 'objects'))
  t.equal(repo.config.get('user.name'), 'X')
  t.equal(repo.config.getBool('core.bare'), false)
  t.equal(await repo.refs.readSymref('HEAD'), 'refs/heads/master')
})

t.test('repository format: versions and extensions git accepts or rejects', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const cases: [string, string][] = [
    ['1', 'partialclone=origin'],
    ['1', 'objectformat=sha1'],
    ['1', 'worktreeconfig=true'],
    ['1', 'preciousobjects=true'],
    ['1', 'noop=true'],
    ['1', 'bogus=true'],
    ['0', 'bogus=true'],
    ['0', 'objectformat=sha1'],
    ['2', 'noop=true'],
  ]
  cases.forEach(([version, ext], i) => {
    const dir = join(d.path, `r${i}`)
    git(['init', '-q', '--bare', dir])
    const [k, v] = ext.split('=') as [string, string]
    git(['config', '--file', join(dir, 'config'), 'core.repositoryformatversion', version])
    git(['config', '--file', join(dir, 'config'), `extensions.${k}`, v])
  })
  for (let i = 0; i < cases.length; i++) {
    const dir = join(d.path, `r${i}`)
    const ok = git(['rev-parse', '--git-dir'], { cwd: dir, allowFail: true }).status === 0
    if (ok) await t.resolves(findRepository(dir), `accepted like git: ${cases[i]?.join(' ')}`)
    else await t.rejects(findRepository(dir), { code: 'E_REPOSITORY' }, `rejected like git: ${cases[i]?.join(' ')}`)
  }
  const sha = join(d.path, 'sha256')
  git(['init', '-q', '--bare', '--object-format=sha256', sha])
  await t.rejects(findRepository(sha), { message: 'sha256 is not supported yet' })
})

t.test('lock files', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const file = join(d.path, 'f')
  writeFileSync(file, 'old')
  const lock = await LockFile.acquire(file)
  await t.rejects(LockFile.acquire(file), new LockError(file, lockHeldMessage(file)))
  await t.rejects(writeFileAtomic(file, 'other'), { code: 'E_LOCK' })
  t.equal(readFileSync(file, 'utf8'), 'old', 'nothing changed while locked')
  await lock.write('new ')
  await lock.write('data')
  await lock.commit()
  await lock.commit()
  await lock.rollback()
  t.equal(readFileSync(file, 'utf8'), 'new data')
  t.equal(existsSync(`${file}.lock`), false)

  const l2 = await LockFile.acquire(file)
  await l2.write('discarded')
  await l2.rollback()
  await l2.rollback()
  t.equal(readFileSync(file, 'utf8'), 'new data')
  t.equal(existsSync(`${file}.lock`), false)
  await t.rejects(l2.commit(), { code: 'E_LOCK' })

  // git itself refuses while we hold the lock, with the same message
  const cfg = join(d.path, 'config')
  writeFileSync(cfg, '')
  const held = await LockFile.acquire(cfg)
  t.not(git(['config', '--file', cfg, 'a.b', 'c'], { allowFail: true }).status, 0)
  await held.rollback()

  // a wait that outlasts the holder succeeds
  const l3 = await LockFile.acquire(file)
  setTimeout(() => void l3.rollback(), 50)
  const l4 = await LockFile.acquire(file, { timeoutMs: 5000 })
  await l4.rollback()

  await writeFileAtomic(file, 'atomic', { mode: 0o600 })
  t.equal(readFileSync(file, 'utf8'), 'atomic')
  t.equal(statSync(file).mode & 0o777, 0o600)
})

t.test('a process that exits holding a lock leaves no lock file', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  const target = join(d.path, 'x')
  const lockModule = fileURLToPath(new URL('../../lib/repo/lock.js', import.meta.url))
  const script = `import { LockFile } from ${JSON.stringify(lockModule)}\nawait LockFile.acquire(${JSON.stringify(target)})\nprocess.exit(3)\n`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script])
  t.equal(r.status, 3)
  t.equal(existsSync(`${target}.lock`), false)
})
