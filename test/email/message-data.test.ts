// Metadata given to /send (spec/email.md §7): stored in email_message_data under the HMAC of the
// provider's RAW message id (so the queue processor finds it by the id in the notification), with an
// expiry; consumed once; a storage failure does not fail the send.
import { createHmac } from "node:crypto";
import { beforeEach, describe, expect, test } from "bun:test";
import { consumeMessageData, messageDataKey, purgeExpiredMessageData, startMessageDataSweep, storeMessageData } from "../../src/email/message-data.ts";
import { createEmailTestDb, HMAC_KEY, postSend, recordingProvider, testApp } from "../support/email.ts";
import { captureLog } from "../support/log.ts";
import { waitFor } from "../support/wait.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const DAY = 86_400_000;
const body = (metadata: unknown) => JSON.stringify({ to: "foo@example.com", subject: "s", body: { text: "t" }, metadata });

describe("the key", () => {
  test("hex HMAC-SHA256(hmackey, raw id), 64 characters, never the id itself", () => {
    const key = messageDataKey(HMAC_KEY, "0101abc");
    expect(key).toBe(createHmac("sha256", HMAC_KEY).update("0101abc").digest("hex"));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(messageDataKey("another key", "0101abc")).not.toBe(key);
  });
});

describe("/send with metadata", () => {
  test("stored under the provider's raw id, JSON-encoded, expiring after the ttl", async () => {
    const now = 1_700_000_000_000;
    const ses = recordingProvider("ses", "0101016805c8d1a7-3a1f");
    const { app } = testApp(db.sql, { provider: ses, resolveProvider: () => ses, now: () => now, messageDataTtlMs: 7 * DAY });
    const response = await postSend(app, body("wibble"));
    expect(await response.json()).toEqual({ messageId: "ses:0101016805c8d1a7-3a1f" });
    const rows = await db.sql`select key, data, created_at, expires_at from email_message_data`;
    expect(rows.length).toBe(1);
    expect(rows[0]).toEqual({ key: messageDataKey(HMAC_KEY, "0101016805c8d1a7-3a1f"), data: '"wibble"', created_at: BigInt(now), expires_at: BigInt(now + 7 * DAY) });
    // The queue processor looks it up with the id an SES notification carries (no "ses:" prefix).
    expect(await consumeMessageData(db.sql, messageDataKey(HMAC_KEY, "0101016805c8d1a7-3a1f"), now + 1000)).toBe("wibble");
    expect(await consumeMessageData(db.sql, messageDataKey(HMAC_KEY, "0101016805c8d1a7-3a1f"), now + 1000)).toBeUndefined();
  });

  test("absent or null metadata stores nothing", async () => {
    const { app } = testApp(db.sql);
    expect((await postSend(app, body(null))).status).toBe(200);
    expect((await postSend(app, JSON.stringify({ to: "foo@example.com", subject: "s", body: { text: "t" } }))).status).toBe(200);
    expect((await db.sql`select 1 from email_message_data`).length).toBe(0);
  });

  test("any text survives the round trip, NUL and lone-looking escapes included", async () => {
    const { app } = testApp(db.sql);
    const text = 'a\u0000b "quoted" \\ 🦀 \u2028';
    expect((await postSend(app, body(text))).status).toBe(200);
    expect(await consumeMessageData(db.sql, messageDataKey(HMAC_KEY, "deadbeef"), Date.now())).toBe(text);
  });

  test("metadata that is not a string is a 400 and nothing is sent", async () => {
    const { app, provider } = testApp(db.sql);
    const response = await postSend(app, body({ flowId: "x" }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe("Invalid payload: invalid type: map, expected a string at line 1 column 69");
    expect(provider.sent).toEqual([]);
  });

  test("a storage failure is logged and the send still succeeds (as in the original)", async () => {
    const { app, captured } = testApp(db.sql);
    await db.sql`alter table email_message_data rename to email_message_data_away`;
    try {
      const response = await postSend(app, body("wibble"));
      expect(response.status).toBe(200);
      expect(captured.lines.find((l) => l.msg === "Message data not stored")).toMatchObject({ severity: 3, fields: { provider: "mock" } });
    } finally {
      await db.sql`alter table email_message_data_away rename to email_message_data`;
    }
  });
});

describe("expiry", () => {
  test("an expired entry is not returned, and the purge deletes only expired rows", async () => {
    const now = Date.now();
    await storeMessageData(db.sql, messageDataKey(HMAC_KEY, "old"), "old", now - 10 * DAY, DAY);
    await storeMessageData(db.sql, messageDataKey(HMAC_KEY, "new"), "new", now, DAY);
    expect(await purgeExpiredMessageData(db.sql, now)).toBe(1);
    expect(await consumeMessageData(db.sql, messageDataKey(HMAC_KEY, "old"), now)).toBeUndefined();
    expect(await consumeMessageData(db.sql, messageDataKey(HMAC_KEY, "new"), now + 2 * DAY)).toBeUndefined(); // expired by then
  });

  test("a later store for the same id replaces the earlier one", async () => {
    const now = Date.now();
    const key = messageDataKey(HMAC_KEY, "250");
    await storeMessageData(db.sql, key, "first", now, DAY);
    await storeMessageData(db.sql, key, "second", now, DAY);
    expect(await consumeMessageData(db.sql, key, now)).toBe("second");
  });

  test("the sweep removes expired rows in batches until none are left", async () => {
    const now = Date.now();
    await db.sql`insert into email_message_data (key, data, created_at, expires_at)
      select lpad(to_hex(g), 64, '0'), '"x"', ${now - 2 * DAY}, ${now - DAY} from generate_series(1, 2500) g`;
    await storeMessageData(db.sql, messageDataKey(HMAC_KEY, "keep"), "keep", now, DAY);
    const captured = captureLog();
    const sweep = startMessageDataSweep({ sql: db.sql, log: captured.log, intervalMs: 10 });
    try {
      await waitFor(() => captured.messages().includes("Expired message data deleted"), "the sweep");
    } finally {
      sweep.stop();
    }
    expect(captured.lines.find((l) => l.msg === "Expired message data deleted")!.fields.rows).toBe(2500);
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from email_message_data`;
    expect(n).toBe(1);
  });
});
