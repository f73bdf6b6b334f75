// The benchmark's baseline: bare Hono on Bun, one route that validates the /send body with zod and
// answers like the mock provider, nothing else (no bounce check, no logging). Prints its port.
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";

const email = z.string().email();
const schema = z.object({
  to: email,
  cc: z.array(email).nullish(),
  subject: z.string(),
  body: z.object({ text: z.string(), html: z.string().nullish() }),
  headers: z.record(z.string(), z.string()).nullish(),
  provider: z.string().nullish(),
  metadata: z.string().nullish(),
});

const app = new Hono().post("/send", zValidator("json", schema), (c) => c.json({ messageId: "mock:deadbeef" }));
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
console.log(server.port);
