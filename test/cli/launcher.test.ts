/**
 * bin/tsgit, the installed command: a shell launcher that keeps Node from reading
 * NODE_EXTRA_CA_CERTS at start-up, while https connections still trust its
 * certificates and the processes tsgit starts still see the variable.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, pinnedEnv, tempDir } from '../fixtures/git.js'
import { FAKE_SSH, makeRichRepo } from '../fixtures/repos.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { childResult, textResult, TSGIT_BIN, TSGIT_COMMAND as LAUNCHER, type TsgitResult } from '../fixtures/tsgit.js'

const tmp = tempDir('tsgit-launcher-')
t.teardown(tmp.cleanup)

function run(command: string, args: string[], env: Record<string, string>, cwd = tmp.path): Promise<TsgitResult> {
  const base = pinnedEnv(env)
  for (const [k, v] of Object.entries(env)) if (v === '') delete base[k]
  const child = spawn(command, args, { cwd, env: base })
  child.stdin.end()
  return childResult(child).then(textResult)
}

const key = join(tmp.path, 'key.pem')
const cert = join(tmp.path, 'cert.pem')
let server: GitServer
let head: string

t.before(async () => {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`)
  mkdirSync(join(tmp.path, 'srv'))
  head = (await makeRichRepo(join(tmp.path, 'srv', 'rich.git'))).head
  server = await startGitServer({ root: join(tmp.path, 'srv'), tls: { key: readFileSync(key), cert: readFileSync(cert) } })
})
t.teardown(() => server?.close())

t.test('Node does not read NODE_EXTRA_CA_CERTS at start-up under the launcher', async (t) => {
  // Node warns at start-up about a file it cannot read; the launcher keeps it from trying.
  const env = { NODE_EXTRA_CA_CERTS: join(tmp.path, 'no-such-file.pem') }
  const direct = await run(process.execPath, [TSGIT_BIN, '--version'], env)
  t.match(direct.stderr, /extra certs/i, 'node itself reads the variable when started directly')
  const launched = await run(LAUNCHER, ['--version'], env)
  t.equal(launched.status, 0)
  t.match(launched.stdout, /^\d+\.\d+\.\d+/)
  t.equal(launched.stderr, '')
})

t.test('an https clone trusts the certificates NODE_EXTRA_CA_CERTS names', async (t) => {
  const url = server.url('rich.git')
  const untrusted = await run(LAUNCHER, ['clone', '-q', '--no-checkout', url, join(tmp.path, 'untrusted')], { NODE_EXTRA_CA_CERTS: '' })
  t.equal(untrusted.status, 128, 'a self-signed certificate is refused without it')
  t.match(untrusted.stderr, /certificate/i)

  // The file holds the test's certificate after two of Node's own roots, as a system bundle would.
  const bundle = join(tmp.path, 'bundle.pem')
  const { rootCertificates } = await import('node:tls')
  writeFileSync(bundle, `${rootCertificates.slice(0, 2).join('\n')}\n${readFileSync(cert, 'utf8')}`)
  const dest = join(tmp.path, 'trusted')
  const trusted = await run(LAUNCHER, ['clone', '-q', url, dest], { NODE_EXTRA_CA_CERTS: bundle })
  t.equal(trusted.status, 0, trusted.stderr)
  t.equal(trusted.stderr, '')
  t.equal(git(['rev-parse', 'HEAD'], { cwd: dest }).stdout.trim(), head)
  t.equal(git(['status', '--porcelain'], { cwd: dest }).stdout, '')
})

t.test('an unreadable NODE_EXTRA_CA_CERTS is a warning on the first https connection, as in Node', async (t) => {
  const missing = join(tmp.path, 'missing.pem')
  const r = await run(LAUNCHER, ['clone', '-q', '--no-checkout', server.url('rich.git'), join(tmp.path, 'warned')], { NODE_EXTRA_CA_CERTS: missing })
  t.equal(r.status, 128)
  t.match(r.stderr, new RegExp(`^warning: ignoring extra certificates from NODE_EXTRA_CA_CERTS '${missing}': .*ENOENT`, 'm'))
  t.match(r.stderr, /^fatal: .*certificate/im)
  t.equal(r.stderr.match(/^warning:/gm)?.length, 1, 'warned once')
})

t.test('processes tsgit starts see NODE_EXTRA_CA_CERTS, not the launcher’s variable', async (t) => {
  const log = join(tmp.path, 'ssh-env')
  const ssh = join(tmp.path, 'env-ssh.sh')
  writeFileSync(ssh, `#!/bin/sh\nenv | grep -E '^(NODE|TSGIT)_EXTRA_CA_CERTS=' >> '${log}'\nexec '${FAKE_SSH}' "$@"\n`)
  chmodSync(ssh, 0o755)
  const dest = join(tmp.path, 'over-ssh')
  const r = await run(LAUNCHER, ['clone', '-q', '--no-checkout', `ssh://example.test${join(tmp.path, 'srv', 'rich.git')}`, dest], { NODE_EXTRA_CA_CERTS: cert, GIT_SSH_COMMAND: ssh })
  t.equal(r.status, 0, r.stderr)
  t.equal(readFileSync(log, 'utf8'), `NODE_EXTRA_CA_CERTS=${cert}\n`)
})

t.test('the launcher finds its files through the symlinks npm installs', async (t) => {
  // node_modules/.bin/tsgit -> ../tsgit/bin/tsgit, reached through a PATH entry that is itself a link.
  const bin = join(tmp.path, 'node_modules', '.bin')
  mkdirSync(bin, { recursive: true })
  symlinkSync(LAUNCHER, join(tmp.path, 'tsgit-abs'))
  symlinkSync('../../tsgit-abs', join(bin, 'tsgit'))
  const r = await run(join(bin, 'tsgit'), ['--version'], {})
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^\d+\.\d+\.\d+/)
  const viaPath = await run('tsgit', ['--version'], { PATH: `${bin}:${process.env.PATH ?? ''}` }, bin)
  t.equal(viaPath.status, 0, viaPath.stderr)
})
