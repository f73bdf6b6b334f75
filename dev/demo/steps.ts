// The demo's story, in order. A step checks one thing the toolkit promises and returns one line saying
// what it checked; it throws (CheckFailed) when something did not hold. Steps of a chapter build on
// each other, so after a failure the rest of its chapter is not run. A step that `needs` a database
// capability the stack's database lacks (dev/db-capabilities.ts) is skipped, saying why. A new tool
// adds its chapter here.
import type { Capability } from "../db-capabilities.ts";
import type { DemoContext } from "./context.ts";
import { ACCOUNT_CONFIG_STEPS } from "./account-config-steps.ts";
import { brokerSteps } from "./broker-steps.ts";
import { EMAIL_STEPS } from "./email-steps.ts";
import { syncSteps } from "./sync-steps.ts";

export interface DemoStep {
  chapter: string;
  title: string;
  needs?: Capability;
  run(ctx: DemoContext): Promise<string>;
}

export const demoSteps = (): DemoStep[] => [...EMAIL_STEPS, ...syncSteps(), ...brokerSteps(), ...ACCOUNT_CONFIG_STEPS];
