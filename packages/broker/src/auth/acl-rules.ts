/** A variable in an ACL pattern: `%u` (the username) or `%c` (the client id). */
export interface AclVariable {
  readonly variable: 'u' | 'c';
}

/**
 * One level of a compiled ACL pattern: a literal level, or the pieces of a level that contains
 * `%u` or `%c` (literal text and variables, concatenated at check time).
 */
export type AclLevel = string | readonly (string | AclVariable)[];

/** One `allow` line of an ACL file. */
export interface AclRule {
  /** True when it allows publishing (`allow publish` or `allow both`). */
  readonly publish: boolean;
  /** True when it allows subscribing (`allow subscribe` or `allow both`). */
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
  /** Rules of `user NAME` sections, by username. */
  readonly users: ReadonlyMap<string, readonly AclRule[]>;
  /** Rules of `client ID` sections, by exact client id. */
  readonly clients: ReadonlyMap<string, readonly AclRule[]>;
  /** Rules of `client PREFIX*` sections, by client id prefix. */
  readonly clientPrefixes: ReadonlyMap<string, readonly AclRule[]>;
}
