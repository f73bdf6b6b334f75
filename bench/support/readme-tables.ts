// The README quotes bench/results.md's tables between two markers; `make bench` rewrites that part so
// the copy never drifts from the last run. Text outside the markers is left as it is.
export const README_START = "<!-- bench:results:start (written by make bench: bench/all.ts) -->";
export const README_END = "<!-- bench:results:end -->";

/** The README with the part between the markers replaced; unchanged when either marker is missing. */
export function replaceReadmeTables(readme: string, toolTable: string, binaryTable: string, runLine: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return readme;
  const body = [`From bench/results.md: ${runLine}`, "", toolTable, "", binaryTable].join("\n");
  return `${readme.slice(0, start + README_START.length)}\n${body}\n${readme.slice(end)}`;
}
