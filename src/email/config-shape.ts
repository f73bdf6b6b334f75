// What the settings schema says about each key, so that nothing else has to repeat it: the dotted paths
// it accepts (and which of them are lists, which a variable cannot spell) and how each value is shown
// in the startup line. A field is marked where it is declared: `secret(...)` is shown as "[hidden]"
// (or "[not set]"), `asWritten(...)` as the operator wrote it ("30 days", not 2592000000); everything
// else as parsed.
import { z } from "zod";

const shown = z.registry<{ as: "hidden" | "written" }>();

/** A value never logged: "[hidden]" when set, "[not set]" when not. */
export function secret<S extends z.ZodType>(schema: S): S {
  shown.add(schema, { as: "hidden" });
  return schema;
}
/** A value logged as written, for fields whose parsed form is less readable than their text. */
export function asWritten<S extends z.ZodType>(schema: S): S {
  shown.add(schema, { as: "written" });
  return schema;
}

export interface Field {
  path: string[];
  /** An array: it can come from a file, not from a variable. */
  list: boolean;
}

/** Every leaf of a (nested) object schema. */
export function fields(schema: z.ZodType, path: string[] = []): Field[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => fields(child, [...path, key]));
  return [{ path, list: (inner instanceof z.ZodPipe ? unwrap(inner.in as z.ZodType) : inner) instanceof z.ZodArray }];
}

function unwrap(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? unwrap(schema.unwrap() as z.ZodType) : schema;
}

/** The startup line's copy of `parsed` (the output of `schema` for `written`): secrets hidden, absent values "[not set]". */
export function masked(schema: z.ZodType, written: unknown, parsed: unknown): unknown {
  const how = shown.get(schema)?.as;
  if (how === "hidden") return parsed === undefined ? "[not set]" : "[hidden]";
  if (parsed === undefined) return "[not set]";
  if (how === "written") return written;
  if (schema instanceof z.ZodOptional) return masked(schema.unwrap() as z.ZodType, written, parsed);
  if (schema instanceof z.ZodObject) {
    const source = (typeof written === "object" && written !== null ? written : {}) as Record<string, unknown>;
    const values = parsed as Record<string, unknown>;
    return Object.fromEntries(Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, child]) => [key, masked(child, source[key], values[key])]));
  }
  return parsed;
}
