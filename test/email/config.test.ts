// email-send settings (spec/email.md §8): the upstream settings tests (§12.10), serialisation with
// secrets masked (§12.11), the validators (§12.14), the env/log/provider types (§12.17), the optional
// config/<env>.json and config/local.json of the working directory, the optional FXA_EMAIL_CONFIG
// file, and our additions (DATABASE_URL, the bearer token).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as validate from "../../src/email/config-validators.ts";
import { parseEnvironment, parseLogFormat, parseLogLevel, parseProviderName, PLACEHOLDER_HMAC_KEY } from "../../src/email/config-schema.ts";
import { emailSettings, type EmailFlags } from "../../src/email/config.ts";
import { EmailError } from "../../src/email/errors.ts";
import { usageError } from "../support/thrown.ts";

const BASE = { DATABASE_URL: "postgres://email:secret-password@db.example.com/email" };
const NO_FLAGS: EmailFlags = { verbosity: 0 };
/** Files by path, held in memory; the working directory has no config/ unless `files` puts one there. */
const load = (env: Record<string, string | undefined> = {}, flags: EmailFlags = NO_FLAGS, files: Record<string, string> = {}) =>
  emailSettings(flags, { ...BASE, ...env }, {
    cwd: "/srv/email",
    exists: (file) => file in files,
    readFile: (file) => {
      if (!(file in files)) throw new Error(`ENOENT: no such file ${file}`);
      return files[file]!;
    },
  });


describe("defaults", () => {
  test("default_env and the original's default.json values", () => {
    const s = load();
    expect(s.env).toBe("dev");
    expect([s.host, s.port]).toEqual(["127.0.0.1", 8001]);
    expect(s.hmacKey).toBe(PLACEHOLDER_HMAC_KEY);
    expect(s.authToken).toBeUndefined();
    expect(s.providers).toEqual({
      default: "ses",
      forceDefault: false,
      sender: { address: "accounts@firefox.com", name: "Firefox Accounts" },
      ses: { region: "us-west-2" },
      smtp: { host: "127.0.0.1", port: 25 },
    });
    expect(s.limits.enabled).toBe(true);
    expect(s.limits.complaint.map(({ period, limit }) => [period, limit])).toEqual([["day", 0], ["year", 1]]);
    expect(s.limits.hard.map((l) => [l.periodMs, l.limit])).toEqual([[86_400_000, 0], [31_536_000_000, 1]]);
    expect(s.limits.soft.map((l) => [l.period, l.periodMs, l.limit])).toEqual([["5 minutes", 300_000, 0]]);
    expect(s.messageDataTtlMs).toBe(30 * 86_400_000);
    expect(s.logging).toEqual({ level: "info", format: "json", silent: false });
    expect(s.databaseUrl).toBe(BASE.DATABASE_URL);
    expect(s.notices).toEqual([]);
  });

  test("empty_env_vars_are_ignored", () => {
    expect(load({ FXA_EMAIL_PORT: "", FXA_EMAIL_HOST: "" }).port).toBe(8001);
  });
});

