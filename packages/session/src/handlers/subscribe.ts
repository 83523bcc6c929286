import {
  after,
  MAX_SUBSCRIPTION_IDENTIFIER,
  type MaybePromise,
  type QoS,
  ReasonCode,
  SUBACK_FAILURE_V3,
} from '@mqtt-sessions/protocol';
import type { SubscriptionOptions } from '@mqtt-sessions/router';
import type { AccessDenied } from '@mqtt-sessions/runtime-default';
import {
  isWildcardFilter,
  parseSharedSubscription,
  validateTopicFilter,
} from '@mqtt-sessions/topic-trie';
import type { ISubackPacket, ISubscribePacket, ISubscription } from 'mqtt-packet';
import {
  denialOf,
  problemInformation,
  refusalCode,
  sendWithProblemInformation,
} from '../access.js';
import type { ConnectionState, SessionContext } from '../context.js';
import { filterProtocolError } from './filter-rules.js';

/** A subscription that was granted and wants retained messages sent. */
interface RetainedRequest {
  readonly filter: string;
  readonly options: SubscriptionOptions;
}

/**
 * SUBSCRIBE (MQTT 5 section 3.8.4): each filter is checked, authorised and added in order, the
 * SUBACK gives one reason code per filter in the same order [MQTT-3.9.3-1], and then the retained
 * messages of the new subscriptions follow, per Retain Handling.
 */
export function handleSubscribe(
  session: SessionContext,
  connection: ConnectionState,
  packet: ISubscribePacket,
): MaybePromise<void> {
  const mark = session.journalMark();
  const subscriptionIdentifier =
    connection.version === 5 ? packet.properties?.subscriptionIdentifier : undefined;
  if (subscriptionIdentifier !== undefined) {
    if (!session.options.subscriptionIdentifiersAvailable) {
      connection.disconnect(
        ReasonCode.SubscriptionIdentifiersNotSupported,
        'Subscription Identifiers are not supported',
      );
      return;
    }
    if (subscriptionIdentifier < 1 || subscriptionIdentifier > MAX_SUBSCRIPTION_IDENTIFIER) {
      connection.disconnect(ReasonCode.ProtocolError, 'Subscription Identifier out of range');
      return;
    }
  }
  const codes: number[] = [];
  const retained: RetainedRequest[] = [];
  const denials: AccessDenied[] = [];
  const entries = packet.subscriptions;
  for (const entry of entries) {
    const problem = filterProtocolError(entry.topic, connection.version);
    if (problem !== undefined) {
      connection.disconnect(ReasonCode.ProtocolError, problem);
      return;
    }
  }
  let index = 0;
  const next = (): MaybePromise<void> => {
    while (index < entries.length) {
      const entry = entries[index++] as ISubscription;
      const outcome = subscribeOne(
        session,
        connection,
        entry,
        subscriptionIdentifier,
        retained,
        denials,
      );
      if (outcome === 'disconnected') return;
      if (typeof outcome !== 'number') {
        return after(outcome, (code) => {
          if (code === 'disconnected') return;
          codes.push(code);
          return next();
        });
      }
      codes.push(outcome);
    }
    // The SUBACK goes once the subscriptions are stored.
    return after(session.durable(mark), () =>
      finish(session, connection, packet.messageId as number, codes, retained, denials),
    );
  };
  return next();
}

/**
 * Checks, authorises and adds one filter; returns its SUBACK reason code. A refusal by the
 * runtime that says why goes into `denials`, for the SUBACK's properties.
 */
function subscribeOne(
  session: SessionContext,
  connection: ConnectionState,
  entry: ISubscription,
  subscriptionIdentifier: number | undefined,
  retained: RetainedRequest[],
  denials: AccessDenied[],
): number | 'disconnected' | Promise<number | 'disconnected'> {
  const options = session.options;
  const filter = entry.topic;
  const limits = { maxLevels: options.maxTopicLevels, maxBytes: options.maxTopicLength };
  const parsed = parseSharedSubscription(filter, limits);
  if (!parsed.ok) return ReasonCode.TopicFilterInvalid;
  // A shared filter was validated by the parse; a plain one is validated here, with the limits.
  if (parsed.shared === null && !validateTopicFilter(filter, limits).ok) {
    return ReasonCode.TopicFilterInvalid;
  }
  const shared = parsed.shared;
  if (shared !== null) {
    if (!options.sharedSubscriptionAvailable) return ReasonCode.SharedSubscriptionsNotSupported;
    if (entry.nl === true) {
      connection.disconnect(ReasonCode.ProtocolError, 'No Local on a shared subscription'); // [MQTT-3.8.3-4]
      return 'disconnected';
    }
  }
  const inner = shared === null ? filter : shared.filter;
  if (!options.wildcardSubscriptionAvailable && isWildcardFilter(inner)) {
    return ReasonCode.WildcardSubscriptionsNotSupported;
  }
  const allowed = session.runtime.isAllowed(
    { action: 'subscribe', topic: filter, subscription: entry },
    session.userContext,
  );
  return after(allowed, (ok) => {
    // An answer that came after the connection or the session ended subscribes nothing: the
    // subscription would belong to a session that is gone, or to a newer clean one.
    if (!connection.live || session.ended) return 'disconnected' as const;
    if (ok !== true) {
      const denial = denialOf(ok);
      if (denial !== undefined) denials.push(denial);
      return refusalCode(ok, 'subscribe');
    }
    const qos = Math.min(entry.qos, options.maximumQoS) as QoS;
    const subscription: SubscriptionOptions = {
      qos,
      noLocal: entry.nl === true,
      retainAsPublished: entry.rap === true,
      retainHandling: (entry.rh ?? 0) as 0 | 1 | 2,
      subscriptionIdentifier,
    };
    const result = session.subscribe(filter, subscription);
    if (!result.ok) {
      if (result.reason === 'quota-exceeded') return ReasonCode.QuotaExceeded;
      return result.reason === 'shared-no-local'
        ? ReasonCode.ProtocolError
        : ReasonCode.TopicFilterInvalid;
    }
    // Retained messages: always (0), for a new subscription (1), never (2) [MQTT-3.3.1-9]
    // [MQTT-3.3.1-10] [MQTT-3.3.1-11]; never on a shared subscription.
    const wanted =
      subscription.retainHandling === 0 || (subscription.retainHandling === 1 && result.isNew);
    if (wanted && shared === null) retained.push({ filter, options: subscription });
    return qos;
  });
}

function finish(
  session: SessionContext,
  connection: ConnectionState,
  messageId: number,
  codes: number[],
  retained: RetainedRequest[],
  denials: readonly AccessDenied[],
): void {
  if (!connection.live) return;
  const granted =
    connection.version === 5
      ? codes
      : codes.map((code) => (code < 0x80 ? code : SUBACK_FAILURE_V3));
  const suback: ISubackPacket = { cmd: 'suback', messageId, granted };
  // One SUBACK answers every filter, so it carries what all the refusals said.
  const problem = denials.length === 0 ? undefined : problemInformation(connection, denials);
  sendWithProblemInformation(connection, suback, problem);
  for (const request of retained) session.sendRetained(request.filter, request.options);
}
