/**
 * Protocol v0 (lib/protocol/v0.ts) against real `git upload-pack --stateless-rpc` run
 * without GIT_PROTOCOL: the advertisement it makes, the request bytes tsgit sends it,
 * and the answers it gives; then what a hostile server could send instead.
 */
import t from 'tap'
import { join } from 'node:path'
import { ProtocolError, RemoteError } from '../../lib/errors.js'
import { advertisedVersion, buildV0Request, expectsShallowUpdate, parseV0Advertisement, parseV0Response, refsWithPrefixes, v2View, type V0Advertisement } from '../../lib/protocol/v0.js'
import { serverSupportsFilter } from '../../lib/protocol/fetch.js'
import { git, tempDir } from '../fixtures/git.js'
import { collect, makeFixtureRepo, pkts, readerOf } from './server.js'

const dir = tempDir()
t.teardown(dir.cleanup)
const repo = join(dir.path, 'repo')
makeFixtureRepo(repo)
const rev = (r: string): string => git(['rev-parse', r], { cwd: repo }).stdout.trim()
const HEAD = rev('HEAD')
const V0 = { GIT_PROTOCOL: '' }

function advertiseV0(path = repo): Buffer {
  return git(['upload-pack', '--advertise-refs', '--stateless-rpc', path], { env: V0 }).stdoutBuffer
}
function serveV0(request: Buffer): Buffer {
  return git(['upload-pack', '--stateless-rpc', repo], { env: V0, input: request }).stdoutBuffer
}
async function adv(): Promise<V0Advertisement> {
  return parseV0Advertisement(readerOf(advertiseV0()))
}
const quiet = { remote: (): void => undefined }

t.test('the advertisement: refs in order, HEAD’s symref, peeled tags, capabilities', async (t) => {
  const reader = readerOf(advertiseV0())
  t.equal(await advertisedVersion(reader), 0)
  const a = await parseV0Advertisement(reader)
  t.same(a.refs.map((r) => r.name), ['HEAD', 'refs/heads/main', 'refs/heads/side', 'refs/tags/v1'])
  t.match(a.refs[0], { name: 'HEAD', oid: HEAD, symrefTarget: 'refs/heads/main' })
  t.match(a.refs[3], { name: 'refs/tags/v1', oid: rev('v1'), peeled: rev('v1^{}') })
  t.ok(a.capabilities.has('side-band-64k') && a.capabilities.has('filter') && a.capabilities.has('shallow'))
  t.same(refsWithPrefixes(a.refs, ['HEAD', 'refs/heads/']).map((r) => r.name), ['HEAD', 'refs/heads/main', 'refs/heads/side'])
  const view = v2View(a)
  t.ok(serverSupportsFilter(view), 'filter shows as fetch=filter')
  t.ok(view.commandFeatures('fetch').has('shallow'))
  t.notOk(view.has('ls-refs') || view.has('object-info'))
})

t.test('a "# service=" preamble is skipped; "version 2" is told apart', async (t) => {
  const r = readerOf(pkts('# service=git-upload-pack\n', '0000') + advertiseV0().toString('latin1'))
  t.equal(await advertisedVersion(r), 0)
  t.equal((await parseV0Advertisement(r)).refs[0]?.name, 'HEAD')
  t.equal(await advertisedVersion(readerOf(pkts('version 2\n', 'agent=git/2\n', '0000'))), 2)
})

t.test('an empty repository: a bare flush (git 2.39), or capabilities^{} and no ref', async (t) => {
  const empty = join(dir.path, 'empty.git')
  git(['init', '-q', '--bare', empty])
  t.same((await parseV0Advertisement(readerOf(advertiseV0(empty)))).refs, [])
  const a = await parseV0Advertisement(readerOf(pkts(`${'0'.repeat(40)} capabilities^{}\0side-band-64k symref=HEAD:refs/heads/main\n`, '0000')))
  t.same(a.refs, [])
  t.ok(a.capabilities.has('side-band-64k'))
  t.equal(a.symrefs.get('HEAD'), 'refs/heads/main')
})

