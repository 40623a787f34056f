/**
 * A clone interrupted in the middle of the pack (Ctrl-C, or SIGTERM from a CI runner)
 * exits 130/143 like a process killed by the signal, keeps what arrived, says how to
 * finish it, and tsgit clone-resume does.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, pinnedEnv, tempDir } from '../fixtures/git.js'
import { FAKE_SSH, makeBigRepo } from '../fixtures/repos.js'
import { TSGIT_BIN, tsgit } from '../fixtures/tsgit.js'
import { resumeState } from '../fixtures/clone-shape.js'

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return cond()
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${sig} in the middle of the pack`, async (t) => {
    const tmp = tempDir('tsgit-intr-')
    t.teardown(tmp.cleanup)
    const repo = await makeBigRepo(join(tmp.path, 'big.git'), { files: 800, commits: 2, fileSize: 3000 })
    // An ssh stand-in that runs the real upload-pack but stalls after the first 256 KiB of its answer
    // (a cut keeps whole pkt-lines only: up to 64 KiB each).
    const stall = join(tmp.path, 'stall-ssh.sh')
    // (head(1) would buffer; a small node filter passes bytes through as they come.)
    const filter = join(tmp.path, 'stall.cjs')
    const stalled = join(tmp.path, 'stalled')
    writeFileSync(filter, `let n = 0; process.stdin.on('data', (b) => { if (n < 262144) process.stdout.write(b.subarray(0, 262144 - n)); n += b.length; if (n >= 262144) require('fs').writeFileSync(${JSON.stringify(stalled)}, '') }); setTimeout(() => {}, 60000)\n`)
    writeFileSync(stall, `#!/bin/sh\nwhile [ $# -gt 2 ]; do shift; done\nsh -c "$2" | '${process.execPath}' '${filter}'\n`)
    chmodSync(stall, 0o755)
    const dest = join(tmp.path, 'clone')
    const child = spawn(process.execPath, [TSGIT_BIN, 'clone', `example.com:${repo.path}`, dest], {
      env: pinnedEnv({ GIT_SSH_COMMAND: stall }),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const packDir = join(dest, '.git/objects/pack')
    const receiving = await waitFor(() => existsSync(stalled) && existsSync(packDir) && readdirSync(packDir).some((f) => f.startsWith('tmp_pack_')), 20000)
    t.ok(receiving, 'the pack is being received into a temporary file, and the stand-in stalls after 256 KiB (several whole packets of the pack)')
    // (give the client the time to read what the stand-in passed)
    await new Promise((r) => setTimeout(r, 200))
    child.kill(sig)
    const code = await exited
    t.equal(code, sig === 'SIGINT' ? 130 : 143, 'exit code of a process killed by the signal')
    t.match(stderr, new RegExp(`fatal: interrupted by ${sig}\\nhint: .*tsgit clone-resume .*clone.*\\n$`), `says what to do: ${stderr}`)
    t.notMatch(stderr, /at .*\.js:\d+/, 'no stack trace')
    t.ok(existsSync(dest), 'what arrived is kept')
    t.match(resumeState(dest), /cloneresume\.pack tmp_pack_/, 'with the file it was receiving named in its state')
    const resumed = await tsgit(['clone-resume', dest], { env: { GIT_SSH_COMMAND: FAKE_SSH } })
    t.equal(resumed.status, 0, resumed.stderr)
    t.equal(git(['fsck', '--strict'], { cwd: dest, allowFail: true }).status, 0, 'git fsck')
    t.equal(git(['rev-parse', 'HEAD'], { cwd: dest }).stdout.trim(), repo.head)
    t.equal(git(['status', '--porcelain'], { cwd: dest }).stdout, '')
  })
}
