/** The largest value of a Four Byte Integer, such as an interval in seconds (MQTT 5 section 1.5.3). */
export const MAX_FOUR_BYTE_INTEGER = 0xffff_ffff;

/** A Session Expiry Interval of 0xFFFFFFFF seconds means that the session never expires (section 3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = MAX_FOUR_BYTE_INTEGER;

/** The largest Variable Byte Integer, and so the largest Remaining Length (section 1.5.5). */
export const MAX_VARIABLE_BYTE_INTEGER = 268_435_455;

/** The largest packet MQTT can frame: one type byte, four length bytes and the largest Remaining Length. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_VARIABLE_BYTE_INTEGER;

/** The largest Subscription Identifier: the largest Variable Byte Integer (section 3.8.2.1.2). */
export const MAX_SUBSCRIPTION_IDENTIFIER = MAX_VARIABLE_BYTE_INTEGER;

/** The largest Packet Identifier; 0 is not a valid one (section 2.2.1). */
export const MAX_PACKET_IDENTIFIER = 0xffff;

/** The largest Receive Maximum, and its value when a CONNECT or CONNACK leaves it out (section 3.1.2.11.3). */
export const MAX_RECEIVE_MAXIMUM = 0xffff;

/** The longest UTF-8 Encoded String in bytes: its length is a Two Byte Integer (section 1.5.4). */
export const MAX_STRING_BYTES = 0xffff;

/** The protocol levels of the CONNECT packet: MQTT 3.1, 3.1.1 and 5 (section 3.1.2.2). */
export const ProtocolLevel = {
  V31: 3,
  V311: 4,
  V5: 5,
} as const;

/** The protocol levels a session speaks: 4 is MQTT 3.1.1, 5 is MQTT 5. */
export type ProtocolVersion = 4 | 5;
