// Every input vector (raw and SNS-enveloped) through the real intake against PostgreSQL: the login-store
// mutations and the outbox rows must match the vectors' expectations (spec/event-broker.md §7.14 1–4).
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { applyNotification, UnparseableMessageError, type IntakeDeps } from "../../src/broker/intake.ts";
import { decodeNotification } from "../../src/broker/notification.ts";
import { deleteLogins, insertLogin, selectUserClients } from "../../src/broker/queries.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { readVector } from "../support/vectors.ts";
import { capabilitiesVector, migrateBroker, resetBrokerState, webhooksVector } from "../support/broker.ts";

interface Case {
  name: string;
  message: unknown;
  expect: {
    action?: string;
    args?: string[];
    storeResult?: boolean;
    publishes?: { clientId: string; json: Record<string, unknown> }[];
    afterFanout?: { action: string; args: string[] };
    logs?: { level: string; op: string }[];
    metrics?: { increment?: string; tags?: Record<string, string> }[];
  };
  sqsMessageRawDelivery: { MessageId: string; Body: string };
  sqsMessageSnsEnvelope: { MessageId: string; Body: string } | null;
}

const VECTOR_DIR = fileURLToPath(new URL("../../../shared/vectors/broker/input/", import.meta.url));
const files = readdirSync(process.env.SHARED_VECTORS_DIR ? `${process.env.SHARED_VECTORS_DIR}/broker/input` : VECTOR_DIR).filter((f) => f.endsWith(".json"));

const db = await createTestDatabase();
beforeAll(() => migrateBroker(db.sql));

function deps(clock: number) {
  const captured = captureLog("debug");
  const metrics = recordingMetrics();
  const capabilities = new Map(Object.entries(capabilitiesVector().derivedCache));
  const intake: IntakeDeps = {
    sql: db.sql,
    sources: { resourceServers: () => webhooksVector().derivedCache.resourceServers, capabilities: () => capabilities },
    metrics,
    log: captured.log,
    clock: () => clock,
  };
  return { intake, captured, metrics };
}

const logins = async () => (await db.sql<{ uid: string; client_id: string }[]>`select uid, client_id from broker_logins order by seq`).map((r) => `${r.uid}/${r.client_id}`);
const deliveries = async () =>
  await db.sql<{ client_id: string; payload: Record<string, unknown>; uid: string; event: string; source_message_id: string }[]>`
    select client_id, payload, uid, event, source_message_id from broker_deliveries order by id`;

test("the vectors are all here", () => {
  expect(files.length).toBe(11);
});

for (const file of files) {
  const vector = readVector<{ processingClockMs: number; cases: Case[] }>(`broker/input/${file}`);
  describe(file, () => {
    for (const c of vector.cases) {
      for (const form of ["sqsMessageRawDelivery", "sqsMessageSnsEnvelope"] as const) {
        if (!c[form]) continue; // the non-JSON body has no SNS form
        test(`${c.name} (${form})`, async () => {
          await resetBrokerState(db.sql);
          const before = await logins();
          const { intake, captured, metrics } = deps(vector.processingClockMs);
          const sqsMessage = c[form]!;
          const notification = decodeNotification(sqsMessage.Body);
          if (c.name === "non-json-body") {
            await expect(applyNotification(notification, intake, sqsMessage.MessageId)).rejects.toBeInstanceOf(UnparseableMessageError);
            expect((await deliveries()).length).toBe(0);
            expect(await logins()).toEqual(before);
            return;
          }
          const result = await applyNotification(notification, intake, sqsMessage.MessageId);
          const after = await logins();
          const rows = await deliveries();
          const e = c.expect;

          // The fan-out: the same set of (client, message) pairs as the original published.
          const expected = (e.publishes ?? []).map((p) => ({ clientId: p.clientId, json: p.json }));
          const actual = rows.map((r) => ({ clientId: r.client_id, json: r.payload }));
          expect(actual).toEqual(expect.arrayContaining(expected));
          expect(actual).toHaveLength(expected.length);
          for (const r of rows) {
            expect(r.uid).toBe((c.message as { uid: string }).uid);
            expect(r.source_message_id).toBe(sqsMessage.MessageId);
          }

          if (e.action === "storeLogin") {
            const pair = `${e.args![0]}/${e.args![1]}`;
            expect(after).toContain(pair);
            expect(after.length - before.length).toBe(e.storeResult ? 1 : 0);
            expect(metrics.count("message.type", { eventType: "login" })).toBe(1);
          } else if (e.afterFanout?.action === "deleteUser") {
            const uid = e.afterFanout.args[0]!;
            expect(after.filter((p) => p.startsWith(uid))).toEqual([]);
            expect(after).toEqual(before.filter((p) => !p.startsWith(uid)));
          } else {
            expect(after).toEqual(before);
          }

          if (file === "invalid.json") {
            expect(result.outcome).toBe("invalid");
            const errors = captured.lines.filter((l) => l.severity === 3);
            expect(errors.map((l) => l.msg)).toEqual(["from.sqsMessage"]);
            expect(errors[0]!.fields.message).toBe("Invalid message");
          }
          for (const log of e.logs ?? []) {
            if (log.level === "debug") expect(captured.lines.some((l) => l.severity === 7 && l.msg === log.op)).toBe(true);
          }
          for (const m of e.metrics ?? []) if (m.increment) expect(metrics.count(m.increment, m.tags)).toBe(1);
        });
      }
    }
  });
}

