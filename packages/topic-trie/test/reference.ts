/**
 * A deliberately naive MQTT matcher, written straight from section 4.7 of the spec, that the
 * property tests compare both indexes against.
 */
export function referenceMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  const first = f[0];
  if (topic.startsWith('$') && (first === '+' || first === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
