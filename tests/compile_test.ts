/**
 * `deno task compile` stages a stamped copy of the sources; a module left out of the copy breaks the release
 * binaries. The runtime download (denort) is blocked here, so DENORT_BIN points at deno itself: the binary it
 * writes is not a working release (it starts the REPL), but the compile only succeeds when every module it was
 * told to include (lib/backend.ts, lib/commands/mod.ts and what they import) is in the staged tree.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

Deno.test("compile: the staged sources hold every module the release includes (lib/commands/ too)", async () => {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const out = `${await Deno.makeTempDir()}/docker-credential-acr-helper`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", "--output", out],
    cwd: root,
    env: { DENORT_BIN: Deno.execPath() },
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  assert.ok(Deno.statSync(out).size > 1_000_000);
});
