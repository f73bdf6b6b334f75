// A network stand-in in its own process: forwards every request to the target (argv[2], e.g.
// http://127.0.0.1:4566) and answers `delayMs` (argv[3]) later than the target did, as a service
// across a network would. Prints its port once listening.
const target = process.argv[2]!;
const delayMs = Number(process.argv[3] ?? 10);

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    headers.delete("content-length");
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    const [answer] = await Promise.all([
      fetch(`${target}${url.pathname}${url.search}`, { method: request.method, headers, body }),
      new Promise((resolve) => setTimeout(resolve, delayMs)),
    ]);
    return new Response(await answer.arrayBuffer(), { status: answer.status, headers: answer.headers });
  },
});
console.log(server.port);
process.on("SIGTERM", () => process.exit(0));
