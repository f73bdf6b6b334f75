// What the settings schema says about each key (src/email/config-shape.ts): its dotted path, whether it
// is a list, and how the startup line shows it.
import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { asWritten, fields, masked, secret } from "../../src/email/config-shape.ts";

const minutes = asWritten(z.string().transform((v) => Number(v.split(" ")[0]) * 60_000));
const schema = z.object({
  name: z.string(),
  token: secret(z.string().optional()),
  keys: secret(z.object({ id: z.string(), key: z.string() }).optional()),
  login: z.object({ user: z.string(), password: secret(z.string()) }).optional(),
  ttl: minutes,
  limits: z.array(z.object({ n: z.number() })).transform((l) => l.length),
  nested: z.object({ deeper: z.object({ flag: z.boolean().optional() }) }),
});

describe("fields", () => {
  test("every leaf, through optional objects, with lists marked", () => {
    expect(fields(schema).map((f) => [f.path.join("."), f.list])).toEqual([
      ["name", false], ["token", false], ["keys.id", false], ["keys.key", false], ["login.user", false], ["login.password", false],
      ["ttl", false], ["limits", true], ["nested.deeper.flag", false],
    ]);
  });
});

describe("masked", () => {
  const show = (input: Record<string, unknown>) => masked(schema, input, schema.parse(input));
  const base = { name: "n", ttl: "5 minutes", limits: [{ n: 1 }], nested: { deeper: {} } };

  test("secrets are [hidden] when set and [not set] when not; absent optional values are [not set]", () => {
    expect(show(base)).toEqual({ name: "n", token: "[not set]", keys: "[not set]", login: "[not set]", ttl: "5 minutes", limits: 1, nested: { deeper: { flag: "[not set]" } } });
    const all = show({ ...base, token: "t0k3n", keys: { id: "i", key: "k3y" }, login: { user: "u", password: "pa55" } }) as Record<string, unknown>;
    expect(all).toMatchObject({ token: "[hidden]", keys: "[hidden]", login: { user: "u", password: "[hidden]" } });
    expect(JSON.stringify(all)).not.toMatch(/t0k3n|k3y|pa55/);
  });

  test("asWritten fields are shown as the operator wrote them, others as parsed", () => {
    expect(show(base)).toMatchObject({ ttl: "5 minutes", limits: 1 });
  });
});
