// A migrated tokenserver database per test file, with the upstream conftest's clean state on reset():
// empty tables, the sync-1.5 service and the node https://phx12 with capacity 100.
import type { Sql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS } from "../../src/tokenserver/migrations/index.ts";
import { insertService } from "../../src/tokenserver/queries.ts";
import {
  createTokenserverRepository,
  type RepositoryOptions,
  type TokenserverRepository,
} from "../../src/tokenserver/repository.ts";
import { SERVICE_NAME } from "../../src/tokenserver/types.ts";
import { createTestDatabase } from "./postgres.ts";

export const DEFAULT_NODE = "https://phx12";
export const SERVICE_PATTERN = "{node}/1.5/{uid}";

export interface TokenserverTestDb {
  url: string;
  sql: Sql;
  repo: TokenserverRepository;
  /** Another repository on the same database (e.g. in spanner mode); it shares `now` unless overridden. */
  createRepo(options?: RepositoryOptions): TokenserverRepository;
  /** Empties services, nodes and users, then adds the service and https://phx12 (capacity 100). */
  reset(): Promise<void>;
}

/** Call at the top level of a test file: the database is dropped after the file's tests. */
export async function createTokenserverTestDb(options: RepositoryOptions = {}): Promise<TokenserverTestDb> {
  const { url, sql } = await createTestDatabase();
  await migrate(sql, TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS);
  const repo = createTokenserverRepository(sql, options);
  return {
    url,
    sql,
    repo,
    createRepo: (overrides = {}) => createTokenserverRepository(sql, { ...options, ...overrides }),
    async reset() {
      // RESTART IDENTITY keeps the service id stable, so repositories that cached it stay valid.
      await sql`truncate users, nodes, services restart identity`;
      await insertService(sql, SERVICE_NAME, SERVICE_PATTERN);
      await repo.addNode(DEFAULT_NODE, 100);
    },
  };
}

/**
 * A deterministic ms clock for `now`. Each reading moves it on by `tick` ms (default 1), standing in for
 * the time that passes between statements in the upstream tests; advance() stands in for their sleeps.
 */
export function createTestClock(start = 1_700_000_000_000n, tick = 1n) {
  let t = start;
  return {
    now: (): bigint => {
      const value = t;
      t += tick;
      return value;
    },
    /** The next reading, without consuming it. */
    peek: (): bigint => t,
    advance(ms: number | bigint): void {
      t += BigInt(ms);
    },
  };
}
