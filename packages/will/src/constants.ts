/** A Session Expiry Interval of 0xFFFFFFFF seconds means the session does not expire (MQTT 5 3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

/** The default time a connection has to finish its CONNECT handshake, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

/** The largest value of a four-byte integer property (seconds for intervals). */
export const MAX_INTERVAL_SECONDS = 0xffff_ffff;
