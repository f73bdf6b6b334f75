// Log lines leave in batches: one write per turn of the event loop instead of one per line, which
// matters for a server logging two lines per request. Lines are never reordered, and `flush()` (also
// run at process exit) writes what is pending.

export interface LineWriter {
  write(line: string): void;
  flush(): void;
}

export function batchedLineWriter(out: (text: string) => void = (text) => void process.stderr.write(text), maxPendingBytes = 64 * 1024): LineWriter {
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    pendingBytes = 0;
    out(text);
  };
  process.on("exit", flush);
  return {
    write(line) {
      pending.push(line + "\n");
      pendingBytes += line.length + 1;
      if (pendingBytes >= maxPendingBytes) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
