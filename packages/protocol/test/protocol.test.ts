import { describe, expect, it } from 'vitest';
import {
  after,
  CLIENT_DISCONNECT_REASON_CODES,
  connackReturnCodeV3,
  expiresAt,
  isExpired,
  isFailure,
  isPromiseLike,
  isReasonCodeOf,
  MAX_PACKET_SIZE,
  REASON_CODES,
  ReasonCode,
  ReturnCodeV3,
  SERVER_DISCONNECT_REASON_CODES,
  secondsLeft,
} from '../src/index.js';

describe('reason codes', () => {
  it('has 43 distinct codes, as MQTT 5 section 2.4 lists', () => {
    const codes = Object.values(ReasonCode);
    expect(codes).toHaveLength(43);
    expect(new Set(codes).size).toBe(43);
  });

  it('puts every code in at least one packet', () => {
    for (const code of Object.values(ReasonCode)) {
      const packets = Object.values(REASON_CODES).filter((set) => set.has(code));
      expect(packets.length, `0x${code.toString(16)}`).toBeGreaterThan(0);
    }
  });

  it('knows which packet carries which code', () => {
    expect(isReasonCodeOf('puback', ReasonCode.NoMatchingSubscribers)).toBe(true);
    expect(isReasonCodeOf('puback', ReasonCode.PacketIdentifierNotFound)).toBe(false);
    expect(isReasonCodeOf('pubrel', ReasonCode.PacketIdentifierNotFound)).toBe(true);
    expect(isReasonCodeOf('pubrel', ReasonCode.UnspecifiedError)).toBe(false);
    expect(isReasonCodeOf('suback', ReasonCode.GrantedQoS2)).toBe(true);
    expect(isReasonCodeOf('unsuback', ReasonCode.NoSubscriptionExisted)).toBe(true);
    expect(isReasonCodeOf('connack', ReasonCode.SessionTakenOver)).toBe(false);
    expect(isReasonCodeOf('auth', ReasonCode.ReAuthenticate)).toBe(true);
  });

  it('splits DISCONNECT codes by sender (section 3.14.2.1)', () => {
    expect(CLIENT_DISCONNECT_REASON_CODES.has(ReasonCode.DisconnectWithWill)).toBe(true);
    expect(SERVER_DISCONNECT_REASON_CODES.has(ReasonCode.DisconnectWithWill)).toBe(false);
    expect(CLIENT_DISCONNECT_REASON_CODES.has(ReasonCode.SessionTakenOver)).toBe(false);
    expect(SERVER_DISCONNECT_REASON_CODES.has(ReasonCode.SessionTakenOver)).toBe(true);
    expect(SERVER_DISCONNECT_REASON_CODES.has(ReasonCode.BadAuthenticationMethod)).toBe(false);
    for (const code of CLIENT_DISCONNECT_REASON_CODES) {
      expect(REASON_CODES.disconnect.has(code)).toBe(true);
    }
  });

  it('tells failures from successes at 0x80', () => {
    expect(isFailure(ReasonCode.NoMatchingSubscribers)).toBe(false);
    expect(isFailure(ReasonCode.UnspecifiedError)).toBe(true);
  });

  it('maps CONNACK reason codes to the nearest MQTT 3.1.1 return code', () => {
    expect(connackReturnCodeV3(ReasonCode.Success)).toBe(ReturnCodeV3.Accepted);
    expect(connackReturnCodeV3(ReasonCode.UnsupportedProtocolVersion)).toBe(
      ReturnCodeV3.UnacceptableProtocolVersion,
    );
    expect(connackReturnCodeV3(ReasonCode.ClientIdentifierNotValid)).toBe(
      ReturnCodeV3.IdentifierRejected,
    );
    expect(connackReturnCodeV3(ReasonCode.BadUserNameOrPassword)).toBe(
      ReturnCodeV3.BadUserNameOrPassword,
    );
    expect(connackReturnCodeV3(ReasonCode.Banned)).toBe(ReturnCodeV3.NotAuthorized);
    expect(connackReturnCodeV3(ReasonCode.ServerBusy)).toBe(ReturnCodeV3.ServerUnavailable);
  });

  it('frames at most 268,435,460 bytes', () => {
    expect(MAX_PACKET_SIZE).toBe(268_435_460);
  });
});

describe('expiry arithmetic', () => {
  it('turns an interval into a deadline, and nothing into none', () => {
    expect(expiresAt(10, 1_000)).toBe(11_000);
    expect(expiresAt(0, 1_000)).toBe(1_000);
    expect(expiresAt(undefined, 1_000)).toBeUndefined();
    expect(expiresAt(-1, 1_000)).toBeUndefined();
    expect(expiresAt(Number.NaN, 1_000)).toBeUndefined();
  });

  it('expires a message from its deadline on', () => {
    expect(isExpired(1_000, 999)).toBe(false);
    expect(isExpired(1_000, 1_000)).toBe(true);
    expect(isExpired(undefined, 1e15)).toBe(false);
  });

  it('rounds the seconds left up and never says 0 [MQTT-3.3.2-6]', () => {
    expect(secondsLeft(11_000, 1_000)).toBe(10);
    expect(secondsLeft(11_000, 1_001)).toBe(10);
    expect(secondsLeft(11_000, 10_999)).toBe(1);
    expect(secondsLeft(11_000, 11_000)).toBe(1);
  });
});

describe('MaybePromise helpers', () => {
  it('runs the next step at once on a plain value', () => {
    let ran = false;
    const result = after(2, (value) => {
      ran = true;
      return value * 3;
    });
    expect(ran).toBe(true);
    expect(result).toBe(6);
  });

  it('waits for a Promise, and for any thenable', async () => {
    expect(await after(Promise.resolve(2), (value) => value + 1)).toBe(3);
    // A thenable that is not a Promise, as some libraries return.
    // biome-ignore lint/suspicious/noThenProperty: the point of the test
    const thenable = { then: (resolve: (value: number) => void) => resolve(5) };
    const result = after(thenable as unknown as Promise<number>, (value) => value * 2);
    expect(isPromiseLike(result)).toBe(true);
    expect(await result).toBe(10);
  });

  it('tells promises from values', () => {
    expect(isPromiseLike(Promise.resolve(1))).toBe(true);
    expect(isPromiseLike(1)).toBe(false);
    expect(isPromiseLike(null as unknown as number)).toBe(false);
  });
});
