/** The CONNACK reason codes the default runtime answers with (MQTT 5 section 3.2.2.2). */
export const ConnackReason = {
  Success: 0x00,
  NotAuthorized: 0x87,
  BadAuthenticationMethod: 0x8c,
} as const;
