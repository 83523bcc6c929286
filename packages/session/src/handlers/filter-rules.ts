import { isSharedFilter, parseSharedSubscription } from '@mqtt-sessions/topic-trie';

/**
 * Why a Topic Filter of SUBSCRIBE or UNSUBSCRIBE is a Protocol Error for the whole packet, not a
 * refusal of that filter alone: it is empty [MQTT-4.7.3-1], or it starts with `$share/` without a
 * share name of one character or more, without `+` or `#`, followed by `/` and a filter
 * [MQTT-4.8.2-1] [MQTT-4.8.2-2]. MQTT 3.1.1 has no shared subscriptions: there only an empty
 * filter breaks the rules. Undefined when the filter passes; whether it is a valid filter is the
 * router's answer, per filter.
 */
export function filterProtocolError(filter: string, version: 4 | 5): string | undefined {
  if (filter.length === 0) return 'an empty Topic Filter';
  if (version !== 5 || !isSharedFilter(filter)) return undefined;
  const parsed = parseSharedSubscription(filter);
  if (parsed.ok) return undefined;
  if (parsed.reason === 'invalid-share-name' || parsed.reason === 'missing-filter') {
    return parsed.message;
  }
  return parsed.reason === 'empty' ? 'a shared subscription with an empty filter' : undefined;
}
