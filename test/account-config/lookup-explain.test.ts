// The console's lookup tester: explainIp / explainVisitor give the API's answer (the same matcher) plus
// which entry decided and why, or why none did. IPv4, IPv6, IPv4-mapped, CIDR edges, other-family and
// unusable rows; a generated check that the explanation's deciding entry is always the matcher's.
import { describe, expect, test } from "bun:test";
import { formatIp, parseIp } from "../../src/account-config/ip-match.ts";
import { explainIp, explainVisitor } from "../../src/account-config/lookup-explain.ts";
import { lookupIp } from "../../src/account-config/lookups.ts";
import { ConfigState } from "../../src/account-config/model.ts";
import type { ChangeRow } from "../../src/account-config/queries.ts";
import { seededRandom } from "../support/seeded-random.ts";

const ACCOUNT = { id: 1, token: "acme", name: "Acme", active: true, maintenance_until: null, timezone: "UTC", connection_strings: {}, visscore_queue: null };
const IP_TABLE = 9;
const VISITOR_TABLE = 10;

function stateWith(ips: [string, "discard" | "no_sync"][], visitors: [string, "discard" | "no_sync"][] = []): ConfigState {
  const state = new ConfigState();
  let id = 100;
  const changes: ChangeRow[] = [
    { t: 0, d: false, r: { ...ACCOUNT } },
    { t: 0, d: false, r: { ...ACCOUNT, id: 2, token: "empty", name: "Empty" } },
    ...ips.map(([ip, mode]) => ({ t: IP_TABLE, d: false, r: { id: (id += 1), account_id: 1, ip, mode, note: `note ${ip}` } })),
    ...visitors.map(([visitor, mode]) => ({ t: VISITOR_TABLE, d: false, r: { id: (id += 1), account_id: 1, visitor, mode, note: null } })),
  ];
  state.apply(changes, 0);
  return state;
}

function explained(state: ConfigState, ip: string) {
  const result = explainIp(state, "acme", ip);
  if ("error" in result) throw new Error(result.error);
  return result;
}

