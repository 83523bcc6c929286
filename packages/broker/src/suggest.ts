/** Lower case without separators, so `ws-port`, `WS_PORT` and `wsPort` compare equal. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]/g, '');
}

/** The number of one-character edits that turn `a` into `b` (Levenshtein). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        substitution,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * The candidate a mistyped name most likely meant, for a "did you mean" hint: equal but for case
 * and separators, or a few edits away (about one in four characters). A dotted candidate
 * (`session.maxQueued`) also matches its last part. None when nothing is close.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = normalise(name);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(wanted.length / 4)) + 1;
  for (const candidate of candidates) {
    const lastPart = candidate.slice(candidate.lastIndexOf('.') + 1);
    const distance = Math.min(
      editDistance(wanted, normalise(candidate)),
      editDistance(wanted, normalise(lastPart)),
    );
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` (did you mean X?)` when a candidate is close, else nothing. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const closest = closestName(name, candidates);
  return closest === undefined ? '' : ` (did you mean ${closest}?)`;
}
