/**
 * What a subcommand may touch: passed in by main.ts, so each subcommand is
 * tested without a process.
 *
 * @module
 */
import type { Env } from "../platform.ts";
import type { Helper } from "../helper.ts";
import type { Logger } from "../log.ts";

/** What a subcommand may touch. */
export interface CommandIO {
  env: Env;
  helper: Helper;
  /** `name version (commit)` */
  version: string;
  readStdin(): Promise<string>;
  /** stdout */
  out(text: string): void;
  /** stderr */
  err(text: string): void;
  now?: () => number;
  /** Our uid when the process may ask for it (null: unknown). */
  uid?: () => number | null;
  /** HTTP for doctor's registry login (default: fetch). */
  fetch?: typeof fetch;
  /** The helper's logger (redacted; off unless DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL is set). */
  log?: Logger;
}
