/**
 * The coded errors: the interrupt's one class, and the ErrorCode union kept to the
 * codes lib/ raises (the compiler rejects a code outside it; this catches one left
 * in it after its last throw went).
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXIT_FATAL, InterruptedError, TsgitError, isTsgitError } from '../lib/errors.js'

t.test('InterruptedError: E_INTERRUPTED, retryable, exit 128, the signal\'s reason as its cause', async (t) => {
  const reason = new Error('interrupted by SIGINT')
  const e = new InterruptedError('checkout interrupted', { cause: reason })
  t.type(e, TsgitError)
  t.ok(isTsgitError(e))
  t.match(e, { name: 'InterruptedError', code: 'E_INTERRUPTED', message: 'checkout interrupted', retryable: true, exitCode: EXIT_FATAL })
  t.equal(e.cause, reason)
})

const root = fileURLToPath(new URL('../../', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : []
  })
}

t.test('every member of ErrorCode is raised somewhere in lib/', async (t) => {
  const errors = readFileSync(join(root, 'lib', 'errors.ts'), 'utf8')
  const union = /export type ErrorCode =([\s\S]*?)\n\n/.exec(errors)?.[1] ?? ''
  const codes = [...union.matchAll(/'(E_[A-Z_]+)'/g)].map((m) => m[1] as string)
  t.ok(codes.length > 20, 'the union is there')
  // errors.ts's own classes raise theirs in `super('E_…'`; the union's lines do not count.
  const sources = files(join(root, 'lib')).map((p) => readFileSync(p, 'utf8').replace(union, ''))
  for (const code of codes) t.ok(sources.some((s) => s.includes(`'${code}'`)), code)
})
