/**
 * What the object store offers the layers above it (the work tree, the operations).
 * Object ids and types are the ground's (lib/oid.ts).
 */
import type { GitObject, ObjectObserver, Oid } from '../oid.js'

/** What the work tree and the operations need from the object store. */
export interface ObjectReader {
  /** Returns the object, fetching it lazily where the store allows; throws MissingObjectError otherwise. */
  read(oid: Oid): Promise<GitObject>
  /** Returns the object if it is present locally; never fetches. */
  tryRead(oid: Oid): Promise<GitObject | undefined>
  /** Makes sure all of `oids` are present, fetching the missing ones in as few requests as possible. */
  prefetch(oids: Iterable<Oid>, options?: PrefetchOptions): Promise<void>
  /** The ids of `oids` not present locally, each once, in first-seen order; never fetches (the store reads no object for it). */
  missingOf(oids: Iterable<Oid>): Promise<Oid[]>
  /** A present blob too large to hold, to be written out a chunk at a time; undefined: read() it. */
  largeBlob?(oid: Oid): Promise<LargeBlob | undefined>
}

/** A blob handed out a chunk at a time instead of whole (PackFile.largeBlobAt). */
export interface LargeBlob {
  size: number
  /** Inflates the blob into `write`, a chunk at a time; throws PackError if it is damaged. */
  writeTo(write: (chunk: Buffer) => void): void
}

export interface PrefetchOptions {
  /**
   * The objects that refer to `oids` (the trees a checkout walked, the commit of a root
   * tree). When all of them are promisor objects, the missing ids are promisor objects
   * too and may be fetched without building the full set of promisor objects.
   */
  referrers?: Iterable<Oid>
  /**
   * Told of the fetched objects as they arrive, before the fetch ends (ObjectObserver):
   * not of objects already present, nor of every fetched one.
   */
  onObject?: ObjectObserver
}

