import pkg from "../../package.json" with { type: "json" };

/** The toolkit version, baked into every binary at build time. */
export const VERSION: string = pkg.version;
