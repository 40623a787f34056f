/**
 * Credentials without a person (gitcredentials(7)): credential helpers, askpass,
 * http.<url>.extraHeader, transfer.credentialsInUrl, each run by the tsgit CLI against
 * the suite's git http-backend requiring Basic auth, and where it can be, by real git
 * too, whose requests, stored credentials, prompts and messages must be the same.
 * No secret may appear on stderr.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gitAsync, git, pinnedEnv } from '../fixtures/git.js'
import { makeRichRepo } from '../fixtures/repos.js'
import { serveRepos } from '../fixtures/served.js'
import { startGitServer, startRedirectServer, type GitServer, type RecordedRequest } from '../fixtures/server.js'
import { childResult, textResult, tsgit, TSGIT_COMMAND, type TsgitResult } from '../fixtures/tsgit.js'

const PASSWORD = 'sEcr3t-pw'
const BASIC = `Basic ${Buffer.from(`u:${PASSWORD}`).toString('base64')}`
const served = serveRepos(t, 'tsgit-creds-', async (root) => {
  await makeRichRepo(join(root, 'rich.git'))
})
let auth: GitServer
t.before(async () => {
  auth = await startGitServer({ root: served.root, auth: { username: 'u', password: PASSWORD } })
})
t.teardown(async () => auth?.close())

let files = 0
/** A helper script that logs its action and stdin to `log`, then prints `answer` for get. */
function helperScript(answer: string): { path: string; log: string } {
  const path = join(served.tmp.path, `helper${files}.sh`)
  const log = join(served.tmp.path, `helper${files++}.log`)
  writeFileSync(path, `#!/bin/sh\n{ echo "action=$1"; cat; echo; } >> '${log}'\nif [ "$1" = get ]; then printf '%s' '${answer}'; fi\n`)
  chmodSync(path, 0o755)
  return { path, log }
}
function actions(log: string): string[] {
  return existsSync(log) ? [...readFileSync(log, 'utf8').matchAll(/^action=(\w+)$/gm)].map((m) => m[1] as string) : []
}
function since(server: GitServer, n: number): RecordedRequest[] {
  return server.requests.slice(n)
}
/**
 * Only the first contact goes without credentials, and gets 401: the handshake, and not
 * a request sent ahead of its answer (http.ts sends none while a helper waits to answer
 * the 401: it would be refused too, a request more than git makes); every request after
 * the first that carried credentials carries them too.
 */
function firstContactOnly(t: Test, seen: RecordedRequest[]): void {
  const authorized = seen.findIndex((q) => q.headers.authorization !== undefined)
  t.equal(authorized, 1, 'one request before credentials, as git')
  t.ok(seen.slice(0, authorized).every((q) => q.status === 401), 'those got 401')
  t.ok(seen.slice(authorized).every((q) => q.headers.authorization === BASIC && q.status === 200), 'every request after them carries the credentials and is answered')
}
function noSecret(t: Test, stderr: string): void {
  t.notMatch(stderr, PASSWORD, 'the password is not on stderr')
  t.notMatch(stderr, BASIC.slice(6), 'nor its base64')
}

t.test('a helper answers the 401: asked once, its credentials sent on, stored after success', async (t) => {
  const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
  const first = auth.requests.length
  const d = served.dest()
  const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', auth.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  noSecret(t, r.stderr)
  const seen = since(auth, first)
  t.equal(seen[0]?.headers.authorization, undefined, 'the first request goes without credentials')
  firstContactOnly(t, seen)
  t.same(actions(h.log), ['get', 'store'], 'get once, store once')
  const log = readFileSync(h.log, 'utf8')
  const port = new URL(auth.origin).port
  t.match(log, `action=get\nprotocol=http\nhost=127.0.0.1:${port}\n\n`, 'get is told protocol and host, no path')
  t.match(log, `action=store\nprotocol=http\nhost=127.0.0.1:${port}\nusername=u\npassword=${PASSWORD}\n`)
  t.equal(git(['-C', d, 'fsck']).status, 0)
})

