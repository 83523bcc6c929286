export {
  type AclRules,
  type AuthOptions,
  type AuthUserContext,
  addUser,
  createAuthRuntime,
  hashPassword,
  isAllowedByAcl,
  parseAcl,
  parseUsersFile,
  verifyPassword,
} from './auth/index.js';
export { Broker, type BrokerAddresses, createBroker } from './broker.js';
export { ConfigError, helpText, loadConfig, parseCommandLine } from './config.js';
export {
  type BrokerOptions,
  OPTION_SPECS,
  type OptionSpec,
  type Port,
  resolveBrokerOptions,
} from './options.js';
export { type BrokerStats, VERSION } from './stats.js';
export { SYS_TOP_REQUEST } from './sys-topics.js';
