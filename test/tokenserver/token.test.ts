// tokenlib compatibility: every entry of vectors/tokenserver/tokenlib.json (made with the real Python
// tokenlib 2.0.0), plus the json.dumps/base64/kid details those vectors depend on.
import { describe, expect, test } from "bun:test";
import { readVector } from "../support/vectors.ts";
import { createHmac } from "node:crypto";
import { hkdf } from "../../src/tokenserver/hkdf.ts";
import {
  InvalidClientStateError,
  MalformedTokenError,
  PyFloat,
  TokenError,
  formatKeyId,
  pyFloatRepr,
  pyJsonDumps,
  signingKey,
  tokenDataForRow,
  urlsafeB64encode,
  type PyJsonValue,
} from "../../src/tokenserver/token.ts";
import {
  ExpiredTokenError,
  InvalidSignatureError,
  getDerivedSecret,
  getDerivedSecretBytes,
  makeToken,
  parseToken,
  pyJsonLoads,
  splitToken,
} from "../support/tokenlib.ts";

// CI clones the repo with shared/ beside it; the env var lets a checkout elsewhere point at the vectors.

interface MakeCase {
  name: string;
  secret: string;
  input_data: Record<string, string | number>;
  random_salt_bytes_hex: string;
  now: number;
  expected_salt: string;
  expected_expires: number;
  payload_json: string;
  signing_key_hex: string;
  signature_hex: string;
  token: string;
  derived_secret_raw_hex: string;
  derived_secret: string;
  parsed: Record<string, unknown>;
}
interface TokenlibVectors {
  cases: MakeCase[];
  parse_failures: { case: string; token: string; secret: string; now: number; error: string }[];
  syncstorage_rs_fixture: { token: string; secret: string; parsed: Record<string, unknown>; derived_secret: string };
  hkdf_rfc5869: Record<string, { ikm: string; salt: string | null; info: string; L: number; okm: string }>;
}

const V = readVector<unknown>("tokenserver/tokenlib.json") as TokenlibVectors;

const ERRORS: Record<string, new (...args: never[]) => Error> = {
  MalformedTokenError,
  InvalidSignatureError,
  ExpiredTokenError,
};

/** The same data with every integer as a bigint, as the purge tool will pass it. */
function withBigints(data: Record<string, string | number>): Record<string, PyJsonValue> {
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v]),
  );
}

test("vector file has the documented shape", () => {
  expect(V.cases).toHaveLength(7);
  expect(V.parse_failures).toHaveLength(4);
  expect(Object.keys(V.hkdf_rfc5869)).toHaveLength(2);
});

describe("HKDF RFC 5869 KATs", () => {
  for (const [name, c] of Object.entries(V.hkdf_rfc5869)) {
    test(name, () => {
      const salt = c.salt === null ? null : Buffer.from(c.salt, "hex");
      const okm = hkdf(Buffer.from(c.ikm, "hex"), salt, Buffer.from(c.info, "hex"), c.L);
      expect(okm.toString("hex")).toBe(c.okm);
    });
  }
  test("rejects lengths beyond 255 blocks", () => {
    expect(() => hkdf("x", null, "", 255 * 32 + 1)).toThrow(RangeError);
    expect(hkdf("x", null, "", 255 * 32)).toHaveLength(255 * 32);
  });
});

describe("make_token cases", () => {
  for (const c of V.cases) {
    describe(c.name, () => {
      const opts = { salt: c.random_salt_bytes_hex, now: c.now };
      const token = makeToken(c.input_data, c.secret, opts);

      test("salt and expires", () => {
        expect(c.random_salt_bytes_hex).toBe(c.expected_salt); // hexlify(bytes) is the hex itself
        expect(c.now + 300).toBe(c.expected_expires);
      });
      test("payload bytes are Python's json.dumps", () => {
        expect(splitToken(token).payload.toString("latin1")).toBe(c.payload_json);
      });
      test("signing key", () => {
        expect(signingKey(c.secret).toString("hex")).toBe(c.signing_key_hex);
      });
      test("signature", () => {
        expect(splitToken(token).signature.toString("hex")).toBe(c.signature_hex);
      });
      test("token (urlsafe base64 with padding)", () => {
        expect(token).toBe(c.token);
      });
      test("bigint integers give the same token", () => {
        expect(makeToken(withBigints(c.input_data), c.secret, opts)).toBe(c.token);
      });
      test("derived secret raw and encoded", () => {
        expect(getDerivedSecretBytes(c.token, c.secret).toString("hex")).toBe(c.derived_secret_raw_hex);
        const derived = getDerivedSecret(c.token, c.secret);
        expect(derived).toBe(c.derived_secret);
        expect(derived).toHaveLength(44);
      });
      test("parsed dict, in payload order", () => {
        const parsed = parseToken(c.token, c.secret, c.now);
        expect(parsed).toEqual(c.parsed);
        expect(Object.keys(parsed)).toEqual(Object.keys(c.parsed));
      });
    });
  }
});

