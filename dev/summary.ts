// What `make dev` prints once everything answers: what runs where, and what to try.
import type { StackState } from "./state.ts";

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

export function summaryLines(state: StackState, stateFilePath: string): string[] {
  const width = Math.max(14, ...Object.keys(state.tools).map((name) => name.length + 2));
  const row = (name: string, text: string) => `  ${name.padEnd(width)}${text}`;
  const lines = [
    "",
    `The dev stack is up (pid ${state.pid}, tools from ${state.mode === "source" ? "source" : "dist/"}; state in ${stateFilePath})`,
    row("database", `${state.database.url}  ${state.database.description}`),
    ...state.database.limits.map((limit) => row("", `limit: ${limit}`)),
    row("sqs", `${state.sqs.endpoint}  (fauxqs; region ${state.sqs.region}, any credentials)`),
    ...Object.entries(state.sqs.queues).map(([name, url]) => row("", `queue ${name}: ${url}`)),
    row("storage node", `${state.storage.url}  (verifies Hawk and token of every request; secret ${state.storage.secret})`),
    row("smtp sink", `${state.smtp.host}:${state.smtp.port}  (accepts everything, prints one line per message)`),
    row("ses", `${state.ses.endpoint}  (SES stand-in for "provider":"ses": a fresh MessageId per message, one line each)`),
    ...state.relyingParties.map((rp) => row(rp.name, `${rp.url}  (client ${rp.clientId}; verifies every SET against the broker's JWKS)`)),
    row("inspect", `${state.control}/smtp/messages  /storage/requests  /ses/messages  /rp/sets`),
    ...Object.entries(state.tools).map(([name, info]) => row(name, info.summary)),
  ];
  const email = state.tools["email-send"];
  lines.push("", "Try:");
  if (email?.url) {
    const body = JSON.stringify({ to: "someone@example.com", subject: "Hello", body: { text: "Hello from the dev stack" } });
    lines.push(`  curl -sS -H 'Authorization: Bearer ${email.token}' -H 'Content-Type: application/json' -d ${shellQuote(body)} ${email.url}/send`);
    lines.push(`  curl -sS -H 'Authorization: Bearer ${email.token}' ${email.url}/bounces/someone@example.com`);
  }
  const consoles = Object.entries(state.tools).filter(([, info]) => info.console);
  if (consoles.length > 0) {
    lines.push("", "Operator consoles (in a browser; sign in with your name and the token):");
    for (const [name, info] of consoles) lines.push(row(name, `${info.console}  (token ${info.consoleToken})`));
  }
  lines.push(
    "",
    "More:",
    "  make event EVENT='passwordChange someone@example.com'    (or delete / reset; runs bun dev/send-event.ts)",
    "  make demo                                               (the scripted story, against this stack)",
    "",
    "Ctrl-C stops everything (a second Ctrl-C at once).",
  );
  return lines;
}