const hasCache = existsSync(join(git(['--exec-path']).stdout.trim(), 'git-credential-cache'))
t.test('credential.helper=cache: what worked is cached by git\'s daemon and served to the next command without asking', { skip: hasCache ? false : 'no git-credential-cache in this git' }, async (t) => {
  const askpass = join(served.tmp.path, 'askpass-cache.sh')
  const asked = join(served.tmp.path, 'askpass-cache.log')
  writeFileSync(askpass, `#!/bin/sh\necho "$1" >> '${asked}'\ncase "$1" in Username*) echo u;; *) echo '${PASSWORD}';; esac\n`)
  chmodSync(askpass, 0o755)
  // the socket in a short directory of its own (a unix socket path has a length limit)
  const socket = join(served.tmp.path, 'cache-sock')
  const helper = `cache --timeout=300 --socket=${socket}`
  t.teardown(() => {
    git(['credential-cache', `--socket=${socket}`, 'exit'], { allowFail: true })
  })
  const first = await tsgit(['-c', `credential.helper=${helper}`, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: askpass } })
  t.equal(first.status, 0, first.stderr)
  t.equal(readFileSync(asked, 'utf8').split('\n').filter((l) => l !== '').length, 2, 'asked for user name and password once')
  // no askpass, no terminal: the cache alone answers
  const n = auth.requests.length
  const second = await tsgit(['-c', `credential.helper=${helper}`, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_TERMINAL_PROMPT: '0' } })
  t.equal(second.status, 0, second.stderr)
  noSecret(t, second.stderr)
  firstContactOnly(t, since(auth, n))
  // and what tsgit cached, git reads
  const g = await gitAsync(['-c', `credential.helper=${helper}`, 'ls-remote', auth.url('rich.git')], { env: { GIT_TERMINAL_PROMPT: '0' }, allowFail: true })
  t.equal(g.status, 0, `real git is answered by the same cache: ${g.stderr}`)
})

t.test('"!" helpers run in the shell; credential.useHttpPath adds the path; credential.<url>.helper matches the URL', async (t) => {
  const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
  const d = served.dest()
  const r = await tsgit(['-c', `credential.${auth.origin}/.helper=!'${h.path}'`, '-c', 'credential.http://elsewhere.example/.helper=!exit 1', '-c', 'credential.useHttpPath=true', 'clone', '-q', auth.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.match(readFileSync(h.log, 'utf8'), /^action=get\nprotocol=http\nhost=127\.0\.0\.1:\d+\npath=rich\.git\n\n/)
})

t.test('credential.helper=store: git\'s own helper stores what worked and erases what the server refused', async (t) => {
  const askpass = join(served.tmp.path, 'askpass-store.sh')
  writeFileSync(askpass, `#!/bin/sh\ncase "$1" in Username*) echo u;; *) echo '${PASSWORD}';; esac\n`)
  chmodSync(askpass, 0o755)
  const ours = join(served.tmp.path, 'store-tsgit')
  const theirs = join(served.tmp.path, 'store-git')
  const r = await tsgit(['-c', `credential.helper=store --file=${ours}`, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: askpass } })
  t.equal(r.status, 0, r.stderr)
  const g = await gitAsync(['-c', `credential.helper=store --file=${theirs}`, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: askpass } })
  t.equal(g.status, 0, g.stderr)
  t.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'), 'the store file is what git writes')
  t.match(readFileSync(ours, 'utf8'), `http://u:${PASSWORD}@127.0.0.1`)

  // a stale password in the store: sent, refused, erased
  writeFileSync(ours, readFileSync(ours, 'utf8').replace(PASSWORD, 'stale'))
  const first = auth.requests.length
  const bad = await tsgit(['-c', `credential.helper=store --file=${ours}`, 'clone', '-q', auth.url('rich.git'), served.dest()])
  t.equal(bad.status, 128)
  t.equal(bad.stderr, `fatal: Authentication failed for '${auth.url('rich.git')}/'\n`, 'git\'s message, naming the URL')
  t.notMatch(bad.stderr, 'stale')
  t.equal(readFileSync(ours, 'utf8'), '', 'the refused credentials were erased')
  const tries = since(auth, first)
  t.ok(tries.every((q) => q.status === 401), 'every request was refused')
  const withStale = tries.filter((q) => q.headers.authorization !== undefined).length
  t.ok(withStale >= 1 && withStale <= tries.length - withStale, 'each request tried once more with the stored credentials, no more')
})

