import { isFailure, isReasonCodeOf, ReasonCode } from '@mqtt-sessions/protocol';
import type { AccessDecision, AccessDenied } from '@mqtt-sessions/runtime-default';
import type { IPubackPacket, IPubrecPacket, ISubackPacket, UserProperties } from 'mqtt-packet';
import type { ConnectionState } from './context.js';
import { encode } from './encode.js';

/**
 * The reason code of a refusal by `isAllowed`: the runtime's, when the packet allows it as a
 * failure, else 0x87 (Not authorized), so that a refusal can never read as a success.
 */
export function refusalCode(decision: AccessDecision, action: 'publish' | 'subscribe'): number {
  const code = denialOf(decision)?.reasonCode;
  // A failure code of the packet, but not 0x91: a packet identifier is the server's business.
  const refusable =
    code !== undefined &&
    isFailure(code) &&
    code !== ReasonCode.PacketIdentifierInUse &&
    isReasonCodeOf(action === 'publish' ? 'puback' : 'suback', code);
  return refusable ? code : ReasonCode.NotAuthorized;
}

/** The runtime's refusal, when it said more than `false`. */
export function denialOf(decision: AccessDecision): AccessDenied | undefined {
  return typeof decision === 'object' && decision !== null ? decision : undefined;
}

/** The problem information of one ack: a reason string and user properties, either optional. */
export interface ProblemInformation {
  reasonString: string | undefined;
  userProperties: UserProperties | undefined;
}

/**
 * What the refusals of one packet tell the client: their reason strings joined with `; ` and
 * their user properties merged (a name given twice keeps every value). Undefined when there is
 * nothing to tell, or when the client may not be told: a 3.1.1 client, or a v5 client that set
 * Request Problem Information to 0 [MQTT-3.1.2-29].
 */
export function problemInformation(
  connection: ConnectionState,
  denials: readonly AccessDenied[],
): ProblemInformation | undefined {
  if (connection.version !== 5 || !connection.problemInformation) return undefined;
  const reasons: string[] = [];
  let userProperties: UserProperties | undefined;
  for (const denial of denials) {
    if (denial.reasonString !== undefined) reasons.push(denial.reasonString);
    const extra = denial.userProperties;
    if (extra === undefined) continue;
    userProperties ??= {};
    for (const [name, value] of Object.entries(extra)) {
      const had = userProperties[name];
      userProperties[name] =
        had === undefined ? value : ([] as string[]).concat(had, value as string | string[]);
    }
  }
  const reasonString = reasons.length === 0 ? undefined : reasons.join('; ');
  if (reasonString === undefined && userProperties === undefined) return undefined;
  return { reasonString, userProperties };
}

/**
 * Sends a PUBACK, PUBREC or SUBACK with problem information, leaving out what would make it larger
 * than the client's Maximum Packet Size: the user properties first, then the reason string
 * [MQTT-3.4.2-2] [MQTT-3.4.2-3] [MQTT-3.5.2-2] [MQTT-3.5.2-3] [MQTT-3.9.2-1] [MQTT-3.9.2-2].
 */
export function sendWithProblemInformation(
  connection: ConnectionState,
  packet: IPubackPacket | IPubrecPacket | ISubackPacket,
  problem: ProblemInformation | undefined,
): void {
  if (problem !== undefined) {
    const { reasonString, userProperties } = problem;
    const candidates: NonNullable<IPubackPacket['properties']>[] = [];
    if (userProperties !== undefined) {
      candidates.push(
        reasonString === undefined ? { userProperties } : { reasonString, userProperties },
      );
    }
    if (reasonString !== undefined) candidates.push({ reasonString });
    for (const properties of candidates) {
      const withProperties = { ...packet, properties };
      if (encode(withProperties, 5).length <= connection.maxOutgoingPacketSize) {
        connection.send(withProperties);
        return;
      }
    }
  }
  connection.send(packet);
}
