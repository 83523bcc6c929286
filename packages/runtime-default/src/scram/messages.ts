import { isUtf8 } from 'node:buffer';

/** A client-first message (RFC 5802 section 7): `n,,n=user,r=nonce`. */
export interface ClientFirst {
  /** The GS2 header, `n,,` or `y,,`: client-final must repeat it, base64-encoded, in `c=`. */
  readonly gs2Header: string;
  /** The username, with `=2C` and `=3D` decoded. */
  readonly username: string;
  /** The client's nonce. */
  readonly nonce: string;
  /** The message without the GS2 header: the start of the AuthMessage. */
  readonly bare: string;
}

/** A client-final message: `c=biws,r=nonce,p=proof`. */
export interface ClientFinal {
  /** The `c=` value: base64 of the GS2 header (and channel binding data, not supported here). */
  readonly channelBinding: string;
  /** The combined nonce. */
  readonly nonce: string;
  /** The 32-byte ClientProof. */
  readonly proof: Buffer;
  /** The message up to the proof: the end of the AuthMessage. */
  readonly withoutProof: string;
}

/**
 * Parses client-first. Undefined for anything this server does not accept: not UTF-8, channel
 * binding (`p=`), an authorization identity (`a=`), a mandatory extension (`m=`), an empty or
 * badly escaped username, a nonce with characters outside `%x21-7E` or with a comma.
 */
export function parseClientFirst(data: Buffer | undefined): ClientFirst | undefined {
  const text = utf8(data);
  if (text === undefined) return undefined;
  const parts = text.split(',');
  const [flag, authzid, user, nonce, ...extensions] = parts;
  if (flag !== 'n' && flag !== 'y') return undefined;
  if (authzid !== '') return undefined;
  if (user === undefined || !user.startsWith('n=')) return undefined;
  if (nonce === undefined || !nonce.startsWith('r=')) return undefined;
  if (!extensions.every(isExtension)) return undefined;
  const username = decodeSaslName(user.slice(2));
  const clientNonce = nonce.slice(2);
  if (username === undefined || !isNonce(clientNonce)) return undefined;
  return {
    gs2Header: `${flag},,`,
    username,
    nonce: clientNonce,
    bare: parts.slice(2).join(','),
  };
}

/** Parses client-final; undefined unless it is `c=...,r=...[,ext...],p=<32 bytes in base64>`. */
export function parseClientFinal(data: Buffer | undefined): ClientFinal | undefined {
  const text = utf8(data);
  if (text === undefined) return undefined;
  const parts = text.split(',');
  if (parts.length < 3) return undefined;
  const [binding, nonce] = parts as [string, string];
  const proof = parts[parts.length - 1] as string;
  if (!binding.startsWith('c=') || !nonce.startsWith('r=') || !proof.startsWith('p=')) {
    return undefined;
  }
  if (!parts.slice(2, -1).every(isExtension)) return undefined;
  const proofBytes = strictBase64(proof.slice(2));
  if (proofBytes === undefined || proofBytes.length !== 32) return undefined;
  return {
    channelBinding: binding.slice(2),
    nonce: nonce.slice(2),
    proof: proofBytes,
    withoutProof: text.slice(0, text.length - proof.length - 1),
  };
}

/** Decodes a saslname: `=2C` is `,` and `=3D` is `=`; any other `=`, or a NUL, makes it invalid. */
export function decodeSaslName(name: string): string | undefined {
  if (name.length === 0) return undefined;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const char = name[i] as string;
    if (char !== '=') {
      out += char;
      continue;
    }
    const code = name.slice(i + 1, i + 3);
    if (code === '2C') out += ',';
    else if (code === '3D') out += '=';
    else return undefined;
    i += 2;
  }
  return out.includes('\0') ? undefined : out;
}

/** Encodes a username as a saslname. */
export function encodeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/** A nonce: printable ASCII but `,` (RFC 5802 section 7). */
function isNonce(value: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(value);
}

/** An optional extension `x=value`; its meaning is ignored. `m=` is not optional: refused. */
function isExtension(part: string): boolean {
  return /^[A-Za-z]=/.test(part) && !part.startsWith('m=');
}

function utf8(data: Buffer | undefined): string | undefined {
  if (data === undefined || data.length === 0 || !isUtf8(data)) return undefined;
  return data.toString('utf8');
}

/** Base64 that decodes and encodes back to itself: no stray characters, no missing padding. */
function strictBase64(value: string): Buffer | undefined {
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}
