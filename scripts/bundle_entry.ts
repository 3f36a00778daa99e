/**
 * The bundle's entry: the CLI in one file, with the SDK side and the
 * subcommands in a second file beside it (`docker-credential-acr-helper.sdk.js`,
 * built from scripts/bundle_sdk_entry.ts), imported on a cache miss or a
 * subcommand only, so a hit never parses its 560 KiB.
 *
 * @module
 */
import { run } from "../main.ts";
import type { Backend } from "../lib/helper.ts";
import { HelperError } from "../lib/protocol.ts";

/** The SDK file's name; scripts/bundle.ts writes it next to this one. */
const SDK_FILE = "docker-credential-acr-helper.sdk.js";

/**
 * The SDK file's URL: beside the real file, so the helper works when run
 * through a symlink (`/usr/local/bin/docker-credential-acr-helper -> ...`).
 */
function sdkUrl(): URL {
  const real = Deno.realPathSync(new URL(import.meta.url)).replaceAll("\\", "/");
  const url = new URL("file:///");
  url.pathname = `${real.slice(0, real.lastIndexOf("/") + 1)}${SDK_FILE}`;
  return url;
}

async function loadSdk(): Promise<Backend & typeof import("../lib/commands/mod.ts")> {
  const url = sdkUrl();
  try {
    return await import(url.href);
  } catch (err) {
    // Installed without its second file: say so, instead of an import error on every cache miss.
    let present: boolean;
    try {
      present = Deno.statSync(url).isFile;
    } catch {
      present = false;
    }
    if (present) throw err;
    throw new HelperError(`${decodeURIComponent(url.pathname)} is missing: install both files of the bundle`);
  }
}

await run({
  loadBackend: loadSdk,
  loadCommands: loadSdk,
});
