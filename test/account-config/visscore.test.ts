// The visscore queue check with an injected clock (spec §8): retries wait for their backoff, a queue
// created later is picked up by the next due retry (T30), an unreachable SQS is `error` with the last good
// queue kept (T31), the warning is logged once per account and name, and a restored database with
// stamps from the future is refused until `migrate --reset-txids`.
import { describe, expect, test } from "bun:test";
import { SQSClient } from "@aws-sdk/client-sqs";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { resetTxids } from "../../src/account-config/queries.ts";
import { checkAccountConfigSchema } from "../../src/account-config/schema-check.ts";
import { defaultRetryDelay, VisscoreChecker } from "../../src/account-config/visscore.ts";
import { SetupError } from "../../src/core/errors.ts";
import { accountConfigDatabases, manualClock } from "../support/account-config.ts";
import { captureLog } from "../support/log.ts";
import { startTestSqs } from "../support/sqs.ts";

const databases = await accountConfigDatabases();
const sqs = await startTestSqs();

describe("visscore queue check", () => {
  test("a missing queue is retried only when its backoff is due, then resolves; the warning is logged once", async () => {
    const db = await databases.create();
    await db.sql`INSERT INTO attrib.attrib_account (id, token, name, visscore_queue) VALUES (1, 'acme', 'Acme', 'vq_later')`;
    const clock = manualClock();
    const captured = captureLog("warn");
    const visscore = new VisscoreChecker({ sqs: sqs.client, log: captured.log, now: clock.now });
    const cache = new AccountConfigCache({ now: clock.now, visscore });
    const refresh = async () => {
      await cache.refresh(db.sql);
      await visscore.settled();
      return visscore.states.get(1)!;
    };
    expect(await refresh()).toMatchObject({ status: "missing", failures: 1, nextCheckAt: clock.now() + 30_000, resolved: null });
    sqs.createQueue("vq_later");
    clock.advance(29_999);
    expect(await refresh()).toMatchObject({ status: "missing", failures: 1 }); // not due yet: no call
    clock.advance(1);
    const ok = await refresh();
    expect(ok).toMatchObject({ status: "ok", resolved: "vq_later", failures: 0 });
    expect(ok.url).toContain("vq_later");
    expect(captured.lines.filter((l) => l.msg.startsWith("Visscore queue does not exist"))).toHaveLength(1);
  });

  test("a name changed while the check of the previous name is in flight is checked when that one ends", async () => {
    const db = await databases.create();
    sqs.createQueue("vq_second");
    await db.sql`INSERT INTO attrib.attrib_account (id, token, name, visscore_queue) VALUES (1, 'acme', 'Acme', 'vq_first')`;
    // The SDK client with its answers held back until the test lets them go.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = { send: async (command: never, options: never) => (await gate, sqs.client.send(command, options)) } as unknown as SQSClient;
    const visscore = new VisscoreChecker({ sqs: held, log: captureLog("warn").log, now: Date.now });
    const cache = new AccountConfigCache({ visscore });
    await cache.refresh(db.sql); // starts the check of vq_first
    await db.sql`UPDATE attrib.attrib_account SET visscore_queue = 'vq_second' WHERE id = 1`;
    await cache.refresh(db.sql); // vq_first still in flight
    release();
    await visscore.settled();
    expect(visscore.states.get(1)).toMatchObject({ desired: "vq_second", resolved: "vq_second", status: "ok" });
  });

  test("backoff doubles from 30 s and is capped at 10 min", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(defaultRetryDelay)).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
  });

  test("SQS unreachable: status error, the last good queue and URL kept, no exception (T31)", async () => {
    const db = await databases.create();
    sqs.createQueue("vq_good");
    await db.sql`INSERT INTO attrib.attrib_account (id, token, name, visscore_queue) VALUES (1, 'acme', 'Acme', 'vq_good')`;
    const clock = manualClock();
    const { log } = captureLog("warn");
    const first = new VisscoreChecker({ sqs: sqs.client, log, now: clock.now });
    const cache = new AccountConfigCache({ now: clock.now, visscore: first });
    await cache.refresh(db.sql);
    await first.settled();
    const good = first.states.get(1)!;
    expect(good.status).toBe("ok");
    // The same cache, now with an SQS endpoint that refuses connections.
    const down = new SQSClient({ region: "us-east-1", endpoint: "http://127.0.0.1:1", credentials: { accessKeyId: "x", secretAccessKey: "x" }, maxAttempts: 1 });
    const broken = new VisscoreChecker({ sqs: down, log, now: clock.now, timeoutMs: 2_000 });
    broken.states.set(1, { ...good });
    const other = new AccountConfigCache({ now: clock.now, visscore: broken });
    await db.sql`UPDATE attrib.attrib_account SET visscore_queue = 'vq_next' WHERE id = 1`;
    await other.refresh(db.sql);
    await broken.settled();
    expect(broken.states.get(1)).toMatchObject({ desired: "vq_next", status: "error", resolved: "vq_good", url: good.url, failures: 1 });
    down.destroy();
  });
});

describe("restored databases", () => {
  test("stamps ahead of this cluster's xids are refused until --reset-txids", async () => {
    const db = await databases.create();
    await db.sql.unsafe(`INSERT INTO attrib.attrib_account (id, token, name) VALUES (1, 'acme', 'Acme');
      ALTER TABLE attrib.attrib_account DISABLE TRIGGER touch;
      UPDATE attrib.attrib_account SET change_txid = '999999999999'::xid8;
      ALTER TABLE attrib.attrib_account ENABLE ALWAYS TRIGGER touch;`);
    const refused = await checkAccountConfigSchema(db.sql).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(SetupError);
    expect((refused as Error).message).toContain("--reset-txids");
    await resetTxids(db.sql);
    await checkAccountConfigSchema(db.sql);
  });
});
