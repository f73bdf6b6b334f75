// The providers' network clients: an SES v2 client and an SMTP transport. Built once, in the composition
// root (cmd/email-send.ts through the tool runtime), passed into the providers, and closed at the end;
// no provider constructs its own, so tests and tools decide what talks to the network.
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { createTransport } from "nodemailer";
import { DEFAULT_PROVIDER_TIMEOUT_MS } from "./call.ts";

/** Where SES is; absent credentials → the AWS SDK's default chain. */
export interface SesSettings {
  region: string;
  /** AWS_ENDPOINT_URL_SES: a VPC endpoint, or a loopback server in tests. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface SmtpSettings {
  host: string;
  port: number;
  credentials?: { user: string; password: string };
  /** Implicit TLS from the first byte (port 465 style). */
  secure?: boolean;
  /** Refuse to send unless STARTTLS succeeds; defaults to true when credentials are set. */
  requireTls?: boolean;
  tls?: { rejectUnauthorized?: boolean; ca?: string };
}

export interface ProviderClients {
  /** Absent when SES is not configured. */
  ses?: SESv2Client;
  smtp: SmtpTransport;
  close(): void;
}

export function createSesClient(config: SesSettings, timeoutMs = DEFAULT_PROVIDER_TIMEOUT_MS): SESv2Client {
  return new SESv2Client({
    region: config.region,
    endpoint: config.endpoint,
    credentials: config.credentials,
    // A failed send goes back to the caller, who decides about retrying; an SDK retry after a 5xx
    // could deliver the message twice.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
}

/**
 * With credentials the connection must be encrypted (STARTTLS, or implicit TLS with `secure`) before
 * AUTH, so a password never crosses the wire in clear. Without them it stays the original's plain SMTP
 * unless `requireTls`/`secure` ask for TLS.
 */
export function createSmtpTransport(config: SmtpSettings, timeoutMs = DEFAULT_PROVIDER_TIMEOUT_MS) {
  const secure = config.secure ?? false;
  const requireTLS = !secure && (config.requireTls ?? config.credentials !== undefined);
  return createTransport({
    host: config.host,
    port: config.port,
    secure,
    requireTLS,
    // No opportunistic STARTTLS when TLS is not asked for: a dev server's self-signed certificate would
    // otherwise fail a connection that the original made in plain text.
    ignoreTLS: !secure && !requireTLS,
    auth: config.credentials ? { user: config.credentials.user, pass: config.credentials.password } : undefined,
    tls: { rejectUnauthorized: config.tls?.rejectUnauthorized ?? true, ca: config.tls?.ca },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
  });
}

export type SmtpTransport = ReturnType<typeof createSmtpTransport>;

/** Every client the configured providers need. */
export function createProviderClients(settings: { ses?: SesSettings; smtp: SmtpSettings; timeoutMs?: number }): ProviderClients {
  const ses = settings.ses ? createSesClient(settings.ses, settings.timeoutMs) : undefined;
  const smtp = createSmtpTransport(settings.smtp, settings.timeoutMs);
  return {
    ...(ses ? { ses } : {}),
    smtp,
    close() {
      ses?.destroy();
      smtp.close();
    },
  };
}
