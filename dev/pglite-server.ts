// PGlite (PostgreSQL compiled to WebAssembly, in memory) served over the PostgreSQL wire protocol on a
// free loopback port, for machines without PostgreSQL. Its own process, so the stack's event loop stays
// free while PGlite works. Prints `ready <port>` on stdout once it accepts connections; SIGTERM or
// SIGINT closes it (the data is gone: nothing is written to disk).
//
// The socket server multiplexes every connection onto PGlite's single backend (spec/toolchain.md §4).
// A connection over the limit gets a plain-text refusal that postgres.js waits on forever, so the limit
// is far above what the tools open (a few pools of 2–5) rather than PGlite's default of 1.
//
// The server queues the connections' protocol messages one by one and keeps the backend to one
// connection only while PGlite reports a transaction. An extended-protocol query (Parse, Bind,
// Execute, … up to its Sync) is not one, so another connection's Bind could land between a Bind and
// its Execute ("portal "" does not exist") or a statement inside another's BEGIN … SET TRANSACTION.
// Counting an unfinished pipeline as a transaction keeps each connection's query whole; this matters
// once several tools poll the database at once (account-config, event-broker's delivery claims).
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const MAX_CONNECTIONS = 64;

const db = await PGlite.create();

// A message that ends a pipeline: Sync, a simple Query, Terminate, or the startup packet (it has no type
// byte; its first byte is the high byte of a small length).
const ENDS_PIPELINE = new Set(["S".charCodeAt(0), "Q".charCodeAt(0), "X".charCodeAt(0), 0]);
let pipelineOpen = false;
const execProtocolRawStream = db.execProtocolRawStream.bind(db);
db.execProtocolRawStream = async (message, options) => {
  try {
    return await execProtocolRawStream(message, options);
  } finally {
    pipelineOpen = !ENDS_PIPELINE.has(message[0]!);
  }
};
const isInTransaction = db.isInTransaction.bind(db);
db.isInTransaction = () => pipelineOpen || isInTransaction();
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
