// SETs byte for byte as the original signs them: RS256 is deterministic, so with the vectors' iat and jti
// our token must equal the vector's token (header, claim order, float iat, signature).
import { describe, expect, test } from "bun:test";
import { narrowDeleteReason, isDeleteReason } from "../../src/broker/delete-reason.ts";
import { loadSigningKey, setClaims, setEvent, signJws, signSet } from "../../src/broker/set.ts";
import { readVector } from "../support/vectors.ts";
import { keys, verifySet } from "../support/broker.ts";

interface Example {
  name: string;
  header: Record<string, unknown>;
  payload: { aud: string; events: Record<string, Record<string, unknown>>; iat: number; jti: string; sub: string; iss: string };
  token: string;
}
const examples = readVector<{ examples: Example[]; negativeExamples: { name: string; token: string; verifyWithAudience?: string }[] }>("broker/sets/examples.json");
const key = await loadSigningKey(keys().privateJwk);

describe("SET format (spec §5.3)", () => {
  for (const example of examples.examples) {
    test(`${example.name}: signing the same claims gives the vector's token`, async () => {
      expect(await signJws(key, example.payload)).toBe(example.token);
      const verified = await verifySet(example.token);
      expect(verified.headerJson).toBe('{"alg":"RS256","kid":"20250301-5f0e1c2d"}');
      expect(Object.keys(verified.payload)).toEqual(["aud", "events", "iat", "jti", "sub", "iss"]);
    });
  }

  test("negative examples fail: a tampered payload does not verify; the wrong audience is visible", async () => {
    const [tampered, wrongAudience] = examples.negativeExamples;
    await expect(verifySet(tampered!.token)).rejects.toMatchObject({ err: "authentication_failed" });
    expect((await verifySet(wrongAudience!.token)).payload.aud).not.toBe(wrongAudience!.verifyWithAudience);
  });

  test("a SET from each fan-out message: event URI, payload, aud, sub, iss, float iat, the delivery's jti", async () => {
    const cases: [Record<string, unknown>, string, Record<string, unknown>][] = [
      [{ event: "subscription:update", capabilities: ["a", "b"], changeTime: 1741963400000, isActive: true, uid: "u1", timestamp: 5 }, "subscription-state-change", { capabilities: ["a", "b"], changeTime: 1741963400000, isActive: true }],
      [{ event: "delete", changeTime: 1, uid: "u1" }, "delete-user", {}],
      [{ event: "delete", changeTime: 1, uid: "u1", reason: "inactivity" }, "delete-user", { reason: "inactivity" }],
      [{ event: "delete", changeTime: 1, uid: "u1", reason: "future_reason" }, "delete-user", {}],
      [{ event: "passwordChange", changeTime: 7, uid: "u1" }, "password-change", { changeTime: 7 }],
      [{ event: "reset", changeTime: 8, uid: "u1" }, "password-change", { changeTime: 8 }],
      [{ event: "profileDataChange", uid: "u1", changeTime: 1 }, "profile-change", { uid: "u1" }],
      [{ event: "primaryEmailChanged", uid: "u1", email: "e@x", changeTime: 1 }, "profile-change", { uid: "u1", email: "e@x" }],
      [{ event: "profileDataChange", uid: "u1", locale: "de", totpEnabled: true, accountLocked: false }, "profile-change", { uid: "u1", locale: "de", totpEnabled: true, accountLocked: false }],
      [{ event: "metricsChange", uid: "u1", enabled: false }, "metrics-opt-out", {}],
      [{ event: "metricsChange", uid: "u1", enabled: true }, "metrics-opt-in", {}],
    ];
    for (const [json, name, payload] of cases) {
      const token = await signSet(key, { clientId: "abc1234", json, issuedAtMs: 1654425318762, jti: "49aecf83-388f-4c20-9f63-f3be891a6755", issuer: "testing" });
      const { payload: claims, header } = await verifySet(token);
      expect(header).toEqual({ alg: "RS256", kid: "20250301-5f0e1c2d" });
      expect(claims).toEqual({
        aud: "abc1234",
        events: { [`https://schemas.accounts.firefox.com/event/${name}`]: payload },
        iat: 1654425318.762,
        jti: "49aecf83-388f-4c20-9f63-f3be891a6755",
        sub: "u1",
        iss: "testing",
      });
    }
  });

  test("an event without a SET is refused (the proxy's 500)", () => {
    expect(() => setEvent({ event: "login", uid: "u" })).toThrow("Invalid event: login");
    expect(() => setClaims({ clientId: "c", json: { event: "bogus" }, issuedAtMs: 0, jti: "j", issuer: "i" })).toThrow("Invalid event: bogus");
  });

  test("the public JWK is the vectors' JWKS entry; a jku in the key goes into the header", async () => {
    expect(key.publicJwk).toEqual(keys().jwks.keys[0]!);
    const withJku = await loadSigningKey({ ...keys().privateJwk, jku: "https://example.com/jwks" });
    const token = await signJws(withJku, { a: 1 });
    expect((await verifySet(token)).headerJson).toBe('{"alg":"RS256","jku":"https://example.com/jwks","kid":"20250301-5f0e1c2d"}');
    await expect(loadSigningKey({ kty: "RSA", n: "x", e: "AQAB" })).rejects.toThrow("private RSA JWK");
    await expect(loadSigningKey("nope")).rejects.toThrow("not a JSON object");
    await expect(loadSigningKey({ kty: "RSA", n: "x", e: "AQAB", d: "y" })).rejects.toThrow("not a usable RSA private key");
  });
});

describe("delete reasons (spec §7.11)", () => {
  test("accepts the four reasons and narrows the rest", () => {
    for (const reason of ["user", "admin", "inactivity", "unverified"]) {
      expect(isDeleteReason(reason)).toBe(true);
      expect(narrowDeleteReason(reason)).toEqual({ reason } as never);
    }
    for (const bad of ["future_reason", "fxa_user_requested_account_delete", "", undefined, null, 1, { reason: "user" }]) expect(isDeleteReason(bad)).toBe(false);
    expect(narrowDeleteReason(undefined)).toEqual({ fallback: "missing" });
    expect(narrowDeleteReason("")).toEqual({ fallback: "missing" });
    expect(narrowDeleteReason("future_reason")).toEqual({ fallback: "unknown_string" });
    for (const bad of [null, 1, { reason: "user" }]) expect(narrowDeleteReason(bad)).toEqual({ fallback: "non_string" });
  });
});
