// RFC 5869 HKDF with HMAC-SHA256, as tokenlib uses it for the token signing key and the per-token
// derived secret. Only node:crypto, so it runs the same under Bun and Deno.
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";

const HASH = "sha256";
const HASH_LEN = 32;

export type Bytes = Uint8Array | string; // a string means its UTF-8 bytes (tokenlib encodes str secrets so)

function toBytes(value: Bytes): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}

/** HKDF-Extract: PRK = HMAC(salt, IKM). A missing salt is HashLen zero bytes (RFC 5869 §2.2). */
export function hkdfExtract(salt: Bytes | null | undefined, ikm: Bytes): Buffer {
  // An empty salt gives the same PRK as 32 zero bytes (HMAC zero-pads keys), so only null needs care.
  const key = salt == null ? Buffer.alloc(HASH_LEN) : toBytes(salt);
  return createHmac(HASH, key).update(toBytes(ikm)).digest();
}

/** HKDF-Expand: T(i) = HMAC(PRK, T(i-1) || info || i), concatenated and cut to `length` bytes. */
export function hkdfExpand(prk: Uint8Array, info: Bytes, length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_LEN) {
    throw new RangeError(`HKDF output length must be 0..${255 * HASH_LEN}, got ${length}`);
  }
  const infoBytes = toBytes(info);
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; blocks.length * HASH_LEN < length; i++) {
    previous = createHmac(HASH, prk).update(previous).update(infoBytes).update(Buffer.of(i)).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** Extract then expand. `salt` null/undefined means "no salt" (32 zero bytes). */
export function hkdf(ikm: Bytes, salt: Bytes | null | undefined, info: Bytes, length: number): Buffer {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}
