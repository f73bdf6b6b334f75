// Log lines leave in batches: one write per turn of the event loop instead of one per line, which
// matters for a server logging two lines per request. Lines are never reordered, and `flush()` (also
// run at process exit, and at once when 64 KiB are pending) writes what is pending.
import { perTickBatcher } from "./concurrency.ts";

export interface LineWriter {
  write(line: string): void;
  flush(): void;
  /** Flushes and stops flushing at process exit (the writer is done: a tool run in a test has ended). */
  close(): void;
}

export function batchedLineWriter(out: (text: string) => void = (text) => void process.stderr.write(text), maxPendingBytes = 64 * 1024): LineWriter {
  let pendingBytes = 0;
  const lines = perTickBatcher<string>((texts) => {
    pendingBytes = 0;
    out(texts.join(""));
  });
  process.on("exit", lines.flush);
  return {
    write(line) {
      lines.add(line + "\n");
      pendingBytes += line.length + 1;
      if (pendingBytes >= maxPendingBytes) lines.flush();
    },
    flush: lines.flush,
    close() {
      lines.flush();
      process.off("exit", lines.flush);
    },
  };
}
