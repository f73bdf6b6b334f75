// What the stack's database can do that some tools rely on, found by trying it at start rather than
// assumed from its name. PostgreSQL passes both; PGlite behind its socket server fails both, because
// every connection shares its one backend (spec/toolchain.md §4).
import postgres from "postgres";

export type Capability = "exclusive-advisory-locks" | "listen-notify";

export interface CapabilityReport {
  /** Capabilities that held. */
  has: Capability[];
  /** Capability → what went wrong, in a sentence. */
  missing: Partial<Record<Capability, string>>;
}

/** Who needs what, said once at start next to a missing capability. */
export const CAPABILITY_USES: Record<Capability, string> = {
  "exclusive-advisory-locks":
    "purge-old-records instances on one database claim rows with advisory locks; here they would not exclude each other, so run one instance at a time",
  "listen-notify":
    "account-config is woken by NOTIFY, so here the stack runs it with a 250 ms poll instead; event-broker learns a client registry change at its next full reload (every minute), not within a second",
};

// How long a NOTIFY may take to arrive before we call it lost: PostgreSQL delivers within milliseconds.
const NOTIFY_WAIT_MS = 1_000;

const client = (url: string) => postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });

async function probeAdvisoryLocks(url: string): Promise<string | null> {
  const key = Math.floor(Math.random() * 2 ** 31);
  const [a, b] = [client(url), client(url)];
  try {
    const [first] = await a<[{ got: boolean }]>`select pg_try_advisory_lock(${key}) as got`;
    const [second] = await b<[{ got: boolean }]>`select pg_try_advisory_lock(${key}) as got`;
    if (!first.got) return "the first session could not take a free advisory lock";
    return second.got ? "a second session took an advisory lock the first one held" : null;
  } finally {
    await Promise.all([a`select pg_advisory_unlock_all()`, b`select pg_advisory_unlock_all()`]);
    await Promise.all([a.end({ timeout: 1 }), b.end({ timeout: 1 })]);
  }
}

async function probeNotify(url: string): Promise<string | null> {
  const channel = `dev_probe_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const [listener, sender] = [client(url), client(url)];
  try {
    let delivered!: () => void;
    const arrived = new Promise<"delivered">((resolve) => (delivered = () => resolve("delivered")));
    await listener.listen(channel, () => delivered());
    await sender`select pg_notify(${channel}, 'probe')`;
    const lost = new Promise<"lost">((resolve) => setTimeout(() => resolve("lost"), NOTIFY_WAIT_MS).unref());
    return (await Promise.race([arrived, lost])) === "lost" ? `a NOTIFY did not reach a listening session within ${NOTIFY_WAIT_MS} ms` : null;
  } finally {
    await Promise.all([listener.end({ timeout: 1 }), sender.end({ timeout: 1 })]);
  }
}

export async function probeCapabilities(url: string): Promise<CapabilityReport> {
  const report: CapabilityReport = { has: [], missing: {} };
  const probes: [Capability, (url: string) => Promise<string | null>][] = [
    ["exclusive-advisory-locks", probeAdvisoryLocks],
    ["listen-notify", probeNotify],
  ];
  for (const [capability, probe] of probes) {
    const problem = await probe(url);
    if (problem) report.missing[capability] = problem;
    else report.has.push(capability);
  }
  return report;
}
