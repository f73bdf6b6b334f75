// Hawk request signing as hawkauthlib 2.0.0 does it for purge_old_records' DELETEs (spec §5.2, §4.7).
// Time and randomness come in through parameters. The server side (a syncstorage-rs-style verifier for
// tests and loopback storage nodes) is test/support/hawk-verify.ts.
import { Buffer } from "node:buffer";
import { createHmac, randomBytes } from "node:crypto";
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
}

/** hawkauthlib's normalized string: ts, nonce, METHOD, path?query, host, port, hash, ext, each + "\n".
 * The caller decides the host's case. */
export function hawkNormalizedString(p: NormalizedRequestParts): string {
  return (
    `hawk.1.header\n${p.ts}\n${p.nonce}\n${p.method.toUpperCase()}\n${p.pathQs}\n` +
    `${p.host}\n${p.port}\n${p.hash ?? ""}\n${p.ext ?? ""}\n`
  );
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
