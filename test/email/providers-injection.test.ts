// Header injection: for hundreds of generated subjects and header values built around CR, LF, CRLF, NUL
// and their encoded look-alikes, neither the SES raw MIME nor the message an SMTP server receives ever
// gains a header field. Values with a raw CR, LF or NUL are refused (400) before anything is sent; all
// others arrive with exactly the expected fields and decode back to what was given.
import { afterAll, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { EmailError } from "../../src/email/errors.ts";
import { buildMultipartMime, truncateHeaderValue } from "../../src/email/mime.ts";
import type { EmailProvider, OutgoingEmail } from "../../src/email/providers/provider.ts";
import { createSesClient, createSmtpTransport } from "../../src/email/providers/clients.ts";
import { createSesProvider } from "../../src/email/providers/ses.ts";
import { createSmtpProvider } from "../../src/email/providers/smtp.ts";
import { captureLog } from "../support/log.ts";
import { readEntity, type MimeEntity } from "../support/mime-reader.ts";

const BREAKS = ["\r\n", "\n", "\r", "\r\n\r\n", "\n\n", "\r\r", "\0", "\r\0\n", "\r\n ", "\r\n\t", "\n ", "\0\r\n"];
const LOOK_ALIKES = [
  "%0d%0a",
  "%0D%0A",
  "%250D%250A",
  "=0D=0A",
  "\\r\\n",
  "&#13;&#10;",
  "\u2028",
  "\u2029",
  "\u0085",
  "\u000b",
  "\u000c",
  "\u001e",
  "\u007f",
  "=?UTF-8?Q?=0D=0A?=",
  "=?UTF-8?B?DQpCY2M6IGV2aWxAZXhhbXBsZS5jb20=?=",
  "\u560a\u560d", // low bytes 0x0A/0x0D: a lossy 16→8-bit conversion would turn these into a line break
  "\uff0d\uff0a",
  "\u{1F980}",
];
const INJECTED = ["Bcc: evil@example.com", "X-Injected: yes", "", "Content-Type: text/html", "From: evil@example.com", ".", " continued"];
const PREFIXES = ["", "hello", "🦀 시험", "x".repeat(1000)];

/** Deterministic: every break and look-alike with every injected line, behind every prefix (704 values). */
function generatedValues(): string[] {
  const values: string[] = [];
  for (const prefix of PREFIXES) for (const payload of [...BREAKS, ...LOOK_ALIKES]) for (const injected of INJECTED.slice(0, prefix.length > 100 ? 3 : INJECTED.length)) values.push(prefix + payload + injected);
  return values;
}

const VALUES = generatedValues();
const hasBreak = (value: string) => /[\r\n\0]/.test(value);
const SENDER = { name: "Firefox Accounts", address: "accounts@firefox.com" };
const email = (overrides: Partial<OutgoingEmail>): OutgoingEmail => ({ to: "foo@example.com", cc: [], subject: "s", headers: {}, text: "t", ...overrides });

function fieldNames(entity: MimeEntity): string[] {
  return entity.fields.map((f) => f.name);
}

async function outcome(provider: EmailProvider, message: OutgoingEmail): Promise<"sent" | EmailError> {
  try {
    await provider.send(message);
    return "sent";
  } catch (error) {
    if (error instanceof EmailError) return error;
    throw error;
  }
}

test("the generator covers more than 500 values, with and without raw breaks", () => {
  expect(VALUES.length).toBeGreaterThan(500);
  expect(VALUES.filter(hasBreak).length).toBeGreaterThan(200);
  expect(VALUES.filter((v) => !hasBreak(v)).length).toBeGreaterThan(200);
});

describe("SES raw MIME", () => {
  const EXPECTED = ["Sender", "From", "To", "Subject", "MIME-Version", "X-Uid", "Content-Type"];

  test("the MIME writer alone (without the policy check) never lets a value start a field", () => {
    for (const value of VALUES) {
      const raw = buildMultipartMime({ sender: SENDER, to: "foo@example.com", cc: [], headers: { "x-uid": value }, subject: value, text: "t" });
      const root = readEntity(raw); // throws on a bare CR or LF anywhere
      expect(fieldNames(root)).toEqual(EXPECTED);
      expect(root.get("Subject")).toBe(value);
      expect(root.get("X-Uid")).toBe(truncateHeaderValue("X-Uid", value));
    }
  });

  describe("through the provider and a loopback SES", () => {
    const received: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const body = (await request.json()) as { Content: { Raw: { Data: string } } };
        received.push(Buffer.from(body.Content.Raw.Data, "base64").toString("utf8"));
        return Response.json({ MessageId: `m${received.length}` });
      },
    });
    afterAll(() => server.stop(true));
    const { log } = captureLog("error");
    const client = createSesClient({ region: "us-east-1", endpoint: `http://127.0.0.1:${server.port}`, credentials: { accessKeyId: "AKID", secretAccessKey: "s" } }, 10_000);
    const ses = createSesProvider({ sender: SENDER }, { log, timeoutMs: 10_000, client });

    for (const target of ["subject", "header"] as const) {
      test(`${target}: refused with a raw break, otherwise exactly the expected fields`, async () => {
        let refused = 0;
        for (const value of VALUES) {
          const before = received.length;
          const result = await outcome(ses, email(target === "subject" ? { subject: value, headers: { "X-Uid": "u" } } : { headers: { "X-Uid": value } }));
          if (hasBreak(value)) {
            expect(result).toBeInstanceOf(EmailError);
            expect((result as EmailError).status).toBe(400);
            expect(received.length).toBe(before);
            refused++;
            continue;
          }
          expect(result).toBe("sent");
          const root = readEntity(received.at(-1)!);
          expect(fieldNames(root)).toEqual(EXPECTED);
          if (target === "subject") expect(root.get("Subject")).toBe(value);
          else expect(root.get("X-Uid")).toBe(truncateHeaderValue("X-Uid", value));
        }
        expect(refused).toBe(VALUES.filter(hasBreak).length);
      });
    }
  });
});

