/** MQTT 5 reason codes (MQTT 5 section 2.4). Below 0x80 a code reports success, from 0x80 on a failure. */
export const ReasonCode = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** One of the MQTT 5 reason codes. */
export type ReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

/** True for a reason code that reports a failure (0x80 and above). */
export function isFailure(reasonCode: number): boolean {
  return reasonCode >= 0x80;
}

/** MQTT 3.1.1 CONNACK return codes (MQTT 3.1.1 section 3.2.2.3). */
export const ReturnCodeV3 = {
  Accepted: 0x00,
  UnacceptableProtocolVersion: 0x01,
  IdentifierRejected: 0x02,
  ServerUnavailable: 0x03,
  BadUserNameOrPassword: 0x04,
  NotAuthorized: 0x05,
} as const;

/** The MQTT 3.1.1 SUBACK return code of a refused filter (MQTT 3.1.1 section 3.9.3). */
export const SUBACK_FAILURE_V3 = 0x80;

/**
 * The MQTT 3.1.1 CONNACK return code closest to an MQTT 5 CONNACK reason code; 3.1.1 has six
 * codes, so several MQTT 5 reasons share one.
 */
export function connackReturnCodeV3(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success:
      return ReturnCodeV3.Accepted;
    case ReasonCode.UnsupportedProtocolVersion:
      return ReturnCodeV3.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ReturnCodeV3.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword:
      return ReturnCodeV3.BadUserNameOrPassword;
    case ReasonCode.NotAuthorized:
    case ReasonCode.Banned:
    case ReasonCode.BadAuthenticationMethod:
      return ReturnCodeV3.NotAuthorized;
    default:
      return ReturnCodeV3.ServerUnavailable;
  }
}
