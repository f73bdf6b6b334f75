// The blacklist lookups (spec/account-config.md §8), as results rather than exceptions: the HTTP API turns
// an `error` into 400/404, an embedding program branches on it. `discard`: drop the hit; `no_sync`: keep
// it but do not sync it.
import { parseIp, type IpMatch } from "./ip-match.ts";
import type { Mode } from "./ip-match.ts";
import type { ConfigState } from "./model.ts";

export type LookupError = { error: "unknown_account" | "invalid_ip" | "invalid_visitor" };
export type VisitorMatch = { blacklisted: false } | { blacklisted: true; mode: Mode };

const VISITOR = /^[A-Za-z0-9]{32}$/;

export function lookupIp(state: ConfigState, ref: string | number, ip: string): IpMatch | LookupError {
  const account = state.account(ref);
  if (!account) return { error: "unknown_account" };
  const address = parseIp(ip);
  if (!address) return { error: "invalid_ip" };
  return state.ipMatcher(account.id).match(address);
}

/** Exact and case-sensitive: a vid token is 32 letters and digits. */
export function lookupVisitor(state: ConfigState, ref: string | number, visitor: string): VisitorMatch | LookupError {
  const account = state.account(ref);
  if (!account) return { error: "unknown_account" };
  if (!VISITOR.test(visitor)) return { error: "invalid_visitor" };
  const mode = state.visitorModes(account.id).get(visitor);
  return mode ? { blacklisted: true, mode } : { blacklisted: false };
}
