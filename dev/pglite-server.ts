// PGlite (PostgreSQL compiled to WebAssembly, in memory) served over the PostgreSQL wire protocol on a
// free loopback port, for machines without PostgreSQL. Its own process, so the stack's event loop stays
// free while PGlite works. Prints `ready <port>` on stdout once it accepts connections; SIGTERM or
// SIGINT closes it (the data is gone: nothing is written to disk).
//
// The socket server multiplexes every connection onto PGlite's single backend (spec/toolchain.md §4).
// A connection over the limit gets a plain-text refusal that postgres.js waits on forever, so the limit
// is far above what the tools open (a few pools of 2–5) rather than PGlite's default of 1.
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const MAX_CONNECTIONS = 64;

const db = await PGlite.create();
const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: MAX_CONNECTIONS });
await server.start();
const port = Number(server.getServerConn().split(":").at(-1));
const [{ version }] = (await db.query<{ version: string }>("select version()")).rows as [{ version: string }];
console.log(`ready ${port} ${version.split(" on ")[0]}`); // "PostgreSQL 18.6 (PGlite 0.5.16)"

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(130); // a second signal: at once
  stopping = true;
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
