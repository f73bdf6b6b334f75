// Delivery-problem checks (spec/email.md §5, upstream db/delivery_problems/test.rs §12.6 and the
// monorepo's check_all cases §12.18) with bounce-check-cases.json, on rows stored in PostgreSQL.
import { beforeEach, describe, expect, test } from "bun:test";
import { deleteBounces, fetchBounces, fetchBouncesFor, insertBounce } from "../../src/email/bounce-store.ts";
import { coalescedBounceLookup } from "../../src/email/bounce-lookup.ts";
import { checkRecipients, findViolation, longestPeriod, suppressionOf, violationError, type DeliveryProblemLimits } from "../../src/email/delivery-problems.ts";
import { EmailError } from "../../src/email/errors.ts";
import { PROBLEM_SUBTYPES, PROBLEM_TYPE_CODE, problemSubtype, problemType } from "../../src/email/problem-codes.ts";
import { createEmailTestDb, DEFAULT_LIMITS, insertAgedRecords, limitsFrom, type AgedRecord } from "../support/email.ts";
import { readVector } from "../support/vectors.ts";
import { thrownBy } from "../support/thrown.ts";

type Limits = Parameters<typeof limitsFrom>[0];
interface CheckCase {
  name: string;
  limits: Limits;
  address: string;
  records?: AgedRecord[];
  dbError?: string;
  expect: { ok?: true; status?: number; errno?: number; message?: string; address?: string; violatingIndex?: number; additionalFields?: number };
}
interface CheckAllCase {
  name: string;
  limits: Limits;
  to: string;
  cc: string[];
  recordsByAddress?: Record<string, AgedRecord[]>;
  recordsForEveryAddress?: AgedRecord[];
  expect: { to?: string; cc?: string[]; status?: number; errno?: number; message?: string; address?: string };
}
const vectors = readVector<{ check: CheckCase[]; checkAll: CheckAllCase[] }>("email/api/bounce-check-cases.json");

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const lookup = (addresses: readonly string[]) => fetchBouncesFor(db.sql, addresses);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;

const caught = (fn: () => unknown): EmailError => thrownBy(EmailError, fn);

async function rejected(promise: Promise<unknown>): Promise<EmailError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EmailError);
    return error as EmailError;
  }
  throw new Error("expected an EmailError");
}

/** The 429 checks of upstream: status, errno, message, address, and `problem` consistent with `time`. */
function expect429(error: EmailError, expected: { errno: number; message?: string; address: string; time: number }) {
  const body = error.toJSON();
  expect(body).toMatchObject({ code: 429, error: "Too Many Requests", errno: expected.errno, address: expected.address, time: expected.time });
  if (expected.message) expect(body.message).toBe(expected.message);
  const problem = JSON.parse(body.problem as string);
  expect(Date.parse(problem.created_at)).toBe(body.time as number);
  expect(problem.problem_type).toBe({ 106: 3, 107: 2, 108: 1 }[expected.errno]!);
}

describe("check (bounce-check-cases.json)", () => {
  for (const c of vectors.check) {
    test(c.name, async () => {
      const limits = limitsFrom(c.limits);
      const now = Date.now();
      if (c.dbError !== undefined) {
        const failing = async () => {
          throw new EmailError("Internal", c.dbError);
        };
        const error = await rejected(checkRecipients(failing, limits, { to: c.address, cc: [] }, now));
        expect(error.toJSON()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: c.expect.message });
        expect(Object.keys(error.extra).length).toBe(c.expect.additionalFields!);
        return;
      }
      await insertAgedRecords(db.sql, c.address, c.records!, now);
      const records = await fetchBounces(db.sql, c.address);
      if (c.name === "derived_enabled_false_still_enforced") {
        // We honour `enabled: false` (the original parsed it and then ignored it): nothing is refused.
        expect(await checkRecipients(lookup, limits, { to: c.address, cc: [] }, now)).toEqual({ to: c.address, cc: [] });
        // With the flag on, the same records are refused as the vector says.
        const error = await rejected(checkRecipients(lookup, { ...limits, enabled: true }, { to: c.address, cc: [] }, now));
        expect429(error, { errno: c.expect.errno!, address: c.address, time: now - c.records![c.expect.violatingIndex!]!.ageMs });
        return;
      }
      const violation = findViolation(records, limits, now);
      if (c.expect.ok) {
        expect(violation).toBeUndefined();
        return;
      }
      expect(violation).toBeDefined();
      const error = await rejected(checkRecipients(lookup, limits, { to: c.address, cc: [] }, now));
      expect(error.status).toBe(c.expect.status!);
      expect429(error, { errno: c.expect.errno!, message: c.expect.message, address: c.expect.address ?? c.address, time: now - c.records![c.expect.violatingIndex!]!.ageMs });
    });
  }
});

