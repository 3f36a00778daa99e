/**
 * The helper's own subcommands (not part of docker's protocol):
 * `kubelet-credential-provider`, `configure-docker`, `doctor`. Loaded only
 * when one is asked for, so `get` never pays for them.
 *
 * @module
 */
import { configureDocker } from "./configure_docker.ts";
import { runDoctor } from "./doctor.ts";
import type { CommandIO } from "./io.ts";
import { kubeletProvider } from "./kubelet.ts";

export type { CommandIO } from "./io.ts";

/** The subcommands this module runs. */
export const COMMANDS = ["kubelet-credential-provider", "configure-docker", "doctor"] as const;

/** Runs a subcommand; returns the exit code. */
export async function runCommand(name: string, args: string[], io: CommandIO): Promise<number> {
  switch (name) {
    case "kubelet-credential-provider":
      return await kubeletProvider(args, io);
    case "configure-docker":
      return await configureDocker(args, io);
    case "doctor":
      return await runDoctor(args, io);
    default:
      io.out(`unknown action: ${name}\n`);
      return 1;
  }
}