t.test('no helper, no askpass, terminal prompts off: fails at once as git does, no credentials sent', async (t) => {
  const first = auth.requests.length
  const r = await tsgit(['clone', '-q', auth.url('rich.git'), served.dest()])
  const g = await gitAsync(['clone', '-q', auth.url('rich.git'), served.dest()], { allowFail: true })
  t.equal(r.status, 128)
  t.equal(r.stderr, g.stderr, 'git\'s words')
  t.equal(r.stderr, `fatal: could not read Username for '${auth.origin}': terminal prompts disabled\n`)
  t.equal(since(auth, first).filter((q) => q.headers.authorization !== undefined).length, 0)
  // a user name in the URL: only the password is missing
  const u = auth.url('rich.git').replace('http://', 'http://u@')
  const r2 = await tsgit(['clone', '-q', u, served.dest()])
  const g2 = await gitAsync(['clone', '-q', u, served.dest()], { allowFail: true })
  t.equal(r2.status, 128)
  t.equal(r2.stderr, g2.stderr)
})

t.test('wrong credentials in the URL: 401, git\'s message without them', async (t) => {
  const u = auth.url('rich.git').replace('http://', 'http://u:wrong-pw@')
  const r = await tsgit(['clone', '-q', u, served.dest()])
  const g = await gitAsync(['clone', '-q', u, served.dest()], { allowFail: true })
  t.equal(r.status, 128)
  t.equal(r.stderr, g.stderr)
  t.notMatch(r.stderr, 'wrong-pw')
})

