export {
  type PublishResult,
  Router,
  type RouterOptions,
  type RouterStats,
  type SubscribeResult,
  type SubscriptionInfo,
} from './router.js';
export type { SharedStrategy } from './shared-group.js';
export {
  type RoutedMessage,
  type SharedRoute,
  type Subscriber,
  type SubscriptionOptions,
  subscriptionOptions,
} from './types.js';