describe("env_vars_take_precedence", () => {
  test("every variable reaches the settings", () => {
    const s = load({
      FXA_EMAIL_AWS_REGION: "eu-west-1",
      FXA_EMAIL_AWS_KEYS_ACCESS: "ABCDEFGHIJ0123456789",
      FXA_EMAIL_AWS_KEYS_SECRET: "abcdefghij/+=0123456789",
      FXA_EMAIL_AWS_SQSURLS_BOUNCE: "https://sqs.us-east-1.amazonaws.com/123456789012/Bounce",
      FXA_EMAIL_AWS_SQSURLS_COMPLAINT: "https://sqs.us-east-1.amazonaws.com/123456789012/Complaint",
      FXA_EMAIL_AWS_SQSURLS_DELIVERY: "https://sqs.us-east-1.amazonaws.com/123456789012/Delivery",
      FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: "https://sqs.us-east-1.amazonaws.com/123456789012/Notification",
      FXA_EMAIL_DELIVERYPROBLEMLIMITS_ENABLED: "false",
      FXA_EMAIL_HMACKEY: "something else",
      FXA_EMAIL_ENV: "production",
      FXA_EMAIL_HOST: "0.0.0.0",
      FXA_EMAIL_PORT: "8002",
      FXA_EMAIL_LOG_LEVEL: "debug",
      FXA_EMAIL_LOG_FORMAT: "pretty",
      FXA_EMAIL_PROVIDER_DEFAULT: "sendgrid",
      FXA_EMAIL_PROVIDER_FORCEDEFAULT: "true",
      FXA_EMAIL_PROVIDER_TIMEOUT: "20 seconds",
      FXA_EMAIL_SENDER_ADDRESS: "1accounts@firefox.com",
      FXA_EMAIL_SENDER_NAME: "Firefox Accounts1",
      FXA_EMAIL_SENDGRID_KEY: "0".repeat(69),
      FXA_EMAIL_SENDGRID_BASEURI: "http://127.0.0.1:9001/",
      FXA_EMAIL_SMTP_HOST: "127.0.0.2",
      FXA_EMAIL_SMTP_PORT: "28",
      FXA_EMAIL_SMTP_CREDENTIALS_USER: "foo",
      FXA_EMAIL_SMTP_CREDENTIALS_PASSWORD: "bar",
      FXA_EMAIL_SMTP_SECURE: "yes",
      FXA_EMAIL_SOCKETLABS_SERVERID: "99",
      FXA_EMAIL_SOCKETLABS_KEY: "baz",
      FXA_EMAIL_MESSAGEDATA_TTL: "2 days",
      FXA_EMAIL_AUTH_TOKEN: "0123456789abcdef0123",
      AWS_ENDPOINT_URL_SES: "http://127.0.0.1:4566",
    });
    expect(s.env).toBe("production");
    expect([s.host, s.port, s.hmacKey, s.authToken]).toEqual(["0.0.0.0", 8002, "something else", "0123456789abcdef0123"]);
    expect(s.limits.enabled).toBe(false);
    expect(s.logging).toEqual({ level: "debug", format: "pretty", silent: false });
    expect(s.messageDataTtlMs).toBe(2 * 86_400_000);
    expect(s.aws).toEqual({
      region: "eu-west-1",
      keys: { access: "ABCDEFGHIJ0123456789", secret: "abcdefghij/+=0123456789" },
      sqsUrls: {
        bounce: "https://sqs.us-east-1.amazonaws.com/123456789012/Bounce",
        complaint: "https://sqs.us-east-1.amazonaws.com/123456789012/Complaint",
        delivery: "https://sqs.us-east-1.amazonaws.com/123456789012/Delivery",
        notification: "https://sqs.us-east-1.amazonaws.com/123456789012/Notification",
      },
    });
    expect(s.providers).toEqual({
      default: "sendgrid",
      forceDefault: true,
      sender: { address: "1accounts@firefox.com", name: "Firefox Accounts1" },
      ses: { region: "eu-west-1", endpoint: "http://127.0.0.1:4566", credentials: { accessKeyId: "ABCDEFGHIJ0123456789", secretAccessKey: "abcdefghij/+=0123456789" } },
      sendgrid: { key: "0".repeat(69), baseUrl: "http://127.0.0.1:9001/" },
      socketlabs: { serverId: 99, key: "baz" },
      smtp: { host: "127.0.0.2", port: 28, credentials: { user: "foo", password: "bar" }, secure: true },
      timeoutMs: 20_000,
    });
  });

  test("--host and --port win over the environment", () => {
    const s = load({ FXA_EMAIL_HOST: "0.0.0.0", FXA_EMAIL_PORT: "8002" }, { verbosity: 0, host: "127.0.0.1", port: "0" });
    expect([s.host, s.port]).toEqual(["127.0.0.1", 0]);
    expect(usageError(() => load({}, { verbosity: 0, port: "http" }))).toStartWith("--port: ");
  });
});

