/**
 * Progress as a person sees it: the real CLI on a pseudo-terminal (util-linux
 * `script` gives it one), cloning from git http-backend through a proxy that paces
 * the answer, so the clone lasts long enough for the line to be redrawn many times and
 * a rate to mean something. The assertions are on the bytes the terminal got, split
 * where "\r" and "\n" send the cursor to column 0, and on the screen they leave.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { git, pinnedEnv } from '../fixtures/git.js'
import { startCdn, type Cdn } from '../fixtures/cdn.js'
import { serveRepos } from '../fixtures/served.js'
import { startGitServer, type GitServer } from '../fixtures/server.js'
import { screen, segments } from '../fixtures/terminal.js'
import { TSGIT_COMMAND } from '../fixtures/tsgit.js'

const skip = spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script is not installed'

/** Bytes a second the proxy lets through: the pack takes about two seconds. */
const PACE = 1536 * 1024

/**
 * 800 text files, each changed a little by the second commit, which also adds 2.5 MiB of
 * pseudo-random files whose paths sort after them. git's pack has the new texts, then
 * the random files, then the old texts as deltas on the new: more than the indexer's
 * 2 MiB of recent objects apart, so every delta is left for the second pass (threads).
 */
function makeFarDeltasRepo(dir: string): void {
  const work = `${dir}.work`
  git(['init', '-q', '-b', 'main', work])
  const text = (i: number, edited: boolean): string =>
    Array.from({ length: 40 }, (_, n) => `file ${i} line ${n} ${((i + 1) * 2654435761 + n * 40503) >>> 0}${edited && n === i % 40 ? ' edited' : ''}\n`).join('')
  mkdirSync(join(work, 'f'))
  for (let i = 0; i < 800; i++) writeFileSync(join(work, 'f', `${i}.txt`), text(i, false))
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'texts'], { cwd: work })
  for (let i = 0; i < 800; i++) writeFileSync(join(work, 'f', `${i}.txt`), text(i, true))
  mkdirSync(join(work, 'zz'))
  let x = 4242
  for (let f = 0; f < 25; f++) {
    const bytes = Buffer.alloc(100 * 1024)
    for (let i = 0; i < bytes.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      bytes[i] = 97 + ((x >>> 16) % 26)
    }
    writeFileSync(join(work, 'zz', `r${f}.bin`), bytes)
  }
  git(['add', '-A'], { cwd: work })
  git(['commit', '-q', '-m', 'edits and random files'], { cwd: work })
  git(['clone', '-q', '--bare', '--no-local', work, dir])
  rmSync(work, { recursive: true, force: true })
}

const srv = serveRepos(t, 'tsgit-display-tty-', async (root) => {
  makeFarDeltasRepo(join(root, 'far.git'))
})

