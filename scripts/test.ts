/**
 * `deno task test`: the unit, CLI and integration suites (`deno test`, e2e excluded; extra arguments such as
 * `--filter` are passed on) with TMPDIR pointed at one directory of their own, removed afterwards, so a run
 * leaves nothing in the temp dir: not the test homes, not the built bundles and binaries, not what a helper
 * under test or a crashed test left. Exits with `deno test`'s status.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const tmp = await Deno.makeTempDir({ prefix: "acr-helper-tests-" });
// Test users made with useradd get homes in here: they must be able to pass through, not to list it.
if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o711);
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--ignore=tests/e2e", ...Deno.args, "tests/"],
  cwd: root,
  // Tests that run the helper in-process pass it an environment with ECS metadata off; this keeps the SDKs' own
  // reads of the process environment off it too: no test may reach a real instance metadata service.
  env: { TMPDIR: tmp, TMP: tmp, TEMP: tmp, ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true" },
}).spawn();
const stop = () => {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
};
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGINT", stop);
const status = await child.status;
await Deno.remove(tmp, { recursive: true }).catch((err) => console.error(`could not remove ${tmp}: ${err}`));
Deno.exit(status.code);
