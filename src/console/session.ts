// The console's session: a stateless cookie `<payload>.<mac>` signed with HMAC-SHA256 under a key derived
// from the tool's admin token, so rotating the token logs every operator out and nothing is stored server
// side. The payload names the operator (for audit lines), when the session ends, and a random nonce the
// CSRF token is bound to (so one session's token is refused in another).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface Session {
  operator: string;
  /** Epoch ms after which the cookie is refused. */
  expiresAt: number;
  nonce: string;
}

export interface SessionKeys {
  /** Signs session cookies. */
  mac: Buffer;
  /** Derives CSRF tokens (a separate key: a CSRF token is never a valid cookie MAC and vice versa). */
  csrf: Buffer;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

export function sessionKeys(adminToken: string, tool: string): SessionKeys {
  const derive = (purpose: string) => createHmac("sha256", adminToken).update(`fxa-ops console ${tool} ${purpose} v1`).digest();
  return { mac: derive("session"), csrf: derive("csrf") };
}

export function newSession(operator: string, now: number, lifetimeMs = SESSION_LIFETIME_MS): Session {
  return { operator, expiresAt: now + lifetimeMs, nonce: b64url(randomBytes(16)) };
}

export function encodeSession(keys: SessionKeys, session: Session): string {
  const payload = b64url(new TextEncoder().encode(JSON.stringify({ o: session.operator, e: session.expiresAt, n: session.nonce })));
  return `${payload}.${b64url(createHmac("sha256", keys.mac).update(payload).digest())}`;
}

/** The session in a cookie value, or undefined when it is malformed, forged, or past its end. */
export function decodeSession(keys: SessionKeys, value: string | undefined, now: number): Session | undefined {
  if (!value || value.length > 1024) return undefined;
  const dot = value.indexOf(".");
  if (dot <= 0) return undefined;
  const payload = value.slice(0, dot);
  const expected = createHmac("sha256", keys.mac).update(payload).digest();
  const presented = Buffer.from(value.slice(dot + 1), "base64url");
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
  let parsed: { o?: unknown; e?: unknown; n?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed.o !== "string" || typeof parsed.e !== "number" || typeof parsed.n !== "string") return undefined;
  if (now >= parsed.e) return undefined;
  return { operator: parsed.o, expiresAt: parsed.e, nonce: parsed.n };
}

export function csrfToken(keys: SessionKeys, session: Session): string {
  return b64url(createHmac("sha256", keys.csrf).update(session.nonce).digest());
}

export function csrfMatches(keys: SessionKeys, session: Session, presented: string | null | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfToken(keys, session));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
