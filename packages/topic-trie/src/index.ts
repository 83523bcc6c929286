export { bindingsOf, type TopicBindings } from './bindings.js';
export { filterCovers, filterCoversLevels } from './covers.js';
export { isDollarTopic, isSysTopic } from './dollar-topics.js';
export { FilterIndex, type FilterIndexInfo } from './filter-index.js';
export {
  isSharedFilter,
  parseSharedSubscription,
  type SharedSubscription,
  type SharedSubscriptionParse,
  unsharedFilter,
} from './shared.js';
export { type TopicEntry, TopicIndex, type TopicIndexInfo } from './topic-index.js';
export {
  DEFAULT_MAX_TOPIC_LEVELS,
  isWildcardFilter,
  MAX_TOPIC_BYTES,
  type TopicErrorReason,
  type TopicLimits,
  type TopicValidation,
  validateTopicFilter,
  validateTopicName,
} from './validate.js';
