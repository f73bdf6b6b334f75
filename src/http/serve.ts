// The runtime adapter: serves a fetch handler with Bun.serve or Deno.serve. Port 0 picks a free port;
// `stop()` stops accepting connections and resolves once in-flight requests have been answered.
// The handler's second argument finds the peer address, whichever runtime serves.

export interface ServerEnv {
  /** The peer's address; a function because finding it costs time and only logging needs it. */
  peer?: () => string | undefined;
}

export interface FetchApp {
  fetch(request: Request, env: ServerEnv): Response | Promise<Response>;
}

export interface RunningServer {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Graceful: no new connections, in-flight requests finish. `force` also cuts open connections (Bun). */
  stop(force?: boolean): Promise<void>;
}

interface DenoLike {
  serve(
    options: { port: number; hostname: string; onListen?: () => void },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

/**
 * Stops accepting connections and lets in-flight requests finish; if `abandon` aborts first (the stop
 * bound is nearly used up), their connections are cut.
 */
export async function stopGracefully(server: RunningServer, abandon: AbortSignal): Promise<void> {
  const cut = () => void server.stop(true);
  abandon.addEventListener("abort", cut, { once: true });
  try {
    await server.stop();
  } finally {
    abandon.removeEventListener("abort", cut);
  }
}

export function serve(app: FetchApp, options: { port: number; hostname: string }): RunningServer {
  const bun = (globalThis as { Bun?: typeof Bun }).Bun;
  if (bun) {
    const server = bun.serve({
      port: options.port,
      hostname: options.hostname,
      fetch: (request, srv) => app.fetch(request, { peer: () => srv.requestIP(request)?.address }),
    });
    return { port: server.port ?? options.port, stop: (force = false) => server.stop(force) };
  }
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno) {
    // onListen replaces Deno's own "Listening on ..." line on stdout; callers log the port themselves.
    const server = deno.serve({ port: options.port, hostname: options.hostname, onListen: () => {} }, (request, info) =>
      app.fetch(request, { peer: () => info.remoteAddr.hostname }),
    );
    return { port: server.addr.port, stop: () => server.shutdown() };
  }
  throw new Error("serve: neither Bun nor Deno is available");
}