describe("parse failures", () => {
  for (const f of V.parse_failures) {
    test(f.case, () => {
      const cls = ERRORS[f.error];
      expect(cls).toBeDefined();
      expect(() => parseToken(f.token, f.secret, f.now)).toThrow(cls as new () => Error);
      expect(() => parseToken(f.token, f.secret, f.now)).toThrow(TokenError);
    });
  }
});

describe("syncstorage-rs auth.rs fixture", () => {
  const fx = V.syncstorage_rs_fixture;
  test("parses with the fixture secret, keys in payload order", () => {
    const parsed = parseToken(fx.token, fx.secret, 1569608439);
    expect(parsed).toEqual(fx.parsed);
    expect(Object.keys(parsed)).toEqual(Object.keys(fx.parsed));
  });
  test("derived secret", () => {
    expect(getDerivedSecret(fx.token, fx.secret)).toBe(fx.derived_secret);
  });
  test("wrong secret is an invalid signature", () => {
    expect(() => parseToken(fx.token, "wibble", 0)).toThrow(InvalidSignatureError);
  });
});

describe("parse_token details", () => {
  const c = V.cases[0] as MakeCase;
  const expires = c.now + 300;

  test("expires <= now is expired; just before is fine", () => {
    expect(() => parseToken(c.token, c.secret, expires)).toThrow(ExpiredTokenError);
    expect(parseToken(c.token, c.secret, expires - 0.001)["uid"]).toBe(123);
  });
  test("characters outside the alphabet are skipped, as Python's base64 does", () => {
    const withBang = `${c.token.slice(0, 10)}!${c.token.slice(10)}`;
    expect(parseToken(withBang, c.secret, c.now)).toEqual(c.parsed);
  });
  test("missing padding is malformed", () => {
    const padded = (V.cases[1] as MakeCase).token;
    expect(padded.endsWith("==")).toBe(true);
    expect(() => parseToken(padded.slice(0, -2), c.secret, 0)).toThrow(MalformedTokenError);
    expect(() => getDerivedSecret(padded.slice(0, -2), c.secret)).toThrow(MalformedTokenError);
  });
  test("non-ASCII token is malformed", () => {
    expect(() => parseToken(`${c.token}é`, c.secret, 0)).toThrow(MalformedTokenError);
  });
  test("a short token is an invalid signature, not a crash", () => {
    expect(() => parseToken("AAAA", c.secret, 0)).toThrow(InvalidSignatureError);
  });
  test("signed non-object or expires-less payloads are malformed", () => {
    for (const payload of ["42", "{}", '{"expires": "soon"}']) {
      const t = signedToken(payload, c.secret);
      expect(() => parseToken(t, c.secret, 0)).toThrow(MalformedTokenError);
    }
  });
  test("integers beyond 2^53 come back exact, as bigint", () => {
    const big = 9223372036854775807n;
    const t = makeToken({ uid: big, node: "n" }, "s", { salt: "000000", now: 1 });
    expect(parseToken(t, "s", 0)["uid"]).toBe(big);
  });
});

/** A correctly signed token around an arbitrary payload, to reach the checks after the signature. */
function signedToken(payload: string, secret: string): string {
  const body = Buffer.from(payload, "utf8");
  const sig = createHmac("sha256", signingKey(secret)).update(body).digest();
  return urlsafeB64encode(Buffer.concat([body, sig]));
}

