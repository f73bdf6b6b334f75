// Sendgrid (spec/email.md §4.3): v3 mail/send over HTTPS. Every request header passes through (Sendgrid
// has no allow-list); the message id is the X-Message-Id response header.
import { internalError } from "../errors.ts";
import { runProviderCall, type ProviderDeps } from "./call.ts";
import { checkHeaderSafety } from "./header-safety.ts";
import type { EmailProvider, OutgoingEmail, Sender } from "./provider.ts";
import { describeResponse } from "./response-text.ts";

export const SENDGRID_BASE_URL = "https://api.sendgrid.com";

export interface SendgridProviderConfig {
  sender: Sender;
  key: string;
  /** Tests point this at a loopback server. */
  baseUrl?: string;
}

export function createSendgridProvider(config: SendgridProviderConfig, deps: ProviderDeps): EmailProvider {
  const url = new URL("/v3/mail/send", config.baseUrl ?? SENDGRID_BASE_URL);
  const fetchImpl = deps.fetch ?? fetch;
  return {
    name: "sendgrid",
    send: (email, options) =>
      runProviderCall("sendgrid", deps, options, async (signal) => {
        checkHeaderSafety(email);
        const response = await fetchImpl(url, {
          method: "POST",
          headers: { authorization: `Bearer ${config.key}`, "content-type": "application/json" },
          body: JSON.stringify(sendgridBody(config.sender, email)),
          signal,
        });
        if (response.status !== 200 && response.status !== 202) {
          throw internalError(`Sendgrid response: ${await describeResponse(response)}`);
        }
        await response.body?.cancel();
        const id = response.headers.get("x-message-id");
        // Headers.get joins repeated headers with ", "; ids never contain a comma.
        if (!id || id.includes(",")) throw internalError("Missing or duplicate X-Message-Id header in Sendgrid response");
        return id;
      }),
  };
}

/** The v3 request body; cc, headers and the html content only when the request has them. */
export function sendgridBody(sender: Sender, email: OutgoingEmail): Record<string, unknown> {
  const personalization: Record<string, unknown> = { to: [{ email: email.to }] };
  if (email.cc.length > 0) personalization.cc = email.cc.map((address) => ({ email: address }));
  if (Object.keys(email.headers).length > 0) personalization.headers = email.headers;
  const content: { type: string; value: string }[] = [{ type: "text/plain", value: email.text }];
  if (email.html !== undefined) content.push({ type: "text/html", value: email.html });
  return {
    from: { email: sender.address, name: sender.name },
    subject: email.subject,
    personalizations: [personalization],
    content,
  };
}
