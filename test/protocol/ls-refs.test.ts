import t from 'tap'
import { join } from 'node:path'
import { PktLineError, ProtocolError, RemoteError } from '../../lib/errors.js'
import { parseCapabilities } from '../../lib/protocol/capabilities.js'
import { buildLsRefsRequest, parseLsRefs, type RemoteRef } from '../../lib/protocol/ls-refs.js'
import { git, tempDir } from '../fixtures/git.js'
import { advertise, makeFixtureRepo, pkts, readerOf, serve } from './server.js'

const dir = tempDir()
t.teardown(dir.cleanup)
const repo = join(dir.path, 'repo')
makeFixtureRepo(repo)
const OID = 'a'.repeat(40)

t.test('request bytes follow git 2.39 argument order', async (t) => {
  const caps = await parseCapabilities(readerOf(advertise(repo)))
  const req = buildLsRefsRequest(caps, { refPrefixes: ['HEAD', 'refs/heads/'], symrefs: true, peel: true, unborn: true, agent: 'tsgit/0.1.0' })
  t.equal(
    req.toString(),
    '0014command=ls-refs\n0016agent=tsgit/0.1.0\n0017object-format=sha1\n0001' +
      '0009peel\n000csymrefs\n000bunborn\n0014ref-prefix HEAD\n001bref-prefix refs/heads/\n0000',
  )
  const noUnborn = await parseCapabilities(readerOf(pkts('version 2\n', 'ls-refs\n', '0000')))
  t.equal(buildLsRefsRequest(noUnborn, { unborn: true, symrefs: true }).toString(), '0014command=ls-refs\n0001000csymrefs\n0000')
  t.throws(() => buildLsRefsRequest(caps, { refPrefixes: ['a\nb'] }), ProtocolError)
})

t.test('parses what real upload-pack answers', async (t) => {
  const caps = await parseCapabilities(readerOf(advertise(repo)))
  const res = serve(repo, buildLsRefsRequest(caps, { symrefs: true, peel: true, refPrefixes: ['HEAD', 'refs/heads/', 'refs/tags/'] }))
  const refs = await parseLsRefs(readerOf(res))
  const rev = (r: string): string => git(['rev-parse', r], { cwd: repo }).stdout.trim()
  const expected: RemoteRef[] = [
    { name: 'HEAD', oid: rev('HEAD'), symrefTarget: 'refs/heads/main', unborn: false },
    { name: 'refs/heads/main', oid: rev('main'), unborn: false },
    { name: 'refs/heads/side', oid: rev('side'), unborn: false },
    { name: 'refs/tags/v1', oid: rev('v1'), peeled: rev('v1^{}'), unborn: false },
  ]
  t.same(refs, expected)
  t.not(rev('v1'), rev('v1^{}'), 'the tag is annotated')

  const onlyTags = await parseLsRefs(readerOf(serve(repo, buildLsRefsRequest(caps, { refPrefixes: ['refs/tags/'] }))))
  t.same(onlyTags, [{ name: 'refs/tags/v1', oid: rev('v1'), unborn: false }])
})

t.test('unborn HEAD of an empty repository', async (t) => {
  const empty = join(dir.path, 'empty')
  git(['init', '-q', '-b', 'trunk', empty])
  const caps = await parseCapabilities(readerOf(advertise(empty)))
  const refs = await parseLsRefs(readerOf(serve(empty, buildLsRefsRequest(caps, { symrefs: true, unborn: true, refPrefixes: ['HEAD'] }))))
  t.same(refs, [{ name: 'HEAD', oid: undefined, symrefTarget: 'refs/heads/trunk', unborn: true }])
  const without = await parseLsRefs(readerOf(serve(empty, buildLsRefsRequest(caps, { symrefs: true, refPrefixes: ['HEAD'] }))))
  t.same(without, [])
})

t.test('bad responses', async (t) => {
  const bad: Array<[string, RegExp]> = [
    [pkts(`${'a'.repeat(39)} refs/heads/x\n`, '0000'), /bad object id/],
    [pkts(`${'A'.repeat(40)} refs/heads/x\n`, '0000'), /bad object id/],
    [pkts(`${'g'.repeat(40)} refs/heads/x\n`, '0000'), /bad object id/],
    [pkts(`${OID}\n`, '0000'), /malformed ls-refs line/],
    [pkts(`${OID} \n`, '0000'), /bad ref name/],
    [pkts(`${OID} refs/heads/x peeled:1234\n`, '0000'), /bad peeled object id/],
    [pkts(`${OID} refs/heads/x  symref-target:y\n`, '0000'), /malformed ls-refs line/],
    [pkts(`${OID} refs/heads/\x01x\n`, '0000'), /bad ref name/],
    [pkts(`${OID} refs/heads/x\n`, '0001', '0000'), /unexpected delim/],
  ]
  for (const [input, message] of bad) {
    await t.rejects(parseLsRefs(readerOf(input)), { constructor: ProtocolError, message }, JSON.stringify(input))
  }
  await t.rejects(parseLsRefs(readerOf(pkts(`${OID} refs/heads/x\n`))), { constructor: PktLineError, message: /hung up/ })
  await t.rejects(parseLsRefs(readerOf(pkts('ERR access denied\n'))), { constructor: RemoteError, message: 'remote error: access denied' })
  const three = pkts(`${OID} a\n`, `${OID} b\n`, `${OID} c\n`, '0000')
  await t.rejects(parseLsRefs(readerOf(three), { maxRefs: 2 }), { message: /more than 2 refs/ })
  t.equal((await parseLsRefs(readerOf(three), { maxRefs: 3 })).length, 3)
  const future = await parseLsRefs(readerOf(pkts(`${OID} refs/heads/x future:thing\n`, '0000')))
  t.same(future, [{ name: 'refs/heads/x', oid: OID, unborn: false }], 'unknown attributes are ignored like git does')
})
