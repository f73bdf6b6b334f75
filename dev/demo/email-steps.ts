// The email chapter of the demo: email-send delivers through SMTP to the sink; messages sent through
// SES (the stand-in) with metadata bounce or draw a complaint, which arrive as SES notifications on the
// SQS queues (SNS envelopes, as ../shared/vectors/email/ses/ shows); email-queues records them and
// forwards each, with the metadata /send stored for that message id, to the outgoing queue; email-send
// then refuses those addresses with the original's 429 errnos, sends a bouncing `to`'s message to its
// clean cc, and explains and clears a suppression through /bounces.
import { PROBLEM_TYPE_CODE, type ProblemType, type ProblemSubtype } from "../../src/email/problem-codes.ts";
import { bounceNotification, complaintNotification, snsBody } from "../../test/support/email-queues.ts";
import type { ReceivedMessage } from "../smtp-sink.ts";
import { EMAIL_NOTIFICATION_QUEUE, SES_QUEUES } from "../tools.ts";
import { check, type DemoContext } from "./context.ts";
import type { DemoStep } from "./step.ts";

const SENDER = "accounts@firefox.com";

/** The addresses of one run; every one is lower case, as email-send normalises them. */
const address = (ctx: DemoContext, who: string) => `${who}-${ctx.run}@example.com`;

/** The one message of this run the sink received for `subject` (the run id is in every subject). */
async function receivedOnce(ctx: DemoContext, subject: string): Promise<ReceivedMessage> {
  const found = (await ctx.smtpMessages()).filter((m) => m.headers["subject"] === subject);
  check(found.length === 1, `the SMTP sink received one message with subject "${subject}" (it has ${found.length})`);
  return found[0]!;
}

async function sendOk(ctx: DemoContext, body: Record<string, unknown>): Promise<string> {
  const { status, body: answer } = await ctx.send(body);
  check(status === 200 && typeof answer.messageId === "string", `POST /send answers 200 with a messageId (got ${status} ${JSON.stringify(answer)})`);
  return answer.messageId as string;
}

/** What SES reports for each address, and the notification it sends. */
const HISTORY: { who: string; problem: ProblemType; subtype: ProblemSubtype; errno: number; notification: (email: string, messageId: string) => Record<string, unknown> }[] = [
  { who: "hard-bounced", problem: "hard", subtype: "NoEmail", errno: 108, notification: (e, messageId) => bounceNotification([e], { messageId, bounceType: "Permanent", bounceSubType: "NoEmail" }) },
  { who: "soft-bounced", problem: "soft", subtype: "MailboxFull", errno: 107, notification: (e, messageId) => bounceNotification([e], { messageId, bounceType: "Transient", bounceSubType: "MailboxFull" }) },
  { who: "complained", problem: "complaint", subtype: "Abuse", errno: 106, notification: (e, messageId) => complaintNotification([e], { messageId, feedbackType: "abuse" }) },
];

/** A forwarded notification as the auth server reads it: JSON.parse(JSON.parse(Body).Message). */
interface Forwarded {
  notificationType: string;
  mail: { messageId: string };
  metadata?: string;
  bounce?: { bounceType: string; bounceSubType: string; bouncedRecipients: string[] };
  complaint?: { complainedRecipients: string[]; complaintFeedbackType: string | null };
}

/** Reads the outgoing queue (as the auth server would) until it holds a notification for every id. */
async function forwardedFor(ctx: DemoContext, messageIds: readonly string[]): Promise<Map<string, Forwarded>> {
  const found = new Map<string, Forwarded>();
  await ctx.until(async () => {
    for (const body of await ctx.drainQueue(EMAIL_NOTIFICATION_QUEUE)) {
      const n = JSON.parse(JSON.parse(body).Message) as Forwarded;
      if (messageIds.includes(n.mail.messageId)) found.set(n.mail.messageId, n);
      else ctx.log(`[demo] ${EMAIL_NOTIFICATION_QUEUE}: not this run's: ${body}`);
    }
    return found.size === messageIds.length;
  }, `email-queues forwards a notification for each of ${messageIds.join(", ")} to ${EMAIL_NOTIFICATION_QUEUE}`);
  return found;
}

