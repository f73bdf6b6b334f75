// Security Event Tokens exactly as the original signs them (spec/event-broker.md §5.3): a JWS with the
// header {"alg":"RS256","kid"} (plus "jku" only when the key has one, never "typ") and the claims
// aud, events, iat, jti, sub, iss in that order; iat in float seconds; no exp, nbf, txn or toe.
// WebCrypto signs RS256 from a JWK, so no JWT library is needed. It is used rather than node:crypto's
// sign() because it is faster here (Bun runs it on its thread pool, so signatures use every core while the
// event loop goes on: ~1,800 SETs/s against ~800/s for sign() on this 2-core machine), and Deno has it too.
import { isDeleteReason } from "./delete-reason.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";
import type { Client } from "./registry.ts";
import { EVENT_URIS } from "../secevent/event-uris.ts";

// The URIs are shared with the relying parties (src/secevent); re-exported for the broker's own modules.
export { EVENT_URIS };

export interface SigningKey {
  kid?: string;
  jku?: string;
  privateKey: CryptoKey;
  /** What /.well-known/jwks.json publishes. */
  publicJwk: Record<string, unknown>;
}

const RS256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

/** A private RSA JWK (OPENID_KEY, or the contents of OPENID_KEYFILE). Rejects with a plain Error naming the problem. */
export async function loadSigningKey(jwk: unknown): Promise<SigningKey> {
  if (jwk === null || typeof jwk !== "object") throw new Error("the key is not a JSON object");
  const fields = jwk as Record<string, unknown>;
  if (fields.kty !== "RSA" || typeof fields.d !== "string" || typeof fields.n !== "string" || typeof fields.e !== "string") {
    throw new Error("the key must be a private RSA JWK (kty RSA, with n, e and d)");
  }
  const { kty, n, e, d, p, q, dp, dq, qi } = fields as Record<string, string>;
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("jwk", { kty, n, e, d, p, q, dp, dq, qi }, RS256, false, ["sign"]);
  } catch (error) {
    throw new Error(`the key is not a usable RSA private key (${(error as Error).message})`);
  }
  const kid = typeof fields.kid === "string" ? fields.kid : undefined;
  const jku = typeof fields.jku === "string" ? fields.jku : undefined;
  return { kid, jku, privateKey, publicJwk: { kty: "RSA", n, e, ...(kid ? { kid } : {}), use: "sig", alg: "RS256" } };
}

const PROFILE_FIELDS = ["email", "locale", "metricsEnabled", "totpEnabled", "accountDisabled", "accountLocked"] as const;

/** A fan-out message → its event URI and payload. An event without a SET throws (the proxy's 500). */
export function setEvent(json: Record<string, unknown>): { uri: string; payload: Record<string, unknown> } {
  switch (json.event) {
    case "subscription:update":
      return { uri: EVENT_URIS.subscription, payload: { capabilities: json.capabilities, changeTime: json.changeTime, isActive: json.isActive } };
    case "delete":
      // [NEWEST, unconfirmed upstream] the reason travels when it is one the auth server defines.
      return { uri: EVENT_URIS.delete, payload: isDeleteReason(json.reason) ? { reason: json.reason } : {} };
    case "passwordChange":
    case "reset":
      return { uri: EVENT_URIS.password, payload: { changeTime: json.changeTime } };
    case "primaryEmailChanged":
    case "profileDataChange": {
      const payload: Record<string, unknown> = { uid: json.uid };
      for (const key of PROFILE_FIELDS) if (json[key] !== undefined) payload[key] = json[key];
      return { uri: EVENT_URIS.profile, payload };
    }
    case "metricsChange":
      return { uri: json.enabled === true ? EVENT_URIS.metricsOptIn : EVENT_URIS.metricsOptOut, payload: {} };
    case "appleUserMigration":
      // The original reads `error`, not the message's `err`, so `err` is usually absent; kept as it was.
      return {
        uri: EVENT_URIS.appleMigration,
        payload: { fxaEmail: json.fxaEmail, appleEmail: json.appleEmail, transferSub: json.transferSub, success: json.success, err: json.error, uid: json.uid },
      };
    default:
      throw new Error(`Invalid event: ${String(json.event)}`);
  }
}

export interface SetInput {
  clientId: string;
  json: Record<string, unknown>;
  /** Milliseconds; iat is this / 1000. */
  issuedAtMs: number;
  jti: string;
  issuer: string;
}

/** The claims in the original's order; JSON.stringify drops the undefined ones, as the original's does. */
export function setClaims(input: SetInput): Record<string, unknown> {
  const { uri, payload } = setEvent(input.json);
  return { aud: input.clientId, events: { [uri]: payload }, iat: input.issuedAtMs / 1000, jti: input.jti, sub: input.json.uid, iss: input.issuer };
}

const b64url = (data: string | Uint8Array) => Buffer.from(data).toString("base64url");

export async function signJws(key: SigningKey, claims: Record<string, unknown>): Promise<string> {
  const header = b64url(JSON.stringify({ alg: "RS256", jku: key.jku, kid: key.kid }));
  const signingInput = `${header}.${b64url(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign(RS256, key.privateKey, new TextEncoder().encode(signingInput));
  return `${signingInput}.${b64url(new Uint8Array(signature))}`;
}

/** Claims are built synchronously, so an event without a SET throws before anything is signed. */
export function signSet(key: SigningKey, input: SetInput): Promise<string> {
  return signJws(key, setClaims(input));
}

/** What signs and sends SETs needs, wherever it runs (the delivery workers, the proxy endpoint). */
export interface SetSenderDeps {
  clients: { get(clientId: string): Client | undefined };
  key: SigningKey;
  issuer: string;
  log: Logger;
  metrics: Metrics;
  clock: () => number;
}
