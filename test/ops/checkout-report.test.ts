/**
 * checkout's report of commits, judged against real git: a commit's label (git's
 * `%h %s`, with the same abbreviation) and ahead/behind counts (git's
 * `rev-list --left-right --count a...b`), and no count when a commit is missing.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { ObjectStore } from '../../lib/odb/store.js'
import { aheadBehind, label } from '../../lib/ops/checkout-report.js'

const tmp = tempDir('tsgit-checkout-report-')
t.teardown(tmp.cleanup)
const repo = join(tmp.path, 'r')
git(['init', '-q', '-b', 'main', repo])
let n = 0
function commit(message: string): string {
  writeFileSync(join(repo, 'f'), `${n++}\n`)
  git(['add', 'f'], { cwd: repo })
  git(['commit', '-q', '-m', message], { cwd: repo })
  return git(['rev-parse', 'HEAD'], { cwd: repo }).stdout.trim()
}
const base = commit('base')
for (let i = 0; i < 5; i++) commit(`main ${i}`)
const main = commit('  indented subject\nsecond line\n\nbody')
git(['checkout', '-q', '-b', 'side', base], { cwd: repo })
for (let i = 0; i < 3; i++) commit(`side ${i}`)
const side = git(['rev-parse', 'HEAD'], { cwd: repo }).stdout.trim()
const store = new ObjectStore(join(repo, '.git', 'objects'))

t.test('label: abbreviated id and subject as git prints %h %s', async (t) => {
  for (const oid of [main, side, base]) {
    const l = await label(store, oid, 7)
    t.equal(`${l.abbrev} ${l.subject}`, git(['log', '-1', '--format=%h %s', oid], { cwd: repo }).stdout.replace(/\n$/, ''))
  }
})

t.test('aheadBehind: the counts git gives, zero for the same commit', async (t) => {
  const [left, right] = git(['rev-list', '--left-right', '--count', `${main}...${side}`], { cwd: repo }).stdout.trim().split(/\s+/).map(Number)
  t.same(await aheadBehind(store, main, side), { ahead: left, behind: right })
  t.same(await aheadBehind(store, side, main), { ahead: right, behind: left })
  t.same(await aheadBehind(store, main, main), { ahead: 0, behind: 0 })
  t.equal(await aheadBehind(store, main, '1234567890123456789012345678901234567890'), undefined, 'a missing commit: no count, nothing fetched')
})
