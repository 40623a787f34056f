/**
 * tsgit clone --depth: a shallow clone, judged against real git's `clone --depth` of
 * the same server: the same .git/shallow, refs and configuration, a repository git
 * accepts (fsck, status, log), and the request the server saw.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, gitAsync } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { tsgit } from '../fixtures/tsgit.js'

let rich: RichRepo
const srv = serveRepos(t, 'tsgit-clone-depth-', async (root) => {
  rich = await makeRichRepo(join(root, 'rich.git'))
})

function shallowFile(dir: string): string | undefined {
  const p = join(dir, '.git', 'shallow')
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined
}

/** The local config without the extensions.partialClone section tsgit adds (a documented deviation). */
function configOf(dir: string): string {
  return readFileSync(join(dir, '.git', 'config'), 'utf8').replace(/\[extensions\]\n\tpartialClone = origin\n/, '')
}

for (const flags of [['--depth=2'], ['--depth=1', '--filter=blob:none'], ['--depth=2', '--no-single-branch'], ['--depth=1', '--no-single-branch', '--filter=blob:none']]) {
  t.test(`clone ${flags.join(' ')}: what git's clone makes`, async (t) => {
    const url = srv.server.url('rich.git')
    const ours = srv.dest('ours')
    const theirs = srv.dest('theirs')
    const since = srv.server.requests.length
    const r = await tsgit(['clone', '-q', ...flags, url, ours])
    t.equal(r.status, 0, r.stderr)
    // the clone's fetch (a blob:none clone's checkout then fetches its blobs)
    const fetches = srv.server.requests.slice(since).filter((q) => q.command === 'fetch')
    const depth = (flags[0] as string).slice('--depth='.length)
    t.ok(fetches[0]?.args.includes(`deepen ${depth}`), `the request says deepen ${depth}`)
    t.equal(fetches.filter((q) => q.args.some((a) => a.startsWith('deepen'))).length, 1, 'one deepen request')
    await gitAsync(['clone', '-q', ...flags, url, theirs])

    t.equal(shallowFile(ours), shallowFile(theirs), '.git/shallow (or its absence)')
    t.equal(git(['for-each-ref'], { cwd: ours }).stdout, git(['for-each-ref'], { cwd: theirs }).stdout, 'refs')
    t.equal(configOf(ours), configOf(theirs), 'config')
    t.equal(git(['rev-list', '--count', 'HEAD'], { cwd: ours }).stdout, git(['rev-list', '--count', 'HEAD'], { cwd: theirs }).stdout)
    if (!flags.includes('--no-single-branch')) {
      t.ok(Number(git(['rev-list', '--count', 'HEAD'], { cwd: ours }).stdout) < rich.commits.length, 'history is cut')
      t.ok(shallowFile(ours), 'a shallow file')
    }
    t.equal(git(['fsck'], { cwd: ours, allowFail: true }).status, 0, 'git fsck')
    t.equal(git(['status', '--porcelain'], { cwd: ours }).stdout, '')
    const log = await gitAsync(['log', '--format=%H %s', '--all'], { cwd: ours })
    t.equal(log.stdout, (await gitAsync(['log', '--format=%H %s', '--all'], { cwd: theirs })).stdout, 'git log --all')
    const revs = await tsgit(['rev-list', '--objects', '--missing=print', '--all'], { cwd: ours })
    t.equal(revs.stdout, git(['rev-list', '--objects', '--missing=print', '--all'], { cwd: ours }).stdout, 'tsgit reads its own shallow clone as git does')
  })
}

t.test('a depth that is not a positive number: git’s fatal error, nothing made', async (t) => {
  for (const depth of ['0', 'abc', '-1']) {
    const dest = srv.dest('bad')
    const r = await tsgit(['clone', `--depth=${depth}`, srv.server.url('rich.git'), dest])
    t.equal(r.status, 128)
    t.equal(r.stderr, `fatal: depth ${depth} is not a positive number\n`)
    t.equal((await gitAsync(['clone', `--depth=${depth}`, srv.server.url('rich.git'), srv.dest('bad')], { allowFail: true })).stderr, r.stderr, 'as git says it')
  }
})
