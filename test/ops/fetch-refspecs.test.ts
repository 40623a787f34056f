/**
 * The refs a fetch takes and where they go, as pure functions: a command line's
 * refspecs parsed (and refused) in git's terms, short names looked up in git's order,
 * configured refspecs mapped, git's opportunistic remote-tracking update.
 */
import t from 'tap'
import { excludedBy, mapCliRefs, mapRefs, opportunistic, parseCliRefspec, parseNegativeRefspec, remoteRefspecs } from '../../lib/ops/fetch-refspecs.js'
import { ConfigFile } from '../../lib/repo/config.js'
import { LayeredConfig } from '../../lib/repo/config-load.js'
import { parseRefspec, type Refspec } from '../../lib/repo/refspec.js'
import type { RemoteRef } from '../../lib/protocol/index.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const refs: RemoteRef[] = [
  { name: 'HEAD', oid: A, symrefTarget: 'refs/heads/main', unborn: false },
  { name: 'refs/heads/main', oid: A, unborn: false },
  { name: 'refs/heads/topic', oid: B, unborn: false },
  { name: 'refs/tags/v1', oid: B, unborn: false },
]

t.test('command-line refspecs', async (t) => {
  t.same(parseCliRefspec('+main:refs/remotes/o/main'), { force: true, src: 'main', dst: 'refs/remotes/o/main' })
  t.same(parseCliRefspec(A), { force: false, src: A, dst: '', oid: A })
  t.throws(() => parseCliRefspec('^main'), /invalid refspec/)
  t.throws(() => parseCliRefspec('main:short'), /must be a full ref name/)
  // a short name is looked up as git does: refs/tags before refs/heads
  const m = mapCliRefs([parseCliRefspec('v1'), parseCliRefspec('topic:refs/heads/copy')], refs)
  t.same(m.map((x) => [x.src, x.dst, x.oid]), [['refs/tags/v1', '', B], ['refs/heads/topic', 'refs/heads/copy', B]])
  t.throws(() => mapCliRefs([parseCliRefspec('nope')], refs), /couldn't find remote ref nope/)
})

t.test('configured refspecs, tagOpt and the opportunistic update', async (t) => {
  const file = ConfigFile.parse('[remote "o"]\n\tfetch = +refs/heads/*:refs/remotes/o/*\n\ttagOpt = --tags\n', 'config')
  const reader = new LayeredConfig([{ scope: 'local', path: 'config', entries: file.entries().map((e) => ({ ...e, scope: 'local' as const, origin: 'config' })) }], undefined, 'config')
  const { specs, follow } = remoteRefspecs(reader, 'o', undefined)
  t.equal(follow, false, 'tagOpt --tags: every tag, no following')
  t.same(mapRefs(specs, refs).map((m) => m.dst), ['refs/remotes/o/main', 'refs/remotes/o/topic', 'refs/tags/v1'])
  const spec = parseRefspec('+refs/heads/*:refs/remotes/o/*') as Refspec
  const fetched = mapCliRefs([parseCliRefspec('topic')], refs)
  t.same(opportunistic(fetched, [spec]).map((m) => [m.src, m.dst]), [['refs/heads/topic', 'refs/remotes/o/topic']], 'what the command line fetched updates its remote-tracking ref')
})

t.test('negative refspecs: parsed, refused as git refuses them, matched by name or glob', async (t) => {
  t.equal(parseNegativeRefspec('^refs/heads/skip-*'), 'refs/heads/skip-*')
  t.equal(parseNegativeRefspec('refs/heads/main'), undefined, 'not a negative one')
  for (const bad of ['^a:b', '+^refs/heads/a', '^', `^${A}`, '^refs/*/x*']) t.throws(() => parseNegativeRefspec(bad), { code: 'E_REFSPEC', message: `invalid refspec '${bad}'` })
  t.ok(excludedBy(['refs/heads/skip-*'], 'refs/heads/skip-a'))
  t.notOk(excludedBy(['refs/heads/skip-*'], 'refs/heads/keep'))
  t.ok(excludedBy(['refs/heads/keep'], 'refs/heads/keep'))
  t.notOk(excludedBy(['keep'], 'refs/heads/keep'), 'a short name matches nothing, as in git')
})
