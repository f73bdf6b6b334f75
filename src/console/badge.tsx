/** @jsxImportSource hono/jsx */
// A status word in a coloured pill. The tone follows the word unless given.

export type Tone = "ok" | "bad" | "warn" | "neutral";

const TONES: Record<string, Tone> = {
  ok: "ok",
  delivered: "ok",
  healthy: "ok",
  yes: "ok",
  dead: "bad",
  failed: "bad",
  error: "bad",
  blocked: "bad",
  "backed off": "bad",
  pending: "warn",
  retrying: "warn",
  stale: "warn",
  superseded: "neutral",
};

export function Badge(props: { status: string; tone?: Tone; title?: string }) {
  const tone = props.tone ?? TONES[props.status.toLowerCase()] ?? "neutral";
  return (
    <span class={`badge badge-${tone}`} title={props.title}>
      {props.status}
    </span>
  );
}
