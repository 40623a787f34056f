/**
 * `tsgit checkout` and paths: git restores paths given after `--` (or after the target,
 * or a tracked path given alone); tsgit does not, and says so plainly (fatal, 128)
 * without touching anything. The forms git refuses are refused with git's words.
 */
import t, { type Test } from 'tap'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { tsgit } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-checkout-paths-')
t.teardown(tmp.cleanup)
const real = join(tmp.path, 'real')
const ours = join(tmp.path, 'ours')
git(['init', '-q', '-b', 'main', real])
writeFileSync(join(real, 'f'), 'committed\n')
mkdirSync(join(real, 'dir'))
writeFileSync(join(real, 'dir', 'g'), 'committed\n')
git(['add', '-A'], { cwd: real })
git(['commit', '-q', '-m', 'one'], { cwd: real })
git(['branch', 'other'], { cwd: real })
cpSync(real, ours, { recursive: true })
// a local change that a path checkout would throw away
for (const dir of [real, ours]) writeFileSync(join(dir, 'f'), 'changed\n')

async function same(t: Test, args: string[], cwd = ''): Promise<void> {
  const g = git(args, { cwd: join(real, cwd), allowFail: true })
  const o = await tsgit(args, { cwd: join(ours, cwd) })
  const label = args.join(' ')
  t.equal(o.status, g.status, `${label}: exit ${g.status}${o.status !== g.status ? ` (ours said ${o.stderr.trim()})` : ''}`)
  t.equal(o.stdout, g.stdout, `${label}: stdout`)
  t.equal(o.stderr, g.stderr, `${label}: stderr`)
}

t.test('paths, in every form: not supported, said plainly, nothing changed', async (t) => {
  const head = git(['rev-parse', 'HEAD'], { cwd: ours }).stdout
  const forms: { args: string[]; paths: string; cwd?: string }[] = [
    { args: ['checkout', '--', 'f'], paths: "'f'" },
    { args: ['checkout', '--', 'f', 'dir'], paths: "'f', 'dir'" },
    { args: ['checkout', '--', 'not-there'], paths: "'not-there'" },
    { args: ['checkout', '--', 'main'], paths: "'main'" },
    { args: ['checkout', 'main', '--', 'f'], paths: "'f'" },
    { args: ['checkout', '-f', 'other', '--', 'dir'], paths: "'dir'" },
    { args: ['checkout', '-b', 'new', '--', 'f'], paths: "'f'" },
    { args: ['checkout', '--detach', 'main', '--', 'f'], paths: "'f'" },
    { args: ['checkout', 'main', 'f'], paths: "'f'" },
    // no `--`, and the name is no revision but a tracked file or directory
    { args: ['checkout', 'f'], paths: "'f'" },
    { args: ['checkout', 'dir'], paths: "'dir'" },
    { args: ['checkout', '.'], paths: "'.'" },
    { args: ['checkout', 'g'], paths: "'g'", cwd: 'dir' },
    { args: ['checkout', '../f'], paths: "'../f'", cwd: 'dir' },
  ]
  for (const form of forms) {
    const r = await tsgit(form.args, { cwd: join(ours, form.cwd ?? '') })
    const label = form.args.join(' ')
    t.equal(r.status, 128, `${label}: 128`)
    t.equal(r.stdout, '', `${label}: nothing on stdout`)
    t.equal(r.stderr, `fatal: checking out paths is not supported (${form.paths}): tsgit checkout switches branches and detaches HEAD only\n`, `${label}: says so`)
  }
  t.equal(readFileSync(join(ours, 'f'), 'utf8'), 'changed\n', 'the local change is still there')
  t.equal(git(['rev-parse', 'HEAD'], { cwd: ours }).stdout, head, 'HEAD has not moved')
  t.equal(git(['branch', '--list', 'new'], { cwd: ours }).stdout, '', 'no branch was created')
})

t.test('what is not a path checkout is answered as git answers it', async (t) => {
  await same(t, ['checkout', 'nope'])
  await same(t, ['checkout', 'nope', '--'])
  await same(t, ['checkout', '--detach', 'nope', '--'])
  await same(t, ['checkout', '-b', 'x', 'nope', '--'])
  await same(t, ['checkout', 'main', 'other', '--', 'f'])
  await same(t, ['checkout', 'main', '--'])
  await same(t, ['checkout', 'f', '--'])
  await same(t, ['checkout', 'nope'], 'dir')
})
