import { ReasonCode as R } from './reason-codes.js';

/** The packets of MQTT 5 that carry reason codes. */
export type ReasonCodePacket =
  | 'connack'
  | 'puback'
  | 'pubrec'
  | 'pubrel'
  | 'pubcomp'
  | 'suback'
  | 'unsuback'
  | 'disconnect'
  | 'auth';

const ACK_FAILURES = [
  R.UnspecifiedError,
  R.ImplementationSpecificError,
  R.NotAuthorized,
  R.TopicNameInvalid,
  R.PacketIdentifierInUse,
  R.QuotaExceeded,
  R.PayloadFormatInvalid,
];

/** DISCONNECT reason codes that either side may send (section 3.14.2.1). */
const DISCONNECT_BY_EITHER = [
  R.Success,
  R.UnspecifiedError,
  R.MalformedPacket,
  R.ProtocolError,
  R.ImplementationSpecificError,
  R.TopicNameInvalid,
  R.ReceiveMaximumExceeded,
  R.TopicAliasInvalid,
  R.PacketTooLarge,
  R.MessageRateTooHigh,
  R.QuotaExceeded,
  R.AdministrativeAction,
  R.PayloadFormatInvalid,
];

/** DISCONNECT reason codes that only a client sends. */
const DISCONNECT_BY_CLIENT = [R.DisconnectWithWill];

/** DISCONNECT reason codes that only a server sends. */
const DISCONNECT_BY_SERVER = [
  R.NotAuthorized,
  R.ServerBusy,
  R.ServerShuttingDown,
  R.KeepAliveTimeout,
  R.SessionTakenOver,
  R.TopicFilterInvalid,
  R.RetainNotSupported,
  R.QoSNotSupported,
  R.UseAnotherServer,
  R.ServerMoved,
  R.SharedSubscriptionsNotSupported,
  R.ConnectionRateExceeded,
  R.MaximumConnectTime,
  R.SubscriptionIdentifiersNotSupported,
  R.WildcardSubscriptionsNotSupported,
];

/**
 * The reason codes each packet may carry, from the table of MQTT 5 section 2.4 and the sections of
 * each packet (3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1).
 * DISCONNECT lists every code either side may send by section 3.14.2.1 (which leaves out 0x8C,
 * although the table of section 2.4 names DISCONNECT for it); see {@link CLIENT_DISCONNECT_REASON_CODES}
 * and {@link SERVER_DISCONNECT_REASON_CODES} for each side.
 */
export const REASON_CODES: Readonly<Record<ReasonCodePacket, ReadonlySet<number>>> = {
  connack: new Set([
    R.Success,
    R.UnspecifiedError,
    R.MalformedPacket,
    R.ProtocolError,
    R.ImplementationSpecificError,
    R.UnsupportedProtocolVersion,
    R.ClientIdentifierNotValid,
    R.BadUserNameOrPassword,
    R.NotAuthorized,
    R.ServerUnavailable,
    R.ServerBusy,
    R.Banned,
    R.BadAuthenticationMethod,
    R.TopicNameInvalid,
    R.PacketTooLarge,
    R.QuotaExceeded,
    R.PayloadFormatInvalid,
    R.RetainNotSupported,
    R.QoSNotSupported,
    R.UseAnotherServer,
    R.ServerMoved,
    R.ConnectionRateExceeded,
  ]),
  puback: new Set([R.Success, R.NoMatchingSubscribers, ...ACK_FAILURES]),
  pubrec: new Set([R.Success, R.NoMatchingSubscribers, ...ACK_FAILURES]),
  pubrel: new Set([R.Success, R.PacketIdentifierNotFound]),
  pubcomp: new Set([R.Success, R.PacketIdentifierNotFound]),
  suback: new Set([
    R.Success,
    R.GrantedQoS1,
    R.GrantedQoS2,
    R.UnspecifiedError,
    R.ImplementationSpecificError,
    R.NotAuthorized,
    R.TopicFilterInvalid,
    R.PacketIdentifierInUse,
    R.QuotaExceeded,
    R.SharedSubscriptionsNotSupported,
    R.SubscriptionIdentifiersNotSupported,
    R.WildcardSubscriptionsNotSupported,
  ]),
  unsuback: new Set([
    R.Success,
    R.NoSubscriptionExisted,
    R.UnspecifiedError,
    R.ImplementationSpecificError,
    R.NotAuthorized,
    R.TopicFilterInvalid,
    R.PacketIdentifierInUse,
  ]),
  disconnect: new Set([...DISCONNECT_BY_EITHER, ...DISCONNECT_BY_CLIENT, ...DISCONNECT_BY_SERVER]),
  auth: new Set([R.Success, R.ContinueAuthentication, R.ReAuthenticate]),
};

/** The DISCONNECT reason codes a client may send ("Sent by: Client" or both, section 3.14.2.1). */
export const CLIENT_DISCONNECT_REASON_CODES: ReadonlySet<number> = new Set([
  ...DISCONNECT_BY_EITHER,
  ...DISCONNECT_BY_CLIENT,
]);

/** The DISCONNECT reason codes a server may send: all but Disconnect with Will Message (0x04). */
export const SERVER_DISCONNECT_REASON_CODES: ReadonlySet<number> = new Set([
  ...DISCONNECT_BY_EITHER,
  ...DISCONNECT_BY_SERVER,
]);

/** True when `packet` may carry `reasonCode`. */
export function isReasonCodeOf(packet: ReasonCodePacket, reasonCode: number): boolean {
  return REASON_CODES[packet].has(reasonCode);
}
