// A PostgreSQL array literal ('{"a","b"}') for a parameter cast to an array type (`${lit}::text[]`).
// postgres.js's sql.array() only knows the array type after the pool's first connection has fetched
// the type catalogue; before that it sends the elements joined by commas, which the server refuses
// ("malformed array literal"). A literal sent as text works on any connection, first query included.

/** Every element quoted, so any text (commas, quotes, backslashes, braces, NULL as a word) survives. */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values.map((v) => `"${String(v).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;
}
