// The shared HTTP pieces: the runtime adapter (port 0, graceful stop), the error funnel, the body
// limit, the bearer token and the Dockerflow routes.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { bearerToken, tokenMatches } from "../../src/http/bearer-token.ts";
import { readBodyWithin, readUpTo } from "../../src/http/body-limit.ts";
import { dockerflowRoutes } from "../../src/http/dockerflow.ts";
import { errorFunnel } from "../../src/http/error-funnel.ts";
import { HttpError, isHttpProblem, type HttpProblem } from "../../src/http/problem.ts";
import { serve, type ServerEnv } from "../../src/http/serve.ts";


function funnelled(app: Hono<any>, seen: { problem: HttpProblem; cause: unknown }[] = []) {
  const funnel = errorFunnel({
    internal: (error) => new HttpError(500, `internal: ${(error as Error).message}`, 100),
    onProblem: (problem, _c, cause) => void seen.push({ problem, cause }),
  });
  app.onError(funnel.onError);
  app.notFound(funnel.notFound);
  return app;
}

describe("serve (the runtime adapter)", () => {
  test("port 0 binds a free port; the peer address reaches the handler; stop() lets in-flight requests finish", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const slowStarted = new Promise<void>((resolve) => (entered = resolve));
    const app = new Hono<{ Bindings: ServerEnv }>()
      .get("/peer", (c) => c.text(c.env.peer?.() ?? "?"))
      .get("/slow", async (c) => {
        entered();
        await gate;
        return c.text("finished");
      });
    const server = serve(app, { port: 0, hostname: "127.0.0.1" });
    expect(server.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${server.port}`;
    expect(await (await fetch(`${base}/peer`)).text()).toBe("127.0.0.1");
    const slow = fetch(`${base}/slow`).then((r) => r.text());
    await slowStarted; // the request is in flight
    const stopped = server.stop();
    let stoppedYet = false;
    void stopped.then(() => (stoppedYet = true));
    await expect(fetch(`${base}/peer`)).rejects.toThrow(); // no new connections
    expect(stoppedYet).toBe(false); // still waiting for /slow
    release();
    expect(await slow).toBe("finished");
    await stopped;
  });
});

describe("error funnel", () => {
  test("problems render as themselves; anything else through `internal`; unknown routes as 404", async () => {
    const seen: { problem: HttpProblem; cause: unknown }[] = [];
    const app = funnelled(
      new Hono()
        .get("/problem", () => {
          throw new HttpError(401, "nope");
        })
        .get("/bug", () => {
          throw new TypeError("x is undefined");
        }),
      seen,
    );
    const problem = await app.request("/problem");
    expect(problem.status).toBe(401);
    expect(problem.headers.get("content-type")).toBe("application/json");
    expect(await problem.text()).toBe('{"code":401,"error":"Unauthorized","errno":999,"message":"nope"}');
    const bug = await app.request("/bug");
    expect(bug.status).toBe(500);
    expect(await bug.json()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: "internal: x is undefined" });
    const missing = await app.request("/missing", { method: "POST" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ code: 404, error: "Not Found", errno: 999, message: "No route for POST /missing" });
    expect(seen.map((s) => s.problem.status)).toEqual([401, 500, 404]);
    expect(seen[1]!.cause).toBeInstanceOf(TypeError);
  });

  test("isHttpProblem recognises the shape", () => {
    expect(isHttpProblem(new HttpError(400, "x"))).toBe(true);
    expect(isHttpProblem(new Error("x"))).toBe(false);
    expect(isHttpProblem(null)).toBe(false);
  });
});

describe("readBodyWithin", () => {
  const post = (body: string, headers: Record<string, string> = {}) => new Request("http://x/", { method: "POST", body, headers });

  test("reads bodies up to the limit", async () => {
    expect(await readBodyWithin(post("abcd"), 4)).toEqual(new TextEncoder().encode("abcd"));
    expect(await readBodyWithin(new Request("http://x/"), 4)).toEqual(new Uint8Array(0));
  });

  test("refuses a declared length over the limit without reading", async () => {
    const request = post("abcde", { "content-length": "5" });
    expect(await readBodyWithin(request, 4)).toBeUndefined();
    expect(request.bodyUsed).toBe(false);
  });

  test("counts a streamed body and stops at the limit", async () => {
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        controller.enqueue(new Uint8Array(1000));
      },
    });
    const request = new Request("http://x/", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(await readBodyWithin(request, 2500)).toBeUndefined();
    expect(pulls).toBeLessThan(6);
  });
});

describe("readUpTo", () => {
  const chunks = (...sizes: number[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        let next = 0;
        for (const size of sizes) controller.enqueue(Uint8Array.from({ length: size }, () => next++ % 256));
        controller.close();
      },
    });

  test("under or at the limit: every byte, not cut; over it: the first maxBytes, cut", async () => {
    expect(await readUpTo(chunks(3, 4), 10)).toEqual({ bytes: Uint8Array.from([0, 1, 2, 3, 4, 5, 6]), cut: false });
    expect(await readUpTo(chunks(5, 5), 10)).toEqual({ bytes: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), cut: false });
    expect(await readUpTo(chunks(5, 5, 1), 10)).toEqual({ bytes: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), cut: true });
    expect(await readUpTo(chunks(4, 9), 6)).toEqual({ bytes: Uint8Array.from([0, 1, 2, 3, 4, 5]), cut: true });
    expect(await readUpTo(chunks(1), 0)).toEqual({ bytes: new Uint8Array(0), cut: true });
  });
});

describe("bearer token", () => {
  test("constant-time comparison of any lengths", () => {
    expect(tokenMatches("secret-token", "secret-token")).toBe(true);
    expect(tokenMatches("secret-token", "secret-tokeN")).toBe(false);
    expect(tokenMatches("secret-token", "")).toBe(false);
    expect(tokenMatches("secret-token", "secret-token-but-longer")).toBe(false);
  });

  test("middleware: 401 problem unless the bearer token matches", async () => {
    const app = funnelled(new Hono().use("*", bearerToken("secret-token")).get("/", (c) => c.text("ok")));
    expect((await app.request("/")).status).toBe(401);
    expect((await app.request("/", { headers: { authorization: "Bearer secret" } })).status).toBe(401);
    expect((await app.request("/", { headers: { authorization: "Token secret-token" } })).status).toBe(401);
    expect(await (await app.request("/", { headers: { authorization: "Bearer secret-token" } })).text()).toBe("ok");
  });
});

describe("dockerflow routes", () => {
  test("lbheartbeat, heartbeat (with its check) and version (sorted keys)", async () => {
    let healthy = true;
    const routes = dockerflowRoutes({
      heartbeat: async () => {
        if (!healthy) throw new HttpError(500, "database down", 100);
      },
      version: { version: "1.2.3", source: "https://example.com/repo", commit: "abc", build: "ci-1" },
    });
    const app = funnelled(new Hono().route("/", routes));
    expect(await (await app.request("/__lbheartbeat__")).text()).toBe("{}");
    expect(await (await app.request("/__heartbeat__")).text()).toBe("{}");
    expect(await (await app.request("/__version__")).text()).toBe('{"build":"ci-1","commit":"abc","source":"https://example.com/repo","version":"1.2.3"}');
    healthy = false;
    const down = await app.request("/__heartbeat__");
    expect(down.status).toBe(500);
    expect(await down.json()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: "database down" });
    expect((await app.request("/__lbheartbeat__")).status).toBe(200);
  });
});
