import t from 'tap'
import { join } from 'node:path'
import { PktLineError, ProtocolError } from '../../lib/errors.js'
import { commandHeader, parseCapabilities } from '../../lib/protocol/capabilities.js'
import { git, tempDir } from '../fixtures/git.js'
import { advertise, makeFixtureRepo, pkts, readerOf } from './server.js'

const dir = tempDir()
t.teardown(dir.cleanup)
const repo = join(dir.path, 'repo')
makeFixtureRepo(repo)

t.test('parses a real v2 advertisement', async (t) => {
  const caps = await parseCapabilities(readerOf(advertise(repo)))
  const version = git(['version']).stdout.trim().replace('git version ', '')
  t.equal(caps.version, 2)
  t.equal(caps.agent, `git/${version}`)
  t.equal(caps.objectFormat, 'sha1')
  t.ok(caps.has('ls-refs'))
  t.ok(caps.has('server-option'))
  t.equal(caps.value('server-option'), undefined)
  t.same([...caps.commandFeatures('ls-refs')], ['unborn'])
  t.same([...caps.commandFeatures('fetch')].sort(), ['filter', 'shallow', 'wait-for-done'])
  t.same([...caps.commandFeatures('object-info')], [])
  t.notOk(caps.has('sideband-all'))
})

t.test('advertised fetch features follow the server config', async (t) => {
  const caps = await parseCapabilities(readerOf(advertise(repo, { GIT_TEST_SIDEBAND_ALL: '1' })))
  t.ok(caps.commandFeatures('fetch').has('sideband-all'))
})

t.test('a v0 server is refused', async (t) => {
  const v0 = git(['upload-pack', '--advertise-refs', '--stateless-rpc', repo]).stdoutBuffer
  t.match(v0.toString('latin1'), /^[0-9a-f]{4}[0-9a-f]{40} HEAD\0/, 'fixture really is a v0 advertisement')
  await t.rejects(parseCapabilities(readerOf(v0)), { constructor: ProtocolError, message: 'server does not support protocol v2' })
  const httpV0 = Buffer.concat([Buffer.from(pkts('# service=git-upload-pack\n', '0000')), v0])
  await t.rejects(parseCapabilities(readerOf(httpV0)), { constructor: ProtocolError, message: 'server does not support protocol v2' })
  await t.rejects(parseCapabilities(readerOf(pkts('version 1\n', '0000'))), { message: 'server does not support protocol v2' })
  await t.rejects(parseCapabilities(readerOf('0000')), { message: 'server does not support protocol v2' })
})

t.test('smart HTTP service preamble is skipped', async (t) => {
  const body = Buffer.concat([Buffer.from(pkts('# service=git-upload-pack\n', '0000')), advertise(repo)])
  const caps = await parseCapabilities(readerOf(body))
  t.ok(caps.has('fetch'))
})

t.test('malformed advertisements', async (t) => {
  await t.rejects(parseCapabilities(readerOf(pkts('version 2\n', 'agent=x\n'))), { constructor: PktLineError, message: /hung up/ })
  await t.rejects(parseCapabilities(readerOf(pkts('version 2\n', '0001'))), { constructor: ProtocolError, message: /unexpected delim/ })
  await t.rejects(parseCapabilities(readerOf(pkts('version 2\n', 'bad key\n', '0000'))), { constructor: ProtocolError, message: /malformed capability/ })
  await t.rejects(parseCapabilities(readerOf(pkts('version 2\n', '=x\n', '0000'))), ProtocolError)
})

t.test('commandHeader sends agent and object-format only when advertised', async (t) => {
  const full = await parseCapabilities(readerOf(pkts('version 2\n', 'agent=git/2.39.5\n', 'ls-refs\n', 'object-format=sha1\n', '0000')))
  t.equal(commandHeader('ls-refs', full, 'tsgit/0.1.0').toString(), '0014command=ls-refs\n0016agent=tsgit/0.1.0\n0017object-format=sha1\n0001')
  const bare = await parseCapabilities(readerOf(pkts('version 2\n', 'ls-refs\n', '0000')))
  t.equal(commandHeader('ls-refs', bare, 'tsgit/0.1.0').toString(), '0014command=ls-refs\n0001')
  t.throws(() => commandHeader('fetch', bare, 'tsgit/0.1.0'), { constructor: ProtocolError, message: "server does not support the 'fetch' command" })
  t.throws(() => commandHeader('ls-refs', bare, 'ts git'), ProtocolError)
  t.throws(() => commandHeader('ls-refs', bare, 'tsgit', ['a\nb']), { message: /server-option/ })
  const opts = await parseCapabilities(readerOf(pkts('version 2\n', 'ls-refs\n', 'server-option\n', '0000')))
  t.equal(commandHeader('ls-refs', opts, 'tsgit', ['x=1']).toString(), '0014command=ls-refs\n0016server-option=x=1\n0001')
  const sha256 = await parseCapabilities(readerOf(pkts('version 2\n', 'ls-refs\n', 'object-format=sha256\n', '0000')))
  t.equal(sha256.objectFormat, 'sha256')
  t.throws(() => commandHeader('ls-refs', sha256, 'tsgit'), { constructor: ProtocolError, message: /does not support algorithm 'sha1'/ })
})
