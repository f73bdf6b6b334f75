// The SQS emulator in its own process, so the benchmark's tool does not share a thread with it.
// Prints the port on stdout once listening.
import { startFauxqs } from "fauxqs";

const server = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
console.log(server.port);
process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
