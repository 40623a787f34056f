/**
 * A set of raw 20-byte object ids in flat typed arrays (open addressing). A walk meets
 * each object once per tree version that names it, most of them already seen: asking
 * this with the id's bytes inside the tree (lib/odb/tree-scan.ts gives their offsets)
 * costs no hex string and no Set entry.
 */
import type { Oid } from '../oid.js'

export class RawOidSet {
  private words: Int32Array
  private used: Uint8Array
  private mask: number
  size = 0

  constructor(expected = 4096) {
    let cap = 1024
    while (cap < expected * 2) cap *= 2
    this.words = new Int32Array(cap * 5)
    this.used = new Uint8Array(cap)
    this.mask = cap - 1
  }

  /** The slot holding the id at `b[at..at+20)`, or ~slot of the empty one where it would go. */
  private find(b: Uint8Array, at: number): number {
    const w = this.words
    const w0 = word(b, at)
    // ids are hashes already: their first bytes are as good an index as any
    let i = (w0 ^ (w0 >>> 15)) & this.mask
    for (;;) {
      if (this.used[i] === 0) return ~i
      const k = i * 5
      if (w[k] === w0 && w[k + 1] === word(b, at + 4) && w[k + 2] === word(b, at + 8) && w[k + 3] === word(b, at + 12) && w[k + 4] === word(b, at + 16)) return i
      i = (i + 1) & this.mask
    }
  }

  has(b: Uint8Array, at = 0): boolean {
    return this.find(b, at) >= 0
  }

  /** Adds the id at `b[at..at+20)`; false when it was there already. */
  add(b: Uint8Array, at = 0): boolean {
    const i = this.find(b, at)
    if (i >= 0) return false
    this.put(~i, b, at)
    if (++this.size * 2 > this.used.length) this.grow()
    return true
  }

  hasHex(oid: Oid): boolean {
    return this.has(Buffer.from(oid, 'hex'))
  }

  addHex(oid: Oid): boolean {
    return this.add(Buffer.from(oid, 'hex'))
  }

  private put(slot: number, b: Uint8Array, at: number): void {
    const k = slot * 5
    for (let j = 0; j < 5; j++) this.words[k + j] = word(b, at + 4 * j)
    this.used[slot] = 1
  }

  private grow(): void {
    const oldWords = this.words
    const oldUsed = this.used
    const cap = oldUsed.length * 2
    const w = (this.words = new Int32Array(cap * 5))
    const used = (this.used = new Uint8Array(cap))
    const mask = (this.mask = cap - 1)
    // The ids are distinct: each goes to the first free slot from its index.
    for (let s = 0; s < oldUsed.length; s++) {
      if (oldUsed[s] === 0) continue
      const w0 = oldWords[s * 5] as number
      let i = (w0 ^ (w0 >>> 15)) & mask
      while (used[i] !== 0) i = (i + 1) & mask
      used[i] = 1
      w.set(oldWords.subarray(s * 5, s * 5 + 5), i * 5)
    }
  }
}

function word(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)
}
