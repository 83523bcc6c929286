/**
 * The SCRAM-SHA-256 runtime on its own, with the test vector of RFC 7677 section 3 (user `user`,
 * password `pencil`) and proofs computed here with node:crypto.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IAuthPacket } from 'mqtt-packet';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ConnectResult,
  createDefaultRuntime,
  type DefaultUserContext,
  type Runtime,
} from '../src/index.js';
import {
  createScramCredentials,
  createScramRuntime,
  SCRAM_SHA_256,
  type ScramCredentials,
} from '../src/scram/index.js';
import { connection, connectPacket, userContext } from './helpers.js';
import { runtime as exampleRuntime } from './scram-example.js';

type UC = DefaultUserContext;
type Result = ConnectResult<UC>;

const RFC = {
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  serverFirst:
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

let pencil: ScramCredentials;

beforeAll(async () => {
  pencil = await createScramCredentials('pencil', { iterations: 4096, salt: RFC.salt });
});

function scramRuntime(
  serverNonce: () => string = () => RFC.serverNonce,
  lookup: (name: string) => ScramCredentials | undefined = (name) =>
    name === 'user' ? pencil : undefined,
): Runtime<UC> {
  return createScramRuntime({ base: createDefaultRuntime(), lookup, serverNonce });
}

function connectWith(runtime: Runtime<UC>, data: string | undefined, uc = userContext()) {
  return runtime.connect(
    connectPacket({
      properties: {
        authenticationMethod: SCRAM_SHA_256,
        ...(data === undefined ? {} : { authenticationData: Buffer.from(data) }),
      },
    }),
    false,
    connection,
    uc,
  ) as Result;
}

function authPacket(reasonCode: number, data: string, method = SCRAM_SHA_256): IAuthPacket {
  return {
    cmd: 'auth',
    reasonCode,
    properties: { authenticationMethod: method, authenticationData: Buffer.from(data) },
  };
}

function dataOf(result: Result): string | undefined {
  return result.type === 'error' ? undefined : result.properties?.authenticationData?.toString();
}

function contextOf(result: Result): UC {
  if (result.type === 'error') throw new Error('no user context in an error');
  return result.userContext;
}

/** client-final for `password`, computed from scratch (RFC 5802 section 3). */
function clientFinal(password: string, clientFirstBare: string, serverFirst: string): string {
  const fields = new Map(serverFirst.split(',').map((part) => [part[0], part.slice(2)]));
  const salted = pbkdf2Sync(
    password,
    Buffer.from(fields.get('s') as string, 'base64'),
    Number(fields.get('i')),
    32,
    'sha256',
  );
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${fields.get('r')}`;
  const signature = createHmac('sha256', storedKey)
    .update(`${clientFirstBare},${serverFirst},${withoutProof}`)
    .digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] as number)));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

describe('createScramCredentials', () => {
  it('derives the keys of RFC 7677 from password and salt, and keeps no password', () => {
    expect(pencil.iterations).toBe(4096);
    expect(pencil.salt).toEqual(RFC.salt);
    expect(pencil.storedKey).toHaveLength(32);
    expect(pencil.serverKey).toHaveLength(32);
    expect(Object.keys(pencil).sort()).toEqual(['iterations', 'salt', 'serverKey', 'storedKey']);
  });

  it('picks a fresh 16-byte salt when none is given', async () => {
    const a = await createScramCredentials('same', { iterations: 1 });
    const b = await createScramCredentials('same', { iterations: 1 });
    expect(a.salt).toHaveLength(16);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.storedKey.equals(b.storedKey)).toBe(false);
  });

  it('refuses iteration counts that are not positive integers, and an empty salt', async () => {
    await expect(createScramCredentials('x', { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(createScramCredentials('x', { iterations: 1.5 })).rejects.toThrow(RangeError);
    await expect(
      createScramCredentials('x', { iterations: 1, salt: Buffer.alloc(0) }),
    ).rejects.toThrow(RangeError);
  });
});

describe('createScramRuntime, the RFC 7677 exchange', () => {
  it('answers CONNECT with server-first and client-final with CONNACK 0 and server-final', () => {
    const runtime = scramRuntime();
    const challenge = connectWith(runtime, RFC.clientFirst);
    expect(challenge).toMatchObject({ type: 'auth', reasonCode: 0x18 });
    expect(dataOf(challenge)).toBe(RFC.serverFirst);
    expect(contextOf(challenge).user).toBeUndefined();

    const done = runtime.reauth(
      authPacket(0x18, RFC.clientFinal),
      'connect',
      contextOf(challenge),
    ) as Result;
    expect(done).toMatchObject({ type: 'connack', reasonCode: 0 });
    expect(dataOf(done)).toBe(RFC.serverFinal);
    expect(contextOf(done).user).toBe('user');
    // The rest of the user context is the base runtime's, unchanged.
    expect({ ...contextOf(done), user: undefined }).toEqual(userContext());
  });

  it('re-authenticates: AUTH 0x19 client-first, then client-final, answered with AUTH 0x00', () => {
    const runtime = scramRuntime();
    const live = userContext({ user: 'user' });
    const challenge = runtime.reauth(
      authPacket(0x19, RFC.clientFirst),
      'reauthenticate',
      live,
    ) as Result;
    expect(challenge).toMatchObject({ type: 'auth', reasonCode: 0x18 });
    expect(dataOf(challenge)).toBe(RFC.serverFirst);
    const done = runtime.reauth(
      authPacket(0x18, RFC.clientFinal),
      'reauthenticate',
      contextOf(challenge),
    ) as Result;
    expect(done).toMatchObject({ type: 'auth', reasonCode: 0 });
    expect(dataOf(done)).toBe(RFC.serverFinal);
  });

  it('fails a replayed client-final: the exchange is gone once answered', () => {
    const runtime = scramRuntime();
    const challenge = connectWith(runtime, RFC.clientFirst);
    const key = contextOf(challenge);
    expect(runtime.reauth(authPacket(0x18, RFC.clientFinal), 'connect', key)).toMatchObject({
      reasonCode: 0,
    });
    expect(runtime.reauth(authPacket(0x18, RFC.clientFinal), 'connect', key)).toMatchObject({
      type: 'connack',
      reasonCode: 0x87,
    });
  });

  it('fails a client-final sent in the other phase, or on a context with no exchange', () => {
    const runtime = scramRuntime();
    const challenge = connectWith(runtime, RFC.clientFirst);
    expect(
      runtime.reauth(authPacket(0x18, RFC.clientFinal), 'reauthenticate', contextOf(challenge)),
    ).toMatchObject({ type: 'connack', reasonCode: 0x87 });
    expect(
      runtime.reauth(authPacket(0x18, RFC.clientFinal), 'connect', userContext()),
    ).toMatchObject({ type: 'connack', reasonCode: 0x87 });
  });

  it('keeps two exchanges of one user context apart (two connections of one session)', () => {
    let n = 0;
    const runtime = scramRuntime(() => `server${++n}`);
    const shared = userContext();
    const first = connectWith(runtime, 'n,,n=user,r=one', shared);
    const second = connectWith(runtime, 'n,,n=user,r=two', shared);
    expect(contextOf(first)).not.toBe(contextOf(second));
    expect(contextOf(first)).not.toBe(shared);
    const secondFinal = clientFinal('pencil', 'n=user,r=two', dataOf(second) as string);
    const firstFinal = clientFinal('pencil', 'n=user,r=one', dataOf(first) as string);
    expect(
      runtime.reauth(authPacket(0x18, secondFinal), 'connect', contextOf(second)),
    ).toMatchObject({ reasonCode: 0 });
    expect(runtime.reauth(authPacket(0x18, firstFinal), 'connect', contextOf(first))).toMatchObject(
      { reasonCode: 0 },
    );
  });
});

describe('createScramRuntime, refusals', () => {
  it('fails a wrong password, and an unknown user after a normal-looking challenge', () => {
    const runtime = scramRuntime();
    const challenge = connectWith(runtime, RFC.clientFirst);
    const wrong = clientFinal('pen', 'n=user,r=rOprNGfwEbeRWgbNEkqO', RFC.serverFirst);
    expect(runtime.reauth(authPacket(0x18, wrong), 'connect', contextOf(challenge))).toMatchObject({
      type: 'connack',
      reasonCode: 0x87,
    });

    const unknown = connectWith(runtime, 'n,,n=nobody,r=abc');
    const serverFirst = dataOf(unknown) as string;
    expect(serverFirst).toMatch(/^r=abc%hvYDpWUa2RaTCAfuxFIlj\)hNlF\$k0,s=[^,]{24},i=4096$/);
    const guess = clientFinal('pencil', 'n=nobody,r=abc', serverFirst);
    expect(runtime.reauth(authPacket(0x18, guess), 'connect', contextOf(unknown))).toMatchObject({
      type: 'connack',
      reasonCode: 0x87,
    });
  });

  it('decodes =2C and =3D in usernames, and refuses other escapes', () => {
    const asked: string[] = [];
    const runtime = scramRuntime(undefined, (name) => {
      asked.push(name);
      return undefined;
    });
    expect(connectWith(runtime, 'n,,n=a=2Cb=3Dc,r=x')).toMatchObject({ type: 'auth' });
    expect(asked).toEqual(['a,b=c']);
    expect(connectWith(runtime, 'n,,n=a=2Xb,r=x')).toMatchObject({ reasonCode: 0x87 });
    expect(connectWith(runtime, 'n,,n=,r=x')).toMatchObject({ reasonCode: 0x87 });
    expect(connectWith(runtime, 'n,,n=a,r=bad,nonce')).toMatchObject({ reasonCode: 0x87 });
    expect(asked).toEqual(['a,b=c']);
  });

  it('refuses a missing client-first, a proof of the wrong length, and a bad AUTH reason code', () => {
    const runtime = scramRuntime();
    expect(connectWith(runtime, undefined)).toMatchObject({ type: 'connack', reasonCode: 0x87 });
    const challenge = connectWith(runtime, RFC.clientFirst);
    const short = RFC.clientFinal.replace(/p=.*/, 'p=AAAA');
    expect(runtime.reauth(authPacket(0x18, short), 'connect', contextOf(challenge))).toMatchObject({
      reasonCode: 0x87,
    });
    expect(
      runtime.reauth(authPacket(0x00, RFC.clientFinal), 'connect', contextOf(challenge)),
    ).toMatchObject({ reasonCode: 0x87 });
  });

  it("refuses a user other than the session's, also with a right password", () => {
    const runtime = scramRuntime();
    const challenge = connectWith(runtime, RFC.clientFirst, userContext({ user: 'alice' }));
    expect(
      runtime.reauth(authPacket(0x18, RFC.clientFinal), 'connect', contextOf(challenge)),
    ).toMatchObject({ type: 'connack', reasonCode: 0x87 });
  });
});

describe('createScramRuntime, everything else', () => {
  it('leaves CONNECTs without SCRAM-SHA-256, and AUTH of other methods, to the base runtime', () => {
    const runtime = scramRuntime();
    expect(
      runtime.connect(connectPacket({ clean: true }), false, connection, userContext()),
    ).toMatchObject({ type: 'connack', reasonCode: 0 });
    expect(
      runtime.connect(
        connectPacket({ properties: { authenticationMethod: 'SCRAM-SHA-1' } }),
        false,
        connection,
        userContext(),
      ),
    ).toMatchObject({ type: 'connack', reasonCode: 0x8c });
    expect(
      runtime.reauth(authPacket(0x19, 'x', 'OTHER'), 'reauthenticate', userContext()),
    ).toMatchObject({ type: 'connack', reasonCode: 0x8c });
    expect(runtime.isAnonymousUser(userContext())).toBe(true);
  });
});

describe('the README SCRAM example', () => {
  it('is the same code in the README as in test/scram-example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./scram-example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('lets alice in with her password', () => {
    const challenge = connectWith(exampleRuntime, 'n,,n=alice,r=readme');
    const final = clientFinal(
      'correct horse battery staple',
      'n=alice,r=readme',
      dataOf(challenge) as string,
    );
    const done = exampleRuntime.reauth(
      authPacket(0x18, final),
      'connect',
      contextOf(challenge),
    ) as Result;
    expect(done).toMatchObject({ type: 'connack', reasonCode: 0 });
    expect(contextOf(done).user).toBe('alice');
  });
});