describe("FXA_EMAIL_CONFIG (one JSON file with the original's nested keys)", () => {
  const file = JSON.stringify({
    deliveryproblemlimits: { soft: [{ period: "2 minutes", limit: 1 }, { period: "hour", limit: 3 }], complaint: [] },
    provider: { default: "mock" },
    smtp: { port: 2525 },
  });

  test("arrays come from the file; the environment still wins; the rest keeps its defaults", () => {
    const s = load({ FXA_EMAIL_CONFIG: "/etc/email.json", FXA_EMAIL_PROVIDER_DEFAULT: "smtp" }, NO_FLAGS, { "/etc/email.json": file });
    expect(s.limits.soft).toEqual([{ period: "2 minutes", periodMs: 120_000, limit: 1 }, { period: "hour", periodMs: 3_600_000, limit: 3 }]);
    expect(s.limits.complaint).toEqual([]);
    expect(s.limits.hard.length).toBe(2);
    expect(s.providers.default).toBe("smtp");
    expect(s.providers.smtp).toEqual({ host: "127.0.0.1", port: 2525 });
    expect(s.masked.config).toBe("/etc/email.json");
  });

  test("a bad value in the file is named by its path and the file", () => {
    const bad = JSON.stringify({ deliveryproblemlimits: { hard: [{ period: "fortnight", limit: 0 }] } });
    expect(usageError(() => load({ FXA_EMAIL_CONFIG: "/c.json" }, NO_FLAGS, { "/c.json": bad }))).toBe("deliveryproblemlimits.hard.0.period (in /c.json): Invalid duration: fortnight");
    const tooMany = JSON.stringify({ deliveryproblemlimits: { hard: [{ period: "day", limit: 256 }] } });
    expect(usageError(() => load({ FXA_EMAIL_CONFIG: "/c.json" }, NO_FLAGS, { "/c.json": tooMany }))).toBe("deliveryproblemlimits.hard.0.limit (in /c.json): must be at most 255");
  });

  test("a missing, unparsable or non-object file is a usage error", () => {
    expect(usageError(() => load({ FXA_EMAIL_CONFIG: "/missing.json" }))).toStartWith("FXA_EMAIL_CONFIG: cannot read /missing.json");
    expect(usageError(() => load({ FXA_EMAIL_CONFIG: "/c.json" }, NO_FLAGS, { "/c.json": "{" }))).toStartWith("FXA_EMAIL_CONFIG: /c.json is not valid JSON");
    expect(usageError(() => load({ FXA_EMAIL_CONFIG: "/c.json" }, NO_FLAGS, { "/c.json": "[]" }))).toBe("FXA_EMAIL_CONFIG: /c.json must contain a JSON object");
  });
});

