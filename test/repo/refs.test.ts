import t from 'tap'
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { RefStore, isValidRefName } from '../../lib/repo/refs.js'
import { NULL_OID } from '../../lib/oid.js'
import { git, tempDir } from '../fixtures/git.js'

/** A repository with two commits, a lightweight and an annotated tag. */
function fixture(t: { teardown: (fn: () => void) => void }): { dir: string; gitDir: string; c1: string; c2: string; tagObj: string } {
  const d = tempDir()
  t.teardown(d.cleanup)
  const dir = d.path
  git(['init', '-q', '-b', 'main', dir])
  git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: dir })
  const c1 = git(['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim()
  git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: dir })
  const c2 = git(['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim()
  git(['tag', '-a', '-m', 'v1', 'v1.0', c1], { cwd: dir })
  git(['tag', 'light', c2], { cwd: dir })
  git(['branch', 'feature/x', c1], { cwd: dir })
  const tagObj = git(['rev-parse', 'refs/tags/v1.0'], { cwd: dir }).stdout.trim()
  return { dir, gitDir: join(dir, '.git'), c1, c2, tagObj }
}

function listLocks(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (e.name.endsWith('.lock')) out.push(join(d, e.name))
    }
  }
  walk(dir)
  return out
}

t.test('ref names are accepted and rejected exactly as git check-ref-format', async (t) => {
  const names = [
    'refs/heads/main', 'refs/heads/feature/x', 'main', 'HEAD', 'refs/heads/a..b', 'refs/heads/.hidden', 'refs/heads/x.lock',
    'refs/heads/x.lock/y', 'refs/heads/a.', 'refs/heads/a b', 'refs/heads/a~1', 'refs/heads/a^', 'refs/heads/a:b', 'refs/heads/a?',
    'refs/heads/a*', 'refs/heads/a[b', 'refs/heads/a\\b', 'refs/heads//a', '/refs/heads/a', 'refs/heads/a/', 'refs/heads/a@{1}',
    '@', 'refs/heads/@', 'refs/heads/a@b', 'refs/heads/\x01x', 'refs/heads/\x7fx', 'refs/heads/ünï', 'refs/tags/v1.0', 'refs/heads/-dash',
    'refs/heads/a.lockx', 'refs/.x/y', 'refs/heads/a/.b', 'a/b', '', 'refs/heads/x.', 'refs/heads/{x}',
  ]
  for (const name of names) {
    for (const onelevel of [false, true]) {
      const args = ['check-ref-format', ...(onelevel ? ['--allow-onelevel'] : []), name]
      const expected = git(args, { allowFail: true }).status === 0
      t.equal(isValidRefName(name, { allowOnelevel: onelevel }), expected, `${JSON.stringify(name)} onelevel=${onelevel}`)
    }
  }
  for (const name of ['refs/heads/*', 'refs/*/x', 'refs/heads/a*b', 'refs/*/*']) {
    const expected = git(['check-ref-format', '--refspec-pattern', name], { allowFail: true }).status === 0
    t.equal(isValidRefName(name, { refspecPattern: true }), expected, `pattern ${name}`)
  }
})

