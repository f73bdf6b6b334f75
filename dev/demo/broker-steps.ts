// The event-broker chapter of the demo: a user logs in to both relying parties (login events with their
// client ids on the service-notification queue, as the auth server publishes them through SNS), changes
// the password and deletes the account; each relying party receives one SET per event, which it has
// verified against the broker's /.well-known/jwks.json, addressed to it, about that user. Last, the
// tokenserver as the third relying party: a Sync user's deletion reaches its users table as a SET.
import { selectUserRecords } from "../../src/tokenserver/queries.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import type { ReceivedSet } from "../relying-party.ts";
import { BROKER_ISSUER, SERVICE_NOTIFICATION_QUEUE, SYNC_CLIENT_ID } from "../tools.ts";
import { check, type DemoContext } from "./context.ts";
import type { DemoStep } from "./step.ts";

const EVENT = "https://schemas.accounts.firefox.com/event/";

/** A service notification as SNS puts it on SQS: `Message` is the event as a JSON string. */
function serviceNotification(event: string, uid: string, fields: Record<string, unknown> = {}): string {
  const now = Date.now();
  return JSON.stringify({
    Type: "Notification",
    MessageId: crypto.randomUUID(),
    TopicArn: "arn:aws:sns:us-east-1:000000000000:fxa-service-notifications",
    Message: JSON.stringify({ event, uid, ts: now / 1000, timestamp: now, iss: "api.accounts.firefox.com", ...fields }),
    Timestamp: new Date(now).toISOString(),
  });
}

/** Each relying party's SETs about `uid` carrying `uri`. */
async function setsAbout(ctx: DemoContext, uid: string, uri: string): Promise<Record<string, ReceivedSet[]>> {
  const all = await ctx.relyingPartySets();
  return Object.fromEntries(Object.entries(all).map(([rp, sets]) => [rp, sets.filter((s) => s.sub === uid && uri in s.events)]));
}

/** Waits until every relying party received one SET about `uid` for `uri`, then checks each. */
async function everyRpReceived(ctx: DemoContext, uid: string, uri: string): Promise<string> {
  const rps = ctx.state.relyingParties;
  await ctx.until(
    async () => Object.values(await setsAbout(ctx, uid, uri)).every((sets) => sets.length > 0),
    `both relying parties receive a ${uri.replace(EVENT, "")} SET for ${uid}`,
  );
  const got = await setsAbout(ctx, uid, uri);
  for (const rp of rps) {
    const sets = got[rp.name] ?? [];
    check(sets.length === 1, `${rp.name} received one ${uri.replace(EVENT, "")} SET (got ${sets.length})`);
    const set = sets[0]!;
    check(set.verified === "ok", `${rp.name} verified its signature against the broker's JWKS (${set.verified})`);
    check(set.aud === rp.clientId && set.iss === BROKER_ISSUER, `it is addressed to ${rp.clientId} from ${BROKER_ISSUER} (aud ${set.aud}, iss ${set.iss})`);
  }
  return rps.map((rp) => `${rp.name} (kid ${got[rp.name]![0]!.kid?.slice(0, 22)}…, jti ${got[rp.name]![0]!.jti?.slice(0, 8)}…)`).join(", ");
}