describe("config/<env>.json and config/local.json in the working directory (the original's files)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "email-config-"));
    mkdirSync(join(dir, "config"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, value: unknown) => {
    const file = name.startsWith("/") ? name : join(dir, "config", name);
    writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
    return file;
  };
  const inDir = (env: Record<string, string> = {}, flags: EmailFlags = NO_FLAGS) => emailSettings(flags, { ...BASE, ...env }, { cwd: dir });

  test("default < <env>.json < local.json < FXA_EMAIL_CONFIG < variables < flags; each layer keeps what the ones above leave", () => {
    expect(inDir().port).toBe(8001);
    const dev = write("dev.json", { port: 8101, smtp: { port: 9999 }, provider: { default: "smtp", forcedefault: true } });
    expect(inDir().port).toBe(8101);
    const local = write("local.json", { port: 8102, deliveryproblemlimits: { soft: [{ period: "hour", limit: 2 }] } });
    expect(inDir().port).toBe(8102);
    const named = write(join(dir, "email.json"), { port: 8103, provider: { default: "mock" } });
    expect(inDir({ FXA_EMAIL_CONFIG: named }).port).toBe(8103);
    expect(inDir({ FXA_EMAIL_CONFIG: named, FXA_EMAIL_PORT: "8104" }).port).toBe(8104);
    const s = inDir({ FXA_EMAIL_CONFIG: named, FXA_EMAIL_PORT: "8104" }, { verbosity: 0, port: "8105" });
    expect(s.port).toBe(8105);
    expect(s.providers).toMatchObject({ default: "mock", forceDefault: true, smtp: { host: "127.0.0.1", port: 9999 } });
    expect(s.limits.soft).toEqual([{ period: "hour", periodMs: 3_600_000, limit: 2 }]);
    expect(s.limits.hard.length).toBe(2); // a list no file names keeps its default
    // The startup line says which files were read, lowest precedence first.
    expect(s.masked.files).toEqual([dev, local, named]);
    expect(s.masked.config).toBe(named);
    expect(s.masked.deliveryproblemlimits).toMatchObject({ soft: [{ period: "hour", limit: 2 }] });
  });

  test("a bad value is named by the file it came from, unless a higher source replaces it", () => {
    const local = write("local.json", { port: "eighty" });
    expect(usageError(() => inDir())).toBe(`port (in ${local}): invalid integer value: 'eighty'`);
    expect(inDir({ FXA_EMAIL_PORT: "8002" }).port).toBe(8002);
    const dev = write("dev.json", { smtp: { host: "smtp://x" } });
    expect(usageError(() => inDir({ FXA_EMAIL_PORT: "8002" }))).toBe(`smtp.host (in ${dev}): invalid host: "smtp://x"`);
  });

  test("FXA_EMAIL_ENV=production reads production.json and not dev.json", () => {
    write("dev.json", { provider: { default: "smtp" }, sender: { name: "Dev" } });
    const production = write("production.json", { provider: { default: "mock" } });
    const s = inDir({ FXA_EMAIL_ENV: "production", FXA_EMAIL_HMACKEY: "a real key" });
    expect([s.env, s.providers.default, s.providers.sender.name]).toEqual(["production", "mock", "Firefox Accounts"]);
    expect(s.masked.files).toEqual([production]);
    expect(inDir().providers.default).toBe("smtp"); // dev is the default environment
  });

  test("env is settled like any key (here by local.json) before it chooses the file; that file cannot change it", () => {
    const local = write("local.json", { env: "test" });
    const testFile = write("test.json", { port: 8200 });
    write("dev.json", { port: 8100 });
    expect(inDir().masked.files).toEqual([testFile, local]);
    expect(inDir().port).toBe(8200);
    expect(inDir({ FXA_EMAIL_ENV: "dev" }).port).toBe(8100); // the variable is above local.json
    write("test.json", { env: "production" });
    expect(usageError(() => inDir())).toBe(`env (in ${testFile}): the file chosen for env test cannot change it; set FXA_EMAIL_ENV instead`);
    write("local.json", { env: "prod" });
    expect(usageError(() => inDir())).toBe(`env (in ${local}): Invalid environment: prod`);
    expect(usageError(() => inDir({ FXA_EMAIL_ENV: "staging" }))).toBe("FXA_EMAIL_ENV: Invalid environment: staging");
  });

  test("a malformed file is a usage error naming the file", () => {
    const local = write("local.json", "{ port: 8002 }");
    expect(usageError(() => inDir())).toStartWith(`${local} is not valid JSON: `);
    write("local.json", {});
    const production = write("production.json", "[]");
    expect(usageError(() => inDir({ FXA_EMAIL_ENV: "production", FXA_EMAIL_HMACKEY: "k" }))).toBe(`${production} must contain a JSON object`);
  });

  test("the original's retired keys and unknown keys in a file are reported, not applied", () => {
    const dev = write("dev.json", { redis: { host: "redis", port: 6379 }, secretkey: "x", authdb: { baseuri: "http://127.0.0.1:8000/" }, smtp: { prot: 26 }, wibble: 1 });
    const s = inDir();
    expect(s.notices).toEqual([
      `redis.host (in ${dev}) is ignored: message data lives in PostgreSQL`,
      `redis.port (in ${dev}) is ignored: message data lives in PostgreSQL`,
      `secretkey (in ${dev}) is ignored: there are no cookies to sign`,
      `authdb.baseuri (in ${dev}) is ignored: DATABASE_URL replaces the auth db`,
      `smtp.prot (in ${dev}) is not a setting; ignored`,
      `wibble (in ${dev}) is not a setting; ignored`,
    ]);
    expect(s.providers.smtp.port).toBe(25);
  });
});

