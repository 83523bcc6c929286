import type { QoS } from '@mqtt-sessions/protocol';
import {
  type RoutedMessage,
  Router,
  type Subscriber,
  subscriptionOptions,
} from '@mqtt-sessions/router';

/** A subscriber that prints what it gets; a real one is an MQTT session. */
function printer(name: string, log: string[]): Subscriber {
  return {
    deliver(message: RoutedMessage, qos: QoS, retain: boolean, ids: readonly number[] | undefined) {
      log.push(
        `${name} <- ${message.topic} qos=${qos} retain=${retain} ids=${ids?.toSorted() ?? '-'}`,
      );
    },
  };
}

export const log: string[] = [];
const router = new Router();
const kitchen = printer('kitchen', log);
const dashboard = printer('dashboard', log);
const workerA = printer('worker-a', log);
const workerB = printer('worker-b', log);

router.subscribe(kitchen, 'home/kitchen/#', subscriptionOptions(1));
// Two overlapping filters: one copy, at the higher QoS, with both Subscription Identifiers.
router.subscribe(
  dashboard,
  'home/+/temperature',
  subscriptionOptions(0, { subscriptionIdentifier: 1 }),
);
router.subscribe(
  dashboard,
  'home/#',
  subscriptionOptions(2, { subscriptionIdentifier: 2, retainAsPublished: true }),
);
// A shared subscription: each message goes to one member of the group.
router.subscribe(workerA, '$share/workers/jobs/+', subscriptionOptions(1));
router.subscribe(workerB, '$share/workers/jobs/+', subscriptionOptions(1));

/** A message as a session hands it to the router; one object is shared by every receiver. */
function message(topic: string, qos: QoS, retain = false): RoutedMessage {
  const payload = Buffer.from('21.5');
  return {
    topic,
    payload,
    qos,
    retain,
    properties: {},
    expiresAt: undefined,
    sender: undefined,
    senderContext: undefined,
    wireCache: undefined,
  };
}

export const results = [
  router.publish(message('home/kitchen/temperature', 1, true)),
  router.publish(message('jobs/1', 1)),
  router.publish(message('jobs/2', 1)),
];
console.log(log.toSorted().join('\n')); // every receiver of a publish, in no particular order
// dashboard <- home/kitchen/temperature qos=1 retain=true ids=1,2
// kitchen <- home/kitchen/temperature qos=1 retain=false ids=-
// worker-a <- jobs/1 qos=1 retain=false ids=-
// worker-b <- jobs/2 qos=1 retain=false ids=-
