// SocketLabs (spec/email.md §4.4): the Injection API over HTTPS. We generate the message id (a UUID v4)
// and send it along, because the API does not return one; success is ErrorCode "Success" in the body.
import { internalError } from "../errors.ts";
import { runProviderCall, type ProviderDeps } from "./call.ts";
import { checkHeaderSafety } from "./header-safety.ts";
import type { EmailProvider, OutgoingEmail, Sender } from "./provider.ts";
import { describeResponse } from "./response-text.ts";

export const SOCKETLABS_BASE_URL = "https://inject.socketlabs.com";

export interface SocketLabsProviderConfig {
  sender: Sender;
  serverId: number;
  key: string;
  /** Tests point this at a loopback server. */
  baseUrl?: string;
}

export interface SocketLabsProviderDeps extends ProviderDeps {
  randomUUID?: () => string;
}

/** The Injection API's PostMessageErrorCode values and what they mean. */
const ERROR_CODES: Record<string, string> = {
  Success: "Success.",
  Warning: "There were one or more failed messages and/or recipients.",
  AccountDisabled: "The account has been disabled.",
  InternalError: "Internal server error. (Please report to SocketLabs support if encountered.)",
  InvalidAuthentication: "The ServerId/ApiKey combination is invalid.",
  InvalidData: "PostBody parameter does not have a valid structure, or contains invalid or missing data.",
  NoMessages: "There were no messages to inject included in the request.",
  EmptyMessage: "One or more messages have insufficient content to process.",
  OverQuota: "Rate limit exceeded.",
  TooManyErrors: "Authentication error limit exceeded.",
  TooManyMessages: "Too many messages in a single request.",
  TooManyRecipients: "Too many recipients in a single message.",
  NoValidRecipients: "A merge was attempted, but there were no valid recipients.",
};
const UNKNOWN_ERROR_CODE = "SocketLabs returned an unknown error code.";

export function createSocketLabsProvider(config: SocketLabsProviderConfig, deps: SocketLabsProviderDeps): EmailProvider {
  const url = new URL("/api/v1/email", config.baseUrl ?? SOCKETLABS_BASE_URL);
  const fetchImpl = deps.fetch ?? fetch;
  const randomUUID = deps.randomUUID ?? (() => crypto.randomUUID());
  return {
    name: "socketlabs",
    send: (email, options) =>
      runProviderCall("socketlabs", deps, options, async (signal) => {
        checkHeaderSafety(email);
        const messageId = randomUUID();
        const response = await fetchImpl(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(socketLabsBody(config, email, messageId)),
          signal,
        });
        if (!response.ok) throw internalError(`SocketLabs response: ${await describeResponse(response)}`);
        const text = await response.text();
        let errorCode: unknown;
        try {
          errorCode = (JSON.parse(text) as { ErrorCode?: unknown } | null)?.ErrorCode;
        } catch {
          throw internalError(`SocketLabs response is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
        }
        if (errorCode === "Success") return messageId;
        const description = (typeof errorCode === "string" && Object.hasOwn(ERROR_CODES, errorCode) && ERROR_CODES[errorCode]) || UNKNOWN_ERROR_CODE;
        throw internalError(`SocketLabs error: ${description}`);
      }),
  };
}

/** The injection request (PascalCase); HtmlBody, CustomHeaders and Cc only when the request has them. */
export function socketLabsBody(config: SocketLabsProviderConfig, email: OutgoingEmail, messageId: string): Record<string, unknown> {
  const message: Record<string, unknown> = {
    To: [{ EmailAddress: email.to }],
    From: { EmailAddress: config.sender.address, FriendlyName: config.sender.name },
    Subject: email.subject,
    TextBody: email.text,
  };
  if (email.html !== undefined) message.HtmlBody = email.html;
  message.MessageId = messageId;
  const headers = Object.entries(email.headers);
  if (headers.length > 0) message.CustomHeaders = headers.map(([Name, Value]) => ({ Name, Value }));
  if (email.cc.length > 0) message.Cc = email.cc.map((address) => ({ EmailAddress: address }));
  return { ServerId: config.serverId, ApiKey: config.key, Messages: [message] };
}
