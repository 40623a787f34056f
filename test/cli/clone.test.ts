/**
 * tsgit clone's command line: a URL no transport takes is refused before anything is
 * printed or created, and a local path is taken from where `-C` leads, as git takes it.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-cli-clone-')
t.teardown(tmp.cleanup)

t.test('URLs no transport takes: refused before "Cloning into", nothing created', async (t) => {
  const cases: [string, string][] = [
    ['svn://example.invalid/x', "fatal: Unable to find remote helper for 'svn'\n"],
    ['git://example.invalid:99999/x.git', "fatal: invalid remote URL 'git://example.invalid:99999/x.git': bad port '99999'\n"],
    ['foo::bar', "fatal: Unable to find remote helper for 'foo'\n"],
    ['https://example.invalid:99999/x.git', "fatal: invalid remote URL 'https://example.invalid:99999/x.git': cannot parse URL\n"],
  ]
  for (const [url, message] of cases) {
    const dir = join(tmp.path, `refused-${readdirSync(tmp.path).length}`)
    mkdirSync(dir)
    const r = await tsgit(['clone', url, 'dest'], { cwd: dir })
    t.equal(r.status, 128, `${url}: 128`)
    t.equal(r.stdout, '', `${url}: stdout`)
    t.equal(r.stderr, message, `${url}: only the refusal`)
    t.same(readdirSync(dir), [], `${url}: nothing created`)
  }
})

t.test('a local path that names no repository: git\'s words, the path as given, before "Cloning into"', async (t) => {
  const dir = join(tmp.path, 'no-repo')
  mkdirSync(join(dir, 'plain'), { recursive: true })
  for (const url of ['./nowhere', 'nowhere', './plain', '../no-repo/plain']) {
    const g = git(['clone', url, 'dest-git'], { cwd: dir, allowFail: true })
    const r = await tsgit(['clone', url, 'dest'], { cwd: dir })
    t.equal(r.status, 128, `${url}: 128`)
    t.equal(r.stderr, g.stderr, `${url}: ${g.stderr.trim()}`)
    t.same(readdirSync(dir), ['plain'], `${url}: nothing created`)
  }
  // a path that does name one (here, through <path>.git) is cloned
  git(['init', '-q', '--bare', join(dir, 'there.git')])
  const ok = await tsgit(['clone', '-q', 'there', 'dest'], { cwd: dir })
  t.equal(ok.status, 0, ok.stderr)
})

t.test('tsgit -C <dir> clone <relative path>: the path is taken from <dir>, as git takes it', async (t) => {
  const src = join(tmp.path, 'src')
  git(['init', '-q', '-b', 'main', src])
  git(['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: src })
  const work = join(tmp.path, 'work')
  mkdirSync(work)
  git(['-C', 'work', 'clone', '-q', '../src', 'theirs'], { cwd: tmp.path })
  const r = await tsgit(['-C', 'work', 'clone', '-q', '../src', 'ours'], { cwd: tmp.path })
  t.equal(r.status, 0, r.stderr)
  t.ok(existsSync(join(work, 'ours', '.git')), 'cloned into work/ours')
  // git records work/../src; tsgit the same path without the `..`
  const recorded = (dir: string): string => resolve(git(['config', 'remote.origin.url'], { cwd: join(work, dir) }).stdout.trim())
  t.equal(recorded('ours'), recorded('theirs'), 'the origin URL names the repository git names')
  t.equal(git(['rev-parse', 'HEAD'], { cwd: join(work, 'ours') }).stdout, git(['rev-parse', 'HEAD'], { cwd: src }).stdout)
})
