import { isSharedFilter, validateTopicFilter } from '@mqtt-sessions/topic-trie';
import { ACL_TOPIC_LIMITS } from './acl-check.js';
import type { AclLevel, AclRule, AclRules, AclVariable } from './acl-rules.js';
import { AuthFileError } from './errors.js';
import { numberedLines } from './lines.js';
import { usernameProblem } from './users-file.js';

/*
 * The ACL file. With one, a client may do only what some rule allows; everything else is denied.
 * Lines are words separated by white space; `#` starts a comment at the start of a line or in
 * place of a word after a complete line (so the pattern `#`, "everything", still works):
 *
 *   # Rules before any section apply to every client, anonymous clients included.
 *   allow subscribe $SYS/#
 *
 *   user alice                    # the rules below apply to the user alice
 *   allow publish sensors/%u/#
 *   allow both chat/#             # both = publish and subscribe
 *
 *   client device-*               # ... to client ids starting with "device-"
 *   allow publish devices/%c/#    #     (a trailing * matches any rest; elsewhere it is literal)
 *
 *   client gateway                # ... to the client id "gateway" exactly
 *   allow subscribe devices/+/status
 *
 *   all                           # back to rules for every client
 *   allow subscribe public/#
 *
 * Lines:
 *   allow publish|subscribe|both PATTERN   a rule of the current section
 *   user NAME                             starts the rules of one user (a users-file username)
 *   client ID | client PREFIX*            starts the rules of one client id, or of a prefix
 *   all                                   starts rules for every client again
 *
 * A section keyword may appear again later; its rules add up. A client gets the rules for
 * everyone, those of its username, and those of every client section matching its client id.
 *
 * PATTERN is an MQTT topic filter (`+` one level, `#` any rest) in which `%u` stands for the
 * username, `%c` for the client id and `%%` for a literal `%`. A rule with `%u` never applies to an
 * anonymous client. A rule does not apply when the value put in would change the pattern's shape:
 * a value containing `/`, `+` or `#`, or one starting with `$` put at the very start (so a client
 * id like `a/#` or `$SYS` cannot widen its rights). Patterns cannot contain white space.
 *
 * Publishing to a topic is allowed when the pattern matches the topic. Subscribing to a filter is
 * allowed when the pattern covers the filter: every topic the filter could match is matched by
 * the pattern (`chat/#` covers `chat/+/x` and `chat/#`; `chat/+` covers `chat/a` and `chat/+` but
 * not `chat/#`). A `$share/{group}/{filter}` subscription is checked on its filter. As in MQTT, a
 * pattern starting with `+` or `#` does not match topics starting with `$`: write `$SYS/#` to
 * grant those.
 *
 *   deny publish|subscribe|both PATTERN   takes away what allow rules give, whatever the order
 *
 * A deny rule wins: a publish is refused when a deny pattern matches the topic, a subscription
 * when a deny pattern and the filter could both match some topic (so `deny subscribe chat/secret`
 * refuses `chat/#` too: its messages would include the denied ones).
 *
 * Mosquitto's ACL format is read as well, so a deployment can move over with its file. Its lines:
 *   user NAME                                        starts the rules of one user
 *   topic [read|write|readwrite|deny] TOPIC          for that user; before any `user` line, for
 *                                                    anonymous clients only
 *   pattern [read|write|readwrite|deny] PATTERN      for every client, `%u` and `%c` filled in
 * `read` is subscribe, `write` publish, `readwrite` both (the default), `deny` a deny rule for
 * both. A file is in one format or the other, never both.
 */

type Section =
  | { kind: 'everyone' }
  | { kind: 'user'; name: string }
  | { kind: 'client'; id: string }
  | { kind: 'client-prefix'; prefix: string };

/**
 * Parses an ACL file (the format is described at the top of this module and in the broker's
 * README). An empty file is valid and allows nothing.
 *
 * @param source The file name to put in error messages.
 * @throws AuthFileError (`source:line: problem`) on the first malformed line.
 */
