// One step of the demo's story: what a chapter declares (see steps.ts for the order and the rules).
import type { Capability } from "../db-capabilities.ts";
import type { DemoContext } from "./context.ts";

export interface DemoStep {
  chapter: string;
  title: string;
  needs?: Capability;
  run(ctx: DemoContext): Promise<string>;
}
