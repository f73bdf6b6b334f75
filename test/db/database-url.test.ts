// The one DATABASE_URL rule (src/db/database-url.ts) that email-send and the tokenserver tools share.
import { describe, expect, test } from "bun:test";
import { databaseUrlFrom, normalizeDatabaseUrl } from "../../src/db/database-url.ts";
import { usageError } from "../support/thrown.ts";

const NAMES = ["SYNC_TOKENSERVER__DATABASE_URL", "DATABASE_URL"] as const;


describe("databaseUrlFrom", () => {
  test("the first non-empty variable of the list wins", () => {
    expect(databaseUrlFrom({ SYNC_TOKENSERVER__DATABASE_URL: "postgres://a/a", DATABASE_URL: "postgres://b/b" }, NAMES)).toBe("postgres://a/a");
    expect(databaseUrlFrom({ SYNC_TOKENSERVER__DATABASE_URL: "", DATABASE_URL: "postgresql://b/b" }, NAMES)).toBe("postgresql://b/b");
  });

  test("a driver suffix is dropped; postgres:// and postgresql:// are kept as given", () => {
    expect(databaseUrlFrom({ DATABASE_URL: "postgresql+psycopg2://u@h/d" }, ["DATABASE_URL"])).toBe("postgresql://u@h/d");
    expect(databaseUrlFrom({ DATABASE_URL: "postgres+pg8000://u@h/d" }, ["DATABASE_URL"])).toBe("postgresql://u@h/d");
    expect(normalizeDatabaseUrl("postgres://u@h/d")).toBe("postgres://u@h/d");
  });

  test("missing: every name is listed, with the note", () => {
    expect(usageError(() => databaseUrlFrom({ DATABASE_URL: "" }, NAMES))).toBe("SYNC_TOKENSERVER__DATABASE_URL (or DATABASE_URL) must be set");
    expect(usageError(() => databaseUrlFrom({}, ["DATABASE_URL"], "PostgreSQL"))).toBe("DATABASE_URL must be set (PostgreSQL)");
  });

  test("not PostgreSQL: the error names the variable that was used", () => {
    expect(usageError(() => databaseUrlFrom({ DATABASE_URL: "mysql://u@h/d" }, NAMES))).toBe("DATABASE_URL: only PostgreSQL URLs are supported (got scheme mysql)");
    expect(usageError(() => databaseUrlFrom({ SYNC_TOKENSERVER__DATABASE_URL: "sqlite:///x.db" }, NAMES))).toBe("SYNC_TOKENSERVER__DATABASE_URL: only PostgreSQL URLs are supported (got scheme sqlite)");
    expect(usageError(() => databaseUrlFrom({ DATABASE_URL: "postgresx://u@h/d" }, NAMES))).toStartWith("DATABASE_URL: ");
  });
});
