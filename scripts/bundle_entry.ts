/**
 * The bundle's entry: the CLI, with the SDK side reachable through a literal
 * import so the bundler includes it (main.ts uses a computed one, which keeps
 * `deno run main.ts` from preparing the SDK graph on every start).
 *
 * @module
 */
import { run } from "../main.ts";

await run({ loadBackend: () => import("../lib/backend.ts"), loadCommands: () => import("../lib/commands.ts") });
