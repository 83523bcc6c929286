/*
 * The topics that start with `$`. The server uses them for itself (`$SYS/...` for its own
 * figures, `$share/...` for shared subscriptions), so a filter whose first level is a wildcard
 * never matches them [MQTT-4.7.2-1].
 */

const DOLLAR = 0x24;
const SLASH = 0x2f;
const SYS = '$SYS';

/**
 * True when a topic, filter or level starts with `$`: the topics that a filter starting with `+`
 * or `#` does not match [MQTT-4.7.2-1].
 */
export function isDollarTopic(topic: string): boolean {
  return topic.charCodeAt(0) === DOLLAR;
}

/**
 * True for the server's own topics: `$SYS` itself and everything below it (`$SYS/...`), as a
 * topic name or a filter. `$SYSTEM` is not one of them.
 */
export function isSysTopic(topic: string): boolean {
  return (
    topic.startsWith(SYS) && (topic.length === SYS.length || topic.charCodeAt(SYS.length) === SLASH)
  );
}
