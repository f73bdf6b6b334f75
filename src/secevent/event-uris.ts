// The event URIs of FxA's Security Event Tokens (spec/event-broker.md §5.3): the broker signs them, the
// relying parties (the tokenserver among them) read them, so both take them from here.
const SCHEMA = "https://schemas.accounts.firefox.com/event/";

export const EVENT_URIS = {
  subscription: `${SCHEMA}subscription-state-change`,
  delete: `${SCHEMA}delete-user`,
  password: `${SCHEMA}password-change`,
  profile: `${SCHEMA}profile-change`,
  metricsOptOut: `${SCHEMA}metrics-opt-out`,
  metricsOptIn: `${SCHEMA}metrics-opt-in`,
  appleMigration: `${SCHEMA}apple-user-migration`,
} as const;
