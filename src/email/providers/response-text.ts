// How the HTTPS providers describe an unexpected HTTP response in an error message.
import { STATUS_CODES } from "node:http";

/** Enough of a provider's error body to diagnose it, without copying a huge page into a log line. */
const MAX_BODY_CHARS = 1000;

/** `<status> <reason>, "<body or [no body]>"` (the original's Sendgrid wording). */
export async function describeResponse(response: Response): Promise<string> {
  const reason = response.statusText || STATUS_CODES[response.status] || "";
  let body = "";
  try {
    body = await response.text();
  } catch {
    // The body is only for the message; a broken stream must not hide the status.
  }
  const shown = body === "" ? "[no body]" : body.length > MAX_BODY_CHARS ? `${body.slice(0, MAX_BODY_CHARS)}…` : body;
  return `${response.status} ${reason}, ${JSON.stringify(shown)}`;
}
