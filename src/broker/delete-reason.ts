// The reasons a `delete` may carry [NEWEST] (spec/event-broker.md §2.3, §7.11), and the metric tag for
// the ones it should not carry.
export const DELETE_REASONS = ["user", "admin", "inactivity", "unverified"] as const;
export type DeleteReason = (typeof DELETE_REASONS)[number];

export function isDeleteReason(value: unknown): value is DeleteReason {
  return typeof value === "string" && (DELETE_REASONS as readonly string[]).includes(value);
}

/** {reason} for a known reason, else why not: missing ('' counts), an unknown string, or not a string. */
export function narrowDeleteReason(value: unknown): { reason: DeleteReason } | { fallback: "missing" | "unknown_string" | "non_string" } {
  if (isDeleteReason(value)) return { reason: value };
  if (value === undefined || value === "") return { fallback: "missing" };
  return { fallback: typeof value === "string" ? "unknown_string" : "non_string" };
}
