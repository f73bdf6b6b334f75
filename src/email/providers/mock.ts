// The mock provider (spec/email.md §4.6): accepts everything, sends nothing, answers `deadbeef`.
import type { EmailProvider } from "./provider.ts";

export const MOCK_MESSAGE_ID = "deadbeef";

export function createMockProvider(): EmailProvider {
  return { name: "mock", send: async () => MOCK_MESSAGE_ID };
}