describe("invalid values are usage errors naming the variable (upstream settings tests)", () => {
  const cases: [string, Record<string, string>, string][] = [
    ["invalid_aws_region", { FXA_EMAIL_AWS_REGION: "us-east-1a" }, 'FXA_EMAIL_AWS_REGION: invalid AWS region: "us-east-1a"'],
    ["invalid_aws_access_key", { FXA_EMAIL_AWS_KEYS_ACCESS: "DEADBEEF DEADBEEF", FXA_EMAIL_AWS_KEYS_SECRET: "x" }, 'FXA_EMAIL_AWS_KEYS_ACCESS: invalid AWS access key: "DEADBEEF DEADBEEF"'],
    ["invalid_aws_secret_key", { FXA_EMAIL_AWS_KEYS_ACCESS: "A", FXA_EMAIL_AWS_KEYS_SECRET: "DEADBEEF DEADBEEF" }, 'FXA_EMAIL_AWS_KEYS_SECRET: invalid AWS secret key: "DEADBEEF DEADBEEF"'],
    ["invalid_deliveryproblemslimits_enabled", { FXA_EMAIL_DELIVERYPROBLEMLIMITS_ENABLED: "falsey" }, 'FXA_EMAIL_DELIVERYPROBLEMLIMITS_ENABLED: invalid type: expected a boolean, got "falsey"'],
    ["invalid_smtp_host", { FXA_EMAIL_SMTP_HOST: "https://mail.google.com/" }, 'FXA_EMAIL_SMTP_HOST: invalid host: "https://mail.google.com/"'],
    ["invalid_provider_default", { FXA_EMAIL_PROVIDER_DEFAULT: "sess" }, "FXA_EMAIL_PROVIDER_DEFAULT: Invalid payload: sess"],
    ["invalid_provider_forcedefault", { FXA_EMAIL_PROVIDER_FORCEDEFAULT: "wibble" }, 'FXA_EMAIL_PROVIDER_FORCEDEFAULT: invalid type: expected a boolean, got "wibble"'],
    ["invalid_sender_address", { FXA_EMAIL_SENDER_ADDRESS: "foo" }, 'FXA_EMAIL_SENDER_ADDRESS: invalid email address: "foo"'],
    ["invalid_sender_name", { FXA_EMAIL_SENDER_NAME: "foo@example.com" }, 'FXA_EMAIL_SENDER_NAME: invalid sender name: "foo@example.com"'],
    ["invalid_sendgrid_api_key", { FXA_EMAIL_SENDGRID_KEY: "foo bar" }, 'FXA_EMAIL_SENDGRID_KEY: invalid Sendgrid API key: "foo bar"'],
    ["invalid env (panicked in the original)", { FXA_EMAIL_ENV: "prod" }, "FXA_EMAIL_ENV: Invalid environment: prod"],
    ["invalid log level", { FXA_EMAIL_LOG_LEVEL: "wibble" }, "FXA_EMAIL_LOG_LEVEL: Invalid log level: wibble"],
    ["invalid log format", { FXA_EMAIL_LOG_FORMAT: "wibble" }, "FXA_EMAIL_LOG_FORMAT: Invalid log format: wibble"],
    ["invalid port", { FXA_EMAIL_PORT: "65536" }, "FXA_EMAIL_PORT: must be at most 65535"],
    ["invalid ttl", { FXA_EMAIL_MESSAGEDATA_TTL: "30 dayz" }, "FXA_EMAIL_MESSAGEDATA_TTL: Invalid duration: 30 dayz"],
    ["short auth token", { FXA_EMAIL_AUTH_TOKEN: "short" }, "FXA_EMAIL_AUTH_TOKEN: must be at least 16 characters"],
    ["socketlabs without its key", { FXA_EMAIL_SOCKETLABS_SERVERID: "99" }, "FXA_EMAIL_SOCKETLABS_KEY: Invalid input: expected string, received undefined"],
  ];
  for (const [name, env, message] of cases) test(name, () => expect(usageError(() => load(env))).toBe(message));

  for (const queue of ["BOUNCE", "COMPLAINT", "DELIVERY", "NOTIFICATION"]) {
    test(`invalid_aws_${queue.toLowerCase()}_queue_url`, () => {
      const env: Record<string, string> = {};
      for (const q of ["BOUNCE", "COMPLAINT", "DELIVERY", "NOTIFICATION"]) env[`FXA_EMAIL_AWS_SQSURLS_${q}`] = `https://sqs.us-east-1.amazonaws.com/123456789012/${q}`;
      env[`FXA_EMAIL_AWS_SQSURLS_${queue}`] = `http://sqs.us-east-1.amazonaws.com/123456789012/${queue}`;
      expect(usageError(() => load(env))).toStartWith(`FXA_EMAIL_AWS_SQSURLS_${queue}: invalid SQS queue URL`);
    });
  }

  test("several problems are reported together", () => {
    expect(usageError(() => load({ FXA_EMAIL_PORT: "x", FXA_EMAIL_HOST: "a b" }))).toBe('FXA_EMAIL_HOST: invalid host: "a b"; FXA_EMAIL_PORT: invalid integer value: \'x\'');
  });
});

