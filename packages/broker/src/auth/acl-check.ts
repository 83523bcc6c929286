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
  const grants = (rule: AclRule): boolean =>
    (action === 'publish' ? rule.publish : rule.subscribe) && ruleCovers(rule, levels, who);
  const applies = (list: readonly AclRule[] | undefined): boolean => list?.some(grants) === true;
  if (applies(rules.everyone)) return true;
  if (who.username !== undefined && applies(rules.users.get(who.username))) return true;
  if (applies(rules.clients.get(who.clientId))) return true;
  for (const [prefix, list] of rules.clientPrefixes) {
    if (who.clientId.startsWith(prefix) && applies(list)) return true;
  }
  return false;
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
