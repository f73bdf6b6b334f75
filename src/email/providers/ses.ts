// SES (spec/email.md §4.2): SES v2 SendEmail with only the raw MIME content; SES reads sender and
// recipients from the headers. InvalidParameterValue (the v1 name) or BadRequestException (its v2
// equivalent) means the message itself was refused → 400; anything else → 500.
import { SendEmailCommand, type SESv2Client } from "@aws-sdk/client-sesv2";
import { EmailError, internalError, invalidPayload } from "../errors.ts";
import { buildMultipartMime, type MimeOptions } from "../mime.ts";
import { runProviderCall, type ProviderDeps } from "./call.ts";
import { checkHeaderSafety } from "./header-safety.ts";
import type { EmailProvider, Sender } from "./provider.ts";

export interface SesProviderDeps extends ProviderDeps, MimeOptions {
  /** Built by createSesClient (clients.ts) in the composition root. */
  client: SESv2Client;
}

const REJECTED_MESSAGE = new Set(["InvalidParameterValue", "BadRequestException"]);

export function createSesProvider(config: { sender: Sender }, deps: SesProviderDeps): EmailProvider {
  const { client } = deps;
  return {
    name: "ses",
    send: (email, options) =>
      runProviderCall("ses", deps, options, async (abortSignal) => {
        checkHeaderSafety(email);
        const mime = buildMultipartMime({ sender: config.sender, ...email }, deps);
        const command = new SendEmailCommand({ Content: { Raw: { Data: new TextEncoder().encode(mime) } } });
        try {
          const output = await client.send(command, { abortSignal });
          if (!output.MessageId) throw internalError("SES response has no MessageId");
          return output.MessageId;
        } catch (error) {
          if (error instanceof EmailError) throw error;
          if (isRejectedMessage(error)) throw invalidPayload(serviceMessage(error) ?? "Invalid parameter");
          // A timeout or abort is reported as such by runProviderCall.
          if (abortSignal.aborted || !(error instanceof Error)) throw error;
          throw internalError(`SES error: ${describeSdkError(error)}`, error);
        }
      }),
  };
}

/** The service's own message; the SDK puts "UnknownError" there when the response had none. */
function serviceMessage(error: Error): string | undefined {
  return error.message && error.message !== "UnknownError" ? error.message : undefined;
}

/** `Name (HTTP status): first line of the message`, e.g. `MessageRejected (HTTP 400): Email address is not verified.` */
function describeSdkError(error: Error): string {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = serviceMessage(error)?.split("\n")[0]?.trim();
  return `${error.name}${status ? ` (HTTP ${status})` : ""}${message ? `: ${message}` : ""}`;
}

function isRejectedMessage(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = (error as { Code?: unknown }).Code;
  return REJECTED_MESSAGE.has(error.name) || code === "InvalidParameterValue";
}
