import { readFileSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import t, { type Test } from 'tap'
import { TransportError } from '../../lib/errors.js'
import type { ProgressSink } from '../../lib/events.js'
import { pktText } from '../../lib/pktline/pktline.js'
import { openTransport } from '../../lib/transport/index.js'
import { shellQuote, sshSpawnSpec, UploadPackError } from '../../lib/transport/process.js'
import { git, pinnedEnv, tempDir } from '../fixtures/git.js'
import { FAKE_SSH, makeEmptyRepo, makeRichRepo, type RichRepo } from '../fixtures/repos.js'
import { expectedRefs, lsRefsRequest, plainRefs, readSection } from './helpers.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)
let repo: RichRepo
t.before(async () => {
  repo = await makeRichRepo(`${tmp.path}/rich.git`)
})

/** Handshake, check the advertisement, run ls-refs, compare with git for-each-ref. */
async function roundTrip(t: Test, url: string, env: NodeJS.ProcessEnv, repoPath: string): Promise<void> {
  const tr = openTransport(url, { env })
  const adv = await tr.handshake()
  const first = await adv.read()
  t.equal(first && pktText(first), 'version 2', `${url}: version 2`)
  const caps = await readSection(adv)
  t.ok(caps.some((c) => c.startsWith('ls-refs')), 'advertises ls-refs')
  const res = await tr.command(lsRefsRequest(['peel', 'symrefs', 'ref-prefix HEAD', 'ref-prefix refs/heads/', 'ref-prefix refs/tags/']))
  t.equal(res, adv, 'stateful: the same reader')
  const lines = await readSection(res)
  t.same(plainRefs(lines), expectedRefs(repoPath), `${url}: refs as git sees them`)
  t.ok(lines.includes(`${repo.head} HEAD symref-target:refs/heads/main`))
  // A second command on the same connection.
  const again = await tr.command(lsRefsRequest(['ref-prefix refs/tags/light']))
  t.same(await readSection(again), [`${repo.tags['light']} refs/tags/light`])
  t.ok(tr.bytesReceived > 0 && tr.bytesReceived === adv.bytesRead, 'bytesReceived counts stdout')
  await tr.close()
}


t.test('file:// URL', async (t) => {
  await roundTrip(t, `file://${repo.path}`, pinnedEnv(), repo.path)
})

t.test('plain absolute and relative paths, bare or work tree', async (t) => {
  await roundTrip(t, repo.path, pinnedEnv(), repo.path)
  await roundTrip(t, relative(process.cwd(), repo.path), pinnedEnv(), repo.path)
  // A work tree: upload-pack finds its .git.
  const work = `${tmp.path}/work`
  git(['clone', '-q', repo.path, work])
  const tr = openTransport(work, { env: pinnedEnv() })
  const adv = await tr.handshake()
  t.equal(pktText((await adv.read())!), 'version 2')
  await tr.close()
})

t.test('a local transport does not inherit GIT_DIR of the repository we run in', async (t) => {
  await roundTrip(t, repo.path, pinnedEnv({ GIT_DIR: `${tmp.path}/nonexistent`, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'uploadpack.advertiseBundleURIs', GIT_CONFIG_VALUE_0: 'bogus' }), repo.path)
})

t.test('a bad local path gives upload-pack\'s own error', async (t) => {
  const missing = `${tmp.path}/no-such-repo`
  const tr = openTransport(missing, { env: pinnedEnv() })
  const err = await tr.handshake().catch((e: unknown) => e)
  t.ok(err instanceof TransportError, 'TransportError')
  t.ok(err instanceof UploadPackError)
  t.equal((err as Error).message, `'${missing}' does not appear to be a git repository`)
  t.match((err as UploadPackError).stderr, /^fatal: '.*' does not appear to be a git repository/)
  t.equal((err as UploadPackError).status, 128)
  t.equal((err as TransportError).retryable, false)
  await tr.close()
})

t.test('an empty repository handshakes; ls-refs is empty', async (t) => {
  const empty = await makeEmptyRepo(`${tmp.path}/empty.git`)
  const tr = openTransport(empty, { env: pinnedEnv() })
  const adv = await tr.handshake()
  t.equal(pktText((await adv.read())!), 'version 2')
  await readSection(adv)
  const res = await tr.command(lsRefsRequest(['ref-prefix refs/heads/']))
  t.same(await readSection(res), [])
  await tr.close()
})

t.test('uploadPack option: a shell command string runs through sh, stderr lines reach sink.remote', async (t) => {
  const remote: string[] = []
  const sink: ProgressSink = { progress() {}, info() {}, warn() {}, remote: (l) => remote.push(l) }
  const tr = openTransport(repo.path, { env: pinnedEnv(), sink, uploadPack: 'echo hello-from-stderr >&2; git-upload-pack' })
  const adv = await tr.handshake()
  t.equal(pktText((await adv.read())!), 'version 2')
  await readSection(adv)
  await tr.close()
  t.same(remote, ['hello-from-stderr'])
})

t.test('ssh:// and scp-like URLs through GIT_SSH_COMMAND', async (t) => {
  const log = `${tmp.path}/ssh.log`
  const env = pinnedEnv({ GIT_SSH_COMMAND: FAKE_SSH, FAKE_SSH_LOG: log })
  writeFileSync(log, '')
  await roundTrip(t, `ssh://git@example.com${repo.path}`, env, repo.path)
  await roundTrip(t, `example.com:${repo.path}`, env, repo.path)
  const calls = readFileSync(log, 'utf8').split('--\n').filter((c) => c !== '')
  // fake-ssh.sh is not named "ssh", so it gets the "simple" variant: host and command only.
  t.same(calls[0]?.split('\n').filter((l) => l !== ''), ['git@example.com', `git-upload-pack ${shellQuote(repo.path)}`])
  t.same(calls[1]?.split('\n').filter((l) => l !== ''), ['example.com', `git-upload-pack ${shellQuote(repo.path)}`])
})

t.test('OpenSSH variant gets -o SendEnv=GIT_PROTOCOL and -p; "simple" refuses a port', async (t) => {
  const log = `${tmp.path}/ssh2.log`
  writeFileSync(log, '')
  const env = pinnedEnv({ GIT_SSH_COMMAND: FAKE_SSH, GIT_SSH_VARIANT: 'ssh', FAKE_SSH_LOG: log })
  await roundTrip(t, `ssh://example.com:2222${repo.path}`, env, repo.path)
  t.same(readFileSync(log, 'utf8').split('\n').filter((l) => l !== '' && l !== '--'), ['-o', 'SendEnv=GIT_PROTOCOL', '-p', '2222', 'example.com', `git-upload-pack ${shellQuote(repo.path)}`])

  t.throws(() => openTransport(`ssh://example.com:2222${repo.path}`, { env: pinnedEnv({ GIT_SSH_COMMAND: FAKE_SSH }) }), { message: /ssh variant 'simple' does not support setting port/ })
})

t.test('ssh command resolution and quoting', async (t) => {
  const remote = { kind: 'ssh' as const, host: 'h', path: "/it's!/x", displayUrl: 'h:x' }
  t.equal(shellQuote("/it's!/x"), `'/it'\\''s'\\!'/x'`)
  // GIT_SSH_COMMAND is a shell snippet.
  const a = sshSpawnSpec(remote, { env: { GIT_SSH_COMMAND: 'ssh -i key' } })
  t.same([a.file, ...a.args], ['sh', '-c', 'ssh -i key "$@"', 'ssh -i key', '-o', 'SendEnv=GIT_PROTOCOL', 'h', `git-upload-pack '/it'\\''s'\\!'/x'`])
  t.equal(a.env['GIT_PROTOCOL'], 'version=2')
  // GIT_SSH is a program, run directly.
  const b = sshSpawnSpec({ ...remote, port: 22 }, { env: { GIT_SSH: '/usr/bin/plink' } })
  t.same([b.file, ...b.args], ['/usr/bin/plink', '-P', '22', 'h', `git-upload-pack '/it'\\''s'\\!'/x'`])
  // The option wins over the environment; uploadPack replaces the program name.
  const c = sshSpawnSpec({ ...remote, user: 'u' }, { sshCommand: 'myssh', uploadPack: '/opt/git/bin/git-upload-pack', env: { GIT_SSH_COMMAND: 'ssh' } })
  t.same(c.args.slice(-2), ['u@h', `/opt/git/bin/git-upload-pack '/it'\\''s'\\!'/x'`])
  t.same(c.args.slice(0, 3), ['-c', 'myssh "$@"', 'myssh'])
  // Default: plain ssh.
  const d = sshSpawnSpec(remote, { env: {} })
  t.same([d.file, ...d.args.slice(0, 2)], ['ssh', '-o', 'SendEnv=GIT_PROTOCOL'])
})

t.test('ssh to a missing repository: the remote fatal line becomes the error', async (t) => {
  const env = pinnedEnv({ GIT_SSH_COMMAND: FAKE_SSH })
  const tr = openTransport(`example.com:${tmp.path}/nope.git`, { env })
  await t.rejects(tr.handshake(), { name: 'UploadPackError', code: 'E_TRANSPORT', message: /does not appear to be a git repository/ })
  await tr.close()
})

t.test('an ssh command that cannot run is a TransportError', async (t) => {
  const tr = openTransport(`example.com:/x`, { env: pinnedEnv({ GIT_SSH: `${tmp.path}/no-such-ssh` }) })
  await t.rejects(tr.handshake(), { code: 'E_TRANSPORT', message: /cannot run .*no-such-ssh/ })
  await tr.close()
})

t.test('close() reports a failure that happened after the output ended', async (t) => {
  // upload-pack that speaks, then fails: the reader sees the end, close() must not swallow the status.
  const tr = openTransport(repo.path, { env: pinnedEnv(), uploadPack: 'git-upload-pack "$@"; echo "fatal: late failure" >&2; exit 3; :' })
  const adv = await tr.handshake()
  t.equal(pktText((await adv.read())!), 'version 2')
  await readSection(adv)
  const err = await tr.close().then(() => undefined, (e: unknown) => e)
  // Either it surfaced already through the reader or close reports it; here nothing read past the flush.
  t.ok(err instanceof UploadPackError, 'close() rejects')
  t.equal((err as Error).message, 'late failure')
  t.equal((err as UploadPackError).status, 3)
})

t.test('reading past the end of a failed upload-pack raises its error, not "hung up"', async (t) => {
  const tr = openTransport(repo.path, { env: pinnedEnv(), uploadPack: "printf '000bvers 2\\n0000'; echo 'fatal: broken on purpose' >&2; exit 128; :" })
  const adv = await tr.handshake()
  t.equal(pktText((await adv.read())!), 'vers 2')
  t.equal((await adv.read())?.type, 'flush')
  await t.rejects(adv.read(), { name: 'UploadPackError', message: 'broken on purpose' })
  await tr.close()
})
