/**
 * The client's side of v2 fetch negotiation as a state machine with no I/O
 * (gitprotocol-v2 "fetch": rounds of `have` lines without `done`, answered by an
 * acknowledgments section of `ACK <oid>` / `NAK` and perhaps `ready`).
 *
 * Over stateless HTTP the server remembers nothing between rounds, so each request
 * carries the wants again and the haves found common so far, then a batch of new
 * haves. The batch grows each round (16, 32, 64, … as git's stateless count does, up to
 * a ceiling) so a long divergence costs few requests. The caller sends `done` when
 * this says so: the server said `ready` (its pack then follows in the same response),
 * the walk has nothing more to offer, or — once something was found common — enough
 * haves have gone unacknowledged in a row (git's MAX_IN_VAIN, 256): more are unlikely
 * to make the pack smaller.
 *
 * Which haves to offer, and skipping the ancestors of what the server acknowledged, is
 * the walk's job (lib/rev/have-walk.ts); this decides how many per round and when to
 * stop, keeps what the server acknowledged, and trusts nothing it says about ids it was
 * never offered.
 */
import { ProtocolError } from '../errors.js'
import type { Oid } from '../oid.js'
import type { Acknowledgments } from './fetch.js'

export interface NegotiatorOptions {
  /** Haves in the first round; default 16. */
  firstBatch?: number
  /** The most new haves in one round; default 16384. */
  maxBatch?: number
  /** Haves sent without a new acknowledgment, after the first, before giving up; default 256. */
  maxInVain?: number
  /** Rounds before `done` whatever happens; default 64. */
  maxRounds?: number
}

/** One request of the negotiation. */
export interface NegotiationRound {
  /** The commons found so far, then the new haves. */
  haves: Oid[]
  /** Whether this request ends the negotiation (`done`). */
  done: boolean
}

export const DEFAULT_FIRST_BATCH = 16
export const DEFAULT_MAX_BATCH = 16384
export const MAX_IN_VAIN = 256
export const DEFAULT_MAX_ROUNDS = 64

export class Negotiator {
  private readonly maxBatch: number
  private readonly maxInVain: number
  private readonly maxRounds: number
  private batch: number
  private rounds = 0
  private inVain = 0
  private sawAck = false
  private finished = false
  private ready = false
  /** Everything offered, so an ACK for anything else is refused. */
  private readonly offered = new Set<Oid>()
  /** Acknowledged, in the order the server said so. */
  private readonly acked = new Set<Oid>()
  /** Offered in the request awaiting its answer. */
  private pending = new Set<Oid>()

  constructor(options: NegotiatorOptions = {}) {
    this.batch = options.firstBatch ?? DEFAULT_FIRST_BATCH
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH
    this.maxInVain = options.maxInVain ?? MAX_IN_VAIN
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS
    if (!(this.batch >= 1 && this.maxBatch >= this.batch && this.maxInVain >= 1 && this.maxRounds >= 1)) throw new RangeError('negotiator limits out of range')
  }

  /** How many new haves the next round takes. */
  get batchSize(): number {
    return this.batch
  }

  /** Whether the negotiation is over (a round with `done` was made, or the server said ready). */
  get isFinished(): boolean {
    return this.finished
  }

  /** The server said ready: its pack is in the answer to the last round. */
  get isReady(): boolean {
    return this.ready
  }

  /** The haves the server acknowledged, in order. */
  get common(): Oid[] {
    return [...this.acked]
  }

  /**
   * The next request: `common` (the acknowledged haves still worth resending — the walk
   * drops those below another) then `fresh`, the walk's next haves, at most batchSize
   * of them; `more` false when the walk has nothing after them.
   */
  round(fresh: readonly Oid[], more: boolean, common: readonly Oid[] = this.common): NegotiationRound {
    if (this.finished) throw new Error('negotiation already finished')
    if (this.pending.size > 0) throw new Error('the previous round is not acknowledged yet')
    const offered = fresh.slice(0, this.batch).filter((o) => !this.offered.has(o))
    for (const o of offered) {
      this.offered.add(o)
      this.pending.add(o)
    }
    this.rounds++
    this.inVain += offered.length
    const done = !more || offered.length === 0 || this.rounds >= this.maxRounds || (this.sawAck && this.inVain >= this.maxInVain)
    if (done) {
      this.finished = true
      this.pending.clear()
    }
    this.batch = Math.min(this.maxBatch, this.batch * 2)
    return { haves: [...common.filter((o) => this.acked.has(o)), ...offered], done }
  }

  /**
   * The server's answer to the last round (a request without `done`). Returns the
   * haves newly found common. An ACK for an id never offered is a protocol error.
   */
  acknowledge(acks: Acknowledgments): Oid[] {
    if (this.finished) throw new Error('negotiation already finished')
    const fresh: Oid[] = []
    for (const oid of acks.commonOids) {
      if (!this.offered.has(oid)) throw new ProtocolError(`protocol error: ACK for ${oid}, which was never offered`)
      if (this.acked.has(oid)) continue
      this.acked.add(oid)
      fresh.push(oid)
    }
    this.pending.clear()
    if (fresh.length > 0) {
      this.sawAck = true
      this.inVain = 0
    }
    if (acks.ready) {
      this.ready = true
      this.finished = true
    }
    return fresh
  }
}