describe("production checks and DATABASE_URL", () => {
  test("the placeholder HMAC key is refused in production, accepted elsewhere", () => {
    expect(usageError(() => load({ FXA_EMAIL_ENV: "production" }))).toBe("FXA_EMAIL_HMACKEY: Please set a valid HMAC key (the placeholder is refused in production)");
    expect(load({ FXA_EMAIL_ENV: "production", FXA_EMAIL_HMACKEY: "a real key" }).env).toBe("production");
    expect(load({ FXA_EMAIL_ENV: "test" }).hmacKey).toBe(PLACEHOLDER_HMAC_KEY);
  });

  test("DATABASE_URL is required and must be PostgreSQL", () => {
    expect(usageError(() => emailSettings(NO_FLAGS, {}))).toStartWith("DATABASE_URL must be set");
    expect(usageError(() => emailSettings(NO_FLAGS, { DATABASE_URL: "mysql://x/y" }))).toBe("DATABASE_URL: only PostgreSQL URLs are supported (got scheme mysql)");
  });

  test("the original's settings we do not use are reported, as are unknown FXA_EMAIL_ names", () => {
    const s = load({ FXA_EMAIL_AUTHDB_BASEURI: "http://127.0.0.1:8000/", FXA_EMAIL_REDIS_HOST: "redis", FXA_EMAIL_SECRETKEY: "x", FXA_EMAIL_SENTRY_DSN: "https://a@b/1", FXA_EMAIL_WIBBLE: "1" });
    expect(s.notices).toEqual([
      "FXA_EMAIL_AUTHDB_BASEURI is ignored: DATABASE_URL replaces the auth db",
      "FXA_EMAIL_REDIS_HOST is ignored: message data lives in PostgreSQL",
      "FXA_EMAIL_SECRETKEY is ignored: there are no cookies to sign",
      "FXA_EMAIL_SENTRY_DSN is ignored: Sentry is not supported; errors are logged",
      "FXA_EMAIL_WIBBLE is not a setting of email-send; ignored",
    ]);
    expect(load({ FXA_EMAIL_DELIVERYPROBLEMLIMITS_HARD: "[]" }).notices).toEqual(["FXA_EMAIL_DELIVERYPROBLEMLIMITS_HARD is ignored: a list can only be set in a config file"]);
  });
});

