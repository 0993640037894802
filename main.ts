/**
 * gemeng's one entry point: parse the command line, load the config, open storage, and start
 * the listener (or run an admin command). See `server/cli.ts` for the commands.
 *
 * @module
 */

import { runCli } from "./server/cli.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
