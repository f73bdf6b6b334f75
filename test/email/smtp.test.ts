// The SMTP provider against a real SMTP server in process (smtp-server on port 0): the message as
// received (headers, parts, non-ASCII subject), STARTTLS/implicit TLS with AUTH, and every failure path.
import { afterEach, describe, expect, test } from "bun:test";
import { rejection, outgoingEmail } from "../support/email.ts";
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { EmailError } from "../../src/email/errors.ts";
import type { OutgoingEmail } from "../../src/email/providers/provider.ts";
import { createSmtpTransport, type SmtpSettings } from "../../src/email/providers/clients.ts";
import { createSmtpProvider, replyCode } from "../../src/email/providers/smtp.ts";
import { captureLog } from "../support/log.ts";
import { leafParts, partText, readEntity } from "../support/mime-reader.ts";

// A throwaway self-signed pair for localhost/127.0.0.1, committed for tests only.
const KEY = readFileSync(new URL("../fixtures/email/test-only-smtp-key.pem", import.meta.url), "utf8");
const CERT = readFileSync(new URL("../fixtures/email/test-only-smtp-cert.pem", import.meta.url), "utf8");
const SENDER = { name: "Firefox Accounts", address: "accounts@firefox.com" };

interface Delivered {
  raw: string;
  from: string | undefined;
  rcpt: string[];
  secure: boolean;
  user: unknown;
}