describe("check: the other upstream cases", () => {
  test("check_soft_bounce", async () => {
    const now = Date.now();
    await insertAgedRecords(db.sql, "foo@example.com", [{ bounceType: 2, bounceSubType: 1, ageMs: DAY - 2 * SECOND }], now);
    const error = await rejected(checkRecipients(lookup, limitsFrom({ soft: [{ period: "day", limit: 0 }] }), { to: "foo@example.com", cc: [] }, now));
    expect429(error, { errno: 107, message: "Soft-bounce limit violated", address: "foo@example.com", time: now - DAY + 2 * SECOND });
  });

  test("check_complaint", async () => {
    const now = Date.now();
    await insertAgedRecords(db.sql, "baz@example.com", [{ bounceType: 3, bounceSubType: 1, ageMs: MONTH - 2 * SECOND }], now);
    const error = await rejected(checkRecipients(lookup, limitsFrom({ complaint: [{ period: "month", limit: 0 }] }), { to: "baz@example.com", cc: [] }, now));
    expect429(error, { errno: 106, message: "Complaint limit violated", address: "baz@example.com", time: now - MONTH + 2 * SECOND });
  });

  test("check_no_bounces_with_nonzero_limits", async () => {
    const now = Date.now();
    const limits = limitsFrom({ soft: [{ period: "day", limit: 2 }], hard: [{ period: "week", limit: 2 }], complaint: [{ period: "month", limit: 2 }] });
    const records: AgedRecord[] = [];
    for (const [type, period] of [[2, DAY], [1, WEEK], [3, MONTH]] as const) {
      for (const age of [period - MINUTE, period - 2 * SECOND, period + SECOND]) records.push({ bounceType: type, bounceSubType: 1, ageMs: age });
    }
    await insertAgedRecords(db.sql, "foo@example.com", records, now);
    expect(await checkRecipients(lookup, limits, { to: "foo@example.com", cc: [] }, now)).toEqual({ to: "foo@example.com", cc: [] });
  });

  test("the first violation in record order wins, and a type-0 (unmapped) record counts as soft", () => {
    const now = Date.now();
    const records = [
      { email: "a@example.com", bounceType: 0, bounceSubType: 0, createdAt: now - 1000 },
      { email: "a@example.com", bounceType: 1, bounceSubType: 2, createdAt: now - 2000 },
    ];
    const violation = findViolation(records, DEFAULT_LIMITS, now)!;
    expect(violation.type).toBe("soft");
    expect(violationError("a@example.com", violation).errno).toBe(107);
  });

  test("a record of an unknown type is a 500 (the original failed to deserialise it)", () => {
    const error = caught(() => findViolation([{ email: "a@example.com", bounceType: 4, bounceSubType: 0, createdAt: 0 }], DEFAULT_LIMITS, Date.now()));
    expect(error.toJSON()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: "invalid value: integer `4`, expected problem type" });
  });

  test("the `problem` field: chrono timestamps drop a zero fraction", () => {
    const at = Date.UTC(2019, 0, 1);
    const error = violationError("bar@example.com", { type: "hard", limit: DEFAULT_LIMITS.hard[0]!, record: { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: at } });
    expect(JSON.parse(error.toJSON().problem as string).created_at).toBe("2019-01-01T00:00:00Z");
  });
});