describe("hidden_sensitive_data (upstream settings/serialize)", () => {
  test("secrets are \"[hidden]\" when set and \"[not set]\" when not, in the startup line", () => {
    const secrets = {
      FXA_EMAIL_HMACKEY: "hmac-secret-value",
      FXA_EMAIL_AUTH_TOKEN: "auth-token-secret-value",
      FXA_EMAIL_AWS_KEYS_ACCESS: "AKIASECRETACCESS",
      FXA_EMAIL_AWS_KEYS_SECRET: "awsSecretSecretValue",
      FXA_EMAIL_SENDGRID_KEY: "sendgrid-secret-value",
      FXA_EMAIL_SOCKETLABS_SERVERID: "99",
      FXA_EMAIL_SOCKETLABS_KEY: "socketlabs-secret-value",
      FXA_EMAIL_SMTP_CREDENTIALS_USER: "smtp-user",
      FXA_EMAIL_SMTP_CREDENTIALS_PASSWORD: "smtp-secret-value",
    };
    const { masked } = load(secrets);
    expect(masked).toMatchObject({
      hmackey: "[hidden]",
      auth: { token: "[hidden]" },
      aws: { keys: "[hidden]" },
      sendgrid: "[hidden]",
      socketlabs: "[hidden]",
      smtp: { credentials: { user: "smtp-user", password: "[hidden]" } },
      database: "postgres://email:[hidden]@db.example.com/email",
    });
    const text = JSON.stringify(masked);
    for (const [name, value] of Object.entries(secrets)) {
      if (name.endsWith("_USER") || name.endsWith("_SERVERID")) continue;
      expect(text).not.toContain(value);
    }
    expect(text).not.toContain("secret-password");
  });

  test("option_not_set", () => {
    expect(load().masked).toMatchObject({ auth: { token: "[not set]" }, aws: { keys: "[not set]", sqsurls: "[not set]" }, sendgrid: "[not set]", socketlabs: "[not set]", smtp: { credentials: "[not set]" } });
  });
});

describe("logging settings", () => {
  test("FXA_EMAIL_LOG_LEVEL maps normal/debug/critical/off; -v and LOG_LEVEL win; --human_logs and LOG_FORMAT win", () => {
    expect(load({ FXA_EMAIL_LOG_LEVEL: "critical" }).logging).toEqual({ level: "error", format: "json", silent: false });
    expect(load({ FXA_EMAIL_LOG_LEVEL: "off" }).logging.silent).toBe(true);
    expect(load({ FXA_EMAIL_LOG_LEVEL: "off", LOG_LEVEL: "warn" }).logging).toEqual({ level: "warn", format: "json", silent: false });
    expect(load({ FXA_EMAIL_LOG_LEVEL: "critical" }, { verbosity: 2 }).logging.level).toBe("debug");
    expect(load({ FXA_EMAIL_LOG_FORMAT: "pretty", LOG_FORMAT: "json" }).logging.format).toBe("json");
    expect(load({}, { verbosity: 0, human_logs: true }).logging.format).toBe("pretty");
    expect(usageError(() => load({ LOG_LEVEL: "loud" }))).toStartWith("LOG_LEVEL: ");
  });
});

describe("types/env, types/logging, types/provider (upstream §12.17)", () => {
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(EmailError);
      return (error as EmailError).message;
    }
    throw new Error("expected an EmailError");
  };

  test("environments", () => {
    expect(["dev", "production", "test"].map(parseEnvironment)).toEqual(["dev", "production", "test"]);
    expect(message(() => parseEnvironment("prod"))).toBe("Invalid environment: prod");
  });

  test("log levels and formats", () => {
    expect(["normal", "debug", "critical", "off"].map(parseLogLevel)).toEqual(["normal", "debug", "critical", "off"]);
    expect(message(() => parseLogLevel("wibble"))).toBe("Invalid log level: wibble");
    expect(["mozlog", "pretty"].map(parseLogFormat)).toEqual(["mozlog", "pretty"]);
    expect(message(() => parseLogFormat("wibble"))).toBe("Invalid log format: wibble");
  });

  test("providers", () => {
    expect(["mock", "sendgrid", "ses", "smtp", "socketlabs"].map(parseProviderName)).toEqual(["mock", "sendgrid", "ses", "smtp", "socketlabs"]);
    expect(message(() => parseProviderName("wibble"))).toBe("Invalid payload: wibble");
  });
});

