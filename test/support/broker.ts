// Broker fixtures: a migrated database, the vectors' state (logins, clients, capabilities) and a verifier
// for SETs against the vectors' public key (the relying parties' own, src/secevent/verify.ts).
import type { Sql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { BROKER_SCHEMA } from "../../src/broker/migrations/index.ts";
import { importVerifyKey, verifyJws, type VerifiedSet } from "../../src/secevent/verify.ts";
import { readVector } from "./vectors.ts";

export interface KeysVector {
  issuer: string;
  privateJwk: Record<string, string>;
  jwks: { keys: Record<string, string>[] };
}
export const keys = () => readVector<KeysVector>("broker/sets/keys.json");

export interface WebhooksVector {
  rows: { clientId: string; webhookUrl: string; isResourceServer: boolean }[];
  derivedCache: { webhooks: Record<string, string>; resourceServers: string[] };
}
export const webhooksVector = () => readVector<WebhooksVector>("broker/config/client-webhooks.json");
export const capabilitiesVector = () => readVector<{ derivedCache: Record<string, string[]>; response: { body: { clientId: string; capabilities: string[] }[] } }>("broker/config/capabilities-response.json");
export const loginState = () => readVector<{ rows: { uid: string; client_id: string }[] }>("broker/state/login-activity.json");

export async function migrateBroker(sql: Sql): Promise<void> {
  await migrate(sql, BROKER_SCHEMA.domain, BROKER_SCHEMA.migrations);
}

/** Empties the broker's tables and loads the vectors' login state. */
export async function resetBrokerState(sql: Sql, options: { logins?: boolean } = {}): Promise<void> {
  await sql`truncate broker_logins, broker_deliveries, broker_attempts restart identity`;
  if (options.logins === false) return;
  for (const row of loginState().rows) await sql`insert into broker_logins (uid, client_id) values (${row.uid}, ${row.client_id})`;
}

export type { VerifiedSet };

/** Verifies an RS256 JWS against a public JWK; rejects (a SetRefusal) when the signature does not match. */
export async function verifySet(token: string, jwk: Record<string, unknown> = keys().jwks.keys[0]!): Promise<VerifiedSet> {
  return await verifyJws(token, await importVerifyKey(jwk));
}
