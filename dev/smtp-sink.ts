// An SMTP server on loopback that accepts every message (plain SMTP, no AUTH or STARTTLS, as a local
// relay would), prints one line per message (from, to, subject) and keeps the last ones for the demo.
// Headers are read with the tests' MIME reader, independently of the code that wrote them.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { readEntity } from "../test/support/mime-reader.ts";

export interface ReceivedMessage {
  /** ms since the epoch */
  at: number;
  /** The SMTP envelope. */
  mailFrom: string | null;
  rcptTo: string[];
  /** Header fields (decoded), lower-case names; repeated fields keep the first. */
  headers: Record<string, string>;
  /** Set when the message could not be read (it is still accepted). */
  readError?: string;
}

export interface StackSmtpSink {
  host: string;
  port: number;
  messages(): ReceivedMessage[];
  stop(): Promise<void>;
}

const KEEP = 500; // messages kept for the control API; older ones are dropped

function headersOf(raw: string): { headers: Record<string, string>; readError?: string } {
  try {
    const entity = readEntity(raw);
    const headers: Record<string, string> = {};
    for (const field of entity.fields) headers[field.name.toLowerCase()] ??= field.value;
    return { headers };
  } catch (error) {
    return { headers: {}, readError: (error as Error).message };
  }
}

export async function startSmtpSink(out: (line: string) => void): Promise<StackSmtpSink> {
  const messages: ReceivedMessage[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    closeTimeout: 1_000, // at stop the tools are gone already; do not wait 30 s for a stray connection
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : null;
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const message: ReceivedMessage = { at: Date.now(), mailFrom, rcptTo, ...headersOf(Buffer.concat(chunks).toString("latin1")) };
        messages.push(message);
        if (messages.length > KEEP) messages.shift();
        const subject = message.headers["subject"] ?? "(no subject)";
        out(`[smtp] from=${mailFrom} to=${rcptTo.join(",")} subject=${JSON.stringify(subject)}${message.readError ? ` (unreadable: ${message.readError})` : ""}`);
        callback(); // recorded before the 250, so a sender that got its answer finds its message here
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    host: "127.0.0.1",
    port: (server.server.address() as AddressInfo).port,
    messages: () => [...messages],
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
