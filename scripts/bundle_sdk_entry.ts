/**
 * The bundle's second file: everything a cache hit does not need. The SDK
 * side (lib/backend.ts) for a miss, and the subcommands for `doctor`,
 * `configure-docker` and `kubelet-credential-provider`.
 *
 * @module
 */
export { buildCredential, createAcrApi, installTransport } from "../lib/backend.ts";
export { COMMANDS, runCommand } from "../lib/commands/mod.ts";
