/**
 * Revision names resolved as `git rev-parse` resolves them in the same repository, and
 * refused where git refuses them.
 */
import t from 'tap'
import { join } from 'node:path'
import { ObjectStore } from '../../lib/odb/store.js'
import { RefStore } from '../../lib/repo/refs.js'
import { RevisionError, dwimRef, dwimRefNames, peel, resolveRevision, type RevContext } from '../../lib/rev/parse.js'
import { git, tempDir } from '../fixtures/git.js'
import { makeRichRepo, type RichRepo } from '../fixtures/repos.js'

const tmp = tempDir('tsgit-rev-parse-')
t.teardown(tmp.cleanup)
let rich: RichRepo
let ctx: RevContext
t.before(async () => {
  rich = await makeRichRepo(join(tmp.path, 'rich.git'))
  ctx = { refs: new RefStore(rich.path), store: new ObjectStore(join(rich.path, 'objects')) }
})
t.teardown(() => ctx?.store.close())

const gitRevParse = (spec: string): string => git(['rev-parse', '--verify', '--end-of-options', spec], { cwd: rich.path }).stdout.trim()

t.test('what git resolves, resolved the same', async (t) => {
  const specs = [
    'HEAD', '@', 'main', 'heads/main', 'refs/heads/main', 'feature/b03', 'light', 'v1.0', 'tags/v1.0', 'tag-of-tag',
    'HEAD~0', 'HEAD~', 'HEAD~3', 'HEAD^', 'HEAD^1', 'HEAD^0', 'HEAD^^~1', 'main~2^', 'v1.0~1',
    'v1.0^{}', 'tag-of-tag^{}', 'tag-of-tag^{tag}', 'v1.0^{commit}', 'v1.0^{tree}', 'HEAD^{tree}', 'blob-tag^{blob}', 'HEAD^{object}',
    'HEAD:README.md', 'HEAD:src', 'HEAD:src/lib/util.c', 'HEAD~2:src/lib', 'v1.0:bin/run.sh', 'HEAD:', 'HEAD^{tree}:src',
    rich.head, rich.head.slice(0, 12),
  ]
  for (const spec of specs) t.equal(await resolveRevision(ctx, spec), gitRevParse(spec), spec)
})

t.test('what git refuses, refused with RevisionError', async (t) => {
  for (const spec of ['nothing', 'HEAD^3', 'HEAD~99', 'HEAD:no/such/path', 'HEAD:README.md/x', 'blob-tag^{commit}', 'HEAD^{nonsense}', ':README.md', 'deadbeef']) {
    t.equal(git(['rev-parse', '--verify', '-q', '--end-of-options', spec], { cwd: rich.path, allowFail: true }).status !== 0, true, `git refuses ${spec}`)
    await t.rejects(resolveRevision(ctx, spec), RevisionError, spec)
  }
})

t.test('dwimRef: git\'s order of preference, the full name found', async (t) => {
  t.same(dwimRefNames('x'), ['x', 'refs/x', 'refs/tags/x', 'refs/heads/x', 'refs/remotes/x', 'refs/remotes/x/HEAD'])
  t.same(await dwimRef(ctx.refs, 'v1.0'), { ref: 'refs/tags/v1.0', oid: rich.tags['v1.0'] })
  t.same(await dwimRef(ctx.refs, 'feature/b01'), { ref: 'refs/heads/feature/b01', oid: rich.branches['feature/b01'] })
  t.same(await dwimRef(ctx.refs, '@'), { ref: 'HEAD', oid: rich.head })
  t.equal(await dwimRef(ctx.refs, 'config'), undefined, 'only ALL-CAPS names are looked up directly in the git directory')
  t.equal(await peel(ctx, rich.tags['tag-of-tag'] as string, 'commit', 'tag-of-tag'), rich.commits[2])
})
