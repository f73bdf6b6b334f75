// Puts one account event on the running dev stack's queue, so nobody needs the AWS CLI:
//   bun dev/send-event.ts delete|reset|passwordChange EMAIL [GENERATION]
// (`make event EVENT='passwordChange someone@example.com'`). The stack is found through its state file.
import { ACCOUNT_EVENT_TYPES, sendAccountEvent, type AccountEventType } from "./account-events.ts";
import { findRunningStack, stateFile } from "./state.ts";

const USAGE = `usage: bun dev/send-event.ts ${ACCOUNT_EVENT_TYPES.join("|")} EMAIL [GENERATION]
  EMAIL is the tokenserver email, <uid>@<issuer>; GENERATION (reset, passwordChange) defaults to now in ms.`;

const [event, email, generationText] = process.argv.slice(2);
if (!ACCOUNT_EVENT_TYPES.includes(event as AccountEventType) || !email?.includes("@") || (generationText !== undefined && !/^\d+$/.test(generationText))) {
  console.error(USAGE);
  process.exit(2);
}
const path = stateFile(process.env);
const state = await findRunningStack(path);
if (!state) {
  console.error(`no running dev stack (no live ${path}): start one with make dev`);
  process.exit(1);
}
const generation = generationText === undefined ? undefined : Number(generationText);
const id = await sendAccountEvent(state, { event: event as AccountEventType, email, generation });
console.log(`${event} for ${email}${event === "delete" ? "" : ` (generation ${generation ?? "now"})`} is on the account-events queue (message ${id})`);
