// The stack's inspection API on a free loopback port: what the stand-ins received, for the demo (which
// may run in another process than the stack) and for a curious developer.
//   GET /state             the stack's state (as in the state file)
//   GET /smtp/messages     messages the SMTP sink accepted, oldest first
//   GET /storage/requests  requests the storage node answered, oldest first
//   GET /ses/messages      messages the SES stand-in accepted (with the MessageId it gave), oldest first
//   GET /rp/sets           relying party → the SETs it received (verified or why not), oldest first
export interface ControlSources {
  state(): unknown;
  smtpMessages(): unknown[];
  storageRequests(): unknown[];
  sesMessages(): unknown[];
  relyingPartySets(): Record<string, unknown[]>;
}

export interface StackControl {
  url: string;
  stop(): Promise<void>;
}

export function startControl(sources: ControlSources): StackControl {
  const routes: Record<string, () => unknown> = {
    "/state": sources.state,
    "/smtp/messages": sources.smtpMessages,
    "/storage/requests": sources.storageRequests,
    "/ses/messages": sources.sesMessages,
    "/rp/sets": sources.relyingPartySets,
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const route = routes[new URL(req.url).pathname];
      if (req.method !== "GET" || !route) return Response.json({ error: "not found", routes: Object.keys(routes) }, { status: 404 });
      return Response.json(route());
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