interface Running {
  port: number;
  delivered: Delivered[];
  authAttempts: { method: string; username: string | undefined }[];
  close(): Promise<void>;
}

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function startSmtp(options: SMTPServerOptions = {}, rejectRcpt: (address: string) => boolean = () => false): Promise<Running> {
  const delivered: Delivered[] = [];
  const authAttempts: Running["authAttempts"] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true, // no DNS here; loopback needs no name
    disabledCommands: ["AUTH", "STARTTLS"],
    onAuth(auth, _session, callback) {
      authAttempts.push({ method: auth.method, username: auth.username });
      if (auth.username === "mailer" && auth.password === "s3cret") callback(null, { user: "mailer" });
      else callback(new Error("Invalid username or password"));
    },
    onRcptTo(address, _session, callback) {
      if (rejectRcpt(address.address)) callback(Object.assign(new Error("No such user here"), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        delivered.push({
          raw: Buffer.concat(chunks).toString("utf8"),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          rcpt: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: session.user,
        });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  const handle = { port, delivered, authAttempts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  running.push(handle);
  return handle;
}

function smtp(port: number, overrides: Partial<SmtpSettings> & { sender?: { name: string; address: string } } = {}, timeoutMs = 10_000) {
  const capture = captureLog();
  const transport = createSmtpTransport({ host: "127.0.0.1", port, ...overrides }, timeoutMs);
  const provider = createSmtpProvider({ sender: overrides.sender ?? SENDER }, { log: capture.log, timeoutMs, transport });
  return { provider, capture };
}

const email = outgoingEmail;

/** A TCP server that accepts connections and never greets; closed after the file's tests. */
async function silentServer(onConnection?: () => void): Promise<number> {
  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => {
    sockets.push(socket);
    onConnection?.();
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  running.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        silent.close(() => resolve());
      }),
  });
  return (silent.address() as AddressInfo).port;
}


const credentials = { user: "mailer", password: "s3cret" };
const trustTestCa = { ca: CERT };

describe("SMTP provider: the message", () => {
  test("plain SMTP: envelope, headers, every request header, text and html parts; id = reply code", async () => {
    const server = await startSmtp();
    const { provider } = smtp(server.port);
    const id = await provider.send(
      email({
        cc: ["c@example.com", "d@example.com"],
        headers: { "X-Template-Name": "verifyEmail", "x-not-on-the-ses-list": "kept", "Content-Language": "en-GB" },
        html: "<p>baz</p>",
      }),
    );
    expect(id).toBe("250");
    expect(server.delivered).toHaveLength(1);
    const [message] = server.delivered;
    expect(message!.from).toBe("accounts@firefox.com");
    expect(message!.rcpt).toEqual(["foo@example.com", "c@example.com", "d@example.com"]);
    expect(message!.secure).toBe(false);
    const root = readEntity(message!.raw);
    expect(root.get("From")).toBe("Firefox Accounts <accounts@firefox.com>");
    expect(root.get("To")).toBe("foo@example.com");
    expect(root.get("Cc")).toBe("c@example.com, d@example.com");
    expect(root.get("Subject")).toBe("bar");
    expect(root.get("X-Template-Name")).toBe("verifyEmail");
    expect(root.get("X-Not-On-The-Ses-List")).toBe("kept");
    expect(root.get("Content-Language")).toBe("en-GB");
    expect(root.get("Bcc")).toBeUndefined();
    expect(root.get("Content-Type")).toStartWith("multipart/alternative");
    const parts = leafParts(root);
    expect(parts.map((p) => p.get("Content-Type"))).toEqual(["text/plain; charset=utf-8", "text/html; charset=utf-8"]);
    expect(parts.map(partText)).toEqual(["baz", "<p>baz</p>"]);
  });

  test("a non-ASCII subject, header value and body arrive intact", async () => {
    const server = await startSmtp();
    await smtp(server.port).provider.send(email({ subject: "🦀 시험 🦀", headers: { "X-Flow-Id": "ünïcödé" }, text: "🦀 시험 🦀", html: "<p>🦀 시험 🦀</p>" }));
    const root = readEntity(server.delivered[0]!.raw);
    expect(root.fields.find((f) => f.name === "Subject")!.raw).toMatch(/=\?UTF-8\?[BQ]\?/i);
    expect(root.get("Subject")).toBe("🦀 시험 🦀");
    expect(root.get("X-Flow-Id")).toBe("ünïcödé");
    expect(leafParts(root).map(partText)).toEqual(["🦀 시험 🦀", "<p>🦀 시험 🦀</p>"]);
  });

  test("without html there is only the text part; an empty html body still gets one", async () => {
    const server = await startSmtp();
    const { provider } = smtp(server.port);
    await provider.send(email());
    await provider.send(email({ text: "", html: "" }));
    expect(leafParts(readEntity(server.delivered[0]!.raw)).map((p) => p.get("Content-Type"))).toEqual(["text/plain; charset=utf-8"]);
    const second = leafParts(readEntity(server.delivered[1]!.raw));
    expect(second.map((p) => p.get("Content-Type"))).toEqual(["text/plain; charset=utf-8", "text/html; charset=utf-8"]);
    expect(second.map(partText)).toEqual(["", ""]);
  });

  test("an empty subject or header value is left out (nodemailer writes no empty header)", async () => {
    const server = await startSmtp();
    expect(await smtp(server.port).provider.send(email({ subject: "", headers: { "X-Empty": "", "X-Blank": "  ", "X-Set": "1" } }))).toBe("250");
    const root = readEntity(server.delivered[0]!.raw);
    expect(root.get("Subject")).toBeUndefined();
    expect(root.get("X-Empty")).toBeUndefined();
    expect(root.get("X-Blank")).toBeUndefined();
    expect(root.get("X-Set")).toBe("1");
  });

  test("headers that shape the message itself are refused, nothing is sent", async () => {
    const server = await startSmtp();
    const { provider } = smtp(server.port);
    for (const name of ["Bcc", "to", "From", "Subject", "content-type", "MIME-Version", "Sender", "Cc", "Content-Transfer-Encoding"]) {
      const error = await rejection(provider.send(email({ headers: { [name]: "x@example.com" } })));
      expect(error.toJSON()).toEqual({ code: 400, error: "Bad Request", errno: 102, message: `Invalid payload: header \`${name}\` is reserved` });
    }
    expect(server.delivered).toHaveLength(0);
  });

  test("CR/LF in the subject or a header value is refused, nothing is sent", async () => {
    const server = await startSmtp();
    const { provider } = smtp(server.port);
    expect((await rejection(provider.send(email({ subject: "x\r\nBcc: evil@example.com" })))).status).toBe(400);
    expect((await rejection(provider.send(email({ headers: { "X-Uid": "x\nBcc: evil@example.com" } })))).status).toBe(400);
    expect(server.delivered).toHaveLength(0);
  });

  test("replyCode takes the code of the final reply", () => {
    expect(replyCode("250 2.0.0 Ok: queued as 1234")).toBe("250");
    expect(replyCode("250")).toBe("250");
    expect(replyCode("weird")).toBe("weird");
  });
});

describe("SMTP provider: TLS and AUTH", () => {
  for (const method of ["PLAIN", "LOGIN"] as const) {
    test(`credentials → STARTTLS (verified against the configured CA), then AUTH ${method}`, async () => {
      const server = await startSmtp({ disabledCommands: [], key: KEY, cert: CERT, authMethods: [method] });
      const id = await smtp(server.port, { credentials, tls: trustTestCa }).provider.send(email());
      expect(id).toBe("250");
      expect(server.authAttempts).toEqual([{ method, username: "mailer" }]);
      expect(server.delivered).toHaveLength(1);
      expect(server.delivered[0]!.secure).toBe(true);
      expect(server.delivered[0]!.user).toBe("mailer");
    });
  }

  test("implicit TLS (secure) with AUTH", async () => {
    const server = await startSmtp({ secure: true, disabledCommands: ["STARTTLS"], key: KEY, cert: CERT });
    await smtp(server.port, { secure: true, credentials, tls: trustTestCa }).provider.send(email());
    expect(server.delivered[0]!.secure).toBe(true);
    expect(server.authAttempts.map((a) => a.username)).toEqual(["mailer"]);
  });

  test("with credentials, a server without STARTTLS gets no password and no message", async () => {
    const server = await startSmtp({ disabledCommands: ["STARTTLS"], allowInsecureAuth: true });
    const { provider, capture } = smtp(server.port, { credentials, tls: trustTestCa });
    const error = await rejection(provider.send(email()));
    expect(error.status).toBe(500);
    expect(error.errno).toBe(100);
    expect(server.authAttempts).toHaveLength(0);
    expect(server.delivered).toHaveLength(0);
    expect(capture.messages()).toEqual(["Email provider failed"]);
  });

  test("requireTls without credentials also refuses a server without STARTTLS", async () => {
    const server = await startSmtp();
    expect((await rejection(smtp(server.port, { requireTls: true }).provider.send(email()))).status).toBe(500);
    expect(server.delivered).toHaveLength(0);
  });

  test("an untrusted certificate fails the connection (no silent downgrade)", async () => {
    const server = await startSmtp({ disabledCommands: [], key: KEY, cert: CERT });
    const error = await rejection(smtp(server.port, { credentials }).provider.send(email()));
    expect(error.status).toBe(500);
    expect(server.authAttempts).toHaveLength(0);
    expect(server.delivered).toHaveLength(0);
  });

  test("tls.rejectUnauthorized=false accepts it (an operator's explicit choice)", async () => {
    const server = await startSmtp({ disabledCommands: [], key: KEY, cert: CERT });
    await smtp(server.port, { credentials, tls: { rejectUnauthorized: false } }).provider.send(email());
    expect(server.delivered[0]!.secure).toBe(true);
  });

  test("wrong credentials → Internal", async () => {
    const server = await startSmtp({ disabledCommands: [], key: KEY, cert: CERT });
    const error = await rejection(smtp(server.port, { credentials: { user: "mailer", password: "wrong" }, tls: trustTestCa }).provider.send(email()));
    expect(error.status).toBe(500);
    expect(error.message).toContain("535");
    expect(server.delivered).toHaveLength(0);
  });

  test("without credentials a server offering STARTTLS is used in plain text, as the original did", async () => {
    const server = await startSmtp({ disabledCommands: ["AUTH"], key: KEY, cert: CERT });
    await smtp(server.port).provider.send(email());
    expect(server.delivered[0]!.secure).toBe(false);
  });
});

describe("SMTP provider: failures", () => {
  test("a server that rejects the only recipient → Internal, logged", async () => {
    const server = await startSmtp({}, () => true);
    const { provider, capture } = smtp(server.port);
    const error = await rejection(provider.send(email()));
    expect(error.status).toBe(500);
    expect(error.errno).toBe(100);
    expect(error.message).toStartWith("smtp error: ");
    expect(error.message).toContain("550");
    expect(server.delivered).toHaveLength(0);
    expect(capture.lines.map((l) => [l.msg, l.severity])).toEqual([["Email provider failed", 3]]);
  });

  test("a rejected cc: the others still get it, the send succeeds with a warning", async () => {
    const server = await startSmtp({}, (address) => address === "gone@example.com");
    const { provider, capture } = smtp(server.port);
    expect(await provider.send(email({ cc: ["gone@example.com", "ok@example.com"] }))).toBe("250");
    expect(server.delivered[0]!.rcpt).toEqual(["foo@example.com", "ok@example.com"]);
    expect(capture.lines).toMatchObject([{ msg: "SMTP server rejected some recipients", severity: 4, fields: { rejected: "gone@example.com" } }]);
  });

  test("a server that never answers → timeout → Internal", async () => {
    const port = await silentServer();
    const { provider, capture } = smtp(port, {}, 300);
    const started = performance.now();
    const error = await rejection(provider.send(email()));
    expect(error.status).toBe(500);
    expect(error.errno).toBe(100);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(capture.messages()).toEqual(["Email provider failed"]);
  });

  test("the caller's signal aborts a send", async () => {
    const controller = new AbortController();
    const port = await silentServer(() => controller.abort()); // the caller gives up once connected
    const pending = smtp(port).provider.send(email(), { signal: controller.signal });
    expect((await rejection(pending)).message).toBe("smtp request was aborted");
  });

  test("a refused connection → Internal", async () => {
    const server = await startSmtp();
    const port = server.port;
    await running.pop()!.close();
    const error = await rejection(smtp(port).provider.send(email()));
    expect(error.status).toBe(500);
    expect(error.message).toContain("ECONNREFUSED");
  });
});
