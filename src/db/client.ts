// The one postgres.js factory. int8 columns come back as bigint: generation = 2^63-1 must survive.
import postgres from "postgres";

export type Sql = postgres.Sql<{ bigint: bigint }>;

export interface SqlOptions {
  /** Pool size; size it to the tool's concurrency. */
  max?: number;
  /** Seconds to wait for a connection before failing (a transient error). */
  connectTimeout?: number;
  /** Seconds a statement may run before PostgreSQL cancels it. */
  statementTimeout?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
}

export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 10,
    idle_timeout: 60,
    types: { bigint: postgres.BigInt },
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? "fxa-ops-toolkit",
      ...(options.statementTimeout ? { statement_timeout: options.statementTimeout * 1000 } : {}),
    },
  }) as unknown as Sql;
}
