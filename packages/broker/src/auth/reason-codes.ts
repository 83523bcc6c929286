/**
 * The CONNACK reason codes the auth runtime refuses with (MQTT 5 section 3.2.2.2). For MQTT 3.1.1
 * clients the session maps them to the nearest return code (0x86 to 4, 0x87 to 5).
 */
export const AuthReason = {
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  BadAuthenticationMethod: 0x8c,
} as const;
