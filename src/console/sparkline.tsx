/** @jsxImportSource hono/jsx */
// Recent outcomes as an inline SVG bar chart: one bar per point, its height the value on a log scale (so a
// 30 s timeout does not flatten every 20 ms success), failures in the "bad" colour. Presentation
// attributes and classes only: the console's CSP allows no inline style.

export interface SparkPoint {
  value: number;
  bad?: boolean;
  /** Hover text for the bar. */
  label?: string;
}

const BAR = 4;
const GAP = 1;

export function Sparkline(props: { points: readonly SparkPoint[]; height?: number; label: string }) {
  const height = props.height ?? 20;
  const { points } = props;
  if (points.length === 0) return <span class="muted">no attempts</span>;
  const scale = (v: number) => Math.log10(1 + Math.max(0, v));
  const top = Math.max(...points.map((p) => scale(p.value)), 1);
  const width = points.length * (BAR + GAP);
  return (
    <svg class="sparkline" role="img" aria-label={props.label} width={width} height={height} viewBox={`0 0 ${width} ${height}`}>
      <title>{props.label}</title>
      {points.map((p, i) => {
        const h = Math.max(2, Math.round((scale(p.value) / top) * height));
        return (
          <rect class={p.bad ? "spark-bad" : "spark-ok"} x={i * (BAR + GAP)} y={height - h} width={BAR} height={h}>
            {p.label ? <title>{p.label}</title> : null}
          </rect>
        );
      })}
    </svg>
  );
}
