// The port every email provider implements (spec/email.md §4). Providers receive addresses already
// normalised and bounce-checked, and return their own message id; the API prefixes it with the name.

export const PROVIDER_NAMES = ["mock", "ses", "sendgrid", "smtp", "socketlabs"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface Sender {
  name: string;
  address: string;
}

export interface OutgoingEmail {
  /** Normalised recipient (spec/email.md §1.3). */
  to: string;
  /** Normalised cc recipients, possibly empty. */
  cc: string[];
  subject: string;
  /** Request headers as given; each provider applies its own rules (SES: allow-list; others verbatim). */
  headers: Record<string, string>;
  text: string;
  /** Present (possibly "") when the request had an html body. */
  html?: string;
}

export interface SendOptions {
  /** Aborts the provider call (per-call timeout, shutdown). */
  signal?: AbortSignal;
}

export interface EmailProvider {
  readonly name: ProviderName;
  /**
   * Sends the message and returns the provider's message id (without the "<name>:" prefix).
   * Throws an EmailError: InvalidPayload (400) for input the provider rejects, Internal (500) otherwise.
   */
  send(email: OutgoingEmail, options?: SendOptions): Promise<string>;
}
