/**
 * The credential protocol's bytes: what a helper is sent, and which answers count.
 * Real git's own `git credential fill` reads the same request the same way.
 */
import t from 'tap'
import { git } from '../fixtures/git.js'
import { describeCredential, encodeCredential, parseHelperAnswer, type Credential } from '../../lib/transport/credential-protocol.js'

const asked: Credential = { protocol: 'https', host: 'example.com:8443', path: 'org/repo.git', username: 'u' }

t.test('a request is key=value lines in git\'s order, which git credential reads back', async (t) => {
  const text = encodeCredential({ ...asked, password: 'pw' }, 'https://u@example.com:8443/org/repo.git')
  t.equal(text, 'protocol=https\nhost=example.com:8443\npath=org/repo.git\nusername=u\npassword=pw\n')
  // git's fill echoes back what it was given, once a helper (here: the request itself) completes it
  const r = git(['-c', 'credential.helper=', '-c', 'credential.useHttpPath=true', 'credential', 'fill'], { input: `${text}\n` })
  t.equal(r.stdout, text)
})

t.test('a value that would break out of its line is refused, with git\'s words, before any helper', async (t) => {
  t.throws(() => encodeCredential({ ...asked, username: 'u\nhost=evil' }, 'https://x'), { code: 'E_CREDENTIAL', message: 'credential url cannot be parsed: https://x' })
  t.throws(() => encodeCredential({ ...asked, password: 'p\r' }, 'https://x'), { message: 'credential value for password contains carriage return' })
  t.throws(() => encodeCredential({ ...asked, path: 'a\0b' }, 'https://x'), { message: 'credential value for path contains NUL' })
})

t.test('an answer about the credential asked for counts; one about another is ignored', async (t) => {
  t.same(parseHelperAnswer('username=v\npassword=p\n', asked), { username: 'v', password: 'p', quit: false })
  t.same(parseHelperAnswer('protocol=https\nhost=example.com:8443\npath=org/repo.git\npassword=p\n\nusername=late\n', asked), { password: 'p', quit: false }, 'a blank line ends the answer')
  t.same(parseHelperAnswer('quit=1\n', asked), { quit: true })
  t.same(parseHelperAnswer('junk\n=x\npassword=a=b\n', asked), { password: 'a=b', quit: false }, 'lines without a key are skipped; a value may hold =')
  t.equal(parseHelperAnswer('host=evil.example\npassword=p\n', asked), undefined, 'another host')
  t.equal(parseHelperAnswer('protocol=http\npassword=p\n', asked), undefined, 'another protocol')
  t.equal(parseHelperAnswer('path=other.git\npassword=p\n', asked), undefined, 'another path')
  t.equal(parseHelperAnswer('path=x\npassword=p\n', { protocol: 'https', host: 'h' }), undefined, 'a path when none was asked about')
  t.equal(parseHelperAnswer('password=p\r\n', asked), undefined, 'a carriage return in a value')
  t.equal(parseHelperAnswer('username=a\0b\npassword=p\n', asked), undefined, 'a NUL in a value')
})

t.test('described as git\'s prompts name it', async (t) => {
  t.equal(describeCredential(asked, false), 'https://example.com:8443/org/repo.git')
  t.equal(describeCredential(asked, true), 'https://u@example.com:8443/org/repo.git')
  t.equal(describeCredential({ protocol: 'http', host: 'h' }, true), 'http://h')
})
