/**
 * `deno task compile [--target TRIPLE] [--output FILE]`: a native binary with
 * the release permissions and the commit stamped (the release workflow runs
 * this for each target). Compiles a stamped copy of the sources so the working
 * tree is never edited. Offline, `deno compile` cannot download its runtime:
 * set DENORT_BIN to a `denort` of the same Deno version.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RELEASE_FLAGS } from "../tests/util.ts";
import { gitCommit, stampCommit } from "./commit.ts";

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    output: { type: "string", default: "dist/docker-credential-acr-helper" },
    // A release build: never with a substitute runtime (DENORT_BIN yields a binary for whatever it points at).
    release: { type: "boolean", default: false },
  },
});
if (values.release && Deno.env.get("DENORT_BIN")) {
  console.error(
    "compile --release: DENORT_BIN is set; a release is built only with the runtime deno downloads for the target",
  );
  Deno.exit(1);
}
const root = fileURLToPath(new URL("../", import.meta.url));
const output = values.output.startsWith("/") ? values.output : `${Deno.cwd()}/${values.output}`;

const src = await Deno.makeTempDir({ prefix: "acr-helper-compile-" });
try {
  for (const f of ["main.ts", "deno.json", "deno.lock"]) await Deno.copyFile(`${root}${f}`, `${src}/${f}`);
  await copyTree(`${root}lib`, `${src}/lib`);
  const version = `${src}/lib/version.ts`;
  await Deno.writeTextFile(version, stampCommit(await Deno.readTextFile(version), await gitCommit(root)));

  const args = ["compile", "--quiet", "--no-prompt", ...RELEASE_FLAGS];
  // Reached through computed imports (kept out of the start-up graph): include them.
  args.push("--include", "lib/backend.ts", "--include", "lib/commands/mod.ts", "--output", output);
  if (values.target) args.push("--target", values.target);
  const r = await new Deno.Command(Deno.execPath(), { args: [...args, "main.ts"], cwd: src }).output();
  if (!r.success) {
    console.error(new TextDecoder().decode(r.stderr).trim());
    if (!Deno.env.get("DENORT_BIN")) console.error("offline? set DENORT_BIN to a denort binary of this Deno version");
    Deno.exit(1);
  }
  console.log(output);
} finally {
  await Deno.remove(src, { recursive: true });
}

/** Copies a directory tree (lib/ has subdirectories: lib/commands/). */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}
