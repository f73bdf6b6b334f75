// Which providers exist and which one a request gets (spec/email.md §4.1). The table is built once at
// start: mock, ses and smtp always, sendgrid/socketlabs only when configured; with forceDefault only the
// default (if configured). A request's `provider` is ignored entirely under forceDefault.
import { invalidPayload } from "../errors.ts";
import type { ProviderDeps } from "./call.ts";
import type { ProviderClients, SesSettings, SmtpSettings } from "./clients.ts";
import { createMockProvider } from "./mock.ts";
import { PROVIDER_NAMES, type EmailProvider, type ProviderName, type Sender } from "./provider.ts";
import { createSendgridProvider } from "./sendgrid.ts";
import { createSesProvider } from "./ses.ts";
import { createSmtpProvider } from "./smtp.ts";
import { createSocketLabsProvider } from "./socketlabs.ts";

export interface ProviderSettings {
  default: ProviderName;
  forceDefault: boolean;
  sender: Sender;
  /** Absent → no SES provider. */
  ses?: SesSettings;
  sendgrid?: { key: string; baseUrl?: string };
  socketlabs?: { serverId: number; key: string; baseUrl?: string };
  smtp: SmtpSettings;
  /** Per provider call; DEFAULT_PROVIDER_TIMEOUT_MS when absent. */
  timeoutMs?: number;
}

export type ProviderTable = ReadonlyMap<ProviderName, EmailProvider>;

/** Infrastructure for the providers; timeoutMs comes from the settings unless given here. */
export type ProviderTableDeps = ProviderDeps & {
  /** The network clients, built by createProviderClients (clients.ts) in the composition root. */
  clients: Pick<ProviderClients, "ses" | "smtp">;
  boundary?: () => string;
  randomUUID?: () => string;
};

export function buildProviderTable(settings: ProviderSettings, deps: ProviderTableDeps): ProviderTable {
  const callDeps = { ...deps, timeoutMs: deps.timeoutMs ?? settings.timeoutMs };
  const build = (name: ProviderName): EmailProvider | undefined => {
    switch (name) {
      case "mock":
        return createMockProvider();
      case "ses":
        return settings.ses && deps.clients.ses ? createSesProvider({ sender: settings.sender }, { ...callDeps, client: deps.clients.ses }) : undefined;
      case "smtp":
        return createSmtpProvider({ sender: settings.sender }, { ...callDeps, transport: deps.clients.smtp });
      case "sendgrid":
        return settings.sendgrid ? createSendgridProvider({ sender: settings.sender, ...settings.sendgrid }, callDeps) : undefined;
      case "socketlabs":
        return settings.socketlabs ? createSocketLabsProvider({ sender: settings.sender, ...settings.socketlabs }, callDeps) : undefined;
    }
  };
  const names = settings.forceDefault ? [settings.default] : PROVIDER_NAMES;
  const table = new Map<ProviderName, EmailProvider>();
  for (const name of names) {
    const provider = build(name);
    if (provider) table.set(name, provider);
  }
  return table;
}

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

/**
 * The provider for one request. `requested` is the body's `provider` field as parsed (absent or null →
 * the default). Throws InvalidPayload `<name>` for an unknown name and `` provider `<name>` is not
 * enabled `` for a known one missing from the table.
 */
export function resolveProvider(table: ProviderTable, requested: unknown, settings: Pick<ProviderSettings, "default" | "forceDefault">): EmailProvider {
  let name: ProviderName;
  if (settings.forceDefault || requested === undefined || requested === null) {
    name = settings.default;
  } else if (typeof requested === "string" && isProviderName(requested)) {
    name = requested;
  } else {
    throw invalidPayload(typeof requested === "string" ? requested : JSON.stringify(requested));
  }
  const provider = table.get(name);
  if (!provider) throw invalidPayload(`provider \`${name}\` is not enabled`);
  return provider;
}
