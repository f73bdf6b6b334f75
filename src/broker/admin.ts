// Administration of the broker: one module, three thin faces (the CLI subcommands in ./admin-cli.ts, the
// JSON admin API in ./app.ts, later console pages). Inputs are checked here, so every face refuses the
// same things with the same words (an HttpError: 400 for bad input, 404 for an unknown id).
import { z } from "zod";
import type { Sql } from "../db/client.ts";
import { HttpError } from "../http/problem.ts";
import { CLIENT_ID } from "./notification.ts";
import {
  countByClientAndStatus,
  deleteClient,
  retryDeadOfClient,
  retryDelivery,
  searchDeliveries,
  selectAttempts,
  selectClients,
  selectDelivery,
  selectRecentAttemptsByClient,
  upsertClient,
  type DeliveryFormat,
  type DeliveryRow,
  type DeliveryStatus,
} from "./queries.ts";
import { webhookUrlProblem } from "./webhook-url.ts";

export interface AdminDeps {
  sql: Sql;
  clock: () => number;
  allowInsecureWebhooks: boolean;
  /** Told after a replay, so running workers in this process look now. */
  onReplay?: () => void;
}

export const FORMATS = ["bearer", "rfc8935"] as const;
export const STATUSES = ["pending", "delivered", "dead", "superseded"] as const;

export interface ClientView {
  clientId: string;
  webhookUrl: string;
  resourceServer: boolean;
  format: DeliveryFormat;
  updatedAt: string;
}

export interface DeliveryView {
  id: string;
  clientId: string;
  uid: string;
  event: string;
  status: DeliveryStatus;
  jti: string;
  createdAt: string;
  nextAttemptAt: string | null;
  finishedAt: string | null;
  attempts: { at: string; httpStatus: number | null; latencyMs: number; error: string | null }[];
  payload: Record<string, unknown>;
}

function check<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new HttpError(400, result.error.issues.map((i) => `${i.path.join(".") || "value"}: ${i.message}`).join("; "));
}

const clientId = CLIENT_ID.transform((id) => id.toLowerCase());

