/**
 * Hits and misses of one in-memory cache, counted where the cache is (two integer increments)
 * and read by the metrics at scrape time. A miss is a lookup that had to go to the database,
 * decrypt or verify again.
 */
export class CacheStats {
  hits = 0
  misses = 0
}
