/**
 * Splits a topic into `out` at each `/` and returns the level count. `out` is reused between calls
 * so that matching does not allocate a new array per message; entries past the count are stale.
 */
export function splitLevels(topic: string, out: string[]): number {
  let count = 0;
  let start = 0;
  for (;;) {
    const slash = topic.indexOf('/', start);
    if (slash === -1) {
      out[count++] = topic.slice(start);
      return count;
    }
    out[count++] = topic.slice(start, slash);
    start = slash + 1;
  }
}

/** True when the first level of a topic starts with `$` (such as `$SYS/...`). */
export function isDollarTopic(topic: string): boolean {
  return topic.charCodeAt(0) === 0x24;
}