describe("get_derived_secret details", () => {
  const c = V.cases[0] as MakeCase;
  test("raises Malformed for {}, 42 and NOTJSON payloads (tokenlib's own test)", () => {
    for (const payload of ["{}", "42", "NOTJSON"]) {
      const t = urlsafeB64encode(Buffer.concat([Buffer.from(payload), Buffer.alloc(32)]));
      expect(() => getDerivedSecret(t, c.secret)).toThrow(MalformedTokenError);
    }
  });
  test("does not verify the signature", () => {
    expect(getDerivedSecret(c.token, "OTHER")).not.toBe(c.derived_secret);
  });
  test("differs per token and per master secret", () => {
    const other = makeToken(c.input_data, c.secret, { salt: c.random_salt_bytes_hex, now: c.now + 1 });
    expect(getDerivedSecret(other, c.secret)).not.toBe(c.derived_secret);
    expect(getDerivedSecret(c.token, "SECRET2")).not.toBe(c.derived_secret);
  });
});

describe("make_token details", () => {
  test("defaults: random 6-hex salt, expires = now + 300 as a float", () => {
    const t = makeToken({ uid: 1 }, "s", { now: 1000 });
    const p = parseToken(t, "s", 0);
    expect(p["salt"]).toMatch(/^[0-9a-f]{6}$/);
    expect(splitToken(t).payload.toString()).toEndWith('"expires": 1300.0}');
  });
  test("timeout option", () => {
    const t = makeToken({ uid: 1 }, "s", { salt: "aaaaaa", now: 1000.5, timeout: 60 });
    expect(splitToken(t).payload.toString()).toBe('{"uid": 1, "salt": "aaaaaa", "expires": 1060.5}');
  });
  test("the clock default is close to now", () => {
    const p = parseToken(makeToken({ uid: 1 }, "s"), "s", 0);
    expect(Math.abs((p["expires"] as number) - 300 - Date.now() / 1000)).toBeLessThan(5);
  });
  test("caller-supplied salt and expires keep their position (dict semantics)", () => {
    const t = makeToken({ expires: new PyFloat(5), uid: 1, salt: "abc" }, "s", { salt: "zzz", now: 1 });
    expect(splitToken(t).payload.toString()).toBe('{"expires": 5.0, "uid": 1, "salt": "abc"}');
  });
  test("the input object is not modified", () => {
    const data = { uid: 1 };
    makeToken(data, "s", { now: 1 });
    expect(data).toEqual({ uid: 1 });
  });
  test("a lone surrogate in the secret is refused (Python cannot UTF-8 encode it)", () => {
    expect(() => makeToken({}, "\ud800", { now: 1 })).toThrow(TypeError);
  });
});

