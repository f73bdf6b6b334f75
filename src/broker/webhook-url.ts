// Which webhook URLs the broker calls: https only, except http on a loopback address when insecure
// webhooks are allowed (development and tests). The same rule at `clients set` and at delivery.
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** undefined when the URL is acceptable, else why not. */
export function webhookUrlProblem(url: string, allowInsecure: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not a URL";
  }
  if (parsed.username || parsed.password) return "must not carry credentials";
  if (parsed.protocol === "https:") return undefined;
  if (parsed.protocol === "http:" && LOOPBACK.test(parsed.hostname)) {
    return allowInsecure ? undefined : "http is allowed only on loopback with --allow-insecure-webhooks";
  }
  return "must be https";
}
