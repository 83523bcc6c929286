import { after, type MaybePromise, ProtocolLevel, ReasonCode } from '@mqtt-sessions/protocol';
import { createClientId, type SessionRegistry, validateClientId } from '@mqtt-sessions/registry';
import type { PoolChoice, Runtime } from '@mqtt-sessions/runtime-default';
import type { Session, SessionLink } from '@mqtt-sessions/session';
import type { IConnectPacket } from 'mqtt-packet';
import type { Connection, Placement } from './connection.js';

/** What placing a CONNECT needs of a pool. */
export interface PlacementSite<UC> {
  readonly registry: SessionRegistry<Session<UC>>;
  /** True while the pool shuts down: new CONNECTs are refused. */
  readonly closing: boolean;
  /** A new session for a client id, wired to the pool; not yet registered. */
  createSession(clientId: string, connection: Connection): Session<UC>;
  /** The session is registered under its client id: the pool counts it among its own. */
  adopt(session: Session<UC>): void;
  /** Takes the stored state of a newly registered client id, when the store is shared. */
  recover?(session: Session<UC>): MaybePromise<void>;
}

/**
 * Finds or creates the session of a CONNECT's client id and attaches the connection: an empty
 * id gets one assigned [MQTT-3.1.3-6], except under MQTT 3.1.1 without clean session
 * [MQTT-3.1.3-8]; an invalid one is refused with 0x85 (3.1.1: 0x02) [MQTT-3.1.3-9]. When another
 * process holds the client id (a shared registry), it is taken over first.
 */
export function placeConnect<UC>(
  site: PlacementSite<UC>,
  connection: Connection,
  packet: IConnectPacket,
): MaybePromise<Placement> {
  if (site.closing) return { refuse: ReasonCode.ServerUnavailable, reason: 'pool is closing' };
  let clientId = packet.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    // MQTT 3.1 has no empty client id; MQTT 3.1.1 only with a clean session.
    if (
      packet.protocolVersion === ProtocolLevel.V31 ||
      (packet.protocolVersion !== 5 && packet.clean === false)
    ) {
      return {
        refuse: ReasonCode.ClientIdentifierNotValid,
        reason: 'an empty client id (MQTT 3.1, or without clean session)',
      };
    }
    clientId = createClientId();
    assigned = true;
  } else if (packet.protocolVersion === ProtocolLevel.V31 && clientId.length > 23) {
    // MQTT 3.1 section 3.1: a client id is 1 to 23 characters (return code 2).
    return { refuse: ReasonCode.ClientIdentifierNotValid, reason: 'an MQTT 3.1 client id over 23' };
  } else {
    const valid = validateClientId(clientId);
    if (!valid.ok) return { refuse: ReasonCode.ClientIdentifierNotValid, reason: valid.message };
  }
  // The connection itself is the session's link and carries the peer facts: no wrapper object.
  const link: SessionLink = connection;
  const registry = site.registry;
  return after(registry.find(clientId), (existing) => {
    if (existing !== undefined && !existing.ended) {
      return existing.connect(link, packet, connection, assigned);
    }
    const session = site.createSession(clientId, connection);
    return after(registry.register(clientId, session), (registered) => {
      if (!registered.ok) {
        session.end('client id taken');
        if (registered.reason === 'remote') {
          return after(registered.takeover(), () => placeConnect(site, connection, packet));
        }
        const holder = registered.existing;
        if (holder.ended) {
          // The registry still names a session that ended (its unregister is on the way).
          return after(registry.unregister(clientId, holder), () =>
            placeConnect(site, connection, packet),
          );
        }
        return holder.connect(link, packet, connection, assigned);
      }
      site.adopt(session);
      const recovered = site.recover?.(session);
      if (recovered === undefined) return session.connect(link, packet, connection, assigned);
      return Promise.resolve(recovered).then(
        () => session.connect(link, packet, connection, assigned),
        (error: unknown) => {
          // A session that could not be loaded must not stay, empty, under its client id.
          session.end('stored session not loaded');
          throw error;
        },
      );
    });
  });
}

/** The vhost of a `vhost:user` username, if it has one. */
export function vhostOf(username: string | undefined): string | undefined {
  if (username === undefined) return undefined;
  const colon = username.indexOf(':');
  return colon === -1 ? undefined : username.slice(0, colon);
}

/**
 * Places a CONNECT by its vhost: a `vhost:user` username goes to the pool the runtime picks for
 * the vhost (`place` finds it by name), any other to `placeDefault`. A vhost the runtime refuses,
 * or a pool that does not exist, gets CONNACK 0x88 (Server unavailable).
 */
export function placeByVhost(
  runtime: Runtime<unknown>,
  packet: IConnectPacket,
  placeDefault: () => MaybePromise<Placement>,
  place: (pool: string) => MaybePromise<Placement> | undefined,
): MaybePromise<Placement> {
  const vhost = vhostOf(packet.username);
  if (vhost === undefined) return placeDefault();
  return after(runtime.vhostPool(vhost), (choice: PoolChoice) => {
    if (!choice.ok) return { refuse: ReasonCode.ServerUnavailable, reason: choice.reason };
    return (
      place(choice.pool) ?? {
        refuse: ReasonCode.ServerUnavailable,
        reason: `no pool ${choice.pool}`,
      }
    );
  });
}
