// The blacklist lookups with their reasons, for the operator console's tester: the answer is the one
// GET /accounts/:ref/blacklist/… gives (lookupIp / lookupVisitor, the same matcher), and next to it
// which entry decided and why, or why none did (the nearest entry, entries of the other family, rows
// that are not addresses at all). Costs one pass over the account's entries: a tool for people, not
// for the hot path.
import { formatIp, networkContains, parseCidr, parseIp, sharedPrefixBits, type IpMatch, type Mode } from "./ip-match.ts";
import { lookupIp, lookupVisitor, type LookupError, type VisitorMatch } from "./lookups.ts";
import type { ConfigState, Row } from "./model.ts";

export interface EntryRef {
  id: number;
  cidr: string;
  mode: Mode;
  note: string | null;
}

export interface IpExplanation {
  /** The address as looked up: IPv4-mapped IPv6 becomes IPv4, IPv6 in RFC 5952 form. */
  address: string;
  family: "IPv4" | "IPv6";
  /** The input was ::ffff:a.b.c.d and was looked up as a.b.c.d. */
  mapped: boolean;
  /** Exactly what GET /accounts/:ref/blacklist/ip/:ip answers. */
  result: IpMatch;
  /** Every entry containing the address, the deciding one first (longest prefix). */
  containing: EntryRef[];
  /** When none contains it: the entry of the same family sharing the most leading bits. */
  nearest?: EntryRef & { sharedBits: number; prefix: number };
  /** Entries of the other family, which never match. */
  otherFamily: number;
  /** Rows whose `ip` is not a network this matcher understands (never match). */
  unusable: EntryRef[];
  /** One sentence for people. */
  reason: string;
}

const entryRef = (row: Row): EntryRef => ({ id: row.id, cidr: row.ip as string, mode: row.mode as Mode, note: (row.note as string | null | undefined) ?? null });

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function explainIp(state: ConfigState, ref: string | number, ip: string): IpExplanation | LookupError {
  const result = lookupIp(state, ref, ip);
  if ("error" in result) return result;
  const account = state.account(ref)!;
  const bytes = parseIp(ip)!;
  const address = formatIp(bytes);
  const family = bytes.length === 4 ? "IPv4" : "IPv6";
  const rows = state.tables.blacklistIps.of(account.id);
  const containing: { entry: EntryRef; prefix: number; order: number }[] = [];
  const unusable: EntryRef[] = [];
  let otherFamily = 0;
  let nearest: IpExplanation["nearest"];
  rows.forEach((row, order) => {
    const network = parseCidr(row.ip as string);
    if (!network) return void unusable.push(entryRef(row));
    if (network.bytes.length !== bytes.length) return void (otherFamily += 1);
    if (networkContains(network, bytes)) return void containing.push({ entry: entryRef(row), prefix: network.prefix, order });
    const sharedBits = Math.min(sharedPrefixBits(network.bytes, bytes), network.prefix);
    if (!nearest || sharedBits > nearest.sharedBits) nearest = { ...entryRef(row), sharedBits, prefix: network.prefix };
  });
  // The matcher keeps the longest prefix, and of two equal ones the one added last (row order).
  containing.sort((a, b) => b.prefix - a.prefix || b.order - a.order);
  const decided = containing[0];
  const mappedNote = ip.includes(":") && bytes.length === 4 ? `${ip} is an IPv4-mapped address, looked up as ${address}; ` : "";
  let reason: string;
  if (decided) {
    const how = decided.prefix === bytes.length * 8 ? `${decided.entry.cidr} is exactly ${address}` : `${decided.entry.cidr} contains ${address}`;
    const others = containing.length > 1 ? ` (the longest of ${plural(containing.length, "containing entry", "containing entries")}: ${containing.slice(1).map((c) => c.entry.cidr).join(", ")} ${containing.length === 2 ? "is" : "are"} shorter)` : "";
    reason = `${mappedNote}${how}, mode ${decided.entry.mode}${others}`;
  } else if (rows.length === 0) {
    reason = `${mappedNote}not blacklisted: the account has no IP entries`;
  } else {
    const parts = [`no ${family} entry contains ${address}`];
    if (nearest) parts.push(`the nearest, ${nearest.cidr}, shares ${nearest.sharedBits} of its ${nearest.prefix} prefix bits (the address differs at bit ${nearest.sharedBits + 1})`);
    if (otherFamily > 0) parts.push(`${plural(otherFamily, `${family === "IPv4" ? "IPv6" : "IPv4"} entry`, `${family === "IPv4" ? "IPv6" : "IPv4"} entries`)} never ${otherFamily === 1 ? "matches" : "match"} an ${family} address`);
    if (unusable.length > 0) parts.push(`${plural(unusable.length, "row")} not a network: ${unusable.map((u) => u.cidr).join(", ")}`);
    reason = `${mappedNote}not blacklisted: ${parts.join("; ")}`;
  }
  return {
    address,
    family,
    mapped: mappedNote !== "",
    result,
    containing: containing.map((c) => c.entry),
    ...(nearest && !decided ? { nearest } : {}),
    otherFamily,
    unusable,
    reason,
  };
}

export interface VisitorExplanation {
  /** Exactly what GET /accounts/:ref/blacklist/visitor/:vid answers. */
  result: VisitorMatch;
  entry?: { id: number; visitor: string; mode: Mode; note: string | null };
  /** Entries equal to the id but for letter case (lookups are case-sensitive, so they do not match). */
  caseVariants: string[];
  reason: string;
}

export function explainVisitor(state: ConfigState, ref: string | number, visitor: string): VisitorExplanation | LookupError {
  const result = lookupVisitor(state, ref, visitor);
  if ("error" in result) return result;
  const account = state.account(ref)!;
  const rows = state.tables.blacklistVisitors.of(account.id);
  const exact = rows.filter((row) => row.visitor === visitor).at(-1);
  const lower = visitor.toLowerCase();
  const caseVariants = rows.map((row) => row.visitor as string).filter((v) => v !== visitor && v.toLowerCase() === lower);
  let reason: string;
  if (exact) reason = `entry ${exact.id} is exactly ${visitor}, mode ${exact.mode as Mode}`;
  else if (caseVariants.length > 0) reason = `not blacklisted: ${caseVariants.join(", ")} differs only in letter case, and visitor ids are compared exactly`;
  else if (rows.length === 0) reason = "not blacklisted: the account has no visitor entries";
  else reason = `not blacklisted: none of the account's ${plural(rows.length, "visitor entry", "visitor entries")} is ${visitor}`;
  return {
    result,
    ...(exact ? { entry: { id: exact.id, visitor: exact.visitor as string, mode: exact.mode as Mode, note: (exact.note as string | null | undefined) ?? null } } : {}),
    caseVariants,
    reason,
  };
}
