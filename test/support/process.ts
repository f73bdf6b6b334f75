// Whether a process is still there: running, and not a zombie waiting for its (new) parent to reap it.
import { readFileSync } from "node:fs";

export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false; // no such process
  }
}

/** Reads a child's output until `text` has appeared (or the stream ends); the reader's lock is released. */
export async function readUntil(stream: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return seen;
}