describe("the login store (spec §3, §7.6)", () => {
  test("storeLogin is true once per pair; clients come back in the order first seen, [] for an unknown user; deleteUser empties", async () => {
    await resetBrokerState(db.sql, { logins: false });
    const uid1 = "11111111111111111111111111111111";
    const uid2 = "22222222222222222222222222222222";
    expect(await insertLogin(db.sql, uid1, "fx_send")).toBe(true);
    expect(await insertLogin(db.sql, uid1, "fx_send")).toBe(false);
    expect(await insertLogin(db.sql, uid2, "fx_screenshot")).toBe(true);
    expect(await insertLogin(db.sql, uid1, "fx_screenshot")).toBe(true);
    expect(await selectUserClients(db.sql, uid1)).toEqual(["fx_send", "fx_screenshot"]);
    expect(await selectUserClients(db.sql, uid2)).toEqual(["fx_screenshot"]);
    expect(await selectUserClients(db.sql, "33333333333333333333333333333333")).toEqual([]);
    expect(await deleteLogins(db.sql, uid1)).toBe(2);
    expect(await selectUserClients(db.sql, uid1)).toEqual([]);
    expect(await selectUserClients(db.sql, uid2)).toEqual(["fx_screenshot"]);
  });
});

describe("§7.14 rules beyond the vectors", () => {
  const message = (fields: Record<string, unknown>) => JSON.stringify({ uid: "7f5c9a1e2b3d4c5e8f90a1b2c3d4e5f6", ts: 1741963812.345, timestamp: 1741963812345, ...fields });

  test("a second delete is harmless: resource servers hear of it again, nothing else changes", async () => {
    await resetBrokerState(db.sql);
    const { intake } = deps(1741963513000);
    await applyNotification(decodeNotification(message({ event: "delete" })), intake);
    const afterFirst = await logins();
    await applyNotification(decodeNotification(message({ event: "delete" })), intake);
    expect(await logins()).toEqual(afterFirst);
    const rows = await deliveries();
    expect(rows.slice(4).map((r) => r.client_id)).toEqual(["c2a9f1d6e8b47305"]);
  });

  test("a delete supersedes the user's undelivered profile and password events for the same clients", async () => {
    await resetBrokerState(db.sql);
    const { intake } = deps(1741963513000);
    await applyNotification(decodeNotification(message({ event: "passwordChange" })), intake);
    await applyNotification(decodeNotification(message({ event: "subscription:update", eventCreatedAt: 1741963400, isActive: true, productCapabilities: ["guardian_vpn"] })), intake);
    await applyNotification(decodeNotification(message({ event: "delete" })), intake);
    const statuses = await db.sql<{ event: string; status: string }[]>`select event, status from broker_deliveries order by id`;
    expect(statuses.filter((s) => s.event === "passwordChange").map((s) => s.status)).toEqual(["superseded", "superseded", "superseded", "superseded"]);
    expect(statuses.filter((s) => s.event !== "passwordChange").every((s) => s.status === "pending")).toBe(true);
  });

  test("the login's client id is lower-cased; a user's clients keep the order first seen", async () => {
    await resetBrokerState(db.sql, { logins: false });
    const { intake } = deps(1);
    for (const clientId of ["BB22", "aa11", "bb22", "CC33"]) {
      await applyNotification(decodeNotification(message({ event: "login", clientId, deviceCount: 1, email: "a@example.com" })), intake);
    }
    expect(await logins()).toEqual(["bb22", "aa11", "cc33"].map((c) => `7f5c9a1e2b3d4c5e8f90a1b2c3d4e5f6/${c}`));
  });

  test("an RP with the capability but no login, and not a resource server, is not told (original rule, #4298)", async () => {
    await resetBrokerState(db.sql);
    const { intake } = deps(1);
    // U2 logged into 802d… and 9ebf…; e6eb… (VPN) has guardian_vpn but U2 never logged into it.
    await applyNotification(
      decodeNotification(JSON.stringify({ event: "subscription:update", uid: "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a", ts: 1, eventCreatedAt: 2, isActive: true, productCapabilities: ["secure_proxy", "guardian_vpn", "guardian_vpn"] })),
      intake,
    );
    const rows = await deliveries();
    expect(rows.map((r) => [r.client_id, r.payload.capabilities])).toEqual([["802d56ef2a9af9fa", ["guardian_vpn", "guardian_vpn"]]]);
  });
});
