/**
 * A clone's recorded request (cloneResume.* in the new repository's config): what a
 * resume reads back is what the clone was asked, the shallow options included, and a
 * tampered value is refused.
 */
import t from 'tap'
import { ConfigFile } from '../../lib/repo/config.js'
import { cutsHistory, readCloneState, writeCloneRequest, type CloneRequest } from '../../lib/repo/clone-state.js'

t.test('the shallow options round-trip; they make the clone cut its history', async (t) => {
  const request: CloneRequest = { url: 'https://example.com/r.git', origin: 'origin', bare: false, checkout: true, tags: true, depth: 3, shallowSince: 1577836800, shallowExclude: ['old', 'refs/tags/v1'] }
  const f = ConfigFile.empty()
  writeCloneRequest(f, request)
  const state = readCloneState(f)
  t.equal(state?.shallowSince, 1577836800)
  t.same(state?.shallowExclude, ['old', 'refs/tags/v1'])
  t.equal(state?.depth, 3)
  t.ok(cutsHistory(request))
  t.notOk(cutsHistory({ url: '', origin: 'o', bare: false, checkout: true, tags: true, shallowExclude: [] }))
  t.ok(cutsHistory({ url: '', origin: 'o', bare: false, checkout: true, tags: true, shallowExclude: ['x'] }))
})

t.test('a tampered shallow option is refused', async (t) => {
  for (const [key, value] of [['shallowSince', 'yesterday'], ['shallowExclude', 'a b']]) {
    const f = ConfigFile.empty()
    writeCloneRequest(f, { url: 'https://example.com/r.git', origin: 'origin', bare: false, checkout: true, tags: true })
    f.add(`cloneResume.${key as string}`, value as string)
    t.throws(() => readCloneState(f), { code: 'E_REPOSITORY' }, `${key}=${value}`)
  }
})