describe("check_all (bounce-check-cases.json)", () => {
  for (const c of vectors.checkAll) {
    test(c.name, async () => {
      const now = Date.now();
      const everyone = [c.to, ...c.cc];
      for (const address of everyone) {
        const records = c.recordsForEveryAddress ?? c.recordsByAddress?.[address] ?? [];
        await insertAgedRecords(db.sql, address, records, now);
      }
      const run = checkRecipients(lookup, limitsFrom(c.limits), { to: c.to, cc: c.cc }, now);
      if (c.expect.to !== undefined) {
        expect(await run).toEqual({ to: c.expect.to, cc: c.expect.cc! });
        return;
      }
      const error = await rejected(run);
      expect(error.status).toBe(c.expect.status!);
      expect429(error, { errno: c.expect.errno!, message: c.expect.message, address: c.expect.address!, time: now - c.recordsForEveryAddress![0]!.ageMs });
    });
  }

  test("one query serves every recipient", async () => {
    const now = Date.now();
    await insertAgedRecords(db.sql, "b@example.com", [{ bounceType: 1, bounceSubType: 2, ageMs: 1000 }], now);
    let calls = 0;
    const counting = async (addresses: readonly string[]) => {
      calls += 1;
      return lookup(addresses);
    };
    expect(await checkRecipients(counting, DEFAULT_LIMITS, { to: "a@example.com", cc: ["b@example.com", "c@example.com", "a@example.com"] }, now)).toEqual({
      to: "a@example.com",
      cc: ["c@example.com", "a@example.com"],
    });
    expect(calls).toBe(1);
  });

  test("disabled limits do not even read the store", async () => {
    const never = async (): Promise<Map<string, never[]>> => {
      throw new Error("the store was read");
    };
    const limits: DeliveryProblemLimits = { ...DEFAULT_LIMITS, enabled: false };
    expect(await checkRecipients(never, limits, { to: "a@example.com", cc: ["b@example.com"] }, Date.now())).toEqual({ to: "a@example.com", cc: ["b@example.com"] });
  });
});

describe("suppressionOf: which limit refuses an address, and until when", () => {
  test("two hard bounces in a year: refused by year/1 until the older one is a year old", () => {
    const now = Date.now();
    const records = [
      { email: "a@example.com", bounceType: 1, bounceSubType: 2, createdAt: now - 2 * DAY },
      { email: "a@example.com", bounceType: 1, bounceSubType: 2, createdAt: now - 100 * DAY },
    ];
    const s = suppressionOf(records, DEFAULT_LIMITS, now)!;
    expect(s.limit.period).toBe("year");
    expect(s.record).toBe(records[1]!);
    expect(s.until).toBe(records[1]!.createdAt + 365 * DAY + 1);
    expect(findViolation(records, DEFAULT_LIMITS, s.until - 1)).toBeDefined();
    expect(findViolation(records, DEFAULT_LIMITS, s.until)).toBeUndefined();
  });

  test("a fresh hard bounce: refused by day/0 until it is a day old", () => {
    const now = Date.now();
    const records = [{ email: "a@example.com", bounceType: 1, bounceSubType: 2, createdAt: now - 1000 }];
    expect(suppressionOf(records, DEFAULT_LIMITS, now)!.until).toBe(now - 1000 + DAY + 1);
  });

  test("nothing refused → undefined", () => {
    expect(suppressionOf([], DEFAULT_LIMITS, Date.now())).toBeUndefined();
  });
});

