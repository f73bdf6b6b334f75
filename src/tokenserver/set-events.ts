// A verified Security Event Token from the event broker → the account events the SQS path applies
// (account-event.ts), so both paths share one idempotent handler. What upstream Sync's webhook does
// (spec/tokenserver.md §0): `sub` is the FxA uid and the tokenserver email is `<sub>@<domain>`;
// delete-user retires the user; password-change carries `changeTime` (ms), applied as a passwordChange
// event whose generation is changeTime (the handler stores generation - 1). The broker sends a `reset`
// as password-change too. Other events (profile-change, subscriptions…) are not the tokenserver's: they
// are acknowledged and ignored, or the broker would retry them for a week.
import { EVENT_URIS } from "../secevent/event-uris.ts";
import { isObject, type AccountEvent } from "./account-event.ts";

export const DEFAULT_FXA_EMAIL_DOMAIN = "api.accounts.firefox.com";

/**
 * The events of one SET in its order. A SET whose `sub` or payload the handler could not use gives one
 * invalid event (the receiver refuses the whole SET before anything is applied).
 */
export function accountEventsOfSet(payload: Record<string, unknown>, domain: string): AccountEvent[] {
  const { sub, events } = payload;
  // PostgreSQL text cannot hold NUL, and an '@' would make another account's email.
  if (typeof sub !== "string" || sub === "" || /[@\u0000\s]/.test(sub)) return [{ kind: "invalid", reason: `sub must be an FxA uid (got ${JSON.stringify(sub)})` }];
  const email = `${sub}@${domain}`;
  const out: AccountEvent[] = [];
  for (const [uri, body] of Object.entries(isObject(events) ? events : {})) {
    if (uri === EVENT_URIS.delete) out.push({ kind: "delete", email });
    else if (uri === EVENT_URIS.password) {
      const changeTime = isObject(body) ? body.changeTime : undefined;
      // The broker's changeTime is `ts * 1000` when the message had no ms timestamp: whole ms are kept.
      if (typeof changeTime !== "number" || !Number.isFinite(changeTime) || changeTime < 0 || !Number.isSafeInteger(Math.floor(changeTime))) {
        return [{ kind: "invalid", reason: `password-change needs changeTime in ms (got ${JSON.stringify(changeTime)})` }];
      }
      out.push({ kind: "passwordChange", email, generation: BigInt(Math.floor(changeTime)) });
    } else out.push({ kind: "unknown", email, eventType: uri });
  }
  return out;
}
