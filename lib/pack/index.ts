export { applyDelta, deltaHeaderSizes, type DeltaHeader } from './delta.js'
export { PackIndex } from './idx.js'
export { writeIdxV2Columns, type IdxColumns } from './idx-write.js'
export {
  DEFAULT_MAX_OBJECT_SIZE, DEFAULT_STREAMING_THRESHOLD, createResumablePackFile, indexPack,
  type DeferredIndexPackResult, type IndexPackOptions, type IndexPackResult, type IndexedObject, type PackTarget,
} from './indexer.js'
export { salvagePack, type SalvageOptions, type Salvaged } from './salvage.js'
export { PackFile, type PackFileOptions } from './reader.js'
export { hashObject, parsePackHeader } from './format.js'
