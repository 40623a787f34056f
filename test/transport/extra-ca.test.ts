import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import { adoptDeferredExtraCa, DEFERRED_CA_VARIABLE, pemCertificates, tlsConnectOptions } from '../../lib/transport/extra-ca.js'
import { tempDir } from '../fixtures/git.js'

const tmp = tempDir('tsgit-extra-ca-')
t.teardown(tmp.cleanup)

t.test('PEM certificates are found among other text, their bodies compared without whitespace', async (t) => {
  const [a, b] = rootCertificates
  const text = `# a comment\n${a}\nnot a certificate\n${(b ?? '').replace(/\n/g, '\r\n')}\n`
  const found = pemCertificates(text)
  t.equal(found.length, 2)
  t.equal(found[0]?.pem, a)
  t.equal(found[1]?.body, pemCertificates(b ?? '')[0]?.body)
  t.same(pemCertificates('-----BEGIN CERTIFICATE-----\nunterminated'), [])
})

t.test('without a deferred file, connections use Node’s default trust', async (t) => {
  t.same(tlsConnectOptions({ rejectUnauthorized: true }), { rejectUnauthorized: true })
})

t.test('the deferred file: the variable is restored for child processes, and one context is built for all connections', async (t) => {
  const file = join(tmp.path, 'bundle.pem')
  writeFileSync(file, rootCertificates.slice(0, 3).join('\n'))
  const env: NodeJS.ProcessEnv = { [DEFERRED_CA_VARIABLE]: file }
  adoptDeferredExtraCa(env)
  t.same(env, { NODE_EXTRA_CA_CERTS: file })

  const warnings: string[] = []
  const warn = (m: string): void => void warnings.push(m)
  const first = tlsConnectOptions({ rejectUnauthorized: true, warn })
  t.ok(first.secureContext, 'a context with the extra certificates')
  t.equal(first.ca, undefined)
  t.equal(tlsConnectOptions({ rejectUnauthorized: true, warn }).secureContext, first.secureContext, 'built once')
  const ca = Buffer.from(rootCertificates[0] ?? '')
  t.same(tlsConnectOptions({ rejectUnauthorized: true, ca, warn }), { rejectUnauthorized: true, ca }, 'http.sslCAInfo replaces the default trust, extra certificates included, as in Node')
  t.same(tlsConnectOptions({ rejectUnauthorized: false, warn }), { rejectUnauthorized: false }, 'nothing to build when nothing is verified')
  t.same(warnings, [])
})

t.test('a deferred file with no certificate in it: warned once, then Node’s default trust', async (t) => {
  const file = join(tmp.path, 'empty.pem')
  writeFileSync(file, 'no certificates here\n')
  adoptDeferredExtraCa({ [DEFERRED_CA_VARIABLE]: file })
  const warnings: string[] = []
  const warn = (m: string): void => void warnings.push(m)
  t.same(tlsConnectOptions({ rejectUnauthorized: true, warn }), { rejectUnauthorized: true })
  t.same(tlsConnectOptions({ rejectUnauthorized: true, warn }), { rejectUnauthorized: true })
  t.same(warnings, [`ignoring extra certificates from NODE_EXTRA_CA_CERTS '${file}': no PEM certificate in it`])
})

t.test('an empty launcher variable defers nothing and sets nothing', async (t) => {
  const env: NodeJS.ProcessEnv = { [DEFERRED_CA_VARIABLE]: '' }
  adoptDeferredExtraCa(env)
  t.same(env, {})
})
