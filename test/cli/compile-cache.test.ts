/**
 * The bin's compile cache (lib/cli/start.ts): written once per command after a run that
 * succeeded, taken back by the next run, replaced when V8 rejects it, and never read
 * from or written to where someone else could have put it.
 */
import t from 'tap'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { commandName } from '../../lib/cli/command-name.js'
import { compileCacheDir } from '../../lib/cli/start.js'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-compile-cache-')
t.teardown(tmp.cleanup)

let n = 0
function cacheDir(): string {
  return join(tmp.path, `cache-${++n}`)
}

function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : []
}

const repo = join(tmp.path, 'repo')
t.before(() => {
  git(['init', '-q', repo])
  writeFileSync(join(repo, 'f'), 'hello\n')
  git(['add', 'f'], { cwd: repo })
  git(['commit', '-q', '-m', 'one'], { cwd: repo })
})

t.test('the command is the first word after tsgit’s own options', async (t) => {
  t.equal(commandName(['clone', '--filter=blob:none', 'url']), 'clone')
  t.equal(commandName(['-C', 'clone', '-c', 'fsck=x', '--no-lazy-fetch', 'cat-file', '-p', 'HEAD']), 'cat-file')
  t.equal(commandName(['-Cdir', 'fsck']), 'fsck')
  t.equal(commandName(['--version']), undefined)
  t.equal(commandName([]), undefined)
  t.equal(commandName(['../../etc/passwd']), undefined, 'nothing that could be a path')
  t.equal(commandName(['Clone']), undefined)
})

t.test('where the cache goes', async (t) => {
  t.equal(compileCacheDir({ HOME: '/home/u' }, 'linux'), '/home/u/.cache/tsgit')
  t.equal(compileCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/x' }, 'linux'), '/x/tsgit')
  t.equal(compileCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: 'relative' }, 'linux'), '/home/u/.cache/tsgit', 'a relative XDG_CACHE_HOME is ignored, as the XDG spec says')
  t.equal(compileCacheDir({ HOME: '/home/u', TSGIT_COMPILE_CACHE: '/c' }, 'linux'), '/c')
  for (const off of ['0', '', 'off', 'false']) t.equal(compileCacheDir({ HOME: '/home/u', TSGIT_COMPILE_CACHE: off }, 'linux'), undefined, `TSGIT_COMPILE_CACHE=${off}`)
  t.equal(compileCacheDir({ HOME: '/home/u', TSGIT_COMPILE_CACHE: 'rel/dir' }, 'linux'), undefined)
  t.equal(compileCacheDir({}, 'linux'), undefined)
  t.equal(compileCacheDir({ HOME: '/home/u' }, 'win32'), undefined)
})

t.test('a successful run writes its command’s cache; the next run takes it and leaves it alone', async (t) => {
  const dir = cacheDir()
  const env = { TSGIT_COMPILE_CACHE: dir }
  const first = await tsgit(['cat-file', '-p', 'HEAD:f'], { cwd: repo, env })
  t.equal(first.status, 0)
  t.equal(first.stdout, 'hello\n')
  const written = files(dir)
  t.equal(written.length, 1)
  t.match(written[0], /^cat-file-.*\.v8$/)
  const path = join(dir, written[0] as string)
  const st = statSync(path)
  t.equal(st.mode & 0o777, 0o600, 'readable by its owner only')
  t.equal(statSync(dir).mode & 0o777, 0o700)
  t.ok(st.size > 10_000, 'holds the compiled code')
  const bytes = readFileSync(path)

  const second = await tsgit(['cat-file', '-p', 'HEAD:f'], { cwd: repo, env })
  t.equal(second.stdout, 'hello\n')
  t.ok(readFileSync(path).equals(bytes), 'accepted: not written again')
  t.same(files(dir), written, 'no temporary file left')

  const other = await tsgit(['rev-list', 'HEAD'], { cwd: repo, env })
  t.equal(other.status, 0)
  t.equal(files(dir).length, 2, 'each command has its own')
})

t.test('a run that fails writes nothing', async (t) => {
  const dir = cacheDir()
  const r = await tsgit(['cat-file', '-p', 'no-such-object'], { cwd: repo, env: { TSGIT_COMPILE_CACHE: dir } })
  t.not(r.status, 0)
  t.same(files(dir), [])
})

t.test('a file V8 rejects is ignored and replaced', async (t) => {
  const dir = cacheDir()
  const env = { TSGIT_COMPILE_CACHE: dir, TSGIT_DEBUG: '1' }
  const first = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })
  t.match(first.stderr, /compile cache: none .*\n.*compile cache: written /s)
  const [name] = files(dir)
  const path = join(dir, name as string)
  t.match((await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })).stderr, `compile cache: used ${path}`)
  const good = readFileSync(path)
  // Same size, other bytes: V8's own checks (magic number, version, flags, length) fail.
  writeFileSync(path, Buffer.alloc(good.length, 0x5a), { mode: 0o600 })
  const r = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })
  t.equal(r.status, 0)
  t.equal(r.stdout, 'commit\n')
  t.match(r.stderr, `compile cache: rejected ${path}`)
  const now = readFileSync(path)
  t.not(now[0], 0x5a, 'replaced by a cache V8 wrote')
  t.match((await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })).stderr, `compile cache: used ${path}`)
})

t.test('nothing is taken from a directory or a file others can write', async (t) => {
  const dir = cacheDir()
  mkdirSync(dir, { mode: 0o700 })
  chmodSync(dir, 0o777)
  const env = { TSGIT_COMPILE_CACHE: dir, TSGIT_DEBUG: '1' }
  const r = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })
  t.equal(r.status, 0)
  t.match(r.stderr, /compile cache: not used: .* is not a directory of this user's alone/)
  t.same(files(dir), [], 'a world-writable directory is not written to')

  chmodSync(dir, 0o700)
  await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })
  const [name] = files(dir)
  const path = join(dir, name as string)
  t.match((await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })).stderr, `compile cache: used ${path}`)
  chmodSync(path, 0o666)
  const again = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env })
  t.equal(again.stdout, 'commit\n')
  t.match(again.stderr, `compile cache: none ${path}`, 'a group- or world-writable file is not taken')
  t.equal(statSync(path).mode & 0o777, 0o600, 'but replaced by one that is this user\'s alone')
})

t.test('TSGIT_COMPILE_CACHE=0 turns it off', async (t) => {
  const home = join(tmp.path, 'home')
  mkdirSync(home)
  const r = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env: { HOME: home, XDG_CACHE_HOME: '', TSGIT_COMPILE_CACHE: '0' } })
  t.equal(r.status, 0)
  t.same(files(join(home, '.cache')), [])
  const on = await tsgit(['cat-file', '-t', 'HEAD'], { cwd: repo, env: { HOME: home, XDG_CACHE_HOME: '' } })
  t.equal(on.status, 0)
  t.equal(files(join(home, '.cache', 'tsgit')).length, 1, 'by default under ~/.cache/tsgit')
})
