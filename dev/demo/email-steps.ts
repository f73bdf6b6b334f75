// The email chapter of the demo: email-send delivers through SMTP to the sink, refuses addresses with
// a bounce or complaint history with the original's 429 errnos, sends a bouncing `to`'s message to its
// clean cc, and explains and clears a suppression through /bounces. The history is written with the
// bounce store the tools use (until email-queues brings it in from SES notifications over SQS).
import { insertBounce } from "../../src/email/bounce-store.ts";
import { PROBLEM_SUBTYPES, PROBLEM_TYPE_CODE, type ProblemType, type ProblemSubtype } from "../../src/email/problem-codes.ts";
import type { ReceivedMessage } from "../smtp-sink.ts";
import { check, type DemoContext } from "./context.ts";
import type { DemoStep } from "./steps.ts";

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

const HISTORY: { who: string; problem: ProblemType; subtype: ProblemSubtype; errno: number }[] = [
  { who: "hard-bounced", problem: "hard", subtype: "NoEmail", errno: 108 },
  { who: "soft-bounced", problem: "soft", subtype: "MailboxFull", errno: 107 },
  { who: "complained", problem: "complaint", subtype: "Abuse", errno: 106 },
];

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
    title: "bounce and complaint history refuses sends with the original's 429 errnos",
    async run(ctx) {
      const now = Date.now();
      const seen: string[] = [];
      for (const h of HISTORY) {
        const email = address(ctx, h.who);
        await insertBounce(ctx.sql, { email, bounceType: PROBLEM_TYPE_CODE[h.problem], bounceSubType: PROBLEM_SUBTYPES.indexOf(h.subtype), createdAt: now });
        const subject = `Demo ${ctx.run}: to ${h.who}`;
        const { status, body } = await ctx.send({ to: email, subject, body: { text: "refused" } });
        check(status === 429 && body.errno === h.errno && body.address === email, `a ${h.problem} record refuses ${email} with 429 errno ${h.errno} (got ${status} errno ${body.errno})`);
        check(JSON.parse(body.problem ?? "{}").problem_type === PROBLEM_TYPE_CODE[h.problem], `the 429 names the record (problem ${body.problem})`);
        seen.push(`${h.problem} → ${h.errno}`);
      }
      const leaked = (await ctx.smtpMessages()).filter((m) => m.rcptTo.some((r) => HISTORY.some((h) => r === address(ctx, h.who))));
      check(leaked.length === 0, `nothing reached the sink for a refused address (${leaked.length} did)`);
      return `records written with the bounce store; 429 ${seen.join(", ")}; nothing reached the sink`;
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
