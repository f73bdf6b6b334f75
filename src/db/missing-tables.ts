// Half of every tool's start-up schema check (DESIGN.md §4): which of the tables it needs the database
// lacks, so the error can name them. One statement whatever the number of tables.
import type { Sql } from "./client.ts";

/** The `names` not visible on the search path, in the order given. A name is read as SQL reads an
 * identifier (unquoted: folded to lower case; "schema.table" allowed); to_regclass gives null, not an error,
 * for a table that does not exist. */
export async function missingTables(sql: Sql, names: readonly string[]): Promise<string[]> {
  // The names travel as one jsonb parameter, not a text[] one: postgres.js serialises arrays only once it
  // has fetched the array types, which a fresh pool does after building its first statement, and this
  // check is usually that first statement.
  const rows = await sql<{ name: string }[]>`
    select name from jsonb_array_elements_text(${sql.json([...names])}) with ordinality as t(name, position)
    where to_regclass(name) is null
    order by position`;
  return rows.map((row) => row.name);
}