describe("validators (upstream types/validate/test.rs)", () => {
  const table: [string, (v: string) => unknown, string[], string[]][] = [
    ["aws_region", validate.awsRegion, ["us-east-1", "us-east-2", "us-west-1", "eu-west-1", "US-EAST-1", "useast1", "eu-north-1"], ["us-east-1a", "us-east-1 ", " us-east-1", "xus-east-1", "us-east-10", "us-east-0", "us-east-3", "us-north-1", "eu-east-1"]],
    ["aws_access", validate.awsAccessKey, ["A0", "Z9", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"], ["a0", "z9", "A0 ", " Z9", "A+", "Z/", "A="]],
    ["aws_secret", validate.awsSecretKey, ["09", "AZ", "az", "09AZaz+/=="], ["AZ ", " az"]],
    [
      "base_uri",
      validate.baseUri,
      ["http://localhost/", "http://localhost:8080/", "http://127.0.0.1/", "https://localhost/", "http://localhost/foo/"],
      ["http://localhost", "http://localhost/foo", "http://localhost/foo/?bar=baz", "http://localhost/foo/#bar", "localhost/foo/", "//localhost/foo/", "ftp://localhost/", "file:///foo/", "http://localhost/http://localhost/"],
    ],
    [
      "email_address",
      validate.emailAddress,
      [
        "٢fooΔ@example.com", "foo@example.com", "foo.bar@example.com", "foo+bar@example.com", "foo+this#is$valid!@example.com",
        "foo+email%validation&is|a~pain!@example.com", "accounts@firefox.com", "verification@latest.dev.lcip.org",
        `${"a1B2c3D4".repeat(8)}@example.com`, `a@${"b".repeat(249)}.b`, "a'b@example.com",
      ],
      ["<foo@example.com>", " foo@example.com", "@example.com ", "foo@", "foo@example", `${"a".repeat(65)}@example.com`, `a@${"b".repeat(250)}.b`, "a’b@example.com"],
    ],
    ["host", validate.host, ["foo", "foo.bar", "127.0.0.1"], ["foo/bar", "foo:bar", "foo bar", "foo ", " foo", "127.0.0.1:25"]],
    ["sender_name", validate.senderName, ["foo", "Firefox Accounts"], ["foo@example.com", " foo", "foo "]],
    ["sendgrid_api_key", validate.sendgridApiKey, ["1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._-"], [" 1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._-", "1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._- "]],
    [
      "sqs_url",
      validate.sqsUrl,
      ["https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue", "https://sqs.us-west-2.amazonaws.com/42/fxa-email-bounce-prod"],
      ["http://sqs.us-east-1.amazonaws.com/123456789012/MyQueue", " https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue", "https://sqs.us-east-1.amazonaws.com/123456789012/MyQueue ", "https://sqs.us-east-1.wibble.com/123456789012/MyQueue"],
    ],
  ];
  for (const [name, check, valid, invalid] of table) {
    test(name, () => {
      for (const v of valid) expect([v, Boolean(check(v))]).toEqual([v, true]);
      for (const v of invalid) expect([v, Boolean(check(v))]).toEqual([v, false]);
    });
  }

  test("regions are canonicalised", () => {
    expect(validate.awsRegion("US-EAST-1")).toBe("us-east-1");
    expect(validate.awsRegion("apnortheast2")).toBe("ap-northeast-2");
  });
});