export async function setClient(deps: AdminDeps, input: { clientId: unknown; webhookUrl: unknown; resourceServer?: unknown; format?: unknown }): Promise<ClientView> {
  const parsed = check(
    z.object({
      clientId,
      webhookUrl: z.string().max(2048).superRefine((url, ctx) => {
        const problem = webhookUrlProblem(url, deps.allowInsecureWebhooks);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
      resourceServer: z.boolean().default(false),
      format: z.enum(FORMATS).default("bearer"),
    }),
    input,
  );
  const now = new Date(deps.clock());
  await upsertClient(deps.sql, { client_id: parsed.clientId, webhook_url: parsed.webhookUrl, is_resource_server: parsed.resourceServer, delivery_format: parsed.format }, now);
  return { clientId: parsed.clientId, webhookUrl: parsed.webhookUrl, resourceServer: parsed.resourceServer, format: parsed.format, updatedAt: now.toISOString() };
}

export async function listClients(deps: AdminDeps): Promise<ClientView[]> {
  return (await selectClients(deps.sql)).map((r) => ({
    clientId: r.client_id,
    webhookUrl: r.webhook_url,
    resourceServer: r.is_resource_server,
    format: r.delivery_format,
    updatedAt: r.updated_at.toISOString(),
  }));
}

export async function removeClient(deps: AdminDeps, id: unknown): Promise<void> {
  if (!(await deleteClient(deps.sql, check(clientId, id)))) throw new HttpError(404, `no client ${String(id)}`);
}

const deliveryId = z
  .union([z.string(), z.number(), z.bigint()])
  .transform((v) => String(v))
  .refine((v) => /^[1-9]\d{0,17}$/.test(v), "must be a delivery id")
  .transform((v) => BigInt(v));

/** Newest first; `before` (a delivery id) gives the next page after one ending at that id. */
export async function listDeliveries(
  deps: AdminDeps,
  filter: { clientId?: unknown; uid?: unknown; status?: unknown; before?: unknown; limit?: unknown },
): Promise<DeliveryView[]> {
  const parsed = check(
    z.object({
      clientId: clientId.optional(),
      uid: z.string().trim().min(1).max(256).optional(),
      status: z.enum(STATUSES).optional(),
      before: deliveryId.optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    filter,
  );
  const rows = await searchDeliveries(deps.sql, { clientId: parsed.clientId, uid: parsed.uid, status: parsed.status, beforeId: parsed.before, limit: parsed.limit });
  return await withAttempts(deps, rows);
}

export async function getDelivery(deps: AdminDeps, id: unknown): Promise<DeliveryView> {
  const row = await selectDelivery(deps.sql, check(deliveryId, id));
  if (!row) throw new HttpError(404, `no delivery ${String(id)}`);
  return (await withAttempts(deps, [row]))[0]!;
}

export type AttemptView = DeliveryView["attempts"][number];

/** Each registered client's last `perClient` attempts, oldest first (the order a sparkline reads). */
export async function recentAttempts(deps: AdminDeps, perClient = 30): Promise<Record<string, AttemptView[]>> {
  const out: Record<string, AttemptView[]> = {};
  for (const a of await selectRecentAttemptsByClient(deps.sql, perClient)) {
    (out[a.client_id] ??= []).unshift({ at: a.attempted_at.toISOString(), httpStatus: a.http_status, latencyMs: a.latency_ms, error: a.error });
  }
  return out;
}

async function withAttempts(deps: AdminDeps, rows: DeliveryRow[]): Promise<DeliveryView[]> {
  const attempts = await selectAttempts(deps.sql, rows.map((r) => r.id));
  return rows.map((r) => ({
    id: String(r.id),
    clientId: r.client_id,
    uid: r.uid,
    event: r.event,
    status: r.status,
    jti: r.jti,
    createdAt: r.created_at.toISOString(),
    nextAttemptAt: r.status === "pending" ? r.available_at.toISOString() : null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    attempts: attempts
      .filter((a) => a.delivery_id === r.id)
      .map((a) => ({ at: a.attempted_at.toISOString(), httpStatus: a.http_status, latencyMs: a.latency_ms, error: a.error })),
    payload: r.payload,
  }));
}

/** One delivery due again now (dead or waiting), with a fresh maximum age. */
export async function retryOne(deps: AdminDeps, id: unknown): Promise<void> {
  if (!(await retryDelivery(deps.sql, check(deliveryId, id), new Date(deps.clock())))) {
    throw new HttpError(404, `no dead or pending delivery ${String(id)}`);
  }
  deps.onReplay?.();
}

/** A moment given by a person: ISO 8601; without a zone it is UTC (what a datetime-local field sends). */
const moment = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/, "must be a date and time like 2026-03-14T09:30 (UTC unless a zone is given)")
  .transform((text, ctx) => {
    const zoned = /T.*(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : text.includes("T") ? `${text}Z` : `${text}T00:00Z`;
    const date = new Date(zoned);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: "custom", message: "is not a real date" });
      return z.NEVER;
    }
    return date;
  });

/** Replay after a relying party's outage: every dead delivery of the client (or those that died since `since`) is due again. */
export async function retryDead(deps: AdminDeps, id: unknown, since?: unknown): Promise<{ count: number }> {
  const parsed = check(z.object({ clientId, since: moment.optional() }), { clientId: id, since: since === "" || since === null ? undefined : since });
  const count = await retryDeadOfClient(deps.sql, parsed.clientId, new Date(deps.clock()), parsed.since);
  deps.onReplay?.();
  return { count };
}

export interface Stats {
  clients: Record<string, Partial<Record<DeliveryStatus, number>> & { oldestPending?: string }>;
  totals: Record<DeliveryStatus, number>;
}

export async function stats(deps: AdminDeps): Promise<Stats> {
  const out: Stats = { clients: {}, totals: { pending: 0, delivered: 0, dead: 0, superseded: 0 } };
  for (const row of await countByClientAndStatus(deps.sql)) {
    const entry = (out.clients[row.client_id] ??= {});
    entry[row.status] = Number(row.count);
    if (row.status === "pending" && row.oldest) entry.oldestPending = row.oldest.toISOString();
    out.totals[row.status] += Number(row.count);
  }
  return out;
}
