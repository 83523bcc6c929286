import {
  filterCoversLevels,
  isDollarTopic,
  type TopicLimits,
  unsharedFilter,
  validateTopicFilter,
  validateTopicName,
} from '@mqtt-sessions/topic-trie';
import type { AclLevel, AclRule, AclRules } from './acl-rules.js';

/**
 * The ACL checks topics for their syntax, not their size: the session has already applied its
 * own level cap (`maxTopicLevels`), which may be above topic-trie's default of 128.
 */
export const ACL_TOPIC_LIMITS: TopicLimits = Object.freeze({
  maxLevels: Number.POSITIVE_INFINITY,
});

/** Who is asking: the session's authenticated username (if any) and its client id. */
export interface AclSubject {
  readonly username: string | undefined;
  readonly clientId: string;
}

/**
 * Whether the ACL allows a client to publish to a topic or to subscribe to a filter. A publish
 * needs a rule whose pattern matches the topic; a subscription needs one whose pattern covers
 * the filter (every topic the filter could match), checked on the inner filter of a
 * `$share/{group}/{filter}` subscription. An invalid topic or filter is never allowed.
 *
 * Synchronous and allocation-light, since it runs for every PUBLISH.
 */
export function isAllowedByAcl(
  rules: AclRules,
  action: 'publish' | 'subscribe',
  topicOrFilter: string,
  who: AclSubject,
): boolean {
  if (action === 'publish') {
    return (
      validateTopicName(topicOrFilter, ACL_TOPIC_LIMITS).ok &&
      allowedOn(rules, 'publish', topicOrFilter.split('/'), who)
    );
  }
  // unsharedFilter validates the inner filter of a shared subscription, not a plain filter.
  const filter = unsharedFilter(topicOrFilter, ACL_TOPIC_LIMITS);
  return (
    filter !== undefined &&
    validateTopicFilter(filter, ACL_TOPIC_LIMITS).ok &&
    allowedOn(rules, 'subscribe', filter.split('/'), who)
  );
}

/**
 * Whether some rule for `who` allows `action` on these levels (a topic name's or a filter's,
 * already validated and with any `$share/` prefix removed).
 */
export function allowedOn(
  rules: AclRules,
  action: 'publish' | 'subscribe',
  levels: readonly string[],
  who: AclSubject,
): boolean {
  let allowed = false;
  const visit = (list: readonly AclRule[] | undefined): boolean => {
    for (const rule of list ?? []) {
      if (!(action === 'publish' ? rule.publish : rule.subscribe)) continue;
      if (rule.deny) {
        // A deny rule wins: stop at the first that reaches these levels.
        if (ruleReaches(rule, levels, who, action)) return true;
      } else if (!allowed && ruleCovers(rule, levels, who)) allowed = true;
    }
    return false;
  };
  if (visit(rules.everyone)) return false;
  if (who.username === undefined ? visit(rules.anonymous) : visit(rules.users.get(who.username)))
    return false;
  if (visit(rules.clients.get(who.clientId))) return false;
  for (const [prefix, list] of rules.clientPrefixes) {
    if (who.clientId.startsWith(prefix) && visit(list)) return false;
  }
  return allowed;
}

/**
 * Whether a deny rule reaches a topic (its pattern matches it) or a filter (the two could match
 * one topic: a subscription is checked once, so what it would receive decides).
 */
function ruleReaches(
  rule: AclRule,
  levels: readonly string[],
  who: AclSubject,
  action: 'publish' | 'subscribe',
): boolean {
  const pattern = rule.hasVariables ? fillIn(rule.levels, who) : (rule.levels as string[]);
  // A deny pattern whose variable cannot be filled in denies conservatively.
  if (pattern === undefined) return true;
  return action === 'publish'
    ? filterCoversLevels(pattern, levels)
    : filtersOverlap(pattern, levels);
}

/** Whether some topic matches both filters (`+` and `#` as in MQTT, `$` topics apart). */
export function filtersOverlap(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '#' || y === '#') {
      // A leading wildcard does not reach `$` topics [MQTT-4.7.2-1].
      return i > 0 || !(isDollarTopic(x ?? '') || isDollarTopic(y ?? ''));
    }
    if (x === undefined || y === undefined) return x === y;
    if (x === '+' || y === '+') {
      if (i === 0 && (isDollarTopic(x) || isDollarTopic(y))) return false;
      continue;
    }
    if (x !== y) return false;
  }
}

function ruleCovers(rule: AclRule, levels: readonly string[], who: AclSubject): boolean {
  // Without variables every level is a literal string (see AclRule.hasVariables).
  if (!rule.hasVariables) return filterCoversLevels(rule.levels as readonly string[], levels);
  const pattern = fillIn(rule.levels, who);
  return pattern !== undefined && filterCoversLevels(pattern, levels);
}

/**
 * The pattern with `%u` and `%c` replaced, or `undefined` when the rule cannot apply: no username
 * for `%u`, or a value that would change the pattern's shape rather than fill a level: an empty
 * one, one with `/`, `+` or `#`, or one starting with `$` at the very start of the pattern (which
 * would reach the `$SYS` topics that a leading wildcard cannot).
 */
function fillIn(levels: readonly AclLevel[], who: AclSubject): string[] | undefined {
  const filled: string[] = [];
  for (const level of levels) {
    if (typeof level === 'string') {
      filled.push(level);
      continue;
    }
    let text = '';
    for (const part of level) {
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      const value = part.variable === 'u' ? who.username : who.clientId;
      if (value === undefined || value === '' || /[/+#]/.test(value)) return undefined;
      if (filled.length === 0 && text === '' && isDollarTopic(value)) return undefined;
      text += value;
    }
    filled.push(text);
  }
  return filled;
}
