import {
  after,
  connackReturnCodeV3,
  expiresAt,
  isReasonCodeOf,
  ReasonCode,
  secondsLeft,
} from '@mqtt-sessions/protocol';

// Which codes may a PUBACK carry? A runtime's refusal must be one of them.
export const pubackMayCarry = isReasonCodeOf('puback', ReasonCode.QuotaExceeded); // true

// An MQTT 3.1.1 client only knows six CONNACK return codes.
export const returnCode = connackReturnCodeV3(ReasonCode.Banned); // 5, Not authorized

// A message published with a Message Expiry Interval of 60 s, forwarded 20.5 s later.
const deadline = expiresAt(60, 1_000_000) as number;
export const forwardedInterval = secondsLeft(deadline, 1_020_500); // 40

// Callbacks may answer now or later; `after` stays synchronous when they answer now.
export const doubled = after(21, (value) => value * 2); // 42, not a Promise