t.test('packed-refs bytes equal what git pack-refs writes; reading loose and packed', async (t) => {
  const f = fixture(t)
  const store = new RefStore(f.gitDir)
  const loose = await store.list()
  t.same(loose.map((r) => r.name), git(['for-each-ref', '--format=%(refname)'], { cwd: f.dir }).stdout.trim().split('\n'))
  t.equal(await store.resolve('HEAD'), f.c2)
  t.equal(await store.readSymref('HEAD'), 'refs/heads/main')

  git(['pack-refs', '--all'], { cwd: f.dir })
  const gitBytes = readFileSync(join(f.gitDir, 'packed-refs'))
  const packed = await store.readPackedRefs()
  t.equal(packed.find((r) => r.name === 'refs/tags/v1.0')?.peeled, f.c1)
  t.equal(await store.resolve('refs/tags/v1.0'), f.tagObj)

  await store.writePackedRefs([...packed].reverse())
  t.same(readFileSync(join(f.gitDir, 'packed-refs')), gitBytes, 'byte-identical packed-refs')
  git(['fsck', '--no-progress'], { cwd: f.dir })
  const listed = await store.list('refs/tags/')
  t.same(listed.map((r) => `${r.oid} ${r.name}`).join('\n'), git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/tags/'], { cwd: f.dir }).stdout.trim())
})

t.test('transactions: git reads what we write; a failed one changes nothing and leaves no locks', async (t) => {
  const f = fixture(t)
  const store = new RefStore(f.gitDir, { logAllRefUpdates: true })
  const ident = { name: 'C O Mitter', email: 'committer@example.com', timestamp: 1112911993, tz: '-0700' }
  await store
    .transaction()
    .update('HEAD', f.c1, { oldOid: f.c2, reflog: { ident, message: 'reset: moving to one' } })
    .create('refs/remotes/origin/main', f.c2, { reflog: { ident, message: 'clone: from https://example.com/r.git' } })
    .commit()
  t.equal(git(['rev-parse', 'refs/heads/main'], { cwd: f.dir }).stdout.trim(), f.c1)
  t.equal(git(['rev-parse', 'refs/remotes/origin/main'], { cwd: f.dir }).stdout.trim(), f.c2)
  const remoteLog = readFileSync(join(f.gitDir, 'logs/refs/remotes/origin/main'), 'utf8')
  t.equal(remoteLog, `${NULL_OID} ${f.c2} C O Mitter <committer@example.com> 1112911993 -0700\tclone: from https://example.com/r.git\n`)
  t.match(git(['reflog', 'show', '--format=%gs', 'refs/remotes/origin/main'], { cwd: f.dir }).stdout, 'clone: from https://example.com/r.git')
  t.match(readFileSync(join(f.gitDir, 'logs/HEAD'), 'utf8'), `${f.c2} ${f.c1} C O Mitter <committer@example.com> 1112911993 -0700\treset: moving to one\n`)
  git(['fsck', '--no-progress'], { cwd: f.dir })

  git(['pack-refs', '--all'], { cwd: f.dir })
  const before = git(['for-each-ref'], { cwd: f.dir }).stdout
  const packedBefore = readFileSync(join(f.gitDir, 'packed-refs'))
  await t.rejects(
    store.transaction().update('refs/heads/main', f.c2).delete('refs/tags/light').update('refs/heads/feature/x', f.c2, { oldOid: f.c2 }).commit(),
    { code: 'E_REF' },
  )
  t.equal(git(['for-each-ref'], { cwd: f.dir }).stdout, before, 'every ref as it was')
  t.same(readFileSync(join(f.gitDir, 'packed-refs')), packedBefore)
  t.same(listLocks(f.gitDir), [], 'no lock files left')

  // a ref locked by someone else makes the whole transaction fail
  writeFileSync(join(f.gitDir, 'refs/heads/main.lock'), '')
  await t.rejects(store.transaction().update('refs/heads/feature/x', f.c2).update('refs/heads/main', f.c2).commit(), { code: 'E_REF' })
  t.equal(git(['rev-parse', 'refs/heads/feature/x'], { cwd: f.dir }).stdout.trim(), f.c1)
  t.same(listLocks(f.gitDir), [join(f.gitDir, 'refs/heads/main.lock')], 'only the foreign lock remains')

  // deleting a packed ref rewrites packed-refs; git agrees it is gone
  await store.transaction().delete('refs/tags/light', { oldOid: f.c2 }).commit()
  t.equal(git(['rev-parse', '--verify', '-q', 'refs/tags/light'], { cwd: f.dir, allowFail: true }).status, 1)
  t.equal(git(['rev-parse', 'refs/tags/v1.0^{}'], { cwd: f.dir }).stdout.trim(), f.c1)
})

t.test('setSymref writes HEAD the way git does', async (t) => {
  const f = fixture(t)
  const store = new RefStore(f.gitDir)
  await store.setSymref('HEAD', 'refs/heads/feature/x')
  t.equal(readFileSync(join(f.gitDir, 'HEAD'), 'utf8'), 'ref: refs/heads/feature/x\n')
  t.equal(git(['symbolic-ref', 'HEAD'], { cwd: f.dir }).stdout, 'refs/heads/feature/x\n')
  mkdirSync(join(f.gitDir, 'refs/remotes/origin'), { recursive: true })
  await store.setSymref('refs/remotes/origin/HEAD', 'refs/heads/main')
  t.equal(git(['rev-parse', 'refs/remotes/origin/HEAD'], { cwd: f.dir }).stdout.trim(), f.c2)
  t.equal(existsSync(join(f.gitDir, 'HEAD.lock')), false)
  await t.rejects(store.setSymref('HEAD', 'refs/heads/bad..name'), { code: 'E_REF' })
})
