// yoga's parse cache, bounded in bytes instead of entries. A parsed document takes
// about 90 times its source in memory (measured on a typical console query), so 1,000
// entries — yoga's default bound — of large documents could hold gigabytes.
import type { DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Memory kept for parsed documents, per process. */
const DOCUMENT_CACHE_BYTES = 64 * 1024 * 1024;
/** Estimated memory of a parsed document per byte of its source. */
const AST_BYTES_PER_SOURCE_BYTE = 100;

export function boundedParserCaches() {
  return {
    documentCache: new LRUCache<string, DocumentNode>({
      maxSize: DOCUMENT_CACHE_BYTES,
      sizeCalculation: (_document, source) => Math.max(1, source.length * AST_BYTES_PER_SOURCE_BYTE),
    }),
    errorCache: new LRUCache<string, Error>({
      maxSize: DOCUMENT_CACHE_BYTES / 8,
      sizeCalculation: (_error, source) => source.length * 2 + 1024,
    }),
  };
}
