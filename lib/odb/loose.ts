/**
 * Loose objects: objects/xx/yyyy…, zlib-deflated "<type> <size>\0<data>".
 * Written to a temp file in the fan-out directory and renamed into place, so a
 * reader never sees a half-written object.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateSync, inflateSync } from 'node:zlib'
import { ObjectFormatError, isNotFound } from '../errors.js'
import { OBJECT_TYPES, type GitObject, type ObjectType, type Oid } from '../oid.js'
import { hashObject } from './objects.js'

export function loosePath(objectsDir: string, oid: Oid): string {
  return join(objectsDir, oid.slice(0, 2), oid.slice(2))
}

/** Parses "<type> <size>\0" and checks the size; the hash is checked by the caller when it wants to. */
export function parseLooseObject(oid: Oid, raw: Buffer): GitObject {
  const nul = raw.indexOf(0)
  if (nul < 0 || nul > 32) throw new ObjectFormatError(`object ${oid}: bad loose object header`)
  const header = raw.subarray(0, nul).toString('latin1')
  const m = /^([a-z]+) (\d+)$/.exec(header)
  if (!m || !OBJECT_TYPES.includes(m[1] as ObjectType)) throw new ObjectFormatError(`object ${oid}: bad loose object header '${header}'`)
  const data = raw.subarray(nul + 1)
  if (data.length !== Number(m[2])) throw new ObjectFormatError(`object ${oid}: size mismatch in loose object`)
  return { type: m[1] as ObjectType, data }
}

export async function readLoose(objectsDir: string, oid: Oid): Promise<GitObject | undefined> {
  let compressed: Buffer
  try {
    compressed = await readFile(loosePath(objectsDir, oid))
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
  let raw: Buffer
  try {
    raw = inflateSync(compressed)
  } catch (e) {
    throw new ObjectFormatError(`object ${oid}: corrupt loose object`, { cause: e })
  }
  return parseLooseObject(oid, raw)
}

export async function writeLoose(objectsDir: string, type: ObjectType, data: Buffer): Promise<Oid> {
  const oid = hashObject(type, data)
  const dir = join(objectsDir, oid.slice(0, 2))
  await mkdir(dir, { recursive: true })
  const tmp = join(dir, `tmp_obj_${randomBytes(6).toString('hex')}`)
  const fh = await open(tmp, 'wx', 0o444)
  try {
    await fh.writeFile(deflateSync(Buffer.concat([Buffer.from(`${type} ${data.length}\0`, 'latin1'), data])))
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, loosePath(objectsDir, oid))
  } catch (e) {
    await unlink(tmp).catch(() => undefined)
    throw e
  }
  return oid
}
