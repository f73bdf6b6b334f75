import { describe, expect, test } from "bun:test";
import { createSql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS } from "../../src/tokenserver/migrations/index.ts";
import { createTestDatabase } from "../support/postgres.ts";

const db = await createTestDatabase();

describe("migrate", () => {
  test("applies once, records it, and is a no-op the second time", async () => {
    expect(await migrate(db.sql, TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS)).toEqual(["1_create_schema"]);
    expect(await migrate(db.sql, TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS)).toEqual([]);
    const rows = await db.sql`select domain, version, name from schema_migrations`;
    expect(rows.map((r) => ({ ...r }))).toEqual([{ domain: "tokenserver", version: 1, name: "create_schema" }]);
    const [service] = await db.sql`select service, pattern from services`;
    expect({ ...service }).toEqual({ service: "sync-1.5", pattern: "{node}/1.5/{uid}" });
  });

  test("concurrent runs serialise on the advisory lock: each migration is applied exactly once", async () => {
    const others = [createSql(db.url, { max: 1 }), createSql(db.url, { max: 1 }), createSql(db.url, { max: 1 })];
    const migrations = [{ version: 1, name: "counter", sql: "create table counter (n int); insert into counter values (1);" }];
    const results = await Promise.all(others.map((sql) => migrate(sql, "race", migrations)));
    expect(results.flat()).toEqual(["1_counter"]);
    const [{ count }] = await db.sql<[{ count: bigint }]>`select count(*) from counter`;
    expect(count).toBe(1n);
    await Promise.all(others.map((sql) => sql.end()));
  });

  test("a failing migration rolls back entirely", async () => {
    const bad = [{ version: 1, name: "half", sql: "create table half_done (n int); select no_such_function();" }];
    await expect(migrate(db.sql, "broken", bad)).rejects.toThrow();
    const [{ exists }] = await db.sql<[{ exists: boolean }]>`select to_regclass('half_done') is not null as exists`;
    expect(exists).toBe(false);
  });

  test("int8 columns round-trip 2^63-1 as bigint", async () => {
    const [{ g }] = await db.sql<[{ g: bigint }]>`select ${9223372036854775807n}::bigint as g`;
    expect(g).toBe(9223372036854775807n);
  });
});