describe("formatIp", () => {
  test.each([
    ["10.1.2.3", "10.1.2.3"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of two equal runs
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run, not the first
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group stays
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["::ffff:10.0.0.1", "10.0.0.1"], // mapped: looked up as IPv4
  ])("%s → %s", (input, want) => expect(formatIp(parseIp(input)!)).toBe(want));
});

describe("explainIp", () => {
  const state = stateWith([
    ["10.0.0.0/8", "discard"],
    ["10.1.0.0/16", "no_sync"],
    ["10.1.3.0/24", "discard"],
    ["203.0.113.7/32", "discard"],
    ["0.0.0.0/0", "no_sync"],
    ["2001:db8::/32", "discard"],
    ["2001:db8:1::5/128", "no_sync"],
  ]);

  test("a CIDR entry contains the address: the longest prefix decides, the shorter ones are named", () => {
    const e = explained(state, "10.1.2.3");
    expect(e.result).toEqual({ blacklisted: true, mode: "no_sync", match: "10.1.0.0/16" });
    expect(e.containing.map((c) => c.cidr)).toEqual(["10.1.0.0/16", "10.0.0.0/8", "0.0.0.0/0"]);
    expect(e.containing[0]!.note).toBe("note 10.1.0.0/16");
    expect(e.reason).toBe("10.1.0.0/16 contains 10.1.2.3, mode no_sync (the longest of 3 containing entries: 10.0.0.0/8, 0.0.0.0/0 are shorter)");
    expect(e.family).toBe("IPv4");
  });

  test("network edges: the first and last address of a /24 are inside, their neighbours outside", () => {
    for (const inside of ["10.1.3.0", "10.1.3.255"]) expect(explained(state, inside).result).toMatchObject({ match: "10.1.3.0/24" });
    for (const outside of ["10.1.2.255", "10.1.4.0"]) expect(explained(state, outside).result).toMatchObject({ match: "10.1.0.0/16" });
    expect(explained(state, "11.0.0.0").result).toMatchObject({ match: "0.0.0.0/0" });
  });

  test("a host entry is exactly the address; an IPv4-mapped IPv6 address is looked up as IPv4", () => {
    expect(explained(state, "203.0.113.7").reason).toBe("203.0.113.7/32 is exactly 203.0.113.7, mode discard (the longest of 2 containing entries: 0.0.0.0/0 is shorter)");
    const mapped = explained(state, "::ffff:203.0.113.7");
    expect(mapped).toMatchObject({ address: "203.0.113.7", family: "IPv4", mapped: true, result: { match: "203.0.113.7/32" } });
    expect(mapped.reason.startsWith("::ffff:203.0.113.7 is an IPv4-mapped address, looked up as 203.0.113.7; ")).toBe(true);
  });

  test("IPv6: /128 and /32 entries, zero compression in the answer", () => {
    expect(explained(state, "2001:DB8:1:0:0:0:0:5")).toMatchObject({ address: "2001:db8:1::5", family: "IPv6", result: { match: "2001:db8:1::5/128", mode: "no_sync" } });
    expect(explained(state, "2001:db8:ffff::1").result).toMatchObject({ match: "2001:db8::/32" });
    expect(explained(state, "2001:db8:ffff::1").containing.map((c) => c.cidr)).toEqual(["2001:db8::/32"]);
  });

  test("no entry contains it: the nearest entry, the bit where it differs, and the other family's entries", () => {
    const e = explained(state, "2001:db9::1");
    expect(e.result).toEqual({ blacklisted: false });
    expect(e.containing).toEqual([]);
    // 2001:0db8 vs 2001:0db9: the first 31 bits agree, bit 32 differs.
    expect(e.nearest).toMatchObject({ cidr: "2001:db8::/32", sharedBits: 31, prefix: 32 });
    expect(e.otherFamily).toBe(5);
    expect(e.reason).toBe("not blacklisted: no IPv6 entry contains 2001:db9::1; the nearest, 2001:db8::/32, shares 31 of its 32 prefix bits (the address differs at bit 32); 5 IPv4 entries never match an IPv6 address");
  });

  test("an account without entries, rows that are not networks, and the errors of the API", () => {
    expect(explainIp(state, "empty", "10.0.0.1")).toMatchObject({ result: { blacklisted: false }, reason: "not blacklisted: the account has no IP entries" });
    const odd = stateWith([["not-a-network", "discard"], ["192.0.2.0/24", "discard"]]);
    const e = explained(odd, "198.51.100.1");
    expect(e.unusable.map((u) => u.cidr)).toEqual(["not-a-network"]);
    expect(e.reason).toContain("1 row not a network: not-a-network");
    expect(e.nearest?.cidr).toBe("192.0.2.0/24");
    expect(explainIp(state, "nobody", "10.0.0.1")).toEqual({ error: "unknown_account" });
    for (const bad of ["10.1.2", "10.1.2.3/24", "010.1.2.3", "1::2::3", "", "x".repeat(5000)]) expect(explainIp(state, "acme", bad)).toEqual({ error: "invalid_ip" });
  });

  test("generated: the deciding entry is always the matcher's answer, and every containing entry contains", () => {
    const random = seededRandom(15);
    const byte = () => Math.floor(random() * 4); // few distinct values, so entries overlap often
    for (let round = 0; round < 40; round += 1) {
      const entries = new Map<string, "discard" | "no_sync">();
      for (let i = 0; i < 12; i += 1) {
        const prefix = [0, 8, 16, 24, 30, 32][Math.floor(random() * 6)]!;
        const bytes = [byte(), byte(), byte(), byte()];
        const mask = (n: number, i: number) => (prefix >= (i + 1) * 8 ? n : prefix <= i * 8 ? 0 : n & (0xff << (8 - (prefix - i * 8))));
        entries.set(`${bytes.map(mask).join(".")}/${prefix}`, random() < 0.5 ? "discard" : "no_sync");
      }
      const s = stateWith([...entries]);
      for (let j = 0; j < 25; j += 1) {
        const ip = [byte(), byte(), byte(), byte()].join(".");
        const e = explained(s, ip);
        expect(e.result as unknown).toEqual(lookupIp(s, "acme", ip));
        if (e.result.blacklisted) expect(e.containing[0]).toMatchObject({ cidr: e.result.match, mode: e.result.mode });
        else expect(e.containing).toEqual([]);
      }
    }
  });
});

describe("explainVisitor", () => {
  const V = "AbCd".repeat(8);
  const state = stateWith([], [[V, "no_sync"]]);

  test("exact, case variants, none, and the errors", () => {
    expect(explainVisitor(state, "acme", V)).toMatchObject({ result: { blacklisted: true, mode: "no_sync" }, entry: { visitor: V, mode: "no_sync" }, reason: `entry 101 is exactly ${V}, mode no_sync` });
    const upper = explainVisitor(state, "acme", V.toUpperCase());
    expect(upper).toMatchObject({ result: { blacklisted: false }, caseVariants: [V] });
    expect((upper as { reason: string }).reason).toBe(`not blacklisted: ${V} differs only in letter case, and visitor ids are compared exactly`);
    expect(explainVisitor(state, "acme", "z".repeat(32))).toMatchObject({ reason: `not blacklisted: none of the account's 1 visitor entry is ${"z".repeat(32)}` });
    expect(explainVisitor(state, "empty", "z".repeat(32))).toMatchObject({ reason: "not blacklisted: the account has no visitor entries" });
    expect(explainVisitor(state, "acme", "short")).toEqual({ error: "invalid_visitor" });
    expect(explainVisitor(state, "nobody", V)).toEqual({ error: "unknown_account" });
  });
});
