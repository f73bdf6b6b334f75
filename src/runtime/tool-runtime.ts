// The part of the tool runtime that only a running tool loads (tool.ts answers --help without it).
//
// Phases, each with one failure rule: flags and settings (a bad value → exit 2), clients, the schema
// check (waited for while the database is unreachable, up to its wait timeout), resources, run, clean-up.
// Every failure ends as one log line in the tool's format and its exit code. Expected failures (usage,
// configuration, an unreachable database, a missing schema: UsageError and SetupError) are one line that
// names the problem and the fix, without a stack; anything else is a bug and its stack goes in the line.
import type { ArgsDef } from "citty";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Sql } from "../db/client.ts";
import { batchedLineWriter } from "../core/line-writer.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { createMetrics, type Metrics } from "../core/metrics.ts";
import { createStopControl, type StopControl } from "./stop.ts";
import { ExitCode, SetupError, UsageError } from "../core/errors.ts";
import { flagLabel, parseFlags } from "./flags.ts";
import type { BaseSettings, Resources, ToolContext, ToolIO, ToolSpec } from "./tool-spec.ts";

/** Before settings exist: JSON lines unless --human_logs or LOG_FORMAT=pretty ask for text. */
function earlyLogger(name: string, rawArgs: readonly string[], io: ToolIO): Logger {
  const pretty = rawArgs.some((a) => a === "--human_logs" || a === "--human-logs") || io.env.LOG_FORMAT?.toLowerCase() === "pretty";
  return createLogger({ name, level: "info", format: pretty ? "pretty" : "json", write: (line) => io.err(line + "\n") });
}

/** Logs a failure by its kind and returns the exit code for it. */
export function reportFailure(log: Logger, tool: string, error: unknown): number {
  if (error instanceof UsageError) {
    log.error(`${tool}: ${error.message} (see ${tool} --help)`);
    return ExitCode.usage;
  }
  if (error instanceof SetupError) {
    log.error(`${tool}: ${error.message}`);
    return ExitCode.failure;
  }
  log.error(`${tool} failed`, { error });
  return ExitCode.failure;
}

