// Whether a process is still there: running, and not a zombie waiting for its (new) parent to reap it.
import { readFileSync } from "node:fs";

export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false; // no such process
  }
}
