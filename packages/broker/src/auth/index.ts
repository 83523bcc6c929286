/**
 * Authentication and authorisation for real deployments: a users file of scrypt password hashes,
 * ACL rules, and a runtime that applies both.
 *
 * @packageDocumentation
 */
export { type AclSubject, isAllowedByAcl } from './acl-check.js';
export { parseAcl } from './acl-parse.js';
export type { AclLevel, AclRule, AclRules, AclVariable } from './acl-rules.js';
export { addUser } from './add-user.js';
export { AuthFileError } from './errors.js';
export { LoginGuard, type LoginGuardOptions, type LoginGuardStats } from './login-guard.js';
export { type AuthOptions, createAuthRuntime } from './runtime.js';
export { DEFAULT_SCRYPT_COST, hashPassword, type ScryptCost, verifyPassword } from './scrypt.js';
export type { AuthUserContext } from './user-context.js';
export { parseUsersFile } from './users-file.js';