describe("Python json.dumps compatibility", () => {
  test("float repr", () => {
    const cases: [number, string][] = [
      [1700000300, "1700000300.0"],
      [1700000300.5, "1700000300.5"],
      [1795386204.2253888, "1795386204.2253888"],
      [0.1, "0.1"],
      [1e16, "1e+16"],
      [1e15, "1000000000000000.0"],
      [1.5e300, "1.5e+300"],
      [123456789012345678, "1.2345678901234568e+17"],
      [1e22, "1e+22"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [2.5e-7, "2.5e-07"],
      [5e-324, "5e-324"],
      [-2.5, "-2.5"],
      [0, "0.0"],
      [-0, "-0.0"],
      [NaN, "NaN"],
      [Infinity, "Infinity"],
      [-Infinity, "-Infinity"],
    ];
    for (const [x, repr] of cases) expect(pyFloatRepr(x)).toBe(repr);
  });
  test("strings: ensure_ascii with lower-case hex, surrogate pairs, '/' unescaped", () => {
    expect(pyJsonDumps("a/b")).toBe('"a/b"');
    expect(pyJsonDumps("nöde ☃ 😀")).toBe('"n\\u00f6de \\u2603 \\ud83d\\ude00"');
    expect(pyJsonDumps('"\\\n\r\t\b\f')).toBe('"\\"\\\\\\n\\r\\t\\b\\f"');
    expect(pyJsonDumps("\u0000\u001f\u007f")).toBe('"\\u0000\\u001f\\u007f"');
    expect(pyJsonDumps("\ud800")).toBe('"\\ud800"');
  });
  test("numbers, bigints, constants, containers and separators", () => {
    expect(pyJsonDumps(9223372036854775807n)).toBe("9223372036854775807");
    expect(pyJsonDumps(-3)).toBe("-3");
    expect(pyJsonDumps(new PyFloat(3))).toBe("3.0");
    expect(pyJsonDumps(0.5)).toBe("0.5");
    expect(pyJsonDumps([true, false, null, [], {}])).toBe("[true, false, null, [], {}]");
    expect(pyJsonDumps({ a: { b: [1, "x"] } })).toBe('{"a": {"b": [1, "x"]}}');
  });
  test("a Map keeps insertion order even for integer-like keys", () => {
    expect(pyJsonDumps(new Map<string, PyJsonValue>([["b", 1], ["1", 2]]))).toBe('{"b": 1, "1": 2}');
  });
  test("json.loads counterpart", () => {
    expect(pyJsonLoads('{"a": [1, 2.5, "\\u00f6\\ud83d\\ude00", true, null], "b": 18446744073709551616}')).toEqual({
      a: [1, 2.5, "ö😀", true, null],
      b: 18446744073709551616n,
    });
    expect(() => pyJsonLoads('{"a": 1} x')).toThrow(SyntaxError);
    expect(() => pyJsonLoads('"\u0001"')).toThrow(SyntaxError);
    const proto = pyJsonLoads('{"__proto__": 1}') as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(["__proto__"]);
  });
});

describe("format_key_id", () => {
  test("documented examples", () => {
    expect(formatKeyId(450n, "bb")).toBe("0000000000450-uw");
    expect(formatKeyId(123n, "aa")).toBe("0000000000123-qg");
    expect(formatKeyId(0n, "")).toBe("0000000000000-");
    expect(formatKeyId(3n, "AB")).toBe("0000000000003-qw");
    expect(formatKeyId(1569608439n, "de697ad66d845b2873c9d7e13b8971af")).toBe("0001569608439-3ml61m2EWyhzydfhO4lxrw");
  });
  test("width is a minimum; 2^63-1 keeps all 19 digits", () => {
    expect(formatKeyId(9223372036854775807n, "")).toBe("9223372036854775807-");
    expect(formatKeyId(12345678901234n, "")).toBe("12345678901234-");
  });
  test("a negative number keeps its sign inside the width", () => {
    expect(formatKeyId(-5n, "")).toBe("-000000000005-");
    expect(formatKeyId(-1234567890123n, "")).toBe("-1234567890123-");
  });
  test("bad hex throws InvalidClientStateError, which is not a TokenError", () => {
    for (const bad of ["abc", "zz", "a ", "0x"]) {
      expect(() => formatKeyId(1n, bad)).toThrow(InvalidClientStateError);
    }
    try {
      formatKeyId(1n, "zz");
    } catch (err) {
      expect(err).not.toBeInstanceOf(TokenError);
      expect((err as Error).name).toBe("InvalidClientStateError");
    }
  });
});

describe("tokenDataForRow", () => {
  const row = { uid: 12n, email: "x@y@z", keysChangedAt: 3n, generation: 5n, clientState: "AB" };
  test("ordered uid, node, fxa_uid, fxa_kid", () => {
    const d = tokenDataForRow(row, "https://spanner.example.com");
    expect(Object.keys(d)).toEqual(["uid", "node", "fxa_uid", "fxa_kid"]);
    expect(d).toEqual({ uid: 12n, node: "https://spanner.example.com", fxa_uid: "x", fxa_kid: "0000000000003-qw" });
  });
  test("fxa_uid is the text before the first '@', or the whole email", () => {
    expect(tokenDataForRow({ ...row, email: "noat" }, "n").fxa_uid).toBe("noat");
    expect(tokenDataForRow({ ...row, email: "@x" }, "n").fxa_uid).toBe("");
  });
  test("NULL or 0 keys_changed_at falls back to generation", () => {
    expect(tokenDataForRow({ ...row, keysChangedAt: null }, "n").fxa_kid).toBe("0000000000005-qw");
    expect(tokenDataForRow({ ...row, keysChangedAt: 0n }, "n").fxa_kid).toBe("0000000000005-qw");
  });
});

test("JSON.parse of 2^63-1 as a number would give the wrong kid: BigInt is required", () => {
  const asNumber = (JSON.parse('{"generation": 9223372036854775807}') as { generation: number }).generation;
  expect(Number.isSafeInteger(asNumber)).toBe(false);
  expect(formatKeyId(BigInt(asNumber), "")).toBe("9223372036854775808-"); // what a number-based port sends
  expect(formatKeyId(BigInt("9223372036854775807"), "")).toBe("9223372036854775807-");
  const retired = V.cases.find((c) => c.name === "retired_user_max_generation") as MakeCase;
  expect(retired.input_data["fxa_kid"]).toBe(formatKeyId(9223372036854775807n, ""));
});
