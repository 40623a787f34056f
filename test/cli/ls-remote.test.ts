/**
 * `tsgit ls-remote` against `git ls-remote`, over the suite's real http server (and a
 * local path): stdout, stderr and exit code for the remote's refs, --heads, --tags,
 * --refs, --symref, patterns, --exit-code, -q, --get-url, the default remote, outside
 * a repository; the server sees protocol v2 ls-refs.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let work = ''
const srv = serveRepos(t, 'tsgit-ls-remote-', async (root) => {
  work = join(root, '..', 'work')
  git(['init', '-q', '-b', 'main', work])
  const g = (...args: string[]): void => void git(args, { cwd: work })
  g('commit', '-q', '--allow-empty', '-m', 'one')
  g('commit', '-q', '--allow-empty', '-m', 'two')
  g('branch', 'topic', 'HEAD~1')
  g('branch', 'feature/main', 'HEAD~1')
  g('tag', '-a', '-m', 'annotated', 'v1', 'HEAD~1')
  g('tag', 'light')
  git(['clone', '-q', '--bare', work, join(root, 'r.git')])
  git(['init', '-q', '--bare', join(root, 'empty.git')])
})

async function same(t: Test, cwd: string, args: string[]): Promise<void> {
  const g = await gitAsync(['ls-remote', ...args], { cwd, allowFail: true })
  const o = await tsgit(['ls-remote', ...args], { cwd })
  const label = `ls-remote ${args.join(' ')}`
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (${o.stderr})` : ''}`)
  t.equal(o.stdout, g.stdout, `${label}: stdout`)
  t.equal(o.stderr, g.stderr, `${label}: stderr`)
}

t.test('over http, by URL, outside a repository', async (t) => {
  const url = srv.server.url('r.git')
  const before = srv.server.requests.length
  for (const args of [
    [url], ['--heads', url], ['--tags', url], ['--heads', '--tags', url], ['--refs', url], ['--symref', url], ['--symref', '--refs', url], [url, 'main'], [url, 'v1'], [url, 'HEAD', 'refs/tags/*'],
    [url, 'heads/*'], [url, 'ma?n'], ['--exit-code', url, 'nope'], ['--exit-code', url, 'main'], ['-q', url], ['--get-url', url], ['--symref', srv.server.url('empty.git')], ['--exit-code', srv.server.url('empty.git')],
  ]) {
    await same(t, srv.tmp.path, args)
  }
  const ours = srv.server.requests.slice(before).filter((r) => r.command === 'ls-refs')
  t.ok(ours.length > 0, 'protocol v2 ls-refs')
})

t.test('in a repository: the default remote, a remote by name, a path', async (t) => {
  const clone = srv.dest('clone')
  await gitAsync(['clone', '-q', srv.server.url('r.git'), clone])
  for (const args of [[], ['-q'], ['--symref'], ['origin'], ['--heads', 'origin', 'main'], ['--get-url'], ['--get-url', 'origin'], ['.'], ['--refs', work]]) {
    await same(t, clone, args)
  }
  await same(t, join(clone, '..'), ['--refs', clone])
  const bare = srv.dest('noremote')
  git(['init', '-q', bare])
  await same(t, bare, [])
})

t.test('-C, and credentials are never printed', async (t) => {
  const clone = srv.dest('clone')
  await gitAsync(['clone', '-q', srv.server.url('r.git'), clone])
  const g = await gitAsync(['-C', clone, 'ls-remote', '--heads'], { cwd: srv.tmp.path })
  const o = await tsgit(['-C', clone, 'ls-remote', '--heads'], { cwd: srv.tmp.path })
  t.equal(o.stdout, g.stdout, '-C')
  git(['remote', 'set-url', 'origin', srv.server.url('r.git').replace('http://', 'http://user:secret@')], { cwd: clone })
  const r = await tsgit(['ls-remote', '--heads'], { cwd: clone })
  t.equal(r.status, 0, r.stderr)
  t.notMatch(r.stderr, /secret/, 'no password in the From line')
  t.match(r.stderr, /^From http:\/\/127\.0\.0\.1/)
})
