import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { InterruptedError } from '../../lib/errors.js'
import type { ProgressSink } from '../../lib/events.js'
import { MODE_BLOB, MODE_TREE } from '../../lib/odb/objects.js'
import { checkoutTree } from '../../lib/worktree/checkout.js'
import { tempDir } from '../fixtures/git.js'
import { MemoryObjectReader } from '../fixtures/object-reader.js'

const tmp = tempDir()
t.teardown(tmp.cleanup)

t.test('an abort raised by the event loop stops a checkout whose reads never wait', async (t) => {
  // Every read resolves at once and files are written synchronously, so only the
  // checkout's own turns of the event loop let a signal handler run.
  const reader = new MemoryObjectReader()
  const files = []
  for (let i = 0; i < 2000; i++) files.push({ name: `f${String(i).padStart(4, '0')}`, mode: MODE_BLOB, oid: reader.add('blob', `file ${i}\n`) })
  const tree = reader.addTree([{ name: 'd', mode: MODE_TREE, oid: reader.addTree(files) }])
  const ac = new AbortController()
  let scheduled = false
  const sink: ProgressSink = {
    progress(ev) {
      if (ev.title === 'Updating files' && ev.current === 1 && !scheduled) {
        scheduled = true
        setImmediate(() => ac.abort(new Error('SIGINT')))
      }
    },
    remote() {},
    warn() {},
    info() {},
  }
  const workTree = join(tmp.path, 'wt')
  await t.rejects(
    checkoutTree({ reader, workTree, gitDir: join(workTree, '.git'), progress: sink, signal: ac.signal }, tree),
    { code: 'E_INTERRUPTED', name: new InterruptedError('').name, retryable: true },
  )
  const written = readdirSync(join(workTree, 'd')).length
  t.ok(written >= 1 && written < 2000, `stopped part way (${written} of 2000 files)`)
})
