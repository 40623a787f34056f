/**
 * The least a Node client can do for a clone without checkout over smart HTTP, protocol
 * v2: the requests tsgit makes (the advertisement and ls-refs in parallel, then one
 * fetch with the same filter, wants and `done`), every byte of each answer read, nothing
 * parsed but the ref lines, nothing written. The bench times it beside git and tsgit on
 * the --no-checkout rows, so a ratio shows how much of it no Node program could avoid.
 * Usage: node dist/bench/floor.js <url> [<filter spec>...]
 */
import http from 'node:http'
import https from 'node:https'

function pkt(line: string): string {
  return (Buffer.byteLength(line) + 4).toString(16).padStart(4, '0') + line
}

async function main(): Promise<void> {
  const [target, ...filters] = process.argv.slice(2)
  if (target === undefined) throw new Error('usage: floor.js <url> [<filter spec>...]')
  const url = new URL(target)
  const client = url.protocol === 'https:' ? https : http
  const agent = new client.Agent({ keepAlive: true })
  const send = (method: string, path: string, body?: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'Git-Protocol': 'version=2' }
      if (body !== undefined) headers['Content-Type'] = 'application/x-git-upload-pack-request'
      const req = client.request({ host: url.hostname, port: url.port, method, path, agent, headers }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`))))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  const head = pkt('agent=floor\n') + pkt('object-format=sha1\n') + '0001'
  const lsRefs = pkt('command=ls-refs\n') + head + ['peel', 'symrefs', 'unborn', 'ref-prefix HEAD', 'ref-prefix refs/heads/', 'ref-prefix refs/tags/'].map((l) => pkt(`${l}\n`)).join('') + '0000'
  const [, refs] = await Promise.all([send('GET', `${url.pathname}/info/refs?service=git-upload-pack`), send('POST', `${url.pathname}/git-upload-pack`, lsRefs)])
  const wants = new Set([...refs.toString('latin1').matchAll(/^[0-9a-f]{4}([0-9a-f]{40}) /gm)].map((m) => m[1] as string))
  const args = ['ofs-delta', 'no-progress', ...(filters.length > 0 ? [`filter ${filters.length === 1 ? filters[0] : `combine:${filters.join('+')}`}`] : []), ...[...wants].map((o) => `want ${o}`), 'done']
  const pack = await send('POST', `${url.pathname}/git-upload-pack`, pkt('command=fetch\n') + head + args.map((l) => pkt(`${l}\n`)).join('') + '0000')
  agent.destroy()
  if (wants.size === 0 || !pack.includes('packfile\n')) throw new Error('the server sent no pack')
}

main().catch((e: unknown) => {
  process.stderr.write(`floor: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})
