// Loopback relying parties in their own process (so they do not share the benchmark's thread): N webhooks
// answering 200 (argv[3] ms after the request, default at once), each recording the SET's jti and the
// receipt time (epoch ms). Prints the ports as JSON.
// GET /__count on any of them gives the total received; GET /__received gives [jti, at] pairs.
const count = Number(process.argv[2] ?? 10);
const answerAfterMs = Number(process.argv[3] ?? 0);
const received: [string, number][] = [];

function jtiOf(authorization: string | null): string {
  const payload = authorization?.split(".")[1];
  return payload ? (JSON.parse(Buffer.from(payload, "base64url").toString()) as { jti: string }).jti : "";
}

const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/__count") return new Response(String(received.length));
      if (path === "/__received") return Response.json(received);
      received.push([jtiOf(request.headers.get("authorization")), Date.now()]);
      if (answerAfterMs > 0) return new Promise<Response>((resolve) => setTimeout(() => resolve(new Response(null, { status: 200 })), answerAfterMs));
      return new Response(null, { status: 200 });
    },
  });
  ports.push(server.port!);
}
console.log(JSON.stringify(ports));
process.on("SIGTERM", () => process.exit(0));