/** A proxy in front of `origin` that lets answers through at `bytesPerSecond`. */
function pacedProxy(origin: string, bytesPerSecond: number): Promise<{ origin: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const upstream = request(`${origin}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      const start = Date.now()
      let sent = 0
      answer.on('data', (chunk: Buffer) => {
        sent += chunk.length
        res.write(chunk)
        const early = start + (sent * 1000) / bytesPerSecond - Date.now()
        if (early > 0) {
          answer.pause()
          setTimeout(() => answer.resume(), early)
        }
      })
      answer.on('end', () => res.end())
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
    }))
  })
}

interface TtyRun {
  status: number
  /** Everything the terminal got (stdout and stderr share it), in order. */
  output: string
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** Runs tsgit with a terminal for stdin, stdout and stderr. */
function tsgitInPty(args: string[], env: Record<string, string> = {}): Promise<TtyRun> {
  const command = [TSGIT_COMMAND, ...args].map(quote).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: pinnedEnv({ TERM: 'xterm', ...env }), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (text: string) => void (output += text))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ status: code ?? -1, output }))
  })
}

/** "2.36 MiB/s" → bytes a second. */
function rateOf(s: string): number | undefined {
  const m = / \| ([\d.]+) (bytes|KiB|MiB|GiB)\/s/.exec(s)
  if (m === null) return undefined
  return Number(m[1]) * 1024 ** ['bytes', 'KiB', 'MiB', 'GiB'].indexOf(m[2] as string)
}

t.test('a clone on a terminal: server lines at column 0, no rate before it means something, deltas to 100%', { skip }, async (t) => {
  const proxy = await pacedProxy(srv.server.origin, PACE)
  t.teardown(proxy.close)
  const dest = srv.dest()
  const r = await tsgitInPty(['-c', 'pack.threads=2', 'clone', '--no-checkout', `${proxy.origin}/far.git`, dest])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.output)
  const pieces = segments(r.output).filter((s) => s !== '')

  const remote = pieces.filter((s) => s.includes('remote:'))
  t.ok(remote.length > 0, 'the server\'s lines are shown')
  for (const s of remote) if (!s.startsWith('remote:')) t.fail(`a server line does not start at column 0: ${JSON.stringify(s)}`)
  const total = pieces.map((s) => /^remote: Total (\d+) \(delta (\d+)\)/.exec(s)).find((m) => m !== null)
  t.ok(total, 'remote: Total … is a line of its own')
  const [objects, deltas] = [Number(total?.[1]), Number(total?.[2])]

  const receiving = pieces.filter((s) => s.startsWith('Receiving objects:'))
  t.ok(receiving.length >= 10, `the line is redrawn (${receiving.length} times)`)
  // The exact rule (nothing before half a second) is display.test.ts's, on a clock it
  // moves; here, where the machine may be slow, what a person would notice.
  t.same(receiving.slice(0, 3).filter((s) => /\/s|bytes|iB/.test(s)), [], 'the first redraws show neither bytes nor rate')
  const rated = receiving.filter((s) => !s.includes('done.') && rateOf(s) !== undefined)
  t.ok(rated.length > 0, 'a rate is shown while the pack comes (it takes over a second)')
  for (const s of rated) if ((rateOf(s) as number) > 3 * PACE) t.fail(`a rate the proxy cannot have given: ${s}`)
  t.match(receiving.at(-1), new RegExp(`^Receiving objects: 100% \\(${objects}/${objects}\\), [\\d.]+ (KiB|MiB) \\| [\\d.]+ (KiB|MiB)/s, done\\.`))

  const resolving = pieces.filter((s) => s.startsWith('Resolving deltas:')).map((s) => s.trimEnd())
  t.ok(deltas >= 700 && resolving.length >= 2, `the deltas (${deltas}) are left for the threads, the line drawn as they start: ${resolving.join(' | ')}`)
  t.equal(resolving.at(-1), `Resolving deltas: 100% (${deltas}/${deltas}), done.`, 'the last line is total/total, the server\'s count')
  const counts = resolving.map((s) => Number(/\((\d+)\//.exec(s)?.[1]))
  t.ok(counts.every((c, i) => i === 0 || c >= (counts[i - 1] as number)), 'and the count never goes back')

  // What is left on the screen: each on its own row, none written into another.
  const rows = screen(r.output).filter((row) => row !== '')
  const shown = rows.filter((row) => /Receiving|Resolving|remote: Total/.test(row))
  t.equal(shown.length, 3, shown.join('\n'))
  t.match(shown[0], new RegExp(`^remote: Total ${objects} \\(delta ${deltas}\\), reused \\d+ \\(delta \\d+\\), pack-reused \\d+$`))
  t.match(shown[1], new RegExp(`^Receiving objects: 100% \\(${objects}/${objects}\\), [\\d.]+ (KiB|MiB) \\| [\\d.]+ (KiB|MiB)/s, done\\.$`))
  t.equal(shown[2], `Resolving deltas: 100% (${deltas}/${deltas}), done.`)
  t.equal(git(['fsck', '--connectivity-only'], { cwd: dest, allowFail: true }).status, 0, 'and the clone is whole')
})

t.test('on a terminal, --quiet writes nothing', { skip }, async (t) => {
  const r = await tsgitInPty(['clone', '--quiet', '--no-checkout', srv.server.url('far.git'), srv.dest()])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.output)
  t.equal(r.output, '', 'nothing at all')
})

t.test('packfile-uris on a terminal: "Downloading packs" has a row of its own, after the response\'s pack', { skip }, async (t) => {
  const root = join(srv.tmp.path, 'uris')
  const work = join(root, 'work')
  git(['init', '-q', '-b', 'main', work])
  writeFileSync(join(work, 'big.txt'), Array.from({ length: 60000 }, (_, i) => `line ${i} ${(i * 2654435761) >>> 0}\n`).join(''))
  writeFileSync(join(work, 'small.txt'), 'small\n')
  git(['add', '.'], { cwd: work })
  git(['commit', '-q', '-m', 'one'], { cwd: work })
  mkdirSync(join(root, 'srv'), { recursive: true })
  // A local clone keeps the objects loose: git 2.39 names a pack only for a loose blob.
  git(['clone', '-q', '--bare', work, join(root, 'srv', 'repo.git')])
  const blob = git(['rev-parse', 'HEAD:big.txt'], { cwd: work }).stdout.trim()
  mkdirSync(join(root, 'cdn'))
  const hash = git(['pack-objects', join(root, 'cdn', 'p')], { cwd: join(root, 'srv', 'repo.git'), input: `${blob}\n` }).stdout.trim()
  writeFileSync(join(root, 'cdn', 'blob.pack'), readFileSync(join(root, 'cdn', `p-${hash}.pack`)))
  const cdn: Cdn = await startCdn({ root: join(root, 'cdn') })
  t.teardown(() => cdn.close())
  const server: GitServer = await startGitServer({
    root: join(root, 'srv'),
    config: { 'uploadpack.allowSidebandAll': 'true', 'uploadpack.blobPackfileUri': `${blob} ${hash} ${cdn.origin}/blob.pack` },
  })
  t.teardown(() => server.close())

  const r = await tsgitInPty(['clone', '-c', 'fetch.uriProtocols=http', server.url('repo.git'), join(root, 'clone')])
  t.equal(r.status, 0, r.status === 0 ? 'exit 0' : r.output)
  for (const s of segments(r.output)) if (s.includes('remote:') && !s.startsWith('remote:')) t.fail(`a server line does not start at column 0: ${JSON.stringify(s)}`)
  // The response's pack has no delta here: no "Resolving deltas", as git.
  const rows = screen(r.output).filter((row) => /Receiving|Resolving|Downloading|Updating/.test(row))
  t.equal(rows.length, 3, rows.join('\n'))
  t.match(rows[0], /^Receiving objects: 100% \(\d+\/\d+\), .*, done\.$/)
  t.match(rows[1], /^Downloading packs: 100% \(1\/1\), [\d.]+ (KiB|MiB) \| [\d.]+ (bytes|KiB|MiB|GiB)\/s, done\.$/, 'with a rate from when its bytes began, though its line shows only once the response\'s pack is in')
  t.match(rows[2], /^Updating files: 100% \(2\/2\), done\.$/)
})
