/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), for tests: client-first, client-final
 * from server-first, and the check of the server's signature. Synchronous (pbkdf2Sync), so tests
 * on ManualTimers stay synchronous.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export class ScramClient {
  readonly username: string;
  private readonly password: string;
  private readonly nonce: string;
  private readonly gs2Header: string;
  private authMessage: string | undefined;
  private serverKey: Buffer | undefined;

  constructor(
    username: string,
    password: string,
    options: { nonce?: string; gs2Header?: string } = {},
  ) {
    this.username = username;
    this.password = password;
    this.nonce = options.nonce ?? randomBytes(18).toString('base64');
    this.gs2Header = options.gs2Header ?? 'n,,';
  }

  /** `n=user,r=nonce`: client-first without its GS2 header. */
  get firstBare(): string {
    return `n=${this.username.replaceAll('=', '=3D').replaceAll(',', '=2C')},r=${this.nonce}`;
  }

  /** client-first: `n,,n=user,r=nonce`. */
  first(): Buffer {
    return Buffer.from(this.gs2Header + this.firstBare);
  }

  /** client-final for a server-first; throws when the server's nonce does not extend ours. */
  final(serverFirst: Buffer | undefined): Buffer {
    const text = serverFirst?.toString('utf8') ?? '';
    const fields = new Map(text.split(',').map((part) => [part[0], part.slice(2)]));
    const nonce = fields.get('r') ?? '';
    const salt = Buffer.from(fields.get('s') ?? '', 'base64');
    const iterations = Number(fields.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce === this.nonce) {
      throw new Error(`server-first does not extend our nonce: ${text}`);
    }
    const salted = pbkdf2Sync(Buffer.from(this.password), salt, iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    this.serverKey = hmac(salted, 'Server Key');
    const withoutProof = `c=${Buffer.from(this.gs2Header).toString('base64')},r=${nonce}`;
    this.authMessage = `${this.firstBare},${text},${withoutProof}`;
    const signature = hmac(createHash('sha256').update(clientKey).digest(), this.authMessage);
    const proof = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) proof[i] = (clientKey[i] as number) ^ (signature[i] as number);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** True when server-final (`v=...`) proves that the server knew our credentials. */
  verify(serverFinal: Buffer | undefined): boolean {
    const text = serverFinal?.toString('utf8') ?? '';
    if (this.serverKey === undefined || this.authMessage === undefined) return false;
    if (!text.startsWith('v=')) return false;
    const expected = hmac(this.serverKey, this.authMessage);
    const given = Buffer.from(text.slice(2), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
