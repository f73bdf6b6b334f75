// An SES stand-in on loopback: the SESv2 SendEmail call email-send's "ses" provider makes, answered
// with a fresh SES-style MessageId per message. It is how the demo gets a message id that names one
// message (the SMTP provider's id is the reply code, "250", the mock's is fixed), so a bounce for that
// id finds the metadata /send stored for it. One line per message; the last ones are kept for the demo.
import { readEntity } from "../test/support/mime-reader.ts";

export interface SesMessage {
  /** ms since the epoch */
  at: number;
  messageId: string;
  /** Header fields (decoded), lower-case names; repeated fields keep the first. */
  headers: Record<string, string>;
}

export interface StackSes {
  endpoint: string;
  messages(): SesMessage[];
  stop(): Promise<void>;
}

const KEEP = 500;

/** `0100018c…-<uuid>-000000`, the shape of SES message ids. */
const sesMessageId = () => `0100${Date.now().toString(16).padStart(12, "0")}-${crypto.randomUUID()}-000000`;

function headersOf(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const field of readEntity(raw).fields) headers[field.name.toLowerCase()] ??= field.value;
  return headers;
}

export function startSes(out: (line: string) => void): StackSes {
  const messages: SesMessage[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v2/email/outbound-emails") {
        return Response.json({ message: "only SendEmail (POST /v2/email/outbound-emails) is emulated" }, { status: 404 });
      }
      const body = (await req.json()) as { Content?: { Raw?: { Data?: string } } };
      const data = body.Content?.Raw?.Data;
      if (!data) return Response.json({ message: "only raw content is emulated" }, { status: 400, headers: { "x-amzn-errortype": "BadRequestException" } });
      let headers: Record<string, string>;
      try {
        headers = headersOf(Buffer.from(data, "base64").toString("latin1"));
      } catch (error) {
        return Response.json({ message: `unreadable MIME: ${(error as Error).message}` }, { status: 400, headers: { "x-amzn-errortype": "BadRequestException" } });
      }
      const message = { at: Date.now(), messageId: sesMessageId(), headers };
      messages.push(message);
      if (messages.length > KEEP) messages.shift();
      out(`[ses] ${message.messageId} to=${headers["to"] ?? ""} subject=${JSON.stringify(headers["subject"] ?? "(no subject)")}`);
      return Response.json({ MessageId: message.messageId });
    },
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, messages: () => [...messages], stop: () => server.stop(true) };
}