describe("SMTP message as received", () => {
  /** Messages by recipient: each send goes to its own address, so concurrent sends stay apart. */
  const received = new Map<string, string>();
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        for (const rcpt of session.envelope.rcptTo) received.set(rcpt.address, Buffer.concat(chunks).toString("utf8"));
        callback();
      });
    },
  });
  const listening = new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { log } = captureLog("error");
  let smtp: EmailProvider;
  /** Field names of a message sent with harmless values: what every other message must match. */
  let expected: string[];

  const withoutVolatile = (names: string[]) => names.filter((n) => n !== "Date" && n !== "Message-ID");

  test("baseline", async () => {
    await listening;
    const transport = createSmtpTransport({ host: "127.0.0.1", port: (server.server.address() as AddressInfo).port }, 10_000);
    smtp = createSmtpProvider({ sender: SENDER }, { log, timeoutMs: 10_000, transport });
    expect(await smtp.send(email({ to: "baseline@example.com", headers: { "X-Uid": "u" } }))).toBe("250");
    expected = fieldNames(readEntity(received.get("baseline@example.com")!));
    expect(withoutVolatile(expected).sort()).toEqual(["Content-Transfer-Encoding", "Content-Type", "From", "MIME-Version", "Subject", "To", "X-Uid"]);
  });

  for (const target of ["subject", "header"] as const) {
    test(`${target}: refused with a raw break, otherwise exactly the baseline's fields`, async () => {
      // smtp-server holds every greeting for 100 ms (early-talker check), so sends run 25 at a time.
      const queue = VALUES.map((value, i) => ({ value, to: `${target}-${i}@example.com` }));
      const worker = async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const { value, to } = item;
          const result = await outcome(smtp, email(target === "subject" ? { to, subject: value, headers: { "X-Uid": "u" } } : { to, headers: { "X-Uid": value } }));
          if (hasBreak(value)) {
            expect(result).toBeInstanceOf(EmailError);
            expect((result as EmailError).status).toBe(400);
            expect(received.has(to)).toBe(false);
            continue;
          }
          expect(result).toBe("sent");
          const root = readEntity(received.get(to)!);
          expect(fieldNames(root)).toEqual(expected);
          expect(root.get(target === "subject" ? "Subject" : "X-Uid")).toBe(value);
        }
      };
      await Promise.all(Array.from({ length: 25 }, worker));
      expect(queue).toHaveLength(0);
    });
  }
});
