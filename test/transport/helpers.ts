import { delimPkt, encodePkt, flushPkt, pktText, type PktLineReader } from '../../lib/pktline/pktline.js'
import { git } from '../fixtures/git.js'

/** A hand-encoded v2 ls-refs request. */
export function lsRefsRequest(args: string[] = ['peel', 'symrefs']): Buffer {
  return Buffer.concat([
    encodePkt('command=ls-refs\n'),
    encodePkt('agent=tsgit/test\n'),
    encodePkt('object-format=sha1\n'),
    delimPkt(),
    ...args.map((a) => encodePkt(`${a}\n`)),
    flushPkt(),
  ])
}

/** Data lines up to the next flush (or response-end). */
export async function readSection(reader: PktLineReader): Promise<string[]> {
  const lines: string[] = []
  for (;;) {
    const p = await reader.expect('flush')
    if (p.type === 'flush' || p.type === 'response-end') return lines
    if (p.type === 'delim') throw new Error('unexpected delim')
    lines.push(pktText(p))
  }
}

/** What ls-refs should say about refs/heads/ and refs/tags/, according to git itself: "<oid> <ref>" lines, sorted. */
export function expectedRefs(repo: string): string[] {
  const out = git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/', 'refs/tags/'], { cwd: repo }).stdout
  return out.split('\n').filter((l) => l !== '').sort()
}

/** ls-refs lines reduced to "<oid> <ref>" (dropping symref-target and peeled attributes), sorted. */
export function plainRefs(lines: string[]): string[] {
  return lines
    .map((l) => l.split(' ').slice(0, 2).join(' '))
    .filter((l) => / refs\/(heads|tags)\//.test(l))
    .sort()
}
