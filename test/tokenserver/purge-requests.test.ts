// End-to-end delete_service_data: vectors/tokenserver/purge_delete_requests.json was taken from the real
// purge_old_records.py with requests.delete intercepted. Row -> token data -> token -> derived secret ->
// URL -> Host/Authorization headers must all match.
import { describe, expect, test } from "bun:test";
import { readVector } from "../support/vectors.ts";
import { makeNonce, signDeleteServiceData } from "../../src/tokenserver/hawk.ts";
import { deleteServiceDataUrl, formatKeyId, tokenDataForRow, type PurgeRowForToken } from "../../src/tokenserver/token.ts";
import { getDerivedSecret, makeToken, parseToken } from "../support/tokenlib.ts";


interface PurgeCase {
  name: string;
  row: Record<string, unknown>;
  row_as_strings: {
    uid: string;
    node: string;
    email: string;
    generation: string;
    keys_changed_at: string | null;
    client_state: string;
  };
  secret: string;
  override_node: string | null;
  random_salt_bytes_hex: string;
  tokenlib_now: number;
  hawk_time: number;
  random_nonce_bytes_hex: string;
  token_data: Record<string, unknown>;
  token: string;
  derived_secret: string;
  request: { url: string; timeout: number; headers: Record<string, string> };
}

const V = readVector<unknown>("tokenserver/purge_delete_requests.json") as { cases: PurgeCase[] };

// row_as_strings, because JSON.parse would round 2^63-1 in `row`.
function rowOf(c: PurgeCase): PurgeRowForToken {
  const r = c.row_as_strings;
  return {
    uid: BigInt(r.uid),
    email: r.email,
    generation: BigInt(r.generation),
    keysChangedAt: r.keys_changed_at === null ? null : BigInt(r.keys_changed_at),
    clientState: r.client_state,
  };
}

test("vector file has the documented shape", () => {
  expect(V.cases).toHaveLength(5);
});

for (const c of V.cases) {
  describe(c.name, () => {
    const row = rowOf(c);
    const node = c.override_node ?? c.row_as_strings.node;
    const nonce = makeNonce(Buffer.from(c.random_nonce_bytes_hex, "hex"));

    test("token data (4 fields, in order) then salt and expires", () => {
      const data = tokenDataForRow(row, node);
      const expected = Object.entries(c.token_data);
      const entries: [string, unknown][] = Object.entries(data).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]);
      expect(entries).toEqual(
        expected.slice(0, 4),
      );
      expect(expected.slice(4).map(([k]) => k)).toEqual(["salt", "expires"]);
    });
    test("token", () => {
      const token = makeToken(tokenDataForRow(row, node), c.secret, {
        salt: c.random_salt_bytes_hex,
        now: c.tokenlib_now,
      });
      expect(token).toBe(c.token);
      expect(parseToken(token, c.secret, c.tokenlib_now)).toEqual(c.token_data);
    });
    test("derived secret", () => {
      expect(getDerivedSecret(c.token, c.secret)).toBe(c.derived_secret);
    });
    test("URL", () => {
      expect(deleteServiceDataUrl(node, row.uid)).toBe(c.request.url);
    });
    test("signDeleteServiceData reproduces the whole request", () => {
      const req = signDeleteServiceData(row, {
        secret: c.secret,
        node,
        salt: c.random_salt_bytes_hex,
        now: c.tokenlib_now,
        ts: c.hawk_time,
        nonce,
      });
      expect(req.token).toBe(c.token);
      expect(req.derivedSecret).toBe(c.derived_secret);
      expect(req.url).toBe(c.request.url);
      expect(req.headers).toEqual({
        Host: c.request.headers["Host"] as string,
        Authorization: c.request.headers["Authorization"] as string,
      });
    });
  });
}

test("the BigInt pitfall: `row` parsed as numbers gives the wrong kid for MAX_GENERATION", () => {
  const c = V.cases.find((x) => x.name === "retired_user_max_generation") as PurgeCase;
  const generation = c.row["generation"] as number; // JSON.parse already rounded it to 2^63
  expect(generation).toBe(2 ** 63);
  const wrong = formatKeyId(BigInt(generation), c.row_as_strings.client_state);
  expect(wrong).toBe("9223372036854775808-ASNFZ4mrze8BI0VniavN7w");
  expect(wrong).not.toBe(c.token_data["fxa_kid"]);
  expect(tokenDataForRow(rowOf(c), c.row_as_strings.node).fxa_kid).toBe(c.token_data["fxa_kid"] as string);
});

test("each attempt gets a fresh token and nonce when randomness is not pinned", () => {
  const c = V.cases[0] as PurgeCase;
  const a = signDeleteServiceData(rowOf(c), { secret: c.secret, node: c.row_as_strings.node, now: 1, ts: 1 });
  const b = signDeleteServiceData(rowOf(c), { secret: c.secret, node: c.row_as_strings.node, now: 1, ts: 1 });
  expect(a.token).not.toBe(b.token);
  expect(a.headers.Authorization).not.toBe(b.headers.Authorization);
});
