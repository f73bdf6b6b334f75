// IP blacklist matching (spec/account-config.md §8). Addresses are bytes (4 or 16); an IPv4-mapped IPv6
// address (::ffff:a.b.c.d) is treated as the IPv4 address, on both the entry and the lookup side. The
// longest prefix wins: host entries (/32, /128) sit in a Map and win at once; networks sit in a binary
// trie per family, walked bit by bit, remembering the deepest entry passed. Lookups cost at most 128
// steps whatever the number of entries, so one trie serves small and large lists alike.

/** What a blacklist entry does to a match: drop the visit, or keep it out of sync. */
export type Mode = "discard" | "no_sync";

export interface IpAddress {
  bytes: Uint8Array;
}

/** Longer text cannot be an address; refusing it early keeps hostile input cheap. */
const MAX_IP_TEXT = 64;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i += 1) {
    const part = parts[i]!;
    // No leading zeros: "010" would be octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  let head = text;
  let tail4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (!tail4) return undefined;
    head = text.slice(0, lastColon + 1) + "0:0"; // two placeholder groups, replaced below
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i += 1) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i]!)) return undefined;
    const n = parseInt(all[i]!, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  }
  if (tail4) bytes.set(tail4, 12);
  return bytes;
}

const isV4Mapped = (b: Uint8Array) => b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/** An IPv4 or IPv6 literal (no zone, no brackets), IPv4-mapped IPv6 as IPv4; undefined when invalid. */
export function parseIp(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > MAX_IP_TEXT) return undefined;
  const bytes = text.includes(":") ? parseIpv6(text) : parseIpv4(text);
  if (bytes && isV4Mapped(bytes)) return bytes.slice(12);
  return bytes;
}

/** A PostgreSQL `cidr` text (`198.51.100.0/24`, `2001:db8::/32`); a mapped IPv6 network becomes IPv4. */
export function parseCidr(text: string): { bytes: Uint8Array; prefix: number } | undefined {
  const slash = text.indexOf("/");
  const raw = slash === -1 ? text : text.slice(0, slash);
  const bits = raw.includes(":") ? parseIpv6(raw) : parseIpv4(raw);
  if (!bits) return undefined;
  let prefix = slash === -1 ? bits.length * 8 : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits.length * 8) return undefined;
  if (isV4Mapped(bits) && prefix >= 96) return { bytes: bits.slice(12), prefix: prefix - 96 };
  return { bytes: bits, prefix };
}

export interface IpEntry {
  /** The entry as PostgreSQL writes it. */
  cidr: string;
  mode: Mode;
}

export type IpMatch = { blacklisted: false } | { blacklisted: true; mode: Mode; match: string };

interface TrieNode {
  zero?: TrieNode;
  one?: TrieNode;
  entry?: IpEntry;
}

const bitAt = (bytes: Uint8Array, i: number) => (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
const hostKey = (bytes: Uint8Array) => bytes.join(".");

export class IpMatcher {
  private readonly hosts = new Map<string, IpEntry>();
  private readonly v4: TrieNode = {};
  private readonly v6: TrieNode = {};

  add(cidr: string, mode: Mode): boolean {
    const parsed = parseCidr(cidr);
    if (!parsed) return false;
    const entry = { cidr, mode };
    const width = parsed.bytes.length * 8;
    if (parsed.prefix === width) {
      this.hosts.set(hostKey(parsed.bytes), entry);
      return true;
    }
    let node = parsed.bytes.length === 4 ? this.v4 : this.v6;
    for (let i = 0; i < parsed.prefix; i += 1) {
      const side = bitAt(parsed.bytes, i) ? "one" : "zero";
      node = node[side] ??= {};
    }
    node.entry = entry;
    return true;
  }

  match(address: Uint8Array): IpMatch {
    const host = this.hosts.get(hostKey(address));
    if (host) return { blacklisted: true, mode: host.mode, match: host.cidr };
    let node: TrieNode | undefined = address.length === 4 ? this.v4 : this.v6;
    let best = node.entry;
    const width = address.length * 8;
    for (let i = 0; i < width && node; i += 1) {
      node = bitAt(address, i) ? node.one : node.zero;
      if (node?.entry) best = node.entry;
    }
    return best ? { blacklisted: true, mode: best.mode, match: best.cidr } : { blacklisted: false };
  }
}

/** Leading bits `a` and `b` have in common (addresses of one family). */
export function sharedPrefixBits(a: Uint8Array, b: Uint8Array): number {
  const width = Math.min(a.length, b.length) * 8;
  let i = 0;
  while (i < width && bitAt(a, i) === bitAt(b, i)) i += 1;
  return i;
}

/** Whether the network `bytes/prefix` contains `address` (false across families). */
export function networkContains(network: { bytes: Uint8Array; prefix: number }, address: Uint8Array): boolean {
  return network.bytes.length === address.length && sharedPrefixBits(network.bytes, address) >= network.prefix;
}

/** The address as text: dotted IPv4, or RFC 5952 IPv6 (lower case, the longest run of zero groups as ::). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
