import t from 'tap'
import { UnsafePathError } from '../../lib/errors.js'
import { MODE_BLOB, MODE_SYMLINK } from '../../lib/odb/objects.js'
import { checkComponent, checkPath, checkPathBytes, isDotGitAlias, isDotGitmodulesAlias } from '../../lib/worktree/path-safety.js'

t.test('components that would escape the work tree or reach .git are refused', async (t) => {
  const unsafe = [
    '', '.', '..', '.git', '.GIT', '.Git', '.gIt', 'git~1', 'GIT~1',
    '.git.', '.git..', '.git ', '.git . ', '.git::$INDEX_ALLOCATION', '.git:stream', 'git~1:$DATA', 'GIT~1. ',
    '.g\u200cit', '.gI\u200cT', '\u200e.git', '.git\ufeff', '.\u206agit\u202e',
    'a/b', 'a\\b', '.git\\hooks', 'nul\0byte',
  ]
  for (const name of unsafe) {
    t.throws(() => checkComponent(name), UnsafePathError, JSON.stringify(name))
  }
  // whole paths take a shortcut for plain ASCII names: each of these refuses the path wherever it stands
  for (const name of unsafe.filter((n) => n !== '' && !n.includes('/'))) {
    for (const path of [name, `dir/${name}`, `dir/${name}/f`, `${name}/f`]) t.throws(() => checkPath(path, MODE_BLOB), UnsafePathError, JSON.stringify(path))
  }
  const err = t.throws(() => checkPath('dir/sub/.GIT/config')) as unknown
  t.ok(err instanceof UnsafePathError && err.path === 'dir/sub/.GIT/config' && err.message.includes('dir/sub/.GIT/config'), 'the error names the whole path')
})

t.test('ordinary names, and names that only look like .git, are fine', async (t) => {
  const safe = ['a', '.gitignore', '.gitmodules', '.git-blame-ignore', 'git', '.gitx', 'git~2', 'x.git', '..a', '...', '.Ňit', '. git', 'ünïcödé', 'a b', 'git~1x']
  for (const name of safe) t.doesNotThrow(() => checkComponent(name), JSON.stringify(name))
  t.doesNotThrow(() => checkPath('deep/er/.gitmodules', MODE_BLOB))
  t.notOk(isDotGitAlias('.gitmodules'))
})

t.test('.gitmodules and its NTFS/HFS aliases may not be symlinks (cases from git t0060)', async (t) => {
  const aliases = [
    '.gitmodules', '.Gitmodules', '.gitmoduleS', '.gitmodules ', '.gitmodules.', '.gitmodules. ', '.gitmodules . ', '.Gitmodules  .',
    'GITMOD~1', 'gitmod~1', 'GITMOD~2', 'gitmod~3', 'GITMOD~4', 'GITMOD~1 ', 'gitmod~2.', 'gitmod~4. ',
    'GI7EBA~1', 'gi7eba~9', 'GI7EB~10', 'GI7EB~99', 'GI7E~100', 'GI7E~999', '~1000000', '~9999999',
    '.gitmodules:$DATA', 'gitmod~4 . :$DATA', '.git\u200dmodules',
  ]
  const notAliases = [
    '.gitmodules x', '.gitmodules .x', ' .gitmodules', '..gitmodules', 'gitmodules', '.gitmodule', '.gitmodules x ',
    'GI7EBA~', 'GI7EBA~0', 'GI7EBA~~1', 'GI7EBA~X', 'Gx7EBA~1', 'GI7EBX~1', 'GI7EB~1', 'GI7EB~01', 'GI7EB~1X', '.gitmodules,:$DATA', 'gitmod~5',
  ]
  for (const name of aliases) {
    t.ok(isDotGitmodulesAlias(name), `alias ${JSON.stringify(name)}`)
    t.throws(() => checkPath(`sub/${name}`, MODE_SYMLINK), UnsafePathError)
  }
  for (const name of notAliases) t.notOk(isDotGitmodulesAlias(name), `not an alias ${JSON.stringify(name)}`)
  // A regular file by that name is the normal case.
  t.doesNotThrow(() => checkPath('.gitmodules', MODE_BLOB))
})

t.test('whole paths: empty components and leading or trailing slashes', async (t) => {
  for (const p of ['', '/etc/passwd', 'a//b', 'a/', 'a/./b', 'a/../../b']) t.throws(() => checkPath(p), UnsafePathError, JSON.stringify(p))
  t.doesNotThrow(() => checkPath('a/b/c'))
})

t.test('names that are not valid UTF-8 are refused', async (t) => {
  t.throws(() => checkPathBytes(Buffer.from([0x66, 0xff, 0x6f]), 'f?o'), UnsafePathError)
  t.doesNotThrow(() => checkPathBytes(Buffer.from('ünï', 'utf8'), 'ünï'))
})
