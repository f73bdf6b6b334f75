import { describe, expect, test } from "bun:test";
import { createSql } from "../../src/db/client.ts";
import { missingTables } from "../../src/db/missing-tables.ts";
import { createTestDatabase } from "../support/postgres.ts";

const db = await createTestDatabase();
await db.sql`create table present_a (n int); create schema other; create table other.present_b (n int)`.simple();

describe("missingTables", () => {
  test("names the missing tables in the order asked, and only those", async () => {
    expect(await missingTables(db.sql, ["gone_z", "present_a", "gone_y", "other.present_b", "gone_x"])).toEqual(["gone_z", "gone_y", "gone_x"]);
  });

  test("nothing missing, or nothing asked: an empty list", async () => {
    expect(await missingTables(db.sql, ["present_a", "other.present_b"])).toEqual([]);
    expect(await missingTables(db.sql, [])).toEqual([]);
  });

  test("reads names as SQL does: unquoted names fold to lower case, other schemas only when qualified", async () => {
    expect(await missingTables(db.sql, ["PRESENT_A", "present_b", '"PRESENT_A"'])).toEqual(["present_b", '"PRESENT_A"']);
  });

  test("works as the first statement of a fresh client, as a tool's start-up check runs it", async () => {
    const fresh = createSql(db.url, { max: 1 });
    try {
      expect(await missingTables(fresh, ["present_a", "gone_w"])).toEqual(["gone_w"]);
    } finally {
      await fresh.end();
    }
  });
});
