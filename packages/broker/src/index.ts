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
export type { BrokerHealth } from './metrics-http.js';
export {
  type BrokerOptions,
  OPTION_GROUPS,
  OPTION_SPECS,
  type OptionGroup,
  type OptionSpec,
  type Port,
  resolveBrokerOptions,
  type StoreKind,
  type TlsFiles,
  type TlsMaterial,
  type TlsVersion,
} from './options.js';
export { type BrokerStats, VERSION } from './stats.js';
export { SYS_TOP_REQUEST } from './sys-topics.js';
