// Hawk request signing as hawkauthlib 2.0.0 does it for purge_old_records' DELETEs (spec §5.2, §4.7),
// and a verifier that checks a request the way syncstorage-rs (auth.rs + the hawk crate) does, for tests
// and loopback storage nodes. Time and randomness come in through parameters.
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  deleteServiceDataUrl,
  derivedSecretBytesForSalt,
  issueToken,
  tokenDataForRow,
  urlsafeB64encode,
  type PurgeRowForToken,
  type ServiceTokenData,
} from "./token.ts";

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443" };

export interface NormalizedRequestParts {
  ts: string;
  nonce: string;
  method: string;
  /** Path plus "?query" exactly as on the request line. */
  pathQs: string;
  host: string;
  port: string;
  hash?: string;
  ext?: string;
  app?: string;
  dlg?: string;
}

/** The Hawk 1 header string: ts, nonce, METHOD, path?query, host, port, hash, ext, each + "\n"
 * (then app and dlg when app is given). The caller decides the host's case. */
export function hawkNormalizedString(p: NormalizedRequestParts): string {
  let s =
    `hawk.1.header\n${p.ts}\n${p.nonce}\n${p.method.toUpperCase()}\n${p.pathQs}\n` +
    `${p.host}\n${p.port}\n${p.hash ?? ""}\n${p.ext ?? ""}\n`;
  if (p.app !== undefined) s += `${p.app}\n${p.dlg ?? ""}\n`;
  return s;
}

/** Standard base64 HMAC-SHA256 keyed by the key TEXT's bytes: the derived secret is never decoded. */
export function hawkMac(key: string, normalized: string): string {
  return createHmac("sha256", Buffer.from(key, "utf8")).update(normalized, "utf8").digest("base64");
}

/** hawkauthlib's nonce: standard base64 (may contain "+" and "/") of 5 random bytes, 8 chars. */
export function makeNonce(bytes: Uint8Array = randomBytes(5)): string {
  return Buffer.from(bytes).toString("base64");
}

export interface HawkSignInput {
  method: string;
  url: string;
  /** The token. */
  id: string;
  /** The derived secret text (44-char urlsafe base64). */
  key: string;
  /** Seconds since the epoch; truncated like str(int(time.time())). Defaults to the clock. */
  ts?: number;
  /** Defaults to makeNonce(). */
  nonce?: string;
}

export interface HawkSigned {
  /** Authorization header value. */
  header: string;
  normalized: string;
  mac: string;
  /** Host header value: "hostname:port", port explicit even when it is the scheme default. */
  host: string;
  /** The URL to request: the signed path and query (a bare trailing "?" dropped, no fragment). */
  url: string;
}

/** hawkauthlib.sign_request for a body-less request: no payload hash, no ext. */
export function hawkAuthorization(input: HawkSignInput): HawkSigned {
  const u = new URL(input.url);
  const defaultPort = DEFAULT_PORTS[u.protocol];
  // hawkauthlib raises ValueError for a scheme it has no default port for.
  if (defaultPort === undefined) throw new TypeError(`Unknown scheme in URL: ${input.url}`);
  const port = u.port || defaultPort;
  const hostname = u.hostname.toLowerCase(); // WHATWG already lower-cases; hawkauthlib does it again
  // URL.search is "" for both no query and a bare "?", which requests also drops.
  const pathQs = u.pathname + u.search;
  const ts = String(Math.trunc(input.ts ?? Date.now() / 1000));
  const nonce = input.nonce ?? makeNonce();
  const normalized = hawkNormalizedString({ ts, nonce, method: input.method, pathQs, host: hostname, port });
  const mac = hawkMac(input.key, normalized);
  // WebOb's '%s="%s"' joined by ", ", in this order, with no escaping (none of the values needs any).
  const header = `Hawk id="${input.id}", ts="${ts}", nonce="${nonce}", mac="${mac}"`;
  return { header, normalized, mac, host: `${hostname}:${port}`, url: `${u.protocol}//${u.host}${pathQs}` };
}

// ---- delete_service_data in one call -----------------------------------------------------------

export interface DeleteServiceDataRequest {
  url: string;
  tokenData: ServiceTokenData;
  token: string;
  derivedSecret: string;
  /** Exactly the headers hawkauthlib adds: Host (explicit port) and Authorization. */
  headers: { Host: string; Authorization: string };
  hawk: HawkSigned;
}

export interface DeleteServiceDataOptions {
  secret: string;
  /** override_node, or the row's own node. */
  node: string;
  salt?: string;
  /** tokenlib's clock (seconds, float). */
  now?: number;
  timeout?: number;
  /** hawkauthlib's clock (seconds). */
  ts?: number;
  nonce?: string;
}

/** Everything delete_service_data computes before requests.delete: token data, token, derived
 * secret, URL and the Hawk headers. Call it again per attempt: every retry gets a fresh token. */