/** A URL safe to log: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = "[hidden]";
    return parsed.toString().replace("%5Bhidden%5D", "[hidden]");
  } catch {
    return "[hidden]";
  }
}

async function waitForSchema(sql: Sql, check: (sql: Sql) => Promise<void>, log: Logger, stop: StopControl, waitSeconds: number, url: string) {
  const { waitForDatabase } = await import("../db/wait-ready.ts");
  const gaveUp = AbortSignal.timeout(waitSeconds * 1000);
  try {
    await waitForDatabase(() => check(sql), log, AbortSignal.any([stop.signal, gaveUp]));
  } catch (error) {
    if (error instanceof SetupError || stop.signal.aborted) throw error;
    const { isTransientDbError } = await import("../db/errors.ts");
    if (!isTransientDbError(error)) throw error;
    throw new SetupError(
      `the database at ${redactUrl(url)} did not answer within ${waitSeconds} s (${(error as Error).message}); ` +
        "check the database URL and that PostgreSQL is running and reachable",
    );
  }
}

export async function execute<A extends ArgsDef, S extends BaseSettings, R extends Resources>(
  spec: ToolSpec<A, S, R>,
  rawArgs: readonly string[],
  verbosity: number,
  io: ToolIO,
): Promise<number> {
  const name = spec.meta.name;
  let settings: S;
  try {
    const { flags, extra } = parseFlags(spec.args, rawArgs);
    settings = await spec.settings({ flags, extra, verbosity, env: io.env, label: (flag) => flagLabel(spec.args, flag) });
  } catch (error) {
    return reportFailure(earlyLogger(name, rawArgs, io), name, error);
  }

  const lines = batchedLineWriter((text) => io.err(text));
  const log = createLogger({ name, level: settings.logging.level, format: settings.logging.format, write: settings.logging.silent ? () => {} : lines.write });
  const stop = createStopControl({
    boundMs: spec.stopTimeoutMs,
    onSignal: io.onSignal,
    onStage(stage, detail) {
      if (stage === "stopping") log.info(`${detail.replace(/^received/, "Received")}; finishing ${spec.inFlight}`, { stopBoundMs: spec.stopTimeoutMs });
      else if (stage === "abandoning") log.warn(`Cancelling in-flight work (${detail}); it will be picked up again later`);
      else if (stage === "deadline") log.error(`Did not stop in time (${detail}); exiting with work in flight`);
      else log.warn(`Received a second ${detail}; exiting at once`);
      if (stage === "deadline" || stage === "second-signal") lines.flush();
    },
    exitNow: io.exit,
  });
  const metrics: Metrics = createMetrics(settings.metrics);
  let sql: Sql | undefined;
  let sqs: SQSClient | undefined;
  let resources: R | undefined;
  let code: number = ExitCode.ok;
  try {
    if (settings.database) {
      const { createSql } = await import("../db/client.ts");
      sql = createSql(settings.database.url, {
        max: settings.database.poolSize,
        applicationName: name,
        statementTimeout: settings.database.statementTimeout,
      });
      // Cancelling in-flight work: a statement still running (blocked on a lock, say) fails as a
      // transient error, so its message stays on the queue or its row waits for the next run.
      const client = sql;
      stop.abandon.addEventListener("abort", () => void client.end({ timeout: 0 }), { once: true });
    }
    if (settings.sqs) {
      const { createSqsClient } = await import("../sqs/client.ts");
      sqs = createSqsClient(settings.sqs);
    }
    const ctx = {
      tool: name,
      settings,
      log,
      logger: (component: string) => log.withTag(component),
      metrics,
      signal: stop.signal,
      abandon: stop.abandon,
      out: (line: string) => io.out(line + "\n"),
      ...(sql ? { sql } : {}),
      ...(sqs ? { sqs } : {}),
    } as unknown as ToolContext<S>;
    if (spec.checkSchema && sql && settings.database) {
      await waitForSchema(sql, spec.checkSchema, log, stop, settings.database.waitTimeout, settings.database.url);
      if (stop.signal.aborted) return ExitCode.ok;
    }
    resources = spec.resources ? await spec.resources(ctx) : ({} as R);
    code = (await spec.run({ ...ctx, resources })) ?? ExitCode.ok;
  } catch (error) {
    code = reportFailure(log, name, error);
  } finally {
    stop.dispose();
    const cleanups: [string, () => unknown][] = [
      ["resources", () => resources?.close?.()],
      ["SQS client", () => sqs?.destroy()],
      ["database connections", () => sql?.end({ timeout: 5 })],
      ["metrics", () => metrics.close()],
    ];
    for (const [what, cleanup] of cleanups) {
      try {
        await cleanup();
      } catch (error) {
        log.error(`Could not close the ${what}`, { error });
        if (code === ExitCode.ok) code = ExitCode.failure;
      }
    }
    lines.close();
  }
  return code;
}

/** `<tool> migrate`: applies the tool's schemas, one line per schema on stdout. */
export async function executeMigrate<A extends ArgsDef, S extends BaseSettings, R extends Resources>(
  spec: ToolSpec<A, S, R>,
  rawArgs: readonly string[],
  io: ToolIO,
): Promise<number> {
  const name = `${spec.meta.name} migrate`;
  const log = earlyLogger(name, rawArgs, io);
  const migrateSpec = spec.migrate!;
  let sql: Sql | undefined;
  try {
    parseFlags({}, rawArgs);
    const url = await migrateSpec.databaseUrl(io.env);
    const [{ createSql }, { migrate }, { isTransientDbError }] = await Promise.all([
      import("../db/client.ts"),
      import("../db/migrate.ts"),
      import("../db/errors.ts"),
    ]);
    sql = createSql(url, { max: 1, applicationName: name });
    for (const schema of await migrateSpec.schemas()) {
      let applied: string[];
      try {
        applied = await migrate(sql, schema.domain, schema.migrations);
      } catch (error) {
        if (!isTransientDbError(error)) throw error;
        throw new SetupError(`cannot reach the database at ${redactUrl(url)} (${(error as Error).message}); check the database URL`);
      }
      io.out(applied.length ? `${schema.domain} applied: ${applied.join(", ")}\n` : `${schema.domain} schema is up to date\n`);
    }
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(log, name, error);
  } finally {
    await sql?.end({ timeout: 5 });
  }
}