export function brokerSteps(): DemoStep[] {
  const story = { uid: "" };
  return [
    {
      chapter: "broker",
      title: "a user logs in to both relying parties; the broker records the logins",
      async run(ctx) {
        story.uid = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
        for (const rp of ctx.state.relyingParties) {
          await ctx.sendToQueue(SERVICE_NOTIFICATION_QUEUE, serviceNotification("login", story.uid, { clientId: rp.clientId, deviceCount: 1, email: `${story.uid}@example.com`, service: rp.name }));
        }
        const clients = async () =>
          (await ctx.sql<{ client_id: string }[]>`select client_id from broker_logins where uid = ${story.uid} order by client_id`).map((r) => r.client_id);
        await ctx.until(async () => (await clients()).length === ctx.state.relyingParties.length, "event-broker records a login per relying party");
        return `login events with clientId ${ctx.state.relyingParties.map((rp) => rp.clientId).join(" and ")} on ${SERVICE_NOTIFICATION_QUEUE} → broker_logins holds both for ${story.uid}`;
      },
    },
    {
      chapter: "broker",
      title: "a password change reaches both relying parties as a verified SET",
      async run(ctx) {
        await ctx.sendToQueue(SERVICE_NOTIFICATION_QUEUE, serviceNotification("passwordChange", story.uid, { generation: Date.now() }));
        const got = await everyRpReceived(ctx, story.uid, `${EVENT}password-change`);
        return `passwordChange → password-change SETs, RS256 signatures verified against the JWKS: ${got}`;
      },
    },
    {
      chapter: "broker",
      title: "deleting the account reaches both relying parties; the logins are gone",
      async run(ctx) {
        await ctx.sendToQueue(SERVICE_NOTIFICATION_QUEUE, serviceNotification("delete", story.uid, { reason: "user" }));
        const got = await everyRpReceived(ctx, story.uid, `${EVENT}delete-user`);
        const [{ left }] = await ctx.sql<[{ left: number }]>`select count(*)::int as left from broker_logins where uid = ${story.uid}`;
        check(left === 0, `the user's logins are removed after the fan-out (${left} left)`);
        const sets = await setsAbout(ctx, story.uid, `${EVENT}delete-user`);
        const payload = JSON.stringify(Object.values(sets)[0]![0]!.events[`${EVENT}delete-user`]);
        return `delete → delete-user SETs (payload ${payload}), verified: ${got}; broker_logins has none left for the user`;
      },
    },
    {
      chapter: "broker",
      title: "a Sync user's deletion reaches the tokenserver as a SET: its records are replaced",
      async run(ctx) {
        const uid = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
        const email = `${uid}@api.accounts.firefox.com`;
        await ctx.repo.allocateUser(email, { generation: BigInt(Date.now()), node: ctx.state.storage.url });
        await ctx.sendToQueue(SERVICE_NOTIFICATION_QUEUE, serviceNotification("login", uid, { clientId: SYNC_CLIENT_ID, deviceCount: 1, email: `${uid}@example.com`, service: "sync" }));
        await ctx.until(async () => (await ctx.sql`select 1 from broker_logins where uid = ${uid} and client_id = ${SYNC_CLIENT_ID}`).length === 1, "event-broker records the Sync login");
        await ctx.sendToQueue(SERVICE_NOTIFICATION_QUEUE, serviceNotification("delete", uid, { reason: "user" }));
        const records = async () => await selectUserRecords(ctx.sql, await ctx.repo.serviceId(), email);
        await ctx.until(async () => (await records()).every((r) => r.replaced_at !== null), "process-account-events serve replaces the user's record");
        check((await records()).some((r) => r.generation === MAX_GENERATION), "the record is retired (generation 2^63-1)");
        const delivery = async () =>
          (await ctx.sql<{ status: string; last_status: number | null }[]>`
            select status, last_status from broker_deliveries where uid = ${uid} and client_id = ${SYNC_CLIENT_ID} and event = 'delete'`)[0];
        // The broker records the answer just after the tokenserver has applied the event.
        await ctx.until(async () => (await delivery())?.status !== "pending", "event-broker records the delivery's answer");
        const answered = await delivery();
        check(answered?.status === "delivered" && answered.last_status === 202, `the broker delivered the SET and the tokenserver answered 202 (got ${JSON.stringify(answered)})`);
        return `login (client ${SYNC_CLIENT_ID}) and delete on ${SERVICE_NOTIFICATION_QUEUE} → event-broker → RFC 8935 SET → process-account-events serve verified it (202) → ${email} replaced at generation 2^63-1; no SQS in between`;
      },
    },
  ];
}