t.test('askpass: GIT_ASKPASS, else core.askPass, else SSH_ASKPASS, with git\'s prompts', async (t) => {
  const script = (name: string): { path: string; log: string } => {
    const path = join(served.tmp.path, `${name}.sh`)
    const log = join(served.tmp.path, `${name}.log`)
    writeFileSync(path, `#!/bin/sh\necho "$1" >> '${log}'\ncase "$1" in Username*) echo u;; *) echo '${PASSWORD}';; esac\n`)
    chmodSync(path, 0o755)
    return { path, log }
  }
  const ours = script('askpass-tsgit')
  const theirs = script('askpass-git')
  const r = await tsgit(['clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: ours.path, SSH_ASKPASS: '/bin/false' } })
  t.equal(r.status, 0, r.stderr)
  const g = await gitAsync(['clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: theirs.path } })
  t.equal(g.status, 0, g.stderr)
  t.equal(readFileSync(ours.log, 'utf8'), readFileSync(theirs.log, 'utf8'), 'the same prompts as git')
  t.equal(readFileSync(ours.log, 'utf8'), `Username for '${auth.origin}': \nPassword for '${auth.origin.replace('http://', 'http://u@')}': \n`)
  const core = script('askpass-core')
  t.equal((await tsgit(['-c', `core.askPass=${core.path}`, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { SSH_ASKPASS: '/bin/false' } })).status, 0, 'core.askPass before SSH_ASKPASS')
  const ssh = script('askpass-ssh')
  t.equal((await tsgit(['clone', '-q', auth.url('rich.git'), served.dest()], { env: { SSH_ASKPASS: ssh.path } })).status, 0, 'SSH_ASKPASS last')
  t.ok(existsSync(core.log) && existsSync(ssh.log))
  // credential.<url>.username: only the password is asked for, of the user named
  const named = script('askpass-named-tsgit')
  const namedGit = script('askpass-named-git')
  const username = ['-c', `credential.${auth.origin}.username=u`]
  t.equal((await tsgit([...username, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: named.path } })).status, 0)
  t.equal((await gitAsync([...username, 'clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: namedGit.path } })).status, 0)
  t.equal(readFileSync(named.log, 'utf8'), readFileSync(namedGit.log, 'utf8'))
  t.equal(readFileSync(named.log, 'utf8'), `Password for '${auth.origin.replace('http://', 'http://u@')}': \n`)
})

t.test('an askpass program that fails: git\'s error, then the terminal, here disabled', async (t) => {
  const failing = join(served.tmp.path, 'askpass-fails.sh')
  writeFileSync(failing, '#!/bin/sh\nexit 1\n')
  chmodSync(failing, 0o755)
  const r = await tsgit(['clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: failing } })
  const g = await gitAsync(['clone', '-q', auth.url('rich.git'), served.dest()], { env: { GIT_ASKPASS: failing }, allowFail: true })
  t.equal(r.status, 128)
  t.equal(r.stderr, g.stderr, 'git\'s words')
  t.equal(r.stderr, `error: unable to read askpass response from '${failing}'\nfatal: could not read Username for '${auth.origin}': terminal prompts disabled\n`)
})

t.test('hostile URLs and answers', async (t) => {
  t.test('a newline in the URL\'s user name never reaches a helper', async (t) => {
    const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
    const u = auth.url('rich.git').replace('http://', 'http://u%0ahost=evil.example@')
    const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', u, served.dest()])
    t.equal(r.status, 128)
    t.match(r.stderr, /^warning: url contains a newline in its username component: http:\/\/u%0ahost/m)
    t.match(r.stderr, /^fatal: credential url cannot be parsed: /m)
    t.same(actions(h.log), [], 'the helper was not run')
  })
  t.test('nor a carriage return', async (t) => {
    const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
    const u = auth.url('rich.git').replace('http://', 'http://u%0d@')
    const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', u, served.dest()])
    t.equal(r.status, 128)
    t.equal(r.stderr, 'fatal: credential value for username contains carriage return\n')
    t.same(actions(h.log), [])
  })
  t.test('an answer about another host is ignored', async (t) => {
    const h = helperScript(`protocol=http\nhost=evil.example\nusername=u\npassword=${PASSWORD}\n`)
    const first = auth.requests.length
    const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', auth.url('rich.git'), served.dest()])
    t.equal(r.status, 128)
    t.match(r.stderr, /could not read Username/)
    noSecret(t, r.stderr)
    t.equal(since(auth, first).filter((q) => q.headers.authorization !== undefined).length, 0, 'its credentials were never sent')
  })
  t.test('an answer with a carriage return in a value is ignored', async (t) => {
    const h = helperScript(`username=u\npassword=${PASSWORD}\r\n`)
    const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', auth.url('rich.git'), served.dest()])
    t.equal(r.status, 128)
    t.match(r.stderr, /could not read Username/)
  })
  t.test('a redirect to another origin that asks for credentials gets none, and no helper is asked', async (t) => {
    const redirect = await startRedirectServer({ to: auth.origin })
    t.teardown(() => redirect.close())
    const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
    const first = auth.requests.length
    const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', redirect.url('rich.git'), served.dest()])
    t.equal(r.status, 128)
    t.same(actions(h.log), [])
    t.equal(since(auth, first).filter((q) => q.headers.authorization !== undefined).length, 0)
  })
})

t.test('transfer.credentialsInUrl: warn and die with git\'s words', async (t) => {
  const u = auth.url('rich.git').replace('http://', `http://u:${PASSWORD}@`)
  const warn = await tsgit(['-c', 'transfer.credentialsInUrl=warn', 'clone', '-q', u, served.dest()])
  t.equal(warn.status, 0, warn.stderr)
  t.match(warn.stderr, `warning: URL '${auth.url('rich.git').replace('http://', 'http://u:<redacted>@')}' uses plaintext credentials\n`)
  noSecret(t, warn.stderr)
  const first = auth.requests.length
  const die = await tsgit(['-c', 'transfer.credentialsInUrl=die', 'clone', '-q', u, served.dest()])
  const g = await gitAsync(['-c', 'transfer.credentialsInUrl=die', 'clone', '-q', u, served.dest()], { allowFail: true })
  t.equal(die.status, 128)
  t.equal(die.stderr, g.stderr)
  t.equal(auth.requests.length - first, 0, 'nothing was sent')
})

t.test('http.<url>.extraHeader: the keys that match the URL, in git\'s order, as git sends them', async (t) => {
  const server = served.server
  const config = [
    'http.extraHeader=X-A: bare',
    `http.${server.origin}/.extraHeader=X-B: origin`,
    'http.extraHeader=X-C: weaker-after-stronger',
    `http.${server.origin}/rich.git.extraHeader=X-D: path`,
    `http.${server.origin}/other.git.extraHeader=X-E: other-path`,
    'http.https://github.com/.extraHeader=X-F: other-host',
  ].flatMap((c) => ['-c', c])
  const xHeaders = (q: RecordedRequest | undefined): Record<string, unknown> => Object.fromEntries(Object.entries(q?.headers ?? {}).filter(([k]) => k.startsWith('x-')))
  const first = server.requests.length
  t.equal((await tsgit([...config, 'clone', '-q', server.url('rich.git'), served.dest()])).status, 0)
  const mid = server.requests.length
  t.equal((await gitAsync([...config, 'clone', '-q', server.url('rich.git'), served.dest()])).status, 0)
  const ours = xHeaders(server.requests[first])
  t.same(ours, xHeaders(server.requests[mid]), 'the same headers as git')
  t.same(ours, { 'x-a': 'bare', 'x-b': 'origin', 'x-d': 'path' })

  // actions/checkout's way: the Authorization header for one host
  const r = await tsgit(['-c', `http.${auth.origin}/.extraheader=AUTHORIZATION: ${BASIC}`, 'clone', '-q', auth.url('rich.git'), served.dest()])
  t.equal(r.status, 0, r.stderr)
  noSecret(t, r.stderr)
})

t.test('a partial clone and its lazy fetches ask the helper once', async (t) => {
  const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
  const d = served.dest()
  const first = auth.requests.length
  const r = await tsgit(['-c', `credential.helper=${h.path}`, 'clone', '-q', '--filter=blob:none', auth.url('rich.git'), d])
  t.equal(r.status, 0, r.stderr)
  t.ok(since(auth, first).filter((q) => q.command === 'fetch').length >= 2, 'the checkout fetched blobs lazily')
  t.same(actions(h.log), ['get', 'store'], 'one get, one store, for the whole command')
  firstContactOnly(t, since(auth, first))
})

t.test('a later command\'s lazy fetch asks the helper once too', async (t) => {
  const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
  const d = served.dest()
  const helper = ['-c', `credential.helper=${h.path}`]
  t.equal((await tsgit([...helper, 'clone', '-q', '--no-checkout', '--filter=blob:none', auth.url('rich.git'), d])).status, 0)
  t.same(actions(h.log), ['get', 'store'])
  const first = auth.requests.length
  const r = await tsgit([...helper, '-C', d, 'checkout', '-q', 'main'])
  t.equal(r.status, 0, r.stderr)
  noSecret(t, r.stderr)
  t.ok(since(auth, first).some((q) => q.command === 'fetch' && q.status === 200), 'the blobs came by lazy fetch')
  firstContactOnly(t, since(auth, first))
  t.same(actions(h.log), ['get', 'store', 'get', 'store'], 'one get and one store for the checkout')
})

/**
 * Runs `argv` (tsgit or git) on a terminal of its own (util-linux script(1) makes one),
 * typing `answers[i]` once the output shows `prompts[i]`; returns what the terminal showed.
 */
async function onTerminal(argv: string[], prompts: string[], answers: string[]): Promise<TsgitResult> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
  const child = spawn('script', ['-qfec', quoted, '/dev/null'], { env: pinnedEnv({ GIT_TERMINAL_PROMPT: '1' }) })
  let shown = ''
  let step = 0
  child.stdout.on('data', (b: Buffer) => {
    shown += b.toString('utf8')
    while (step < prompts.length && shown.includes(prompts[step] as string)) child.stdin.write(`${answers[step++] as string}\n`)
  })
  const r = textResult(await childResult(child))
  return { ...r, stdout: shown }
}

const hasScript = existsSync('/usr/bin/script')

t.test('on a terminal: git\'s prompts, the user name echoed, the password not', { skip: hasScript ? false : 'no script(1) to make a terminal' }, async (t) => {
  const prompts = [`Username for '${auth.origin}': `, `Password for '${auth.origin.replace('http://', 'http://u@')}': `]
  const ours = await onTerminal([TSGIT_COMMAND, 'clone', '-q', auth.url('rich.git'), served.dest()], prompts, ['u', PASSWORD])
  t.equal(ours.status, 0, ours.stdout)
  const theirs = await onTerminal(['git', 'clone', '-q', auth.url('rich.git'), served.dest()], prompts, ['u', PASSWORD])
  t.equal(theirs.status, 0, theirs.stdout)
  t.equal(ours.stdout, theirs.stdout, 'the terminal shows what git shows')
  t.equal(ours.stdout, `${prompts[0]}u\r\n${prompts[1]}\r\n`)
  noSecret(t, ours.stdout)
})

t.test('Ctrl-C at the password prompt: interrupted (exit 130), the terminal left as it was found, nothing left', { skip: hasScript ? false : 'no script(1) to make a terminal' }, async (t) => {
  const prompts = [`Username for '${auth.origin}': `, `Password for '${auth.origin.replace('http://', 'http://u@')}': `]
  const d = served.dest()
  const q = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`
  // after tsgit, the same terminal's modes: echo and canonical input must be on again
  const line = `${[TSGIT_COMMAND, 'clone', auth.url('rich.git'), d].map(q).join(' ')}; echo "exit=$?"; stty -a`
  const r = await onTerminal(['sh', '-c', line], prompts, ['u', '\x03'])
  t.match(r.stdout, /exit=130\r?\n/, r.stdout)
  t.match(r.stdout, /(^|\s)echo(\s|$)/m, 'echo is on again')
  t.match(r.stdout, /(^|\s)icanon(\s|$)/m, 'canonical input is on again')
  t.notOk(existsSync(d), 'the clone directory is removed')
})

t.test('no controlling terminal (setsid): git\'s "No such device or address"', { skip: existsSync('/usr/bin/setsid') ? false : 'no setsid(1)' }, async (t) => {
  const run = async (argv: string[]): Promise<TsgitResult> => textResult(await childResult(spawn('setsid', ['-w', ...argv], { env: pinnedEnv({ GIT_TERMINAL_PROMPT: '1' }) })))
  const ours = await run([TSGIT_COMMAND, 'clone', '-q', auth.url('rich.git'), served.dest()])
  const theirs = await run(['git', 'clone', '-q', auth.url('rich.git'), served.dest()])
  t.equal(ours.status, 128)
  t.equal(ours.stderr, theirs.stderr)
  t.equal(ours.stderr, `fatal: could not read Username for '${auth.origin}': No such device or address\n`)
})

t.test('fetch asks too; an empty credential.helper clears the helpers before it', async (t) => {
  const d = served.dest()
  t.equal((await tsgit(['clone', '-q', auth.url('rich.git').replace('http://', `http://u:${PASSWORD}@`), d])).status, 0)
  git(['-C', d, 'remote', 'set-url', 'origin', auth.url('rich.git')])
  const cleared = helperScript('username=wrong\npassword=wrong\n')
  const h = helperScript(`username=u\npassword=${PASSWORD}\n`)
  const first = auth.requests.length
  const r = await tsgit(['-c', `credential.helper=${cleared.path}`, '-c', 'credential.helper=', '-c', `credential.helper=${h.path}`, '-C', d, 'fetch', '-q', 'origin'])
  t.equal(r.status, 0, r.stderr)
  noSecret(t, r.stderr)
  t.same(actions(cleared.log), [], 'the cleared helper was not run')
  t.same(actions(h.log), ['get', 'store'])
  firstContactOnly(t, since(auth, first))
})
