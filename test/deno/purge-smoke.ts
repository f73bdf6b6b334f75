// Deno smoke test (run by .ci/run with `deno run -A`): a real purge of one replaced row under Deno,
// which sends its DELETE through node:http (Deno's fetch would replace the signed Host header), to a
// storage node that verifies the Hawk header and token. Usage: deno run -A test/deno/purge-smoke.ts DB_URL
import { createServer } from "node:http";
import { createLogger } from "../../src/core/logger.ts";
import { noopMetrics } from "../../src/core/metrics.ts";
import { createSql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS } from "../../src/tokenserver/migrations/index.ts";
import { purgeOldRecords } from "../../src/tokenserver/purge.ts";
import { createTokenserverRepository } from "../../src/tokenserver/repository.ts";
import { createStorageDeleter } from "../../src/tokenserver/storage-delete.ts";
import { verifyHawkRequest } from "../support/hawk-verify.ts";
import { getDerivedSecret, parseToken } from "../support/tokenlib.ts";

const SECRET = "deno smoke secret";
const verified: boolean[] = [];
const server = createServer((req, res) => {
  const now = Date.now() / 1000;
  const hawk = verifyHawkRequest(
    { method: req.method ?? "", path: req.url ?? "", host: req.headers.host, authorization: req.headers.authorization },
    (id) => {
      try {
        parseToken(id, SECRET, now);
        return getDerivedSecret(id, SECRET);
      } catch {
        return null; // refused below
      }
    },
    { now: Math.floor(now), skewSeconds: 60 },
  );
  verified.push(hawk.ok);
  res.statusCode = hawk.ok ? 200 : 401;
  res.end();
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const node = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const sql = createSql(process.argv[2]!, { max: 2 });
const log = createLogger({ name: "deno-smoke", level: "error", format: "json" });
let failure = "";
try {
  await migrate(sql, TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS);
  const repo = createTokenserverRepository(sql, { now: () => BigInt(Date.now() - 60_000) });
  await repo.addNode(node, 100);
  const user = await repo.allocateUser("deno@example.com", { clientState: "aa" });
  await repo.replaceUserRecord(user.uid);
  const result = await purgeOldRecords(
    { sql, repo, metrics: noopMetrics, log, out: () => {}, deleteStorage: createStorageDeleter({ secret: SECRET, timeoutMs: 10_000, maxAttempts: 1, metrics: noopMetrics, log }) },
    { gracePeriod: 0, maxPerLoop: 10, maxOffset: 0, maxRecords: 0, concurrency: 1, dryrun: false, force: false, ledger: false },
  );
  const left = (await repo.getUserRecords("deno@example.com")).length;
  if (!result.ok || result.actions.purge !== 1 || left !== 0) failure = `purge result ${JSON.stringify(result.actions)}, ${left} rows left`;
  else if (verified.length !== 1 || !verified[0]) failure = `storage node saw ${verified.length} request(s), verified: ${verified}`;
} finally {
  await sql.end();
  server.close();
}
if (failure) {
  console.error(`FAIL: ${failure}`);
  process.exit(1);
}
console.log("ok: purged one row under Deno with a verified Hawk DELETE");
