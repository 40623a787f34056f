/** Hex object id (40 hex digits for SHA-1). */
export type Oid = string

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag'

export const OBJECT_TYPES: readonly ObjectType[] = ['commit', 'tree', 'blob', 'tag']

export interface GitObject {
  type: ObjectType
  data: Buffer
}

/** What the work tree and the operations need from the object store. */
export interface ObjectReader {
  /** Returns the object, fetching it lazily where the store allows; throws MissingObjectError otherwise. */
  read(oid: Oid): Promise<GitObject>
  /** Returns the object if it is present locally; never fetches. */
  tryRead(oid: Oid): Promise<GitObject | undefined>
  /** Makes sure all of `oids` are present, fetching the missing ones in as few requests as possible. */
  prefetch(oids: Iterable<Oid>): Promise<void>
}

export const NULL_OID: Oid = '0'.repeat(40)

export function isOid(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s)
}
