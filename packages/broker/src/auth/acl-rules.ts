/** A variable in an ACL pattern: `%u` (the username) or `%c` (the client id). */
export interface AclVariable {
  readonly variable: 'u' | 'c';
}

/**
 * One level of a compiled ACL pattern: a literal level, or the pieces of a level that contains
 * `%u` or `%c` (literal text and variables, concatenated at check time).
 */
export type AclLevel = string | readonly (string | AclVariable)[];

/** One `allow` or `deny` line of an ACL file (or a Mosquitto `topic`/`pattern` line). */
export interface AclRule {
  /** True for a deny rule: it takes away what allow rules give, and wins over them. */
  readonly deny: boolean;
  /** True when it is about publishing (`publish` or `both`; Mosquitto's `write`). */
  readonly publish: boolean;
  /** True when it is about subscribing (`subscribe` or `both`; Mosquitto's `read`). */
  readonly subscribe: boolean;
  /** The pattern as written. */
  readonly pattern: string;
  /** The pattern's levels, `%u` and `%c` compiled. */
  readonly levels: readonly AclLevel[];
  /** True when some level has a variable, so the rule must be filled in per client. */
  readonly hasVariables: boolean;
  /** The 1-based line the rule is on, for explaining a decision. */
  readonly line: number;
}

/**
 * A parsed ACL file, indexed by whom each rule applies to so a check only looks at the rules of
 * its own client. Made by `parseAcl`; treat it as read-only.
 */
export interface AclRules {
  /** Rules before any section, or in an `all` section: for every client, anonymous ones too. */
  readonly everyone: readonly AclRule[];
  /** Rules for clients without a username only (Mosquitto's `topic` lines before any `user`). */
  readonly anonymous: readonly AclRule[];
  /** Rules of `user NAME` sections, by username. */
  readonly users: ReadonlyMap<string, readonly AclRule[]>;
  /** Rules of `client ID` sections, by exact client id. */
  readonly clients: ReadonlyMap<string, readonly AclRule[]>;
  /** Rules of `client PREFIX*` sections, by client id prefix. */
  readonly clientPrefixes: ReadonlyMap<string, readonly AclRule[]>;
}
