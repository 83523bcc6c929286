/**
 * The table of malformed packets and protocol errors of issue 11, written from the MQTT 5 and
 * MQTT 3.1.1 specifications: bytes in, and the exact bytes out plus whether the connection is then
 * closed. `malformed.test.ts` drives every case through a real pool; README.md says how to write a
 * case and which choices the table makes where the specification leaves one.
 *
 * The bytes are written by hand from the specification. `bytes.ts` only counts lengths (Remaining
 * Length, Property Length, string lengths); mqtt-packet is never used to produce them, since its
 * leniency is what the table tests.
 *
 * The server's answers, by protocol and by where the error is:
 *
 * - MQTT 5, after CONNACK: DISCONNECT with the reason code and no properties, `e0 02 <code> 00`
 *   (the `before` CONNECT sets Request Problem Information to 0, so no Reason String), then close.
 * - MQTT 5, a CONNECT that names protocol "MQTT" level 5 but is malformed or a protocol error:
 *   CONNACK with the reason code, Session Present 0 and no properties, `20 03 00 <code> 00`, then
 *   close (section 4.13.1 allows it; the table requires it).
 * - MQTT 3.1.1, anywhere: the connection is closed and nothing is sent (3.1.1 [MQTT-4.8.0-1]; for a
 *   CONNECT [MQTT-3.1.4-1] [MQTT-3.2.2-6]: no CONNACK at all).
 * - A first packet that is not a CONNECT, or a CONNECT whose protocol name is not "MQTT": closed,
 *   nothing sent.
 */
import { hex, lenPrefixed, packet, props, str, u8, u16, u32, utf8, vbi } from './bytes.js';

// ---------------------------------------------------------------------------------------------
// What a case is
// ---------------------------------------------------------------------------------------------

/** 5 is MQTT 5.0, 4 is MQTT 3.1.1 (its protocol level). */
export type Protocol = 4 | 5;

/** What the server must do with the bytes of a case. */
export type Expected =
  /** Exactly these bytes after the `before` answers, then the connection is closed or stays open. */
  | { readonly out: string; readonly closed: boolean }
  /** A CONNACK with reason code 0x00 (its properties are the server's choice); stays open. */
  | { readonly connackAccepted: true };

/** The defect classes of issue 11, plus the valid edge cases that must be accepted. */
export type Group =
  | 'utf8'
  | 'property-bounds'
  | 'property-placement'
  | 'property-twice'
  | 'property-value'
  | 'variable-byte-integer'
  | 'packet-id-zero'
  | 'ack-malformed'
  | 'ack-flow'
  | 'connect-flags'
  | 'connect'
  | 'fixed-header'
  | 'packet-type'
  | 'subscribe'
  | 'will-on-error'
  | 'valid';

export interface MalformedCase {
  /** Unique; the test name starts with it. `<group>.<what>.<v5|v311>`. */
  readonly id: string;
  readonly group: Group;
  /**
   * The rule the case proves: normative statement tags (`[MQTT-3.3.1-2]`) or a section. MQTT 5 tags
   * for a v5 case, MQTT 3.1.1 tags for a 3.1.1 case (its test name ends in "(3.1.1)").
   */
  readonly rule: string;
  readonly protocol: Protocol;
  /** Valid packets sent first (usually a CONNECT); their answers are not compared. */
  readonly before: readonly string[];
  /** The bytes under test. */
  readonly send: string;
  readonly expect: Expected;
  /** A well-formed packet that the server must accept: a guard against refusing everything. */
  readonly valid?: boolean;
  /**
   * What the bystander (an MQTT 5 client subscribed to `bystander/#` at QoS 0) receives because of
   * the case, exactly; when absent it must receive nothing.
   */
  readonly forwarded?: string;
  readonly note?: string;
}

