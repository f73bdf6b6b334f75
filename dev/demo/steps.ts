// The demo's story, in order. A step checks one thing the toolkit promises and returns one line saying
// what it checked; it throws (CheckFailed) when something did not hold. Steps of a chapter build on
// each other, so after a failure the rest of its chapter is not run. A step that `needs` a database
// capability the stack's database lacks (dev/db-capabilities.ts) is skipped, saying why. A new tool
// adds its chapter here.
import { ACCOUNT_CONFIG_STEPS } from "./account-config-steps.ts";
import { brokerSteps } from "./broker-steps.ts";
import { CONSOLE_STEPS } from "./console-steps.ts";
import { EMAIL_STEPS } from "./email-steps.ts";
import type { DemoStep } from "./step.ts";
import { syncSteps } from "./sync-steps.ts";

export type { DemoStep } from "./step.ts";


export const demoSteps = (): DemoStep[] => [...EMAIL_STEPS, ...syncSteps(), ...brokerSteps(), ...ACCOUNT_CONFIG_STEPS, ...CONSOLE_STEPS];
