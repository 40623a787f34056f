import t from 'tap'
import { compareRefNames, isPerWorktreeRef, isValidRefName } from '../../lib/repo/ref-name.js'
import { git, tempDir } from '../fixtures/git.js'

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

t.test('refs are ordered by their bytes, as git for-each-ref orders them', async (t) => {
  const d = tempDir()
  t.teardown(d.cleanup)
  git(['init', '-q', '-b', 'main', d.path])
  git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: d.path })
  const names = ['refs/heads/Zeta', 'refs/heads/alpha', 'refs/heads/a-b', 'refs/heads/a/b', 'refs/heads/a.b', 'refs/heads/ünï', 'refs/heads/z', 'refs/heads/É', 'refs/heads/中', 'refs/heads/😀', 'refs/heads/😀a', 'refs/heads/😁', 'refs/heads/Ａ', 'refs/heads/Ａ😀', 'refs/heads/Ａ中']
  for (const n of names) git(['update-ref', n, 'HEAD'], { cwd: d.path })
  const gits = git(['for-each-ref', '--format=%(refname)', 'refs/heads/'], { cwd: d.path }).stdout.trim().split('\n')
  t.same([...names, 'refs/heads/main'].sort(compareRefNames), gits)
})

t.test('per-worktree refs are git\'s: pseudo-refs and refs/bisect, refs/worktree, refs/rewritten', async (t) => {
  for (const name of ['HEAD', 'ORIG_HEAD', 'refs/bisect/bad', 'refs/worktree/x', 'refs/rewritten/y']) t.ok(isPerWorktreeRef(name), name)
  for (const name of ['refs/heads/main', 'refs/tags/v1', 'refs/remotes/origin/HEAD', 'refs/bisectx/a']) t.notOk(isPerWorktreeRef(name), name)
})
