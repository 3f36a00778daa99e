/**
 * `deno task bundle`: dist/docker-credential-acr-helper.js, one file with a
 * shebang that runs with the release permissions.
 *
 * Two edits to the bundler's output, both checked here so an upgrade that
 * changes them fails the build instead of shipping something slower:
 * - the bundler loads `node:module` at the top of any bundle holding npm
 *   CommonJS code, which starts Deno's Node layer (~20 ms) on every run,
 *   cache hits included; it is made lazy, on the first `require` (misses only);
 * - the commit placeholder in lib/version.ts is replaced.
 *
 * @module
 */
import { RELEASE_FLAGS } from "../tests/util.ts";
import { gitCommit, stampCommit } from "./commit.ts";

const root = new URL("../", import.meta.url);
const out = new URL("dist/docker-credential-acr-helper.js", root);
await Deno.mkdir(new URL("dist/", root), { recursive: true });

const bundled = await new Deno.Command(Deno.execPath(), {
  args: ["bundle", "--quiet", "--platform", "deno", "-o", out.pathname, "scripts/bundle_entry.ts"],
  cwd: root.pathname,
}).output();
if (!bundled.success) {
  console.error(new TextDecoder().decode(bundled.stderr));
  Deno.exit(1);
}

const EAGER = `import { createRequire as __deno_internal_createRequire } from "node:module";
var __require = __deno_internal_createRequire(import.meta.url);`;
const LAZY = `var __nodeRequire;
var __require = (id) => (__nodeRequire ??= globalThis.process.getBuiltinModule("node:module").createRequire(import.meta.url))(id);`;
let text = await Deno.readTextFile(out);
if (!text.includes(EAGER)) {
  throw new Error("bundle: the bundler's createRequire preamble changed; update scripts/bundle.ts");
}
text = text.replace(EAGER, LAZY);

const commit = await gitCommit(root.pathname);
text = stampCommit(text, commit);

const shebang = `#!/usr/bin/env -S deno run --quiet --no-prompt ${RELEASE_FLAGS.join(" ")}\n`;
await Deno.writeTextFile(out, shebang + text.replace(/^#!.*\n/, ""));
await Deno.chmod(out, 0o755);
console.log(`${out.pathname} (${(text.length / 1024).toFixed(0)} KiB, commit ${commit?.slice(0, 12) ?? "unknown"})`);
