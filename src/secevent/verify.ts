// Verifying a Security Event Token as a relying party does: a compact JWS signed RS256 with a key the
// issuer publishes (named by `kid`), then `iss` and `aud` checked against what the receiver expects.
// WebCrypto only, as src/broker/set.ts signs, so it runs in Bun and Deno without a JWT library.
//
// Every refusal is a SetRefusal carrying the RFC 8935 §2.4 error code the receiver answers with:
// malformed input → invalid_request, a missing or unknown kid → invalid_key, a signature that does not
// verify → authentication_failed, the wrong iss → invalid_issuer, the wrong aud → invalid_audience.
import { Buffer } from "node:buffer";

export type SetErrorCode = "invalid_request" | "invalid_key" | "invalid_issuer" | "invalid_audience" | "authentication_failed" | "access_denied";

export class SetRefusal extends Error {
  override name = "SetRefusal";
  constructor(
    readonly err: SetErrorCode,
    readonly description: string,
  ) {
    super(`${err}: ${description}`);
  }
}

export interface VerifiedSet {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The decoded texts, exactly as signed. */
  headerJson: string;
  payloadJson: string;
}

/** Where the verifier finds the public key a `kid` names; undefined when the issuer does not publish it. */
export interface KeySource {
  key(kid: string): Promise<CryptoKey | undefined>;
}

export interface SetExpectations {
  keys: KeySource;
  issuer: string;
  audience: string;
}

const RS256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** A SET is a few hundred bytes; this bounds the work a hostile token can ask for. */
export const MAX_SET_BYTES = 16 * 1024;

/** A public RSA JWK as a verifying key; rejects with a plain Error when it is not one. */
export async function importVerifyKey(jwk: Record<string, unknown>): Promise<CryptoKey> {
  if (jwk.kty !== "RSA" || typeof jwk.n !== "string" || typeof jwk.e !== "string") throw new Error("not an RSA public JWK");
  if (jwk.alg !== undefined && jwk.alg !== "RS256") throw new Error(`alg ${String(jwk.alg)} is not RS256`);
  if (jwk.use !== undefined && jwk.use !== "sig") throw new Error(`use ${String(jwk.use)} is not sig`);
  return await crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e }, RS256, false, ["verify"]);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function jsonPart(part: string, what: string): { json: string; value: Record<string, unknown> } {
  const json = Buffer.from(part, "base64url").toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new SetRefusal("invalid_request", `the ${what} is not JSON`);
  }
  if (!isObject(value)) throw new SetRefusal("invalid_request", `the ${what} is not a JSON object`);
  return { json, value };
}

interface CompactJws {
  signingInput: string;
  header: { json: string; value: Record<string, unknown> };
  payloadPart: string;
  signature: Uint8Array<ArrayBuffer>;
}

function splitJws(token: string): CompactJws {
  if (token.length > MAX_SET_BYTES) throw new SetRefusal("invalid_request", `the SET is longer than ${MAX_SET_BYTES} bytes`);
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) throw new SetRefusal("invalid_request", "not a compact JWS (three base64url parts)");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = jsonPart(headerPart, "JWS header");
  if (header.value.alg !== "RS256") throw new SetRefusal("invalid_request", `alg must be RS256 (got ${JSON.stringify(header.value.alg)})`);
  // A critical extension we do not understand must not be ignored (RFC 7515 §4.1.11).
  if ("crit" in header.value) throw new SetRefusal("invalid_request", "crit header parameters are not supported");
  return { signingInput: `${headerPart}.${payloadPart}`, header, payloadPart, signature: Uint8Array.from(Buffer.from(signaturePart, "base64url")) };
}

async function checkSignature(jws: CompactJws, key: CryptoKey): Promise<VerifiedSet> {
  const ok = await crypto.subtle.verify(RS256, key, jws.signature, new TextEncoder().encode(jws.signingInput));
  if (!ok) throw new SetRefusal("authentication_failed", "the signature does not verify with the issuer's key");
  const payload = jsonPart(jws.payloadPart, "SET payload");
  return { header: jws.header.value, payload: payload.value, headerJson: jws.header.json, payloadJson: payload.json };
}

/** Checks the RS256 signature of a compact JWS against one key; the header's kid is not looked at. */
export async function verifyJws(token: string, key: CryptoKey): Promise<VerifiedSet> {
  return await checkSignature(splitJws(token), key);
}

/** The whole check a relying party makes before it acts on a SET; throws a SetRefusal. */
export async function verifySet(token: string, expect: SetExpectations): Promise<VerifiedSet> {
  const jws = splitJws(token);
  const kid = jws.header.value.kid;
  if (typeof kid !== "string" || kid === "") throw new SetRefusal("invalid_key", "the JWS header names no kid");
  const key = await expect.keys.key(kid);
  if (!key) throw new SetRefusal("invalid_key", `kid ${JSON.stringify(kid)} is not in the issuer's JWKS`);
  const verified = await checkSignature(jws, key);
  const { iss, aud, events, jti } = verified.payload;
  if (iss !== expect.issuer) throw new SetRefusal("invalid_issuer", `iss ${JSON.stringify(iss)} is not ${JSON.stringify(expect.issuer)}`);
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(expect.audience)) throw new SetRefusal("invalid_audience", `aud ${JSON.stringify(aud)} does not name ${JSON.stringify(expect.audience)}`);
  if (typeof jti !== "string" || jti === "") throw new SetRefusal("invalid_request", "jti must be a non-empty string");
  if (!isObject(events) || Object.keys(events).length === 0) throw new SetRefusal("invalid_request", "events must be a non-empty JSON object");
  return verified;
}