t.test('the request: wants with capabilities on the first, deepen, filter, flush, haves, done; real upload-pack answers it', async (t) => {
  const a = await adv()
  const req = buildV0Request(a, { wants: [HEAD, rev('side')], haves: [rev('side')], done: true, ofsDelta: true, noProgress: true, includeTag: true, filter: 'blob:none', agent: 'tsgit/test' })
  t.equal(
    req.toString('latin1'),
    pkts(`want ${HEAD} side-band-64k no-progress include-tag ofs-delta agent=tsgit/test filter\n`, `want ${rev('side')}\n`, 'filter blob:none\n', '0000', `have ${rev('side')}\n`, 'done\n'),
  )
  const res = await parseV0Response(readerOf(serveV0(req)), quiet, { shallowUpdate: expectsShallowUpdate(a, { wants: [HEAD], done: true }) })
  t.same(res.acks, { commonOids: [rev('side')], ready: false, nak: false }, 'one ACK for the common have')
  const pack = await collect(res.pack as AsyncIterable<Buffer>)
  t.equal(pack.subarray(0, 4).toString('latin1'), 'PACK')
})

t.test('a depth request: the shallow-update section first, then NAK and the pack', async (t) => {
  const a = await adv()
  const args = { wants: [HEAD], done: true, deepen: 1 }
  const req = buildV0Request(a, { ...args, agent: 'tsgit/test' })
  t.equal(req.toString('latin1'), pkts(`want ${HEAD} side-band-64k agent=tsgit/test\n`, 'deepen 1\n', '0000', 'done\n'))
  t.ok(expectsShallowUpdate(a, args))
  const res = await parseV0Response(readerOf(serveV0(req)), quiet, { shallowUpdate: true })
  t.same(res.shallow, [HEAD])
  t.equal(res.acks?.nak, true)
  t.equal((await collect(res.pack as AsyncIterable<Buffer>)).subarray(0, 4).toString('latin1'), 'PACK')
})

t.test('a shallow client that does not deepen: shallow lines, and no shallow-update section in the answer', async (t) => {
  const a = await adv()
  const args = { wants: [HEAD], haves: [rev('HEAD~1')], shallow: [rev('HEAD~1')], done: true }
  t.notOk(expectsShallowUpdate(a, args))
  const req = buildV0Request(a, { ...args, agent: 'tsgit/test' })
  t.equal(req.toString('latin1'), pkts(`want ${HEAD} side-band-64k agent=tsgit/test\n`, `shallow ${rev('HEAD~1')}\n`, '0000', `have ${rev('HEAD~1')}\n`, 'done\n'))
  const res = await parseV0Response(readerOf(serveV0(req)), quiet, { shallowUpdate: false })
  t.same(res.acks?.commonOids, [rev('HEAD~1')])
  t.equal((await collect(res.pack as AsyncIterable<Buffer>)).subarray(0, 4).toString('latin1'), 'PACK')
})

t.test('--shallow-since, --shallow-exclude, --deepen: capabilities on the first want, their lines, and the shallow-update section', async (t) => {
  const a = await adv()
  const since = { wants: [HEAD], done: true, deepenSince: 1112911993, agent: 'tsgit/test' }
  t.equal(buildV0Request(a, since).toString('latin1'), pkts(`want ${HEAD} side-band-64k agent=tsgit/test deepen-since\n`, 'deepen-since 1112911993\n', '0000', 'done\n'))
  t.ok(expectsShallowUpdate(a, since))
  const not = { wants: [HEAD], done: true, deepenNot: ['refs/heads/side'], agent: 'tsgit/test' }
  const req = buildV0Request(a, not)
  t.equal(req.toString('latin1'), pkts(`want ${HEAD} side-band-64k agent=tsgit/test deepen-not\n`, 'deepen-not refs/heads/side\n', '0000', 'done\n'))
  const res = await parseV0Response(readerOf(serveV0(req)), quiet, { shallowUpdate: expectsShallowUpdate(a, not) })
  t.same(res.shallow, [HEAD], 'history cut below main, at side')
  t.equal((await collect(res.pack as AsyncIterable<Buffer>)).subarray(0, 4).toString('latin1'), 'PACK')
  t.match(buildV0Request(a, { wants: [HEAD], done: true, deepen: 1, deepenRelative: true, shallow: [HEAD] }).toString('latin1'), / deepen-relative\n/)
  const bare: V0Advertisement = { ...a, capabilities: new Map([['side-band-64k', undefined], ['shallow', undefined]]) }
  t.throws(() => buildV0Request(bare, since), /Server does not support --shallow-since/)
  t.throws(() => buildV0Request(bare, not), /Server does not support --shallow-exclude/)
})