describe("the bounce store (email_bounces)", () => {
  test("fxa-auth-db-mysql emailBounces: rows come back newest first", async () => {
    const now = Date.now();
    await insertBounce(db.sql, { email: "test@example.com", bounceType: 1, bounceSubType: 3, createdAt: now - 10 });
    await insertBounce(db.sql, { email: "test@example.com", bounceType: 2, bounceSubType: 2, createdAt: now });
    const rows = await fetchBounces(db.sql, "test@example.com");
    expect(rows.map((r) => [r.bounceType, r.bounceSubType])).toEqual([[2, 2], [1, 3]]);
    expect(rows[0]!.createdAt).toBeLessThanOrEqual(Date.now());
  });

  test("only the newest 20 records of an address are read, for one or many addresses", async () => {
    const now = Date.now();
    for (let i = 0; i < 25; i++) await insertBounce(db.sql, { email: "many@example.com", bounceType: 2, bounceSubType: 1, createdAt: now - i * 1000 });
    await insertBounce(db.sql, { email: "one@example.com", bounceType: 1, bounceSubType: 2, createdAt: now });
    const single = await fetchBounces(db.sql, "many@example.com");
    expect(single.length).toBe(20);
    expect(single.at(-1)!.createdAt).toBe(now - 19_000);
    const both = await fetchBouncesFor(db.sql, ["many@example.com", "one@example.com", "none@example.com"]);
    expect(both.get("many@example.com")!.map((r) => r.createdAt)).toEqual(single.map((r) => r.createdAt));
    expect(both.get("one@example.com")!.length).toBe(1);
    expect(both.get("none@example.com")).toEqual([]);
  });

  test("two records for one address in the same millisecond are both kept (the auth db's key refused that)", async () => {
    const now = Date.now();
    await insertBounce(db.sql, { email: "same@example.com", bounceType: 1, bounceSubType: 2, createdAt: now });
    await insertBounce(db.sql, { email: "same@example.com", bounceType: 3, bounceSubType: 9, createdAt: now });
    expect((await fetchBounces(db.sql, "same@example.com")).length).toBe(2);
    expect(await deleteBounces(db.sql, "same@example.com")).toBe(2);
    expect(await fetchBounces(db.sql, "same@example.com")).toEqual([]);
  });

  test("codes outside the table are refused by the schema", async () => {
    await expect(insertBounce(db.sql, { email: "x@example.com", bounceType: 4, bounceSubType: 0, createdAt: 0 })).rejects.toThrow();
    await expect(insertBounce(db.sql, { email: "x@example.com", bounceType: 1, bounceSubType: 15, createdAt: 0 })).rejects.toThrow();
  });
});

