// Every vector of ../shared/vectors/account-config (and our own in test/fixtures/account-config, same
// format) through a runner that follows the vectors' README: a fresh migrated database per file, each
// session on its own connection (a BEGIN stays open across steps), fauxqs for SQS, the cache refreshed
// only when a step says so, visscore retries without backoff.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { lookupIp, lookupVisitor } from "../../src/account-config/lookups.ts";
import { accountView, defaultPatterns } from "../../src/account-config/view.ts";
import { VisscoreChecker } from "../../src/account-config/visscore.ts";
import type { Sql } from "../../src/db/client.ts";
import { accountConfigDatabases } from "../support/account-config.ts";
import { captureLog } from "../support/log.ts";
import { startTestSqs, type TestSqs } from "../support/sqs.ts";

type Step = Record<string, any>;
interface Vector {
  name: string;
  covers?: string[];
  steps: Step[];
}

const SHARED = join(import.meta.dir, "../../../shared/vectors/account-config");
const OURS = join(import.meta.dir, "../fixtures/account-config");
const load = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ file: join(dir, f), vector: JSON.parse(readFileSync(join(dir, f), "utf8")) as Vector }));
const vectors = [...load(SHARED), ...load(OURS)];

const databases = await accountConfigDatabases();
const sqs = await startTestSqs();

function newCache(sqsClient: TestSqs) {
  const visscore = new VisscoreChecker({ sqs: sqsClient.client, log: captureLog().log, now: Date.now, retryDelayMs: () => 0 });
  return new AccountConfigCache({ visscore });
}

/** Only the keys given in `expected` are compared (README "Expected state"). */
function compareAccount(where: string, view: Record<string, any>, expected: Record<string, any>) {
  for (const [key, want] of Object.entries(expected)) {
    if (key === "visscore") {
      for (const [k, v] of Object.entries(want as object)) expect(view.visscore[k], `${where}.visscore.${k}`).toEqual(v);
    } else if (key === "childAccounts") {
      expect(view.childAccounts, `${where}.childAccounts`).toEqual(want);
    } else if (Array.isArray(view[key]) && typeof want === "object" && want !== null) {
      const rows = new Map<string, Record<string, unknown>>((view[key] as { id: number }[]).map((r) => [String(r.id), r]));
      expect([...rows.keys()].sort(), `${where}.${key} ids`).toEqual(Object.keys(want).sort());
      for (const [id, fields] of Object.entries(want as Record<string, Record<string, unknown>>)) {
        for (const [field, value] of Object.entries(fields)) expect(rows.get(id)![field], `${where}.${key}.${id}.${field}`).toEqual(value);
      }
    } else {
      expect(view[key], `${where}.${key}`).toEqual(want);
    }
  }
}

describe("account-config vectors", () => {
  test("the shared vectors are all found", () => {
    expect(load(SHARED).length).toBeGreaterThanOrEqual(7);
  });

  for (const { file, vector } of vectors) {
    test(`${vector.name} (${(vector.covers ?? []).join(", ")})`, async () => {
      const db = await databases.create();
      const sessions = new Map<string, Awaited<ReturnType<Sql["reserve"]>>>();
      const session = async (name: string) => {
        let s = sessions.get(name);
        if (!s) sessions.set(name, (s = await db.sql.reserve()));
        return s;
      };
      let cache = newCache(sqs);
      const refresh = async () => {
        await cache.refresh(db.sql);
        await cache.visscore!.settled();
      };
      try {
        for (const [index, step] of vector.steps.entries()) {
          const where = `${vector.name} step ${index + 1}`;
          if ("sql" in step) {
            const s = await session(step.session ?? "main");
            if (step.expect_error) {
              const error = await s.unsafe(step.sql).then(
                () => undefined,
                (e: { code?: string }) => e,
              );
              expect(error?.code, `${where} SQLSTATE`).toBe(step.expect_error);
            } else {
              await s.unsafe(step.sql);
            }
          } else if (step.refresh) {
            await refresh();
          } else if (step.restart) {
            cache = newCache(sqs);
            await refresh();
          } else if (step.sqs) {
            if (step.sqs.create) sqs.createQueue(step.sqs.create);
            if (step.sqs.delete) sqs.server.deleteQueue(step.sqs.delete);
          } else if (step.lookup) {
            const { kind, account, value } = step.lookup;
            const result = kind === "ip" ? lookupIp(cache.state, account, value) : lookupVisitor(cache.state, account, value);
            expect(result, `${where} lookup ${kind} ${account} ${value}`).toEqual(step.expect);
          } else if (step.expect) {
            const want = step.expect;
            const state = cache.state;
            for (const [token, expected] of Object.entries((want.accounts ?? {}) as Record<string, Record<string, unknown> | null>)) {
              const id = state.byToken.get(token);
              const account = id === undefined ? undefined : state.accounts.get(id);
              if (expected === null) {
                expect(account, `${where}: ${token} must not resolve`).toBeUndefined();
                continue;
              }
              expect(account, `${where}: ${token} must resolve`).toBeDefined();
              const view = accountView(state, account!, { now: Date.now(), visscore: cache.visscore!.states.get(account!.id) });
              compareAccount(`${where} ${token}`, view, expected);
            }
            if (want.exact) {
              const present = [...state.accounts.values()].map((a) => a.token).sort();
              const wanted = Object.entries(want.accounts).filter(([, v]) => v !== null).map(([k]) => k).sort();
              expect(present, `${where} exact`).toEqual(wanted);
            }
            if (want.defaultPatterns) {
              expect(defaultPatterns(state).map((r) => String(r.id)).sort(), `${where} defaultPatterns`).toEqual(Object.keys(want.defaultPatterns).sort());
            }
          } else {
            throw new Error(`${file}: unknown step ${JSON.stringify(step)}`);
          }
        }
      } finally {
        for (const s of sessions.values()) {
          await s.unsafe("ROLLBACK").catch(() => {});
          s.release();
        }
      }
    });
  }
});
