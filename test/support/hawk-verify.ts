// The server side of Hawk for tests and loopback storage nodes: checks a request the way syncstorage-rs
// (auth.rs + the hawk crate) does. The signing side purge-old-records runs is src/tokenserver/hawk.ts.
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { hawkMac, hawkNormalizedString } from "../../src/tokenserver/hawk.ts";

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

  const normalized =
    hawkNormalizedString({
      ts,
      nonce,
      method: req.method,
      pathQs: req.path,
      host, // not lower-cased: the hawk crate signs the host as given
      port: String(port),
      hash: params.hash,
      ext: params.ext,
    }) +
    // The hawk crate's addition to hawkauthlib's string: app and dlg lines when the header has an app.
    (params.app !== undefined ? `${params.app}\n${params.dlg ?? ""}\n` : "");
  const expected = Buffer.from(hawkMac(key, normalized), "base64");
  const given = /^[A-Za-z0-9+/]*={0,2}$/.test(mac) ? Buffer.from(mac, "base64") : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad_mac", normalized };
  }
  const tsNum = Number(ts);
  if (Math.abs(opts.now - tsNum) > opts.skewSeconds) return { ok: false, reason: "stale_ts", normalized };
  return { ok: true, id: params.id, ts: tsNum, nonce, host, port, normalized };
}