describe("problem codes (upstream deserialize/serialize_problem_type/subtype)", () => {
  test("problem types", () => {
    expect([0, 1, 2, 3].map(problemType)).toEqual(["soft", "hard", "soft", "complaint"]);
    expect(problemType(4)).toBeUndefined();
    expect(problemType(-1)).toBeUndefined();
    expect([PROBLEM_TYPE_CODE.hard, PROBLEM_TYPE_CODE.soft, PROBLEM_TYPE_CODE.complaint]).toEqual([1, 2, 3]);
  });

  test("problem subtypes", () => {
    expect(Array.from({ length: 15 }, (_, i) => problemSubtype(i))).toEqual([
      "Unmapped", "Undetermined", "General", "NoEmail", "Suppressed", "MailboxFull", "MessageTooLarge",
      "ContentRejected", "AttachmentRejected", "Abuse", "AuthFailure", "Fraud", "NotSpam", "Other", "Virus",
    ]);
    expect(problemSubtype(15)).toBeUndefined();
    expect(problemSubtype(-1)).toBeUndefined();
    expect(PROBLEM_SUBTYPES.map((_, i) => i)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });
});

describe("reading less: the longest period cut-off and coalesced lookups", () => {
  test("leaving out records older than the longest period never changes the verdict (1,000 random histories)", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const now = Date.now();
    const limits = limitsFrom({ complaint: [{ period: "day", limit: 0 }, { period: "year", limit: 1 }], hard: [{ period: "week", limit: 1 }], soft: [{ period: "5 minutes", limit: 0 }, { period: "month", limit: 3 }] });
    const longest = longestPeriod(limits)!;
    for (let n = 0; n < 1000; n++) {
      const history = Array.from({ length: Math.floor(random() * 30) }, () => ({
        email: "a@example.com",
        bounceType: Math.floor(random() * 4),
        bounceSubType: 1,
        createdAt: now - Math.floor(random() * 2 * longest),
      })).sort((a, b) => b.createdAt - a.createdAt);
      const original = history.slice(0, 20);
      const cut = history.filter((r) => r.createdAt >= now - longest).slice(0, 20);
      const a = findViolation(original, limits, now);
      const b = findViolation(cut, limits, now);
      expect([n, b?.type, b?.record.createdAt, b?.limit.period]).toEqual([n, a?.type, a?.record.createdAt, a?.limit.period]);
    }
  });

  test("the store is asked only for records inside the longest period", async () => {
    const now = Date.now();
    await insertAgedRecords(db.sql, "a@example.com", [{ bounceType: 1, bounceSubType: 2, ageMs: 400 * DAY }, { bounceType: 1, bounceSubType: 2, ageMs: 10 * DAY }], now);
    let asked: number | undefined;
    const spying = async (addresses: readonly string[], since: number) => {
      asked = since;
      return fetchBouncesFor(db.sql, addresses, { since });
    };
    await checkRecipients(spying, DEFAULT_LIMITS, { to: "a@example.com", cc: [] }, now);
    expect(asked).toBe(now - 365 * DAY);
    expect((await fetchBouncesFor(db.sql, ["a@example.com"], { since: asked! })).get("a@example.com")!.length).toBe(1);
    expect(longestPeriod(limitsFrom({}))).toBeUndefined();
  });

  test("concurrent lookups share queries once the in-flight limit is reached; each gets its own addresses", async () => {
    const now = Date.now();
    await insertAgedRecords(db.sql, "b1@example.com", [{ bounceType: 1, bounceSubType: 2, ageMs: 1000 }], now);
    const queries: string[][] = [];
    const lookup = coalescedBounceLookup(
      async (addresses, since) => {
        queries.push([...addresses]);
        return fetchBouncesFor(db.sql, addresses, { since });
      },
      { maxInFlight: 1, maxBatch: 100 },
    );
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => lookup([`b${i}@example.com`, "shared@example.com"], now - DAY)));
    expect(queries.length).toBeLessThan(30);
    expect(queries.flat().filter((a) => a === "shared@example.com").length).toBe(queries.length); // de-duplicated per query
    results.forEach((map, i) => expect([...map.keys()]).toEqual([`b${i}@example.com`, "shared@example.com"]));
    expect(results[1]!.get("b1@example.com")!.length).toBe(1);
    expect(results[2]!.get("b2@example.com")).toEqual([]);
  });

  test("a failed batch fails every request in it, and later lookups still run", async () => {
    let fail = true;
    const lookup = coalescedBounceLookup(
      async (addresses) => {
        if (fail) throw new EmailError("Internal", "database down");
        return new Map(addresses.map((a) => [a, []]));
      },
      { maxInFlight: 1, maxBatch: 100 },
    );
    const outcomes = await Promise.allSettled([lookup(["a@example.com"], 0), lookup(["b@example.com"], 0)]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect((await lookup(["c@example.com"], 0)).get("c@example.com")).toEqual([]);
  });

  test("a batch never exceeds maxBatch addresses (one oversized request still goes alone)", async () => {
    const sizes: number[] = [];
    const lookup = coalescedBounceLookup(
      async (addresses) => {
        sizes.push(addresses.length);
        return new Map();
      },
      { maxInFlight: 1, maxBatch: 5 },
    );
    await Promise.all([lookup(["a1", "a2", "a3"], 0), lookup(["b1", "b2", "b3"], 0), lookup(Array.from({ length: 8 }, (_, i) => `c${i}`), 0), lookup(["d1"], 0)]);
    expect(sizes).toEqual([3, 3, 8, 1]);
  });
});