export const EMAIL_STEPS: readonly DemoStep[] = [
  {
    chapter: "email",
    title: "POST /send to a clean address is delivered",
    async run(ctx) {
      const to = address(ctx, "clean");
      const subject = `Demo ${ctx.run}: a clean send`;
      const id = await sendOk(ctx, { to, subject, body: { text: "Hello from make demo" }, headers: { "X-Demo-Run": ctx.run } });
      check(id.startsWith("smtp:"), `the default provider is smtp (messageId ${id})`);
      const message = await receivedOnce(ctx, subject);
      check(message.rcptTo.join() === to, `the envelope goes to ${to} only (got ${message.rcptTo.join()})`);
      check(message.mailFrom === SENDER && message.headers["from"]?.includes(`<${SENDER}>`), `From is ${SENDER} (got ${message.headers["from"]})`);
      check(message.headers["to"] === to, `To is ${to} (got ${message.headers["to"]})`);
      check(message.headers["x-demo-run"] === ctx.run, `the request's X-Demo-Run header arrives (got ${message.headers["x-demo-run"]})`);
      return `200 ${id}; the sink got it: envelope and To ${to}, From ${SENDER}, Subject, X-Demo-Run header`;
    },
  },
  {
    chapter: "email",
    title: "SES bounces and a complaint arrive on SQS; email-queues records them and forwards them with /send's metadata",
    async run(ctx) {
      const sent: { email: string; sesId: string; metadata: string; h: (typeof HISTORY)[number] }[] = [];
      for (const h of HISTORY) {
        const email = address(ctx, h.who);
        const metadata = JSON.stringify({ demoRun: ctx.run, template: `demo-${h.who}` });
        const id = await sendOk(ctx, { to: email, subject: `Demo ${ctx.run}: through SES to ${h.who}`, body: { text: "this one will bounce" }, provider: "ses", metadata });
        check(id.startsWith("ses:"), `POST /send with "provider":"ses" answers a ses: id (got ${id})`);
        sent.push({ email, sesId: id.slice("ses:".length), metadata, h });
      }
      const accepted = new Set((await ctx.sesMessages()).map((m) => m.messageId));
      check(sent.every((s) => accepted.has(s.sesId)), `the SES stand-in accepted the three messages under the ids /send returned`);
      // SES → SNS → SQS: each notification names the message id /send returned.
      for (const s of sent) {
        const queue = s.h.problem === "complaint" ? SES_QUEUES.complaint : SES_QUEUES.bounce;
        await ctx.sendToQueue(queue, snsBody(s.h.notification(s.email, s.sesId)));
      }
      const forwarded = await forwardedFor(ctx, sent.map((s) => s.sesId));
      for (const s of sent) {
        const n = forwarded.get(s.sesId)!;
        check(n.metadata === s.metadata, `the notification for ${s.sesId} carries the metadata /send stored (got ${n.metadata})`);
        const recipients = n.bounce?.bouncedRecipients ?? n.complaint?.complainedRecipients ?? [];
        check(recipients.join() === s.email, `it names ${s.email} (got ${recipients.join()})`);
      }
      const [{ rows }] = await ctx.sql<[{ rows: number }]>`
        select count(*)::int as rows from email_bounces where email = any(${sent.map((s) => s.email)})`;
      check(rows === sent.length, `email_bounces holds one row per notification (${rows} for ${sent.length})`);
      const first = forwarded.get(sent[0]!.sesId)!;
      return `3 sends via SES (ids ${sent.map((s) => s.sesId.slice(0, 20) + "…").join(", ")}); 2 bounces on ${SES_QUEUES.bounce}, 1 complaint on ${SES_QUEUES.complaint}; ${rows} rows recorded; forwarded to ${EMAIL_NOTIFICATION_QUEUE} with their metadata, e.g. ${first.notificationType} ${first.bounce?.bounceType}/${first.bounce?.bounceSubType} metadata ${first.metadata}`;
    },
  },
  {
    chapter: "email",
    title: "the recorded bounces and complaint refuse sends with the original's 429 errnos",
    async run(ctx) {
      const seen: string[] = [];
      for (const h of HISTORY) {
        const email = address(ctx, h.who);
        const subject = `Demo ${ctx.run}: to ${h.who}`;
        const { status, body } = await ctx.send({ to: email, subject, body: { text: "refused" } });
        check(status === 429 && body.errno === h.errno && body.address === email, `a ${h.problem} record refuses ${email} with 429 errno ${h.errno} (got ${status} errno ${body.errno})`);
        check(JSON.parse(body.problem ?? "{}").problem_type === PROBLEM_TYPE_CODE[h.problem], `the 429 names the record (problem ${body.problem})`);
        seen.push(`${h.problem} → ${h.errno}`);
      }
      const leaked = (await ctx.smtpMessages()).filter((m) => m.rcptTo.some((r) => HISTORY.some((h) => r === address(ctx, h.who))));
      check(leaked.length === 0, `nothing reached the sink for a refused address (${leaked.length} did)`);
      return `429 ${seen.join(", ")}; nothing reached the sink`;
    },
  },
  {
    chapter: "email",
    title: "a bouncing `to` with a clean cc goes to the cc",
    async run(ctx) {
      const to = address(ctx, "hard-bounced");
      const cc = address(ctx, "cc");
      const subject = `Demo ${ctx.run}: bouncing to, clean cc`;
      await sendOk(ctx, { to, cc: [cc], subject, body: { text: "for the cc" } });
      const message = await receivedOnce(ctx, subject);
      check(message.rcptTo.join() === cc, `only ${cc} is in the envelope (got ${message.rcptTo.join()})`);
      check(message.headers["to"] === cc && !message.headers["cc"], `To is now ${cc} and there is no Cc (got To ${message.headers["to"]}, Cc ${message.headers["cc"]})`);
      return `200; the sink got it for ${cc} alone (To ${cc}, no Cc), nothing for ${to}`;
    },
  },
  {
    chapter: "email",
    title: "GET /bounces explains a refusal, DELETE clears it, the send goes through",
    async run(ctx) {
      const email = address(ctx, "hard-bounced");
      const why = await ctx.bounces("GET", email);
      check(why.status === 200 && why.body.refused?.errno === 108 && why.body.refused?.problem === "hard", `GET /bounces/${email} says errno 108, hard (got ${why.status} ${JSON.stringify(why.body.refused)})`);
      check(why.body.records?.length === 1 && why.body.records[0].subtype === "NoEmail", `it lists the one NoEmail record (got ${JSON.stringify(why.body.records)})`);
      const cleared = await ctx.bounces("DELETE", email);
      check(cleared.status === 200 && cleared.body.deleted === 1, `DELETE /bounces/${email} deletes 1 record (got ${cleared.status} ${JSON.stringify(cleared.body)})`);
      const subject = `Demo ${ctx.run}: after clearing`;
      await sendOk(ctx, { to: email, subject, body: { text: "welcome back" } });
      const message = await receivedOnce(ctx, subject);
      check(message.rcptTo.join() === email, `the sink got it for ${email} (got ${message.rcptTo.join()})`);
      return `refused: errno 108 hard until ${why.body.refused.untilIso}; DELETE removed 1 record; the next send reached the sink`;
    },
  },
];
