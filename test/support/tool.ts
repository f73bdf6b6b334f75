// Runs a tool's settings function on a command line, as the runtime does, without running the tool.
import type { ArgsDef } from "citty";
import type { Env } from "../../src/core/config.ts";
import { flagLabel, parseFlags, takeVerbosity } from "../../src/runtime/flags.ts";
import type { BaseSettings, Resources, ToolSpec } from "../../src/runtime/tool-spec.ts";

export async function settingsOf<A extends ArgsDef, S extends BaseSettings, R extends Resources>(tool: ToolSpec<A, S, R>, rawArgs: string[], env: Env): Promise<S> {
  const { verbosity, rest } = takeVerbosity(rawArgs);
  const { flags, extra } = parseFlags(tool.args, rest);
  return await tool.settings({ flags, extra, verbosity, env, label: (flag) => flagLabel(tool.args, flag) });
}