export function signDeleteServiceData(row: PurgeRowForToken, o: DeleteServiceDataOptions): DeleteServiceDataRequest {
  const tokenData = tokenDataForRow(row, o.node);
  const { token, salt } = issueToken(tokenData, o.secret, { salt: o.salt, now: o.now, timeout: o.timeout });
  const derivedSecret = urlsafeB64encode(derivedSecretBytesForSalt(token, salt, o.secret));
  const hawk = hawkAuthorization({
    method: "DELETE",
    url: deleteServiceDataUrl(o.node, row.uid),
    id: token,
    key: derivedSecret,
    ts: o.ts,
    nonce: o.nonce,
  });
  return {
    url: hawk.url,
    tokenData,
    token,
    derivedSecret,
    headers: { Host: hawk.host, Authorization: hawk.header },
    hawk,
  };
}

// ---- server side --------------------------------------------------------------------------------

const HEADER_KEYS = new Set(["id", "ts", "nonce", "mac", "hash", "ext", "app", "dlg"]);

export type HawkHeaderParams = Partial<Record<"id" | "ts" | "nonce" | "mac" | "hash" | "ext" | "app" | "dlg", string>>;

/** Parses `Hawk key="value", ...`. Values may not contain '"' or '\', so the normalized string never
 * needs ext escaping. Returns null when the header is not well formed. */
export function parseHawkHeader(header: string): HawkHeaderParams | null {
  if (!header.startsWith("Hawk ")) return null; // syncstorage-rs: exactly "Hawk " (case-sensitive)
  const params: HawkHeaderParams = {};
  const re = /\s*([a-z]+)="([^"\\]*)"\s*(,|$)/y;
  let rest = header.slice(5);
  let lastIndex = 0;
  while (lastIndex < rest.length) {
    re.lastIndex = lastIndex;
    const m = re.exec(rest);
    if (!m) return null;
    const key = m[1] as keyof HawkHeaderParams;
    if (!HEADER_KEYS.has(key) || params[key] !== undefined) return null;
    params[key] = m[2] as string;
    lastIndex = re.lastIndex;
    if (m[3] === "") break;
  }
  rest = rest.slice(lastIndex);
  return rest.trim() === "" ? params : null;
}

export interface HawkRequestView {
  method: string;
  /** Path and query from the request line. */
  path: string;
  /** Host header (or the forwarded host), "host" or "host:port". */
  host: string | null | undefined;
  authorization: string | null | undefined;
  /** Picks the default port when the Host header has none (as syncstorage-rs does). Default "http". */
  scheme?: "http" | "https";
}

export type HawkVerifyFailure =
  | "missing_header"
  | "malformed_header"
  | "missing_id"
  | "unknown_id"
  | "invalid_port"
  | "bad_mac"
  | "stale_ts";

export type HawkVerifyResult =
  | { ok: true; id: string; ts: number; nonce: string; host: string; port: number; normalized: string }
  | { ok: false; reason: HawkVerifyFailure; normalized?: string };

/** Checks a Hawk request like syncstorage-rs: host and port from the Host header (splitn(2, ":"), the
 * scheme default when absent), the path as received, mac over the header's own hash/ext, and
 * |now - ts| <= skewSeconds. No nonce cache (syncstorage-rs keeps none). `keyForId` returns the
 * derived secret text for a token, or null when the token is not acceptable (bad sig, expired...). */
export function verifyHawkRequest(
  req: HawkRequestView,
  keyForId: (id: string) => string | null,
  opts: { now: number; skewSeconds: number },
): HawkVerifyResult {
  if (!req.authorization) return { ok: false, reason: "missing_header" };
  const params = parseHawkHeader(req.authorization);
  if (params === null) return { ok: false, reason: "malformed_header" };
  if (params.id === undefined) return { ok: false, reason: "missing_id" };
  const { ts, nonce, mac } = params;
  if (ts === undefined || !/^\d+$/.test(ts) || nonce === undefined || mac === undefined) {
    return { ok: false, reason: "malformed_header" };
  }

  const hostHeader = req.host ?? "";
  const colon = hostHeader.indexOf(":");
  const host = colon >= 0 ? hostHeader.slice(0, colon) : hostHeader;
  let port: number;
  if (colon >= 0) {
    const text = hostHeader.slice(colon + 1);
    port = /^\+?\d+$/.test(text) ? Number(text) : NaN; // Rust's u16::from_str (leading zeros allowed)
    if (!(port <= 65535)) return { ok: false, reason: "invalid_port" };
  } else {
    port = req.scheme === "https" ? 443 : 80;
  }

  const key = keyForId(params.id);
  if (key === null) return { ok: false, reason: "unknown_id" };

  const normalized = hawkNormalizedString({
    ts,
    nonce,
    method: req.method,
    pathQs: req.path,
    host, // not lower-cased: the hawk crate signs the host as given
    port: String(port),
    hash: params.hash,
    ext: params.ext,
    app: params.app,
    dlg: params.dlg,
  });
  const expected = Buffer.from(hawkMac(key, normalized), "base64");
  const given = /^[A-Za-z0-9+/]*={0,2}$/.test(mac) ? Buffer.from(mac, "base64") : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad_mac", normalized };
  }
  const tsNum = Number(ts);
  if (Math.abs(opts.now - tsNum) > opts.skewSeconds) return { ok: false, reason: "stale_ts", normalized };
  return { ok: true, id: params.id, ts: tsNum, nonce, host, port, normalized };
}
