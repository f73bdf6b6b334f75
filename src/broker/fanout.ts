// Who hears about an event, and what each relying party's message says (spec/event-broker.md §5.1).
// Pure: the user's clients, the registry's resource servers and the capability cache are given.
import type { GenericEvent, Notification } from "./notification.ts";

/** One message for one relying party: a row of the outbox (the original's Pub/Sub message). */
export interface Publish {
  clientId: string;
  json: Record<string, unknown>;
}

export interface FanoutContext {
  /** The clients the user logged into, in the order first seen. */
  userClientIds: readonly string[];
  resourceServers: readonly string[];
  /** clientId → capabilities, in the order the capability source listed them. */
  capabilities: ReadonlyMap<string, readonly string[]>;
  /** The processing clock (ms): the messages' `timestamp`. */
  now: number;
}

/** The hard-coded Pocket client of the Apple migration (removed upstream later; kept for the vectors). */
export const POCKET_CLIENT_ID = "749818d3f2e7857f";

/** The metric tag `message.type{eventType}` of each event. */
export const EVENT_TYPE: Record<GenericEvent | "subscription:update" | "appleUserMigration" | "login", string> = {
  login: "login",
  delete: "delete",
  passwordChange: "password",
  reset: "password",
  primaryEmailChanged: "profile",
  profileDataChange: "profile",
  metricsChange: "metricsOptIn",
  "subscription:update": "subscription",
  appleUserMigration: "appleMigration",
};

/** Optional fields the newest proxy reads from the message, copied when the message has them. */
const PASSED_ON = ["email", "locale", "metricsEnabled", "totpEnabled", "accountDisabled", "accountLocked", "reason"] as const;

const unique = (ids: readonly string[]) => [...new Set(ids)];

/** The user's clients first, then the resource servers they did not log into. */
export function clientsForUser(ctx: Pick<FanoutContext, "userClientIds" | "resourceServers">): string[] {
  return unique([...ctx.userClientIds, ...ctx.resourceServers]);
}

export function fanOut(notification: Notification, ctx: FanoutContext): Publish[] {
  switch (notification.kind) {
    case "generic": {
      const { message } = notification;
      const json: Record<string, unknown> = {
        changeTime: message.timestamp ? message.timestamp : message.ts * 1000,
        event: message.event,
        timestamp: ctx.now,
        uid: message.uid,
      };
      for (const key of PASSED_ON) if (message[key] !== undefined) json[key] = message[key];
      if (notification.event === "metricsChange") json.enabled = message.enabled ?? message.metricsEnabled;
      return clientsForUser(ctx).map((clientId) => ({ clientId, json }));
    }
    case "subscription": {
      const { message } = notification;
      const clientIds = new Set(clientsForUser(ctx));
      const notify = new Map<string, string[]>();
      for (const capability of message.productCapabilities) {
        for (const [clientId, capabilities] of ctx.capabilities) {
          if (capabilities.includes(capability)) notify.set(clientId, [...(notify.get(clientId) ?? []), capability]);
        }
      }
      return [...notify]
        .filter(([clientId]) => clientIds.has(clientId))
        .map(([clientId, capabilities]) => ({
          clientId,
          json: {
            capabilities,
            changeTime: message.eventCreatedAt * 1000,
            event: "subscription:update",
            isActive: message.isActive,
            uid: message.uid,
            timestamp: ctx.now,
          },
        }));
    }
    case "appleMigration":
      return [{ clientId: POCKET_CLIENT_ID, json: { timestamp: ctx.now, ...notification.message } }];
    default:
      return [];
  }
}
