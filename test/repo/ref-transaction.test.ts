import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NULL_OID } from '../../lib/oid.js'
import { RefStore } from '../../lib/repo/refs.js'
import { git } from '../fixtures/git.js'
import { listLocks, refFixture } from './ref-fixture.js'

t.test('transactions: git reads what we write; a failed one changes nothing and leaves no locks', async (t) => {
  const f = refFixture(t)
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

t.test('a transaction is used once; names and ids are checked when queued', async (t) => {
  const f = refFixture(t)
  const store = new RefStore(f.gitDir)
  const tx = store.transaction().update('refs/heads/main', f.c1)
  await tx.commit()
  t.throws(() => tx.update('refs/heads/main', f.c2), { code: 'E_REF', message: 'transaction already finished' })
  await t.rejects(tx.commit(), { code: 'E_REF', message: 'transaction already finished' })
  t.throws(() => store.transaction().update('refs/heads/a..b', f.c1), { code: 'E_REF', message: "refusing to update ref with bad name 'refs/heads/a..b'" })
  t.throws(() => store.transaction().update('refs/heads/x', 'nope'), { code: 'E_REF' })
  await t.rejects(store.transaction().update('HEAD', f.c2).update('refs/heads/main', f.c2).commit(), { code: 'E_REF', message: "multiple updates for ref 'refs/heads/main' not allowed" }, 'HEAD and the branch it points to are one ref')
  const aborted = store.transaction().update('refs/heads/main', f.c2)
  aborted.abort()
  await t.rejects(aborted.commit(), { code: 'E_REF' })
  t.equal(git(['rev-parse', 'refs/heads/main'], { cwd: f.dir }).stdout.trim(), f.c1, 'nothing after the first commit changed main')
  t.same(listLocks(f.gitDir), [])
})
