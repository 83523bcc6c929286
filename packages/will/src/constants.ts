/** The default time a connection has to finish its CONNECT handshake, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