/** The test name of a case: its id, its rule, and "(3.1.1)" for an MQTT 3.1.1 case. */
export function testName(c: MalformedCase): string {
  return `${c.id} ${c.rule}${c.protocol === 4 ? ' (3.1.1)' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/** MQTT 5 DISCONNECT with a reason code and an empty property section, then close. */
export function disconnect(code: number): Expected {
  return { out: hex('e0 02', u8(code), '00'), closed: true };
}

/** MQTT 5 CONNACK refusal: Session Present 0, the reason code, no properties; then close. */
export function connack(code: number): Expected {
  return { out: hex('20 03 00', u8(code), '00'), closed: true };
}

/** The connection is closed and nothing is sent. */
export const CLOSED: Expected = { out: '', closed: true };

/** Nothing is sent and the connection stays open. */
export const SILENT: Expected = { out: '', closed: false };

/** Exactly these bytes, and the connection stays open. */
export function answered(out: string): Expected {
  return { out: hex(out), closed: false };
}

const ACCEPTED: Expected = { connackAccepted: true };
const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;
const TOPIC_ALIAS_INVALID = 0x94;

// ---------------------------------------------------------------------------------------------
// Valid packets to build on
// ---------------------------------------------------------------------------------------------

/** MQTT 5 Request Problem Information = 0 (property 0x17, section 3.1.2.11.7). */
const RPI0 = '17 00';

/**
 * An MQTT 5 CONNECT, protocol name "MQTT" level 5, Keep Alive 0: the Connect Flags (Clean Start
 * by default), the property section (Request Problem Information 0 by default), then the payload
 * fields as given (Client Identifier "m" by default).
 */
function connect5(
  options: { flags?: number; properties?: string; payload?: string; level?: number } = {},
): string {
  const { flags = 0x02, properties = props(RPI0), payload = str('m'), level = 5 } = options;
  return packet(0x10, str('MQTT'), u8(level), u8(flags), '00 00', properties, payload);
}

/** An MQTT 3.1.1 CONNECT, protocol level 4, Keep Alive 0, Client Identifier "m" by default. */
function connect4(options: { flags?: number; payload?: string } = {}): string {
  const { flags = 0x02, payload = str('m') } = options;
  return packet(0x10, str('MQTT'), '04', u8(flags), '00 00', payload);
}

/** The `before` of most MQTT 5 cases: CONNECT "m", Clean Start, Request Problem Information 0. */
export const CONNECT5 = connect5();
/** The `before` of most MQTT 3.1.1 cases: CONNECT "m", Clean Session. */
export const CONNECT4 = connect4();

/** A Will to `bystander/will` with payload "gone", QoS 0: the Will part of a CONNECT payload. */
const WILL_TOPIC = 'bystander/will';
/** The CONNECT of a client with a Will (QoS 0, not retained, no Will Delay). */
const CONNECT5_WITH_WILL = connect5({
  flags: 0x06,
  payload: hex(str('m'), props(), str(WILL_TOPIC), str('gone')),
});
const CONNECT4_WITH_WILL = connect4({
  flags: 0x06,
  payload: hex(str('m'), str(WILL_TOPIC), str('gone')),
});
/** What the bystander gets when the Will is published. */
const WILL_FORWARDED = packet(0x30, str(WILL_TOPIC), '00', utf8('gone'));

/** A PUBLISH the bystander would receive if the server took it: its topic is under bystander/. */
const TOPIC = 'bystander/p';

/** A QoS 0 PUBLISH to `topic` with property section `properties` and payload "x". */
function publish5(properties = props(), topicField = str(TOPIC), payload = utf8('x')): string {
  return packet(0x30, topicField, properties, payload);
}

/** What the bystander receives for a QoS 0 PUBLISH to it: no identifier, the given properties. */
function forwarded5(properties = props(), topic = TOPIC, payload = utf8('x')): string {
  return packet(0x30, str(topic), properties, payload);
}

// In-flight deliveries to the client itself: it subscribes to m/q and publishes to it, so the
// server sends it a PUBLISH with Packet Identifier 1 that it has not acknowledged yet.
const SUBSCRIBE5_Q1 = packet(0x82, '00 01', props(), str('m/q'), '01');
const SUBSCRIBE5_Q2 = packet(0x82, '00 01', props(), str('m/q'), '02');
const PUBLISH5_Q1 = packet(0x32, str('m/q'), '00 07', props(), utf8('x'));
const PUBLISH5_Q2 = packet(0x34, str('m/q'), '00 07', props(), utf8('x'));
const SUBSCRIBE4_Q1 = packet(0x82, '00 01', str('m/q'), '01');
const SUBSCRIBE4_Q2 = packet(0x82, '00 01', str('m/q'), '02');
const PUBLISH4_Q1 = packet(0x32, str('m/q'), '00 07', utf8('x'));
const PUBLISH4_Q2 = packet(0x34, str('m/q'), '00 07', utf8('x'));
/** CONNECT, then a QoS 1 PUBLISH (identifier 1) in flight from the server to the client. */
const QOS1_IN_FLIGHT_5 = [CONNECT5, SUBSCRIBE5_Q1, PUBLISH5_Q1];
/** CONNECT, then a QoS 2 PUBLISH (identifier 1) in flight, waiting for the client's PUBREC. */
const QOS2_IN_FLIGHT_5 = [CONNECT5, SUBSCRIBE5_Q2, PUBLISH5_Q2];
const QOS1_IN_FLIGHT_4 = [CONNECT4, SUBSCRIBE4_Q1, PUBLISH4_Q1];
const QOS2_IN_FLIGHT_4 = [CONNECT4, SUBSCRIBE4_Q2, PUBLISH4_Q2];

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

const cases: MalformedCase[] = [];

function add(c: MalformedCase): void {
  if (cases.some((other) => other.id === c.id)) throw new Error(`duplicate case id ${c.id}`);
  cases.push(c);
}

const v = (protocol: Protocol) => (protocol === 5 ? 'v5' : 'v311');

// --- UTF-8 ----------------------------------------------------------------------------------
// MQTT 5 section 1.5.4: well-formed UTF-8 (RFC 3629), no surrogates [MQTT-1.5.4-1], no U+0000
// [MQTT-1.5.4-2]. MQTT 3.1.1 section 1.5.3: the same [MQTT-1.5.3-1] [MQTT-1.5.3-2]. Every string
// below is otherwise valid ASCII, with the bad bytes at its end.

/** Ill-formed or forbidden string contents, by name. */
const BAD_UTF8: Record<string, { bytes: string; nul?: true }> = {
  surrogate: { bytes: 'ed a0 80' }, // U+D800 encoded as if it were a scalar value
  overlong: { bytes: 'c0 af' }, // "/" in two bytes
  truncated: { bytes: 'e2 82' }, // the first two of the three bytes of U+20AC, then the string ends
  nul: { bytes: '00', nul: true }, // U+0000
};

/** More ill-formed sequences, tried on the PUBLISH Topic Name only. */
const MORE_BAD_UTF8: Record<string, string> = {
  'surrogate-low': 'ed bf bf', // U+DFFF
  'overlong-3-byte': 'e0 80 af', // "/" in three bytes
  'overlong-4-byte': 'f0 80 80 af', // "/" in four bytes
  'truncated-inside': 'e2 82 61', // a three-byte sequence cut short by an ASCII "a"
  'lone-continuation': '80',
  'byte-ff': 'ff',
  'byte-f5': 'f5 80 80 80', // a lead byte of a code point above U+10FFFF
  'above-u10ffff': 'f4 90 80 80', // U+110000
};

interface Field {
  readonly name: string;
  readonly protocol: Protocol;
  /** A packet (and its `before`) whose string field holds `bad`. */
  readonly build: (bad: string) => { before: readonly string[]; send: string; expect: Expected };
  /** Extra rule tags of the field. */
  readonly rule?: string;
  readonly pair?: true;
}

/** The string `prefix` followed by raw bytes, with its length. */
const badStr = (prefix: string, bad: string) => lenPrefixed(utf8(prefix), bad);

const UTF8_FIELDS_5: readonly Field[] = [
  {
    name: 'publish-topic',
    protocol: 5,
    build: (bad) => ({
      before: [CONNECT5],
      send: publish5(props(), badStr('bystander/', bad)),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'connect-client-id',
    protocol: 5,
    rule: '[MQTT-3.1.4-1]',
    build: (bad) => ({
      before: [],
      send: connect5({ payload: badStr('m', bad) }),
      expect: connack(MALFORMED),
    }),
  },
  {
    name: 'connect-user-name',
    protocol: 5,
    rule: '[MQTT-3.1.4-1]',
    build: (bad) => ({
      before: [],
      // With a Password: the default runtime accepts a user name and password on a first login.
      send: connect5({ flags: 0xc2, payload: hex(str('m'), badStr('u', bad), str('pw')) }),
      expect: connack(MALFORMED),
    }),
  },
  {
    name: 'connect-will-topic',
    protocol: 5,
    rule: '[MQTT-3.1.4-1]',
    build: (bad) => ({
      before: [],
      send: connect5({
        flags: 0x06,
        payload: hex(str('m'), props(), badStr('bystander/', bad), str('gone')),
      }),
      expect: connack(MALFORMED),
    }),
  },
  ...(
    [
      ['connect-will-content-type', (bad: string) => hex('03', badStr('text/', bad))],
      ['connect-will-response-topic', (bad: string) => hex('08', badStr('reply/', bad))],
      [
        'connect-will-user-property-name',
        (bad: string) => hex('26', badStr('k', bad), str('v')),
        true,
      ],
      [
        'connect-will-user-property-value',
        (bad: string) => hex('26', str('k'), badStr('v', bad)),
        true,
      ],
    ] as const
  ).map(
    ([name, property, pair]): Field => ({
      name,
      protocol: 5,
      rule: '[MQTT-3.1.4-1]',
      ...(pair ? { pair: true as const } : {}),
      build: (bad) => ({
        before: [],
        send: connect5({
          flags: 0x06,
          payload: hex(str('m'), props(property(bad)), str(WILL_TOPIC), str('gone')),
        }),
        expect: connack(MALFORMED),
      }),
    }),
  ),
  ...(
    [
      ['connect-authentication-method', (bad: string) => hex('15', badStr('token', bad))],
      ['connect-user-property-name', (bad: string) => hex('26', badStr('k', bad), str('v')), true],
      ['connect-user-property-value', (bad: string) => hex('26', str('k'), badStr('v', bad)), true],
    ] as const
  ).map(
    ([name, property, pair]): Field => ({
      name,
      protocol: 5,
      rule: '[MQTT-3.1.4-1]',
      ...(pair ? { pair: true as const } : {}),
      build: (bad) => ({
        before: [],
        send: connect5({ properties: props(RPI0, property(bad)) }),
        expect: connack(MALFORMED),
      }),
    }),
  ),
  ...(
    [
      ['publish-content-type', (bad: string) => hex('03', badStr('text/', bad))],
      ['publish-response-topic', (bad: string) => hex('08', badStr('reply/', bad))],
      ['publish-user-property-name', (bad: string) => hex('26', badStr('k', bad), str('v')), true],
      ['publish-user-property-value', (bad: string) => hex('26', str('k'), badStr('v', bad)), true],
    ] as const
  ).map(
    ([name, property, pair]): Field => ({
      name,
      protocol: 5,
      ...(pair ? { pair: true as const } : {}),
      build: (bad) => ({
        before: [CONNECT5],
        send: publish5(props(property(bad))),
        expect: disconnect(MALFORMED),
      }),
    }),
  ),
  {
    name: 'subscribe-topic-filter',
    protocol: 5,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0x82, '00 01', props(), badStr('bystander/', bad), '00'),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'subscribe-user-property-name',
    protocol: 5,
    pair: true,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0x82, '00 01', props(hex('26', badStr('k', bad), str('v'))), str('m/s'), '00'),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'subscribe-user-property-value',
    protocol: 5,
    pair: true,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0x82, '00 01', props(hex('26', str('k'), badStr('v', bad))), str('m/s'), '00'),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'unsubscribe-topic-filter',
    protocol: 5,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0xa2, '00 01', props(), badStr('m/', bad)),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'unsubscribe-user-property-value',
    protocol: 5,
    pair: true,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0xa2, '00 01', props(hex('26', str('k'), badStr('v', bad))), str('m/s')),
      expect: disconnect(MALFORMED),
    }),
  },
  ...(
    [
      ['puback', 0x40],
      ['pubrec', 0x50],
      ['pubrel', 0x62],
      ['pubcomp', 0x70],
    ] as const
  ).map(
    ([name, first]): Field => ({
      name: `${name}-reason-string`,
      protocol: 5,
      build: (bad) => ({
        before: [CONNECT5],
        send: packet(first, '00 01', '00', props(hex('1f', badStr('why', bad)))),
        expect: disconnect(MALFORMED),
      }),
    }),
  ),
  {
    name: 'puback-user-property-name',
    protocol: 5,
    pair: true,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0x40, '00 01', '00', props(hex('26', badStr('k', bad), str('v')))),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'disconnect-reason-string',
    protocol: 5,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0xe0, '00', props(hex('1f', badStr('why', bad)))),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'disconnect-user-property-value',
    protocol: 5,
    pair: true,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0xe0, '00', props(hex('26', str('k'), badStr('v', bad)))),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'auth-reason-string',
    protocol: 5,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0xf0, '18', props(hex('1f', badStr('why', bad)))),
      expect: disconnect(MALFORMED),
    }),
  },
  {
    name: 'auth-authentication-method',
    protocol: 5,
    build: (bad) => ({
      before: [CONNECT5],
      send: packet(0xf0, '18', props(hex('15', badStr('token', bad)))),
      expect: disconnect(MALFORMED),
    }),
  },
];

const UTF8_FIELDS_4: readonly Field[] = [
  {
    name: 'publish-topic',
    protocol: 4,
    rule: '[MQTT-3.3.2-1]',
    build: (bad) => ({
      before: [CONNECT4],
      send: packet(0x30, badStr('bystander/', bad), utf8('x')),
      expect: CLOSED,
    }),
  },
  {
    name: 'connect-client-id',
    protocol: 4,
    rule: '[MQTT-3.1.3-4] [MQTT-3.1.4-1]',
    build: (bad) => ({ before: [], send: connect4({ payload: badStr('m', bad) }), expect: CLOSED }),
  },
  {
    name: 'connect-user-name',
    protocol: 4,
    rule: '[MQTT-3.1.3-11] [MQTT-3.1.4-1]',
    build: (bad) => ({
      before: [],
      send: connect4({ flags: 0xc2, payload: hex(str('m'), badStr('u', bad), str('pw')) }),
      expect: CLOSED,
    }),
  },
  {
    name: 'connect-will-topic',
    protocol: 4,
    rule: '[MQTT-3.1.3-10] [MQTT-3.1.4-1]',
    build: (bad) => ({
      before: [],
      send: connect4({
        flags: 0x06,
        payload: hex(str('m'), badStr('bystander/', bad), str('gone')),
      }),
      expect: CLOSED,
    }),
  },
  {
    name: 'subscribe-topic-filter',
    protocol: 4,
    rule: '[MQTT-3.8.3-1]',
    build: (bad) => ({
      before: [CONNECT4],
      send: packet(0x82, '00 01', badStr('bystander/', bad), '00'),
      expect: CLOSED,
    }),
  },
  {
    name: 'unsubscribe-topic-filter',
    protocol: 4,
    rule: '[MQTT-3.10.3-1]',
    build: (bad) => ({
      before: [CONNECT4],
      send: packet(0xa2, '00 01', badStr('m/', bad)),
      expect: CLOSED,
    }),
  },
];

function utf8Rule(field: Field, nul: boolean): string {
  let base: string;
  if (field.protocol === 5) {
    base = nul ? '[MQTT-1.5.4-2]' : '[MQTT-1.5.4-1]';
    if (field.pair) base += ' [MQTT-1.5.7-1]';
    base += ' [MQTT-4.13.1-1]';
  } else {
    base = nul ? '[MQTT-1.5.3-2]' : '[MQTT-1.5.3-1]';
  }
  return field.rule === undefined ? base : `${base} ${field.rule}`;
}

for (const field of [...UTF8_FIELDS_5, ...UTF8_FIELDS_4]) {
  for (const [badName, bad] of Object.entries(BAD_UTF8)) {
    add({
      id: `utf8.${field.name}.${badName}.${v(field.protocol)}`,
      group: 'utf8',
      rule: utf8Rule(field, bad.nul === true),
      protocol: field.protocol,
      ...field.build(bad.bytes),
    });
  }
}
for (const field of [UTF8_FIELDS_5[0] as Field, UTF8_FIELDS_4[0] as Field]) {
  for (const [badName, bad] of Object.entries(MORE_BAD_UTF8)) {
    add({
      id: `utf8.${field.name}.${badName}.${v(field.protocol)}`,
      group: 'utf8',
      rule: utf8Rule(field, false),
      protocol: field.protocol,
      ...field.build(bad),
    });
  }
}

// --- Property boundaries (MQTT 5 section 2.2.2) ----------------------------------------------
// A property whose value runs past the Property Length, or a Property Length that runs past the
// packet, is Malformed: section 2.2.2.1 and [MQTT-4.13.1-1].

const BOUNDS = 'section 2.2.2 [MQTT-4.13.1-1]';

add({
  id: 'property-bounds.publish-value-past-property-length.issue-example.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  // The example of issue 11: Property Length 1 holds only the identifier of a Payload Format
  // Indicator; its value byte would be the first byte of the payload.
  send: hex('32 12 00 05 74 6f 70 69 63 12 34 01 01 70 61 79 6c 6f 61 64'),
  expect: disconnect(MALFORMED),
  note: 'delivered today as payload "ayload" with a Payload Format Indicator of 0x70',
});
add({
  id: 'property-bounds.publish-value-past-property-length.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: publish5(hex('01', '01'), str(TOPIC), utf8('payload')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.publish-string-past-property-length.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  // Property Length 4: Content Type, a string length of 10, and only one of its bytes.
  send: publish5(hex('04', '03', '00 0a', utf8('t')), str(TOPIC), utf8('ext/plain!')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.publish-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x30, str(TOPIC), '0a', '01 01'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.publish-qos1-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x32, str(TOPIC), '00 01', '05', '01 01'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.connect-value-past-property-length.v5',
  group: 'property-bounds',
  rule: `${BOUNDS} [MQTT-3.1.4-1]`,
  protocol: 5,
  before: [],
  // Property Length 3: Request Problem Information 0, then a Session Expiry Interval whose four
  // bytes would be read from the Client Identifier.
  send: connect5({ properties: hex('03', RPI0, '11'), payload: hex(str('mmmm')) }),
  expect: connack(MALFORMED),
});
add({
  id: 'property-bounds.connect-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: `${BOUNDS} [MQTT-3.1.4-1]`,
  protocol: 5,
  before: [],
  send: packet(0x10, str('MQTT'), '05 02 00 00', '09', RPI0),
  expect: connack(MALFORMED),
});
add({
  id: 'property-bounds.will-value-past-property-length.v5',
  group: 'property-bounds',
  rule: `${BOUNDS} [MQTT-3.1.4-1]`,
  protocol: 5,
  before: [],
  // Will Property Length 1: a Will Delay Interval whose value would be read from the Will Topic.
  send: connect5({ flags: 0x06, payload: hex(str('m'), '01 18', str(WILL_TOPIC), str('gone')) }),
  expect: connack(MALFORMED),
});
add({
  id: 'property-bounds.will-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: `${BOUNDS} [MQTT-3.1.4-1]`,
  protocol: 5,
  before: [],
  send: connect5({ flags: 0x06, payload: hex(str('m'), '20', '18 00 00 00 00') }),
  expect: connack(MALFORMED),
});
for (const [name, first] of [
  ['puback', 0x40],
  ['pubrec', 0x50],
  ['pubrel', 0x62],
  ['pubcomp', 0x70],
] as const) {
  add({
    id: `property-bounds.${name}-value-past-property-length.v5`,
    group: 'property-bounds',
    rule: BOUNDS,
    protocol: 5,
    before: [CONNECT5],
    // Property Length 1 holds only the identifier of a Reason String; the string follows outside.
    send: packet(first, '00 01', '00', '01 1f', str('why')),
    expect: disconnect(MALFORMED),
  });
  add({
    id: `property-bounds.${name}-property-length-past-packet.v5`,
    group: 'property-bounds',
    rule: BOUNDS,
    protocol: 5,
    before: [CONNECT5],
    send: packet(first, '00 01', '00', '05'),
    expect: disconnect(MALFORMED),
  });
}
add({
  id: 'property-bounds.subscribe-value-past-property-length.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  // Property Length 1: a Subscription Identifier whose value would be the filter's length byte.
  send: packet(0x82, '00 01', '01 0b', str('m/s'), '00'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.subscribe-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', '0c', '0b 01', str('m/s'), '00'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.unsubscribe-value-past-property-length.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xa2, '00 01', '03', '26', str('k'), str('v'), str('m/s')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.unsubscribe-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xa2, '00 01', '10', str('m/s')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.disconnect-value-past-property-length.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xe0, '00', '01 1f', str('why')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.disconnect-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xe0, '00', '05'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.auth-value-past-property-length.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xf0, '18', '01 15', str('token')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'property-bounds.auth-property-length-past-packet.v5',
  group: 'property-bounds',
  rule: BOUNDS,
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xf0, '18', '05'),
  expect: disconnect(MALFORMED),
});
for (const id of ['00', '04', '2b', '7f']) {
  add({
    id: `property-bounds.publish-unknown-property-${id}.v5`,
    group: 'property-bounds',
    rule: 'section 2.2.2.2 [MQTT-4.13.1-1]',
    protocol: 5,
    before: [CONNECT5],
    send: publish5(props(hex(id, '00'))),
    expect: disconnect(MALFORMED),
    note: 'an identifier section 2.2.2.2 does not define',
  });
}
add({
  id: 'property-bounds.connect-unknown-property-04.v5',
  group: 'property-bounds',
  rule: 'section 2.2.2.2 [MQTT-3.1.4-1]',
  protocol: 5,
  before: [],
  send: connect5({ properties: props(RPI0, '04 00') }),
  expect: connack(MALFORMED),
});
add({
  id: 'property-bounds.puback-unknown-property-04.v5',
  group: 'property-bounds',
  rule: 'section 2.2.2.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x40, '00 01', '00', props('04 00')),
  expect: disconnect(MALFORMED),
});

// --- Properties not valid for the packet type (MQTT 5 section 2.2.2.2) ------------------------
// "A Control Packet which contains an Identifier which is not valid for its packet type ... is a
// Malformed Packet." Every property of the table, with a value of its type that would be valid
// where it belongs, in every packet a client sends where the table does not list it.

/** Every property of section 2.2.2.2, with a sample value of its data type. */
export const PROPERTIES: readonly { id: number; name: string; sample: string }[] = [
  { id: 0x01, name: 'payload-format-indicator', sample: '01 01' },
  { id: 0x02, name: 'message-expiry-interval', sample: hex('02', u32(60)) },
  { id: 0x03, name: 'content-type', sample: hex('03', str('text/plain')) },
  { id: 0x08, name: 'response-topic', sample: hex('08', str('reply/to')) },
  { id: 0x09, name: 'correlation-data', sample: hex('09', lenPrefixed('c0 ff ee')) },
  { id: 0x0b, name: 'subscription-identifier', sample: hex('0b', vbi(1)) },
  { id: 0x11, name: 'session-expiry-interval', sample: hex('11', u32(60)) },
  { id: 0x12, name: 'assigned-client-identifier', sample: hex('12', str('x')) },
  { id: 0x13, name: 'server-keep-alive', sample: hex('13', u16(10)) },
  { id: 0x15, name: 'authentication-method', sample: hex('15', str('token')) },
  { id: 0x16, name: 'authentication-data', sample: hex('16', lenPrefixed('01 02')) },
  { id: 0x17, name: 'request-problem-information', sample: '17 00' },
  { id: 0x18, name: 'will-delay-interval', sample: hex('18', u32(0)) },
  { id: 0x19, name: 'request-response-information', sample: '19 00' },
  { id: 0x1a, name: 'response-information', sample: hex('1a', str('r')) },
  { id: 0x1c, name: 'server-reference', sample: hex('1c', str('other')) },
  { id: 0x1f, name: 'reason-string', sample: hex('1f', str('why')) },
  { id: 0x21, name: 'receive-maximum', sample: hex('21', u16(10)) },
  { id: 0x22, name: 'topic-alias-maximum', sample: hex('22', u16(10)) },
  { id: 0x23, name: 'topic-alias', sample: hex('23', u16(1)) },
  { id: 0x24, name: 'maximum-qos', sample: '24 01' },
  { id: 0x25, name: 'retain-available', sample: '25 01' },
  { id: 0x26, name: 'user-property', sample: hex('26', str('k'), str('v')) },
  { id: 0x27, name: 'maximum-packet-size', sample: hex('27', u32(1024)) },
  { id: 0x28, name: 'wildcard-subscription-available', sample: '28 01' },
  { id: 0x29, name: 'subscription-identifier-available', sample: '29 01' },
  { id: 0x2a, name: 'shared-subscription-available', sample: '2a 01' },
];

type Place =
  | 'connect'
  | 'will'
  | 'publish'
  | 'puback'
  | 'pubrec'
  | 'pubrel'
  | 'pubcomp'
  | 'subscribe'
  | 'unsubscribe'
  | 'disconnect'
  | 'auth';

interface PlaceSpec {
  /** The properties section 2.2.2.2 lists for the packet (or the Will Properties). */
  readonly allowed: readonly number[];
  /** The section that lists the packet's properties. */
  readonly section: string;
  /** The packet with property section `properties` (whole, with its length), its `before`, and the refusal. */
  readonly build: (
    properties: string,
    code: number,
  ) => {
    before: readonly string[];
    send: string;
    expect: Expected;
  };
}

function ackPlace(first: number, section: string): PlaceSpec {
  return {
    allowed: [0x1f, 0x26],
    section,
    build: (properties, code) => ({
      before: [CONNECT5],
      send: packet(first, '00 01', '00', properties),
      expect: disconnect(code),
    }),
  };
}

export const PLACES: Readonly<Record<Place, PlaceSpec>> = {
  connect: {
    allowed: [0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27],
    section: 'section 3.1.2.11',
    build: (properties, code) => ({
      before: [],
      send: connect5({ properties }),
      expect: connack(code),
    }),
  },
  will: {
    allowed: [0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26],
    section: 'section 3.1.3.2',
    build: (properties, code) => ({
      before: [],
      send: connect5({
        flags: 0x06,
        payload: hex(str('m'), properties, str(WILL_TOPIC), str('gone')),
      }),
      expect: connack(code),
    }),
  },
  publish: {
    // The table lists Subscription Identifier for PUBLISH, but only the server may send it there
    // ([MQTT-3.3.4-6]); that is a case of its own below.
    allowed: [0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x23, 0x26],
    section: 'section 3.3.2.3',
    build: (properties, code) => ({
      before: [CONNECT5],
      send: packet(0x32, str(TOPIC), '00 01', properties, utf8('x')),
      expect: disconnect(code),
    }),
  },
  puback: ackPlace(0x40, 'section 3.4.2.2'),
  pubrec: ackPlace(0x50, 'section 3.5.2.2'),
  pubrel: ackPlace(0x62, 'section 3.6.2.2'),
  pubcomp: ackPlace(0x70, 'section 3.7.2.2'),
  subscribe: {
    allowed: [0x0b, 0x26],
    section: 'section 3.8.2.1',
    build: (properties, code) => ({
      before: [CONNECT5],
      send: packet(0x82, '00 01', properties, str('m/s'), '00'),
      expect: disconnect(code),
    }),
  },
  unsubscribe: {
    allowed: [0x26],
    section: 'section 3.10.2.1',
    build: (properties, code) => ({
      before: [CONNECT5],
      send: packet(0xa2, '00 01', properties, str('m/s')),
      expect: disconnect(code),
    }),
  },
  disconnect: {
    // Server Reference is listed for DISCONNECT; only the server has a use for it.
    allowed: [0x11, 0x1c, 0x1f, 0x26],
    section: 'section 3.14.2.2',
    build: (properties, code) => ({
      // The Session Expiry Interval of 60 lets a DISCONNECT carry one (section 3.14.2.2.2).
      before: [connect5({ properties: props(RPI0, hex('11', u32(60))) })],
      send: packet(0xe0, '00', properties),
      expect: disconnect(code),
    }),
  },
  auth: {
    allowed: [0x15, 0x16, 0x1f, 0x26],
    section: 'section 3.15.2.2',
    build: (properties, code) => ({
      before: [CONNECT5],
      send: packet(0xf0, '18', properties),
      expect: disconnect(code),
    }),
  },
};

for (const [place, spec] of Object.entries(PLACES) as [Place, PlaceSpec][]) {
  for (const property of PROPERTIES) {
    if (spec.allowed.includes(property.id)) continue;
    // In a CONNECT, keep Request Problem Information 0 beside the misplaced property.
    const properties = place === 'connect' ? props(RPI0, property.sample) : props(property.sample);
    add({
      id: `property-placement.${place}.${property.name}.v5`,
      group: 'property-placement',
      rule: `section 2.2.2.2 ${spec.section}${place === 'connect' || place === 'will' ? ' [MQTT-3.1.4-1]' : ' [MQTT-4.13.1-1]'}`,
      protocol: 5,
      ...spec.build(properties, MALFORMED),
    });
  }
}

// --- A property that may appear once, twice (MQTT 5: "It is a Protocol Error to include ... more
// than once"). Only User Property may repeat (and Subscription Identifier in a server PUBLISH).

for (const [place, spec] of Object.entries(PLACES) as [Place, PlaceSpec][]) {
  for (const property of PROPERTIES) {
    if (!spec.allowed.includes(property.id)) continue;
    if (property.id === 0x26) continue; // User Property may appear more than once
    if (place === 'publish' && property.id === 0x0b) continue; // refused in a client PUBLISH anyway
    if (place === 'connect' && property.id === 0x17) continue; // covered by the one below
    const twice = hex(property.sample, property.sample);
    let properties = props(twice);
    if (place === 'connect') {
      // Authentication Data needs an Authentication Method beside it (section 3.1.2.11.10).
      properties = props(RPI0, property.id === 0x16 ? hex('15', str('token')) : '', twice);
    }
    add({
      id: `property-twice.${place}.${property.name}.v5`,
      group: 'property-twice',
      rule: `${spec.section}${place === 'connect' || place === 'will' ? ' [MQTT-3.1.4-1]' : ' [MQTT-4.13.1-1]'}`,
      protocol: 5,
      ...spec.build(properties, PROTOCOL_ERROR),
    });
  }
}
add({
  id: 'property-twice.connect.request-problem-information.v5',
  group: 'property-twice',
  rule: 'section 3.1.2.11.7 [MQTT-3.1.4-1]',
  protocol: 5,
  before: [],
  send: connect5({ properties: props(RPI0, RPI0) }),
  expect: connack(PROTOCOL_ERROR),
});
add({
  id: 'property-twice.subscribe.subscription-identifier.issue-example.v5',
  group: 'property-twice',
  rule: 'section 3.8.2.1.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('82 0b 00 01 04 0b 01 0b 01 00 01 70 00'),
  expect: disconnect(PROTOCOL_ERROR),
});

// --- Property values -------------------------------------------------------------------------

add({
  id: 'property-value.publish-payload-format-indicator-2.v5',
  group: 'property-value',
  rule: 'section 3.3.2.3.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props('01 02')),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'property-value.publish-payload-format-indicator-ff.v5',
  group: 'property-value',
  rule: 'section 3.3.2.3.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props('01 ff')),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'property-value.will-payload-format-indicator-2.v5',
  group: 'property-value',
  rule: 'section 3.1.3.2.3 [MQTT-3.1.4-1]',
  protocol: 5,
  before: [],
  send: connect5({
    flags: 0x06,
    payload: hex(str('m'), props('01 02'), str(WILL_TOPIC), str('gone')),
  }),
  expect: connack(PROTOCOL_ERROR),
});
for (const [name, property, section] of [
  ['request-problem-information-2', '17 02', 'section 3.1.2.11.7'],
  ['request-response-information-2', '19 02', 'section 3.1.2.11.6'],
  ['receive-maximum-0', hex('21', u16(0)), 'section 3.1.2.11.3'],
  ['maximum-packet-size-0', hex('27', u32(0)), 'section 3.1.2.11.4'],
  ['authentication-data-without-method', hex('16', lenPrefixed('01')), 'section 3.1.2.11.10'],
] as const) {
  add({
    id: `property-value.connect-${name}.v5`,
    group: 'property-value',
    rule: `${section} [MQTT-3.1.4-1]`,
    protocol: 5,
    before: [],
    // Request Problem Information is not repeated: the one under test is the only one.
    send: connect5({ properties: props(name.startsWith('request-problem') ? '' : RPI0, property) }),
    expect: connack(PROTOCOL_ERROR),
  });
}
add({
  id: 'property-value.publish-topic-alias-0.v5',
  group: 'property-value',
  rule: '[MQTT-3.3.2-8] section 3.3.2.3.4',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(hex('23', u16(0)))),
  expect: disconnect(TOPIC_ALIAS_INVALID),
});
add({
  id: 'property-value.publish-subscription-identifier-from-client.v5',
  group: 'property-value',
  rule: '[MQTT-3.3.4-6]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(hex('0b', vbi(1)))),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'property-value.subscribe-subscription-identifier-0.v5',
  group: 'property-value',
  rule: 'section 3.8.2.1.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props('0b 00'), str('m/s'), '00'),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'property-value.disconnect-session-expiry-after-zero.v5',
  group: 'property-value',
  rule: 'section 3.14.2.2.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  // The CONNECT had no Session Expiry Interval (0): a non-zero one on DISCONNECT is a Protocol Error.
  send: packet(0xe0, '00', props(hex('11', u32(60)))),
  expect: disconnect(PROTOCOL_ERROR),
});

// --- Variable Byte Integers of more than four bytes (section 1.5.5) ---------------------------

add({
  id: 'variable-byte-integer.remaining-length-5-bytes.v5',
  group: 'variable-byte-integer',
  rule: 'section 1.5.5 section 2.1.4 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('30 80 80 80 80 01'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'variable-byte-integer.remaining-length-5-bytes.v311',
  group: 'variable-byte-integer',
  rule: 'section 2.2.3 [MQTT-4.8.0-1]',
  protocol: 4,
  before: [CONNECT4],
  send: hex('30 80 80 80 80 01'),
  expect: CLOSED,
});
add({
  id: 'variable-byte-integer.property-length-5-bytes.v5',
  group: 'variable-byte-integer',
  rule: 'section 1.5.5 section 2.2.2.1 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x30, str(TOPIC), '80 80 80 80 00', utf8('x')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'variable-byte-integer.subscription-identifier-5-bytes.v5',
  group: 'variable-byte-integer',
  rule: 'section 1.5.5 section 3.8.2.1.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props('0b 81 80 80 80 01'), str('m/s'), '00'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'variable-byte-integer.subscription-identifier-truncated.v5',
  group: 'variable-byte-integer',
  rule: 'section 1.5.5 section 3.8.2.1.2 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  // Property Length 2: the Subscription Identifier's continuation bit promises a byte that is not
  // in the property section.
  send: packet(0x82, '00 01', '02 0b 81', str('m/s'), '00'),
  expect: disconnect(MALFORMED),
});

// --- Packet Identifier 0 (MQTT 5 [MQTT-2.2.1-3], Protocol Error; 3.1.1 [MQTT-2.3.1-1]) ---------

function packetIdZero(protocol: Protocol): [string, string][] {
  const p = protocol === 5 ? props() : '';
  return [
    ['publish-qos1', packet(0x32, str(TOPIC), '00 00', p, utf8('x'))],
    ['publish-qos2', packet(0x34, str(TOPIC), '00 00', p, utf8('x'))],
    ['subscribe', packet(0x82, '00 00', p, str('m/s'), '00')],
    ['unsubscribe', packet(0xa2, '00 00', p, str('m/s'))],
    ['puback', hex('40 02 00 00')],
    ['pubrec', hex('50 02 00 00')],
    ['pubrel', hex('62 02 00 00')],
    ['pubcomp', hex('70 02 00 00')],
  ];
}
for (const protocol of [5, 4] as const) {
  for (const [name, send] of packetIdZero(protocol)) {
    add({
      id: `packet-id-zero.${name}.${v(protocol)}`,
      group: 'packet-id-zero',
      rule: protocol === 5 ? '[MQTT-2.2.1-3] [MQTT-4.13.1-1]' : '[MQTT-2.3.1-1] [MQTT-4.8.0-1]',
      protocol,
      before: [protocol === 5 ? CONNECT5 : CONNECT4],
      send,
      expect: protocol === 5 ? disconnect(PROTOCOL_ERROR) : CLOSED,
    });
  }
}
add({
  id: 'packet-id-zero.publish-qos1.issue-example.v5',
  group: 'packet-id-zero',
  rule: '[MQTT-2.2.1-3] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('32 11 00 05 74 6f 70 69 63 00 00 00 70 61 79 6c 6f 61 64'),
  expect: disconnect(PROTOCOL_ERROR),
  note: 'answered today with PUBACK 40 04 00 00 10 00',
});

// --- Malformed acknowledgements --------------------------------------------------------------
// MQTT 5 sections 3.4-3.7: Packet Identifier, then (if the Remaining Length is over 2) a Reason
// Code of the packet's own set, then (if over 3) properties. MQTT 3.1.1: Remaining Length 2 only.
// The server never answers with an identifier it invented.

const ACKS = [
  { name: 'puback', first: 0x40, badCode: 0x01, section5: 'section 3.4', rule5: '[MQTT-3.4.2-1]' },
  { name: 'pubrec', first: 0x50, badCode: 0x02, section5: 'section 3.5', rule5: '[MQTT-3.5.2-1]' },
  { name: 'pubrel', first: 0x62, badCode: 0x10, section5: 'section 3.6', rule5: '[MQTT-3.6.2-1]' },
  { name: 'pubcomp', first: 0x70, badCode: 0x80, section5: 'section 3.7', rule5: '[MQTT-3.7.2-1]' },
] as const;

for (const ack of ACKS) {
  for (const [what, body] of [
    ['remaining-length-0', ''],
    ['remaining-length-1', '00'],
  ] as const) {
    add({
      id: `ack-malformed.${ack.name}-${what}.v5`,
      group: 'ack-malformed',
      rule: `${ack.section5} [MQTT-4.13.1-1]`,
      protocol: 5,
      before: [CONNECT5],
      send: packet(ack.first, body),
      expect: disconnect(MALFORMED),
    });
    add({
      id: `ack-malformed.${ack.name}-${what}.v311`,
      group: 'ack-malformed',
      rule: `section ${ack.section5.slice(8)}.1 [MQTT-4.8.0-1]`,
      protocol: 4,
      before: [CONNECT4],
      send: packet(ack.first, body),
      expect: CLOSED,
    });
  }
  add({
    id: `ack-malformed.${ack.name}-remaining-length-3.v311`,
    group: 'ack-malformed',
    rule: `section ${ack.section5.slice(8)}.1 [MQTT-4.8.0-1]`,
    protocol: 4,
    before: [CONNECT4],
    // An MQTT 5 style acknowledgement with a Reason Code on an MQTT 3.1.1 connection.
    send: packet(ack.first, '00 01', '00'),
    expect: CLOSED,
  });
  add({
    id: `ack-malformed.${ack.name}-unknown-reason-code.v5`,
    group: 'ack-malformed',
    rule: `${ack.rule5} [MQTT-4.13.1-1]`,
    protocol: 5,
    before: [CONNECT5],
    send: packet(ack.first, '00 01', u8(ack.badCode)),
    expect: disconnect(MALFORMED),
  });
  add({
    id: `ack-malformed.${ack.name}-reason-code-ff.v5`,
    group: 'ack-malformed',
    rule: `${ack.rule5} [MQTT-4.13.1-1]`,
    protocol: 5,
    before: [CONNECT5],
    send: packet(ack.first, '00 01', 'ff', props()),
    expect: disconnect(MALFORMED),
  });
  add({
    id: `ack-malformed.${ack.name}-truncated-properties.v5`,
    group: 'ack-malformed',
    rule: `${ack.section5}.2.2 [MQTT-4.13.1-1]`,
    protocol: 5,
    before: [CONNECT5],
    // Property Length 4: a Reason String of 5 bytes, only one of which is there.
    send: packet(ack.first, '00 01', '00', '04 1f 00 05', utf8('w')),
    expect: disconnect(MALFORMED),
  });
  add({
    id: `ack-malformed.${ack.name}-bytes-after-properties.v5`,
    group: 'ack-malformed',
    rule: `${ack.section5}.3 [MQTT-4.13.1-1]`,
    protocol: 5,
    before: [CONNECT5],
    // These packets have no payload.
    send: packet(ack.first, '00 01', '00', props(), 'ff'),
    expect: disconnect(MALFORMED),
  });
}
add({
  id: 'ack-malformed.pubrel-remaining-length-0.issue-example.v5',
  group: 'ack-malformed',
  rule: 'section 3.6 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('62 00'),
  expect: disconnect(MALFORMED),
  note: 'answered today with PUBCOMP 70 04 ff ff 92 00, for an identifier nobody sent',
});

// --- Acknowledgement flow --------------------------------------------------------------------
// An acknowledgement of the wrong type for a message in flight is a Protocol Error (issue 11:
// MQTT 5 [MQTT-4.3.2-4] [MQTT-4.3.3-8] [MQTT-4.3.3-11]; 3.1.1 [MQTT-4.3.2-2] [MQTT-4.3.3-2]).

for (const protocol of [5, 4] as const) {
  const q1 = protocol === 5 ? QOS1_IN_FLIGHT_5 : QOS1_IN_FLIGHT_4;
  const q2 = protocol === 5 ? QOS2_IN_FLIGHT_5 : QOS2_IN_FLIGHT_4;
  const rule =
    protocol === 5
      ? '[MQTT-4.3.2-4] [MQTT-4.3.3-8] [MQTT-4.3.3-11] [MQTT-4.13.1-1]'
      : '[MQTT-4.3.2-2] [MQTT-4.3.3-2] [MQTT-4.8.0-1]';
  const refused = protocol === 5 ? disconnect(PROTOCOL_ERROR) : CLOSED;
  for (const [name, before, send] of [
    ['pubrec-for-qos1', q1, '50 02 00 01'],
    ['pubcomp-for-qos1', q1, '70 02 00 01'],
    ['puback-for-qos2', q2, '40 02 00 01'],
    ['pubcomp-for-qos2-before-pubrec', q2, '70 02 00 01'],
  ] as const) {
    add({
      id: `ack-flow.${name}.${v(protocol)}`,
      group: 'ack-flow',
      rule,
      protocol,
      before,
      send: hex(send),
      expect: refused,
    });
  }
}

// --- CONNECT: payload against flags ----------------------------------------------------------
// MQTT 5 [MQTT-3.1.2-3] [MQTT-3.1.2-9] [MQTT-3.1.2-11..19] [MQTT-3.1.4-1]: CONNACK 0x81, close.
// MQTT 3.1.1 [MQTT-3.1.2-3] [MQTT-3.1.2-9..22] [MQTT-3.1.4-1]: close, no CONNACK.

interface FlagCase {
  readonly name: string;
  readonly rule5?: string;
  readonly rule4?: string;
  readonly flags: number;
  /** The payload after the Client Identifier, MQTT 5 form (Will Properties where a Will is). */
  readonly rest5: string;
  readonly rest4: string;
}

const WILL5 = hex(props(), str(WILL_TOPIC), str('gone'));
const WILL4 = hex(str(WILL_TOPIC), str('gone'));

const FLAG_CASES: readonly FlagCase[] = [
  {
    name: 'reserved-flag-set',
    rule5: '[MQTT-3.1.2-3]',
    rule4: '[MQTT-3.1.2-3]',
    flags: 0x03,
    rest5: '',
    rest4: '',
  },
  {
    name: 'will-qos-1-without-will-flag',
    rule5: '[MQTT-3.1.2-11]',
    rule4: '[MQTT-3.1.2-13]',
    flags: 0x0a,
    rest5: '',
    rest4: '',
  },
  {
    name: 'will-qos-2-without-will-flag',
    rule5: '[MQTT-3.1.2-11]',
    rule4: '[MQTT-3.1.2-13]',
    flags: 0x12,
    rest5: '',
    rest4: '',
  },
  {
    name: 'will-retain-without-will-flag',
    rule5: '[MQTT-3.1.2-13]',
    rule4: '[MQTT-3.1.2-15]',
    flags: 0x22,
    rest5: '',
    rest4: '',
  },
  {
    name: 'will-qos-3',
    rule5: '[MQTT-3.1.2-12]',
    rule4: '[MQTT-3.1.2-14]',
    flags: 0x1e,
    rest5: WILL5,
    rest4: WILL4,
  },
  {
    name: 'will-fields-without-will-flag',
    rule5: 'section 3.1.2.5',
    rule4: '[MQTT-3.1.2-11]',
    flags: 0x02,
    rest5: WILL5,
    rest4: WILL4,
  },
  {
    name: 'will-flag-without-will-fields',
    rule5: '[MQTT-3.1.2-9]',
    rule4: '[MQTT-3.1.2-9]',
    flags: 0x06,
    rest5: '',
    rest4: '',
  },
  {
    name: 'will-flag-without-will-payload',
    rule5: '[MQTT-3.1.2-9]',
    rule4: '[MQTT-3.1.2-9]',
    flags: 0x06,
    rest5: hex(props(), str(WILL_TOPIC)),
    rest4: str(WILL_TOPIC),
  },
  {
    name: 'user-name-without-flag',
    rule5: '[MQTT-3.1.2-16]',
    rule4: '[MQTT-3.1.2-18]',
    flags: 0x02,
    rest5: str('u'),
    rest4: str('u'),
  },
  {
    name: 'user-name-flag-without-user-name',
    rule5: '[MQTT-3.1.2-17]',
    rule4: '[MQTT-3.1.2-19]',
    flags: 0x82,
    rest5: '',
    rest4: '',
  },
  {
    name: 'password-without-flag',
    rule5: '[MQTT-3.1.2-18]',
    rule4: '[MQTT-3.1.2-20]',
    flags: 0x82,
    rest5: hex(str('u'), lenPrefixed(utf8('pw'))),
    rest4: hex(str('u'), lenPrefixed(utf8('pw'))),
  },
  {
    name: 'password-flag-without-password',
    rule5: '[MQTT-3.1.2-19]',
    rule4: '[MQTT-3.1.2-21]',
    flags: 0xc2,
    rest5: str('u'),
    rest4: str('u'),
  },
  {
    name: 'password-flag-without-user-name-flag',
    rule4: '[MQTT-3.1.2-22]',
    flags: 0x42,
    rest5: '',
    rest4: lenPrefixed(utf8('pw')),
  },
  {
    name: 'byte-after-last-field',
    rule5: 'section 3.1.3',
    rule4: 'section 3.1.3',
    flags: 0x02,
    rest5: '00',
    rest4: '00',
  },
  {
    name: 'no-client-identifier',
    rule5: 'section 3.1.3.1',
    rule4: 'section 3.1.3.1',
    flags: 0x02,
    rest5: '',
    rest4: '',
  },
];

for (const c of FLAG_CASES) {
  const noClientId = c.name === 'no-client-identifier';
  if (c.rule5 !== undefined) {
    add({
      id: `connect-flags.${c.name}.v5`,
      group: 'connect-flags',
      rule: `${c.rule5} [MQTT-3.1.4-1]`,
      protocol: 5,
      before: [],
      send: connect5({ flags: c.flags, payload: noClientId ? '' : hex(str('m'), c.rest5) }),
      expect: connack(MALFORMED),
    });
  }
  if (c.rule4 !== undefined) {
    add({
      id: `connect-flags.${c.name}.v311`,
      group: 'connect-flags',
      rule: `${c.rule4} [MQTT-3.1.4-1]`,
      protocol: 4,
      before: [],
      send: connect4({ flags: c.flags, payload: noClientId ? '' : hex(str('m'), c.rest4) }),
      expect: CLOSED,
    });
  }
}
add({
  id: 'connect-flags.user-name-without-flag.issue-example.v5',
  group: 'connect-flags',
  rule: '[MQTT-3.1.2-16] [MQTT-3.1.4-1]',
  protocol: 5,
  before: [],
  // Client Identifier "p", then a second string "p" that no flag announces.
  send: hex('10 11 00 04 4d 51 54 54 05 02 00 0a 00 00 01 70 00 01 70'),
  expect: connack(MALFORMED),
  note: 'CONNACK 0x00 today',
});

// --- CONNECT: the rest -------------------------------------------------------------------------

for (const [protocol, before] of [
  [5, CONNECT5],
  [4, CONNECT4],
] as const) {
  add({
    id: `connect.protocol-name-mqtx.${v(protocol)}`,
    group: 'connect',
    rule: protocol === 5 ? '[MQTT-3.1.2-1]' : '[MQTT-3.1.2-1] [MQTT-3.1.4-1]',
    protocol,
    before: [],
    send: packet(
      0x10,
      str('MQTX'),
      u8(protocol),
      '02 00 00',
      protocol === 5 ? props() : '',
      str('m'),
    ),
    expect: CLOSED,
  });
  add({
    id: `connect.protocol-name-lower-case.${v(protocol)}`,
    group: 'connect',
    rule: protocol === 5 ? '[MQTT-3.1.2-1]' : '[MQTT-3.1.2-1] [MQTT-3.1.4-1]',
    protocol,
    before: [],
    send: packet(
      0x10,
      str('mqtt'),
      u8(protocol),
      '02 00 00',
      protocol === 5 ? props() : '',
      str('m'),
    ),
    expect: CLOSED,
  });
  add({
    id: `connect.truncated-in-protocol-name.${v(protocol)}`,
    group: 'connect',
    rule: '[MQTT-3.1.4-1]',
    protocol,
    before: [],
    send: packet(0x10, '00 04', utf8('MQ')),
    expect: CLOSED,
  });
  add({
    id: `connect.first-packet-pingreq.${v(protocol)}`,
    group: 'connect',
    rule: '[MQTT-3.1.0-1]',
    protocol,
    before: [],
    send: hex('c0 00'),
    expect: CLOSED,
  });
  add({
    id: `connect.first-packet-publish.${v(protocol)}`,
    group: 'connect',
    rule: '[MQTT-3.1.0-1]',
    protocol,
    before: [],
    send: protocol === 5 ? publish5() : packet(0x30, str(TOPIC), utf8('x')),
    expect: CLOSED,
  });
  add({
    id: `connect.second-connect.${v(protocol)}`,
    group: 'connect',
    rule: protocol === 5 ? '[MQTT-3.1.0-2] [MQTT-4.13.1-1]' : '[MQTT-3.1.0-2]',
    protocol,
    before: [before],
    send: before,
    expect: protocol === 5 ? disconnect(PROTOCOL_ERROR) : CLOSED,
  });
}
add({
  id: 'connect.unknown-protocol-level-6.v311',
  group: 'connect',
  rule: '[MQTT-3.1.2-2]',
  protocol: 4,
  before: [],
  // Answered in the 3.1.1 form every client reads: return code 0x01, then close.
  send: connect4().replace('00 04 4d 51 54 54 04', '00 04 4d 51 54 54 06'),
  expect: { out: '20 02 00 01', closed: true },
});
add({
  id: 'connect.level-4-with-property-section.v311',
  group: 'connect',
  rule: '[MQTT-3.1.4-1]',
  protocol: 4,
  before: [],
  // An MQTT 5 CONNECT body under level 4: 3.1.1 reads the Property Length 02 and the 17 as a
  // Client Identifier length of 0x0217, longer than the packet.
  send: packet(0x10, str('MQTT'), '04 02 00 00', props(RPI0), str('m')),
  expect: CLOSED,
});
add({
  id: 'connect.level-4-with-empty-property-section.v311',
  group: 'connect',
  rule: '[MQTT-3.1.4-1]',
  protocol: 4,
  before: [],
  // Property Length 0 reads as an empty Client Identifier, and "01 6d" is left over.
  send: packet(0x10, str('MQTT'), '04 02 00 00', props(), str('m')),
  expect: CLOSED,
});

// --- Fixed header ----------------------------------------------------------------------------

for (const protocol of [5, 4] as const) {
  const before = [protocol === 5 ? CONNECT5 : CONNECT4];
  const refused = protocol === 5 ? disconnect(MALFORMED) : CLOSED;
  const p = protocol === 5 ? props() : '';
  const vx = v(protocol);
  const publish = (first: number) => packet(first, str(TOPIC), '00 01', p, utf8('x'));
  add({
    id: `fixed-header.publish-qos0-dup.${vx}`,
    group: 'fixed-header',
    rule: protocol === 5 ? '[MQTT-3.3.1-2] [MQTT-4.13.1-1]' : '[MQTT-3.3.1-2] [MQTT-4.8.0-1]',
    protocol,
    before,
    send: packet(0x38, str(TOPIC), p, utf8('x')),
    expect: refused,
  });
  for (const [name, first] of [
    ['publish-qos3', 0x36],
    ['publish-qos3-dup', 0x3e],
    ['publish-qos3-retain', 0x37],
  ] as const) {
    add({
      id: `fixed-header.${name}.${vx}`,
      group: 'fixed-header',
      rule: protocol === 5 ? '[MQTT-3.3.1-4] [MQTT-4.13.1-1]' : '[MQTT-3.3.1-4]',
      protocol,
      before,
      send: publish(first),
      expect: refused,
    });
  }
  add({
    id: `fixed-header.pingreq-remaining-length-1.${vx}`,
    group: 'fixed-header',
    rule: protocol === 5 ? 'section 3.12.1 [MQTT-4.13.1-1]' : 'section 3.12.1 [MQTT-4.8.0-1]',
    protocol,
    before,
    send: hex('c0 01 00'),
    expect: refused,
  });
  add({
    id: `fixed-header.pingresp-remaining-length-1.${vx}`,
    group: 'fixed-header',
    rule: protocol === 5 ? 'section 3.13.1 [MQTT-4.13.1-1]' : 'section 3.13.1 [MQTT-4.8.0-1]',
    protocol,
    before,
    send: hex('d0 01 00'),
    expect: refused,
    note: 'both malformed and sent the wrong way: the form is checked first',
  });
  // Reserved flag nibbles [MQTT-2.1.3-1] (3.1.1 [MQTT-2.2.2-1] [MQTT-2.2.2-2]): SUBSCRIBE,
  // UNSUBSCRIBE and PUBREL 0010, every other packet but PUBLISH 0000. Each bit flipped alone.
  const reserved: [string, number, number, string, string][] = [
    // name, type, required flags, body, own statement
    ['puback', 4, 0b0000, '00 01', ''],
    ['pubrec', 5, 0b0000, '00 01', ''],
    ['pubrel', 6, 0b0010, '00 01', '[MQTT-3.6.1-1]'],
    ['pubcomp', 7, 0b0000, '00 01', ''],
    ['subscribe', 8, 0b0010, hex('00 01', p, str('m/s'), '00'), '[MQTT-3.8.1-1]'],
    ['unsubscribe', 10, 0b0010, hex('00 01', p, str('m/s')), '[MQTT-3.10.1-1]'],
    ['pingreq', 12, 0b0000, '', ''],
    ['disconnect', 14, 0b0000, '', protocol === 5 ? '[MQTT-3.14.1-1]' : ''],
  ];
  if (protocol === 5) reserved.push(['auth', 15, 0b0000, '', '[MQTT-3.15.1-1]']);
  const base = protocol === 5 ? '[MQTT-2.1.3-1]' : '[MQTT-2.2.2-1] [MQTT-2.2.2-2]';
  for (const [name, type, required, body, own] of reserved) {
    for (const bit of [0, 1, 2, 3]) {
      const flags = required ^ (1 << bit);
      add({
        id: `fixed-header.reserved-flags-${name}-${flags.toString(2).padStart(4, '0')}.${vx}`,
        group: 'fixed-header',
        rule: own === '' ? base : `${base} ${own}`,
        protocol,
        before,
        send: packet((type << 4) | flags, body),
        expect: refused,
      });
    }
  }
  for (const bit of [0, 1, 2, 3]) {
    const connect = protocol === 5 ? CONNECT5 : CONNECT4;
    add({
      id: `fixed-header.reserved-flags-connect-${(1 << bit).toString(2).padStart(4, '0')}.${vx}`,
      group: 'fixed-header',
      rule:
        protocol === 5
          ? '[MQTT-2.1.3-1] [MQTT-3.1.4-1]'
          : '[MQTT-2.2.2-1] [MQTT-2.2.2-2] [MQTT-3.1.4-1]',
      protocol,
      before: [],
      send: hex(u8(0x10 | (1 << bit)), connect.slice(3)),
      expect: protocol === 5 ? connack(MALFORMED) : CLOSED,
    });
  }
}
add({
  id: 'fixed-header.disconnect-remaining-length-1.v311',
  group: 'fixed-header',
  rule: 'section 3.14.1 [MQTT-4.8.0-1]',
  protocol: 4,
  before: [CONNECT4],
  send: hex('e0 01 00'),
  expect: CLOSED,
});

// --- Packet types -----------------------------------------------------------------------------

for (const protocol of [5, 4] as const) {
  const before = [protocol === 5 ? CONNECT5 : CONNECT4];
  const vx = v(protocol);
  add({
    id: `packet-type.type-0.${vx}`,
    group: 'packet-type',
    rule: protocol === 5 ? 'section 2.1.2 [MQTT-4.13.1-1]' : 'section 2.2.1 [MQTT-4.8.0-1]',
    protocol,
    before,
    send: hex('00 00'),
    expect: protocol === 5 ? disconnect(MALFORMED) : CLOSED,
  });
  add({
    id: `packet-type.type-0-first.${vx}`,
    group: 'packet-type',
    rule: '[MQTT-3.1.0-1]',
    protocol,
    before: [],
    send: hex('00 00'),
    expect: CLOSED,
  });
  // Packets only a server sends (section 2.1.2, "Direction of flow").
  const fromServer: [string, string][] =
    protocol === 5
      ? [
          ['connack', '20 03 00 00 00'],
          ['suback', '90 04 00 01 00 00'],
          ['unsuback', 'b0 04 00 01 00 00'],
          ['pingresp', 'd0 00'],
        ]
      : [
          ['connack', '20 02 00 00'],
          ['suback', '90 03 00 01 00'],
          ['unsuback', 'b0 02 00 01'],
          ['pingresp', 'd0 00'],
        ];
  for (const [name, send] of fromServer) {
    add({
      id: `packet-type.client-sent-${name}.${vx}`,
      group: 'packet-type',
      rule: protocol === 5 ? 'section 2.1.2 [MQTT-4.13.1-1]' : 'section 2.2.1 [MQTT-4.8.0-1]',
      protocol,
      before,
      send: hex(send),
      expect: protocol === 5 ? disconnect(PROTOCOL_ERROR) : CLOSED,
    });
  }
}
add({
  id: 'packet-type.type-15.v311',
  group: 'packet-type',
  rule: 'section 2.2.1 [MQTT-4.8.0-1]',
  protocol: 4,
  before: [CONNECT4],
  send: hex('f0 00'),
  expect: CLOSED,
  note: 'AUTH in MQTT 5, reserved in MQTT 3.1.1',
});
add({
  id: 'packet-type.auth-unknown-reason-code.v5',
  group: 'packet-type',
  rule: 'section 3.15.2.1 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('f0 02 05 00'),
  expect: disconnect(MALFORMED),
  note: 'form before meaning: 0x05 is no AUTH reason code, whether or not AUTH is expected',
});
add({
  id: 'packet-type.disconnect-server-only-reason-code.v5',
  group: 'packet-type',
  rule: 'section 3.14.2.1 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('e0 01 8e'),
  expect: disconnect(MALFORMED),
  note: '0x8E (Session taken over) is sent by a server only',
});
add({
  id: 'packet-type.auth-without-enhanced-authentication.v5',
  group: 'packet-type',
  rule: '[MQTT-4.12.0-7] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('f0 00'),
  expect: disconnect(PROTOCOL_ERROR),
});

// --- SUBSCRIBE and UNSUBSCRIBE ----------------------------------------------------------------

for (const [name, options, code, rule] of [
  ['options-reserved-bit-6', 0x40, MALFORMED, '[MQTT-3.8.3-5]'],
  ['options-reserved-bit-7', 0x80, MALFORMED, '[MQTT-3.8.3-5]'],
  ['options-reserved-bits-6-7', 0xc0, MALFORMED, '[MQTT-3.8.3-5]'],
  ['options-retain-handling-3', 0x30, PROTOCOL_ERROR, 'section 3.8.3.1'],
  ['options-qos-3', 0x03, PROTOCOL_ERROR, 'section 3.8.3.1'],
] as const) {
  add({
    id: `subscribe.${name}.v5`,
    group: 'subscribe',
    rule: `${rule} [MQTT-4.13.1-1]`,
    protocol: 5,
    before: [CONNECT5],
    send: packet(0x82, '00 01', props(), str('m/s'), u8(options)),
    expect: disconnect(code),
  });
}
for (const [name, options] of [
  ['requested-qos-3', 0x03],
  ['reserved-bit-2', 0x04],
  ['reserved-bit-6', 0x40],
  ['reserved-bit-7', 0x80],
] as const) {
  add({
    id: `subscribe.${name}.v311`,
    group: 'subscribe',
    rule: '[MQTT-3-8.3-4]',
    protocol: 4,
    before: [CONNECT4],
    send: packet(0x82, '00 01', str('m/s'), u8(options)),
    expect: CLOSED,
  });
}
add({
  id: 'subscribe.no-topic-filter.v5',
  group: 'subscribe',
  rule: '[MQTT-3.8.3-2] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props()),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'subscribe.no-topic-filter.v311',
  group: 'subscribe',
  rule: '[MQTT-3.8.3-3]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x82, '00 01'),
  expect: CLOSED,
});
add({
  id: 'subscribe.filter-without-options.v5',
  group: 'subscribe',
  rule: 'section 3.8.3 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props(), str('m/s')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'subscribe.filter-without-options.v311',
  group: 'subscribe',
  rule: 'section 3.8.3 [MQTT-4.8.0-1]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x82, '00 01', str('m/s')),
  expect: CLOSED,
});
add({
  id: 'subscribe.second-filter-without-options.v5',
  group: 'subscribe',
  rule: 'section 3.8.3 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props(), str('m/s'), '00', str('m/t')),
  expect: disconnect(MALFORMED),
});
add({
  id: 'subscribe.filter-length-past-packet.v5',
  group: 'subscribe',
  rule: 'section 1.5.4 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props(), '00 09', utf8('m/s'), '00'),
  expect: disconnect(MALFORMED),
});
add({
  id: 'subscribe.unsubscribe-no-topic-filter.v5',
  group: 'subscribe',
  rule: '[MQTT-3.10.3-2] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xa2, '00 01', props()),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'subscribe.unsubscribe-no-topic-filter.v311',
  group: 'subscribe',
  rule: '[MQTT-3.10.3-2]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0xa2, '00 01'),
  expect: CLOSED,
});
add({
  id: 'subscribe.unsubscribe-filter-length-past-packet.v5',
  group: 'subscribe',
  rule: 'section 1.5.4 [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xa2, '00 01', props(), '00 09', utf8('m/s')),
  expect: disconnect(MALFORMED),
});
for (const [name, filter, rule] of [
  ['share-empty', '$share/', '[MQTT-4.8.2-1]'],
  ['share-empty-share-name', '$share//t', '[MQTT-4.8.2-1]'],
  ['share-no-filter', '$share/g', '[MQTT-4.8.2-2]'],
  ['share-empty-filter', '$share/g/', '[MQTT-4.8.2-2] [MQTT-4.7.3-1]'],
  ['share-name-with-plus', '$share/g+/t', '[MQTT-4.8.2-2]'],
  ['share-name-with-hash', '$share/g#/t', '[MQTT-4.8.2-2]'],
  ['empty-filter', '', '[MQTT-4.7.3-1]'],
] as const) {
  add({
    id: `subscribe.${name}.v5`,
    group: 'subscribe',
    rule: `${rule} [MQTT-4.13.1-1]`,
    protocol: 5,
    before: [CONNECT5],
    send: packet(0x82, '00 01', props(), str(filter), '00'),
    expect: disconnect(PROTOCOL_ERROR),
  });
}
add({
  id: 'subscribe.empty-filter.v311',
  group: 'subscribe',
  rule: '[MQTT-4.7.3-1] [MQTT-4.8.0-1]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x82, '00 01', str(''), '00'),
  expect: CLOSED,
});
add({
  id: 'subscribe.unsubscribe-empty-filter.v5',
  group: 'subscribe',
  rule: '[MQTT-4.7.3-1] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0xa2, '00 01', props(), str('')),
  expect: disconnect(PROTOCOL_ERROR),
});
add({
  id: 'subscribe.unsubscribe-empty-filter.v311',
  group: 'subscribe',
  rule: '[MQTT-4.7.3-1] [MQTT-4.8.0-1]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0xa2, '00 01', str('')),
  expect: CLOSED,
});
add({
  id: 'subscribe.shared-with-no-local.v5',
  group: 'subscribe',
  rule: '[MQTT-3.8.3-4] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props(), str('$share/g/t'), '04'),
  expect: disconnect(PROTOCOL_ERROR),
});

// --- The Will after an error -----------------------------------------------------------------
// A connection closed for an error is not a normal disconnect: the Will is published (MQTT 5
// section 3.1.2.5 and [MQTT-3.14.4-3] only spare it on DISCONNECT 0x00; 3.1.1 [MQTT-3.1.2-8]).

add({
  id: 'will-on-error.malformed-disconnect.v5',
  group: 'will-on-error',
  rule: '[MQTT-3.1.2-8] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5_WITH_WILL],
  send: packet(0xe0, '00', '05'),
  expect: disconnect(MALFORMED),
  forwarded: WILL_FORWARDED,
});
add({
  id: 'will-on-error.malformed-publish.v5',
  group: 'will-on-error',
  rule: '[MQTT-3.1.2-8] [MQTT-4.13.1-1]',
  protocol: 5,
  before: [CONNECT5_WITH_WILL],
  send: publish5(props(), badStr('bystander/', '00')),
  expect: disconnect(MALFORMED),
  forwarded: WILL_FORWARDED,
});
add({
  id: 'will-on-error.disconnect-remaining-length-1.v311',
  group: 'will-on-error',
  rule: '[MQTT-3.1.2-8] section 3.14.1',
  protocol: 4,
  before: [CONNECT4_WITH_WILL],
  send: hex('e0 01 00'),
  expect: CLOSED,
  forwarded: WILL_FORWARDED,
  note: 'a 3.1.1 DISCONNECT has Remaining Length 0',
});
add({
  id: 'will-on-error.malformed-publish.v311',
  group: 'will-on-error',
  rule: '[MQTT-3.1.2-8] [MQTT-1.5.3-2]',
  protocol: 4,
  before: [CONNECT4_WITH_WILL],
  send: packet(0x30, badStr('bystander/', '00'), utf8('x')),
  expect: CLOSED,
  forwarded: WILL_FORWARDED,
});

// --- Valid edge cases: well-formed packets that MUST be accepted ----------------------------------

function valid(c: Omit<MalformedCase, 'group' | 'valid'>): void {
  add({ ...c, group: 'valid', valid: true });
}

valid({
  id: 'valid.publish-empty-payload.v5',
  rule: 'section 3.3.3',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x30, str(TOPIC), props()),
  expect: SILENT,
  forwarded: packet(0x30, str(TOPIC), props()),
});
valid({
  id: 'valid.publish-empty-payload.v311',
  rule: 'section 3.3.3',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x30, str(TOPIC)),
  expect: SILENT,
  forwarded: packet(0x30, str(TOPIC), props()),
});
valid({
  id: 'valid.publish-qos1-empty-payload.v5',
  rule: 'section 3.3.3 [MQTT-3.3.4-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x32, str(TOPIC), '00 05', props()),
  expect: answered('40 02 00 05'),
  forwarded: packet(0x30, str(TOPIC), props()),
});
for (const [name, text] of [
  ['supplementary-plane', 'bystander/\u{1f600}'],
  ['byte-order-mark', 'bystander/\ufeffx'],
  ['u-d7ff-and-u-e000', 'bystander/\ud7ff\ue000'],
  ['u-10fffd', 'bystander/\u{10fffd}'],
] as const) {
  valid({
    id: `valid.topic-${name}.v5`,
    rule: name === 'byte-order-mark' ? '[MQTT-1.5.4-1] [MQTT-1.5.4-3]' : '[MQTT-1.5.4-1]',
    protocol: 5,
    before: [CONNECT5],
    send: publish5(props(), str(text)),
    expect: SILENT,
    forwarded: forwarded5(props(), text),
  });
}
valid({
  id: 'valid.topic-supplementary-plane.v311',
  rule: '[MQTT-1.5.3-1]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x30, str('bystander/\u{1f600}'), utf8('x')),
  expect: SILENT,
  forwarded: forwarded5(props(), 'bystander/\u{1f600}'),
});
valid({
  id: 'valid.user-properties-repeated-name.v5',
  rule: 'section 3.3.2.3.7 [MQTT-3.3.2-17]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(hex('26', str('a'), str('1')), hex('26', str('a'), str('2')))),
  expect: SILENT,
  forwarded: forwarded5(props(hex('26', str('a'), str('1')), hex('26', str('a'), str('2')))),
});
valid({
  id: 'valid.user-property-empty-strings.v5',
  rule: 'section 1.5.7',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(hex('26', str(''), str('')))),
  expect: SILENT,
  forwarded: forwarded5(props(hex('26', str(''), str('')))),
});
valid({
  id: 'valid.payload-not-utf8-without-format-indicator.v5',
  rule: 'section 3.3.3',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(), str(TOPIC), 'ff fe 00 ed a0 80'),
  expect: SILENT,
  forwarded: forwarded5(props(), TOPIC, 'ff fe 00 ed a0 80'),
});
valid({
  id: 'valid.payload-not-utf8.v311',
  rule: 'section 3.3.3',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x30, str(TOPIC), 'ff fe 00 ed a0 80'),
  expect: SILENT,
  forwarded: forwarded5(props(), TOPIC, 'ff fe 00 ed a0 80'),
});
valid({
  id: 'valid.correlation-data-binary.v5',
  rule: 'section 1.5.6 [MQTT-3.3.2-16]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(hex('09', lenPrefixed('ff 00 ed a0 80')))),
  expect: SILENT,
  forwarded: forwarded5(props(hex('09', lenPrefixed('ff 00 ed a0 80')))),
});
valid({
  id: 'valid.payload-format-indicator-1.v5',
  rule: '[MQTT-3.3.2-4]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props('01 01')),
  expect: SILENT,
  forwarded: forwarded5(props('01 01')),
});
valid({
  id: 'valid.content-type-empty.v5',
  rule: 'section 1.5.4 [MQTT-3.3.2-20]',
  protocol: 5,
  before: [CONNECT5],
  send: publish5(props(hex('03', str('')))),
  expect: SILENT,
  forwarded: forwarded5(props(hex('03', str('')))),
});
valid({
  id: 'valid.publish-qos1-dup.v5',
  rule: '[MQTT-3.3.1-1]',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x3a, str('m/none'), '00 05', props(), utf8('x')),
  expect: answered('40 04 00 05 10 00'),
  note: 'no subscriber: PUBACK 0x10',
});
valid({
  id: 'valid.publish-qos1-dup.v311',
  rule: '[MQTT-3.3.1-1]',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x3a, str('m/none'), '00 05', utf8('x')),
  expect: answered('40 02 00 05'),
});
valid({
  id: 'valid.password-binary.v5',
  rule: 'section 3.1.3.6',
  protocol: 5,
  before: [],
  send: connect5({ flags: 0xc2, payload: hex(str('m'), str('u'), lenPrefixed('ff 00 ed a0 80')) }),
  expect: ACCEPTED,
});
valid({
  id: 'valid.password-binary.v311',
  rule: 'section 3.1.3.5',
  protocol: 4,
  before: [],
  send: connect4({ flags: 0xc2, payload: hex(str('m'), str('u'), lenPrefixed('ff 00 ed a0 80')) }),
  expect: answered('20 02 00 00'),
});
valid({
  id: 'valid.password-without-user-name.v5',
  rule: 'section 3.1.2.9',
  protocol: 5,
  before: [],
  send: connect5({ flags: 0x42, payload: hex(str('m'), lenPrefixed(utf8('pw'))) }),
  // Well-formed in MQTT 5 (3.1.1 forbids it). The default runtime's login policy refuses a
  // Password without a User Name with 0x87 Not authorized; the packet must never be refused as
  // Malformed (0x81).
  expect: connack(0x87),
  note: 'MQTT 5 allows a Password without a User Name; the default runtime refuses the login (0x87)',
});
valid({
  id: 'valid.will-payload-binary.v5',
  rule: 'section 3.1.3.4',
  protocol: 5,
  before: [],
  send: connect5({
    flags: 0x06,
    payload: hex(str('m'), props(), str(WILL_TOPIC), lenPrefixed('ff 00 ed a0 80')),
  }),
  expect: ACCEPTED,
});
valid({
  id: 'valid.topic-alias-maximum-0.v5',
  rule: 'section 3.1.2.11.5',
  protocol: 5,
  before: [],
  send: connect5({ properties: props(RPI0, hex('22', u16(0))) }),
  expect: ACCEPTED,
});
valid({
  id: 'valid.user-property-repeated-in-connect.v5',
  rule: 'section 3.1.2.11.8',
  protocol: 5,
  before: [],
  send: connect5({
    properties: props(RPI0, hex('26', str('a'), str('1')), hex('26', str('a'), str('2'))),
  }),
  expect: ACCEPTED,
});
valid({
  id: 'valid.subscribe-every-option.v5',
  rule: 'section 3.8.3.1',
  protocol: 5,
  before: [CONNECT5],
  // Retain Handling 2, Retain As Published, No Local, Maximum QoS 2.
  send: packet(0x82, '00 01', props(), str('m/s'), '2e'),
  expect: answered('90 04 00 01 00 02'),
});
valid({
  id: 'valid.subscribe-largest-subscription-identifier.v5',
  rule: 'section 3.8.2.1.2',
  protocol: 5,
  before: [CONNECT5],
  send: packet(0x82, '00 01', props('0b ff ff ff 7f'), str('m/s'), '00'),
  expect: answered('90 04 00 01 00 00'),
});
valid({
  id: 'valid.subscribe-qos2.v311',
  rule: 'section 3.8.3',
  protocol: 4,
  before: [CONNECT4],
  send: packet(0x82, '00 01', str('m/s'), '02'),
  expect: answered('90 03 00 01 02'),
});
valid({
  id: 'valid.puback-without-reason-code.v5',
  rule: 'section 3.4.2.1',
  protocol: 5,
  before: QOS1_IN_FLIGHT_5,
  send: hex('40 02 00 01'),
  expect: SILENT,
});
valid({
  id: 'valid.puback-reason-code-without-properties.v5',
  rule: 'section 3.4.2.2.1',
  protocol: 5,
  before: QOS1_IN_FLIGHT_5,
  send: hex('40 03 00 01 10'),
  expect: SILENT,
});
valid({
  id: 'valid.pubrec-failure-gets-no-pubrel.v5',
  rule: '[MQTT-4.3.3-4] [MQTT-4.4.0-2]',
  protocol: 5,
  before: QOS2_IN_FLIGHT_5,
  send: hex('50 03 00 01 80'),
  expect: SILENT,
});
valid({
  id: 'valid.pubrec-then-pubrel.v5',
  rule: '[MQTT-4.3.3-4]',
  protocol: 5,
  before: QOS2_IN_FLIGHT_5,
  send: hex('50 02 00 01'),
  expect: answered('62 02 00 01'),
});
valid({
  id: 'valid.pubrec-then-pubrel.v311',
  rule: '[MQTT-4.3.3-1]',
  protocol: 4,
  before: QOS2_IN_FLIGHT_4,
  send: hex('50 02 00 01'),
  expect: answered('62 02 00 01'),
});
valid({
  id: 'valid.remaining-length-not-minimal.v5',
  rule: '[MQTT-1.5.5-1]',
  protocol: 5,
  before: [CONNECT5],
  // Remaining Length 15 in two bytes (8f 00). [MQTT-1.5.5-1] binds the encoder; the server
  // accepts a longer encoding, as docs/conformance.md says.
  send: hex('30 8f 00', str(TOPIC), '00', utf8('x')),
  expect: SILENT,
  forwarded: forwarded5(),
});
valid({
  id: 'valid.remaining-length-not-minimal.v311',
  rule: 'section 2.2.3',
  protocol: 4,
  before: [CONNECT4],
  send: hex('30 8e 80 00', str(TOPIC), utf8('x')),
  expect: SILENT,
  forwarded: forwarded5(),
});
valid({
  id: 'valid.subscription-identifier-not-minimal.v5',
  rule: '[MQTT-1.5.5-1]',
  protocol: 5,
  before: [CONNECT5],
  // Subscription Identifier 1 in two bytes (81 00).
  send: packet(0x82, '00 01', props('0b 81 00'), str('m/s'), '00'),
  expect: answered('90 04 00 01 00 00'),
});
valid({
  id: 'valid.pingreq.v5',
  rule: '[MQTT-3.12.4-1]',
  protocol: 5,
  before: [CONNECT5],
  send: hex('c0 00'),
  expect: answered('d0 00'),
});
valid({
  id: 'valid.disconnect-remaining-length-0.v5',
  rule: '[MQTT-3.14.4-3]',
  protocol: 5,
  before: [CONNECT5_WITH_WILL],
  send: hex('e0 00'),
  expect: CLOSED,
  note: 'Reason Code 0x00 by omission: the Will is discarded',
});
valid({
  id: 'valid.disconnect-with-will-message.v5',
  rule: 'section 3.14.2.1',
  protocol: 5,
  before: [CONNECT5_WITH_WILL],
  send: hex('e0 01 04'),
  expect: CLOSED,
  forwarded: WILL_FORWARDED,
});
valid({
  id: 'valid.disconnect.v311',
  rule: '[MQTT-3.14.4-3]',
  protocol: 4,
  before: [CONNECT4_WITH_WILL],
  send: hex('e0 00'),
  expect: CLOSED,
});

// ---------------------------------------------------------------------------------------------

/** Every case, in the order written. */
export const CASES: readonly MalformedCase[] = cases;

/**
 * The cases that fail against today's code. Each entry is marked `it.fails` by the test, so the
 * branch stays green; when a fix makes a case pass, its test fails until the entry is removed.
 */
export const KNOWN_FAILING: readonly string[] = [];