t.test('what v0 cannot carry, or the server did not advertise, is refused before sending', async (t) => {
  const a = await adv()
  t.throws(() => buildV0Request(a, { wants: [], done: true }), ProtocolError)
  t.throws(() => buildV0Request(a, { wants: [HEAD], done: true, wantRefs: ['refs/heads/main'] }), /want-ref/)
  t.throws(() => buildV0Request(a, { wants: [HEAD], done: true, serverOptions: ['x'] }), /server options require protocol version 2/)
  t.throws(() => buildV0Request(a, { wants: ['nope'], done: true }), /invalid want/)
  const bare: V0Advertisement = { ...a, capabilities: new Map([['side-band-64k', undefined]]) }
  t.throws(() => buildV0Request(bare, { wants: [HEAD], done: true, deepen: 1 }), /Server does not support shallow requests/)
  t.throws(() => buildV0Request(bare, { wants: [HEAD], done: true, shallow: [HEAD] }), /Server does not support shallow clients/)
  t.notMatch(buildV0Request(bare, { wants: [HEAD], done: true, filter: 'blob:none', ofsDelta: true }).toString('latin1'), /filter|ofs-delta/, 'nothing unadvertised asked for')
  const noBand: V0Advertisement = { ...a, capabilities: new Map() }
  t.throws(() => buildV0Request(noBand, { wants: [HEAD], done: true }), /side-band/)
})

t.test('a hostile advertisement or answer: bounded, checked', async (t) => {
  const first = `${HEAD} HEAD\0side-band-64k\n`
  await t.rejects(parseV0Advertisement(readerOf(pkts(first, `${HEAD} refs/heads/a\n`, `${HEAD} refs/heads/b\n`, '0000')), { maxRefs: 2 }), /more than 2 refs/)
  await t.rejects(parseV0Advertisement(readerOf(pkts(`${HEAD} HEAD\n`, '0000'))), /no capabilities/)
  await t.rejects(parseV0Advertisement(readerOf(pkts(first, 'xyz refs/heads/a\n', '0000'))), /bad object id/)
  await t.rejects(parseV0Advertisement(readerOf(pkts(first, `${HEAD} refs/tags/x^{}\n`, '0000'))), /peeled line without its ref/)
  await t.rejects(parseV0Advertisement(readerOf(pkts(first, `${HEAD} refs/heads/a b\n`, '0000'))), /bad ref name/)
  await t.rejects(parseV0Advertisement(readerOf(pkts(`${HEAD} HEAD\0${Array.from({ length: 5000 }, (_, i) => `c${i}`).join(' ')}\n`, '0000'))), /more than 4096 capabilities/)
  await t.rejects(parseV0Advertisement(readerOf(pkts(first))), /hung up/)
  await t.rejects(parseV0Response(readerOf(pkts('ACK nope\n')), quiet, { shallowUpdate: false }), /expected ACK\/NAK/)
  await t.rejects(parseV0Response(readerOf(pkts('bogus 1\n', '0000')), quiet, { shallowUpdate: true }), /expected shallow\/unshallow/)
  await t.rejects(parseV0Response(readerOf(pkts(`shallow ${HEAD}\n`, `shallow ${HEAD}\n`, '0000')), quiet, { shallowUpdate: true, maxLines: 1 }), /more than 1 lines/)
  await t.rejects(parseV0Response(readerOf(pkts('ERR upload-pack: not our ref x\n')), quiet, { shallowUpdate: false }), RemoteError)
})