export function parseAcl(text: string, source = 'ACL file'): AclRules {
  const everyone: AclRule[] = [];
  const anonymous: AclRule[] = [];
  /** Which syntax the file speaks, from its first rule: ours or Mosquitto's. */
  let format: 'ours' | 'mosquitto' | undefined;
  const speak = (spoken: 'ours' | 'mosquitto', fail: (problem: string) => never) => {
    format ??= spoken;
    if (format !== spoken)
      fail('the file mixes allow/deny rules with Mosquitto topic/pattern lines: use one format');
  };
  const users = new Map<string, AclRule[]>();
  const clients = new Map<string, AclRule[]>();
  const clientPrefixes = new Map<string, AclRule[]>();
  // In Mosquitto's format, `topic` lines before any `user` line are for anonymous clients.
  let section: Section = { kind: 'everyone' };
  let sawUser = false;
  const rulesOf = (current: Section): AclRule[] => {
    switch (current.kind) {
      case 'everyone':
        return everyone;
      case 'user':
        return listIn(users, current.name);
      case 'client':
        return listIn(clients, current.id);
      case 'client-prefix':
        return listIn(clientPrefixes, current.prefix);
    }
  };
  for (const { line, content } of numberedLines(text)) {
    const words = content.trim().split(/\s+/);
    const keyword = words[0] ?? '';
    if (keyword === '' || keyword.startsWith('#')) continue;
    const fail = (problem: string): never => {
      throw new AuthFileError(source, line, problem);
    };
    let length: number;
    switch (keyword) {
      case 'all':
        section = { kind: 'everyone' };
        length = 1;
        break;
      case 'user': {
        const name = word(words, 1) ?? fail('"user" needs a username');
        const problem = usernameProblem(name);
        if (problem !== undefined) fail(problem);
        section = { kind: 'user', name };
        sawUser = true;
        length = 2;
        break;
      }
      case 'client': {
        const id = word(words, 1) ?? fail('"client" needs a client id, or a prefix ending in *');
        section = id.endsWith('*')
          ? { kind: 'client-prefix', prefix: id.slice(0, -1) }
          : { kind: 'client', id };
        length = 2;
        break;
      }
      case 'allow':
      case 'deny': {
        speak('ours', fail);
        const action = words[1];
        if (action !== 'publish' && action !== 'subscribe' && action !== 'both') {
          fail(`expected "${keyword} publish", "${keyword} subscribe" or "${keyword} both"`);
        }
        // The pattern `#` is a pattern here, not a comment: a comment needs a complete line first.
        const pattern = words[2] ?? fail(`"${keyword} ${action}" needs a topic pattern`);
        rulesOf(section).push(
          rule(
            keyword === 'deny',
            action !== 'subscribe',
            action !== 'publish',
            pattern,
            line,
            fail,
          ),
        );
        length = 3;
        break;
      }
      case 'topic':
      case 'pattern': {
        speak('mosquitto', fail);
        // Mosquitto: `topic [read|write|readwrite|deny] TOPIC`, readwrite when left out.
        const access = MOSQUITTO_ACCESS[words[1] ?? ''];
        const pattern =
          word(words, access === undefined ? 1 : 2) ?? fail(`"${keyword}" needs a topic`);
        const { deny, publish, subscribe } = access ?? READWRITE;
        // `pattern` lines are for every client wherever they are; `topic` lines belong to the
        // user above them, or to anonymous clients before the first `user` line.
        const list = keyword === 'pattern' ? everyone : sawUser ? rulesOf(section) : anonymous;
        list.push(rule(deny, publish, subscribe, pattern, line, fail));
        length = access === undefined ? 2 : 3;
        break;
      }
      default:
        return fail(
          `unknown keyword "${keyword}" (expected allow, deny, user, client or all; or Mosquitto's topic, pattern, user)`,
        );
    }
    const extra = words[length];
    if (extra !== undefined && !extra.startsWith('#')) {
      fail(`unexpected "${extra}" (a comment starts with #)`);
    }
  }
  return { everyone, anonymous, users, clients, clientPrefixes };
}

/** What a Mosquitto access word grants (or, for `deny`, takes away). */
interface Access {
  readonly deny: boolean;
  readonly publish: boolean;
  readonly subscribe: boolean;
}
const READWRITE: Access = { deny: false, publish: true, subscribe: true };
const MOSQUITTO_ACCESS: Readonly<Record<string, Access>> = {
  read: { deny: false, publish: false, subscribe: true },
  write: { deny: false, publish: true, subscribe: false },
  readwrite: READWRITE,
  deny: { deny: true, publish: true, subscribe: true },
};

function rule(
  deny: boolean,
  publish: boolean,
  subscribe: boolean,
  pattern: string,
  line: number,
  fail: (problem: string) => never,
): AclRule {
  const levels = compilePattern(pattern, fail);
  return {
    deny,
    publish,
    subscribe,
    pattern,
    levels,
    hasVariables: levels.some((level) => typeof level !== 'string'),
    line,
  };
}

// A section name may not be left out in favour of a comment: `user # alice` names nobody.
function word(words: readonly string[], index: number): string | undefined {
  const found = words[index];
  return found === undefined || found.startsWith('#') ? undefined : found;
}

function listIn(map: Map<string, AclRule[]>, key: string): AclRule[] {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  return list;
}

function compilePattern(pattern: string, fail: (problem: string) => never): AclLevel[] {
  if (!validateTopicFilter(pattern, ACL_TOPIC_LIMITS).ok) {
    fail(`invalid topic pattern "${pattern}" (+ and # must be whole levels, # only the last)`);
  }
  // Subscriptions are checked on the filter inside $share/{group}/, so such a pattern would
  // never apply; better to say so than to let it silently allow nothing.
  if (isSharedFilter(pattern)) {
    fail(
      'write the pattern without $share/{group}/: shared subscriptions are checked on their filter',
    );
  }
  return pattern.split('/').map((level) => compileLevel(level, fail));
}

function compileLevel(level: string, fail: (problem: string) => never): AclLevel {
  if (!level.includes('%')) return level;
  const parts: (string | AclVariable)[] = [];
  let text = '';
  for (let index = 0; index < level.length; index++) {
    const char = level[index];
    if (char !== '%') {
      text += char;
      continue;
    }
    const next = level[++index];
    if (next === '%') {
      text += '%';
    } else if (next === 'u' || next === 'c') {
      if (text !== '') parts.push(text);
      text = '';
      parts.push({ variable: next });
    } else {
      fail(`unknown "%${next ?? ''}" in a pattern (use %u, %c, or %% for a literal %)`);
    }
  }
  if (text !== '') parts.push(text);
  // `%%` alone leaves a plain literal level: keep the fast, allocation-free path for it.
  return parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : parts;
}
